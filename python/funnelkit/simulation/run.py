"""Simulating a shop: traffic arrives, leads move through a funnel in continuous time, a trigger
strategy sends its messages; many replicates, one tidy result.

>>> import funnelkit as fk
>>> sim = fk.simulate(fk.examples.shop_funnel(), 2_000, fk.strategies.must_have(), horizon="30D",
...                   replicates=4, seed=1, progress=False)
>>> sim.days, sim.replicates, sim.counts["leads"] > 0
(30, 4, True)
>>> float(sim.totals.loc["buyers", "mean"]) > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit._progress import with_progress
from funnelkit.errors import FeatureValueError, UnknownStageError
from funnelkit.simulation._durations import Duration, day_length, ns_per_unit, to_units
from funnelkit.simulation.economics import Economics
from funnelkit.simulation.results import LEAD_ID_STRIDE, Simulation, StrategyComparison, _Run
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import TrafficPlan

if TYPE_CHECKING:
    from funnelkit.fit import FunnelFit
    from funnelkit.funnel import Funnel

__all__ = ["DEFAULT_START", "compare_strategies", "simulate"]

#: Where the simulated clock starts when no ``start`` is given: a Monday, so weekly traffic
#: patterns line up with the plan's Mon..Sun factors.
DEFAULT_START = pd.Timestamp("2026-01-05")
#: Per lead and replicate: journeys longer than this are cut (a guard against endless loops).
MAX_TRANSITIONS = 100_000


def simulate(
    funnel: Funnel | FunnelFit,
    traffic: TrafficPlan | int | float,
    strategy: Strategy | None = None,
    *,
    horizon: Duration = "90D",
    replicates: int = 20,
    seed: int = 0,
    start: object = None,
    population: pd.DataFrame | None = None,
    economics: Economics | None = None,
    keep_leads: bool = False,
    keep_events: bool = False,
    threads: int | None = None,
    progress: bool = True,
) -> Simulation:
    """Simulate the shop ``replicates`` times over ``horizon``.

    Parameters
    ----------
    funnel:
        An :class:`~funnelkit.Funnel` (written by hand or fitted), or a
        :class:`~funnelkit.FunnelFit` (its ``.funnel``). Its time unit is the simulation's.
    traffic:
        A :class:`~funnelkit.TrafficPlan`, or a number of visitors per day (one channel, no
        seasonality). Each replicate draws Poisson arrivals per day and channel around the
        plan (:meth:`TrafficPlan.cohort` gives exact counts at the start instead).
    strategy:
        The trigger strategy (:class:`~funnelkit.Strategy`); None: no messages at all.
    horizon:
        How long to simulate: ``"90D"``, ``"1W"``, a timedelta, or a number in the funnel's
        time unit. Nothing at or after it happens. The daily series have one row per day
        started within the horizon.
    replicates, seed:
        Independent runs of the shop, and the seed they are drawn from. The same seed gives
        the same result on any number of threads; two strategies run with one seed share their
        traffic and every lead's journey until a message changes it (common random numbers).
    start:
        The calendar day of t = 0 (anything :class:`pandas.Timestamp` reads; its midnight is
        used). Default :data:`DEFAULT_START`, 2026-01-05, a Monday.
    population:
        Leads already in the funnel at t = 0, one row each (e.g. today's scored leads; the
        index is their id): ``stage`` (a stage name), ``time_in_stage`` (in the funnel's unit)
        or ``time_in_stage_days`` (how long they have been there; NaN allowed in absorbing
        stages), optionally ``layer`` (for campaign audiences). They are leads 0..P-1 of every
        replicate, before the arrivals.
    economics:
        Margin and order-value spread (:class:`~funnelkit.simulation.economics.Economics`;
        default: 30% margin, every order worth its stage's value).
    keep_leads, keep_events:
        Keep one row per simulated lead (:attr:`Simulation.leads`), or the stage event log
        and message log (:attr:`Simulation.events`, :attr:`Simulation.messages`). Without
        them memory does not grow with the number of leads.
    threads:
        Threads to use (default: all cores). Results do not depend on it.
    progress:
        Show a progress bar for long runs. Ctrl-C stops the run (``KeyboardInterrupt``); no
        partial result is returned.

    Returns
    -------
    Simulation
        Daily series and bands, totals, per-trigger effects (:class:`Simulation`).
    """
    base = _as_funnel(funnel)
    replicates = _positive_int(replicates, "replicates")
    seed = _seed(seed)
    threads = 0 if threads is None else _positive_int(threads, "threads")
    economics = Economics() if economics is None else economics
    if not isinstance(economics, Economics):
        raise TypeError(f"economics must be a funnelkit Economics, got {type(economics).__name__}")
    plan = _as_traffic(traffic)
    strategy = Strategy.none() if strategy is None else strategy
    if not isinstance(strategy, Strategy):
        raise TypeError(f"strategy must be a funnelkit Strategy or None, got {type(strategy).__name__}")

    unit = base.time_unit
    day = day_length(unit)
    span = to_units(horizon, unit, "horizon")
    if not (span > 0 and math.isfinite(span)):
        raise ValueError(f"horizon must be positive and finite, got {horizon!r}")
    days = math.ceil(span / day - 1e-9)
    origin = _start(start)

    chain = base._compiled()
    names = list(chain.names)
    states, times, ids, layers = _population(population, names, list(chain.kinds), day)
    engine_strategy = strategy._to_engine(chain, unit, origin, ids, layers, span)
    score = _score_engine(chain) if _needs_score(engine_strategy) else None
    expected = np.ascontiguousarray(plan._expected(origin, days), dtype=np.float64)

    def run(report: Any) -> dict[str, Any]:
        raw: dict[str, Any] = _core.simulate_shop(
            chain=chain, strategy=engine_strategy, expected_traffic=expected, day_length=day,
            exact_counts=bool(plan.exact_counts), population_states=states, population_times=times, horizon=span,
            bin_width=day, seed=seed, replicates=replicates, max_transitions=MAX_TRANSITIONS,
            order_value=economics.order_value(), keep_leads=bool(keep_leads), keep_events=bool(keep_events),
            score=score, threads=threads, progress=report)
        return raw

    raw = with_progress(run, enabled=progress, desc="simulating", unit="block")
    senders = [t.name for t in engine_strategy.triggers] + [c.name for c in engine_strategy.campaigns]
    info = _Run(
        start=origin, time_unit=unit, ns_per_unit=ns_per_unit(unit), day_length=day, horizon=span,
        stage_names=tuple(names), drop_state=chain.drop_state, channel_names=tuple(plan.channel_names),
        cost_per_visitor=np.asarray(plan.cost_per_visitor, dtype=np.float64),
        sender_names=tuple(raw.get("sender_names") or senders), trigger_count=len(engine_strategy.triggers), economics=economics,
        seed=seed, strategy_name=strategy.name, population_ids=ids)
    return Simulation(raw, info)


def compare_strategies(
    funnel: Funnel | FunnelFit,
    traffic: TrafficPlan | int | float,
    strategies: Mapping[str, Strategy | None],
    baseline: str | None = None,
    **options: Any,
) -> StrategyComparison:
    """Simulate each strategy with the same seed and replicates (common random numbers) and
    compare them with ``baseline`` (default: the first).

    Each replicate of every strategy sees the same arrivals, and each lead the same journey
    until a message changes it, so the per-replicate differences measure the strategies'
    effect with little noise: :class:`StrategyComparison` reports their mean and a t-based 95%
    interval. ``options`` are :func:`simulate`'s (``horizon``, ``replicates``, ``seed``, ...).

    >>> import funnelkit as fk
    >>> comparison = fk.compare_strategies(
    ...     fk.examples.shop_funnel(), 1_000, {"none": None, "must-have": fk.strategies.must_have()},
    ...     horizon="30D", replicates=4, progress=False)
    >>> list(comparison.table.index)
    ['none', 'must-have']
    """
    if not isinstance(strategies, Mapping) or not strategies:
        raise ValueError("strategies must be a non-empty mapping {name: Strategy or None}")
    names = [str(name) for name in strategies]
    if len(set(names)) != len(names):
        raise ValueError(f"strategy names must be distinct, got {names}")
    baseline = names[0] if baseline is None else baseline
    if baseline not in names:
        raise KeyError(f"the baseline {baseline!r} is not one of the strategies {names}")
    for key in ("keep_leads", "keep_events"):
        options.setdefault(key, False)
    simulations = {str(name): simulate(funnel, traffic, strategy, **options) for name, strategy in strategies.items()}
    return StrategyComparison(simulations, baseline)


# -- arguments ------------------------------------------------------------------------------------
def _as_funnel(funnel: object) -> Funnel:
    from funnelkit.fit import FunnelFit
    from funnelkit.funnel import Funnel

    if isinstance(funnel, FunnelFit):
        return funnel.funnel
    if isinstance(funnel, Funnel):
        return funnel
    raise TypeError(f"funnel must be a funnelkit Funnel or FunnelFit, got {type(funnel).__name__}")


def _as_traffic(traffic: object) -> TrafficPlan:
    if isinstance(traffic, TrafficPlan):
        return traffic
    if not isinstance(traffic, bool) and isinstance(traffic, (int, float, np.integer, np.floating)):
        return TrafficPlan(visitors_per_day=float(traffic))
    raise TypeError(f"traffic must be a funnelkit TrafficPlan or a number of visitors per day, got "
                    f"{type(traffic).__name__}")


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}")
    return int(value)


def _start(start: object) -> pd.Timestamp:
    if start is None:
        return DEFAULT_START
    try:
        stamp = pd.Timestamp(start)
    except (TypeError, ValueError) as error:
        raise ValueError(f"start: not a date: {start!r}") from error
    if stamp is pd.NaT:
        raise ValueError("start: not a date: NaT")
    if stamp.tzinfo is not None:  # the event log's convention: naive UTC
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def _population(
    population: pd.DataFrame | None, names: list[str], kinds: list[str], day: float
) -> tuple[np.ndarray, np.ndarray, pd.Index | None, pd.Series | None]:
    """Population rows -> (chain state per lead, time in it in funnel units, ids, layers)."""
    if population is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), None, None
    if not isinstance(population, pd.DataFrame):
        raise TypeError(f"population must be a DataFrame, got {type(population).__name__}")
    if "stage" not in population:
        raise ValueError("population needs a 'stage' column (stage names)")
    if "time_in_stage" in population:
        times = population["time_in_stage"].to_numpy(dtype=np.float64, na_value=np.nan)
    elif "time_in_stage_days" in population:
        times = population["time_in_stage_days"].to_numpy(dtype=np.float64, na_value=np.nan) * day
    else:
        raise ValueError("population needs a 'time_in_stage' (in the funnel's time unit) or 'time_in_stage_days' "
                         "column")
    if not population.index.is_unique:
        raise ValueError("population: lead ids (the index) must be unique")
    if len(population) >= LEAD_ID_STRIDE:
        raise ValueError(f"population: at most {LEAD_ID_STRIDE - 1} leads")
    code = {name: i for i, name in enumerate(names)}
    stage = population["stage"].astype(object).to_numpy()
    unknown = sorted({str(s) for s in stage if s not in code})
    if unknown:
        raise UnknownStageError(f"population: stages the funnel does not have: {unknown}; its stages are {names}",
                                subject=unknown[0])
    states = np.array([code[s] for s in stage], dtype=np.int64)
    absorbing = np.array([kind != "transient" for kind in kinds], dtype=bool)[states] if len(states) else \
        np.zeros(0, dtype=bool)
    bad = ~np.isfinite(times) & ~absorbing | (times < 0)
    if bad.any():
        first = population.index[int(np.flatnonzero(bad)[0])]
        raise FeatureValueError(f"population: lead {first!r}: the time in stage must be a finite number >= 0 "
                                f"(NaN only in absorbing stages)", subject="time_in_stage")
    times = np.where(np.isfinite(times), times, 0.0)
    layers = population["layer"] if "layer" in population else None
    return states, np.ascontiguousarray(times), population.index, layers


def _needs_score(strategy: Any) -> bool:
    """Whether a campaign's audience is a score band (the engine then needs the funnel score)."""
    return any(math.isfinite(c.score_low) or math.isfinite(c.score_high) for c in strategy.campaigns)


def _score_engine(chain: _core.Chain) -> _core.FunnelScore:
    analysis = _core.Analysis(chain, 0, 1e-13, 1000, "auto")
    return _core.FunnelScore(chain, analysis, {}, 0)
