"""Where the simulated shop's visitors come from: visitors per day, channels with a cost per
visitor, weekly and yearly seasonality and growth.

    >>> import pandas as pd
    >>> plan = TrafficPlan(
    ...     1_000,
    ...     channels=[Channel("search", share=0.6, cost_per_visitor=0.4), Channel("social", share=0.4)],
    ...     weekly=[1, 1, 1, 1, 1.2, 1.5, 1.5],
    ... )
    >>> plan.channel_names
    ['search', 'social']
    >>> expected = plan._expected(pd.Timestamp("2024-01-01"), 7)   # a Monday
    >>> expected.shape, round(float(expected.sum()), 6)
    ((7, 2), 7000.0)

Each simulated replicate draws a Poisson number of arrivals per day and channel around these
expected counts (exactly these counts for :meth:`TrafficPlan.cohort`) and spreads them uniformly
over the day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from funnelkit._trigger_kinds import _integer, _number
from funnelkit.errors import StrategyError

__all__ = ["Channel", "TrafficPlan"]


def _positive(value: object, what: str, allow_zero: bool = True) -> float:
    number = _number(value)
    if number is None or not math.isfinite(number) or number < 0 or (not allow_zero and number == 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise StrategyError(f"{what} must be a finite number {bound}, got {value!r}", subject=what)
    return number


@dataclass(frozen=True, slots=True)
class Channel:
    """A traffic source: its share of the plan's visitors *or* its own visitors per day, and
    what a visitor costs (ads; 0 for organic traffic).

    >>> Channel("search", share=0.5, cost_per_visitor=0.4).cost_per_visitor
    0.4
    """

    name: str
    share: float | None = None
    visitors_per_day: float | None = None
    cost_per_visitor: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise StrategyError(f"a channel needs a non-empty name, got {self.name!r}", subject="Channel.name")
        where = f"channel {self.name!r}"
        if self.share is not None and self.visitors_per_day is not None:
            raise StrategyError(f"{where}: give share or visitors_per_day, not both", subject=self.name)
        if self.share is not None:
            share = _positive(self.share, f"{where} share")
            if share > 1:
                raise StrategyError(f"{where}: share must be in [0, 1], got {share}", subject=self.name)
            object.__setattr__(self, "share", share)
        if self.visitors_per_day is not None:
            object.__setattr__(self, "visitors_per_day", _positive(self.visitors_per_day, f"{where} visitors_per_day"))
        object.__setattr__(self, "cost_per_visitor", _positive(self.cost_per_visitor, f"{where} cost_per_visitor"))


def _factors(values: Sequence[float] | None, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.ones(n)
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,) or not np.isfinite(array).all() or (array < 0).any() or array.sum() <= 0:
        raise StrategyError(f"{what} needs {n} finite factors >= 0, not all 0, got {values!r}", subject=what)
    out: np.ndarray = array / array.mean()
    return out


@dataclass(frozen=True, slots=True)
class TrafficPlan:
    """Expected visitors per day, split into channels, with seasonality and growth.

    Parameters
    ----------
    visitors_per_day:
        Average visitors per day over all channels, which then give their ``share`` (channels
        without one split what is left equally). None: every channel gives its own
        ``visitors_per_day``.
    channels:
        The traffic sources (None: one free channel, ``"direct"``).
    weekly:
        Seven factors, Monday to Sunday, scaled to mean 1 (``[1, 1, 1, 1, 1, 1.2, 1.2]``: weekend
        days 20% busier than weekdays).
    growth:
        Relative growth per 30 days, compounding: day *d* gets ``(1 + growth) ** (d / 30)``.
    yearly:
        Twelve factors, January to December, scaled to mean 1 (a calendar month's factor applies
        to each of its days).

    Days are UTC calendar days from the simulation's ``start``.
    """

    visitors_per_day: float | None
    channels: Sequence[Channel] | None = None
    weekly: Sequence[float] | None = None
    growth: float = 0.0
    yearly: Sequence[float] | None = None
    _exact: bool = False

    def __post_init__(self) -> None:
        channels = (Channel("direct"),) if self.channels is None else tuple(self.channels)
        if not channels:
            raise StrategyError("a traffic plan needs at least one channel", subject="channels")
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise StrategyError(f"channel names must be unique, got {names}", subject="channels")
        object.__setattr__(self, "channels", channels)
        if self.visitors_per_day is None:
            missing = [c.name for c in channels if c.visitors_per_day is None]
            if missing:
                raise StrategyError(f"without the plan's visitors_per_day every channel needs its own; "
                                    f"{missing[0]!r} has none", subject=missing[0])
        else:
            object.__setattr__(self, "visitors_per_day", _positive(self.visitors_per_day, "visitors_per_day"))
            own = [c.name for c in channels if c.visitors_per_day is not None]
            if own:
                raise StrategyError(f"channel {own[0]!r} gives visitors_per_day and the plan does too; "
                                    "give channels a share of the plan's visitors instead", subject=own[0])
            given = sum(c.share for c in channels if c.share is not None)
            free = sum(1 for c in channels if c.share is None)
            if given > 1 + 1e-9 or (free == 0 and abs(given - 1) > 1e-9):
                raise StrategyError(f"channel shares sum to {given:g}; they must sum to 1", subject="channels")
        growth = _number(self.growth)
        if growth is None or not math.isfinite(growth) or growth <= -1:
            raise StrategyError(f"growth must be a finite number > -1 (per 30 days), got {self.growth!r}",
                                subject="growth")
        object.__setattr__(self, "growth", growth)
        _factors(self.weekly, 7, "weekly")
        _factors(self.yearly, 12, "yearly")

    @staticmethod
    def cohort(n: int, channel: str = "cohort") -> TrafficPlan:
        """Exactly ``n`` leads arriving on the first day and none after (no Poisson noise):
        for checks against the funnel's analytic values.

        >>> TrafficPlan.cohort(1000).exact_counts
        True
        """
        count = _integer(n)
        if count is None or count < 0:
            raise StrategyError(f"a cohort needs a whole number of leads >= 0, got {n!r}", subject="cohort")
        return TrafficPlan(None, channels=[Channel(channel, visitors_per_day=float(count))], _exact=True)

    @property
    def exact_counts(self) -> bool:
        """Whether the engine uses the expected counts as they are (a cohort) instead of drawing
        Poisson counts."""
        return self._exact

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]  # type: ignore[union-attr]

    @property
    def cost_per_visitor(self) -> np.ndarray:
        """Cost per visitor of each channel, in :attr:`channel_names` order."""
        return np.array([c.cost_per_visitor for c in self.channels], dtype=np.float64)  # type: ignore[union-attr]

    def daily_per_channel(self) -> np.ndarray:
        """Average visitors per day of each channel before seasonality and growth."""
        channels = self.channels
        assert channels is not None
        if self.visitors_per_day is None:
            return np.array([c.visitors_per_day for c in channels], dtype=np.float64)
        given = sum(c.share for c in channels if c.share is not None)
        free = sum(1 for c in channels if c.share is None)
        rest = (1.0 - given) / free if free else 0.0
        return np.array([self.visitors_per_day * (rest if c.share is None else c.share) for c in channels])

    def _expected(self, start: pd.Timestamp, days: int) -> np.ndarray:
        """Expected arrivals, float64[days, channels], for the ``days`` days from ``start``."""
        base = self.daily_per_channel()
        if self._exact:
            out = np.zeros((days, base.size))
            if days:
                out[0] = base
            return out
        dates = pd.date_range(pd.Timestamp(start).normalize(), periods=days, freq="D")
        weekly = _factors(self.weekly, 7, "weekly")[dates.day_of_week.to_numpy()]
        yearly = _factors(self.yearly, 12, "yearly")[dates.month.to_numpy() - 1]
        growth = (1.0 + self.growth) ** (np.arange(days) / 30.0)
        expected: np.ndarray = (weekly * yearly * growth)[:, None] * base[None, :]
        return expected
