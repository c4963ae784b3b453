"""Trigger strategies as data: durations, validation with errors naming the trigger and field,
the versioned JSON document, and resolution against a funnel for the engine."""

from __future__ import annotations

import datetime
import math
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit import _core
from funnelkit.simulation import CHANNELS, day_length, to_units


# -- durations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("20min", "hours", 1 / 3),
        ("24h", "hours", 24.0),
        ("3D", "hours", 72.0),
        ("90 days", "days", 90.0),
        ("20min", "minutes", 20.0),
        ("1h30min", "minutes", 90.0),
        ("2W", "days", 14.0),
        ("15s", "seconds", 15.0),
        (datetime.timedelta(minutes=20), "hours", 1 / 3),
        (pd.Timedelta("12h"), "days", 0.5),
        (np.timedelta64(6, "h"), "days", 0.25),
        (1.5, "hours", 1.5),  # numbers are already in the funnel's unit
        (7, "days", 7.0),
        (math.inf, "hours", math.inf),
    ],
)
def test_durations_in_the_funnels_unit(value: Any, unit: str, expected: float) -> None:
    assert to_units(value, unit, "delay") == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("value", ["-5min", -1.0, math.nan, "soon", True, None])
def test_bad_durations_name_what(value: Any) -> None:
    with pytest.raises(fk.StrategyError, match="^Message.after") as info:
        to_units(value, "hours", "Message.after")
    assert info.value.subject == "Message.after"
    assert isinstance(info.value, ValueError)


def test_day_length_per_unit() -> None:
    assert [day_length(u) for u in ("hours", "days", "minutes", "weeks", "seconds")] == [
        24.0, 1.0, 1440.0, 1 / 7, 86_400.0
    ]
    with pytest.raises(ValueError, match="fortnights"):
        day_length("fortnights")


# -- messages, triggers, campaigns ------------------------------------------------------------
def test_message_takes_its_channels_defaults_unless_given() -> None:
    assert (fk.Message().cost, fk.Message().open) == (CHANNELS["email"].cost, CHANNELS["email"].open) == (0.005, 0.4)
    sms = fk.Message(channel="sms", cost=0.1)
    assert (sms.cost, sms.open) == (0.1, CHANNELS["sms"].open)
    assert fk.Message(channel="letter", cost=1.0, open=0.5).open == 0.5
    with pytest.raises(fk.StrategyError, match="'letter' has no defaults"):
        fk.Message(channel="letter")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"open": 1.5}, "Message.open"),
        ({"delivery": -0.1}, "Message.delivery"),
        ({"discount": 1.2}, "Message.discount"),
        ({"cost": -1.0}, "Message.cost"),
        ({"cost": math.nan}, "Message.cost"),
        ({"after": "-20min"}, "Message.after"),
        ({"after": -3}, "Message.after"),
        ({"offer_valid": "never"}, "Message.offer_valid"),
        ({"effect": "checkout"}, "Message.effect"),
    ],
)
def test_bad_messages_name_the_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(fk.StrategyError) as info:
        fk.Message(**arguments)
    assert info.value.subject == field and field in str(info.value)


def test_effects_check_their_numbers() -> None:
    with pytest.raises(fk.StrategyError, match="MoveTo.probability"):
        fk.MoveTo("checkout", 1.1)
    with pytest.raises(fk.StrategyError, match="multiplier"):
        fk.OddsMultiplier(-2.0)
    assert fk.OddsMultiplier(2, "cart").toward == ("cart",)


def test_bad_triggers_name_the_trigger() -> None:
    step = fk.Message(after="20min")
    with pytest.raises(fk.StrategyError, match="trigger 'cart'.*control_share") as info:
        fk.Trigger("cart", fk.when.idle("cart"), [step], control_share=1.0)
    assert info.value.subject == "cart"
    with pytest.raises(fk.StrategyError, match="trigger 'cart'.*must not decrease"):
        fk.Trigger("cart", fk.when.idle("cart"), [fk.Message(after="24h"), step])
    with pytest.raises(fk.StrategyError, match="max_starts"):
        fk.Trigger("cart", fk.when.idle("cart"), [step], max_starts=0)
    with pytest.raises(fk.StrategyError, match="at least one message"):
        fk.Trigger("cart", fk.when.idle("cart"), [])
    with pytest.raises(fk.StrategyError, match="fk.when"):
        fk.Trigger("cart", "cart", [step])  # type: ignore[arg-type]
    # one message is a one-step trigger
    assert len(fk.Trigger("cart", fk.when.idle("cart"), step).steps) == 1


def test_strategy_rules_are_checked() -> None:
    trigger = fk.Trigger("t", fk.when.enter("lead"), fk.Message())
    with pytest.raises(fk.StrategyError, match="unique"):
        fk.Strategy([trigger, trigger])
    with pytest.raises(fk.StrategyError, match="quiet_hours"):
        fk.Strategy(quiet_hours=(8, 8))
    with pytest.raises(fk.StrategyError, match="quiet_hours"):
        fk.Strategy(quiet_hours=(22, 25))
    with pytest.raises(fk.StrategyError, match="frequency_cap"):
        fk.Strategy(frequency_cap=(0, "7D"))
    with pytest.raises(fk.StrategyError, match="frequency_cap"):
        fk.Strategy(frequency_cap=(3, "0h"))
    with pytest.raises(fk.StrategyError, match="attribution_window"):
        fk.Strategy(attribution_window="-1D")
    assert fk.Strategy.none().senders == [] and fk.Strategy(trigger).senders == ["t"]


def test_audience_needs_a_criterion_and_a_valid_score_band() -> None:
    with pytest.raises(fk.StrategyError, match="audience needs"):
        fk.Audience()
    with pytest.raises(fk.StrategyError, match="low < high"):
        fk.Audience(score=(0.5, 0.2))
    assert fk.Audience(score=(0, 0.5)).score == (0.0, 0.5)
    with pytest.raises(fk.StrategyError, match="campaign 'sale'.*control_share"):
        fk.Campaign("sale", 0, fk.Audience(everyone=True), fk.Message(), control_share=1)
    with pytest.raises(fk.StrategyError, match="every"):
        fk.Campaign("sale", 0, fk.Audience(everyone=True), fk.Message(), every="0D")
    with pytest.raises(fk.StrategyError, match="campaign 'sale'"):
        fk.Campaign("sale", "next week-ish", fk.Audience(everyone=True), fk.Message())


# -- documents --------------------------------------------------------------------------------
class Halve(fk.TriggerEffect):
    """A test effect: halves every pending move's weight but the first."""

    def __init__(self, keep: int = 0) -> None:
        self.keep = keep

    def apply(self, lead: Any, weights: np.ndarray, u: float) -> str | None:
        weights[self.keep + 1:] *= 0.5
        return None

    def params(self) -> dict[str, Any]:
        return {"keep": self.keep}


class OnlyFirstBuyers(fk.TriggerCondition):
    def __init__(self, delay: float = 2.0) -> None:
        self.delay = delay

    def start(self, lead: Any) -> float | None:
        return self.delay if lead.purchases == 0 else None

    def holds(self, lead: Any) -> bool:
        return bool(lead.purchases == 0)

    def params(self) -> dict[str, Any]:
        return {"delay": self.delay}


@pytest.fixture
def extensions() -> Any:
    fk.register("trigger_effect", "halve")(Halve)
    fk.register("trigger_condition", "only_first_buyers")(OnlyFirstBuyers)
    yield
    fk.unregister("trigger_effect", "halve")
    fk.unregister("trigger_condition", "only_first_buyers")


def full_strategy() -> fk.Strategy:
    return fk.Strategy(
        triggers=[
            fk.Trigger("cart", fk.when.idle("cart"), [
                fk.Message(after="20min", effect=fk.OddsMultiplier(1.5, ["checkout"])),
                fk.Message(after=datetime.timedelta(hours=24), channel="sms", discount=0.1, offer_valid="7D",
                           effect=fk.MoveTo("checkout", 0.1)),
            ], control_share=0.1),
            fk.Trigger("custom", fk.when.custom(OnlyFirstBuyers(3.0), ["interest"]),
                       fk.Message(after=3.0, effect=Halve(1)), stop_on_purchase=False, max_starts=2),
            fk.Trigger("thanks", fk.when.purchase(), fk.Message(after="3D", channel="push")),
        ],
        campaigns=[
            fk.Campaign("friday", [pd.Timestamp("2024-01-05 10:00"), "12D"], fk.Audience(stages=["lead"], layer="warm"),
                        fk.Message(discount=0.1), every="7D", until="2024-02-01", control_share=0.2),
            fk.Campaign("vip", 5.5, fk.Audience(leads=[np.int64(7), 9], score=(0.2, 1.0)), fk.Message(channel="sms")),
        ],
        frequency_cap=(3, "7D"),
        quiet_hours=(22, 8),
        exclude_stages=["unsubscribed"],
        attribution_window=None,
        name="everything",
    )


def test_json_round_trip_keeps_everything(extensions: None, tmp_path: Any) -> None:
    strategy = full_strategy()
    again = fk.Strategy.from_json(strategy.to_json())
    assert again.to_dict() == strategy.to_dict()
    assert isinstance(again.triggers[1].condition.custom, OnlyFirstBuyers)
    assert again.triggers[1].condition.custom.delay == 3.0
    assert isinstance(again.triggers[1].steps[0].effect, Halve) and again.triggers[1].steps[0].effect.keep == 1
    # durations written as they were given (timedeltas as pandas' text, read back exactly)
    assert to_units(again.triggers[0].steps[1].after, "hours", "after") == 24.0
    path = tmp_path / "strategy.json"
    strategy.save(path)
    assert fk.Strategy.load(path).to_dict() == strategy.to_dict()
    assert pickle.loads(pickle.dumps(strategy)).to_dict() == strategy.to_dict()
    document = strategy.to_dict()
    assert (document["format"], document["version"]) == ("funnelkit-strategy", 1)


def test_documents_of_another_version_or_format_are_refused() -> None:
    document = fk.strategies.must_have().to_dict()
    with pytest.raises(fk.StrategyError, match="version 2") as info:
        fk.Strategy.from_dict({**document, "version": 2})
    assert info.value.subject == "version"
    with pytest.raises(fk.StrategyError, match="not a funnelkit strategy"):
        fk.Strategy.from_dict({**document, "format": "funnelkit.funnel"})
    with pytest.raises(fk.StrategyError, match="malformed"):
        fk.Strategy.from_json("{")
    with pytest.raises(fk.StrategyError, match="unknown strategy fields"):
        fk.Strategy.from_dict({**document, "triggerz": []})
    with pytest.raises(fk.StrategyError, match="no strategy file"):
        fk.Strategy.load("/nonexistent/strategy.json")


def test_bad_json_names_the_trigger_step_and_field() -> None:
    document = fk.strategies.must_have().to_dict()
    document["triggers"][1]["steps"][1]["open"] = 1.5
    with pytest.raises(fk.StrategyError, match=r"trigger 'abandoned cart' step 2: Message.open"):
        fk.Strategy.from_dict(document)
    document = fk.strategies.must_have().to_dict()
    document["triggers"][0]["steps"][0]["effect"] = {"type": "teleport"}
    with pytest.raises(fk.StrategyError, match="trigger 'abandoned browse' step 1: unknown effect type 'teleport'"):
        fk.Strategy.from_dict(document)
    document = fk.strategies.must_have().to_dict()
    document["triggers"][2]["control_share"] = 1
    with pytest.raises(fk.StrategyError, match="trigger 'review request'.*control_share"):
        fk.Strategy.from_dict(document)


def test_unregistered_extensions_cannot_be_saved() -> None:
    strategy = fk.Strategy(fk.Trigger("t", fk.when.enter("cart"), fk.Message(effect=Halve())))
    with pytest.raises(fk.StrategyError, match="fk.register\\('trigger_effect'"):
        strategy.to_json()
    with pytest.raises(TypeError, match="subclass"):
        fk.register("trigger_effect", "not_an_effect")(dict)
    with pytest.raises(ValueError, match="built-in"):
        fk.register("trigger_effect", "move")(Halve)


def test_with_replaces_fields_and_to_pandas_lists_every_message() -> None:
    strategy = fk.strategies.must_have()
    quiet = strategy.with_(quiet_hours=(21, 9))
    assert quiet.quiet_hours == (21.0, 9.0) and strategy.quiet_hours is None
    table = strategy.to_pandas()
    assert list(table["sender"]).count("abandoned cart") == 2 and len(table) == 7
    assert "abandoned cart" in strategy._repr_html_()


# -- against a funnel -------------------------------------------------------------------------
START = pd.Timestamp("2024-01-01 15:30")  # t = 0 is midnight of this day (a Monday)


def resolve(strategy: fk.Strategy, funnel: fk.Funnel | None = None, horizon: float = 24.0 * 60,
            ids: pd.Index | None = None, layers: pd.Series | None = None) -> dict[str, Any]:
    chain = (funnel or fk.examples.shop_funnel())._compiled()
    return strategy._resolve(chain.names, chain.kinds, (funnel or fk.examples.shop_funnel()).time_unit, START,
                             ids, layers, horizon)


def test_resolution_gives_state_indices_and_hours() -> None:
    names = fk.examples.shop_funnel().stage_names
    index = {n: i for i, n in enumerate(names)}
    ids = pd.Index([3, 7, 9, 11])
    layers = pd.Series(pd.Categorical(["warm", "cold", "warm", "hot"], categories=["cold", "warm", "hot"]), index=ids)
    plain = resolve(full_strategy(), ids=ids, layers=layers)
    cart = plain["triggers"][0]
    assert cart["condition"] == "Idle" and cart["states"] == [index["cart"]]
    assert [s["delay"] for s in cart["steps"]] == pytest.approx([1 / 3, 24.0])
    assert cart["steps"][0]["effect"] == ("odds", 1.5, [index["checkout"]])
    assert cart["steps"][1]["effect"] == ("move", index["checkout"], 0.1)
    assert cart["steps"][1]["offer_valid"] == 168.0 and cart["steps"][0]["offer_valid"] == math.inf
    assert cart["steps"][1]["cost"] == CHANNELS["sms"].cost and cart["control_share"] == 0.1
    custom = plain["triggers"][1]
    assert custom["condition"] == "Custom" and isinstance(custom["custom"], OnlyFirstBuyers)
    assert custom["max_starts"] == 2 and not custom["stop_on_purchase"]
    assert plain["triggers"][2]["condition"] == "Purchase" and plain["triggers"][2]["states"] == []
    assert plain["triggers"][2]["max_starts"] == 2**63 - 1
    friday, vip = plain["campaigns"]
    # 2024-01-05 10:00 is 4 days 10 hours after midnight of the start; weekly until 2024-02-01
    first = 4 * 24 + 10
    expected = sorted([first + 168 * k for k in range(4)] + [12 * 24 + 168 * k for k in range(3)])
    assert friday["times"] == pytest.approx(expected)
    assert friday["states"] == [index["lead"]] and friday["leads"] == [0, 2]  # the warm leads' positions
    assert friday["control_share"] == 0.2 and friday["score_low"] == math.inf
    assert vip["times"] == [5.5] and vip["leads"] == [1, 2]
    assert (vip["score_low"], vip["score_high"]) == (0.2, 1.0)
    assert (plain["cap_messages"], plain["cap_period"]) == (3, 168.0)
    assert (plain["quiet_start"], plain["quiet_end"], plain["day_length"]) == (22.0, 8.0, 24.0)
    assert plain["excluded_states"] == [index["unsubscribed"]]
    assert plain["attribution_window"] == math.inf


def test_resolution_in_days_scales_every_duration() -> None:
    funnel = fk.examples.lifecycle_funnel()  # in days
    strategy = fk.Strategy(
        fk.Trigger("sleepy", fk.when.idle("dormant"), [fk.Message(after="12h"), fk.Message(after=30)]),
        quiet_hours=(22, 8), frequency_cap=(1, "2W"),
    )
    plain = resolve(strategy, funnel, horizon=365.0)
    assert [s["delay"] for s in plain["triggers"][0]["steps"]] == [0.5, 30.0]
    assert plain["quiet_start"] == pytest.approx(22 / 24) and plain["day_length"] == 1.0
    assert plain["cap_period"] == 14.0 and plain["attribution_window"] == 7.0
    # mixed numbers and strings are ordered once the unit is known
    bad = fk.Strategy(fk.Trigger("late", fk.when.idle("dormant"), [fk.Message(after=2), fk.Message(after="1D")]))
    with pytest.raises(fk.StrategyError, match="trigger 'late': step 2 is due before step 1"):
        resolve(bad, funnel)


def test_unknown_stages_name_the_trigger_and_the_stage() -> None:
    strategy = fk.Strategy(fk.Trigger("wishlist", fk.when.idle("wishlist"), fk.Message()))
    with pytest.raises(fk.UnknownStageError, match="trigger 'wishlist' names stage 'wishlist'") as info:
        resolve(strategy)
    assert info.value.subject == "wishlist"
    effect = fk.Strategy(fk.Trigger("cart", fk.when.idle("cart"), fk.Message(effect=fk.MoveTo("basket", 0.1))))
    with pytest.raises(fk.UnknownStageError, match="trigger 'cart' step 1 names stage 'basket'"):
        resolve(effect)
    campaign = fk.Strategy(campaigns=[fk.Campaign("sale", 0, fk.Audience(stages="vip"), fk.Message())])
    with pytest.raises(fk.UnknownStageError, match="campaign 'sale'"):
        resolve(campaign)
    with pytest.raises(fk.UnknownStageError, match="trigger 'abandoned browse' names stage 'interest'"):
        fk.strategies.must_have().validate(fk.examples.lifecycle_funnel())
    with pytest.raises(fk.UnknownStageError, match="exclude_stages names stage 'unsubscribed'"):
        fk.Strategy(exclude_stages="unsubscribed").validate(fk.examples.lifecycle_funnel())


def test_campaign_times_and_audiences_need_what_they_refer_to() -> None:
    before = fk.Strategy(campaigns=[fk.Campaign("old", "2023-12-31", fk.Audience(everyone=True), fk.Message())])
    with pytest.raises(fk.StrategyError, match="before the simulation starts"):
        resolve(before)
    by_layer = fk.Strategy(campaigns=[fk.Campaign("warm", 0, fk.Audience(layer="warm"), fk.Message())])
    with pytest.raises(fk.StrategyError, match="needs a population with a 'layer' column"):
        resolve(by_layer)
    with pytest.raises(fk.StrategyError, match="layer 'warm' is not in the population"):
        resolve(by_layer, ids=pd.Index([1]), layers=pd.Series(["cold"], index=[1]))
    by_id = fk.Strategy(campaigns=[fk.Campaign("ids", 0, fk.Audience(leads=[1, 5]), fk.Message())])
    with pytest.raises(fk.StrategyError, match=r"not in the population: \[5\]"):
        resolve(by_id, ids=pd.Index([1, 2]))
    with pytest.raises(fk.StrategyError, match="needs a population"):
        resolve(by_id)
    # a campaign at or after the horizon sends nothing; "every" stops at the horizon
    weekly = fk.Strategy(campaigns=[fk.Campaign("w", "1D", fk.Audience(everyone=True), fk.Message(after="2h"),
                                                every="7D")])
    assert resolve(weekly, horizon=24 * 20)["campaigns"][0]["times"] == [26.0, 26.0 + 168, 26.0 + 336]


# -- the engine's objects ---------------------------------------------------------------------

def simulate(funnel: fk.Funnel, strategy: fk.Strategy, n: int = 5_000, days: int = 30) -> dict[str, Any]:
    chain = funnel._compiled()
    horizon = 24.0 * days
    engine = strategy._to_engine(chain, funnel.time_unit, START, None, None, horizon)
    expected = fk.TrafficPlan.cohort(n)._expected(START, days)
    return _core.simulate_shop(chain, engine, expected, 24.0, True, np.zeros(0, np.int64), np.zeros(0), horizon,
                               24.0, 7, 1, 100_000, None, False, False, None, 1, None)


def test_to_engine_builds_what_the_engine_validates(extensions: None) -> None:
    funnel = fk.examples.shop_funnel()
    index = {n: i for i, n in enumerate(funnel.stage_names)}
    ids = pd.Index([3, 7, 9, 11])
    layers = pd.Series(["warm", "cold", "warm", "hot"], index=ids)
    engine = full_strategy()._to_engine(funnel._compiled(), "hours", START, ids, layers, 24.0 * 60)
    assert isinstance(engine, _core.Strategy)
    cart = engine.triggers[0]
    assert cart.name == "cart" and cart.condition == _core.ConditionKind.Idle and list(cart.states) == [index["cart"]]
    assert [s.delay for s in cart.steps] == pytest.approx([1 / 3, 24.0])
    move = cart.steps[1].effect
    assert isinstance(move, _core.MoveTo) and (move.target, move.probability) == (index["checkout"], 0.1)
    assert isinstance(cart.steps[0].effect, _core.OddsMultiplier)
    assert cart.steps[0].effect.params() == {"multiplier": 1.5, "toward": [index["checkout"]]}
    custom = engine.triggers[1]
    assert custom.condition == _core.ConditionKind.Custom and isinstance(custom.custom, _core.TriggerCondition)
    assert isinstance(custom.steps[0].effect, _core.TriggerEffect) and custom.max_starts == 2
    friday = engine.campaigns[0]
    assert list(friday.leads) == [0, 2] and friday.times[0] == pytest.approx(106.0)
    assert (engine.cap_messages, engine.cap_period, engine.quiet_start, engine.quiet_end) == (3, 168.0, 22.0, 8.0)
    assert list(engine.excluded_states) == [index["unsubscribed"]] and engine.attribution_window == math.inf
    _core.validate_strategy(engine, funnel._compiled())  # what the engine checks passes
    fk.strategies.must_have().validate(funnel)


def test_engine_checks_map_to_strategy_errors() -> None:
    funnel = fk.examples.shop_funnel()
    chain = funnel._compiled()
    strategy = fk.Strategy(fk.Trigger("t", fk.when.idle("cart"), fk.Message()))
    plain = strategy._resolve(chain.names, chain.kinds, "hours", START, None, None, 24.0)
    plain["triggers"][0]["steps"][0]["delay"] = -1.0  # what Python never lets through
    from funnelkit.simulation.strategy import _build

    with pytest.raises(fk.StrategyError, match="'t'"):
        _core.validate_strategy(_build(plain, chain.names), chain)


class AlwaysCheckout(fk.TriggerEffect):
    """Moves every lead that opens the message to checkout, counting the calls."""

    uses_weights = False

    def __init__(self) -> None:
        self.calls = 0
        self.stages: set[str] = set()

    def apply(self, lead: Any, weights: np.ndarray, u: float) -> str | None:
        self.calls += 1
        self.stages.add(lead.stage)
        assert 0.0 < u < 1.0
        return "checkout"

    def params(self) -> dict[str, Any]:
        return {}


class InterestAfterAnHour(fk.TriggerCondition):
    def __init__(self, send: bool) -> None:
        self.send = send
        self.seen: set[str] = set()

    def start(self, lead: Any) -> float | None:
        self.seen.add(lead.stage)
        return 1.0 if lead.stage == "interest" else None

    def holds(self, lead: Any) -> bool:
        return self.send

    def params(self) -> dict[str, Any]:
        return {"send": self.send}


def test_python_effects_and_conditions_run_in_the_engine() -> None:
    funnel = fk.examples.shop_funnel()
    effect = AlwaysCheckout()
    strategy = fk.Strategy(fk.Trigger("push", fk.when.idle("cart"), fk.Message(after="20min", open=1.0, effect=effect)))
    result = simulate(funnel, strategy)
    baseline = simulate(funnel, fk.Strategy.none())
    opened = result["senders"][0, 0, list(result["sender_columns"]).index("opened")]
    # Idle in the cart: still deciding, or dropped out of it (leaving is no action).
    assert opened > 0 and effect.calls == opened and effect.stages == {"cart", funnel.drop_stage}
    assert result["successes"] > baseline["successes"]  # every idle cart at 20 min goes to checkout

    for send in (False, True):
        condition = InterestAfterAnHour(send)
        custom = fk.Strategy(fk.Trigger("custom", fk.when.custom(condition), fk.Message(after=0.0)))
        out = simulate(funnel, custom, n=2_000)
        columns = list(out["sender_columns"])
        starts, sent = out["senders"][0, 0, columns.index("starts")], out["senders"][0, 0, columns.index("sent")]
        assert "interest" in condition.seen and "visit" in condition.seen
        assert (starts > 0 and sent == starts) if send else (sent == 0)


def test_a_duration_text_without_a_unit_is_refused() -> None:
    with pytest.raises(fk.StrategyError, match="has no unit"):
        fk.Message(after="20")
    with pytest.raises(fk.StrategyError, match="has no unit"):
        fk.simulate(fk.examples.shop_funnel(), 10, None, horizon="90", progress=False)


def test_quiet_hours_are_times_of_day() -> None:
    for degenerate in [(0, 24), (24, 0), (5, 5)]:
        with pytest.raises(fk.StrategyError, match="quiet_hours"):
            fk.Strategy(quiet_hours=degenerate)
    until_midnight = fk.Strategy(quiet_hours=(22, 24))
    plain = until_midnight._resolve(["visit"], ["transient"], "hours", pd.Timestamp("2026-01-05"), None, None, 24.0)
    assert (plain["quiet_start"], plain["quiet_end"]) == (22.0, 0.0)


def test_a_campaign_after_the_horizon_validates_and_sends_nothing() -> None:
    funnel = fk.examples.shop_funnel()
    later = fk.Campaign("next year", "400D", fk.Audience(stages=["interest"]), fk.Message())
    strategy = fk.Strategy(campaigns=[later]).validate(funnel)
    sim = fk.simulate(funnel, 100, strategy, horizon="10D", replicates=1, progress=False)
    assert sim.triggers.loc["next year", "sent"] == 0
