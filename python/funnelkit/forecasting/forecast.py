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

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.forecasting.path import expected_path
from funnelkit.simulation.economics import Economics
from funnelkit.simulation.run import DEFAULT_START, simulate
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import TrafficPlan

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from funnelkit.funnel import Funnel
    from funnelkit.simulation.results import Simulation

__all__ = ["FLOWS", "Forecast", "forecast"]

#: What a forecast reports per period (sums over the period's days).
FLOWS = ("arrivals", "purchases", "revenue", "margin", "traffic_cost", "profit")
_FREQUENCIES = {"D": "D", "W": "W-SUN", "M": "MS"}


@dataclass(frozen=True, eq=False)
class Forecast:
    """The expected path and the simulated bands, per period.

    ``expected`` is the exact expected-value path of the funnel with the part of the strategy
    :func:`~funnelkit.expected_path` follows (what it leaves out is in
    ``expected.attrs["not_in_path"]``); ``simulated`` holds the mean and the ``q`` quantile
    band of :func:`funnelkit.simulate` with the whole strategy. Where the path follows the
    whole strategy the two agree on the mean (tested, e.g. with
    :func:`funnelkit.strategies.must_have`). The path's profit leaves out message costs and
    discounts (the simulation's includes them). ``table`` puts both side by side:
    ``<metric>_expected``, ``<metric>_mean``, ``<metric>_low``, ``<metric>_high``.
    """

    expected: pd.DataFrame
    simulated: pd.DataFrame
    simulation: Simulation | None
    freq: str
    q: tuple[float, float]

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


def forecast(funnel: Funnel, traffic: TrafficPlan | float, strategy: Strategy | None = None, *,
             horizon: Any = "90D", start: object = None, economics: Economics | None = None, freq: str = "D",
             replicates: int = 20, seed: int = 0, q: tuple[float, float] = (0.05, 0.95), substeps: int = 24,
             progress: bool = True) -> Forecast:
    """Forecast ``horizon`` per day (``freq="D"``), week (``"W"``, weeks ending on Sunday) or
    month (``"M"``): the expected-value path and, with ``replicates`` > 0, the simulation's
    mean and quantile band (same traffic, strategy and economics).

    Economics follow :class:`~funnelkit.Economics`: margin = margin rate x revenue, traffic
    cost = arrivals x cost per visitor per channel, profit = margin - traffic cost; the
    simulation's margin also subtracts the discounts given and its profit the messages' cost,
    which the path leaves out.
    """
    if freq not in _FREQUENCIES:
        raise ValueError(f"freq must be one of {', '.join(_FREQUENCIES)}, got {freq!r}")
    if not (0.0 <= q[0] < q[1] <= 1.0):
        raise ValueError(f"q must be two quantiles low < high in [0, 1], got {q!r}")
    plan = traffic if isinstance(traffic, TrafficPlan) else TrafficPlan(float(traffic))
    economics = Economics() if economics is None else economics
    origin = DEFAULT_START if start is None else pd.Timestamp(start).normalize()
    path = expected_path(funnel, plan, strategy=strategy, horizon=horizon, start=origin, substeps=substeps)
    days = len(path)
    per_channel = np.asarray(plan._expected(origin, days), dtype=np.float64)
    daily = pd.DataFrame(index=path.index)
    daily["arrivals"] = path["arrivals"]
    daily["purchases"] = path["purchases"]
    daily["revenue"] = path["revenue"]
    daily["margin"] = economics.margin * path["revenue"]
    daily["traffic_cost"] = per_channel @ np.asarray(plan.cost_per_visitor, dtype=np.float64)
    daily["profit"] = daily["margin"] - daily["traffic_cost"]
    rule = _FREQUENCIES[freq]
    expected = daily.resample(rule).sum() if freq != "D" else daily
    expected.attrs["not_in_path"] = list(path.attrs.get("not_in_path", []))

    simulation = None
    simulated = pd.DataFrame(index=expected.index)
    if replicates > 0:
        simulation = simulate(funnel, plan, strategy, horizon=horizon, replicates=replicates, seed=seed, start=origin,
                              economics=economics, progress=progress)
        for metric in FLOWS:
            per_replicate = simulation.per_replicate(metric)  # days x replicates
            if freq != "D":
                per_replicate = per_replicate.resample(rule).sum()
            values = per_replicate.to_numpy(dtype=np.float64)
            simulated[f"{metric}_mean"] = values.mean(axis=1)
            simulated[f"{metric}_low"] = np.quantile(values, q[0], axis=1)
            simulated[f"{metric}_high"] = np.quantile(values, q[1], axis=1)
    if not math.isfinite(float(expected["revenue"].sum())):
        raise ValueError("the expected path is not finite")  # a guard; the engine checks its inputs
    return Forecast(expected=expected, simulated=simulated, simulation=simulation, freq=freq, q=q)
