"""The expected-value path the way a data scientist writes it in NumPy: the contender of
``bench_forecast.py``, importable by tests (tests/python/test_numpy_path_reference.py checks it
against closed forms and against :func:`funnelkit.forecasting.path.expected_path`).

The same propagation as the engine (``cpp/include/funnelkit/forecasting/expected_path.hpp``), in
the time domain instead of the frequency domain:

- a fine grid of step h = day / ``substeps``; arrivals spread evenly over their day,
  X_s[m] = share_s x arrivals[m // substeps] / substeps (share_s: the entry weights, normalised);
- a transition i -> j with probability p and delay law D (the edge's own delay, else the
  holding law of stage i; none: instant) moves an entry m steps on with mass
  K_ij[m] = p P((m - 1/2) h <= D < (m + 1/2) h), m = 0, 1, ... (the laws' vectorised ``cdf``;
  K[0] = p F(h/2));
- the renewal equation E_j[m] = X_j[m] + sum_{i->j} sum_{k=0..m} K_ij[k] E_i[m - k] is stepped
  through the grid: step m's history sum (k >= 1) is one dot product per transition, and the
  same-step moves (k = 0, loops included) are solved exactly by (I - K0^T)^-1;
- daily entries are the sums of each day's steps.

Exact up to round-off: no truncation of the kernels, no iteration to a tolerance. Costs
O(n^2 x transitions) for n = days x substeps steps: n^2 / 2 multiply-adds per transition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import funnelkit as fk
from funnelkit.simulation._durations import day_length

__all__ = ["PathArrays", "daily_entries", "kernels", "looped_funnel", "path_arrays", "propagate"]


def looped_funnel(stages: int = 20, order_value: float = 50.0) -> fk.Funnel:
    """A funnel whose ``stages`` transient stages form one loop (in hours): stage i goes on to
    i + 1 (0.7), back to i - 3 (0.15, from stage 1 on; every other back edge with its own
    exponential delay, mean 24 h), to ``paid`` (0.02, the last stage 0.3), the rest drops out;
    holding laws cycle through log-normal (median 2 h, sigma 0.9), Weibull (shape 0.8, scale
    12 h) and exponential (mean 6 h)."""
    laws = [fk.distributions.lognormal_from_median(2.0, 0.9), fk.Weibull(shape=0.8, scale=12.0),
            fk.Exponential(mean=6.0)]
    funnel = fk.Funnel(f"loop of {stages}", time_unit="hours")
    for i in range(stages):
        funnel.add_stage(f"s{i:02d}", holding=laws[i % 3])
    funnel.add_stage("paid", "success", value=order_value)
    for i in range(stages):
        if i + 1 < stages:
            funnel.add_edge(f"s{i:02d}", f"s{i + 1:02d}", 0.7)
        if i >= 1:
            delay = fk.Exponential(mean=24.0) if i % 2 else None
            funnel.add_edge(f"s{i:02d}", f"s{max(0, i - 3):02d}", 0.15, delay=delay)
        funnel.add_edge(f"s{i:02d}", "paid", 0.3 if i + 1 == stages else 0.02)
    return funnel


@dataclass(frozen=True)
class PathArrays:
    """A compiled funnel's transitions as arrays (states in the chain's order)."""

    names: list[str]
    source: np.ndarray  # int[T]
    target: np.ndarray  # int[T]
    probability: np.ndarray  # float[T]
    delays: list[fk.Distribution | None]  # [T]: the transition's delay law (None: instant)
    entry: np.ndarray  # float[S]: entry shares, summing to 1
    values: np.ndarray  # float[S]
    day: float  # a day in the funnel's time unit


def path_arrays(funnel: fk.Funnel) -> PathArrays:
    """The funnel's transitions with their delay laws: an edge's own delay, else the source
    stage's holding law; the leftover of a row (to the drop state) takes the holding law."""
    chain = funnel._compiled()
    names = list(chain.names)
    source, target, probability = chain.transition_triplets()
    holding = {stage.name: stage.holding for stage in funnel.stages}
    edge_delay = {(e.source, e.target): e.delay for e in funnel.edges}
    delays: list[fk.Distribution | None] = []
    for s, t in zip(source, target, strict=True):
        own = edge_delay.get((names[s], names[t]))  # the leftover to the drop state is no edge
        delays.append(own if own is not None else holding.get(names[s]))
    entry = np.asarray(chain.entry, dtype=np.float64)
    return PathArrays(names=names, source=np.asarray(source, dtype=np.int64), target=np.asarray(target, dtype=np.int64),
                      probability=np.asarray(probability, dtype=np.float64), delays=delays, entry=entry / entry.sum(),
                      values=np.asarray(chain.values, dtype=np.float64), day=day_length(funnel.time_unit))


def kernels(arrays: PathArrays, h: float, n: int) -> np.ndarray:
    """K[m, t] = p_t P((m - 1/2) h <= D_t < (m + 1/2) h) for m < n (float[n, T])."""
    out = np.zeros((n, arrays.probability.size))
    edges = (np.arange(n) + 0.5) * h
    for t, (p, law) in enumerate(zip(arrays.probability, arrays.delays, strict=True)):
        if law is None:
            out[0, t] = p
            continue
        cdf = np.asarray(law.cdf(edges), dtype=np.float64)
        out[:, t] = p * np.maximum(0.0, np.diff(cdf, prepend=0.0))
    return out


def propagate(arrays: PathArrays, arrivals: np.ndarray, substeps: int) -> np.ndarray:
    """Expected entries per fine step and state (float[days x substeps, S])."""
    arrivals = np.asarray(arrivals, dtype=np.float64)
    n = arrivals.size * substeps
    states = arrays.entry.size
    h = arrays.day / substeps
    k = kernels(arrays, h, n)
    same_step = np.zeros((states, states))
    np.add.at(same_step, (arrays.target, arrays.source), k[0])  # K0^T: row j collects moves into j
    solve = np.linalg.inv(np.eye(states) - same_step)
    inflow = np.repeat(arrivals / substeps, substeps)[:, None] * arrays.entry[None, :]
    entries = np.zeros((n, states))
    # history[n - 1 - m, t] = E[m, source_t]: the rows n - m .. n - 1 are E[m - 1], ..., E[0],
    # lined up with k[1], ..., k[m] for one dot product per transition.
    history = np.zeros((n, arrays.source.size))
    for m in range(n):
        moved = np.einsum("kt,kt->t", k[1:m + 1], history[n - m:])
        rhs = inflow[m] + np.bincount(arrays.target, weights=moved, minlength=states)
        entries[m] = solve @ rhs
        history[n - 1 - m] = entries[m, arrays.source]
    return entries


def daily_entries(arrays: PathArrays, arrivals: np.ndarray, substeps: int) -> np.ndarray:
    """Expected entries per day and state (float[days, S]): the fine steps summed per day."""
    fine = propagate(arrays, arrivals, substeps)
    daily: np.ndarray = fine.reshape(-1, substeps, fine.shape[1]).sum(axis=1)
    return daily
