"""The ready-made strategies: DOMAIN.md's timings, modest documented effects, stage names as
parameters that resolve against the example shop."""

from __future__ import annotations

import math

import pytest

import funnelkit as fk
from funnelkit.simulation import templates


def resolve(strategy: fk.Strategy, funnel: fk.Funnel) -> dict[str, object]:
    import pandas as pd

    chain = funnel._compiled()
    return strategy._resolve(chain.names, chain.kinds, funnel.time_unit, pd.Timestamp("2024-01-01"), None, None, 2160.0)


def test_must_have_has_the_five_triggers_with_domain_timings() -> None:
    strategy = fk.strategies.must_have()
    assert fk.strategies is templates
    assert strategy.senders == ["abandoned browse", "abandoned cart", "review request", "reactivation",
                                "recommendations"]
    assert strategy.exclude_stages == ("unsubscribed",)
    plain = resolve(strategy, fk.examples.shop_funnel())  # hours
    delays = {t["name"]: [s["delay"] for s in t["steps"]] for t in plain["triggers"]}  # type: ignore[attr-defined]
    assert delays["abandoned browse"] == pytest.approx([1 / 3, 24.0])  # 20 min, then an offer after 24 h
    assert delays["abandoned cart"] == pytest.approx([1 / 3, 24.0])
    assert delays["reactivation"] == [90 * 24.0]  # ~3 months
    assert delays["recommendations"] == [30 * 24.0]  # a month after a purchase
    assert delays["review request"] == [3 * 24.0]  # after delivery (assumed 3 days)
    conditions = {t["name"]: t["condition"] for t in plain["triggers"]}  # type: ignore[attr-defined]
    assert conditions == {"abandoned browse": "Idle", "abandoned cart": "Idle", "review request": "Purchase",
                          "reactivation": "Purchase", "recommendations": "Purchase"}


def test_template_effects_are_modest_and_email_opens_at_40_percent() -> None:
    cart = fk.strategies.abandoned_cart()
    assert [m.open for m in cart.steps] == [0.4, 0.4] and all(m.channel == "email" for m in cart.steps)
    assert cart.steps[0].effect == fk.MoveTo("checkout", 0.1)
    assert cart.steps[1].effect == fk.MoveTo("checkout", 0.15) and cart.steps[1].discount == 0.1
    assert cart.stop_on_purchase and cart.condition == fk.when.idle("cart")
    # Upper bound of what the offer can bring back among carts it reaches: open x move chance, far
    # below DOMAIN.md's "up to 20%" so the defaults never oversell a strategy.
    assert cart.steps[1].open * cart.steps[1].effect.probability <= 0.06  # type: ignore[union-attr]
    for trigger in fk.strategies.must_have().triggers:
        for step in trigger.steps:
            effect = step.effect
            if isinstance(effect, fk.MoveTo):
                assert effect.probability <= 0.15
            else:
                assert isinstance(effect, fk.OddsMultiplier) and effect.multiplier <= 1.5
            assert step.discount <= 0.1


def test_stage_names_are_parameters() -> None:
    funnel = (
        fk.Funnel("renamed", time_unit="minutes")
        .add_stage("browse")
        .add_stage("basket")
        .add_stage("pay")
        .add_stage("order", "success", value=40.0)
        .add_edge("browse", "basket", 0.3)
        .add_edge("basket", "pay", 0.5)
        .add_edge("pay", "order", 0.8)
    )
    with pytest.raises(fk.UnknownStageError, match="trigger 'abandoned browse' names stage 'interest'"):
        fk.strategies.must_have().validate(funnel)
    strategy = fk.strategies.must_have("browse", "basket", "pay", exclude_stages=())
    plain = resolve(strategy, funnel)
    cart = plain["triggers"][1]  # type: ignore[index]
    assert cart["states"] == [1] and cart["steps"][1]["effect"] == ("move", 2, 0.15)
    assert cart["steps"][0]["delay"] == pytest.approx(20.0)  # minutes
    assert plain["excluded_states"] == []


def test_welcome_series_and_popup() -> None:
    welcome = fk.strategies.welcome_series()
    assert welcome.condition == fk.when.enter("lead") and welcome.max_starts == 1
    assert [m.discount for m in welcome.steps] == [0.1, 0.0] and welcome.steps[0].offer_valid == "14D"
    popup = fk.strategies.onsite_popup()
    assert popup.condition == fk.when.idle("visit") and popup.steps[0].after == "15s"
    assert (popup.steps[0].channel, popup.steps[0].cost, popup.steps[0].open) == ("popup", 0.0, 1.0)
    assert popup.steps[0].effect == fk.MoveTo("lead", 0.03)
    plain = resolve(fk.Strategy([welcome, popup]), fk.examples.shop_funnel())
    assert plain["triggers"][1]["steps"][0]["delay"] == pytest.approx(15 / 3600)  # type: ignore[index]


@pytest.mark.parametrize("name", ["abandoned_browse", "abandoned_cart", "review_request", "reactivation",
                                  "recommendations", "welcome_series", "onsite_popup"])
def test_every_template_round_trips_and_runs_on_the_example_shop(name: str) -> None:
    trigger = getattr(fk.strategies, name)()
    strategy = fk.Strategy([trigger], exclude_stages=["unsubscribed"])
    assert fk.Strategy.from_json(strategy.to_json()) == strategy
    plain = resolve(strategy, fk.examples.shop_funnel())
    steps = plain["triggers"][0]["steps"]  # type: ignore[index]
    assert all(math.isfinite(s["delay"]) and s["delay"] >= 0 for s in steps)


def test_the_purchase_triggers_need_no_stage_but_their_effects_do() -> None:
    funnel = fk.examples.nurturing_funnel()  # no interest stage
    with pytest.raises(fk.UnknownStageError, match="trigger 'review request' step 1 names stage 'interest'"):
        fk.Strategy(fk.strategies.review_request()).validate(funnel)
    fk.Strategy(fk.strategies.review_request("warm_lead")).validate(funnel)
