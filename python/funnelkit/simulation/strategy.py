"""A trigger strategy: triggers, campaigns and the rules that hold messages back, saved as
versioned JSON and resolved against a funnel for the engine.

    >>> import funnelkit as fk
    >>> strategy = fk.Strategy(
    ...     [fk.Trigger("abandoned cart", fk.when.idle("cart"),
    ...                 [fk.Message(after="20min", effect=fk.OddsMultiplier(1.5, ["checkout"]))])],
    ...     frequency_cap=(3, "7D"), quiet_hours=(22, 8), exclude_stages=["unsubscribed"],
    ... )
    >>> fk.Strategy.from_json(strategy.to_json()) == strategy
    True
    >>> strategy.senders
    ['abandoned cart']

Documents look like ``{"format": "funnelkit-strategy", "version": 1, "name": ..., "triggers":
[...], "campaigns": [...], ...}``; another format or version raises
:class:`~funnelkit.StrategyError`. Stage names are checked against the funnel when the strategy
is simulated (or by :meth:`Strategy.validate`): an unknown one raises
:class:`~funnelkit.UnknownStageError` naming the trigger and the stage.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit._trigger_kinds import _integer
from funnelkit.errors import StrategyError, UnknownStageError
from funnelkit.scoring.base import write_atomically
from funnelkit.simulation._durations import Duration, day_length, duration_json, to_units
from funnelkit.simulation.triggers import (
    Campaign,
    Message,
    MoveTo,
    OddsMultiplier,
    Trigger,
    TriggerCondition,
    TriggerEffect,
)

from funnelkit import _core

if TYPE_CHECKING:
    from funnelkit.funnel import Funnel

__all__ = ["STRATEGY_FORMAT", "STRATEGY_VERSION", "Strategy"]

STRATEGY_FORMAT = "funnelkit-strategy"
STRATEGY_VERSION = 1

_NO_LIMIT = 2**63 - 1
_CONDITION_KINDS = {"enter": "Enter", "idle": "Idle", "purchase": "Purchase", "custom": "Custom"}


@dataclass(frozen=True, slots=True)
class Strategy:
    """Triggers and campaigns with the rules every message obeys.

    Parameters
    ----------
    triggers:
        Behavioural triggers (:class:`~funnelkit.Trigger`).
    campaigns:
        Scheduled sends (:class:`~funnelkit.Campaign`).
    frequency_cap:
        ``(max_messages, period)``: at most that many messages per lead in any window of
        ``period`` (``"7D"``); a message over the cap is dropped, not postponed. None: no cap.
    quiet_hours:
        ``(start_hour, end_hour)`` of the day, e.g. ``(22, 8)`` across midnight: a message due
        then waits for ``end_hour`` and its condition is checked again. None: send any time.
    exclude_stages:
        Leads in these stages get nothing (e.g. ``"unsubscribed"``).
    attribution_window:
        A purchase this soon after a trigger's first message comes due (or a campaign's send)
        counts as its conversion, for treated and control leads alike (uplift); an order the
        message itself causes counts. None: any time before the horizon.
    name:
        A label for results and comparisons.
    """

    triggers: Sequence[Trigger] = ()
    campaigns: Sequence[Campaign] = ()
    frequency_cap: tuple[int, Duration] | None = None
    quiet_hours: tuple[float, float] | None = None
    exclude_stages: Sequence[str] = ()
    attribution_window: Duration | None = "7D"
    name: str = "strategy"

    def __post_init__(self) -> None:
        triggers = (self.triggers,) if isinstance(self.triggers, Trigger) else tuple(self.triggers)
        campaigns = (self.campaigns,) if isinstance(self.campaigns, Campaign) else tuple(self.campaigns)
        for trigger in triggers:
            if not isinstance(trigger, Trigger):
                raise StrategyError(f"triggers must be fk.Trigger objects, got {type(trigger).__name__}",
                                    subject="triggers")
        for campaign in campaigns:
            if not isinstance(campaign, Campaign):
                raise StrategyError(f"campaigns must be fk.Campaign objects, got {type(campaign).__name__}",
                                    subject="campaigns")
        object.__setattr__(self, "triggers", triggers)
        object.__setattr__(self, "campaigns", campaigns)
        seen: set[str] = set()
        for sender in self.senders:
            if sender in seen:
                raise StrategyError(f"two triggers or campaigns are named {sender!r}; names must be unique",
                                    subject=sender)
            seen.add(sender)
        if self.frequency_cap is not None:
            try:
                count, period = self.frequency_cap
            except (TypeError, ValueError) as error:
                raise StrategyError(f"frequency_cap must be (max_messages, period), got {self.frequency_cap!r}",
                                    subject="frequency_cap") from error
            if (_integer(count) or 0) < 1:
                raise StrategyError(f"frequency_cap: max_messages must be a positive integer, got {count!r}",
                                    subject="frequency_cap")
            if to_units(period, "hours", "frequency_cap period") <= 0:
                raise StrategyError("frequency_cap: the period must be positive", subject="frequency_cap")
            object.__setattr__(self, "frequency_cap", (_integer(count), period))
        if self.quiet_hours is not None:
            try:
                begin, end = (float(h) for h in self.quiet_hours)
            except (TypeError, ValueError) as error:
                raise StrategyError(f"quiet_hours must be (start_hour, end_hour), got {self.quiet_hours!r}",
                                    subject="quiet_hours") from error
            if not (0.0 <= begin <= 24.0 and 0.0 <= end <= 24.0) or begin % 24.0 == end % 24.0:
                # 24 is midnight like 0: (0, 24) would be quiet all day and (24, 0) never
                raise StrategyError(f"quiet_hours needs two different times of day in [0, 24], got "
                                    f"{self.quiet_hours!r}", subject="quiet_hours")
            object.__setattr__(self, "quiet_hours", (begin, end))
        stages = (self.exclude_stages,) if isinstance(self.exclude_stages, str) else tuple(self.exclude_stages)
        object.__setattr__(self, "exclude_stages", stages)
        if self.attribution_window is not None:
            to_units(self.attribution_window, "hours", "attribution_window")
        if not isinstance(self.name, str):
            raise StrategyError(f"a strategy name must be a string, got {self.name!r}", subject="name")

    # -- building --------------------------------------------------------------------------
    @staticmethod
    def none(name: str = "no triggers") -> Strategy:
        """The strategy that sends nothing (the usual baseline).

        >>> Strategy.none().senders
        []
        """
        return Strategy(name=name)

    def with_(self, **changes: Any) -> Strategy:
        """A copy with some fields changed (``strategy.with_(quiet_hours=(21, 9))``)."""
        return dataclasses.replace(self, **changes)

    replace = with_

    @property
    def senders(self) -> list[str]:
        """Trigger names, then campaign names: the order of the results' per-sender rows."""
        return [t.name for t in self.triggers] + [c.name for c in self.campaigns]

    # -- documents -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        cap = None
        if self.frequency_cap is not None:
            cap = [self.frequency_cap[0], duration_json(self.frequency_cap[1])]
        return {
            "format": STRATEGY_FORMAT,
            "version": STRATEGY_VERSION,
            "name": self.name,
            "triggers": [t.to_dict() for t in self.triggers],
            "campaigns": [c.to_dict() for c in self.campaigns],
            "frequency_cap": cap,
            "quiet_hours": None if self.quiet_hours is None else list(self.quiet_hours),
            "exclude_stages": list(self.exclude_stages),
            "attribution_window": None if self.attribution_window is None else duration_json(self.attribution_window),
        }

    @staticmethod
    def from_dict(document: Mapping[str, Any]) -> Strategy:
        """The strategy a document describes (see :meth:`to_dict`)."""
        if not isinstance(document, Mapping) or document.get("format") != STRATEGY_FORMAT:
            raise StrategyError(f"not a funnelkit strategy document (format must be {STRATEGY_FORMAT!r})",
                                subject="format")
        if document.get("version") != STRATEGY_VERSION:
            raise StrategyError(
                f"strategy document version {document.get('version')!r}; this funnelkit reads version "
                f"{STRATEGY_VERSION}",
                subject="version",
            )
        known = {"format", "version", "name", "triggers", "campaigns", "frequency_cap", "quiet_hours",
                 "exclude_stages", "attribution_window"}
        unknown = set(document) - known
        if unknown:
            raise StrategyError(f"unknown strategy fields {sorted(unknown)}", subject=sorted(unknown)[0])
        for key in ("triggers", "campaigns"):
            if not isinstance(document.get(key, []), list):
                raise StrategyError(f"'{key}' must be a list", subject=key)
        cap = document.get("frequency_cap")
        hours = document.get("quiet_hours")
        return Strategy(
            triggers=[Trigger.from_dict(t) for t in document.get("triggers", [])],
            campaigns=[Campaign.from_dict(c) for c in document.get("campaigns", [])],
            frequency_cap=None if cap is None else tuple(cap),
            quiet_hours=None if hours is None else tuple(hours),
            exclude_stages=document.get("exclude_stages", ()),
            attribution_window=document.get("attribution_window", "7D"),
            name=document.get("name", "strategy"),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @staticmethod
    def from_json(text: str) -> Strategy:
        try:
            document = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise StrategyError(f"strategy JSON is malformed: {error}") from error
        return Strategy.from_dict(document)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the strategy's JSON document to ``path`` atomically."""
        write_atomically(Path(path), self.to_json().encode())

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Strategy:
        """Read a strategy saved with :meth:`save`."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise StrategyError(f"no strategy file at {os.fspath(path)!r}", subject=os.fspath(path)) from error
        return Strategy.from_json(text)

    # -- display ---------------------------------------------------------------------------
    def to_pandas(self) -> pd.DataFrame:
        """One row per message: sender, condition, step, delay, channel, cost, open, effect.

        >>> Strategy.none().to_pandas().shape[0]
        0
        """
        rows = []
        for trigger in self.triggers:
            condition = trigger.condition
            for k, step in enumerate(trigger.steps):
                rows.append(_row(trigger.name, f"{condition.kind}({', '.join(condition.stages)})", k + 1, step))
        for campaign in self.campaigns:
            rows.append(_row(campaign.name, f"at {', '.join(map(str, campaign.at))}"  # type: ignore[arg-type]
                             + (f" every {campaign.every}" if campaign.every is not None else ""), 1, campaign.message))
        columns = ["sender", "when", "step", "after", "channel", "cost", "delivery", "open", "effect", "discount"]
        return pd.DataFrame(rows, columns=columns)

    def _repr_html_(self) -> str:
        table: str = self.to_pandas().to_html(index=False)
        return f"<p><b>Strategy {self.name!r}</b></p>" + table

    # -- against a funnel ------------------------------------------------------------------
    def validate(self, funnel: Funnel) -> Strategy:
        """Check stage names (and everything else the engine checks) against ``funnel``;
        raises :class:`~funnelkit.UnknownStageError` naming the trigger and the stage."""
        chain = funnel._compiled()
        plain = self._resolve(chain.names, chain.kinds, funnel.time_unit, pd.Timestamp("1970-01-01"),
                              None, None, horizon=0.0)
        _to_engine_error(lambda: _core.validate_strategy(_build(plain, chain.names), chain))
        return self

    def _to_engine(
        self,
        chain: _core.Chain,
        time_unit: str,
        start: pd.Timestamp,
        population_ids: pd.Index | None,
        population_layers: pd.Series | None,
        horizon: float,
    ) -> _core.Strategy:
        """The engine's strategy: stage names resolved to the chain's state indices, durations
        to ``time_unit``, campaign times to the clock (t = 0 at midnight of ``start``'s day),
        recurring campaigns expanded until ``horizon``, audiences of lead ids and layers to
        positions in the population; validated by the engine."""
        plain = self._resolve(chain.names, chain.kinds, time_unit, start, population_ids, population_layers, horizon)
        engine = _build(plain, chain.names)
        _to_engine_error(lambda: _core.validate_strategy(engine, chain))
        return engine

    def _resolve(
        self,
        names: Sequence[str],
        kinds: Sequence[str],
        time_unit: str,
        start: pd.Timestamp,
        population_ids: pd.Index | None,
        population_layers: pd.Series | None,
        horizon: float,
    ) -> dict[str, Any]:
        """Everything the engine's structs hold, as plain Python values (see :func:`_build`)."""
        index = {name: i for i, name in enumerate(names)}
        known = list(names)

        def states(stages: Sequence[str], where: str) -> list[int]:
            out = []
            for stage in stages:
                if stage not in index:
                    raise UnknownStageError(
                        f"{where} names stage {stage!r}, which the funnel does not have (stages: {', '.join(known)})",
                        subject=stage,
                    )
                out.append(index[stage])
            return sorted(set(out))

        def units(value: Duration | None, what: str) -> float:
            return math.inf if value is None else to_units(value, time_unit, what)

        def message(m: Message, where: str) -> dict[str, Any]:
            effect: Any = None
            if isinstance(m.effect, MoveTo):
                effect = ("move", states([m.effect.stage], where)[0], m.effect.probability)
            elif isinstance(m.effect, OddsMultiplier):
                toward = [] if m.effect.toward is None else states(m.effect.toward, where)
                effect = ("odds", m.effect.multiplier, toward)
            elif isinstance(m.effect, TriggerEffect):
                effect = m.effect
            return {
                "delay": units(m.after, f"{where} after"),
                "channel": m.channel,
                "cost": m.cost,
                "delivery": m.delivery,
                "open": m.open,
                "effect": effect,
                "discount": m.discount,
                "offer_valid": units(m.offer_valid, f"{where} offer_valid"),
                "on_site": m.on_site,
            }

        triggers = []
        for trigger in self.triggers:
            where = f"trigger {trigger.name!r}"
            watched = states(trigger.condition.stages, where)
            steps = [message(step, f"{where} step {k + 1}") for k, step in enumerate(trigger.steps)]
            for k in range(1, len(steps)):
                if steps[k]["delay"] < steps[k - 1]["delay"]:
                    raise StrategyError(f"{where}: step {k + 1} is due before step {k} (delays count from the "
                                        "trigger's start and must not decrease)", subject=trigger.name)
            triggers.append({
                "name": trigger.name,
                "condition": _CONDITION_KINDS[trigger.condition.kind],
                "states": watched,
                "custom": trigger.condition.custom,
                "steps": steps,
                "stop_on_purchase": trigger.stop_on_purchase,
                "while_present": trigger.condition.while_present,
                "control_share": trigger.control_share,
                "max_starts": _NO_LIMIT if trigger.max_starts is None else int(trigger.max_starts),
            })

        campaigns = []
        for campaign in self.campaigns:
            where = f"campaign {campaign.name!r}"
            audience = campaign.audience
            leads: set[int] = set()
            if audience.leads:
                if population_ids is None:
                    raise StrategyError(f"{where}: an audience of lead ids needs a population", subject=campaign.name)
                positions = population_ids.get_indexer(pd.Index(audience.leads))
                if (positions < 0).any():
                    missing = [x for x, p in zip(audience.leads, positions) if p < 0]
                    raise StrategyError(f"{where}: lead ids not in the population: {missing[:5]}",
                                        subject=campaign.name)
                leads.update(int(p) for p in positions)
            if audience.layer:
                if population_layers is None:
                    raise StrategyError(
                        f"{where}: an audience by layer needs a population with a 'layer' column "
                        "(fk.assign_layers makes one)",
                        subject=campaign.name,
                    )
                layers = population_layers.astype("string")
                present = set(layers.dropna().unique())
                if isinstance(population_layers.dtype, pd.CategoricalDtype):
                    present |= {str(c) for c in population_layers.cat.categories}
                wanted = list(audience.layer)
                unknown = [layer for layer in wanted if layer not in present]
                if unknown:
                    raise StrategyError(f"{where}: layer {unknown[0]!r} is not in the population "
                                        f"(layers: {', '.join(sorted(present))})", subject=campaign.name)
                mask = layers.isin(wanted).fillna(False).to_numpy(dtype=bool)
                leads.update(int(p) for p in np.flatnonzero(mask))
            low, high = audience.score if audience.score is not None else (math.inf, math.inf)
            campaigns.append({
                "name": campaign.name,
                "times": campaign.times(time_unit, start, horizon),
                "message": message(campaign.message, where),
                "states": states(audience.stages or (), where),
                "leads": sorted(leads),
                "score_low": low,
                "score_high": high,
                "everyone": audience.everyone,
                "control_share": campaign.control_share,
            })

        day = day_length(time_unit)
        cap_messages, cap_period = _NO_LIMIT, math.inf
        if self.frequency_cap is not None:
            cap_messages = self.frequency_cap[0]
            cap_period = to_units(self.frequency_cap[1], time_unit, "frequency_cap period")
        quiet_start = quiet_end = 0.0
        if self.quiet_hours is not None:
            quiet_start, quiet_end = ((h % 24.0) * day / 24.0 for h in self.quiet_hours)
        return {
            "triggers": triggers,
            "campaigns": campaigns,
            "cap_messages": cap_messages,
            "cap_period": cap_period,
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
            "day_length": day,
            "excluded_states": states(self.exclude_stages, "exclude_stages"),
            "attribution_window": units(self.attribution_window, "attribution_window"),
        }


def _row(sender: str, when: str, step: int, m: Message) -> dict[str, Any]:
    effect = m.effect
    text = "" if effect is None else (repr(effect) if isinstance(effect, (MoveTo, OddsMultiplier)) else effect.type_name())
    return {"sender": sender, "when": when, "step": step, "after": m.after, "channel": m.channel, "cost": m.cost,
            "delivery": m.delivery, "open": m.open, "effect": text, "discount": m.discount}


def _to_engine_error(call: Any) -> None:
    """Run an engine check; its FunnelError keeps its class (the binding maps ErrorKind::Strategy
    to StrategyError), anything else that is a ValueError becomes a StrategyError."""
    from funnelkit.errors import FunnelError

    try:
        call()
    except FunnelError:
        raise
    except ValueError as error:
        raise StrategyError(str(error)) from error


# -- the engine's objects ----------------------------------------------------------------------
def _build(plain: Mapping[str, Any], names: Sequence[str]) -> _core.Strategy:
    """The ``_core.Strategy`` holding what :meth:`Strategy._resolve` produced."""
    index = {name: i for i, name in enumerate(names)}

    def message(m: Mapping[str, Any]) -> _core.Message:
        out = _core.Message()
        for key in ("delay", "channel", "cost", "delivery", "open", "discount", "offer_valid", "on_site"):
            setattr(out, key, m[key])
        effect = m["effect"]
        if isinstance(effect, tuple) and effect[0] == "move":
            out.effect = _core.MoveTo(effect[1], effect[2])
        elif isinstance(effect, tuple):
            out.effect = _core.OddsMultiplier(effect[1], list(effect[2]))
        elif effect is not None:
            out.effect = _EngineEffect(effect, index)
        return out

    strategy = _core.Strategy()
    triggers = []
    for t in plain["triggers"]:
        trigger = _core.Trigger()
        trigger.name = t["name"]
        trigger.condition = getattr(_core.ConditionKind, t["condition"])
        trigger.states = list(t["states"])
        if t["custom"] is not None:
            trigger.custom = _EngineCondition(t["custom"])
        trigger.steps = [message(m) for m in t["steps"]]
        trigger.stop_on_purchase = t["stop_on_purchase"]
        trigger.while_present = t["while_present"]
        trigger.control_share = t["control_share"]
        trigger.max_starts = t["max_starts"]
        triggers.append(trigger)
    campaigns = []
    for c in plain["campaigns"]:
        campaign = _core.Campaign()
        campaign.name = c["name"]
        campaign.times = list(c["times"])
        campaign.message = message(c["message"])
        campaign.states = list(c["states"])
        campaign.leads = list(c["leads"])
        campaign.score_low = c["score_low"]
        campaign.score_high = c["score_high"]
        campaign.everyone = c["everyone"]
        campaign.control_share = c["control_share"]
        campaigns.append(campaign)
    strategy.triggers = triggers
    strategy.campaigns = campaigns
    for key in ("cap_messages", "cap_period", "quiet_start", "quiet_end", "day_length", "excluded_states",
                "attribution_window"):
        setattr(strategy, key, plain[key])
    return strategy


class _EngineEffect(_core.TriggerEffect):
    """The engine's view of a Python :class:`~funnelkit.TriggerEffect` (the binding's
    trampoline calls these methods, taking the GIL); a returned stage name becomes its index."""

    def __init__(self, effect: TriggerEffect, index: Mapping[str, int]) -> None:
        super().__init__()
        self.effect = effect
        self.index = index
        self.uses_weights = bool(effect.uses_weights)

    def type_name(self) -> str:
        return self.effect.type_name()

    def params(self) -> dict[str, Any]:
        return self.effect.params()

    def apply(self, lead: _core.LeadContext, weights: np.ndarray, u: float) -> int | None:
        stage = self.effect.apply(lead, weights, u)
        if stage is None:
            return None
        target = self.index.get(stage)
        if target is None:
            raise UnknownStageError(f"effect {self.effect.type_name()} moved a lead to stage {stage!r}, which the "
                                    "funnel does not have", subject=str(stage))
        return target


class _EngineCondition(_core.TriggerCondition):
    """The engine's view of a Python :class:`~funnelkit.TriggerCondition`."""

    def __init__(self, condition: TriggerCondition) -> None:
        super().__init__()
        self.condition = condition

    def type_name(self) -> str:
        return self.condition.type_name()

    def params(self) -> dict[str, Any]:
        return self.condition.params()

    def start(self, lead: _core.LeadContext) -> float | None:
        delay = self.condition.start(lead)
        return None if delay is None else float(delay)

    def holds(self, lead: _core.LeadContext) -> bool:
        return bool(self.condition.holds(lead))
