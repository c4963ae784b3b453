"""Changes to the market side: a channel's traffic and cost per visitor, the margin rate.

    >>> ChannelTraffic("search", factor=2).label()
    'traffic(search) x2'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from funnelkit.forecasting._change import (
    Change,
    ScenarioError,
    UnknownChannelError,
    _amount,
    _factor,
    _name,
    _one_of,
    _times,
)
from funnelkit.forecasting.base import Base
from funnelkit.simulation.traffic import Channel, TrafficPlan

__all__ = ["ChannelCost", "ChannelTraffic", "Margin"]


# -- traffic ---------------------------------------------------------------------------------
def _channel_position(plan: TrafficPlan, channel: str, where: str) -> int:
    names = plan.channel_names
    if channel not in names:
        raise UnknownChannelError(f"{where}: the traffic plan has no channel {channel!r} (channels: "
                                  f"{', '.join(map(repr, names))})", subject=channel)
    return names.index(channel)


@dataclass(frozen=True)
class ChannelTraffic(Change):
    """Multiply a channel's visitors (``factor``) or set its visitors per day
    (``visitors_per_day``); ``channel=None``: the whole plan (channels keep their shares).

    Changing one channel gives every channel its own visitors per day (the plan's total is no
    longer fixed); seasonality, growth and costs are kept.

    >>> ChannelTraffic("search", factor=2).label(), ChannelTraffic(visitors_per_day=500).label()
    ('traffic(search) x2', 'traffic = 500/day')
    """

    kind: ClassVar[str] = "channel_traffic"
    channel: str | None = None
    factor: float | None = None
    visitors_per_day: float | None = None

    def __post_init__(self) -> None:
        if self.channel is not None:
            object.__setattr__(self, "channel", _name(self.channel, "ChannelTraffic.channel"))
        if _one_of(self, "factor", "visitors_per_day") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "ChannelTraffic.factor"))
        else:
            object.__setattr__(self, "visitors_per_day", _amount(self.visitors_per_day,
                                                                 "ChannelTraffic.visitors_per_day"))

    def label(self) -> str:
        what = "traffic" if self.channel is None else f"traffic({self.channel})"
        return f"{what} {_times(self.factor)}" if self.factor is not None else f"{what} = {self.visitors_per_day:g}/day"

    def apply(self, base: Base) -> Base:
        """A new traffic plan with the channel's visitors per day ``v * factor`` or
        ``visitors_per_day``."""
        plan, where = base.traffic, self.label()
        daily = plan.daily_per_channel()
        if self.channel is None:
            total = float(daily.sum())
            new_total = total * self.factor if self.factor is not None else float(self.visitors_per_day or 0.0)
            if plan.visitors_per_day is not None:
                return base.replace(traffic=dataclasses.replace(plan, visitors_per_day=new_total))
            if total == 0.0 and new_total > 0.0:
                raise ScenarioError(f"{where}: the plan has no visitors to scale; set a channel's visitors",
                                    subject=where)
            daily = daily * (new_total / total) if total > 0 else daily
        else:
            i = _channel_position(plan, self.channel, where)
            daily[i] = daily[i] * self.factor if self.factor is not None else float(self.visitors_per_day or 0.0)
        channels = [Channel(c.name, visitors_per_day=float(v), cost_per_visitor=c.cost_per_visitor)
                    for c, v in zip(plan.channels or (), daily, strict=True)]
        return base.replace(traffic=dataclasses.replace(plan, visitors_per_day=None, channels=channels))


@dataclass(frozen=True)
class ChannelCost(Change):
    """Set (``cost_per_visitor``) or multiply (``factor``) what a channel's visitor costs;
    ``channel=None``: every channel.

    >>> ChannelCost("search", cost_per_visitor=0.3).label()
    'cost per visitor(search) = 0.3'
    """

    kind: ClassVar[str] = "channel_cost"
    channel: str | None = None
    cost_per_visitor: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        if self.channel is not None:
            object.__setattr__(self, "channel", _name(self.channel, "ChannelCost.channel"))
        if _one_of(self, "cost_per_visitor", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "ChannelCost.factor"))
        else:
            object.__setattr__(self, "cost_per_visitor", _amount(self.cost_per_visitor,
                                                                 "ChannelCost.cost_per_visitor"))

    def label(self) -> str:
        what = "cost per visitor" if self.channel is None else f"cost per visitor({self.channel})"
        return f"{what} {_times(self.factor)}" if self.factor is not None else f"{what} = {self.cost_per_visitor:g}"

    def apply(self, base: Base) -> Base:
        """A new traffic plan with the channel's cost per visitor changed."""
        plan = base.traffic
        channels = list(plan.channels or ())
        positions = range(len(channels)) if self.channel is None else [
            _channel_position(plan, self.channel, self.label())]
        for i in positions:
            old = channels[i].cost_per_visitor
            new = old * self.factor if self.factor is not None else float(self.cost_per_visitor or 0.0)
            channels[i] = dataclasses.replace(channels[i], cost_per_visitor=new)
        return base.replace(traffic=dataclasses.replace(plan, channels=channels))

# -- economics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Margin(Change):
    """Set (``margin``) or multiply (``factor``) the margin rate, the share of revenue kept;
    the result must stay in [0, 1].

    >>> Margin(0.35).label()
    'margin = 0.35'
    """

    kind: ClassVar[str] = "margin"
    margin: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        if _one_of(self, "margin", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "Margin.factor"))
        else:
            object.__setattr__(self, "margin", _amount(self.margin, "Margin.margin", upper=1.0))

    def label(self) -> str:
        return f"margin {_times(self.factor)}" if self.factor is not None else f"margin = {self.margin:g}"

    def apply(self, base: Base) -> Base:
        """New economics with margin ``m * factor`` or ``margin``."""
        old = base.economics.margin
        new = old * self.factor if self.factor is not None else float(self.margin or 0.0)
        if new > 1.0:
            raise ScenarioError(f"{self.label()}: the margin would be {new:g}, above 1", subject="margin")
        return base.replace(economics=dataclasses.replace(base.economics, margin=new))
