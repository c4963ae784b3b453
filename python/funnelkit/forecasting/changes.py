"""What a what-if scenario can change: small frozen records, each with an ``apply(base)`` that
returns a new :class:`~funnelkit.forecasting.base.Base` and never touches the one it was given.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.base import Base
    >>> from funnelkit.forecasting.changes import EdgeProbability
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("cart")
    ...           .add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))
    >>> base = Base(funnel, fk.TrafficPlan(1_000))
    >>> better = EdgeProbability("cart", "paid", factor=1.1)       # +10% relative
    >>> better.label()
    'p(cart -> paid) x1.1'
    >>> round(better.apply(base).funnel.analyze().success_probability, 12)   # 0.2 * 0.33
    0.066
    >>> base.funnel.edges[1].probability                              # the base is unchanged
    0.3

The remainder rule
------------------
A stage's edges may sum below 1; what is left over follows the funnel's remainder rule. Under
``remainder="drop"`` the leftover is the chance of leaving at that stage, so a change to one
edge moves the difference to (or from) that leftover and the other edges keep their
probabilities. Under ``remainder="strict"`` the row's edge to the drop stage is the leftover:
it takes the difference (the edge is added when the drop stage is a real stage and the row has
none). Either way a row that would sum above 1 raises the funnel's own
:class:`~funnelkit.RowSumError` naming the stage.

Every change checks its numbers when built (a factor must be finite and > 0:
:class:`ScenarioError`) and its names when applied: an unknown stage raises
:class:`~funnelkit.UnknownStageError`, an unknown edge :class:`UnknownEdgeError`, an unknown
channel :class:`UnknownChannelError`, an unknown trigger or campaign
:class:`UnknownTriggerError`; all are ``ValueError`` s whose ``subject`` is the name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from funnelkit.forecasting._change import (
    Change,
    ScenarioError,
    ScenarioFormatError,
    UnknownChannelError,
    UnknownEdgeError,
    UnknownTriggerError,
)
from funnelkit.forecasting.funnel_changes import (
    EdgeProbability,
    OrderValue,
    RemoveEdge,
    Reroute,
    ScaleDelay,
    ScaleHolding,
    scale_distribution,
)
from funnelkit.forecasting.market_changes import ChannelCost, ChannelTraffic, Margin
from funnelkit.forecasting.strategy_changes import (
    ControlShare,
    MessageChannel,
    MessageEffect,
    TriggerDelay,
    TriggerDiscount,
    TriggerOff,
)

__all__ = [
    "CHANGES",
    "Change",
    "ChannelCost",
    "ChannelTraffic",
    "ControlShare",
    "EdgeProbability",
    "Margin",
    "MessageChannel",
    "MessageEffect",
    "OrderValue",
    "RemoveEdge",
    "Reroute",
    "ScaleDelay",
    "ScaleHolding",
    "ScenarioError",
    "ScenarioFormatError",
    "TriggerDelay",
    "TriggerDiscount",
    "TriggerOff",
    "UnknownChannelError",
    "UnknownEdgeError",
    "UnknownTriggerError",
    "change_from_dict",
    "scale_distribution",
]


# -- documents -------------------------------------------------------------------------------
#: Every change by its ``kind`` in scenario documents.
CHANGES: Mapping[str, type[Change]] = {
    cls.kind: cls
    for cls in (EdgeProbability, RemoveEdge, Reroute, ScaleHolding, ScaleDelay, OrderValue, ChannelTraffic,
                ChannelCost, Margin, TriggerDelay, TriggerDiscount, MessageEffect, MessageChannel, TriggerOff,
                ControlShare)
}


def change_from_dict(document: Mapping[str, Any], where: str = "change") -> Change:
    """The change a ``{"kind": ..., ...}`` document describes (see :meth:`Change.to_dict`).

    >>> change_from_dict({"kind": "margin", "margin": 0.4})
    Margin(margin=0.4, factor=None)
    """
    if not isinstance(document, Mapping):
        raise ScenarioFormatError(f"{where}: a change must be an object with a 'kind'", subject=where)
    cls = CHANGES.get(str(document.get("kind")))
    if cls is None:
        raise ScenarioFormatError(f"{where}: unknown change kind {document.get('kind')!r} (kinds: "
                                  f"{', '.join(CHANGES)})", subject=where)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    arguments = {k: v for k, v in document.items() if k != "kind"}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ScenarioFormatError(f"{where}: unknown fields {unknown} for a {cls.kind!r} change", subject=where)
    try:
        return cls(**arguments)
    except TypeError as error:
        raise ScenarioFormatError(f"{where}: {error}", subject=where) from error
