"""The pieces of a trigger strategy: conditions, messages, their effects, triggers and campaigns.

A :class:`Trigger` watches each lead for its condition (``when.idle("cart")``: still in the cart
stage, no move) and sends its steps, :class:`Message` s, at fixed delays after the condition's
start; a :class:`Campaign` sends one message at given times to an :class:`Audience`. An opened
message acts through its effect: :class:`MoveTo` (a chance of moving the lead to a stage now)
or :class:`OddsMultiplier` (better odds for the lead's next move), or a Python
:class:`TriggerEffect` registered with ``fk.register("trigger_effect", name)``::

    >>> import funnelkit as fk
    >>> cart = fk.Trigger(
    ...     "abandoned cart",
    ...     fk.when.idle("cart"),
    ...     [fk.Message(after="20min", effect=fk.OddsMultiplier(1.5, toward=["checkout"])),
    ...      fk.Message(after="24h", discount=0.1, effect=fk.MoveTo("checkout", 0.1))],
    ... )
    >>> cart.steps[1].open, cart.steps[1].cost   # the e-mail channel's defaults
    (0.4, 0.005)

Delay semantics (the engine tests each one):

* A trigger *starts* at a time t0 given by its condition; step *k* is *due* at t0 + ``after``
  (``Message.after`` counts from the trigger's start, not from the previous step).
* ``when.idle(stages, ...)``: t0 is the entry into one of the stages; a step is sent only if the
  lead is still in that same stay when it is due. A move at exactly the due time comes first
  (nothing is sent). "20 minutes after leaving the cart" is ``when.idle("cart")`` with
  ``after="20min"``: the lead's last action was entering the cart.
* ``when.enter(stages)``: t0 is the entry; steps go out wherever the lead is by then.
* ``when.purchase()``: t0 is every purchase (an entry into a stage with a positive value).
* ``when.inactive()``: idle in any stage that is not a failure stage.
* Follow-ups are further steps of one trigger: with ``stop_on_purchase`` (the default) a step is
  not sent after a purchase made since the trigger's start, so step 2 after ``"24h"`` reaches
  only leads that step 1 did not convert (and, for idle, who are still idle).
* A step due in the strategy's quiet hours is postponed to their end and checked again then; a
  step over the frequency cap is dropped. A control lead (drawn once per lead and trigger with
  ``control_share``) is counted where it would have been messaged and gets nothing.

Channel defaults (:data:`CHANNELS`) are assumptions for a small online shop, not measurements:
replace them with your own rates.
"""

from __future__ import annotations

import datetime
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from funnelkit._trigger_kinds import (
    Effect,
    MoveTo,
    OddsMultiplier,
    TriggerCondition,
    TriggerEffect,
    _integer,
    _nonnegative,
    _number,
    _probability,
    _stages,
)
from funnelkit.errors import StrategyError
from funnelkit.simulation._durations import Duration, duration_json, to_units

__all__ = [
    "CHANNELS",
    "Audience",
    "Campaign",
    "ChannelDefaults",
    "Condition",
    "Effect",
    "Message",
    "MoveTo",
    "OddsMultiplier",
    "Trigger",
    "TriggerCondition",
    "TriggerEffect",
    "when",
]


# -- channels --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChannelDefaults:
    """What a message on a channel costs and how often it is opened, unless the message says."""

    cost: float  #: per message sent, in the funnel's currency
    open: float  #: P(opened | delivered): for ads and popups, the share who click or act on it
    note: str = ""


#: Default cost and open rate per channel. Assumptions (replace them with your own figures):
#: e-mail opens ~40% for trigger letters (shared/DOMAIN.md: abandoned browse ~40% open rate) at
#: about half a cent per message with an e-mail service; SMS is read by most but costs a few
#: cents; push notifications are cheap and rarely tapped; messenger messages are read often at
#: a business-messaging price; a retargeting ad's "open" is a click (about 1%) and its cost the
#: impressions bought per lead; an on-site popup is free and seen by every visitor on the page.
CHANNELS: Mapping[str, ChannelDefaults] = MappingProxyType(
    {
        "email": ChannelDefaults(0.005, 0.40, "trigger letters: ~40% opened (DOMAIN.md)"),
        "sms": ChannelDefaults(0.05, 0.90, "assumption: most SMS are read"),
        "push": ChannelDefaults(0.001, 0.08, "assumption: a few percent tap a push notification"),
        "messenger": ChannelDefaults(0.02, 0.70, "assumption: business-messaging rates"),
        "retargeting": ChannelDefaults(0.05, 0.01, "assumption: ~1% click-through on impressions"),
        "popup": ChannelDefaults(0.0, 1.0, "assumption: shown to everyone still on the site"),
    }
)


def _check_duration(value: Duration, what: str) -> None:
    """Syntax and sign of a duration (both independent of the funnel's unit)."""
    to_units(value, "hours", what)


# -- effects ---------------------------------------------------------------------------------

def effect_to_dict(effect: Effect) -> dict[str, Any]:
    if isinstance(effect, (MoveTo, OddsMultiplier)):
        return effect.to_dict()
    from funnelkit.extension import _is_saveable

    if not _is_saveable("trigger_effect", effect):
        raise StrategyError(
            f"{type(effect).__qualname__} is not registered; register it with "
            "fk.register('trigger_effect', name) to save strategies that use it",
            subject=type(effect).__qualname__,
        )
    return {"type": effect.type_name(), "params": effect.params()}


def effect_from_dict(document: Mapping[str, Any], where: str) -> Effect:
    from funnelkit.extension import registered

    if not isinstance(document, Mapping):
        raise StrategyError(f"{where}: an effect must be an object with a 'type'", subject=where)
    kind = document.get("type")
    try:
        if kind == "move":
            return MoveTo(document["stage"], document["probability"])
        if kind == "odds":
            return OddsMultiplier(document["multiplier"], document.get("toward"))
    except KeyError as error:
        raise StrategyError(f"{where}: effect {kind!r} lacks {error}", subject=where) from error
    except StrategyError as error:
        raise StrategyError(f"{where}: {error}", subject=where) from error
    cls = registered("trigger_effect").get(str(kind))
    if cls is None:
        raise StrategyError(
            f"{where}: unknown effect type {kind!r} (built in: move, odds; register Python effects "
            "with fk.register('trigger_effect', name) before loading)",
            subject=where,
        )
    try:
        return cls(**document.get("params", {}))  # type: ignore[no-any-return]
    except TypeError as error:
        raise StrategyError(f"{where}: cannot rebuild {kind!r}: {error}", subject=where) from error


_KINDS = ("enter", "idle", "purchase", "custom")


# -- conditions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Condition:
    """When a trigger starts; build it with :data:`when` (``when.idle("cart")``, ...).
    ``stages`` empty means every stage that is not a failure stage."""

    kind: str
    stages: tuple[str, ...] = ()
    custom: TriggerCondition | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise StrategyError(f"condition kind must be one of {', '.join(_KINDS)}, got {self.kind!r}",
                                subject="condition")
        if (self.kind == "custom") != (self.custom is not None):
            raise StrategyError("a custom condition (and only it) needs a TriggerCondition", subject="condition")
        if self.custom is not None and not isinstance(self.custom, TriggerCondition):
            raise StrategyError(f"when.custom needs a fk.TriggerCondition, got {type(self.custom).__name__}",
                                subject="condition")
        object.__setattr__(self, "stages", _stages(self.stages, "condition"))

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"kind": self.kind, "stages": list(self.stages)}
        if self.custom is not None:
            from funnelkit.extension import _is_saveable

            if not _is_saveable("trigger_condition", self.custom):
                raise StrategyError(
                    f"{type(self.custom).__qualname__} is not registered; register it with "
                    "fk.register('trigger_condition', name) to save strategies that use it",
                    subject=type(self.custom).__qualname__,
                )
            document["type"] = self.custom.type_name()
            document["params"] = self.custom.params()
        return document

    @staticmethod
    def from_dict(document: Mapping[str, Any], where: str) -> Condition:
        from funnelkit.extension import registered

        if not isinstance(document, Mapping):
            raise StrategyError(f"{where}: a condition must be an object with a 'kind'", subject=where)
        kind = document.get("kind")
        custom = None
        if kind == "custom":
            cls = registered("trigger_condition").get(str(document.get("type")))
            if cls is None:
                raise StrategyError(
                    f"{where}: unknown condition type {document.get('type')!r} (register Python conditions "
                    "with fk.register('trigger_condition', name) before loading)",
                    subject=where,
                )
            try:
                custom = cls(**document.get("params", {}))
            except TypeError as error:
                raise StrategyError(f"{where}: cannot rebuild {document.get('type')!r}: {error}",
                                    subject=where) from error
        try:
            return Condition(str(kind), tuple(document.get("stages") or ()), custom)
        except StrategyError as error:
            raise StrategyError(f"{where}: {error}", subject=where) from error


class when:  # noqa: N801 - reads as English: when.idle("cart")
    """Trigger conditions.

    >>> when.idle("cart")
    Condition(kind='idle', stages=('cart',), custom=None)
    >>> when.purchase().kind, when.inactive().stages
    ('purchase', ())
    """

    @staticmethod
    def idle(stages: str | Sequence[str]) -> Condition:
        """Starts at the entry into one of ``stages``; each step goes out only if the lead is
        still in that stay (no move) when it is due: "20 min after the last action"."""
        return Condition("idle", _stages(stages, "when.idle"))

    @staticmethod
    def enter(stages: str | Sequence[str]) -> Condition:
        """Starts at the entry into one of ``stages``; steps go out wherever the lead is then."""
        return Condition("enter", _stages(stages, "when.enter"))

    @staticmethod
    def purchase() -> Condition:
        """Starts at every purchase: an entry into a stage with a positive value."""
        return Condition("purchase")

    @staticmethod
    def inactive(stages: str | Sequence[str] | None = None) -> Condition:
        """No activity: idle in any of ``stages`` (None: every stage that is not a failure
        stage, success stages included, so "90 days since the last purchase" counts)."""
        return Condition("idle", _stages(stages, "when.inactive"))

    @staticmethod
    def custom(condition: TriggerCondition, stages: str | Sequence[str] | None = None) -> Condition:
        """A Python :class:`TriggerCondition`, asked on entries into ``stages`` (None: every
        stage that is not a failure stage)."""
        return Condition("custom", _stages(stages, "when.custom"), condition)


# -- messages --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Message:
    """One message: when it goes out, on which channel, what it costs and what it does.

    Parameters
    ----------
    after:
        Delay from the trigger's start (not from the previous step): ``"20min"``, ``"24h"``,
        ``"3D"``, a timedelta or a number in the funnel's time unit. In a campaign it shifts
        each send time.
    channel:
        ``"email"``, ``"sms"``, ``"push"``, ``"messenger"``, ``"retargeting"``, ``"popup"`` (see
        :data:`CHANNELS`) or any name, given ``cost`` and ``open``.
    cost:
        Per message sent (None: the channel's default).
    delivery:
        P(delivered).
    open:
        P(opened | delivered) (None: the channel's default).
    effect:
        What an opened message does: :class:`MoveTo`, :class:`OddsMultiplier` or a
        :class:`TriggerEffect`; None: it only costs (and may carry an offer).
    discount:
        Share of the order value given away when a purchase uses the offer (paid only then).
    offer_valid:
        A purchase within this long after the open uses the offer (None: any later purchase).

    >>> m = Message(after="24h", channel="sms", discount=0.1)
    >>> m.cost, m.open, m.delivery
    (0.05, 0.9, 1.0)
    """

    after: Duration = 0.0
    channel: str = "email"
    cost: float | None = None
    delivery: float = 1.0
    open: float | None = None
    effect: Effect | None = None
    discount: float = 0.0
    offer_valid: Duration | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.channel, str) or not self.channel:
            raise StrategyError(f"Message.channel must be a non-empty string, got {self.channel!r}",
                                subject="Message.channel")
        defaults = CHANNELS.get(self.channel)
        if defaults is None and (self.cost is None or self.open is None):
            raise StrategyError(
                f"channel {self.channel!r} has no defaults ({', '.join(CHANNELS)} do): give cost and open",
                subject="Message.channel",
            )
        cost = defaults.cost if self.cost is None else self.cost  # type: ignore[union-attr]
        opened = defaults.open if self.open is None else self.open  # type: ignore[union-attr]
        object.__setattr__(self, "cost", _nonnegative(cost, "Message.cost"))
        object.__setattr__(self, "open", _probability(opened, "Message.open"))
        object.__setattr__(self, "delivery", _probability(self.delivery, "Message.delivery"))
        object.__setattr__(self, "discount", _probability(self.discount, "Message.discount"))
        _check_duration(self.after, "Message.after")
        if self.offer_valid is not None:
            _check_duration(self.offer_valid, "Message.offer_valid")
        if self.effect is not None and not isinstance(self.effect, (MoveTo, OddsMultiplier, TriggerEffect)):
            raise StrategyError(
                f"Message.effect must be MoveTo, OddsMultiplier or a fk.TriggerEffect, got {type(self.effect).__name__}",
                subject="Message.effect",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "after": duration_json(self.after),
            "channel": self.channel,
            "cost": self.cost,
            "delivery": self.delivery,
            "open": self.open,
            "effect": None if self.effect is None else effect_to_dict(self.effect),
            "discount": self.discount,
            "offer_valid": None if self.offer_valid is None else duration_json(self.offer_valid),
        }

    @staticmethod
    def from_dict(document: Mapping[str, Any], where: str) -> Message:
        if not isinstance(document, Mapping):
            raise StrategyError(f"{where}: a message must be an object", subject=where)
        known = {"after", "channel", "cost", "delivery", "open", "effect", "discount", "offer_valid"}
        unknown = set(document) - known
        if unknown:
            raise StrategyError(f"{where}: unknown message fields {sorted(unknown)}", subject=where)
        arguments = dict(document)
        if arguments.get("effect") is not None:
            arguments["effect"] = effect_from_dict(arguments["effect"], where)
        try:
            return Message(**arguments)
        except StrategyError as error:
            raise StrategyError(f"{where}: {error}", subject=where) from error


def _steps(value: Message | Sequence[Message], where: str) -> tuple[Message, ...]:
    steps = (value,) if isinstance(value, Message) else tuple(value)
    if not steps:
        raise StrategyError(f"{where} needs at least one message", subject=where)
    for k, step in enumerate(steps):
        if not isinstance(step, Message):
            raise StrategyError(f"{where} step {k + 1}: expected a fk.Message, got {type(step).__name__}",
                                subject=where)
    return steps


def _comparable(values: Sequence[Duration]) -> list[float] | None:
    """Delays in hours when their order does not depend on the funnel's unit (no bare numbers
    mixed with strings), else None."""
    numeric = [_number(v) is not None and not isinstance(v, np.timedelta64) for v in values]
    if any(numeric) and not all(numeric):
        return None
    return [to_units(v, "hours", "Message.after") for v in values]


@dataclass(frozen=True, slots=True)
class Trigger:
    """A behavioural trigger: a condition and one or more steps (follow-ups).

    Parameters
    ----------
    name:
        Unique within the strategy; names the trigger in results and errors.
    condition:
        When it starts (:data:`when`).
    steps:
        The messages, ``after`` not decreasing; each is due ``after`` the trigger's start.
    stop_on_purchase:
        A step due after a purchase made since the trigger's start is not sent ("step 2 only if
        step 1 did not convert").
    control_share:
        Share of leads (drawn once per lead) held out as a control group, in [0, 1).
    max_starts:
        Times the trigger may start per lead (None: no limit).

    >>> Trigger("welcome", when.enter("lead"), Message()).steps[0].channel
    'email'
    """

    name: str
    condition: Condition
    steps: Sequence[Message]
    stop_on_purchase: bool = True
    control_share: float = 0.0
    max_starts: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise StrategyError(f"a trigger needs a non-empty name, got {self.name!r}", subject="Trigger.name")
        where = f"trigger {self.name!r}"
        if not isinstance(self.condition, Condition):
            raise StrategyError(f"{where}: condition must come from fk.when, got {type(self.condition).__name__}",
                                subject=self.name)
        object.__setattr__(self, "steps", _steps(self.steps, where))
        delays = _comparable([step.after for step in self.steps])
        if delays is not None and any(b < a for a, b in zip(delays, delays[1:])):
            raise StrategyError(f"{where}: step delays must not decrease (each counts from the trigger's start)",
                                subject=self.name)
        object.__setattr__(self, "control_share", _control_share(self.control_share, where, self.name))
        if self.max_starts is not None and (
            (_integer(self.max_starts) or 0) < 1
        ):
            raise StrategyError(f"{where}: max_starts must be a positive integer or None, got {self.max_starts!r}",
                                subject=self.name)
        object.__setattr__(self, "stop_on_purchase", bool(self.stop_on_purchase))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "condition": self.condition.to_dict(),
            "steps": [step.to_dict() for step in self.steps],
            "stop_on_purchase": self.stop_on_purchase,
            "control_share": self.control_share,
            "max_starts": self.max_starts,
        }

    @staticmethod
    def from_dict(document: Mapping[str, Any]) -> Trigger:
        if not isinstance(document, Mapping) or not isinstance(document.get("name"), str):
            raise StrategyError("a trigger must be an object with a string 'name'", subject="triggers")
        where = f"trigger {document['name']!r}"
        steps = document.get("steps")
        if not isinstance(steps, list):
            raise StrategyError(f"{where}: 'steps' must be a list of messages", subject=document["name"])
        return Trigger(
            name=document["name"],
            condition=Condition.from_dict(document.get("condition", {}), where),
            steps=[Message.from_dict(step, f"{where} step {k + 1}") for k, step in enumerate(steps)],
            stop_on_purchase=document.get("stop_on_purchase", True),
            control_share=document.get("control_share", 0.0),
            max_starts=document.get("max_starts"),
        )


def _control_share(value: object, where: str, subject: str) -> float:
    number = _number(value)
    if number is None or not 0.0 <= number < 1.0:
        raise StrategyError(f"{where}: control_share must be in [0, 1) (1 would leave no one to message), "
                            f"got {value!r}", subject=subject)
    return number


# -- campaigns -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Audience:
    """Who a campaign reaches: leads matching any of the criteria given (or everyone).

    Parameters
    ----------
    stages:
        Leads in these stages at the send time.
    leads:
        These lead ids of the simulation's ``population`` (its index).
    layer:
        Population leads in these funnel layers (the population needs a ``layer`` column, as
        :func:`funnelkit.assign_layers` makes); a layer is the one a lead had at the start.
    score:
        ``(low, high)``: leads whose funnel score P(purchase) at the send time is in [low, high).
    everyone:
        Every lead in the funnel (not in an excluded stage).

    >>> Audience(stages="cart").stages
    ('cart',)
    """

    stages: Sequence[str] | None = None
    leads: Sequence[Any] | None = None
    layer: str | Sequence[str] | None = None
    score: tuple[float, float] | None = None
    everyone: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", _stages(self.stages, "Audience.stages") if self.stages is not None else None)
        if self.leads is not None:
            object.__setattr__(self, "leads", tuple(self.leads))
        if self.layer is not None:
            object.__setattr__(self, "layer", _stages(self.layer, "Audience.layer"))
        if self.score is not None:
            try:
                low, high = (float(x) for x in self.score)
            except (TypeError, ValueError) as error:
                raise StrategyError(f"Audience.score must be (low, high), got {self.score!r}",
                                    subject="Audience.score") from error
            if not 0.0 <= low < high <= 1.0:
                raise StrategyError(f"Audience.score needs 0 <= low < high <= 1, got {self.score!r}",
                                    subject="Audience.score")
            object.__setattr__(self, "score", (low, high))
        object.__setattr__(self, "everyone", bool(self.everyone))
        if not (self.stages or self.leads or self.layer or self.score or self.everyone):
            raise StrategyError("an audience needs stages, leads, a layer, a score band or everyone=True",
                                subject="Audience")

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": None if self.stages is None else list(self.stages),
            "leads": None if self.leads is None else [_json_id(x) for x in self.leads],
            "layer": None if self.layer is None else list(self.layer),
            "score": None if self.score is None else list(self.score),
            "everyone": self.everyone,
        }


def _json_id(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


#: A send time: a date (Timestamp, datetime or date string, relative to the simulation's
#: start) or a duration from t = 0 (midnight of the start day).
Time: TypeAlias = str | float | int | pd.Timestamp | Duration


def _time_json(value: Time) -> str | float:
    if isinstance(value, (pd.Timestamp, datetime.datetime, datetime.date)):
        return str(pd.Timestamp(value).isoformat())
    return duration_json(value)


def to_clock(value: Time, time_unit: str, start: pd.Timestamp, what: str) -> float:
    """A send time on the simulation clock (t = 0 at midnight of ``start``'s day)."""
    if isinstance(value, str):
        try:
            return to_units(pd.Timedelta(value), time_unit, what)
        except ValueError:
            pass
        try:
            value = pd.Timestamp(value)
        except ValueError as error:
            raise StrategyError(f"{what}: {value!r} is neither a date nor a duration", subject=what) from error
    if isinstance(value, (pd.Timestamp, datetime.datetime, datetime.date)):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        origin = start.tz_convert("UTC").tz_localize(None) if start.tzinfo is not None else start
        delta = stamp - origin.normalize()
        if delta < pd.Timedelta(0):
            raise StrategyError(f"{what}: {stamp} is before the simulation starts ({origin.normalize().date()})",
                                subject=what)
        return to_units(delta, time_unit, what)
    return to_units(value, time_unit, what)


@dataclass(frozen=True, slots=True)
class Campaign:
    """A scheduled send: one message at given times to an audience.

    Parameters
    ----------
    name:
        Unique within the strategy.
    at:
        When: a date (``"2024-03-01 10:00"``, a Timestamp; relative to the simulation's
        ``start``) or a duration from t = 0, midnight of the start day (``"4D 10h"``, a number
        in the funnel's unit); or a list of them.
    audience:
        Who gets it (:class:`Audience`).
    message:
        What is sent (its ``after`` shifts every send).
    every:
        Repeat at this period from each ``at`` until ``until`` or the horizon.
    until:
        No sends at or after this time (same forms as ``at``).
    control_share:
        Share of the audience held out, in [0, 1).

    >>> friday = Campaign("friday coupon", "4D 10h", Audience(layer="warm"), Message(discount=0.1))
    >>> friday.at
    ('4D 10h',)
    """

    name: str
    at: Time | Sequence[Time]
    audience: Audience
    message: Message
    every: Duration | None = None
    until: Time | None = None
    control_share: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise StrategyError(f"a campaign needs a non-empty name, got {self.name!r}", subject="Campaign.name")
        where = f"campaign {self.name!r}"
        times = tuple(self.at) if isinstance(self.at, (list, tuple)) else (self.at,)
        if not times:
            raise StrategyError(f"{where}: 'at' needs at least one time", subject=self.name)
        object.__setattr__(self, "at", times)
        if not isinstance(self.audience, Audience):
            raise StrategyError(f"{where}: audience must be a fk.Audience", subject=self.name)
        if not isinstance(self.message, Message):
            raise StrategyError(f"{where}: message must be a fk.Message", subject=self.name)
        if self.every is not None:
            _check_duration(self.every, f"{where} every")
            if to_units(self.every, "hours", f"{where} every") <= 0:
                raise StrategyError(f"{where}: 'every' must be a positive period", subject=self.name)
        for time in (*times, *(() if self.until is None else (self.until,))):
            to_clock(time, "hours", pd.Timestamp("1970-01-01"), where)  # syntax and sign
        object.__setattr__(self, "control_share", _control_share(self.control_share, where, self.name))

    def times(self, time_unit: str, start: pd.Timestamp, horizon: float) -> list[float]:
        """Every send time on the clock before ``horizon``, ``until`` and the message's
        ``after`` applied, sorted."""
        where = f"campaign {self.name!r}"
        shift = to_units(self.message.after, time_unit, f"{where} message.after")
        until = horizon if self.until is None else min(horizon, to_clock(self.until, time_unit, start, where))
        period = None if self.every is None else to_units(self.every, time_unit, f"{where} every")
        out: list[float] = []
        for at in self.at:  # type: ignore[union-attr]
            t = to_clock(at, time_unit, start, where) + shift
            while t < until:
                out.append(t)
                if period is None:
                    break
                t += period
                if len(out) > 1_000_000:
                    raise StrategyError(f"{where}: more than a million sends; is 'every' too short?",
                                        subject=self.name)
        return sorted(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "at": [_time_json(t) for t in self.at],  # type: ignore[union-attr]
            "audience": self.audience.to_dict(),
            "message": self.message.to_dict(),
            "every": None if self.every is None else duration_json(self.every),
            "until": None if self.until is None else _time_json(self.until),
            "control_share": self.control_share,
        }

    @staticmethod
    def from_dict(document: Mapping[str, Any]) -> Campaign:
        if not isinstance(document, Mapping) or not isinstance(document.get("name"), str):
            raise StrategyError("a campaign must be an object with a string 'name'", subject="campaigns")
        where = f"campaign {document['name']!r}"
        audience = document.get("audience")
        if not isinstance(audience, Mapping):
            raise StrategyError(f"{where}: 'audience' must be an object", subject=document["name"])
        try:
            aud = Audience(**audience)
        except (StrategyError, TypeError) as error:
            raise StrategyError(f"{where}: {error}", subject=document["name"]) from error
        return Campaign(
            name=document["name"],
            at=document.get("at", ()),
            audience=aud,
            message=Message.from_dict(document.get("message", {}), f"{where} message"),
            every=document.get("every"),
            until=document.get("until"),
            control_share=document.get("control_share", 0.0),
        )

