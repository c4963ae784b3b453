"""The expected-value path: expected entries, occupancy and revenue per day, exactly from the
funnel's probabilities and delay laws, without simulation (C++: ``forecast::expected_path``).

>>> import funnelkit as fk
>>> from funnelkit.forecast.path import expected_path
>>> daily = expected_path(fk.examples.shop_funnel(), 1_000, horizon="30D")
>>> list(daily.columns[:3]), len(daily)
(['arrivals', 'entered_visit', 'entered_lead'], 30)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.simulation._durations import Duration, day_length, to_units
from funnelkit.simulation.run import DEFAULT_START
from funnelkit.simulation.traffic import TrafficPlan

if TYPE_CHECKING:
    from funnelkit.funnel import Funnel

__all__ = ["expected_path"]


def expected_path(funnel: Funnel, traffic: TrafficPlan | float, *, horizon: Duration = "90D", start: object = None,
                  substeps: int = 24) -> pd.DataFrame:
    """Expected arrivals, stage entries (``entered_<stage>``), leads in each stage at the day's
    end (``in_<stage>``), purchases and revenue (stage values, undiscounted) per day.

    Arrivals are the traffic plan's expected visitors per day, spread evenly over the day; the
    funnel's delays are followed exactly on a grid of ``substeps`` per day (a move's time is
    rounded to the grid: at most half a step per move). The mean of :func:`funnelkit.simulate`
    with no strategy converges to this path (tested).
    """
    plan = traffic if isinstance(traffic, TrafficPlan) else TrafficPlan(float(traffic))
    unit = funnel.time_unit
    day = day_length(unit)
    span = to_units(horizon, unit, "horizon")
    if not (span > 0 and math.isfinite(span)):
        raise ValueError(f"horizon must be positive and finite, got {horizon!r}")
    if int(substeps) < 1:
        raise ValueError(f"substeps must be at least 1, got {substeps!r}")
    days = math.ceil(span / day - 1e-9)
    origin = DEFAULT_START if start is None else pd.Timestamp(start).normalize()
    arrivals = np.asarray(plan._expected(origin, days), dtype=np.float64).sum(axis=1)
    chain = funnel._compiled()
    raw = _core.expected_path(chain, arrivals, day, int(substeps))
    names = list(chain.names)
    frame = pd.DataFrame({"arrivals": arrivals}, index=pd.date_range(origin, periods=days, freq="D", name="date"))
    entries = np.asarray(raw["entries"])
    occupancy = np.asarray(raw["occupancy"])
    for s, name in enumerate(names):
        frame[f"entered_{name}"] = entries[:, s]
    for s, name in enumerate(names):
        frame[f"in_{name}"] = occupancy[:, s]
    values = np.asarray(chain.values, dtype=np.float64)
    frame["purchases"] = entries[:, values > 0].sum(axis=1)
    frame["revenue"] = np.asarray(raw["value"])
    return frame
