"""The expected-value path: expected entries, occupancy and revenue per day, exactly from the
funnel's probabilities and delay laws, without simulation (C++: ``forecast::expected_path``).

>>> import funnelkit as fk
>>> from funnelkit.forecasting.path import expected_path
>>> daily = expected_path(fk.examples.shop_funnel(), 1_000, horizon="30D")
>>> list(daily.columns[:3]), len(daily)
(['arrivals', 'entered_visit', 'entered_lead'], 30)
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.forecasting._path_strategy import PathPlan, path_plan
from funnelkit.simulation._durations import Duration, day_length, to_units
from funnelkit.simulation.run import _start
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import TrafficPlan

if TYPE_CHECKING:
    from funnelkit.funnel import Funnel

__all__ = ["expected_path"]


def expected_path(funnel: Funnel, traffic: TrafficPlan | float, *, strategy: Strategy | None = None,
                  horizon: Duration = "90D", start: object = None, substeps: int = 24) -> pd.DataFrame:
    """Expected arrivals, stage entries (``entered_<stage>``), leads in each stage at the day's
    end (``in_<stage>``), purchases, revenue (stage values, undiscounted), messages sent and
    their cost per day.

    Arrivals are the traffic plan's expected visitors per day, spread evenly over the day (a
    :meth:`~funnelkit.TrafficPlan.cohort` arrives at the start of its day, as simulated); the
    funnel's delays are followed exactly on a grid of ``substeps`` per day (a move's time is
    rounded to the grid: at most half a step per move). The mean of :func:`funnelkit.simulate`
    converges to this path (tested).

    Of a ``strategy``, the path follows exactly, with each trigger's control group:

    * idle triggers' :class:`~funnelkit.MoveTo` steps (each lead still idle, dropped-out leads
      included, moves with delivery x open x the move's chance) and
      :class:`~funnelkit.OddsMultiplier` steps (the odds of the pending move, given the time
      already spent, tilted for the rest of the stay, as the simulation does);
    * purchase triggers, when every purchase stage is an end stage, as steps on it: exact for
      buyers still there. A buyer an earlier message took back to the shop and who has not
      bought again still gets the later messages in the simulation, not in the path (with
      :func:`funnelkit.strategies.must_have` a second-order effect, below the simulation's
      noise in the tests). A purchase trigger with a move before its last step is left out;
    * campaigns with a :class:`~funnelkit.MoveTo` message to stages (or everyone): at each send
      the leads present move, and their pending moves are cancelled. Left out when a lead of
      the audience may wait for a message the path cannot cancel (a purchase trigger's, or an
      idle move reaching leads who dropped out), or a recurring campaign has a control group.

    Everything else (enter and custom conditions, ``while_present``, Python effects, odds
    campaigns, campaigns to leads or score bands, quiet hours, caps, an excluded drop stage,
    ``max_starts``) is left out of the path and named in ``frame.attrs["not_in_path"]``, with
    a warning: use :func:`funnelkit.simulate`.
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
    origin = _start(start)
    arrivals = np.asarray(plan._expected(origin, days), dtype=np.float64).sum(axis=1)
    chain = funnel._compiled()
    followed = PathPlan() if strategy is None else path_plan(strategy, chain, unit, origin, span)
    followed.at_start = plan.exact_counts  # a cohort arrives at the start of its day, as simulated
    left_out = followed.left_out
    if left_out:
        warnings.warn(f"the expected path leaves out {', '.join(left_out)} (simulate them instead)", stacklevel=2)
    raw = _core.expected_path(chain, arrivals, day, int(substeps), followed.steps, followed.treated, followed.sends,
                              followed.at_start)
    names = list(chain.names)
    entries = np.asarray(raw["entries"])
    occupancy = np.asarray(raw["occupancy"])
    values = np.asarray(chain.values, dtype=np.float64)
    columns: dict[str, np.ndarray] = {"arrivals": arrivals}  # built at once: no fragmented frame
    columns.update({f"entered_{name}": entries[:, s] for s, name in enumerate(names)})
    columns.update({f"in_{name}": occupancy[:, s] for s, name in enumerate(names)})
    columns["purchases"] = entries[:, values > 0].sum(axis=1)
    columns["revenue"] = np.asarray(raw["value"])
    messages = np.asarray(raw["messages"], dtype=np.float64).reshape(days, -1)
    columns["messages"] = messages.sum(axis=1)
    columns["message_cost"] = messages @ np.asarray(followed.costs, dtype=np.float64)
    frame = pd.DataFrame(columns, index=pd.date_range(origin, periods=days, freq="D", name="date"))
    frame.attrs["not_in_path"] = left_out
    return frame
