"""Totals over a horizon of the exact expected-value path of a :class:`~funnelkit.forecasting.base.Base`,
with the economics :func:`~funnelkit.forecasting.forecast.forecast` applies: what sensitivity and
goal seek differentiate and solve.

>>> import funnelkit as fk
>>> from funnelkit.forecasting.base import Base
>>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("paid", kind="success", value=50.0)
...           .add_edge("visit", "paid", 0.02))
>>> totals = path_totals(Base(funnel, fk.TrafficPlan(1_000)), horizon="10D")
>>> round(totals["revenue"], 6), round(totals["profit"], 6)    # 10 x 1000 x 0.02 x 50, x 0.3
(10000.0, 3000.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from funnelkit.errors import ForecastError
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.forecast import FLOWS, forecast, run_window
from funnelkit.simulation.run import simulate

__all__ = ["METRICS", "check_metric", "path_totals", "simulated_totals"]

#: The metrics that can be asked for: the forecast's flows, summed over the horizon.
METRICS: tuple[str, ...] = FLOWS


def check_metric(metric: object, where: str) -> str:
    """``metric`` if it is one of :data:`METRICS`, else a :class:`~funnelkit.ForecastError`."""
    if not isinstance(metric, str) or metric not in METRICS:
        raise ForecastError(f"{where}: unknown metric {metric!r} (metrics: {', '.join(METRICS)})", subject=where)
    return metric


def path_totals(base: Base, *, horizon: Any = "90D", start: object = None, substeps: int = 24,
                warm_up: Any = None, quiet: bool = False) -> dict[str, float]:
    """Sums over ``horizon`` of the forecast's expected flows (:data:`METRICS`) for ``base``.

    ``revenue`` is the path's stage values of purchases, ``margin`` = margin rate x revenue,
    ``traffic_cost`` = expected arrivals x cost per visitor summed over channels,
    ``message_cost`` = expected messages x their cost, ``profit`` = margin - traffic cost -
    message cost (the path has no discounts); ``warm_up`` as in
    :func:`~funnelkit.forecasting.forecast.forecast`. ``quiet`` silences the warning that the
    path leaves part of the strategy out (given once for the base, not for every perturbed
    copy).
    """
    return totals_and_gaps(base, horizon=horizon, start=start, substeps=substeps, warm_up=warm_up, quiet=quiet)[0]


def totals_and_gaps(base: Base, *, horizon: Any, start: object, substeps: int, quiet: bool,
                    warm_up: Any = None) -> tuple[dict[str, float], list[str]]:
    """:func:`path_totals` and what of the strategy the path leaves out."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        result = forecast(base.funnel, base.traffic, base.strategy, horizon=horizon, start=start,
                          economics=base.economics, replicates=0, substeps=substeps, warm_up=warm_up, progress=False)
    sums = result.expected[list(METRICS)].sum(axis=0)
    return {metric: float(sums[metric]) for metric in METRICS}, list(result.expected.attrs.get("not_in_path", []))


def simulated_totals(base: Base, *, horizon: Any, origin: pd.Timestamp, warm_up: Any, replicates: int, seed: int,
                     metrics: Sequence[str], progress: bool = False) -> pd.DataFrame:
    """Per replicate, ``metrics`` summed from ``origin`` over ``horizon`` in
    :func:`funnelkit.simulate` of ``base`` (with a ``warm_up``: run from that long before
    ``origin``, traffic as :func:`~funnelkit.forecasting.forecast.forecast` plans it, and the
    warm-up days cut). ``conversion`` = buyers / arrivals of those days."""
    window = run_window(horizon, base.funnel.time_unit, base.traffic, origin, warm_up)
    warm = window.warm
    simulation = simulate(base.funnel, window.plan, base.strategy, horizon=window.span, replicates=int(replicates),
                          seed=seed, start=window.start, economics=base.economics, progress=progress)
    if warm == 0:
        return simulation.replicate_totals[list(metrics)]
    sums = {m: simulation.per_replicate(m).iloc[warm:].sum(axis=0).to_numpy(dtype=np.float64)
            for m in {*metrics, "buyers", "arrivals"} - {"conversion"}}
    with np.errstate(divide="ignore", invalid="ignore"):
        sums["conversion"] = np.where(sums["arrivals"] > 0, sums["buyers"] / sums["arrivals"], np.nan)
    return pd.DataFrame({m: sums[m] for m in metrics}, index=pd.RangeIndex(int(replicates), name="replicate"))
