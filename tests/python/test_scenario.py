"""What-if scenarios: every change against hand-computed numbers, the remainder rule, exact
scaling of holding-time laws, the base left untouched, documents, grids and bad input."""

from __future__ import annotations

import datetime
import math
import pickle

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.forecasting.changes import (
    CHANGES,
    ChannelCost,
    ChannelTraffic,
    ControlShare,
    EdgeProbability,
    Margin,
    MessageEffect,
    OrderValue,
    RemoveEdge,
    Reroute,
    ScaleDelay,
    ScaleHolding,
    ScenarioError,
    ScenarioFormatError,
    TriggerDelay,
    TriggerDiscount,
    TriggerOff,
    UnknownChannelError,
    UnknownEdgeError,
    UnknownTriggerError,
    scale_distribution,
)
from funnelkit.forecasting.scenario import Base, Scenario, grid
from funnelkit.simulation import to_units

P1, P2, P3 = 0.2, 0.4, 0.5  # visit -> cart -> checkout -> paid
VALUE = 80.0


def linear_funnel() -> fk.Funnel:
    return (
        fk.Funnel("shop")
        .add_stage("visit", holding=fk.Exponential(mean=1.0))
        .add_stage("cart", holding=fk.LogNormal(0.5, 0.8))
        .add_stage("checkout", holding=fk.Weibull(1.5, 2.0))
        .add_stage("survey", holding=fk.Fixed(3.0))
        .add_stage("paid", kind="success", value=VALUE)
        .add_edge("visit", "cart", P1)
        .add_edge("cart", "checkout", P2)
        .add_edge("cart", "survey", 0.1)
        .add_edge("checkout", "paid", P3, delay=fk.Gamma(2.0, 0.5))
        .add_edge("survey", "paid", 0.05)
    )


def strategy() -> fk.Strategy:
    return fk.Strategy(
        [fk.Trigger("abandoned cart", fk.when.idle("cart"),
                    [fk.Message(after="20min", effect=fk.OddsMultiplier(1.5, ["checkout"])),
                     fk.Message(after="24h", discount=0.1, effect=fk.MoveTo("checkout", 0.1))])],
        campaigns=[fk.Campaign("friday", "4D 10h", fk.Audience(stages="cart"), fk.Message(discount=0.05))],
    )


def traffic() -> fk.TrafficPlan:
    return fk.TrafficPlan(
        1_000,
        channels=[fk.Channel("search", share=0.6, cost_per_visitor=0.4), fk.Channel("social")],
        weekly=[1, 1, 1, 1, 1.2, 1.5, 1.5],
    )


@pytest.fixture
def base() -> Base:
    return Base(linear_funnel(), traffic(), strategy(), fk.Economics(margin=0.3))


def conversion(b: Base) -> float:
    return b.funnel.analyze(progress=False).success_probability


def probabilities(funnel: fk.Funnel) -> dict[tuple[str, str], float]:
    return {(e.source, e.target): e.probability for e in funnel.edges}


# -- edge probabilities ------------------------------------------------------------------------
def test_relative_change_follows_the_closed_form_of_a_linear_funnel(base: Base) -> None:
    # paid is reached via checkout (P1 P2 P3) or via the survey (P1 0.1 0.05)
    assert conversion(base) == pytest.approx(P1 * P2 * P3 + P1 * 0.1 * 0.05, rel=1e-12)
    after = Scenario("cart +10%", [EdgeProbability("cart", "checkout", factor=1.1)]).apply(base)
    assert conversion(after) == pytest.approx(P1 * (1.1 * P2) * P3 + P1 * 0.1 * 0.05, rel=1e-12)
    assert after.funnel.analyze(progress=False).expected_value == pytest.approx(
        VALUE * (P1 * 1.1 * P2 * P3 + P1 * 0.1 * 0.05), rel=1e-12)
    # the other edges keep their probabilities: the remainder (dropping out) absorbs the 4 points
    changed = probabilities(after.funnel)
    assert changed[("cart", "checkout")] == pytest.approx(0.44, abs=1e-15)
    assert changed[("cart", "survey")] == 0.1
    assert after.funnel.transition_matrix().loc["cart", "dropped"] == pytest.approx(1 - 0.44 - 0.1, abs=1e-12)


def test_relative_change_in_a_loop_follows_the_closed_form() -> None:
    # cart -> checkout b, checkout -> cart r, checkout -> paid c: P(paid | cart) = b c / (1 - b r)
    a, b, c, r = 0.3, 0.5, 0.6, 0.2
    funnel = (fk.Funnel().add_stage("visit").add_stage("cart").add_stage("checkout")
              .add_stage("paid", kind="success", value=1.0)
              .add_edge("visit", "cart", a).add_edge("cart", "checkout", b)
              .add_edge("checkout", "paid", c).add_edge("checkout", "cart", r))
    loop = Base(funnel, fk.TrafficPlan(100))
    assert conversion(loop) == pytest.approx(a * b * c / (1 - b * r), rel=1e-12)
    up = EdgeProbability("cart", "checkout", factor=1.1).apply(loop)
    assert conversion(up) == pytest.approx(a * 1.1 * b * c / (1 - 1.1 * b * r), rel=1e-12)
    # removing the way back: its 0.2 leaves the funnel
    assert conversion(RemoveEdge("checkout", "cart").apply(loop)) == pytest.approx(a * b * c, rel=1e-12)
    # rerouting it to paid: checkout -> paid becomes c + r
    rerouted = Reroute("checkout", "cart", "paid").apply(loop)
    assert probabilities(rerouted.funnel)[("checkout", "paid")] == pytest.approx(c + r, abs=1e-15)
    assert conversion(rerouted) == pytest.approx(a * b * (c + r), rel=1e-12)


def test_absolute_probability_and_row_sum_above_one(base: Base) -> None:
    after = EdgeProbability("cart", "checkout", probability=0.7).apply(base)
    assert probabilities(after.funnel)[("cart", "checkout")] == 0.7
    with pytest.raises(fk.RowSumError, match=r"'cart'.*1.050000 > 1") as error:
        EdgeProbability("cart", "checkout", probability=0.95).apply(base)
    assert error.value.subject == "cart"
    with pytest.raises(fk.RowSumError):
        EdgeProbability("cart", "checkout", factor=2.5).apply(base)  # 1.0 + 0.1


def strict_funnel(with_drop_edge: bool = True) -> fk.Funnel:
    funnel = (fk.Funnel(remainder="strict").add_stage("visit").add_stage("cart")
              .add_stage("paid", kind="success").add_stage("dropped", kind="failure")
              .add_edge("visit", "cart", 0.6 if with_drop_edge else 1.0)
              .add_edge("cart", "paid", 0.5).add_edge("cart", "dropped", 0.5))
    if with_drop_edge:
        funnel.add_edge("visit", "dropped", 0.4)
    return funnel


def test_strict_remainder_rule_moves_the_difference_to_the_drop_edge() -> None:
    strict = Base(strict_funnel(), fk.TrafficPlan(100))
    after = EdgeProbability("visit", "cart", factor=1.5).apply(strict)
    assert probabilities(after.funnel)[("visit", "dropped")] == pytest.approx(0.1, abs=1e-12)
    assert conversion(after) == pytest.approx(0.9 * 0.5, rel=1e-12)
    removed = RemoveEdge("cart", "paid").apply(strict)
    assert probabilities(removed.funnel)[("cart", "dropped")] == 1.0
    with pytest.raises(fk.RowSumError):
        EdgeProbability("visit", "cart", factor=2).apply(strict)
    with pytest.raises(ScenarioError, match="drop stage"):
        EdgeProbability("visit", "dropped", probability=0.2).apply(strict)
    # a row without a drop edge gets one when the drop stage exists
    added = EdgeProbability("visit", "cart", factor=0.5).apply(Base(strict_funnel(False), fk.TrafficPlan(100)))
    assert probabilities(added.funnel)[("visit", "dropped")] == 0.5
    assert conversion(added) == pytest.approx(0.25, rel=1e-12)


def test_strict_funnel_without_a_drop_stage_refuses_a_lower_row() -> None:
    funnel = (fk.Funnel(remainder="strict").add_stage("visit").add_stage("paid", kind="success")
              .add_edge("visit", "paid", 1.0))
    with pytest.raises(fk.RowSumError, match="no drop stage"):
        EdgeProbability("visit", "paid", factor=0.5).apply(Base(funnel, fk.TrafficPlan(1)))


def test_reroute_to_a_new_target_keeps_delay_and_position(base: Base) -> None:
    after = Reroute("checkout", "paid", "survey").apply(base)
    edge = next(e for e in after.funnel.edges if e.source == "checkout")
    assert (edge.target, edge.probability) == ("survey", P3)
    assert edge.delay is not None and edge.delay.mean() == pytest.approx(1.0)  # Gamma(2, 0.5)
    assert conversion(after) == pytest.approx(P1 * (P2 * P3 + 0.1) * 0.05, rel=1e-12)
    # to the (virtual) drop stage: the edge is gone
    gone = Reroute("cart", "survey", "dropped").apply(base)
    assert ("cart", "survey") not in probabilities(gone.funnel)


# -- holding times and delays -----------------------------------------------------------------
LAWS = [
    fk.Exponential(mean=2.0),
    fk.LogNormal(0.5, 0.8),
    fk.Weibull(1.5, 2.0),
    fk.Gamma(2.5, 1.3),
    fk.Fixed(3.0),
    fk.Empirical([0.0, 0.3, 1.0], [0.5, 1.0, 4.0]),
    fk.Truncated(fk.Exponential(mean=2.0), 5.0),
    fk.Truncated(fk.LogNormal(0.2, 1.1), 7.5),
]


@pytest.mark.parametrize("law", LAWS, ids=lambda d: d.type_name())
@pytest.mark.parametrize("factor", [0.25, 1.0, 3.7])
def test_scaled_law_has_the_scaled_mean_variance_and_quantiles(law: fk.Distribution, factor: float) -> None:
    scaled = scale_distribution(law, factor)
    assert type(scaled) is type(law)
    assert scaled.mean() == pytest.approx(factor * law.mean(), rel=1e-12)
    assert scaled.variance() == pytest.approx(factor**2 * law.variance(), rel=1e-10, abs=1e-14)
    q = np.array([0.05, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(scaled.quantile(q), factor * law.quantile(q), rtol=1e-10)
    t = np.array([0.4, 1.0, 2.5, 6.0])
    np.testing.assert_allclose(scaled.cdf(factor * t), law.cdf(t), rtol=1e-10, atol=1e-14)


def test_scaled_parameters_are_the_exact_laws() -> None:
    assert scale_distribution(fk.Exponential(rate=0.5), 2.0).params() == {"rate": 0.25}
    assert scale_distribution(fk.LogNormal(0.5, 0.8), math.e).params() == pytest.approx({"mu": 1.5, "sigma": 0.8})
    assert scale_distribution(fk.Weibull(1.5, 2.0), 3.0).params() == {"shape": 1.5, "scale": 6.0}
    assert scale_distribution(fk.Gamma(2.0, 0.5), 3.0).params() == {"shape": 2.0, "scale": 1.5}
    assert scale_distribution(fk.Empirical([0, 1], [1, 2]), 2.0).params() == {"p": [0.0, 1.0], "t": [2.0, 4.0]}


class PythonLaw(fk.Distribution):
    def params(self) -> dict[str, float]:
        return {}

    def cdf(self, t: float) -> float:  # type: ignore[override]
        return 0.0 if t <= 0 else -math.expm1(-t)


def test_a_python_distribution_cannot_be_scaled() -> None:
    with pytest.raises(fk.DistributionError, match="cannot scale a PythonLaw"):
        scale_distribution(PythonLaw(), 2.0)
    with pytest.raises(fk.DistributionError, match="PythonLaw"):
        scale_distribution(fk.Truncated(PythonLaw(), 3.0), 2.0)
    funnel = fk.Funnel().add_stage("a", holding=PythonLaw()).add_stage("b", kind="success").add_edge("a", "b", 1)
    with pytest.raises(fk.DistributionError):
        ScaleHolding("a", 2).apply(Base(funnel, fk.TrafficPlan(1)))


def test_scaling_every_time_scales_the_expected_time(base: Base) -> None:
    f = 2.5
    scenario = Scenario("slow", [ScaleHolding(s, f) for s in ("visit", "cart", "checkout", "survey")]
                        + [ScaleDelay("checkout", "paid", f)])
    after = scenario.apply(base)
    for old, new in zip(base.funnel.stages, after.funnel.stages, strict=True):
        if old.holding is not None:
            assert new.holding is not None and new.holding.mean() == pytest.approx(f * old.holding.mean(), rel=1e-12)
    delay = next(e.delay for e in after.funnel.edges if e.target == "paid" and e.source == "checkout")
    assert delay is not None and delay.mean() == pytest.approx(f * 1.0, rel=1e-12)
    before, later = base.funnel.analyze(progress=False), after.funnel.analyze(progress=False)
    assert later.expected_time == pytest.approx(f * before.expected_time, rel=1e-10)
    assert later.success_probability == pytest.approx(before.success_probability, rel=1e-14)


def test_scaling_nothing_to_scale_is_an_error(base: Base) -> None:
    with pytest.raises(ScenarioError, match="'paid' has no holding time"):
        ScaleHolding("paid", 2).apply(base)
    with pytest.raises(ScenarioError, match="no delay of its own"):
        ScaleDelay("cart", "checkout", 2).apply(base)


# -- values, traffic, economics ---------------------------------------------------------------
def test_order_value_and_margin(base: Base) -> None:
    after = Scenario("aov", [OrderValue(factor=1.25), Margin(factor=1.5)]).apply(base)
    assert after.funnel.stages[-1].value == 100.0
    assert after.funnel.analyze(progress=False).expected_value == pytest.approx(
        1.25 * base.funnel.analyze(progress=False).expected_value, rel=1e-12)
    assert after.economics.margin == pytest.approx(0.45)
    assert OrderValue("paid", value=60).apply(base).funnel.stages[-1].value == 60.0
    assert Margin(0.4).apply(base).economics.margin == 0.4
    with pytest.raises(ScenarioError, match="above 1"):
        Margin(factor=4).apply(base)


def test_channel_traffic(base: Base) -> None:
    start = pd.Timestamp("2024-01-01")
    np.testing.assert_allclose(base.traffic.daily_per_channel(), [600, 400])
    search = ChannelTraffic("search", factor=2).apply(base).traffic
    np.testing.assert_allclose(search.daily_per_channel(), [1200, 400])
    assert search.weekly == base.traffic.weekly and search.cost_per_visitor.tolist() == [0.4, 0.0]
    np.testing.assert_allclose(search._expected(start, 7).sum(axis=0), [7 * 1200, 7 * 400])
    everyone = ChannelTraffic(factor=2).apply(base).traffic
    assert everyone.visitors_per_day == 2000.0
    np.testing.assert_allclose(everyone.daily_per_channel(), [1200, 800])
    off = ChannelTraffic("social", visitors_per_day=0).apply(base).traffic
    np.testing.assert_allclose(off.daily_per_channel(), [600, 0])
    total = ChannelTraffic(visitors_per_day=500).apply(Base(base.funnel, off)).traffic
    np.testing.assert_allclose(total.daily_per_channel(), [500, 0])


def test_channel_cost(base: Base) -> None:
    assert ChannelCost("social", cost_per_visitor=0.1).apply(base).traffic.cost_per_visitor.tolist() == [0.4, 0.1]
    np.testing.assert_allclose(ChannelCost(factor=0.5).apply(base).traffic.cost_per_visitor, [0.2, 0.0])


# -- the trigger strategy ---------------------------------------------------------------------
def afters(s: fk.Strategy, name: str = "abandoned cart") -> list[float]:
    trigger = next(t for t in s.triggers if t.name == name)
    return [to_units(m.after, "hours", "after") for m in trigger.steps]


def test_trigger_delay(base: Base) -> None:
    doubled = TriggerDelay("abandoned cart", factor=2).apply(base).strategy
    assert doubled is not None
    assert afters(doubled) == pytest.approx([40 / 60, 48.0])
    one = TriggerDelay("abandoned cart", after="2h", step=1).apply(base).strategy
    assert one is not None and afters(one) == pytest.approx([2.0, 24.0])
    with pytest.raises(fk.StrategyError, match="must not decrease"):
        TriggerDelay("abandoned cart", after="30h", step=1).apply(base)
    with pytest.raises(ScenarioError, match="steps 1 to 2, not 3"):
        TriggerDelay("abandoned cart", factor=2, step=3).apply(base)
    shifted = TriggerDelay("friday", after="1h").apply(base).strategy
    assert shifted is not None and shifted.campaigns[0].message.after == "1h"


def test_trigger_discount_off_and_control_share(base: Base) -> None:
    s = TriggerDiscount("abandoned cart", 0.2, step=2).apply(base).strategy
    assert s is not None and [m.discount for m in s.triggers[0].steps] == [0.0, 0.2]
    s = TriggerOff("abandoned cart").apply(base).strategy
    assert s is not None and s.senders == ["friday"]
    s = ControlShare(0.2).apply(base).strategy
    assert s is not None and s.triggers[0].control_share == 0.2 and s.campaigns[0].control_share == 0.2
    s = ControlShare(0.1, "friday").apply(base).strategy
    assert s is not None and (s.triggers[0].control_share, s.campaigns[0].control_share) == (0.0, 0.1)
    with pytest.raises(ScenarioError, match="below 1"):
        ControlShare(1.0)


def test_message_effect(base: Base) -> None:
    offer = fk.MoveTo("checkout", 0.26)
    s = MessageEffect("abandoned cart", 2, offer).apply(base).strategy
    assert s is not None and [m.effect for m in s.triggers[0].steps] == [fk.OddsMultiplier(1.5, ["checkout"]), offer]
    assert [m.discount for m in s.triggers[0].steps] == [0.0, 0.1]  # the rest of the step is kept
    s = MessageEffect("abandoned cart", None, None).apply(base).strategy
    assert s is not None and [m.effect for m in s.triggers[0].steps] == [None, None]
    s = MessageEffect("friday", 1, fk.OddsMultiplier(2.0)).apply(base).strategy
    assert s is not None and s.campaigns[0].message.effect == fk.OddsMultiplier(2.0)
    assert (MessageEffect("abandoned cart", 2, offer).label()
            == "effect('abandoned cart' step 2) = move to checkout p=0.26")
    assert MessageEffect("t", None, fk.OddsMultiplier(1.5, ["cart"])).label() == "effect('t') = odds x1.5 toward cart"
    assert MessageEffect("t", 1, None).label() == "effect('t' step 1) = none"
    with pytest.raises(ScenarioError, match="steps 1 to 2, not 3"):
        MessageEffect("abandoned cart", 3, offer).apply(base)
    with pytest.raises(ScenarioError, match="one message"):
        MessageEffect("friday", 2, offer).apply(base)
    with pytest.raises(ScenarioError, match="MoveTo, OddsMultiplier"):
        MessageEffect("t", 1, "move")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="step"):
        MessageEffect("t", 0, offer)
    # as a document, the effect is written as in a strategy document
    document = MessageEffect("abandoned cart", 2, offer).to_dict()
    assert document == {"kind": "message_effect", "trigger": "abandoned cart", "step": 2,
                        "effect": {"type": "move", "stage": "checkout", "probability": 0.26}}
    assert Scenario.from_dict(Scenario("x", [MessageEffect("abandoned cart", 2, offer)]).to_dict()).changes == (
        MessageEffect("abandoned cart", 2, offer),)
    with pytest.raises(fk.StrategyError, match="unknown effect type 'teleport'"):
        MessageEffect("t", 1, {"type": "teleport"})  # type: ignore[arg-type]


def test_a_discount_axis_carries_its_response(base: Base) -> None:
    def offer(d: float) -> list[TriggerDiscount | MessageEffect]:
        return [TriggerDiscount("abandoned cart", d, step=2),
                MessageEffect("abandoned cart", 2, fk.MoveTo("checkout", 0.1 + 0.8 * d))]

    scenarios = grid("cart", discount=[offer(d) for d in (0.0, 0.2)])
    steps = [s.apply(base).strategy.triggers[0].steps[1] for s in scenarios]  # type: ignore[union-attr]
    assert [(m.discount, m.effect) for m in steps] == [(0.0, fk.MoveTo("checkout", 0.1)),
                                                       (0.2, fk.MoveTo("checkout", 0.1 + 0.8 * 0.2))]


def test_strategy_changes_need_a_strategy(base: Base) -> None:
    with pytest.raises(ScenarioError, match="no trigger strategy"):
        TriggerOff("abandoned cart").apply(base.replace(strategy=None))


# -- the base is never changed ----------------------------------------------------------------
EVERY_CHANGE = [
    EdgeProbability("cart", "checkout", factor=1.1),
    EdgeProbability("visit", "cart", probability=0.25),
    Reroute("survey", "paid", "checkout"),
    RemoveEdge("cart", "survey"),
    ScaleHolding("cart", 0.5),
    ScaleDelay("checkout", "paid", 2.0),
    OrderValue(factor=1.1),
    ChannelTraffic("search", factor=1.5),
    ChannelCost("search", cost_per_visitor=0.3),
    Margin(0.35),
    TriggerDelay("abandoned cart", factor=0.5),
    TriggerDiscount("abandoned cart", 0.15),
    MessageEffect("abandoned cart", 2, fk.MoveTo("checkout", 0.2)),
    fk.changes.MessageChannel("abandoned cart", "sms", step=1),
    ControlShare(0.1),
    TriggerOff("friday"),
]


def test_every_change_kind_is_covered() -> None:
    assert {c.kind for c in EVERY_CHANGE} == set(CHANGES)


def test_apply_never_mutates_the_base(base: Base) -> None:
    assert base.strategy is not None
    before = (base.funnel.to_json(), base.traffic, base.strategy.to_dict(), base.economics)
    funnel, plan = base.funnel, base.traffic
    after = Scenario("everything", EVERY_CHANGE).apply(base)
    assert (base.funnel.to_json(), base.traffic, base.strategy.to_dict(), base.economics) == before
    assert base.funnel is funnel and base.traffic is plan
    assert after.funnel is not base.funnel and after.funnel != base.funnel
    assert after.traffic != base.traffic and after.strategy != base.strategy and after.economics != base.economics
    # even a scenario that leaves the funnel alone hands back a funnel of its own
    untouched = Scenario("margin", [Margin(0.5)]).apply(base)
    assert untouched.funnel == base.funnel and untouched.funnel is not base.funnel
    untouched.funnel.set_probability("visit", "cart", 0.9)
    assert probabilities(base.funnel)[("visit", "cart")] == P1
    assert after.strategy is not None
    after.strategy.validate(after.funnel)


# -- documents --------------------------------------------------------------------------------
def test_documents_round_trip(base: Base, tmp_path: pytest.TempPathFactory) -> None:
    scenario = Scenario("everything", [*EVERY_CHANGE, TriggerDelay("abandoned cart", after="3h", step=2)],
                        description="all at once", axes={"a": "b"})
    document = scenario.to_dict()
    assert (document["format"], document["version"]) == ("funnelkit-scenario", 1)
    assert document["changes"][0] == {"kind": "edge_probability", "source": "cart", "target": "checkout",
                                      "probability": None, "factor": 1.1}
    assert Scenario.from_json(scenario.to_json()) == scenario
    assert Scenario.from_dict(document) == scenario
    assert pickle.loads(pickle.dumps(scenario)) == scenario
    path = tmp_path / "s.json"  # type: ignore[operator]
    scenario.save(path)
    assert Scenario.load(path) == scenario
    assert Scenario.from_json(scenario.to_json()).apply(base).funnel == scenario.apply(base).funnel
    # a timedelta is written as pandas' text and read back as the same duration
    td = Scenario("td", [TriggerDelay("friday", after=datetime.timedelta(minutes=90))])
    again = Scenario.from_json(td.to_json())
    assert to_units(again.changes[0].after, "hours", "x") == 1.5  # type: ignore[attr-defined]
    assert "p(cart -&gt; checkout) x1.1" in scenario._repr_html_()
    assert scenario.to_pandas().shape == (len(EVERY_CHANGE) + 1, 2)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": "funnelkit-scenario", "version": 2, "name": "x", "changes": []}, "version 2"),
        ({"format": "funnelkit-strategy", "version": 1, "name": "x"}, "not a funnelkit scenario"),
        ({"format": "funnelkit-scenario", "version": 1, "name": "x", "extra": 1}, "unknown scenario fields"),
        ({"format": "funnelkit-scenario", "version": 1, "name": "x", "changes": [{"kind": "teleport"}]},
         "unknown change kind 'teleport'"),
        ({"format": "funnelkit-scenario", "version": 1, "name": "x",
          "changes": [{"kind": "margin", "margin": 0.3, "colour": 1}]}, "unknown fields"),
        ({"format": "funnelkit-scenario", "version": 1, "name": "x",
          "changes": [{"kind": "remove_edge", "source": "a"}]}, "changes\\[0\\]"),
    ],
)
def test_bad_documents(document: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioFormatError, match=message):
        Scenario.from_dict(document)


def test_malformed_json() -> None:
    with pytest.raises(ScenarioFormatError, match="malformed"):
        Scenario.from_json("{not json")


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "error", "subject"),
    [
        (EdgeProbability("cart", "nowhere", factor=1.1), fk.UnknownStageError, "nowhere"),
        (EdgeProbability("visit", "paid", factor=1.1), UnknownEdgeError, "visit -> paid"),
        (RemoveEdge("basket", "paid"), fk.UnknownStageError, "basket"),
        (Reroute("cart", "checkout", "limbo"), fk.UnknownStageError, "limbo"),
        (ScaleHolding("basket", 2), fk.UnknownStageError, "basket"),
        (ScaleDelay("visit", "checkout", 2), UnknownEdgeError, "visit -> checkout"),
        (OrderValue("basket", factor=2), fk.UnknownStageError, "basket"),
        (ChannelTraffic("tv", factor=2), UnknownChannelError, "tv"),
        (ChannelCost("tv", cost_per_visitor=1), UnknownChannelError, "tv"),
        (TriggerDelay("welcome", factor=2), UnknownTriggerError, "welcome"),
        (TriggerDiscount("welcome", 0.1), UnknownTriggerError, "welcome"),
        (TriggerOff("welcome"), UnknownTriggerError, "welcome"),
        (MessageEffect("welcome", 1, None), UnknownTriggerError, "welcome"),
        (MessageEffect("abandoned cart", 1, fk.MoveTo("basket", 0.1)), fk.UnknownStageError, "basket"),
        (MessageEffect("abandoned cart", 1, fk.OddsMultiplier(2.0, ["basket"])), fk.UnknownStageError, "basket"),
        (ControlShare(0.1, "welcome"), UnknownTriggerError, "welcome"),
    ],
    ids=lambda x: x.label() if hasattr(x, "label") else None,
)
def test_unknown_names_are_named(base: Base, change: object, error: type[Exception], subject: str) -> None:
    with pytest.raises(error) as raised:
        Scenario("bad", [change]).apply(base)  # type: ignore[list-item]
    assert isinstance(raised.value, ValueError)
    assert raised.value.subject == subject  # type: ignore[attr-defined]
    assert subject in str(raised.value)


@pytest.mark.parametrize("factor", [0, -1.0, math.nan, math.inf, "2", True, None])
@pytest.mark.parametrize("make", [
    lambda f: EdgeProbability("a", "b", factor=f),
    lambda f: ScaleHolding("a", f),
    lambda f: ScaleDelay("a", "b", f),
    lambda f: OrderValue(factor=f),
    lambda f: ChannelTraffic(factor=f),
    lambda f: ChannelCost(factor=f),
    lambda f: Margin(factor=f),
    lambda f: TriggerDelay("t", factor=f),
])
def test_bad_factors(make: object, factor: object) -> None:
    with pytest.raises(ScenarioError, match=r"factor|exactly one"):
        make(factor)  # type: ignore[operator]


def test_bad_values() -> None:
    with pytest.raises(ScenarioError, match="exactly one"):
        EdgeProbability("a", "b", probability=0.5, factor=1.1)
    for bad in (1.5, -0.1, math.nan):
        with pytest.raises(ScenarioError, match="probability"):
            EdgeProbability("a", "b", probability=bad)
    with pytest.raises(ScenarioError, match="visitors_per_day"):
        ChannelTraffic("x", visitors_per_day=-5)
    with pytest.raises(ScenarioError, match="margin"):
        Margin(1.2)
    with pytest.raises(ScenarioError, match="step"):
        TriggerDiscount("t", 0.1, step=0)
    with pytest.raises(ScenarioError, match="new target is the old one"):
        Reroute("a", "b", "b")
    with pytest.raises(fk.StrategyError, match="no unit"):
        TriggerDelay("t", after="90")
    with pytest.raises(ScenarioError, match="expected a Change"):
        Scenario("x", ["margin"])  # type: ignore[list-item]
    with pytest.raises(ScenarioError, match="non-empty name"):
        Scenario("")


# -- grids ------------------------------------------------------------------------------------
def test_a_thousand_scenario_grid(base: Base) -> None:
    factors = np.linspace(0.9, 1.35, 10)
    scenarios = grid(
        "shop",
        cart=[EdgeProbability("cart", "checkout", factor=f) for f in factors],
        checkout=[EdgeProbability("checkout", "paid", factor=f) for f in factors],
        traffic=[ChannelTraffic("search", factor=f) for f in factors],
    )
    assert len(scenarios) == 1000 and len({s.name for s in scenarios}) == 1000
    k = 537  # the last axis varies fastest: (5, 3, 7)
    chosen = scenarios[k]
    assert chosen.axes == {"cart": f"p(cart -> checkout) x{factors[5]:g}",
                           "checkout": f"p(checkout -> paid) x{factors[3]:g}",
                           "traffic": f"traffic(search) x{factors[7]:g}"}
    after = chosen.apply(base)
    assert conversion(after) == pytest.approx(P1 * factors[5] * P2 * factors[3] * P3 + P1 * 0.1 * 0.05, rel=1e-12)
    np.testing.assert_allclose(after.traffic.daily_per_channel(), [600 * factors[7], 400])


def test_grid_with_no_change_values_and_bundles(base: Base) -> None:
    scenarios = grid("shop", cart=[None, [EdgeProbability("cart", "checkout", factor=1.1), OrderValue(factor=2)]],
                     margin=[Margin(0.2), Margin(0.4)])
    assert [s.axes["cart"] for s in scenarios] == ["base", "base", "p(cart -> checkout) x1.1; order value x2",
                                                   "p(cart -> checkout) x1.1; order value x2"]
    assert scenarios[0].summary() == "margin = 0.2" and len(scenarios[3].changes) == 3
    assert grid("shop") == [Scenario("shop")]
    assert Scenario("shop").apply(base).funnel == base.funnel


def test_bad_grids() -> None:
    with pytest.raises(ScenarioError, match="no values"):
        grid("shop", cart=[])
    with pytest.raises(ScenarioError, match="twice"):
        grid("shop", margin=[Margin(0.2), Margin(0.2)])
    with pytest.raises(ScenarioError, match="list of values"):
        grid("shop", margin=Margin(0.2))  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="values must be changes"):
        grid("shop", margin=[0.2])  # type: ignore[list-item]


def test_message_channel_sends_on_another_channel_at_its_defaults() -> None:
    base = fk.Base(fk.examples.shop_funnel(), fk.TrafficPlan(100), fk.strategies.must_have())
    change = fk.changes.MessageChannel("abandoned cart", "sms", step=2)
    cart = change.apply(base).strategy.triggers[1]
    assert [(m.channel, m.cost, m.open) for m in cart.steps] == [("email", 0.005, 0.4), ("sms", 0.05, 0.9)]
    assert base.strategy.triggers[1].steps[1].channel == "email"  # the base is unchanged
    assert fk.changes.change_from_dict(change.to_dict()) == change
    own = fk.changes.MessageChannel("abandoned cart", "fax", cost=0.02, open=0.7).apply(base).strategy.triggers[1]
    assert {(m.channel, m.cost, m.open) for m in own.steps} == {("fax", 0.02, 0.7)}
    with pytest.raises(fk.StrategyError, match="fax"):
        fk.changes.MessageChannel("abandoned cart", "fax").apply(base)
    with pytest.raises(fk.changes.UnknownTriggerError):
        fk.changes.MessageChannel("welcome", "sms").apply(base)
    with pytest.raises(fk.changes.ScenarioError):
        fk.changes.MessageChannel("abandoned cart", "sms", open=1.5)
