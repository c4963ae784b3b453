"""Goal seek: how large must a change be for a metric to reach a target — "how much must
checkout -> paid improve for revenue R", "what traffic do we need" — solved on the exact
expected-value path.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.base import Base
    >>> from funnelkit.forecasting.changes import EdgeProbability
    >>> from funnelkit.forecasting.goal_seek import goal_seek
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("cart")
    ...           .add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))
    >>> base = Base(funnel, fk.TrafficPlan(1_000))          # revenue 3,000 a day
    >>> goal = goal_seek(base, "revenue", 120_000, lambda x: EdgeProbability("cart", "paid", probability=x),
    ...                  bounds=(0.0, 1.0), horizon="30D")
    >>> round(goal.x, 9)                                      # 0.3 x 120,000 / 90,000
    0.4

The solution
------------
With g(x) = M(change(x) applied to the base) - target, M the metric summed over the horizon on
the path (:func:`~funnelkit.forecasting._totals.path_totals`), goal seek evaluates g at
``samples`` evenly spaced points of ``bounds`` (both ends included), takes the first pair of
neighbours where g changes sign, and finds the root between them with
:func:`scipy.optimize.brentq` when SciPy is installed, else by bisection (each step halves the
bracket; ~40 steps to 1e-12 of its width). A metric that is monotone in x (the usual case:
revenue in an edge probability or in traffic) has exactly one solution; otherwise the
smallest x of the first bracket found is returned.

When the target lies outside the values seen over the bounds, no change within the bounds
reaches it: :class:`InfeasibleGoalError` says the range reached (exact for a monotone metric)
and which side the target is on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from funnelkit.errors import ForecastError, FunnelError
from funnelkit.forecasting._change import Change
from funnelkit.forecasting._totals import check_metric, path_totals
from funnelkit.forecasting.base import Base

__all__ = ["GoalResult", "GoalSeekError", "InfeasibleGoalError", "goal_seek"]

#: What a change factory may return: one change or several made in order.
Changes = Change | Sequence[Change]


class GoalSeekError(ForecastError):
    """A goal seek that cannot start: bad bounds, a metric that is not known, a change the base
    cannot take somewhere within the bounds."""


class InfeasibleGoalError(GoalSeekError):
    """A target that no change within the bounds reaches; the message gives the range reached."""


@dataclass(frozen=True)
class GoalResult:
    """The solution of :func:`goal_seek`.

    ``x`` is the magnitude found, ``change`` the change it gives (its label), ``value`` the
    metric there (the target, to the solver's tolerance), ``base_value`` the metric without
    the change, ``method`` ``"brentq"`` or ``"bisection"``, ``evaluations`` the path runs used.
    """

    metric: str
    target: float
    x: float
    value: float
    change: str
    base_value: float
    bounds: tuple[float, float]
    method: str
    evaluations: int

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "target": self.target, "x": self.x, "value": self.value,
                "change": self.change, "base_value": self.base_value, "bounds": list(self.bounds),
                "method": self.method, "evaluations": self.evaluations}

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame({"value": pd.Series(self.to_dict(), dtype=object)})

    def __repr__(self) -> str:
        return (f"GoalResult({self.metric} {self.base_value:,.2f} -> {self.value:,.2f} (target "
                f"{self.target:,.2f}) with {self.change}; x = {self.x:.6g}, {self.method})")

    def _repr_html_(self) -> str:
        html: str = self.to_pandas().to_html()
        return f"<p><b>Goal seek</b>: {self.change} gives {self.metric} {self.value:,.2f}</p>{html}"


def goal_seek(base: Base, target_metric: str, target_value: float, change_factory: Callable[[float], Changes], *,
              bounds: tuple[float, float], horizon: Any = "90D", start: object = None, substeps: int = 24,
              warm_up: Any = None, samples: int = 9, xtol: float | None = None) -> GoalResult:
    """The magnitude ``x`` within ``bounds`` for which ``change_factory(x)`` applied to
    ``base`` brings ``target_metric`` (summed over ``horizon`` on the expected-value path) to
    ``target_value``.

    Parameters
    ----------
    base:
        The funnel, traffic, strategy and economics.
    target_metric:
        Any of ``arrivals``, ``purchases``, ``revenue``, ``margin``, ``traffic_cost``,
        ``messages``, ``message_cost``, ``profit``.
    target_value:
        The metric's total over the horizon to reach.
    change_factory:
        ``x -> Change`` (or a list of changes), e.g.
        ``lambda x: EdgeProbability("checkout", "paid", probability=x)`` or
        ``lambda x: ChannelTraffic(factor=x)``.
    bounds:
        ``(low, high)``: where to look; every x in it must give a change the base can take.
    horizon, start, substeps, warm_up:
        As in :func:`~funnelkit.forecasting.forecast.forecast`.
    samples:
        Points of the bounds evaluated to find a bracket (at least 2).
    xtol:
        The solver's absolute tolerance on x (default 1e-12 x the bounds' width).

    Raises
    ------
    InfeasibleGoalError
        The target is outside what the bounds reach (the message gives that range and why).
    GoalSeekError
        Bad bounds, metric or samples, or a change that cannot be applied within the bounds.
    """
    if not isinstance(base, Base):
        raise TypeError(f"goal_seek needs a Base, got {type(base).__name__}")
    try:
        metric = check_metric(target_metric, "goal_seek target_metric")
    except ForecastError as error:
        raise GoalSeekError(str(error), subject="target_metric") from error
    target = _finite(target_value, "target_value")
    low, high = _bounds(bounds)
    if not (isinstance(samples, int) and samples >= 2):
        raise GoalSeekError(f"goal_seek: samples must be an integer >= 2, got {samples!r}", subject="samples")
    tolerance = 1e-12 * (high - low) if xtol is None else _finite(xtol, "xtol")
    if tolerance <= 0:
        raise GoalSeekError(f"goal_seek: xtol must be > 0, got {xtol!r}", subject="xtol")
    options: dict[str, Any] = {"horizon": horizon, "start": start, "substeps": substeps, "warm_up": warm_up}
    evaluations = 0

    def metric_at(x: float) -> float:
        nonlocal evaluations
        changed = _apply(base, change_factory, x)
        evaluations += 1
        return path_totals(changed, quiet=True, **options)[metric]

    base_value = path_totals(base, **options)[metric]
    xs = np.linspace(low, high, samples)
    values = np.array([metric_at(float(x)) for x in xs])
    gaps = values - target
    bracket = _first_bracket(gaps)
    if bracket is None:
        raise InfeasibleGoalError(_why(metric, target, xs, values, change_factory), subject="target_value")
    i, j = bracket
    a, b = float(xs[i]), float(xs[j])
    if gaps[i] == 0.0 or i == j:
        x, method = a, "exact"
    else:
        x, method = _root(lambda v: metric_at(v) - target, a, b, float(gaps[i]), float(gaps[j]), tolerance)
    value = metric_at(x)
    return GoalResult(metric=metric, target=target, x=x, value=value, change=_label(change_factory(x)),
                      base_value=base_value, bounds=(low, high), method=method, evaluations=evaluations)


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(float(value)):
        raise GoalSeekError(f"goal_seek: {what} must be a finite number, got {value!r}", subject=what)
    return float(value)


def _bounds(bounds: object) -> tuple[float, float]:
    if not (isinstance(bounds, Sequence) and len(bounds) == 2):
        raise GoalSeekError(f"goal_seek: bounds must be (low, high), got {bounds!r}", subject="bounds")
    low, high = _finite(bounds[0], "bounds"), _finite(bounds[1], "bounds")
    if not low < high:
        raise GoalSeekError(f"goal_seek: bounds must have low < high, got {bounds!r}", subject="bounds")
    return low, high


def _apply(base: Base, factory: Callable[[float], Changes], x: float) -> Base:
    try:
        made = factory(x)
        changes = (made,) if isinstance(made, Change) else tuple(made)
        out = base
        for change in changes:
            if not isinstance(change, Change):
                raise GoalSeekError(f"goal_seek: change_factory({x:g}) must give a Change or a list of them, got "
                                    f"{type(change).__name__}", subject="change_factory")
            out = change.apply(out)
        out.funnel.validate()
    except GoalSeekError:
        raise
    except FunnelError as error:
        raise GoalSeekError(f"goal_seek: at x = {x:g} the change cannot be applied ({error}); narrow the bounds",
                            subject="bounds") from error
    return out


def _label(made: Changes) -> str:
    changes = (made,) if isinstance(made, Change) else tuple(made)
    return "; ".join(c.label() for c in changes)


def _first_bracket(gaps: np.ndarray) -> tuple[int, int] | None:
    """The first neighbours (i, i+1) where the gap changes sign, or (i, i) where it is 0."""
    for i, gap in enumerate(gaps):
        if gap == 0.0:
            return i, i
        if i + 1 < len(gaps) and gap * gaps[i + 1] < 0:
            return i, i + 1
    return None


def _root(g: Callable[[float], float], a: float, b: float, ga: float, gb: float, xtol: float) -> tuple[float, str]:
    """A root of g in [a, b] (g(a), g(b) of opposite signs): brentq, or bisection without SciPy."""
    try:
        from scipy.optimize import brentq
    except ImportError:
        return _bisect(g, a, b, ga, xtol), "bisection"
    root = brentq(g, a, b, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=200)
    return float(root), "brentq"


def _bisect(g: Callable[[float], float], a: float, b: float, ga: float, xtol: float, max_steps: int = 200) -> float:
    """Bisection: keep the half of [a, b] where g changes sign until it is narrower than xtol."""
    for _ in range(max_steps):
        if b - a <= xtol:
            break
        mid = 0.5 * (a + b)
        gm = g(mid)
        if gm == 0.0:
            return mid
        if (gm < 0) == (ga < 0):
            a, ga = mid, gm
        else:
            b = mid
    return 0.5 * (a + b)


def _why(metric: str, target: float, xs: np.ndarray, values: np.ndarray,
         factory: Callable[[float], Changes]) -> str:
    lo, hi = int(np.argmin(values)), int(np.argmax(values))
    at_lo, at_hi = _label(factory(float(xs[lo]))), _label(factory(float(xs[hi])))
    reach = (f"over bounds [{xs[0]:g}, {xs[-1]:g}] {metric} reaches {values[lo]:,.6g} (at {at_lo}) "
             f"to {values[hi]:,.6g} (at {at_hi})")
    if values[hi] == values[lo]:
        why = f"the change does not move {metric} at all"
    elif target > values[hi]:
        why = "the target is above the most the bounds give"
    else:
        why = "the target is below the least the bounds give"
    monotone = bool(np.all(np.diff(values) >= 0) or np.all(np.diff(values) <= 0))
    sampled = "" if monotone else f" (sampled at {len(xs)} points: {metric} is not monotone in x here)"
    return (f"goal_seek: {metric} = {target:,.6g} cannot be reached: {reach}{sampled}; {why}; widen the bounds "
            "or choose another change")
