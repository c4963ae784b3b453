"""Changes to the trigger strategy, by trigger (or campaign) name: a step's delay, discount or
effect, a trigger switched off, control shares.

    >>> TriggerOff("abandoned cart").label()
    "'abandoned cart' off"
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from funnelkit._edges import is_real_number
from funnelkit._trigger_kinds import Effect, MoveTo, OddsMultiplier, TriggerEffect
from funnelkit.errors import StrategyError, UnknownStageError
from funnelkit.forecasting._change import (
    Change,
    ScenarioError,
    UnknownTriggerError,
    _amount,
    _factor,
    _name,
    _one_of,
    _times,
)
from funnelkit.forecasting.base import Base
from funnelkit.simulation._durations import Duration, duration_json, to_units
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.triggers import Campaign, Message, Trigger, effect_from_dict, effect_to_dict

__all__ = ["ControlShare", "MessageEffect", "TriggerDelay", "TriggerDiscount", "TriggerOff"]


# -- the trigger strategy --------------------------------------------------------------------
def _strategy(base: Base, where: str) -> Strategy:
    if base.strategy is None:
        raise ScenarioError(f"{where}: the base has no trigger strategy", subject=where)
    return base.strategy


def _sender(strategy: Strategy, name: str, where: str) -> Trigger | Campaign:
    senders: list[Trigger | Campaign] = [*strategy.triggers, *strategy.campaigns]
    for sender in senders:
        if sender.name == name:
            return sender
    raise UnknownTriggerError(f"{where}: the strategy has no trigger or campaign {name!r} (it has: "
                              f"{', '.join(map(repr, strategy.senders)) or 'none'})", subject=name)


def _with_sender(strategy: Strategy, name: str, new: Trigger | Campaign | None) -> Strategy:
    """The strategy with sender ``name`` replaced by ``new`` (None: removed)."""
    triggers = [new if t.name == name else t for t in strategy.triggers]
    campaigns = [new if c.name == name else c for c in strategy.campaigns]
    return strategy.with_(triggers=[t for t in triggers if t is not None],
                          campaigns=[c for c in campaigns if c is not None])


def _edit_steps(sender: Trigger | Campaign, step: int | None, edit: Callable[[Message], Message],
                where: str) -> Trigger | Campaign:
    try:
        if isinstance(sender, Campaign):
            if step not in (None, 1):
                raise ScenarioError(f"{where}: campaign {sender.name!r} has one message (step 1), not step {step}",
                                    subject=sender.name)
            return dataclasses.replace(sender, message=edit(sender.message))
        steps = list(sender.steps)
        if step is not None and not 1 <= step <= len(steps):
            raise ScenarioError(f"{where}: trigger {sender.name!r} has steps 1 to {len(steps)}, not {step}",
                                subject=sender.name)
        for k in range(len(steps)) if step is None else [step - 1]:
            steps[k] = edit(steps[k])
        return dataclasses.replace(sender, steps=steps)
    except StrategyError as error:
        if isinstance(error, ScenarioError):
            raise
        raise StrategyError(f"{where}: {error}", subject=error.subject) from error


def _edit_messages(base: Base, trigger: str, step: int | None, where: str, edit: Callable[[Message], Message]) -> Base:
    """``base`` with ``edit`` applied to the trigger's step (None: every step) or campaign message."""
    strategy = _strategy(base, where)
    sender = _sender(strategy, trigger, where)
    return base.replace(strategy=_with_sender(strategy, trigger, _edit_steps(sender, step, edit, where)))


def _which(trigger: str, step: int | None) -> str:
    """How a label names a trigger's step(s)."""
    return f"{trigger!r}" + ("" if step is None else f" step {step}")


def _step(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ScenarioError(f"{where}: step must be a positive integer (1 is the first message) or None, "
                            f"got {value!r}", subject=where)
    return int(value)


def _scale_duration(value: Duration, factor: float) -> Duration:
    """``value * factor``: numbers stay numbers (in the funnel's unit), anything else becomes
    a :class:`pandas.Timedelta`."""
    if is_real_number(value):
        return float(value) * factor  # type: ignore[arg-type]
    hours = to_units(value, "hours", "Message.after")
    return pd.Timedelta(hours=hours * factor)


@dataclass(frozen=True)
class TriggerDelay(Change):
    """Set (``after``: ``"2h"``, a timedelta or a number in the funnel's unit) or multiply
    (``factor``) when a trigger's step goes out, counted from the trigger's start; ``step``
    (from 1) picks one message, None every message. A campaign's message delay shifts its
    sends. Steps must stay in order (else :class:`~funnelkit.StrategyError`).

    >>> TriggerDelay("abandoned cart", after="2h", step=1).label()
    "after('abandoned cart' step 1) = 2h"
    """

    kind: ClassVar[str] = "trigger_delay"
    trigger: str
    after: Duration | None = None
    factor: float | None = None
    step: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "TriggerDelay.trigger"))
        object.__setattr__(self, "step", _step(self.step, "TriggerDelay.step"))
        if _one_of(self, "after", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "TriggerDelay.factor"))
        else:
            to_units(self.after, "hours", "TriggerDelay.after")

    def label(self) -> str:
        which = _which(self.trigger, self.step)
        if self.factor is not None:
            return f"after({which}) {_times(self.factor)}"
        shown = self.after if isinstance(self.after, (str, int, float)) else duration_json(self.after)
        return f"after({which}) = {shown}"

    def apply(self, base: Base) -> Base:
        """A new strategy whose step(s) go out ``after`` (or ``after * factor``) from the start."""
        def edit(message: Message) -> Message:
            after = _scale_duration(message.after, self.factor) if self.factor is not None else self.after
            return dataclasses.replace(message, after=after)

        return _edit_messages(base, self.trigger, self.step, self.label(), edit)


@dataclass(frozen=True)
class TriggerDiscount(Change):
    """Set the discount (share of the order value given away when the offer is used) of a
    trigger's step (from 1; None: every step) or a campaign's message.

    >>> TriggerDiscount("abandoned cart", 0.1).label()
    "discount('abandoned cart') = 0.1"
    """

    kind: ClassVar[str] = "trigger_discount"
    trigger: str
    discount: float
    step: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "TriggerDiscount.trigger"))
        object.__setattr__(self, "discount", _amount(self.discount, "TriggerDiscount.discount", upper=1.0))
        object.__setattr__(self, "step", _step(self.step, "TriggerDiscount.step"))

    def label(self) -> str:
        which = _which(self.trigger, self.step)
        return f"discount({which}) = {self.discount:g}"

    def apply(self, base: Base) -> Base:
        """A new strategy with the step's (or steps') discount set."""
        return _edit_messages(base, self.trigger, self.step, self.label(),
                              lambda m: dataclasses.replace(m, discount=self.discount))


def _effect_label(effect: Effect | None) -> str:
    if effect is None:
        return "none"
    if isinstance(effect, MoveTo):
        return f"move to {effect.stage} p={effect.probability:g}"
    if isinstance(effect, OddsMultiplier):
        toward = "" if effect.toward is None else f" toward {', '.join(effect.toward)}"
        return f"odds x{effect.multiplier:g}{toward}"
    return f"{effect.type_name()}({', '.join(f'{k}={v!r}' for k, v in effect.params().items())})"


@dataclass(frozen=True)
class MessageEffect(Change):
    """Set what an opened message does: the ``effect`` (:class:`~funnelkit.MoveTo`,
    :class:`~funnelkit.OddsMultiplier`, a registered :class:`~funnelkit.TriggerEffect`, or
    None: the message only costs and carries its offer) of a trigger's step (from 1; None:
    every step) or of a campaign's message (step 1 or None).

    An offer's response to its discount is an assumption a shop measures; pairing this change
    with :class:`TriggerDiscount` on one grid or search axis (a list of changes made together)
    makes each discount carry its own response:

    >>> import funnelkit as fk
    >>> offer = lambda d: [TriggerDiscount("abandoned cart", d, step=2),
    ...                    MessageEffect("abandoned cart", 2, fk.MoveTo("checkout", 0.10 + 0.8 * d))]
    >>> [c.label() for c in offer(0.1)]
    ["discount('abandoned cart' step 2) = 0.1", "effect('abandoned cart' step 2) = move to checkout p=0.18"]

    In a scenario document the effect is written as in a strategy document
    (``{"type": "move", "stage": "checkout", "probability": 0.18}``); a Python effect must be
    registered to be saved.
    """

    kind: ClassVar[str] = "message_effect"
    trigger: str
    step: int | None
    effect: Effect | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "MessageEffect.trigger"))
        object.__setattr__(self, "step", _step(self.step, "MessageEffect.step"))
        effect: Any = self.effect
        if isinstance(effect, Mapping):  # from a scenario document
            effect = effect_from_dict(effect, "MessageEffect.effect")
        if effect is not None and not isinstance(effect, (MoveTo, OddsMultiplier, TriggerEffect)):
            raise ScenarioError(f"MessageEffect.effect must be MoveTo, OddsMultiplier, a fk.TriggerEffect or None, "
                                f"got {type(effect).__name__}", subject="MessageEffect.effect")
        object.__setattr__(self, "effect", effect)

    def label(self) -> str:
        which = _which(self.trigger, self.step)
        return f"effect({which}) = {_effect_label(self.effect)}"

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "message_effect", "trigger": ..., "step": ..., "effect": {...} or None}``."""
        return {"kind": self.kind, "trigger": self.trigger, "step": self.step,
                "effect": None if self.effect is None else effect_to_dict(self.effect)}

    def apply(self, base: Base) -> Base:
        """A new strategy whose step(s) have the effect; the stages it names must be the funnel's."""
        where = self.label()
        strategy = _strategy(base, where)
        sender = _sender(strategy, self.trigger, where)
        named = ([self.effect.stage] if isinstance(self.effect, MoveTo) else
                 list(self.effect.toward or []) if isinstance(self.effect, OddsMultiplier) else [])
        for stage in named:
            if stage not in base.funnel:
                raise UnknownStageError(f"{where}: the funnel has no stage {stage!r}", subject=stage)
        edited = _edit_steps(sender, self.step, lambda m: dataclasses.replace(m, effect=self.effect), where)
        return base.replace(strategy=_with_sender(strategy, self.trigger, edited))


@dataclass(frozen=True)
class MessageChannel(Change):
    """Send a trigger's step (from 1; None: every step) or a campaign's message on another
    ``channel``, at that channel's default cost and open rate unless ``cost`` / ``open`` are
    given (:data:`funnelkit.simulation.triggers.CHANNELS`).

    >>> MessageChannel("abandoned cart", "sms").label()
    "channel('abandoned cart') = sms"
    """

    kind: ClassVar[str] = "message_channel"
    trigger: str
    channel: str
    step: int | None = None
    cost: float | None = None
    open: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "MessageChannel.trigger"))
        object.__setattr__(self, "channel", _name(self.channel, "MessageChannel.channel"))
        object.__setattr__(self, "step", _step(self.step, "MessageChannel.step"))
        if self.cost is not None:
            object.__setattr__(self, "cost", _amount(self.cost, "MessageChannel.cost"))
        if self.open is not None:
            object.__setattr__(self, "open", _amount(self.open, "MessageChannel.open", upper=1.0))

    def label(self) -> str:
        which = _which(self.trigger, self.step)
        own = [f"{name} {value:g}" for name, value in (("cost", self.cost), ("open", self.open)) if value is not None]
        return f"channel({which}) = {self.channel}" + (f" ({', '.join(own)})" if own else "")

    def apply(self, base: Base) -> Base:
        """A new strategy whose step(s) go out on the channel."""
        return _edit_messages(base, self.trigger, self.step, self.label(), lambda m: dataclasses.replace(
            m, channel=self.channel, cost=self.cost, open=self.open))


@dataclass(frozen=True)
class TriggerOff(Change):
    """Switch a trigger (or campaign) off: the strategy without it.

    >>> TriggerOff("abandoned cart").label()
    "'abandoned cart' off"
    """

    kind: ClassVar[str] = "trigger_off"
    trigger: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "TriggerOff.trigger"))

    def label(self) -> str:
        return f"{self.trigger!r} off"

    def apply(self, base: Base) -> Base:
        """A new strategy without the trigger."""
        where = self.label()
        strategy = _strategy(base, where)
        _sender(strategy, self.trigger, where)
        return base.replace(strategy=_with_sender(strategy, self.trigger, None))


@dataclass(frozen=True)
class ControlShare(Change):
    """Set the control share (leads held out, in [0, 1)) of a trigger or campaign; None:
    every trigger and campaign.

    >>> ControlShare(0.2, "abandoned cart").label()
    "control share('abandoned cart') = 0.2"
    """

    kind: ClassVar[str] = "control_share"
    share: float
    trigger: str | None = None

    def __post_init__(self) -> None:
        share = _amount(self.share, "ControlShare.share", upper=1.0)
        if share >= 1.0:
            raise ScenarioError("ControlShare.share must be below 1 (1 would leave no one to message)",
                                subject="ControlShare.share")
        object.__setattr__(self, "share", share)
        if self.trigger is not None:
            object.__setattr__(self, "trigger", _name(self.trigger, "ControlShare.trigger"))

    def label(self) -> str:
        which = "" if self.trigger is None else f"({self.trigger!r})"
        return f"control share{which} = {self.share:g}"

    def apply(self, base: Base) -> Base:
        """A new strategy with the control share(s) set."""
        where = self.label()
        strategy = _strategy(base, where)
        names = strategy.senders if self.trigger is None else [_sender(strategy, self.trigger, where).name]
        for name in names:
            sender = _sender(strategy, name, where)
            strategy = _with_sender(strategy, name, dataclasses.replace(sender, control_share=self.share))
        return base.replace(strategy=strategy)
