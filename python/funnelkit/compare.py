"""Comparing two fitted funnels: which transition probabilities differ beyond their uncertainty.

Fit the same mapping on two periods or two segments, then compare::

    >>> import funnelkit as fk
    >>> log = fk.read_events(fk.datasets.shop_events(20_000, seed=3).events, segments=["device"])
    >>> desktop = fk.fit_funnel(log.where_segment("device", "desktop"))
    >>> mobile = fk.fit_funnel(log.where_segment("device", "mobile"))
    >>> table = fk.compare_fits(desktop, mobile)
    >>> bool(table.loc[("checkout", "paid"), "significant"])
    True

Each transition is tested with the two-proportion z-test (pooled), and the p-values of all
transitions are adjusted for testing many at once (Benjamini-Hochberg q-values): a row is
``significant`` when its q-value is below ``1 - level``. ``prob_higher`` is the posterior
probability that the second funnel's probability is the higher (Jeffreys priors, normal
approximation of the Beta posteriors).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from funnelkit.fit import FunnelFit

__all__ = ["compare_fits"]


def compare_fits(
    a: FunnelFit, b: FunnelFit, *, level: float = 0.95, names: tuple[str, str] = ("a", "b")
) -> pd.DataFrame:
    """One row per transition seen in either fit (losses included, target "left"), indexed by
    (source, target): counts, exposures and probabilities of both, the difference (b - a)
    with its ``level`` interval, z, p-value, q-value, ``significant`` and ``prob_higher``."""
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    first, second = (_counts(fit) for fit in (a, b))
    table = first.add_suffix(f"_{names[0]}").join(second.add_suffix(f"_{names[1]}"), how="outer")
    na, nb = (f"{c}_{names[0]}" for c in ("count", "exposure")), (f"{c}_{names[1]}" for c in ("count", "exposure"))
    (xa, ea), (xb, eb) = na, nb
    # A transition one fit never saw has count 0 there, out of that fit's exposure of its source.
    for fit, x, e in ((first, xa, ea), (second, xb, eb)):
        exposure = fit.groupby(level="source")["exposure"].first()
        table[e] = table.index.get_level_values("source").map(exposure).astype(float)
        table[x] = table[x].fillna(0.0)
    x1, n1, x2, n2 = (table[c].to_numpy(float) for c in (xa, ea, xb, eb))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = x1 / n1, x2 / n2
        pooled = (x1 + x2) / (n1 + n2)
        z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        spread = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = np.where(np.isfinite(z), z, 0.0)
    z = np.where((n1 > 0) & (n2 > 0), z, np.nan)
    critical = NormalDist().inv_cdf(0.5 + level / 2)
    p_value = np.array([math.erfc(abs(v) / math.sqrt(2)) if np.isfinite(v) else np.nan for v in z])
    table[f"probability_{names[0]}"], table[f"probability_{names[1]}"] = p1, p2
    table["difference"] = p2 - p1
    table["difference_low"], table["difference_high"] = p2 - p1 - critical * spread, p2 - p1 + critical * spread
    table["z"] = z
    table["p_value"] = p_value
    table["q_value"] = _benjamini_hochberg(p_value)
    table["significant"] = table["q_value"] < 1 - level
    table["prob_higher"] = _prob_higher(x1, n1, x2, n2)
    return table


def _counts(fit: FunnelFit) -> pd.DataFrame:
    return fit.transitions.set_index(["source", "target"])[["count", "exposure"]].astype(float)


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok])]
    ranked = p[order] * ok.size / np.arange(1, ok.size + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def _prob_higher(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    def beta_moments(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = x + 0.5, n - x + 0.5
        return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))

    with np.errstate(invalid="ignore", divide="ignore"):
        m1, v1 = beta_moments(x1, n1)
        m2, v2 = beta_moments(x2, n2)
        z = (m2 - m1) / np.sqrt(v1 + v2)
    return np.array([0.5 * math.erfc(-v / math.sqrt(2)) if np.isfinite(v) else np.nan for v in z])
