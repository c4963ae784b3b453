"""The starting point of a what-if analysis: a funnel, its traffic, its trigger strategy and
its economics, held together so that a :class:`~funnelkit.forecasting.scenario.Scenario` can
change any of them.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.base import Base
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "paid", 0.02))
    >>> base = Base(funnel, fk.TrafficPlan(1_000))
    >>> base.strategy is None, base.economics.margin
    (True, 0.3)

A base is immutable in the sense that matters: a scenario never changes it, it builds new
objects (the funnel, a mutable object, is copied before any edit).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from funnelkit.funnel import Funnel
from funnelkit.simulation.economics import Economics
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import TrafficPlan

__all__ = ["Base"]


@dataclass(frozen=True)
class Base:
    """A funnel with its traffic, trigger strategy (None: no triggers) and economics.

    Parameters
    ----------
    funnel:
        The funnel (stage values are the average order values).
    traffic:
        Visitors per day per channel, with costs per visitor.
    strategy:
        Triggers and campaigns, or None for none.
    economics:
        Margin and order-value spread.
    """

    funnel: Funnel
    traffic: TrafficPlan
    strategy: Strategy | None = None
    economics: Economics = field(default_factory=Economics)

    def __post_init__(self) -> None:
        checks: tuple[tuple[str, Any, type], ...] = (
            ("funnel", self.funnel, Funnel),
            ("traffic", self.traffic, TrafficPlan),
            ("economics", self.economics, Economics),
        )
        for what, value, kind in checks:
            if not isinstance(value, kind):
                raise TypeError(f"Base.{what} must be a {kind.__name__}, got {type(value).__name__}")
        if self.strategy is not None and not isinstance(self.strategy, Strategy):
            raise TypeError(f"Base.strategy must be a Strategy or None, got {type(self.strategy).__name__}")

    def replace(self, **changes: Any) -> Base:
        """A copy with some parts replaced (``base.replace(economics=Economics(margin=0.4))``)."""
        return dataclasses.replace(self, **changes)

    def copy(self) -> Base:
        """A copy that shares nothing mutable with this base (the funnel is copied)."""
        return dataclasses.replace(self, funnel=self.funnel.copy())
