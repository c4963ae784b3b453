"""Edge tables to engine columns: stage names and integer codes, without a Python loop per row.

:meth:`funnelkit.Funnel.from_edges` accepts a DataFrame, a mapping of columns (e.g. NumPy
arrays), a structured array or a sequence of ``(source, target, probability)`` tuples. All
become three columns; ``pandas.factorize`` turns the stage columns into codes (stages in order
of first appearance, reading each row's source before its target), and the engine adds every
edge in one call that names the first bad row.

    >>> import numpy as np
    >>> columns = edge_columns(
    ...     {"source": np.array([1, 2]), "target": np.array([2, 3]), "probability": np.array([0.5, 0.25])},
    ...     "source", "target", "probability",
    ... )
    >>> columns.names, columns.sources.tolist(), columns.targets.tolist()
    (['1', '2', '3'], [0, 1], [1, 2])
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from funnelkit.errors import EmptyFunnelError, FunnelFormatError, ProbabilityError

__all__ = ["EdgeColumns", "edge_columns", "is_real_number"]

# Object columns that pandas recognises as all numbers convert to float in one step.
_NUMERIC_OBJECTS = frozenset({"floating", "integer", "mixed-integer-float"})


@dataclass(frozen=True)
class EdgeColumns:
    """Stage names in order of first appearance and one code per row into them."""

    names: list[str]
    sources: npt.NDArray[np.int64]
    targets: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]


def edge_columns(edges: Any, source: str, target: str, probability: str) -> EdgeColumns:
    """Split an edge table into engine columns; errors name the first bad row (from 0)."""
    sources, targets, probabilities = _raw_columns(edges, (source, target, probability))
    if len(sources) == 0:
        raise EmptyFunnelError("the edge table is empty")
    names, source_codes, target_codes = _stage_codes(sources, targets, source, target)
    return EdgeColumns(
        names,
        source_codes,
        target_codes,
        _probabilities(probabilities, names, source_codes, target_codes),
    )


def _raw_columns(edges: Any, columns: tuple[str, str, str]) -> list[npt.NDArray[Any]]:
    if isinstance(edges, pd.DataFrame):
        _require_columns(columns, list(edges.columns))
        return [edges[c].to_numpy() for c in columns]
    if isinstance(edges, Mapping):
        _require_columns(columns, list(edges))
        return [np.asarray(edges[c]) for c in columns]
    if isinstance(edges, np.ndarray) and edges.dtype.names is not None:
        _require_columns(columns, list(edges.dtype.names))
        return [edges[c] for c in columns]
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Sequence | np.ndarray):
        raise FunnelFormatError(
            "the edge table must be a DataFrame, a mapping of columns, a structured array or a sequence of "
            f"(source, target, probability) tuples, got {type(edges).__name__}"
        )
    rows = list(edges)
    try:
        transposed = list(zip(*rows, strict=True))
    except (TypeError, ValueError) as error:
        raise FunnelFormatError("every edge must be a (source, target, probability) tuple") from error
    if rows and len(transposed) != 3:
        raise FunnelFormatError(f"every edge must be a (source, target, probability) tuple, got {rows[0]!r}")
    return [np.fromiter(column, dtype=object, count=len(rows)) for column in transposed or ((), (), ())]


def _require_columns(columns: tuple[str, ...], present: list[Any]) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise FunnelFormatError(f"the edge table has no column(s) {missing}; columns are {present}")


def _stage_codes(
    sources: npt.NDArray[Any], targets: npt.NDArray[Any], source: str, target: str
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    interleaved = np.column_stack((sources, targets)).ravel()  # row 0's source, row 0's target, ...
    codes, uniques = pd.factorize(interleaved)
    if (codes < 0).any():
        position = int(np.argmax(codes < 0))
        column = (source, target)[position % 2]
        raise FunnelFormatError(
            f"row {position // 2}: the {column} stage is missing (None or NaN)",
            subject=f"{column}[{position // 2}]",
        )
    names = [str(u) for u in np.asarray(uniques).tolist()]
    if len(set(names)) < len(names):  # e.g. 7 and "7": one stage named "7"
        merged, unique_names = pd.factorize(np.asarray(names, dtype=object))
        codes, names = merged[codes], [str(n) for n in unique_names]
    blank = next((i for i, name in enumerate(names) if not name.strip()), None)
    if blank is not None:  # the engine rejects it too, but cannot say in which row
        position = int(np.argmax(codes == blank))
        column = (source, target)[position % 2]
        raise FunnelFormatError(
            f"row {position // 2}: stage name {names[blank]!r} is empty or only whitespace",
            subject=f"{column}[{position // 2}]",
        )
    codes = codes.astype(np.int64, copy=False)
    return names, np.ascontiguousarray(codes[0::2]), np.ascontiguousarray(codes[1::2])


def _probabilities(
    values: npt.NDArray[Any], names: list[str], sources: npt.NDArray[np.int64], targets: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Probabilities as float64; the engine checks the range (and NaN) row by row."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64, copy=False)
    if values.dtype.kind == "O" and pd.api.types.infer_dtype(values, skipna=False) in _NUMERIC_OBJECTS:
        return values.astype(np.float64)
    for row, value in enumerate(values.tolist()):  # the error path only: find the first bad row
        if not is_real_number(value):
            label = f"{names[sources[row]]} -> {names[targets[row]]}"
            raise ProbabilityError(
                f"row {row}: edge {label} has probability {value!r}; it must be a number in [0, 1]",
                subject=label,
            )
    return values.astype(np.float64)


def is_real_number(value: object) -> bool:
    """An int, float, NumPy number or other real, but not a bool: what a probability may be."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, float, numbers.Real))
