"""The shop simulation the way a data scientist writes it in NumPy: the contenders of
``bench_simulate.py``, importable by tests (tests/python/test_numpy_shop_reference.py checks
them against funnelkit's exact analysis).

Both simulate leads arriving at given times and walking a compiled funnel (each stay lasts the
stage's holding time, then the next stage is drawn from the stage's row; no per-edge delays)
until the horizon, with an optional abandoned-cart trigger: a lead idle in the cart for
``delay`` gets a message, opened with probability ``open``; an opened message multiplies the
odds of the lead's next move going to ``toward`` by ``multiplier`` for the rest of that stay
(P' = mP / (1 - P + mP), the engine's OddsMultiplier). As in the engine's idle condition,
dropping out (the move to the funnel's drop state) is not an action: a lead who dropped out of
the cart within ``delay`` still gets the message at entry + ``delay`` (opened or not, it has no
effect on a lead who left).

- :func:`simulate_time_step`: 20-minute steps (``step``), vectorised over the leads in the
  funnel at each step. A lead leaves its stage during a step with the holding law's hazard
  over that step (1 - exp(-step/mean) for exponential holdings), moves at the step's end;
  arrivals join at the next step boundary; the message goes out at the first boundary at which
  the lead has been in the cart ``delay`` (= one step). The jump chain is exact, times are
  rounded up to steps.
- :func:`simulate_per_transition`: exact, one array step per transition: every active lead
  draws its holding time and next stage at once. When the drawn time in the cart exceeds
  ``delay``, the message goes out at entry + ``delay`` and, when opened, the next stage is
  redrawn from the boosted row and the remaining time from the holding law given the time
  already spent (for exponential holdings: a fresh exponential, memoryless).

Transitions counted: moves out of a transient stage (to any stage, the drop stage included)
strictly before the horizon; arrivals are not transitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

import funnelkit as fk

__all__ = [
    "CartTrigger",
    "Outcome",
    "ShopArrays",
    "boosted_funnel",
    "exponential_variant",
    "shop_arrays",
    "simulate_per_transition",
    "simulate_time_step",
    "uniform_arrivals",
]


@dataclass(frozen=True)
class CartTrigger:
    """The abandoned-cart trigger both NumPy versions implement (times in the funnel's unit)."""

    stage: str = "cart"
    toward: str = "checkout"
    delay: float = 20.0 / 60.0  # 20 minutes in hours
    open: float = 0.4
    multiplier: float = 1.5


@dataclass(frozen=True)
class ShopArrays:
    """A compiled funnel as dense arrays (states in the chain's order)."""

    names: list[str]
    transient: np.ndarray  # bool[S]
    success: np.ndarray  # bool[S]
    mean: np.ndarray  # float[S]: mean holding time (0 for absorbing states)
    cumulative: np.ndarray  # float[S, S]: cumulative row probabilities (last column 1 for transient)
    entry: int
    drop: int  # the drop state (-1: none)
    holdings: list[fk.Distribution | None]  # the laws, for non-exponential funnels
    exponential: bool  # every transient state's holding is exponential

    def index(self, name: str) -> int:
        return self.names.index(name)


def _boosted(arrays: ShopArrays, trigger: CartTrigger) -> tuple[int, np.ndarray]:
    """The watched stage and the cumulative table with its row's odds tilted toward the target."""
    cart, toward = arrays.index(trigger.stage), arrays.index(trigger.toward)
    boosted = arrays.cumulative.copy()
    row = np.diff(np.concatenate([[0.0], arrays.cumulative[cart]]))
    boosted[cart] = np.cumsum(_odds_row(row, [toward], trigger.multiplier))
    boosted[cart, -1] = 1.0
    return cart, boosted


def _odds_row(row: np.ndarray, toward: Sequence[int], multiplier: float) -> np.ndarray:
    inside = np.zeros(len(row), dtype=bool)
    inside[list(toward)] = True
    p = row[inside].sum()
    if p <= 0.0 or p >= 1.0:
        return row.copy()
    boosted_p = multiplier * p / (1.0 - p + multiplier * p)
    out = row.copy()
    out[inside] *= boosted_p / p
    out[~inside] *= (1.0 - boosted_p) / (1.0 - p)
    return out


def shop_arrays(funnel: fk.Funnel) -> ShopArrays:
    """The funnel's chain as arrays; the holding laws are the stages' (no per-edge delays)."""
    if any(edge.delay is not None for edge in funnel.edges):
        raise ValueError("the NumPy references model stage holding times only, not per-edge delays")
    chain = funnel._compiled()
    names = list(chain.names)
    size = len(names)
    source, target, probability = chain.transition_triplets()
    rows = np.zeros((size, size))
    np.add.at(rows, (source, target), probability)
    kinds = np.array(chain.kinds)
    by_name = {stage.name: stage.holding for stage in funnel.stages}
    holdings = [by_name.get(name) for name in names]
    transient = kinds == "transient"
    mean = np.array([h.mean() if h is not None and transient[i] else 0.0 for i, h in enumerate(holdings)])
    exponential = all(holdings[i] is not None and holdings[i].type_name() == "exponential"  # type: ignore[union-attr]
                      for i in np.flatnonzero(transient))
    cumulative = np.cumsum(rows, axis=1)
    cumulative[transient, -1] = 1.0  # guard against rounding: u < 1 always finds a column
    return ShopArrays(names=names, transient=transient, success=kinds == "success", mean=mean,
                      cumulative=cumulative, entry=int(np.argmax(chain.entry)),
                      drop=-1 if chain.drop_state is None else int(chain.drop_state), holdings=holdings,
                      exponential=exponential)


def exponential_variant(funnel: fk.Funnel) -> fk.Funnel:
    """The same funnel with every holding time replaced by an exponential of the same mean."""
    out = fk.Funnel(f"{funnel.name} (exponential)", time_unit=funnel.time_unit, remainder=funnel.remainder,
                    drop_stage=funnel.drop_stage, discount=funnel.discount)
    for stage in funnel.stages:
        holding = fk.Exponential(mean=stage.holding.mean()) if stage.holding is not None else None
        out.add_stage(stage.name, stage.kind, value=stage.value, holding=holding)
    for edge in funnel.edges:
        out.add_edge(edge.source, edge.target, edge.probability, delay=edge.delay)
    if funnel.entry:
        out.set_entry(funnel.entry)
    return out


def boosted_funnel(funnel: fk.Funnel, trigger: CartTrigger) -> fk.Funnel:
    """The funnel whose cart row is the trigger's average effect: with q = P(stay > delay) x
    open, the row is (1 - q) row + q boosted row. Each stay in the cart gets the trigger once and
    independently, so the jump chain of the simulation with the trigger is this funnel's
    (its conversion and expected steps are the simulation's; its times are not, since the
    boost goes to long stays)."""
    arrays = shop_arrays(funnel)
    cart, toward = arrays.index(trigger.stage), arrays.index(trigger.toward)
    row = np.diff(np.concatenate([[0.0], arrays.cumulative[cart]]))
    holding = arrays.holdings[cart]
    assert holding is not None
    q = float(holding.survival(trigger.delay)) * trigger.open
    mixed = (1.0 - q) * row + q * _odds_row(row, [toward], trigger.multiplier)
    out = funnel.copy()
    for edge in funnel.edges:
        if edge.source == trigger.stage:
            out.set_probability(edge.source, edge.target, float(mixed[arrays.index(edge.target)]))
    return out


@dataclass
class Outcome:
    """What a run simulated, summed over leads."""

    leads: int = 0
    transitions: int = 0
    purchases: int = 0
    messages: int = 0
    opened: int = 0
    absorbed: int = 0  # journeys that ended before the horizon
    time_to_end: float = 0.0  # summed over absorbed journeys, from arrival
    time_to_end_sq: float = 0.0
    time_to_purchase: float = 0.0  # summed over purchases, from arrival
    time_to_purchase_sq: float = 0.0
    seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"} | self.extra


def uniform_arrivals(leads: int, span: float, seed: int = 0) -> np.ndarray:
    """``leads`` arrival times uniform on [0, span), sorted."""
    return np.sort(np.random.default_rng(seed).uniform(0.0, span, size=leads))


def _draw_next(cumulative: np.ndarray, states: np.ndarray, u: np.ndarray) -> np.ndarray:
    return (cumulative[states] <= u[:, None]).sum(axis=1)


def _holding(arrays: ShopArrays, states: np.ndarray, rng: np.random.Generator,
             at_least: np.ndarray | None = None) -> np.ndarray:
    """Holding times of leads in ``states``; with ``at_least``, from the law given the stay
    already lasted that long (the remaining time is the result minus ``at_least``)."""
    if arrays.exponential:
        out = rng.exponential(size=len(states)) * arrays.mean[states]
        return out if at_least is None else at_least + out
    out = np.empty(len(states))
    u = rng.random(len(states))
    for state in np.unique(states):
        mask = states == state
        law = arrays.holdings[state]
        assert law is not None
        q = u[mask] if at_least is None else u[mask] * law.survival(at_least[mask])
        out[mask] = law.inverse_survival(np.maximum(q, np.finfo(float).tiny))
    return out


def simulate_per_transition(arrays: ShopArrays, arrivals: np.ndarray, horizon: float,
                            trigger: CartTrigger | None = None, seed: int = 0) -> Outcome:
    """Exact simulation, one array step per transition for all leads still in the funnel."""
    rng = np.random.default_rng(seed)
    out = Outcome(leads=len(arrivals))
    cumulative = arrays.cumulative
    if trigger is not None:
        cart, boosted = _boosted(arrays, trigger)
    start = arrivals[arrivals < horizon]
    state = np.full(len(start), arrays.entry, dtype=np.int64)
    now = start.copy()
    while len(state):
        stay = _holding(arrays, state, rng)
        nxt = _draw_next(cumulative, state, rng.random(len(state)))
        if trigger is not None:
            in_cart = (state == cart) & (now + trigger.delay < horizon)
            waiting = np.flatnonzero(in_cart & (stay > trigger.delay))
            left = int((in_cart & (stay <= trigger.delay) & (nxt == arrays.drop)).sum())
            out.messages += len(waiting) + left
            opened = waiting[rng.random(len(waiting)) < trigger.open]
            out.opened += len(opened) + int((rng.random(left) < trigger.open).sum())
            if len(opened):
                nxt[opened] = _draw_next(boosted, state[opened], rng.random(len(opened)))
                stay[opened] = _holding(arrays, state[opened], rng, np.full(len(opened), trigger.delay))
        now = now + stay
        moved = now < horizon
        out.transitions += int(moved.sum())
        state, now, start = nxt[moved], now[moved], start[moved]
        bought = arrays.success[state]
        if bought.any():
            spent = now[bought] - start[bought]
            out.purchases += int(bought.sum())
            out.time_to_purchase += float(spent.sum())
            out.time_to_purchase_sq += float((spent * spent).sum())
        ended = ~arrays.transient[state]
        if ended.any():
            spent = now[ended] - start[ended]
            out.absorbed += int(ended.sum())
            out.time_to_end += float(spent.sum())
            out.time_to_end_sq += float((spent * spent).sum())
            keep = ~ended
            state, now, start = state[keep], now[keep], start[keep]
    return out


def simulate_time_step(arrays: ShopArrays, arrivals: np.ndarray, horizon: float,
                       trigger: CartTrigger | None = None, seed: int = 0, step: float = 20.0 / 60.0) -> Outcome:
    """Time-step simulation: at every step boundary, leads in the funnel leave their stage with
    the holding law's probability over the step and move at the step's end.

    Per-lead arrays are allocated once for every lead; each step works on the index of the
    leads in the funnel (arrivals appended at their first boundary, leads that reached an end
    stage dropped)."""
    rng = np.random.default_rng(seed)
    out = Outcome(leads=len(arrivals))
    cumulative = arrays.cumulative
    leave_exp = np.where(arrays.transient, -np.expm1(-step / np.where(arrays.mean > 0, arrays.mean, 1.0)), 0.0)
    if trigger is not None:
        cart, boosted = _boosted(arrays, trigger)
    start = np.sort(arrivals)
    n = len(start)
    state = np.full(n, arrays.entry, dtype=np.int64)
    entered = np.ceil(start / step - 1e-9) * step  # the boundary at which each lead joins
    messaged = np.zeros(n, dtype=bool)
    boost = np.zeros(n, dtype=bool)
    active = np.empty(0, dtype=np.int64)
    steps = math.ceil(horizon / step)
    joined_so_far = 0
    for k in range(steps):
        t = k * step
        joined = int(np.searchsorted(start, t + 1e-9, side="right"))
        if joined > joined_so_far:
            active = np.concatenate([active, np.arange(joined_so_far, joined)])
            joined_so_far = joined
        if not len(active):
            continue
        here = state[active]
        if trigger is not None:
            due = active[(here == cart) & (t - entered[active] >= trigger.delay - 1e-9)]
            due = due[~messaged[due]]
            if len(due):
                messaged[due] = True
                out.messages += len(due)
                opened = due[rng.random(len(due)) < trigger.open]
                out.opened += len(opened)
                boost[opened] = True
        if arrays.exponential:
            p = leave_exp[here]
        else:
            p = np.empty(len(active))
            for s in np.unique(here):
                mask = here == s
                law = arrays.holdings[s]
                assert law is not None
                age = t - entered[active[mask]]
                p[mask] = 1.0 - law.survival(age + step) / np.maximum(law.survival(age), np.finfo(float).tiny)
        moving = rng.random(len(active)) < p
        if t + step >= horizon or not moving.any():
            continue
        movers = active[moving]
        u = rng.random(len(movers))
        nxt = _draw_next(cumulative, here[moving], u)
        if trigger is not None:
            lucky = boost[movers]
            if lucky.any():
                nxt[lucky] = _draw_next(boosted, here[moving][lucky], u[lucky])
            # Dropping out of the cart before the message: it still goes out at entry + delay.
            left = movers[(here[moving] == cart) & (nxt == arrays.drop) & ~messaged[movers]]
            left = left[entered[left] + trigger.delay < horizon]
            if len(left):
                out.messages += len(left)
                out.opened += int((rng.random(len(left)) < trigger.open).sum())
            messaged[movers] = False
            boost[movers] = False
        out.transitions += len(movers)
        state[movers] = nxt
        entered[movers] = t + step
        bought = movers[arrays.success[nxt]]
        if len(bought):
            spent = t + step - start[bought]
            out.purchases += len(bought)
            out.time_to_purchase += float(spent.sum())
            out.time_to_purchase_sq += float((spent * spent).sum())
        ending = ~arrays.transient[nxt]
        if ending.any():
            spent = t + step - start[movers[ending]]
            out.absorbed += int(ending.sum())
            out.time_to_end += float(spent.sum())
            out.time_to_end_sq += float((spent * spent).sum())
            active = active[arrays.transient[state[active]]]
    return out
