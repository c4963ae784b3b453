"""Four funnel shapes as edge tables, for benchmarks and tests.

Each generator returns a pandas DataFrame with columns ``source``, ``target`` and
``probability``, ready for::

    fk.Funnel.from_edges(table, success=["paid"], failure=["lost"], values={"paid": 50.0})

Transient stages are ``s0 ... s{n-1}``; ``s0`` is the first source, so it is the entry. Rows
with an exit share below 1 leave the remainder to the drop stage. Everything is vectorised
NumPy (100,000 stages take well under a second) and reproducible from ``seed``; nothing here
depends on funnelkit.

    banded    each stage -> a few of the next ~20, one in five also back up to 50 (loops)
    expander  each stage -> k random stages anywhere, plus paid and lost (exit >= 8% a step)
    hub       each page -> one of 20 hubs + 2 pages by popularity; hubs -> many pages
              (power-law in- and out-degrees, as on real sites)
    dense     channel-attribution-like: 10-50 stages, each linked to most others
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["SHAPES", "banded", "dense", "expander", "hub"]

SUCCESS, FAILURE = "paid", "lost"


def _table(n: int, source: np.ndarray, target: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Rows from index arrays (targets n and n + 1 are paid and lost), grouped by source."""
    keep = probability > 0
    source, target, probability = source[keep], target[keep], probability[keep]
    order = np.argsort(source, kind="stable")
    names = np.array([f"s{i}" for i in range(n)] + [SUCCESS, FAILURE], dtype=object)
    return pd.DataFrame(
        {"source": names[source[order]], "target": names[target[order]], "probability": probability[order]}
    )


def _distinct_rows(draw: Callable[[int], np.ndarray], rows: int) -> np.ndarray:
    """``draw(m)`` gives m rows of candidate targets; redraw rows that repeat a target."""
    result = draw(rows)
    while True:
        ordered = np.sort(result, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            return result
        result[bad] = draw(bad.size)


def _with_exits(
    n: int, source: np.ndarray, target: np.ndarray, weight: np.ndarray, exit_share: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Scale each source's ``weight`` to ``1 - exit_share`` and split the exit between paid
    (5-30% of it) and lost, so every row sums to 1."""
    totals = np.bincount(source, weights=weight, minlength=n)
    moving = weight * (1.0 - exit_share[source]) / totals[source]
    paid = exit_share * rng.uniform(0.05, 0.30, n)
    stages = np.arange(n)
    return _table(
        n,
        np.concatenate([source, stages, stages]),
        np.concatenate([target, np.full(n, n), np.full(n, n + 1)]),
        np.concatenate([moving, paid, exit_share - paid]),
    )


def banded(n: int, seed: int = 0) -> pd.DataFrame:
    """Product-level funnel (bench_analytics' shape): each stage leads to up to three of the
    next 19; one stage in five past the sixth also leads back up to 50 stages (loops). 90% of
    each row moves on, up to 10% is paid or lost, the rest drops."""
    rng = np.random.default_rng(seed)
    stages = np.arange(n)
    forward = np.sort(stages[:, None] + rng.integers(1, 20, size=(n, 3)), axis=1)
    repeated = np.concatenate([np.zeros((n, 1), bool), forward[:, 1:] == forward[:, :-1]], axis=1)
    forward_ok = (forward < n) & ~repeated  # past the end, or drawn twice: not an edge
    lowest = np.maximum(0, stages - 50)
    back = lowest + (rng.random(n) * (stages - lowest)).astype(np.int64)
    back_ok = (stages > 5) & (rng.random(n) < 0.2)
    # Dirichlet(1, ..., 1) weights over the targets present plus three outcome slots.
    slots = rng.exponential(size=(n, 7)) * np.concatenate([forward_ok, back_ok[:, None], np.ones((n, 3), bool)], axis=1)
    slots /= slots.sum(axis=1, keepdims=True)
    targets = np.concatenate([forward, back[:, None]], axis=1)
    ok = np.concatenate([forward_ok, back_ok[:, None]], axis=1)
    rows, cols = np.nonzero(ok)
    return _table(
        n,
        np.concatenate([rows, stages, stages]),
        np.concatenate([targets[rows, cols], np.full(n, n), np.full(n, n + 1)]),
        np.concatenate([0.9 * slots[rows, cols], 0.1 * slots[:, 6], 0.1 * slots[:, 5]]),
    )


def expander(n: int, seed: int = 0, k: int = 3) -> pd.DataFrame:
    """Random expander: each stage leads to ``k`` distinct random stages anywhere (itself
    included) and to paid and lost, which together take 8-25% of the row."""
    rng = np.random.default_rng(seed)
    k = min(k, n)
    targets = _distinct_rows(lambda m: rng.integers(0, n, size=(m, k)), n)
    source = np.repeat(np.arange(n), k)
    return _with_exits(n, source, targets.ravel(), rng.exponential(size=n * k), rng.uniform(0.08, 0.25, n), rng)


def hub(n: int, seed: int = 0, hubs: int = 20) -> pd.DataFrame:
    """Hub and spoke, like a shop's site: stages s0... are hubs (home, categories; s0 the home
    page). Every other page links to one hub (the home page most often, Zipf) and to two pages
    picked by popularity (a power law over the pages, so a few get most links); hub h links to
    about 500/(h+1) pages by popularity. Every page also leads to paid and lost (8-25%)."""
    rng = np.random.default_rng(seed)
    hubs = max(1, min(hubs, n // 10))
    popularity = 1.0 / np.arange(1, n + 1) ** 0.9
    popularity = popularity[rng.permutation(n)]  # popular pages are anywhere in the numbering
    popularity /= popularity.sum()
    hub_weight = 1.0 / np.arange(1, hubs + 1)
    hub_weight /= hub_weight.sum()
    pages = np.arange(hubs, n)

    def draw(m: int) -> np.ndarray:
        return np.column_stack([rng.choice(hubs, size=m, p=hub_weight), rng.choice(n, size=(m, 2), p=popularity)])

    page_targets = _distinct_rows(draw, pages.size) if pages.size else np.empty((0, 3), np.int64)
    hub_sources, hub_targets = [], []
    for h in range(hubs):
        degree = min(n, max(3, round(min(n - 1, 500) / (h + 1))))
        hub_targets.append(rng.choice(n, size=degree, replace=False, p=popularity))
        hub_sources.append(np.full(degree, h))
    source = np.concatenate([*hub_sources, np.repeat(pages, 3)])
    target = np.concatenate([*hub_targets, page_targets.ravel()])
    return _with_exits(n, source, target, rng.exponential(size=source.size), rng.uniform(0.08, 0.25, n), rng)


def dense(n: int, seed: int = 0, density: float = 0.8) -> pd.DataFrame:
    """Channel attribution: ``n`` channels (10 to 50), each leading to about ``density`` of
    the others, to conversion (paid) and to the null state (lost): 10-30% of each row."""
    rng = np.random.default_rng(seed)
    linked = (rng.random((n, n)) < density) & ~np.eye(n, dtype=bool)
    source, target = np.nonzero(linked)
    return _with_exits(n, source, target, rng.exponential(size=source.size), rng.uniform(0.10, 0.30, n), rng)


SHAPES: dict[str, Callable[..., pd.DataFrame]] = {"banded": banded, "expander": expander, "hub": hub, "dense": dense}
