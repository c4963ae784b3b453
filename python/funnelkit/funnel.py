"""The funnel: stages, edges, and what happens to the leads between them.

    >>> import funnelkit as fk
    >>> funnel = (
    ...     fk.Funnel("shop")
    ...     .add_stage("visit")
    ...     .add_stage("cart", holding=fk.Exponential(mean=2.0))
    ...     .add_stage("paid", kind="success", value=60.0)
    ...     .add_edge("visit", "cart", 0.10)
    ...     .add_edge("cart", "paid", 0.30)
    ... )
    >>> round(funnel.analyze().success_probability, 6)
    0.03

Rows summing below 1 leave the remainder to the drop stage (``remainder="drop"``, the
default): a visitor who neither goes to the cart nor anywhere else has left the shop. Use
``remainder="strict"`` to require every row to sum to 1.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from funnelkit import _core
from funnelkit._edges import edge_columns, is_real_number
from funnelkit._metadata import Metadata, freeze
from funnelkit.analysis import FunnelAnalysis, Path
from funnelkit.distributions import _as_json_value
from funnelkit.errors import (
    FunnelFormatError,
    MissingFileError,
    ProbabilityError,
    UnknownDistributionError,
    UnknownStageError,
)
from funnelkit.extension import _is_saveable, _resolve

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from typing_extensions import Self

__all__ = ["Edge", "Funnel", "Stage"]

FORMAT = "funnelkit.funnel"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Stage:
    """A stage as stored in the funnel (read-only; change it through :class:`Funnel`)."""

    name: str
    kind: str = "transient"
    value: float = 0.0
    holding: _core.Distribution | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    """An edge as stored in the funnel (read-only; change it through :class:`Funnel`)."""

    source: str
    target: str
    probability: float
    delay: _core.Distribution | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Funnel:
    """A sales funnel: a directed graph of stages with transition probabilities.

    Parameters
    ----------
    name:
        Shown in reports.
    time_unit:
        Unit of every holding time and delay ("hours", "days", ...); a label for reports.
    remainder:
        ``"drop"`` (default): the probability a stage's edges leave unassigned is the chance
        of leaving the funnel there and goes to ``drop_stage``. ``"strict"``: every transient
        stage's edges must sum to 1.
    drop_stage:
        Failure stage that receives remainders; created virtually if the funnel has no stage
        of that name.
    discount:
        Per-transition discount factor in (0, 1] applied to stage values, for loop funnels
        (repeat purchases) whose future value should count less.
    metadata:
        Any JSON-compatible dict, stored in the document.
    """

    __slots__ = ("_chain", "_core")

    def __init__(
        self,
        name: str = "funnel",
        *,
        time_unit: str = "hours",
        remainder: str = "drop",
        drop_stage: str = "dropped",
        discount: float = 1.0,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._core = _core.Funnel()
        self._chain: _core.Chain | None = None
        self._core.name = name
        self._core.time_unit = time_unit
        self._core.remainder = remainder
        self._core.drop_stage = drop_stage
        self._core.discount = float(discount)
        if metadata is not None:
            self._core.metadata = dict(metadata)

    # -- building ---------------------------------------------------------------------------
    def add_stage(
        self,
        name: str,
        kind: str = "transient",
        *,
        value: float = 0.0,
        holding: _core.Distribution | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Self:
        """Add a stage. ``kind`` is ``"transient"``, ``"success"`` or ``"failure"``;
        ``value`` is received on every entry (e.g. the average order value at "paid");
        ``holding`` is the time spent in the stage before moving on."""
        self._core.add_stage(name, kind, float(value), holding, dict(metadata) if metadata else None)
        self._chain = None
        return self

    def add_edge(
        self,
        source: str,
        target: str,
        probability: float,
        *,
        delay: _core.Distribution | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Self:
        """Add an edge. ``probability`` is a real number (int, float or NumPy number; not a
        string or bool) in [0, 1]. ``delay`` is the time to take this transition, given it is
        taken; it overrides the source stage's holding time."""
        p = _probability(probability, source, target)
        self._core.add_edge(source, target, p, delay, dict(metadata) if metadata else None)
        self._chain = None
        return self

    def set_entry(self, entry: str | Mapping[str, float]) -> Self:
        """Where leads enter: one stage, or weights per stage (normalised). Default: the
        first stage added."""
        weights = [(entry, 1.0)] if isinstance(entry, str) else [(k, float(v)) for k, v in entry.items()]
        self._core.set_entry(weights)
        self._chain = None
        return self

    def set_probability(self, source: str, target: str, probability: float) -> Self:
        self._core.set_probability(source, target, _probability(probability, source, target))
        self._chain = None
        return self

    def set_value(self, stage: str, value: float) -> Self:
        self._core.set_value(stage, float(value))
        self._chain = None
        return self

    def validate(self) -> Self:
        """Raise the first problem found (see the table in docs/errors.md), else return self."""
        self._core.validate()
        return self

    def copy(self) -> Funnel:
        other = Funnel.__new__(Funnel)
        other._core = self._core.copy()
        other._chain = self._chain
        return other

    # -- reading ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._core.name

    @property
    def time_unit(self) -> str:
        return self._core.time_unit

    @property
    def remainder(self) -> str:
        return self._core.remainder

    @property
    def drop_stage(self) -> str:
        return self._core.drop_stage

    @property
    def discount(self) -> float:
        return self._core.discount

    @property
    def metadata(self) -> Metadata:
        """The funnel's metadata, a dict-like view: ``funnel.metadata["owner"] = "growth"``
        and ``del funnel.metadata["owner"]`` change the funnel; nested values are read-only
        (assign the whole value instead); ``funnel.metadata = {...}`` replaces everything."""
        return Metadata(self._core)

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise TypeError(f"metadata must be a mapping, got {type(value).__name__}")
        self._core.metadata = dict(value)

    @property
    def entry(self) -> dict[str, float]:
        """Entry weights as given (empty: the first stage)."""
        return dict(self._core.entry)

    @property
    def stages(self) -> list[Stage]:
        """Snapshots of the stages (their metadata is read-only)."""
        return [Stage(**{**s, "metadata": freeze(s["metadata"])}) for s in self._core.stages()]

    @property
    def edges(self) -> list[Edge]:
        """Snapshots of the edges (their metadata is read-only)."""
        return [Edge(**{**e, "metadata": freeze(e["metadata"])}) for e in self._core.edges()]

    @property
    def stage_names(self) -> list[str]:
        return self._core.stage_names()

    def __len__(self) -> int:
        """The number of stages (the drop stage counts only if the funnel defines it)."""
        return len(self._core)

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __contains__(self, stage: object) -> bool:
        return isinstance(stage, str) and self._core.has_stage(stage)

    # -- analytics ---------------------------------------------------------------------------
    def analyze(
        self,
        *,
        threads: int | None = None,
        tolerance: float = 1e-13,
        method: str = "auto",
        max_iterations: int = 1000,
        progress: bool = True,
    ) -> FunnelAnalysis:
        """Validate the funnel and return its analysis (see :class:`FunnelAnalysis`).

        Nothing is solved yet: each number or table is computed when first asked for. The
        transient stages are solved one strongly connected component at a time, each with the
        solver its shape calls for (``method="auto"``): a division for stages on no loop, dense
        LU for small components, sparse LU where the factor stays sparse, and preconditioned
        BiCGSTAB (stopping at a relative residual of ``tolerance``) for large loop components
        whose factor would fill in. ``method`` forces ``"dense"``, ``"sparse_lu"`` or
        ``"iterative"`` on every loop component. ``threads`` (default: every core) runs
        independent solves in parallel; results do not depend on it. ``progress`` shows a tqdm
        bar for long per-stage work.
        """
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
            raise ValueError(f"tolerance must be a number in (0, 1), got {tolerance!r}")
        if method not in ("auto", "dense", "sparse_lu", "iterative"):
            raise ValueError(f"method must be 'auto', 'dense', 'sparse_lu' or 'iterative', got {method!r}")
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
            raise ValueError(f"max_iterations must be a positive integer, got {max_iterations!r}")
        chain = self._compiled()
        engine = _core.Analysis(chain, threads or 0, float(tolerance), max_iterations, method)
        return FunnelAnalysis(engine, chain, self.time_unit, repr(self.name), progress)

    def most_likely_path(self, target: str | int | None = None) -> Path:
        """The most probable sequence of stages from the entry to ``target`` (a name or an
        integer stage code; default: to any success stage). Probability 0 and no stages if the
        target cannot be reached."""
        names, probability = _core.most_likely_path(self._compiled(), target)
        return Path(tuple(names), float(probability))

    def transition_matrix(self) -> pd.DataFrame:
        """The full transition matrix P (absorbing stages as self-loops), drop stage included."""
        chain = self._compiled()
        rows, cols, probabilities = chain.transition_triplets()
        n = len(chain)
        matrix = np.zeros((n, n))
        np.add.at(matrix, (rows, cols), probabilities)
        for a in chain.absorbing_states:
            matrix[a, a] = 1.0
        return pd.DataFrame(matrix, index=chain.names, columns=chain.names)

    def plot(self, ax: Axes | None = None, visitors: float | None = None) -> Axes:
        """The funnel chart: share (or number) of leads reaching each stage."""
        return self.analyze().plot(ax=ax, visitors=visitors)

    def _compiled(self) -> _core.Chain:
        if self._chain is None:
            self._chain = _core.Chain(self._core)
        return self._chain

    # -- documents -------------------------------------------------------------------------
    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """The versioned JSON document; written atomically to ``path`` if given."""
        self._check_serializable()
        text = self._core.to_json(indent)
        if path is not None:
            _write_atomically(FilePath(path), text + "\n")
        return text

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.to_json())
        return result

    @classmethod
    def from_json(cls, source: str | os.PathLike[str], *, validate: bool = True) -> Funnel:
        """Read a funnel document from JSON text (a string starting with ``{``) or from a
        file path. Anything else raises :class:`FunnelFormatError`; a path that does not
        exist raises :class:`MissingFileError` (also a ``FileNotFoundError``)."""
        funnel = cls.__new__(cls)
        funnel._core = _core.Funnel.from_json(_document_text(source), _resolve)
        funnel._chain = None
        if validate:
            funnel.validate()
        return funnel

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], *, validate: bool = True) -> Funnel:
        """Build a funnel from a dict following the JSON schema (``format`` and ``version``
        may be left out; holding times and delays may be distribution objects)."""
        if not isinstance(document, Mapping):
            raise FunnelFormatError(f"a funnel document must be a dict, got {type(document).__name__}")
        doc = {"format": FORMAT, "version": SCHEMA_VERSION, **document}
        doc["stages"] = [_with_distribution(s, "holding") for s in document.get("stages", [])]
        doc["edges"] = [_with_distribution(e, "delay") for e in document.get("edges", [])]
        for edge in doc["edges"]:
            p = edge.get("probability") if isinstance(edge, Mapping) else None
            if isinstance(p, float) and not math.isfinite(p):
                label = f"{edge.get('from')} -> {edge.get('to')}"
                error = ProbabilityError(f"edge {label} has probability {p}; it must be a number in [0, 1]")
                error.subject = label
                raise error
        _reject_non_finite(doc, "")
        return cls.from_json(json.dumps(doc), validate=validate)

    @classmethod
    def from_edges(
        cls,
        edges: pd.DataFrame | Mapping[str, Any] | npt.NDArray[Any] | Sequence[tuple[Any, Any, float]],
        *,
        success: Sequence[Any] = (),
        failure: Sequence[Any] = (),
        values: Mapping[Any, float] | None = None,
        source: str = "source",
        target: str = "target",
        probability: str = "probability",
        **options: Any,
    ) -> Funnel:
        """Build a funnel from a transition table, e.g. one computed with pandas.

        ``edges`` is a DataFrame, a mapping of columns (e.g. NumPy arrays), a structured
        array, or a sequence of ``(source, target, probability)`` tuples. Stages are created
        in order of first appearance; stage ids that are not strings (e.g. integers) become
        ``str(id)``. Those listed in ``success`` or ``failure`` are absorbing. ``options`` go
        to :class:`Funnel` (``name``, ``time_unit``...). The table goes to the engine in one
        call, so a million edges take about a second; errors name the first bad row
        (counted from 0): a missing stage, a duplicate edge, a probability that is not a
        number in [0, 1].

        >>> import pandas as pd
        >>> table = pd.DataFrame({"source": ["visit", "cart"], "target": ["cart", "paid"],
        ...                       "probability": [0.1, 0.3]})
        >>> f = Funnel.from_edges(table, success=["paid"], values={"paid": 60.0})
        >>> round(f.analyze().expected_value, 6)
        1.8
        """
        columns = edge_columns(edges, source, target, probability)
        position = dict(zip(columns.names, range(len(columns.names)), strict=True))
        kinds = ["transient"] * len(columns.names)
        stage_values = np.zeros(len(columns.names))
        wanted = {str(name): "success" for name in success} | {str(name): "failure" for name in failure}
        given = {str(name): float(value) for name, value in (values or {}).items()}
        unknown = sorted((wanted.keys() | given.keys()) - position.keys())
        if unknown:
            raise UnknownStageError(f"stage(s) {unknown} do not appear in the edge table", subject=unknown[0])
        for name, kind in wanted.items():
            kinds[position[name]] = kind
        for name, value in given.items():
            stage_values[position[name]] = value
        funnel = cls(**options)
        funnel._core.add_stages(columns.names, kinds, stage_values)
        funnel._core.add_edges(columns.sources, columns.targets, columns.probabilities)
        return funnel

    def stage_table(self) -> pd.DataFrame:
        """The stages as a DataFrame (one row per stage)."""
        frame = pd.DataFrame(
            [{"kind": s.kind, "value": s.value, "holding": s.holding, "metadata": s.metadata} for s in self.stages],
            index=pd.Index(self.stage_names, name="stage"),
        )
        return frame

    def edge_table(self) -> pd.DataFrame:
        """The edges as a DataFrame, ready for :meth:`from_edges` or a join with data."""
        return pd.DataFrame(
            [
                {"source": e.source, "target": e.target, "probability": e.probability, "delay": e.delay}
                for e in self.edges
            ],
            columns=["source", "target", "probability", "delay"],
        )

    def _check_serializable(self) -> None:
        for owner, distribution in self._core.distributions():
            while isinstance(distribution, _core.Truncated):  # its base is saved inside it
                distribution = distribution.base
            if not _is_saveable("distribution", distribution):
                raise UnknownDistributionError(
                    f"{owner} uses {type(distribution).__qualname__}, which is not registered; decorate it "
                    "with @funnelkit.register_distribution(name) to save or pickle the funnel",
                    subject=owner,
                )

    # -- Python protocols -------------------------------------------------------------------
    def __getstate__(self) -> str:
        return self.to_json(indent=-1)

    def __setstate__(self, state: str) -> None:
        self._core = _core.Funnel.from_json(state, _resolve)
        self._chain = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Funnel):
            return NotImplemented
        return self._core.to_json(-1) == other._core.to_json(-1)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"<Funnel {self.name!r}: {len(self)} stages, {self._core.edge_count()} edges>"

    def _repr_html_(self) -> str:
        header = f"<strong>Funnel {html.escape(self.name)}</strong> (times in {html.escape(self.time_unit)})"
        stages = self.stage_table().drop(columns="metadata").to_html(border=0)
        edges = self.edge_table().to_html(index=False, border=0)
        return f"<div>{header}<br>{stages}{edges}</div>"


def _probability(value: object, source: str, target: str) -> float:
    """A probability as given to add_edge: a real number, not a string or bool."""
    if is_real_number(value):
        return float(value)  # type: ignore[arg-type]  # a real number has __float__
    label = f"{source} -> {target}"
    raise ProbabilityError(
        f"edge {label} has probability {value!r} ({type(value).__name__}); it must be a number in [0, 1]",
        subject=label,
    )


_EXPECTED_SOURCE = "expected JSON text of a funnel document (starting with '{') or a path to an existing file"


def _document_text(source: object) -> str:
    """The JSON text ``Funnel.from_json`` was given, directly or as a path."""
    if isinstance(source, str):
        if not source.strip():
            raise FunnelFormatError(f"got an empty string; {_EXPECTED_SOURCE}")
        if source.lstrip().startswith(("{", "[")):
            return source
    elif not isinstance(source, os.PathLike):
        raise FunnelFormatError(f"got {type(source).__name__}; {_EXPECTED_SOURCE}")
    path = FilePath(source)
    shown = str(path) if len(str(path)) <= 80 else str(path)[:77] + "..."
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise MissingFileError(f"no file {shown!r}; {_EXPECTED_SOURCE}", subject=str(path)) from error
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise FunnelFormatError(f"cannot read {shown!r} ({reason}); {_EXPECTED_SOURCE}", subject=str(path)) from error


def _with_distribution(item: Any, key: str) -> Any:
    if not isinstance(item, Mapping) or item.get(key) is None:
        return item
    return {**item, key: _as_json_value(item[key])}


def _reject_non_finite(value: Any, where: str) -> None:
    """JSON has no NaN or infinity: name the offending field instead of failing to encode."""
    if isinstance(value, float) and not math.isfinite(value):
        message = f"{where or 'document'} is {value}; it must be a finite number"
        error = FunnelFormatError(message)
        error.subject = where
        raise error
    if isinstance(value, Mapping):
        for k, v in value.items():
            _reject_non_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i, v in enumerate(value):
            _reject_non_finite(v, f"{where}[{i}]")


def _write_atomically(path: FilePath, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
