"""The base every lead scorer shares: features in, one score per lead out, saved as versioned JSON.

A scorer reads named numeric feature columns (from :func:`funnelkit.lead_features`) and gives
one score per lead. The built-ins run in the C++ engine; write your own by subclassing
:class:`Scorer` and registering it with ``fk.register("scorer", name)``, so that saved
documents and the batch job can name it::

    >>> import numpy as np
    >>> import pandas as pd
    >>> import funnelkit as fk
    >>> @fk.register("scorer", "recent_cart")
    ... class RecentCart(fk.Scorer):
    ...     def __init__(self, days: float = 7.0) -> None:
    ...         self.days = days
    ...     @property
    ...     def feature_names(self) -> list[str]:
    ...         return ["cart_adds", "recency_days"]
    ...     def score_matrix(self, x: np.ndarray) -> np.ndarray:
    ...         return ((x[:, 0] > 0) & (x[:, 1] <= self.days)).astype(float)
    ...     def params(self) -> dict[str, float]:
    ...         return {"days": self.days}
    >>> features = pd.DataFrame({"cart_adds": [2, 0], "recency_days": [1.5, 0.2]}, index=["a", "b"])
    >>> RecentCart().score(features).tolist()
    [1.0, 0.0]
    >>> fk.Scorer.from_json(RecentCart(3.0).to_json()).days
    3.0
    >>> fk.unregister("scorer", "recent_cart")

Documents look like ``{"format": "funnelkit-scorer", "version": 1, "type": ..., "features":
[...], "params": {...}}``; a document of another format or version raises
:class:`~funnelkit.ScorerFormatError`. Pickling goes through the same document, so a pickle
holds no engine pointers.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.errors import FeatureValueError, MissingFeatureError, ScorerFormatError

__all__ = ["BUILTIN_SCORERS", "SCORER_FORMAT", "SCORER_VERSION", "Scorer", "feature_matrix", "write_atomically"]

SCORER_FORMAT = "funnelkit-scorer"
SCORER_VERSION = 1

#: The scorers funnelkit implements itself, by JSON name (filled as their modules load).
BUILTIN_SCORERS: dict[str, type[Scorer]] = {}


def feature_matrix(features: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The columns ``names`` of ``features`` as a float64 array (rows x names), checked.

    Raises :class:`MissingFeatureError` naming the absent columns and
    :class:`FeatureValueError` naming a column with NaN, infinite or non-numeric values.
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a pandas DataFrame, got {type(features).__name__}")
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise MissingFeatureError(
            f"the features lack {len(missing)} column(s) the scorer needs: {', '.join(map(repr, missing[:10]))}",
            subject=missing[0],
        )
    out = np.empty((len(features), len(names)), dtype=np.float64, order="F")
    for j, name in enumerate(names):
        column = features[name]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
            raise FeatureValueError(f"feature {name!r} is not numeric ({column.dtype})", subject=name)
        try:
            out[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise FeatureValueError(f"feature {name!r} is not numeric: {error}", subject=name) from error
        bad = ~np.isfinite(out[:, j])
        if bad.any():
            first = features.index[int(np.argmax(bad))]
            raise FeatureValueError(
                f"feature {name!r} has {int(bad.sum())} NaN or infinite value(s), first for lead {first!r}",
                subject=name,
            )
    return out


class Scorer(ABC):
    """Base of every lead scorer (built-in or a registered Python extension).

    Subclasses implement :attr:`feature_names`, :meth:`score_matrix` and :meth:`params`
    (constructor arguments, fitted state included, as JSON values); :meth:`contributions_matrix`
    is optional and gives the per-lead reasons.
    """

    #: JSON name of a built-in; extensions get theirs from ``fk.register("scorer", name)``.
    builtin_name: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("builtin_name"):
            BUILTIN_SCORERS[cls.__dict__["builtin_name"]] = cls

    @property
    @abstractmethod
    def feature_names(self) -> list[str]:
        """The feature columns :meth:`score_matrix` reads, in its column order."""

    @abstractmethod
    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """One score per row of ``x`` (float64, rows x :attr:`feature_names`, checked finite)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments rebuilding this scorer exactly, as JSON values."""

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray | None:
        """Per row and reason, how much it added to the score (rows x :attr:`reason_names`;
        None: no reasons)."""
        return None

    @property
    def reason_names(self) -> list[str]:
        """Labels of the columns of :meth:`contributions_matrix` (default: the features)."""
        return list(self.feature_names)

    def extra_scores(self, features: pd.DataFrame) -> pd.DataFrame:
        """Further per-lead outputs beside the score (say, expected revenue), which the batch
        job writes as more columns; none by default."""
        return pd.DataFrame(index=features.index)

    def score_all(self, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        """:meth:`score` and :meth:`extra_scores` together: what the batch job writes. A
        scorer whose extra outputs come from the same computation overrides it to do it once."""
        return self.score(features), self.extra_scores(features)

    def feature_options(self) -> dict[str, Any]:
        """Extra arguments :func:`funnelkit.lead_features` needs to compute this scorer's
        features (say, the event mapping a funnel score reads stages with); merged by the
        batch job."""
        return {}

    def engine(self) -> _core.Scorer:
        """This scorer as the engine's ``scoring::Scorer``: a pybind11 trampoline that calls
        :meth:`score_matrix` (and :meth:`contributions_matrix`) once per block of rows, taking
        the GIL, wherever the engine scores, e.g. ``_core.score_in_blocks``."""
        return _EngineScorer(self)

    # -- on DataFrames -------------------------------------------------------------------
    def score(self, features: pd.DataFrame) -> pd.Series:
        """Scores of the leads in ``features`` (a Series on its index, named ``"score"``)."""
        x = feature_matrix(features, self.feature_names)
        return pd.Series(np.asarray(self.score_matrix(x), dtype=np.float64), index=features.index, name="score")

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per lead and reason, the contribution to the score (no columns without reasons)."""
        x = feature_matrix(features, self.feature_names)
        matrix = self.contributions_matrix(x)
        if matrix is None:
            return pd.DataFrame(index=features.index)
        return pd.DataFrame(matrix, index=features.index, columns=self.reason_names)

    # -- documents -----------------------------------------------------------------------
    def type_name(self) -> str:
        """The name documents use for this scorer's class (registering a class sets it)."""
        return self.builtin_name or f"unregistered:{type(self).__qualname__}"

    def to_dict(self) -> dict[str, Any]:
        return {"format": SCORER_FORMAT, "version": SCORER_VERSION, "type": self.type_name(),
                "features": list(self.feature_names), "params": self.params()}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the scorer's JSON document to ``path`` atomically (a temporary file, then a rename)."""
        write_atomically(Path(path), self.to_json().encode())

    @staticmethod
    def from_dict(document: dict[str, Any]) -> Scorer:
        """The scorer a document describes (see :meth:`to_dict`)."""
        from funnelkit.extension import _scorer_class

        if not isinstance(document, dict) or document.get("format") != SCORER_FORMAT:
            raise ScorerFormatError(f"not a funnelkit scorer document (format must be {SCORER_FORMAT!r})")
        if document.get("version") != SCORER_VERSION:
            raise ScorerFormatError(
                f"scorer document version {document.get('version')!r}; this funnelkit reads version {SCORER_VERSION}",
                subject="version",
            )
        name = document.get("type")
        params = document.get("params", {})
        if not isinstance(name, str) or not isinstance(params, dict):
            raise ScorerFormatError("a scorer document needs a string 'type' and an object 'params'")
        cls = _scorer_class(name)
        try:
            scorer = cls(**params)
        except TypeError as error:
            raise ScorerFormatError(f"{name}: cannot rebuild from parameters: {error}", subject=name) from error
        expected = document.get("features")
        if expected is not None and list(expected) != list(scorer.feature_names):
            raise ScorerFormatError(
                f"{name}: the document lists features {expected} but the scorer reads {scorer.feature_names}",
                subject="features",
            )
        return scorer

    @staticmethod
    def from_json(text: str) -> Scorer:
        try:
            document = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise ScorerFormatError(f"scorer JSON is malformed: {error}") from error
        return Scorer.from_dict(document)

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Scorer:
        """Read a scorer saved with :meth:`save`."""
        try:
            text = Path(path).read_text()
        except FileNotFoundError as error:
            raise ScorerFormatError(f"no scorer file at {os.fspath(path)!r}", subject=os.fspath(path)) from error
        return Scorer.from_json(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Scorer.from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items() if not isinstance(v, (list, dict)))
        return f"{type(self).__name__}({args})"


class _EngineScorer(_core.Scorer):
    """The engine's view of a Python scorer (see :meth:`Scorer.engine`); the trampoline calls
    these methods, which hand over to the scorer."""

    def __init__(self, scorer: Scorer) -> None:
        super().__init__()
        self.scorer = scorer

    @property
    def feature_names(self) -> list[str]:
        return list(self.scorer.feature_names)

    def type_name(self) -> str:
        return self.scorer.type_name()

    def params(self) -> dict[str, Any]:
        return self.scorer.params()

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.scorer.score_matrix(x), dtype=np.float64)

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray | None:
        return self.scorer.contributions_matrix(x)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so
    readers see the old file or the whole new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
