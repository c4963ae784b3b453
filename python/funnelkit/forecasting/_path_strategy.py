"""What of a strategy the expected path follows: its message steps, control shares and
campaign sends translated for ``_core.expected_path``, and what it leaves to the simulation.

The rules (docs/forecast.md, "What of a strategy the path follows"):

* idle triggers: every step is a step on the watched stages (moves and odds tilts);
* purchase triggers, when every purchase stage is an end stage: steps on the purchase stages
  (buyers stay there until a message moves them);
* campaigns with a move effect whose audience is stages (or everyone): a send per date,
  unless a lead of the audience may still be waiting for a message the path cannot cancel
  (a purchase trigger's step, or an idle step reaching dropped-out leads), or a recurring
  campaign has a control group (the path would draw it afresh each time). A campaign whose
  message only costs is a send that moves no one: it counts messages anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from funnelkit import _core
from funnelkit.simulation.strategy import Strategy

__all__ = ["PathPlan", "PathSend", "PathStep", "path_plan"]

#: (state, delay, trigger, reach, target or -1 for an odds tilt, multiplier, toward)
PathStep = tuple[int, float, int, float, int, float, list[int]]
#: (time, audience states, target, reach (0: a message that only costs), treated share)
PathSend = tuple[float, list[int], int, float, float]
_NEVER = 2**63 - 1


@dataclass
class PathPlan:
    steps: list[PathStep] = field(default_factory=list)
    treated: list[float] = field(default_factory=list)
    sends: list[PathSend] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    #: per step, then per send: the message's cost
    costs: list[float] = field(default_factory=list)
    #: each day's arrivals at its start (a cohort plan), not spread over the day
    at_start: bool = False

    def key(self) -> str:
        """A hashable summary: equal plans give equal paths (the costs are not in the path)."""
        return repr((self.steps, self.treated, self.sends, self.at_start))


def path_plan(strategy: Strategy, chain: _core.Chain, unit: str, origin: pd.Timestamp, span: float) -> PathPlan:
    engine = strategy._to_engine(chain, unit, origin, None, None, span)
    kinds = list(chain.kinds)
    purchases = [s for s, value in enumerate(chain.values) if value > 0]
    buyers_stay = bool(purchases) and all(kinds[s] != "transient" for s in purchases)
    drop = chain.drop_state
    excluded = set(engine.excluded_states)
    plan = PathPlan()
    if engine.quiet_start != engine.quiet_end:
        plan.left_out.append("quiet hours")
    if engine.cap_messages < _NEVER:
        plan.left_out.append("the frequency cap")
    rows, columns, chances = chain.transition_triplets()
    dropping = {int(r) for r, c, p in zip(rows, columns, chances, strict=True) if c == drop and p > 0}
    unsure: set[int] = set()  # stages whose leads may wait for a message a send cannot cancel
    for k, trigger in enumerate(engine.triggers):
        plan.treated.append(1.0 - trigger.control_share)
        effects = [step.effect for step in trigger.steps]
        known = all(e is None or isinstance(e, (_core.MoveTo, _core.OddsMultiplier)) for e in effects)
        purchase = trigger.condition == _core.ConditionKind.Purchase
        if trigger.condition == _core.ConditionKind.Idle and not trigger.while_present:
            states = list(trigger.states) or [s for s, kind in enumerate(kinds) if kind != "failure"]
        elif purchase and buyers_stay and not any(isinstance(e, _core.MoveTo) for e in effects[:-1]):
            # Buyers stay on an end stage until a message moves them: the trigger's steps are
            # idle steps there (exact while no other message has taken the buyer away).
            states = purchases
        else:
            states = []
        if not states or not known or trigger.max_starts < _NEVER:
            plan.left_out.append(f"trigger {trigger.name!r}")
            continue
        states = [s for s in states if s not in excluded]  # they get no message
        # Idle leads who dropped out still get the steps, unless the drop stage is excluded.
        if drop in excluded and not purchase and any(s in dropping for s in states):
            plan.left_out.append(f"trigger {trigger.name!r}")
            continue
        for s in states:
            if purchase:
                unsure.add(s)
            elif drop is not None and s in dropping:  # its dropped-out leads wait in the drop stage
                unsure.update((s, drop))
        for step in trigger.steps:
            reach = step.delivery * step.open
            for s in states:
                if isinstance(step.effect, _core.MoveTo):
                    plan.steps.append((s, step.delay, k, reach * step.effect.probability, step.effect.target, 1.0, []))
                elif isinstance(step.effect, _core.OddsMultiplier):
                    params = step.effect.params()
                    tilt = float(params["multiplier"])
                    plan.steps.append((s, step.delay, k, reach, -1, tilt, list(params["toward"])))
                else:  # a message that only costs (a tilt by 1)
                    plan.steps.append((s, step.delay, k, 0.0, -1, 1.0, []))
                plan.costs.append(step.cost)
    for campaign in engine.campaigns:
        effect = campaign.message.effect
        audience = list(range(len(kinds))) if campaign.everyone else list(campaign.states)
        audience = [s for s in audience if s not in excluded]
        moves = isinstance(effect, _core.MoveTo)
        if ((effect is not None and not moves) or list(campaign.leads) or campaign.score_low != float("inf")
                or (moves and campaign.control_share > 0 and len(campaign.times) > 1)
                or (moves and unsure.intersection(audience))):
            plan.left_out.append(f"campaign {campaign.name!r}")
            continue
        treated = 1.0 - campaign.control_share
        message = campaign.message
        reach, target = 0.0, 0  # a message that only costs
        if isinstance(effect, _core.MoveTo):
            reach, target = treated * message.delivery * message.open * effect.probability, effect.target
        plan.sends.extend((float(t), audience, target, reach, treated) for t in campaign.times)
        plan.costs.extend(message.cost for _ in campaign.times)
    return plan
