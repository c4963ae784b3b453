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
from funnelkit.simulation._durations import Duration, day_length, to_units
from funnelkit.simulation.run import DEFAULT_START
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import TrafficPlan

if TYPE_CHECKING:
    from funnelkit.funnel import Funnel

__all__ = ["expected_path"]


def expected_path(funnel: Funnel, traffic: TrafficPlan | float, *, strategy: Strategy | None = None,
                  horizon: Duration = "90D", start: object = None, substeps: int = 24) -> pd.DataFrame:
    """Expected arrivals, stage entries (``entered_<stage>``), leads in each stage at the day's
    end (``in_<stage>``), purchases and revenue (stage values, undiscounted) per day.

    Arrivals are the traffic plan's expected visitors per day, spread evenly over the day; the
    funnel's delays are followed exactly on a grid of ``substeps`` per day (a move's time is
    rounded to the grid: at most half a step per move). The mean of :func:`funnelkit.simulate`
    converges to this path (tested).

    Of a ``strategy``, the path follows the idle triggers' move effects exactly (a step takes
    each lead still idle, dropped-out leads included, with delivery x open x the move's chance
    x the treated share). Everything else (other conditions and effects, ``while_present``,
    quiet hours, caps, campaigns, excluded stages, ``max_starts``) is left out of the path and
    named in ``frame.attrs["not_in_path"]``, with a warning: use :func:`funnelkit.simulate`.
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
    idle_moves: list[tuple[int, float, int, float]] = []
    left_out: list[str] = []
    if strategy is not None:
        idle_moves, left_out = _idle_moves(strategy, chain, unit, origin, span)
        if left_out:
            warnings.warn(f"the expected path leaves out {', '.join(left_out)} (simulate them instead)", stacklevel=2)
    raw = _core.expected_path(chain, arrivals, day, int(substeps), idle_moves)
    names = list(chain.names)
    entries = np.asarray(raw["entries"])
    occupancy = np.asarray(raw["occupancy"])
    values = np.asarray(chain.values, dtype=np.float64)
    columns: dict[str, np.ndarray] = {"arrivals": arrivals}  # built at once: no fragmented frame
    columns.update({f"entered_{name}": entries[:, s] for s, name in enumerate(names)})
    columns.update({f"in_{name}": occupancy[:, s] for s, name in enumerate(names)})
    columns["purchases"] = entries[:, values > 0].sum(axis=1)
    columns["revenue"] = np.asarray(raw["value"])
    frame = pd.DataFrame(columns, index=pd.date_range(origin, periods=days, freq="D", name="date"))
    frame.attrs["not_in_path"] = left_out
    return frame


def _idle_moves(strategy: Strategy, chain: _core.Chain, unit: str, origin: pd.Timestamp,
                span: float) -> tuple[list[tuple[int, float, int, float]], list[str]]:
    """The strategy's idle move steps as (state, delay, target, probability), and what the path
    cannot follow."""
    engine = strategy._to_engine(chain, unit, origin, None, None, span)
    kinds = list(chain.kinds)
    moves: list[tuple[int, float, int, float]] = []
    left_out = [f"campaign {c.name!r}" for c in engine.campaigns]
    if engine.quiet_start != engine.quiet_end:
        left_out.append("quiet hours")
    if engine.cap_messages < 2**63 - 1:
        left_out.append("the frequency cap")
    if engine.excluded_states:
        left_out.append("excluded stages")
    for trigger in engine.triggers:
        idle = trigger.condition == _core.ConditionKind.Idle and not trigger.while_present
        effects = [step.effect for step in trigger.steps if step.effect is not None]
        if not idle or trigger.max_starts < 2**63 - 1 or any(not isinstance(e, _core.MoveTo) for e in effects):
            left_out.append(f"trigger {trigger.name!r}")
            continue
        states = list(trigger.states) or [s for s, kind in enumerate(kinds) if kind != "failure"]
        for step in trigger.steps:
            if isinstance(step.effect, _core.MoveTo):
                chance = (1.0 - trigger.control_share) * step.delivery * step.open * step.effect.probability
                moves.extend((state, step.delay, step.effect.target, chance) for state in states)
    return moves, left_out
