"""The funnel-model lead score: P(purchase) and expected revenue from the stage a lead is in and
how long it has been idle there, exactly from a (fitted) funnel; no training.

A lead in stage *i* idle for *t* has not taken any of the stage's transitions yet, so its next
step is transition *j* with probability ``w_j(t) = p_j S_j(t) / sum_k p_k S_k(t)`` (``S_j``
the survival of the transition's delay), and

* ``score = P(purchase) = sum_j w_j(t) b_j`` (``b_j``: the analysis' success probability),
* ``expected_revenue = sum_j w_j(t) (r_j + discount * v_j)`` (``r_j``: the value received on
  entering *j*, ``v_j``: the expected value still to come from there).

A cart abandoned ten minutes ago still has its quick checkout ahead; one idle for days has
only the slow moves left — and past the window ``W`` of a fitted funnel only "left"::

    >>> import pandas as pd
    >>> import funnelkit as fk
    >>> funnel = (fk.Funnel("shop", time_unit="hours")
    ...           .add_stage("cart", holding=fk.Fixed(72.0))   # unconverted carts are lost after 72 h
    ...           .add_stage("paid", "success", value=50.0)
    ...           .add_edge("cart", "paid", 0.3, delay=fk.Truncated(fk.Exponential(mean=2.0), 72.0)))
    >>> scorer = fk.FunnelScorer(funnel)
    >>> leads = pd.DataFrame({"stage": pd.Categorical(["cart", "cart", "none"]),
    ...                       "time_in_stage_days": [10 / 1440, 10.0, float("nan")]}, index=["a", "b", "c"])
    >>> scorer.score(leads).round(4).tolist()
    [0.2828, 0.0, 0.3]
    >>> scorer.extra_scores(leads)["expected_revenue"].round(2).tolist()
    [14.14, 0.0, 15.0]

Delays that never end (an exponential not truncated) keep some weight forever: a lead idle far
beyond every other move would then be bound for that one. Fitted funnels truncate their
delays at the window (:class:`~funnelkit.Truncated`) for this reason.

``stage`` names a stage of the funnel, ``"none"`` (not yet in the funnel: scored as a fresh
arrival) or ``"left"`` (the failure stage a fitted funnel sends losses to). The conventions for
t = 0 and for leads idle past every delay's support are those of the engine's next-step law
(docs/scoring.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.errors import FeatureValueError, MissingFeatureError, ScorerFormatError, UnknownStageError
from funnelkit.scoring.base import Scorer

if TYPE_CHECKING:
    from funnelkit.fit import FunnelFit
    from funnelkit.funnel import Funnel

__all__ = ["FunnelScorer"]

#: Not yet in the funnel (a lead with no stage) and left it: stage names the features use.
NOT_ENTERED = "none"
LEFT = "left"
_NOT_ENTERED_CODE = -1
_LEFT_CODE = -2

_DAY_NS = 86_400e9
_UNITS_NS = {"seconds": 1e9, "minutes": 60e9, "hours": 3600e9, "days": 86_400e9, "weeks": 604_800e9}


class FunnelScorer(Scorer):
    """Scores leads by P(purchase) under a funnel model, given their stage and idle time.

    Parameters
    ----------
    funnel:
        A :class:`~funnelkit.Funnel` (copied), its JSON document as a dict, or JSON text or a
        file path. Fitted funnels (:func:`~funnelkit.fit_funnel`) have per-edge delays, which
        is what makes the idle time informative; see :meth:`from_fit`.
    mapping, window, repeat, success, failure, journey_gap:
        How events become stages and journeys, in :func:`~funnelkit.fit_funnel`'s forms
        (``journey_gap`` is its ``session_gap``): what :func:`~funnelkit.lead_features` needs
        to compute ``stage`` and ``time_in_stage_days`` by the funnel's own rules
        (:meth:`feature_options`). ``None`` leaves lead_features' default. A callable mapping
        works but cannot be saved; register an :class:`~funnelkit.EventMapping` and pass its
        name instead. :meth:`from_fit` fills them all from the fit.
    time_unit:
        The unit of the funnel's times ("seconds", "minutes", "hours", "days" or "weeks");
        default: the funnel's ``time_unit``. The feature ``time_in_stage_days`` is converted
        to it.

    Notes
    -----
    Reads the features ``stage`` (stage names, a Categorical) and ``time_in_stage_days``.
    ``time_in_stage_days`` may be NaN where it does not matter (``"none"``, ``"left"`` and
    absorbing stages); elsewhere NaN, negative or infinite values raise
    :class:`~funnelkit.FeatureValueError`, and a stage the funnel does not have raises
    :class:`~funnelkit.UnknownStageError`. :meth:`contributions` splits each score into the
    stage's score at t = 0 (``stage``) and what the idle time changed
    (``time_in_stage_days``, usually negative).
    """

    builtin_name: ClassVar[str | None] = "funnel"

    def __init__(
        self,
        funnel: Funnel | Mapping[str, Any] | str | os.PathLike[str],
        *,
        mapping: Any = None,
        window: object = None,
        repeat: Mapping[str, str] | None = None,
        success: Sequence[str] | None = None,
        failure: Sequence[str] | None = None,
        journey_gap: object = None,
        time_unit: str | None = None,
    ) -> None:
        from funnelkit.funnel import Funnel

        if isinstance(funnel, Funnel):
            self._funnel = funnel.copy()
        elif isinstance(funnel, Mapping):
            self._funnel = Funnel.from_dict(funnel)
        elif isinstance(funnel, (str, os.PathLike)):
            self._funnel = Funnel.from_json(funnel)
        else:
            raise TypeError(f"funnel must be a funnelkit.Funnel, its document or JSON, got {type(funnel).__name__}")
        unit = self._funnel.time_unit if time_unit is None else time_unit
        if unit not in _UNITS_NS:
            raise ValueError(f"the funnel's time unit {unit!r} is not one of {sorted(_UNITS_NS)}; pass time_unit= "
                             "to say which unit its delays are in")
        self._time_unit = time_unit
        self._units_per_day = _DAY_NS / _UNITS_NS[unit]
        self._mapping = mapping
        self._window = window
        self._repeat = None if repeat is None else dict(repeat)
        self._success = None if success is None else [success] if isinstance(success, str) else list(success)
        self._failure = None if failure is None else [failure] if isinstance(failure, str) else list(failure)
        self._journey_gap = journey_gap
        chain = self._funnel._compiled()
        self._chain = chain
        analysis = _core.Analysis(chain, 0, 1e-13, 1000, "auto")
        self._engine = _core.FunnelScore(chain, analysis, {}, 0)
        self._names: list[str] = list(chain.names)
        self._codes: dict[str, int] = {name: i for i, name in enumerate(self._names)}
        self._kinds: list[str] = list(chain.kinds)
        self._next_step: _core.NextStep | None = None

    @classmethod
    def from_fit(cls, fit: FunnelFit) -> FunnelScorer:
        """The score of a fitted funnel, with the fit's journey rules (mapping, window, repeat,
        absorbing stages, session gap) and time unit, so that lead features place leads in
        stages by the rules the funnel was fitted with."""
        options = fit.options
        kinds = fit.stages.set_index("stage")["kind"]
        return cls(fit.funnel, mapping=options.get("mapping"), window=options.get("window"),
                   repeat=options.get("repeat"), success=list(kinds.index[kinds == "success"]),
                   failure=list(kinds.index[kinds == "failure"]), journey_gap=options.get("session_gap"),
                   time_unit=options.get("time_unit"))

    # -- the Scorer protocol ---------------------------------------------------------------
    @property
    def funnel(self) -> Funnel:
        """A copy of the funnel the score comes from."""
        return self._funnel.copy()

    @property
    def time_unit(self) -> str:
        """The unit of the funnel's times, which ``time_in_stage_days`` is converted to."""
        return self._time_unit or self._funnel.time_unit

    @property
    def feature_names(self) -> list[str]:
        return ["stage", "time_in_stage_days"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """P(purchase) per row of ``x``: column 0 the stage code (a position in the funnel's
        chain, -1 not entered, -2 left), column 1 the idle time in days."""
        codes, times = self._matrix_inputs(x)
        purchase, _ = self._engine.evaluate(codes, times)
        return purchase

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray:
        codes, times = self._matrix_inputs(x)
        return self._engine.contributions(codes.astype(np.float64), times)

    def params(self) -> dict[str, Any]:
        return {"funnel": self._funnel.to_dict(), "mapping": _mapping_json(self._mapping),
                "window": _window_json(self._window, "window"), "repeat": self._repeat, "success": self._success,
                "failure": self._failure, "journey_gap": _window_json(self._journey_gap, "journey_gap"),
                "time_unit": self._time_unit}

    def feature_options(self) -> dict[str, Any]:
        """The :func:`~funnelkit.lead_features` arguments that place leads by this funnel's
        rules (those given; None ones are left out)."""
        options = {"mapping": self._mapping, "window": self._window, "repeat": self._repeat, "success": self._success,
                   "failure": self._failure, "journey_gap": self._journey_gap}
        return {key: value for key, value in options.items() if value is not None}

    # -- on feature frames -------------------------------------------------------------------
    def score(self, features: pd.DataFrame) -> pd.Series:
        """P(purchase) of each lead (a Series on ``features``' index named ``"score"``)."""
        codes, times = self._frame_inputs(features)
        purchase, _ = self._engine.evaluate(codes, times)
        return pd.Series(purchase, index=features.index, name="score")

    def extra_scores(self, features: pd.DataFrame) -> pd.DataFrame:
        """``expected_revenue``: the value each lead is still expected to bring (stage values
        of the stages it will enter, discounted per transition by the funnel's discount)."""
        codes, times = self._frame_inputs(features)
        _, revenue = self._engine.evaluate(codes, times)
        return pd.DataFrame({"expected_revenue": revenue}, index=features.index)

    def score_all(self, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        """Score and expected revenue from one pass of the engine."""
        codes, times = self._frame_inputs(features)
        purchase, revenue = self._engine.evaluate(codes, times)
        return (pd.Series(purchase, index=features.index, name="score"),
                pd.DataFrame({"expected_revenue": revenue}, index=features.index))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """The stage's own score at t = 0 and what the idle time changed; they sum to the score."""
        codes, times = self._frame_inputs(features)
        matrix = self._engine.contributions(codes.astype(np.float64), times)
        return pd.DataFrame(matrix, index=features.index, columns=self.reason_names)

    def next_step(self, stage: str, idle: object = 0.0) -> pd.DataFrame:
        """Where a lead in ``stage`` idle for ``idle`` (days, or a Timedelta-like such as
        ``"3h"``) goes next: one row per possible next stage with the conditional
        ``probability``, the row's own ``row_probability``, the ``survival`` of that move's
        delay at the idle time, and the target's ``success_probability`` and
        ``expected_revenue`` (value on entering plus what follows).

        ``"none"`` gives the entry distribution; an absorbing stage has no rows.
        """
        idle_days = _days(idle)
        success = self._engine.success
        entering = self._engine.entering_value
        columns = ["probability", "row_probability", "survival", "success_probability", "expected_revenue"]
        if stage == NOT_ENTERED:
            entry = np.asarray(self._chain.entry)
            states = np.flatnonzero(entry)
            values = np.asarray(self._chain.values)
            # A fresh arrival receives the entry stage's own value, then what follows it.
            revenue = values[states] + (entering[states] - values[states]) / self._funnel.discount
            table = pd.DataFrame({"probability": entry[states], "row_probability": entry[states],
                                  "survival": 1.0, "success_probability": success[states],
                                  "expected_revenue": revenue}, index=[self._names[s] for s in states])
            return table.rename_axis("stage")
        state = self._state_code(stage)
        if state < 0:
            return pd.DataFrame(columns=columns, index=pd.Index([], name="stage"), dtype=float)
        next_step = self._next_step_engine()
        targets = next_step.targets(state)
        weights = next_step.weights(state, idle_days * self._units_per_day)
        row = next_step.weights(state, 0.0)
        table = pd.DataFrame({"probability": weights, "row_probability": row,
                              "survival": next_step.survivals(state, idle_days * self._units_per_day),
                              "success_probability": success[targets], "expected_revenue": entering[targets]},
                             index=[self._names[t] for t in targets])
        return table.rename_axis("stage")

    # -- inputs --------------------------------------------------------------------------------
    def _state_code(self, name: str) -> int:
        if name == NOT_ENTERED:
            return _NOT_ENTERED_CODE
        code = self._codes.get(name)
        if code is not None:
            return code
        if name == LEFT or name in (self._failure or ()):
            drop = self._chain.drop_state
            return _LEFT_CODE if drop is None else int(drop)
        if name in (self._success or ()):
            # An absorbing success stage the fit never saw entered (all its entries were still
            # open at the cut): the lead has bought, as in any success stage of the funnel.
            bought = [code for code, kind in enumerate(self._kinds) if kind == "success"]
            if bought:
                return bought[0]
        raise UnknownStageError(f"stage {name!r} is not a stage of the funnel {self._funnel.name!r} (stages: "
                                f"{', '.join(self._names[:20])}{', ...' if len(self._names) > 20 else ''}; "
                                f"or {NOT_ENTERED!r}, {LEFT!r})", subject=name)

    def _frame_inputs(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(features, pd.DataFrame):
            raise TypeError(f"features must be a pandas DataFrame, got {type(features).__name__}")
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise MissingFeatureError(f"the features lack the column(s) the funnel score needs: "
                                      f"{', '.join(map(repr, missing))}", subject=missing[0])
        stage = features["stage"]
        categorical = stage.astype("category") if not isinstance(stage.dtype, pd.CategoricalDtype) else stage
        category_codes = categorical.cat.codes.to_numpy()
        if (category_codes < 0).any():
            first = features.index[int(np.argmax(category_codes < 0))]
            raise FeatureValueError(f"feature 'stage' is missing for {int((category_codes < 0).sum())} lead(s), "
                                    f"first {first!r} (use {NOT_ENTERED!r} for leads not yet in the funnel)",
                                    subject="stage")
        categories = categorical.cat.categories
        used = np.bincount(category_codes, minlength=len(categories)) > 0
        lookup = np.full(len(categories), _LEFT_CODE, dtype=np.int64)
        for k, name in enumerate(categories):
            if used[k]:
                lookup[k] = self._state_code(str(name))
        codes = lookup[category_codes]
        times = self._times(features["time_in_stage_days"], codes, features.index)
        return codes, times

    def _times(self, column: pd.Series, codes: np.ndarray, index: pd.Index) -> np.ndarray:
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
            raise FeatureValueError(f"feature 'time_in_stage_days' is not numeric ({column.dtype})",
                                    subject="time_in_stage_days")
        try:
            days = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise FeatureValueError(f"feature 'time_in_stage_days' is not numeric: {error}",
                                    subject="time_in_stage_days") from error
        return self._checked_times(days, codes, index)

    def _checked_times(self, days: np.ndarray, codes: np.ndarray, index: Sequence[Any]) -> np.ndarray:
        bad = (days < 0) | np.isinf(days)
        transient = np.zeros(len(codes), dtype=bool)
        inside = codes >= 0
        if inside.any():
            absorbing = np.array([kind != "transient" for kind in self._kinds])
            transient[inside] = ~absorbing[codes[inside]]
        bad |= np.isnan(days) & transient
        if bad.any():
            row = int(np.argmax(bad))
            stage = self._names[codes[row]] if codes[row] >= 0 else ("none" if codes[row] == -1 else "left")
            raise FeatureValueError(
                f"feature 'time_in_stage_days' has {int(bad.sum())} NaN, negative or infinite value(s) where the "
                f"time matters, first {days[row]} for lead {index[row]!r} in stage {stage!r}",
                subject="time_in_stage_days")
        return days * self._units_per_day

    def _matrix_inputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"the funnel score reads 2 columns (stage code, idle days), got shape {x.shape}")
        raw = x[:, 0]
        valid = np.isfinite(raw) & (raw == np.round(raw)) & (raw >= _LEFT_CODE) & (raw < len(self._names))
        if not valid.all():
            row = int(np.argmax(~valid))
            raise FeatureValueError(f"feature 'stage' has code {raw[row]} in row {row}: codes are positions in the "
                                    f"funnel's stages, -1 (not entered) or -2 (left)", subject="stage")
        codes = raw.astype(np.int64)
        return codes, self._checked_times(x[:, 1], codes, range(len(codes)))

    def _next_step_engine(self) -> _core.NextStep:
        if self._next_step is None:
            self._next_step = _core.NextStep(self._chain, 0)
        return self._next_step

    def __repr__(self) -> str:
        return (f"FunnelScorer(funnel={self._funnel.name!r}, stages={len(self._names)}, "
                f"time_unit={self.time_unit!r})")


def _days(value: object) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        days = float(value)
    else:
        try:
            days = pd.Timedelta(value).total_seconds() / 86_400
        except (TypeError, ValueError) as error:
            raise ValueError(f"idle must be a number of days or a Timedelta-like, got {value!r}") from error
    if not (days >= 0 and math.isfinite(days)):
        raise FeatureValueError(f"idle time must be finite and >= 0 days, got {days}", subject="time_in_stage_days")
    return days


def _mapping_json(mapping: Any) -> Any:
    """The mapping as JSON: None, a registered EventMapping's name, or {stage: [event names]}."""
    from funnelkit.events import EventMapping
    from funnelkit.extension import registered

    if mapping is None or isinstance(mapping, str):
        return mapping
    if isinstance(mapping, Mapping):
        return {str(stage): [marks] if isinstance(marks, str) else list(marks) for stage, marks in mapping.items()}
    if isinstance(mapping, EventMapping):
        for name, cls in registered("event_mapping").items():
            if type(mapping) is cls:
                return name
    what = type(mapping).__qualname__ if not callable(mapping) else getattr(mapping, "__qualname__", "a callable")
    raise ScorerFormatError(f"the FunnelScorer's event mapping ({what}) cannot be saved: pass a dict, or register "
                            "an EventMapping with fk.register('event_mapping', name) and pass its name",
                            subject="mapping")


def _window_json(value: object, what: str) -> object:
    """A duration as JSON: None, a number (in the funnel's unit), or Timedelta text."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (pd.Timedelta, np.timedelta64)) or hasattr(value, "total_seconds"):
        return str(pd.Timedelta(value))
    raise ScorerFormatError(f"the FunnelScorer's {what} {value!r} cannot be saved", subject=what)

