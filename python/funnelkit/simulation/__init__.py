"""Trigger strategies and the shop simulation.

A :class:`Strategy` of :class:`Trigger` s and :class:`Campaign` s (or a ready-made one from
:mod:`funnelkit.simulation.templates`, ``fk.strategies``), a :class:`TrafficPlan`, and a funnel
are what a simulation runs.

    >>> import funnelkit as fk
    >>> fk.strategies.must_have().senders[:2]
    ['abandoned browse', 'abandoned cart']
"""

from __future__ import annotations

from funnelkit.simulation import templates
from funnelkit.simulation._durations import day_length, to_units
from funnelkit.simulation.economics import Economics
from funnelkit.simulation.results import Simulation, StrategyComparison
from funnelkit.simulation.run import compare_strategies, simulate
from funnelkit.simulation.strategy import STRATEGY_FORMAT, STRATEGY_VERSION, Strategy
from funnelkit.simulation.traffic import Channel, TrafficPlan
from funnelkit.simulation.triggers import (
    CHANNELS,
    Audience,
    Campaign,
    ChannelDefaults,
    Condition,
    Message,
    MoveTo,
    OddsMultiplier,
    Trigger,
    TriggerCondition,
    TriggerEffect,
    when,
)

__all__ = [
    "CHANNELS",
    "STRATEGY_FORMAT",
    "STRATEGY_VERSION",
    "Audience",
    "Campaign",
    "Channel",
    "ChannelDefaults",
    "Condition",
    "Economics",
    "Message",
    "MoveTo",
    "OddsMultiplier",
    "Simulation",
    "Strategy",
    "StrategyComparison",
    "TrafficPlan",
    "Trigger",
    "TriggerCondition",
    "TriggerEffect",
    "compare_strategies",
    "day_length",
    "simulate",
    "templates",
    "to_units",
    "when",
]
