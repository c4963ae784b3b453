"""Which improvement is worth most: the elasticity of revenue and profit to every edge
probability, holding time, delay and economic input, from the exact expected-value path.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.base import Base
    >>> from funnelkit.forecasting.sensitivity import sensitivity
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("cart")
    ...           .add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))
    >>> s = sensitivity(Base(funnel, fk.TrafficPlan(1_000)), horizon="30D")
    >>> round(s.elasticity("p(cart -> paid)", "revenue"), 9)   # revenue is linear in it
    1.0
    >>> round(s.elasticity("margin", "revenue"), 9), round(s.elasticity("margin", "profit"), 9)
    (0.0, 1.0)

Formulas
--------
For a parameter θ moved by the relative step h (every change multiplies: an edge probability
``p (1 ± h)``, a holding-time law scaled by ``1 ± h``, a channel's visitors or cost per visitor
x ``1 ± h``, the order values x ``1 ± h``, the margin rate x ``1 ± h``), and a metric M summed
over the horizon on the path (:func:`~funnelkit.forecasting._totals.path_totals`), the elasticity

    E = d log M / d log θ  ≈  (M(θ(1+h)) - M(θ(1-h))) / (2 h M(θ))        (central)

and, where θ(1+h) is not allowed (an edge whose row would sum above 1, a margin above 1),

    E ≈ (M(θ) - M(θ(1-h))) / (h M(θ))                                      (one-sided, backward)

which the table says in its ``difference`` column. Metrics linear in θ come out exact: revenue
to traffic and to order value (1), revenue to the margin rate (0). The central difference's
error is O(h²), the one-sided one's O(h). Where M(θ) is 0 the elasticity is undefined (NaN);
where M(θ) < 0 (a loss) a positive elasticity means the loss grows.

``change_<metric>_10pct`` is the linearised change of the metric for θ +10% relative,
``0.1 E M(θ)``; the tornado chart draws it for -10% and +10%.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.errors import ForecastError, FunnelError
from funnelkit.forecasting._change import Change
from funnelkit.forecasting._totals import check_metric, totals_and_gaps
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.funnel_changes import (
    _SCALABLE,
    EdgeProbability,
    OrderValue,
    ScaleDelay,
    ScaleHolding,
)
from funnelkit.forecasting.market_changes import ChannelCost, ChannelTraffic, Margin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["KINDS", "Parameter", "Sensitivity", "parameters", "sensitivity"]

#: The kinds of parameters, in the order :func:`parameters` lists them.
KINDS = ("edge", "holding", "delay", "traffic", "cost", "order value", "margin")
#: The relative change the ``change_<metric>_10pct`` columns and the tornado chart show.
SHOWN_CHANGE = 0.10


@dataclass(frozen=True)
class Parameter:
    """One input to differentiate: ``change(factor)`` is the change multiplying it by
    ``factor``.

    Parameters
    ----------
    name:
        Shown in the table (``"p(cart -> paid)"``).
    kind:
        One of :data:`KINDS` (or anything for your own parameters).
    value:
        Its value in the base (a probability, a mean holding time, visitors per day, ...);
        shown, not used.
    change:
        ``factor -> Change``; ``change(1.0)`` must leave the base as it is.
    """

    name: str
    kind: str
    value: float
    change: Callable[[float], Change] = field(repr=False, compare=False)


def parameters(base: Base, kinds: Sequence[str] = KINDS) -> list[Parameter]:
    """Every parameter of ``base`` of the given ``kinds``: each edge probability (not the
    edges to the drop stage under the strict remainder rule: they are what the row leaves),
    each stage's holding time and edge's own delay (built-in laws only: they scale exactly),
    the whole traffic and each channel's visitors (when there are several), the cost per
    visitor likewise, the order value (every stage with a value; its base value shown is the
    funnel's largest stage value) and the margin rate.

    >>> import funnelkit as fk
    >>> funnel = (fk.Funnel("shop").add_stage("visit", holding=fk.Exponential(mean=2.0))
    ...           .add_stage("paid", kind="success", value=50.0).add_edge("visit", "paid", 0.02))
    >>> [p.name for p in parameters(Base(funnel, fk.TrafficPlan(1_000)))]
    ['p(visit -> paid)', 'holding(visit)', 'traffic', 'cost per visitor', 'order value', 'margin']
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ForecastError(f"sensitivity: unknown parameter kind {unknown[0]!r} (kinds: {', '.join(KINDS)})",
                            subject="changes")
    funnel, plan = base.funnel, base.traffic
    out: list[Parameter] = []
    strict_drop = funnel.drop_stage if funnel.remainder == "strict" else None
    if "edge" in kinds:
        for e in funnel.edges:
            if e.target != strict_drop:
                out.append(Parameter(f"p({e.source} -> {e.target})", "edge", e.probability,
                                     _edge(e.source, e.target)))
    if "holding" in kinds:
        for st in funnel.stages:
            if st.holding is not None and type(st.holding) in _SCALABLE:
                out.append(Parameter(f"holding({st.name})", "holding", _mean(st.holding),
                                     _holding(st.name)))
    if "delay" in kinds:
        for e in funnel.edges:
            if e.delay is not None and type(e.delay) in _SCALABLE:
                out.append(Parameter(f"delay({e.source} -> {e.target})", "delay", _mean(e.delay),
                                     _delay(e.source, e.target)))
    daily = plan.daily_per_channel()
    names = plan.channel_names
    if "traffic" in kinds:
        out.append(Parameter("traffic", "traffic", float(daily.sum()), lambda f: ChannelTraffic(factor=f)))
        if len(names) > 1:
            out.extend(Parameter(f"traffic({n})", "traffic", float(v), _traffic(n))
                       for n, v in zip(names, daily, strict=True))
    if "cost" in kinds:
        costs = plan.cost_per_visitor
        mean_cost = float(costs @ daily / daily.sum()) if daily.sum() > 0 else float(costs.mean())
        out.append(Parameter("cost per visitor", "cost", mean_cost, lambda f: ChannelCost(factor=f)))
        if len(names) > 1:
            out.extend(Parameter(f"cost per visitor({n})", "cost", float(c), _cost(n))
                       for n, c in zip(names, costs, strict=True))
    values = [st.value for st in funnel.stages if st.value > 0]
    if "order value" in kinds and values:
        out.append(Parameter("order value", "order value", max(values), lambda f: OrderValue(factor=f)))
    if "margin" in kinds:
        out.append(Parameter("margin", "margin", base.economics.margin, lambda f: Margin(factor=f)))
    return out


def _edge(source: str, target: str) -> Callable[[float], Change]:
    return lambda f: EdgeProbability(source, target, factor=f)


def _holding(stage: str) -> Callable[[float], Change]:
    return lambda f: ScaleHolding(stage, f)


def _delay(source: str, target: str) -> Callable[[float], Change]:
    return lambda f: ScaleDelay(source, target, f)


def _traffic(channel: str) -> Callable[[float], Change]:
    return lambda f: ChannelTraffic(channel, factor=f)


def _cost(channel: str) -> Callable[[float], Change]:
    return lambda f: ChannelCost(channel, factor=f)


def _mean(distribution: Any) -> float:
    try:
        return float(distribution.mean())
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - every built-in law has a mean
        return math.nan


@dataclass(frozen=True, eq=False)
class Sensitivity:
    """The elasticities of :func:`sensitivity`, one row per parameter, ranked by the absolute
    elasticity of the first metric.

    ``table`` columns: ``parameter``, ``kind``, ``base_value``, ``elasticity_<metric>`` and
    ``change_<metric>_10pct`` per metric, ``difference`` (``"central"`` or why one-sided).
    ``base`` holds the metrics' totals on the base path.
    """

    table: pd.DataFrame
    metrics: tuple[str, ...]
    base: dict[str, float]
    horizon: Any
    step: float
    not_in_path: tuple[str, ...] = ()

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def ranked(self, metric: str | None = None) -> pd.DataFrame:
        """The table sorted by ``|elasticity_<metric>|``, largest first (ties keep their order)."""
        metric = self.metrics[0] if metric is None else self._metric(metric)
        order = np.argsort(-np.abs(self.table[f"elasticity_{metric}"].to_numpy(dtype=np.float64)), kind="stable")
        return self.table.iloc[order].reset_index(drop=True)

    def elasticity(self, parameter: str, metric: str | None = None) -> float:
        """The elasticity of ``metric`` (default: the first) to the parameter named ``parameter``."""
        metric = self.metrics[0] if metric is None else self._metric(metric)
        rows = self.table.index[self.table["parameter"] == parameter]
        if len(rows) == 0:
            raise ForecastError(f"Sensitivity: no parameter {parameter!r} (parameters: "
                                f"{', '.join(self.table['parameter'])})", subject=parameter)
        return float(self.table.at[rows[0], f"elasticity_{metric}"])

    def plot(self, metric: str | None = None, *, top: int = 15, ax: Axes | None = None) -> Axes:
        """A tornado chart: the linearised change of ``metric`` for each parameter -10% and
        +10% relative, the ``top`` largest at the top."""
        from funnelkit.plotting import _pyplot

        metric = self.metrics[0] if metric is None else self._metric(metric)
        table = self.ranked(metric).head(top).iloc[::-1]
        up = table[f"change_{metric}_10pct"].to_numpy(dtype=np.float64)
        if ax is None:
            _, ax = _pyplot().subplots(figsize=(8, 0.35 * len(table) + 1.2))
        y = np.arange(len(table))
        ax.barh(y, up, color="tab:green", label="+10%")
        ax.barh(y, -up, color="tab:red", label="-10%")
        ax.set_yticks(y, labels=list(table["parameter"]))
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"change in {metric} over {self.horizon} (base {self.base[metric]:,.0f}; linearised)")
        ax.set_title(f"Sensitivity of {metric}")
        ax.legend(loc="lower right")
        return ax

    def _metric(self, metric: str) -> str:
        if metric not in self.metrics:
            raise ForecastError(f"Sensitivity: metric {metric!r} was not computed (metrics: "
                                f"{', '.join(self.metrics)})", subject=metric)
        return metric

    def _title(self) -> str:
        totals = ", ".join(f"{m} {self.base[m]:,.2f}" for m in self.metrics)
        return f"Sensitivity over {self.horizon} (step {self.step:g}; base: {totals})"

    def __repr__(self) -> str:
        return f"{self._title()}\n{self.table.to_string()}"

    def _repr_html_(self) -> str:
        note = (f"<p>The path leaves out: {', '.join(self.not_in_path)}</p>" if self.not_in_path else "")
        html: str = self.table.to_html(float_format=lambda x: f"{x:,.4g}", index=False)
        return f"<p><b>{self._title()}</b></p>{note}{html}"


def sensitivity(base: Base, *, horizon: Any = "90D", metrics: Sequence[str] = ("revenue", "profit"),
                step: float = 0.01, changes: Sequence[Parameter | str] | None = None, start: object = None,
                substeps: int = 24, warm_up: Any = None) -> Sensitivity:
    """The elasticity of each metric, summed over ``horizon`` on the expected-value path, to
    each parameter of ``base``, by central finite differences of relative size ``step``
    (formulas in the module's docstring).

    Parameters
    ----------
    base:
        The funnel, traffic, strategy and economics.
    horizon, start, substeps, warm_up:
        As in :func:`~funnelkit.forecasting.forecast.forecast` (``warm_up="60D"``: a shop that
        is already running at ``start``).
    metrics:
        Any of ``arrivals``, ``purchases``, ``revenue``, ``margin``, ``traffic_cost``,
        ``messages``, ``message_cost``, ``profit``.
    step:
        The relative change h, in (0, 0.5].
    changes:
        None: every parameter (:func:`parameters`); a list of kinds (``["edge", "traffic"]``)
        or of :class:`Parameter` (your own, e.g. a trigger's delay) to differentiate instead.

    Costs 1 + 2 x (number of parameters) path evaluations.
    """
    if not isinstance(base, Base):
        raise TypeError(f"sensitivity needs a Base, got {type(base).__name__}")
    chosen = tuple(check_metric(m, "sensitivity metrics") for m in metrics)
    if not chosen:
        raise ForecastError("sensitivity: give at least one metric", subject="metrics")
    if not (isinstance(step, (int, float)) and 0.0 < step <= 0.5):
        raise ForecastError(f"sensitivity: step must be in (0, 0.5], got {step!r}", subject="step")
    h = float(step)
    params = _chosen_parameters(base, changes)
    options: dict[str, Any] = {"horizon": horizon, "start": start, "substeps": substeps, "warm_up": warm_up}
    m0, gaps = totals_and_gaps(base, quiet=False, **options)

    def totals(factor: float, p: Parameter) -> dict[str, float]:
        return totals_and_gaps(p.change(factor).apply(base), quiet=True, **options)[0]

    rows: list[dict[str, Any]] = []
    for p in params:
        minus = totals(1.0 - h, p)
        try:
            plus: dict[str, float] | None = totals(1.0 + h, p)
            how = "central"
        except FunnelError as error:  # a row sum above 1, a margin above 1
            plus, how = None, f"one-sided (backward): +{h:g} is not allowed ({error})"
        row: dict[str, Any] = {"parameter": p.name, "kind": p.kind, "base_value": p.value}
        for m in chosen:
            if m0[m] == 0.0:
                e = math.nan
            elif plus is None:
                e = (m0[m] - minus[m]) / (h * m0[m])
            else:
                e = (plus[m] - minus[m]) / (2.0 * h * m0[m])
            row[f"elasticity_{m}"] = e
        for m in chosen:
            row[f"change_{m}_10pct"] = SHOWN_CHANGE * row[f"elasticity_{m}"] * m0[m]
        row["difference"] = how
        rows.append(row)
    columns = ["parameter", "kind", "base_value", *(f"elasticity_{m}" for m in chosen),
               *(f"change_{m}_10pct" for m in chosen), "difference"]
    table = pd.DataFrame(rows, columns=columns)
    result = Sensitivity(table, chosen, {m: m0[m] for m in chosen}, horizon, h, tuple(gaps))
    return Sensitivity(result.ranked(), chosen, result.base, horizon, h, tuple(gaps))


def _chosen_parameters(base: Base, changes: Sequence[Parameter | str] | None) -> list[Parameter]:
    if changes is None:
        return parameters(base)
    if isinstance(changes, str):
        changes = [changes]
    kinds = [c for c in changes if isinstance(c, str)]
    own = [c for c in changes if isinstance(c, Parameter)]
    if len(kinds) + len(own) != len(changes):
        bad = next(c for c in changes if not isinstance(c, (str, Parameter)))
        raise ForecastError(f"sensitivity: changes must be parameter kinds or Parameter objects, got "
                            f"{type(bad).__name__}", subject="changes")
    chosen = (parameters(base, kinds) if kinds else []) + own
    names = [p.name for p in chosen]
    if len(set(names)) != len(names):
        raise ForecastError("sensitivity: parameter names must be unique", subject="changes")
    return chosen
