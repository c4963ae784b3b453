"""Plain NumPy reference implementations: dense matrices built straight from a funnel's
description, textbook absorbing-chain formulas, no funnelkit analytics involved."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import funnelkit as fk


@dataclass
class DenseChain:
    names: list[str]
    kinds: list[str]
    p: np.ndarray  # full transition matrix, absorbing rows zero
    delay_mean: np.ndarray  # E[delay] per (i, j) transition
    delay_second: np.ndarray
    value: np.ndarray
    entry: np.ndarray
    discount: float

    @property
    def transient(self) -> np.ndarray:
        return np.array([k == "transient" for k in self.kinds])

    @property
    def success(self) -> np.ndarray:
        return np.array([k == "success" for k in self.kinds])


def dense_chain(funnel: fk.Funnel) -> DenseChain:
    """States: the stages, then the drop stage if some row leaves a remainder and no stage has its name."""
    stages = funnel.stages
    names = [s.name for s in stages]
    kinds = [s.kind for s in stages]
    sums = {s.name: 0.0 for s in stages}
    for e in funnel.edges:
        sums[e.source] += e.probability
    needs_drop = any(k == "transient" and sums[n] < 1 - 1e-9 for n, k in zip(names, kinds, strict=True))
    if needs_drop and funnel.drop_stage not in names:
        names.append(funnel.drop_stage)
        kinds.append("failure")
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    p = np.zeros((n, n))
    m1 = np.zeros((n, n))
    m2 = np.zeros((n, n))
    holding = {s.name: s.holding for s in stages}
    for e in funnel.edges:
        i, j = index[e.source], index[e.target]
        p[i, j] += e.probability
        d = e.delay or holding[e.source]
        if d is not None:
            m1[i, j], m2[i, j] = d.mean(), d.second_moment()
    for s in stages:
        i = index[s.name]
        rest = 1.0 - p[i].sum()
        if s.kind == "transient" and rest > 1e-9:
            drop = index[funnel.drop_stage]
            p[i, drop] += rest
            if s.holding is not None:
                m1[i, drop], m2[i, drop] = s.holding.mean(), s.holding.second_moment()
    value = np.array([s.value for s in stages] + [0.0] * (n - len(stages)))
    entry = np.zeros(n)
    weights = funnel.entry or {names[0]: 1.0}
    for name, w in weights.items():
        entry[index[name]] += w
    entry /= entry.sum()
    return DenseChain(names, kinds, p, m1, m2, value, entry, funnel.discount)


def fundamental(c: DenseChain, gamma: float = 1.0) -> np.ndarray:
    t = c.transient
    q = c.p[np.ix_(t, t)]
    return np.linalg.inv(np.eye(q.shape[0]) - gamma * q)


def expected_outcomes(c: DenseChain) -> dict[str, np.ndarray | float]:
    """Textbook formulas on the transient block (vectors indexed by transient states)."""
    t = c.transient
    n = fundamental(c)
    q = c.p[np.ix_(t, t)]
    r = c.p[np.ix_(t, ~t)]
    b = n @ r
    success = b[:, c.success[~t]].sum(axis=1)
    steps = n @ np.ones(q.shape[0])
    steps_var = (2 * n - np.eye(len(steps))) @ steps - steps**2
    u1 = (c.p * c.delay_mean)[t].sum(axis=1)
    time = n @ u1
    time_full = np.zeros(len(c.names))
    time_full[t] = time
    u2 = (c.p * (c.delay_second + 2 * c.delay_mean * time_full[None, :]))[t].sum(axis=1)
    time_var = n @ u2 - time**2
    success_full = c.success.astype(float)
    success_full[t] = success
    time_and_success = n @ (c.p * c.delay_mean * success_full[None, :])[t].sum(axis=1)
    g = fundamental(c, c.discount)
    value = g @ (c.p @ c.value)[t]
    s = c.entry[t]
    visits = s @ n
    return {
        "absorption": b,
        "success": success,
        "steps": steps,
        "steps_var": steps_var,
        "time": time,
        "time_var": time_var,
        "time_to_success": np.divide(time_and_success, success, out=np.full_like(success, np.nan), where=success > 0),
        "value": value,
        "visits": visits,
        "reach": visits / np.diag(n),
        "entry_success": float(s @ success),
        "entry_value": float(s @ (c.value[t] + value)),
        "entry_time": float(s @ time),
    }


def random_funnel(
    rng: np.random.Generator,
    n_transient: int,
    n_success: int = 1,
    n_failure: int = 1,
    density: float = 0.3,
    with_times: bool = True,
    discount: float = 1.0,
) -> fk.Funnel:
    """A random funnel with loops: every transient row sums below 1 so the remainder drops out."""
    f = fk.Funnel("random", discount=discount)
    for i in range(n_transient):
        holding = fk.Exponential(mean=float(rng.uniform(0.5, 5.0))) if with_times and rng.random() < 0.8 else None
        f.add_stage(f"t{i}", value=float(rng.choice([0.0, rng.uniform(0, 20)])), holding=holding)
    for i in range(n_success):
        f.add_stage(f"win{i}", "success", value=float(rng.uniform(10, 100)))
    for i in range(n_failure):
        f.add_stage(f"lost{i}", "failure")
    targets = [s.name for s in f.stages]
    for i in range(n_transient):
        chosen = [t for t in targets if rng.random() < density] or [targets[int(rng.integers(len(targets)))]]
        weights = rng.dirichlet(np.ones(len(chosen) + 1))[:-1] * rng.uniform(0.5, 0.98)
        for target, w in zip(chosen, weights, strict=True):
            delay = (
                fk.Gamma(shape=2.0, scale=float(rng.uniform(0.1, 2.0))) if with_times and rng.random() < 0.3 else None
            )
            f.add_edge(f"t{i}", target, float(w), delay=delay)
    return f


class ParamlessDistribution(fk.Distribution):
    """A valid Python distribution with no params(): usable, but neither registrable nor savable."""

    def cdf(self, t: float) -> float:
        return 0.0 if t < 1.0 else 1.0

    def pdf(self, t: float) -> float:
        return 0.0

    def quantile(self, p: float) -> float:
        return 1.0


def shaped_funnel(rng: np.random.Generator, n: int, shape: str, discount: float = 1.0) -> fk.Funnel:
    """Page-level shapes whose loops span the whole funnel, as clickstream funnels have.

    ``expander``: each page links to 3 random pages anywhere. ``hub``: each page links to one of
    a few hub pages (power-law popularity) and to 2 random pages; hubs link on at random.
    Every page also converts ("paid") or leaves ("lost"), together at least 8% of its row."""
    f = fk.Funnel(f"{shape} {n}", discount=discount)
    for i in range(n):
        holding = fk.Exponential(mean=float(rng.uniform(0.1, 3.0))) if rng.random() < 0.7 else None
        f.add_stage(f"p{i}", value=float(rng.choice([0.0, rng.uniform(0, 5)])), holding=holding)
    f.add_stage("paid", "success", value=50.0)
    f.add_stage("lost", "failure")
    hubs = max(2, n // 25)
    for i in range(n):
        if shape == "expander":
            targets = set(rng.integers(0, n, size=3).tolist())
        else:
            hub = int(min(rng.zipf(1.6) - 1, hubs - 1))
            targets = {hub, *rng.integers(0, n, size=2).tolist()}
        targets.discard(i)
        exit_share = float(rng.uniform(0.08, 0.3))
        weights = rng.dirichlet(np.ones(len(targets))) * (1.0 - exit_share) if targets else np.array([])
        for target, w in zip(sorted(targets), weights, strict=True):
            delay = fk.Gamma(shape=2.0, scale=float(rng.uniform(0.1, 1.0))) if rng.random() < 0.2 else None
            f.add_edge(f"p{i}", f"p{target}", float(w), delay=delay)
        paid = exit_share * float(rng.uniform(0.0, 0.6))
        f.add_edge(f"p{i}", "paid", paid)
        f.add_edge(f"p{i}", "lost", exit_share - paid)
    return f
