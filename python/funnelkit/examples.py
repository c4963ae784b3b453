"""Ready-made funnels built from practitioners' rules of thumb (shared/DOMAIN.md).

Every figure is a parameter: these are starting points and documentation examples, not
benchmarks of any particular shop.
"""

from __future__ import annotations

from funnelkit.distributions import Exponential, Weibull, lognormal_from_median
from funnelkit.funnel import Funnel

__all__ = ["lifecycle_funnel", "nurturing_funnel", "shop_funnel"]


def nurturing_funnel(
    buy_now: float = 0.01,
    warm: float = 0.20,
    warm_conversion: float = 0.10,
    order_value: float = 50.0,
    nurture: bool = True,
) -> Funnel:
    """The lead-nurturing arithmetic: of N visitors ``buy_now`` buy at once, ``warm`` become
    interested leads, and nurturing converts ``warm_conversion`` of those.

    Without nurturing 0.01·N buy; with it 0.01·N + 0.2·0.1·N = 0.03·N, three times as many:

    >>> base = nurturing_funnel(nurture=False).analyze().success_probability
    >>> nurtured = nurturing_funnel().analyze().success_probability
    >>> round(base, 6), round(nurtured, 6), round(nurtured / base, 6)
    (0.01, 0.03, 3.0)
    """
    return (
        Funnel("lead nurturing")
        .add_stage("visit")
        .add_stage("warm_lead")
        .add_stage("paid", "success", value=order_value)
        .add_edge("visit", "paid", buy_now)
        .add_edge("visit", "warm_lead", warm)
        .add_edge("warm_lead", "paid", warm_conversion if nurture else 0.0)
    )


def shop_funnel(order_value: float = 60.0) -> Funnel:
    """A typical online shop, in hours: visit → lead → interest → cart → checkout → paid,
    with loops back (interest cools down to lead, cart back to browsing) and drop-outs at
    every step (about half the carts are abandoned, ~55% leave after starting checkout)."""
    return (
        Funnel("online shop", time_unit="hours")
        .add_stage("visit", holding=lognormal_from_median(0.1, 0.8))
        .add_stage("lead", holding=Exponential(mean=48.0))
        .add_stage("interest", holding=Weibull(shape=0.8, scale=24.0))
        .add_stage("cart", holding=lognormal_from_median(2.0, 1.0))
        .add_stage("checkout", holding=Exponential(mean=0.3))
        .add_stage("paid", "success", value=order_value)
        .add_stage("unsubscribed", "failure")
        .add_edge("visit", "lead", 0.25)
        .add_edge("visit", "cart", 0.02)
        .add_edge("lead", "interest", 0.45)
        .add_edge("lead", "unsubscribed", 0.05)
        .add_edge("interest", "cart", 0.30)
        .add_edge("interest", "lead", 0.15)
        .add_edge("cart", "checkout", 0.40)
        .add_edge("cart", "interest", 0.10)
        .add_edge("checkout", "paid", 0.45)
    )


def lifecycle_funnel(order_value: float = 60.0, discount: float = 0.97) -> Funnel:
    """After the first purchase, in days: repeat purchases (a loop), customers falling
    asleep and being reactivated, churn, and loyalty. Every purchase earns ``order_value``;
    ``discount`` per transition makes far-future purchases count less."""
    return (
        Funnel("customer lifecycle", time_unit="days", drop_stage="churned", discount=discount)
        .add_stage("first_purchase", value=order_value, holding=Exponential(mean=30.0))
        .add_stage("repeat_purchase", value=order_value, holding=Exponential(mean=45.0))
        .add_stage("dormant", holding=Exponential(mean=90.0))
        .add_stage("loyal", "success")
        .add_stage("churned", "failure")
        .add_edge("first_purchase", "repeat_purchase", 0.30)
        .add_edge("first_purchase", "dormant", 0.55)
        .add_edge("repeat_purchase", "repeat_purchase", 0.35)
        .add_edge("repeat_purchase", "loyal", 0.15)
        .add_edge("repeat_purchase", "dormant", 0.40)
        .add_edge("dormant", "repeat_purchase", 0.12)
    )
