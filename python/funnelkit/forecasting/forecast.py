"""Forecasts of revenue, orders, buyers and profit per day, week or month: the exact
expected-value path of the funnel beside Monte Carlo bands from the simulation engine.

>>> import funnelkit as fk
>>> from funnelkit.forecasting.forecast import forecast
>>> f = forecast(fk.examples.shop_funnel(), 1_000, horizon="28D", freq="W", replicates=4, progress=False)
>>> list(f.table.columns[:4])
['arrivals_expected', 'arrivals_mean', 'arrivals_low', 'arrivals_high']
>>> len(f.table)
4
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.forecasting.base import Base
from funnelkit.forecasting.path import expected_path
from funnelkit.funnel import Funnel
from funnelkit.simulation._durations import Duration, day_length, to_units
from funnelkit.simulation.economics import Economics
from funnelkit.simulation.run import _start, simulate
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import TrafficPlan

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from funnelkit.simulation.results import Simulation

__all__ = ["FLOWS", "Forecast", "forecast"]

#: What a forecast reports per period (sums over the period's days).
FLOWS = ("arrivals", "purchases", "revenue", "margin", "traffic_cost", "messages", "message_cost", "profit")
_FREQUENCIES = {"D": "D", "W": "W-SUN", "M": "MS"}


@dataclass(frozen=True, eq=False)
class Forecast:
    """The expected path and the simulated bands, per period.

    ``expected`` is the exact expected-value path of the funnel with the part of the strategy
    :func:`~funnelkit.expected_path` follows (what it leaves out is in
    ``expected.attrs["not_in_path"]``); ``simulated`` holds the mean and the ``q`` quantile
    band of :func:`funnelkit.simulate` with the whole strategy. Where the path follows the
    whole strategy the two agree on the mean (tested, e.g. with
    :func:`funnelkit.strategies.must_have`). The path's margin leaves out discounts (the
    simulation's subtracts them). ``table`` puts both side by side:
    ``<metric>_expected``, ``<metric>_mean``, ``<metric>_low``, ``<metric>_high``.

    ``simulation`` is the whole run, the warm-up included (``start`` is the first forecast
    day, ``warm_up_days`` how many days ran before it); :func:`~funnelkit.unit_economics` of
    a forecast counts the forecast's days only.
    """

    expected: pd.DataFrame
    simulated: pd.DataFrame
    simulation: Simulation | None
    freq: str
    q: tuple[float, float]
    funnel: Funnel | None = None
    start: pd.Timestamp | None = None
    warm_up_days: int = 0

    @property
    def table(self) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for metric in FLOWS:
            columns[f"{metric}_expected"] = self.expected[metric]
            for stat in ("mean", "low", "high"):
                key = f"{metric}_{stat}"
                columns[key] = self.simulated[key] if key in self.simulated else np.nan
        return pd.DataFrame(columns, index=self.expected.index)

    def to_pandas(self) -> pd.DataFrame:
        return self.table

    def plot(self, metric: str = "revenue", ax: Axes | None = None) -> Axes:
        """The expected path with the simulated mean and band of ``metric``."""
        from funnelkit.plotting import _pyplot

        if ax is None:
            _, ax = _pyplot().subplots(figsize=(8, 3.5))
        index = self.expected.index
        ax.plot(index, self.expected[metric], color="black", label="expected path")
        if f"{metric}_mean" in self.simulated:
            ax.plot(index, self.simulated[f"{metric}_mean"], color="tab:blue", label="simulated mean")
            ax.fill_between(index, self.simulated[f"{metric}_low"], self.simulated[f"{metric}_high"],
                            color="tab:blue", alpha=0.2, label=f"{self.q[0]:.0%}-{self.q[1]:.0%} band")
        ax.set_ylabel(metric)
        ax.legend()
        return ax

    def _repr_html_(self) -> str:
        table: str = self.table.to_html(float_format=lambda x: f"{x:,.1f}")
        return f"<p><b>Forecast</b> per {self.freq}: expected path and simulated band</p>" + table

    def __repr__(self) -> str:
        return f"Forecast per {self.freq}:\n{self.table}"


def forecast(funnel: Funnel | Base, traffic: TrafficPlan | float | None = None, strategy: Strategy | None = None, *,
             horizon: Duration = "90D", start: object = None, economics: Economics | None = None, freq: str = "D",
             replicates: int = 20, seed: int = 0, q: tuple[float, float] = (0.05, 0.95), substeps: int = 24,
             warm_up: Duration | None = None, progress: bool = True) -> Forecast:
    """Forecast ``horizon`` per day (``freq="D"``), week (``"W"``, weeks ending on Sunday) or
    month (``"M"``): the expected-value path and, with ``replicates`` > 0, the simulation's
    mean and quantile band (same traffic, strategy and economics).

    Parameters
    ----------
    funnel:
        The :class:`~funnelkit.Funnel`, or a :class:`~funnelkit.Base` holding the funnel,
        traffic, strategy and economics (then none of those three may be passed again).
    traffic:
        A :class:`~funnelkit.TrafficPlan` or visitors per day (required with a funnel).
    strategy:
        The trigger strategy (None: no messages).
    horizon, start:
        How far ahead, from midnight of ``start`` (default 2026-01-05, a Monday).
    economics:
        Margin and order-value spread (default: ``fk.Economics()``).
    freq:
        ``"D"``, ``"W"`` or ``"M"``.
    replicates, seed, q:
        Simulated replicates (0: the expected path only), their seed and the band's quantiles.
    substeps:
        The expected path's time grid per day.
    warm_up:
        None (default): the shop starts empty at ``start``, with no lead half-way through, so
        the first days are low while journeys take time to reach a purchase. A duration in
        whole days (``"60D"``): the path and the simulation start that long before ``start``
        with the same traffic plan (its weekly and yearly factors follow the calendar; its
        growth is counted from ``start``, so the forecast days get the same traffic as without
        a warm-up) and the days before ``start`` are cut: a shop that is already running. It
        should be longer than most journeys (the funnel's expected time to absorption and the
        triggers' delays). The strategy's campaigns given as numbers count from the
        simulation's first day, ``start - warm_up``.
    progress:
        Show the simulation's progress bar.

    Economics follow :class:`~funnelkit.Economics`: margin = margin rate x revenue, traffic
    cost = arrivals x cost per visitor per channel, message cost = messages sent x
    their cost, profit = margin - traffic cost - message cost; the simulation's margin also
    subtracts the discounts given, which the path leaves out.

    Examples
    --------
    >>> import funnelkit as fk
    >>> base = fk.Base(fk.examples.shop_funnel(), fk.TrafficPlan(1_000))
    >>> cold = forecast(base, horizon="14D", freq="W", replicates=0)
    >>> warm = forecast(base, horizon="14D", freq="W", replicates=0, warm_up="60D")
    >>> bool(warm.expected["purchases"].iloc[0] > cold.expected["purchases"].iloc[0])
    True
    >>> forecast(base, fk.TrafficPlan(500), replicates=0)
    Traceback (most recent call last):
    ...
    TypeError: forecast: traffic is given twice, by the Base and as an argument; ...
    """
    if isinstance(funnel, Base):
        given = [name for name, value in (("traffic", traffic), ("strategy", strategy), ("economics", economics))
                 if value is not None]
        if given:
            raise TypeError(f"forecast: {' and '.join(given)} {'is' if len(given) == 1 else 'are'} given twice, "
                            f"by the Base and as an argument; change the Base (base.replace({given[0]}=...)) instead")
        base = funnel
        funnel, traffic, strategy, economics = base.funnel, base.traffic, base.strategy, base.economics
    elif not isinstance(funnel, Funnel):
        raise TypeError(f"forecast: funnel must be a funnelkit Funnel or Base, got {type(funnel).__name__}")
    if traffic is None:
        raise TypeError("forecast: traffic is required with a funnel (a TrafficPlan or visitors per day)")
    if freq not in _FREQUENCIES:
        raise ValueError(f"freq must be one of {', '.join(_FREQUENCIES)}, got {freq!r}")
    if not (0.0 <= q[0] < q[1] <= 1.0):
        raise ValueError(f"q must be two quantiles low < high in [0, 1], got {q!r}")
    plan = traffic if isinstance(traffic, TrafficPlan) else TrafficPlan(float(traffic))
    economics = Economics() if economics is None else economics
    origin = _start(start)
    window = run_window(horizon, funnel.time_unit, plan, origin, warm_up)
    warm, run_plan, run_start = window.warm, window.plan, window.start
    run_horizon: Duration = horizon if warm == 0 else window.span  # as given: its errors name it
    path = expected_path(funnel, run_plan, strategy=strategy, horizon=run_horizon, start=run_start,
                         substeps=substeps)
    days = len(path) - warm
    per_channel = np.asarray(run_plan._expected(run_start, warm + days), dtype=np.float64)[warm:]
    path = path.iloc[warm:]
    daily = pd.DataFrame(index=path.index)
    daily["arrivals"] = path["arrivals"]
    daily["purchases"] = path["purchases"]
    daily["revenue"] = path["revenue"]
    daily["margin"] = economics.margin * path["revenue"]
    daily["traffic_cost"] = per_channel @ np.asarray(plan.cost_per_visitor, dtype=np.float64)
    daily["messages"] = path["messages"]
    daily["message_cost"] = path["message_cost"]
    daily["profit"] = daily["margin"] - daily["traffic_cost"] - daily["message_cost"]
    rule = _FREQUENCIES[freq]
    expected = daily.resample(rule).sum() if freq != "D" else daily
    expected.attrs["not_in_path"] = list(path.attrs.get("not_in_path", []))

    simulation = None
    simulated = pd.DataFrame(index=expected.index)
    if replicates > 0:
        simulation = simulate(funnel, run_plan, strategy, horizon=run_horizon, replicates=replicates, seed=seed,
                              start=run_start, economics=economics, progress=progress)
        for metric in FLOWS:
            per_replicate = simulation.per_replicate(metric).iloc[warm:]  # days x replicates
            if freq != "D":
                per_replicate = per_replicate.resample(rule).sum()
            values = per_replicate.to_numpy(dtype=np.float64)
            simulated[f"{metric}_mean"] = values.mean(axis=1)
            simulated[f"{metric}_low"] = np.quantile(values, q[0], axis=1)
            simulated[f"{metric}_high"] = np.quantile(values, q[1], axis=1)
    if not math.isfinite(float(expected["revenue"].sum())):
        raise ValueError("the expected path is not finite")  # a guard; the engine checks its inputs
    return Forecast(expected=expected, simulated=simulated, simulation=simulation, freq=freq, q=q, funnel=funnel,
                    start=origin, warm_up_days=warm)


@dataclass(frozen=True)
class RunWindow:
    """A forecast from ``origin`` run from ``warm`` days earlier (a shop already running): the
    traffic plan started then, the run's first day and its horizon in the funnel's unit."""

    warm: int
    plan: TrafficPlan
    start: pd.Timestamp
    span: float


def run_window(horizon: Duration, unit: str, plan: TrafficPlan, origin: pd.Timestamp,
               warm_up: Duration | None) -> RunWindow:
    """Where forecasts, scenario totals and simulated totals run for ``warm_up``; the days
    before ``origin`` are cut from their results."""
    warm = _warm_up_days(warm_up, unit, plan)
    return RunWindow(warm, _earlier(plan, warm), origin - pd.Timedelta(days=warm),
                     to_units(horizon, unit, "horizon") + warm * day_length(unit))


def _warm_up_days(warm_up: Duration | None, unit: str, plan: TrafficPlan) -> int:
    """``warm_up`` as a whole number of days (0 for None)."""
    if warm_up is None:
        return 0
    days = to_units(warm_up, unit, "warm_up") / day_length(unit)
    whole = round(days)
    if not math.isfinite(days) or abs(days - whole) > 1e-9:
        raise ValueError(f"warm_up must be a whole number of days (e.g. '60D'), got {warm_up!r}")
    if whole and plan.exact_counts:
        raise ValueError("warm_up needs a traffic plan of daily visitors, not a cohort (which arrives on the "
                         "first day only)")
    return int(whole)


def _earlier(plan: TrafficPlan, days: int) -> TrafficPlan:
    """``plan`` started ``days`` earlier: the same traffic on every calendar day from the
    original start on (growth is counted from day 0, so the base level is scaled down)."""
    if days == 0 or plan.growth == 0.0:
        return plan
    factor = (1.0 + plan.growth) ** (-days / 30.0)
    if plan.visitors_per_day is not None:
        return dataclasses.replace(plan, visitors_per_day=plan.visitors_per_day * factor)
    channels = [dataclasses.replace(c, visitors_per_day=c.visitors_per_day * factor)
                for c in plan.channels or ()]
    return dataclasses.replace(plan, channels=channels)
