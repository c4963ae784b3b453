"""Holding-time and delay distributions.

All are implemented in C++ and share one interface: ``cdf``, ``survival``, ``pdf`` and
``quantile`` take a number or an array (and return the same shape), ``mean``, ``variance``,
``second_moment`` give moments, ``sample(size, seed)`` draws reproducibly.

    >>> import funnelkit as fk
    >>> d = fk.Exponential(mean=24.0)          # e.g. hours until a lead returns
    >>> round(d.survival(24.0), 4)
    0.3679
    >>> fk.Weibull(shape=1.5, scale=10.0).quantile([0.5, 0.9]).round(3)
    array([ 7.832, 17.437])

Write your own by subclassing :class:`Distribution` and registering it
(:func:`funnelkit.register_distribution`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from funnelkit import _core
from funnelkit.errors import DistributionError
from funnelkit.extension import _resolve

__all__ = [
    "Distribution",
    "Empirical",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Truncated",
    "Weibull",
    "empirical_from_durations",
    "from_json",
    "lognormal_from_median",
]

Distribution = _core.Distribution
Exponential = _core.Exponential
LogNormal = _core.LogNormal
Weibull = _core.Weibull
Gamma = _core.Gamma
Fixed = _core.Fixed
Empirical = _core.Empirical
Truncated = _core.Truncated


def lognormal_from_median(median: float, sigma: float) -> _core.LogNormal:
    """A log-normal with the given median (``exp(mu)``) and log-scale ``sigma``.

    >>> round(lognormal_from_median(3.0, 0.5).quantile(0.5), 9)
    3.0
    """
    if not (median > 0 and math.isfinite(median)):
        raise DistributionError(f"lognormal: median must be positive and finite, got {median}")
    return _core.LogNormal(math.log(median), sigma)


def from_json(text: str | dict[str, Any]) -> _core.Distribution:
    """Rebuild a distribution from its JSON (``{"type": ..., **params}``), built-in or registered."""
    if not isinstance(text, str):
        text = json.dumps(text)
    return _core.distribution_from_json(text, _resolve)


def _as_json_value(distribution: _core.Distribution | dict[str, Any] | None) -> Any:
    """A distribution, or its JSON dict, as the plain dict a funnel document stores."""
    if distribution is None or isinstance(distribution, dict):
        return distribution
    if not isinstance(distribution, _core.Distribution):
        raise TypeError(f"expected a funnelkit.Distribution or a dict, got {type(distribution).__name__}")
    return json.loads(distribution.to_json())


def empirical_from_durations(durations: Sequence[float], knots: int = 21) -> _core.Empirical:
    """An :class:`Empirical` distribution from observed durations: ``knots`` evenly spaced quantiles.

    >>> d = empirical_from_durations([1.0, 2.0, 3.0, 4.0], knots=5)
    >>> d.quantile(0.5)
    2.5
    """
    if knots < 2:
        raise ValueError("knots must be at least 2")
    values = np.asarray(durations, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise DistributionError("empirical: durations must be a non-empty array of finite values >= 0")
    probabilities = np.linspace(0.0, 1.0, knots)
    return _core.Empirical(probabilities.tolist(), np.quantile(values, probabilities).tolist())
