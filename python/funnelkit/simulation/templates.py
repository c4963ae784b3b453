"""Ready-made trigger strategies from practice (``fk.strategies``).

Timings follow practitioners' rules of thumb (shared/DOMAIN.md, "Trigger letters"): abandoned
browse and abandoned cart 20 minutes after the last action, then a special offer after 24 hours;
a review request after delivery; reactivation after about 3 months without activity;
recommendations a month after a purchase; a welcome series with a first-order coupon on
subscription; an on-site popup 15 seconds after arrival. The reported effects are an ~40% open
rate for trigger letters and up to ~20% of abandoned carts brought back by the reminder.

**The response effects are assumptions, deliberately modest**: funnelkit cannot know how your
customers answer your letters. Replace them with the rates you measured (a control group in
your campaign tool, or the uplift the simulation's control share estimates on a fitted funnel).
Every figure is a parameter; stage names default to :func:`funnelkit.examples.shop_funnel`'s
(visit, lead, interest, cart, checkout, paid, unsubscribed).

    >>> import funnelkit as fk
    >>> strategy = fk.strategies.must_have()
    >>> strategy.senders
    ['abandoned browse', 'abandoned cart', 'review request', 'reactivation', 'recommendations']
    >>> cart = strategy.triggers[1]
    >>> [step.after for step in cart.steps], cart.steps[1].discount
    (['20min', '24h'], 0.1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from funnelkit.simulation._durations import Duration
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.triggers import Effect, Message, MoveTo, OddsMultiplier, Trigger, when

__all__ = [
    "abandoned_browse",
    "abandoned_cart",
    "must_have",
    "onsite_popup",
    "reactivation",
    "recommendations",
    "review_request",
    "welcome_series",
]


def abandoned_browse(
    browse_stage: str = "interest",
    cart_stage: str = "cart",
    *,
    first: Duration = "20min",
    offer_after: Duration = "24h",
    channel: str = "email",
    discount: float = 0.05,
    reminder: Effect | None = None,
    offer: Effect | None = None,
    name: str = "abandoned browse",
) -> Trigger:
    """"You looked at these": to a lead idle in ``browse_stage`` (viewed goods, no cart).

    Parameters
    ----------
    browse_stage, cart_stage:
        The browsing stage watched and the cart stage the letters push toward.
    first:
        Step 1 ("you looked at these", with recommendations) this long after the last action
        (DOMAIN.md: 20 min after leaving with no cart).
    offer_after:
        Step 2, a special offer on the viewed goods, this long after the last action (DOMAIN.md:
        24 h), only if the lead is still idle and has not bought.
    channel:
        E-mail by default (DOMAIN.md: ~40% open rate, the channel's default).
    discount:
        The offer's share of the order value, paid only on a purchase using it (assumption: 5%).
    reminder, offer:
        Effects of the opened letters. Assumptions: 5% (step 1) and 8% (step 2) of those who
        open go to the cart at once. Idle includes leads who left (dropped out): a move effect
        brings them back, while an :class:`OddsMultiplier` would only reach leads still deciding.
    """
    return Trigger(
        name,
        when.idle(browse_stage),
        [
            Message(after=first, channel=channel, effect=reminder or MoveTo(cart_stage, 0.05)),
            Message(after=offer_after, channel=channel, discount=discount, offer_valid="7D",
                    effect=offer or MoveTo(cart_stage, 0.08)),
        ],
    )


def abandoned_cart(
    cart_stage: str = "cart",
    checkout_stage: str = "checkout",
    *,
    first: Duration = "20min",
    offer_after: Duration = "24h",
    channel: str = "email",
    discount: float = 0.10,
    reminder: Effect | None = None,
    offer: Effect | None = None,
    name: str = "abandoned cart",
) -> Trigger:
    """A reminder to a lead idle in ``cart_stage``, then an offer.

    DOMAIN.md: about 70% of orders are abandoned at checkout; the reminder (20 minutes after
    leaving, then a special offer after 24 hours) brings back up to 20%.

    Parameters
    ----------
    cart_stage, checkout_stage:
        The cart stage watched and the stage an answering lead goes on to.
    first, offer_after:
        When the reminder and the offer are due after the lead's last action (entering the
        cart); each goes out only if the lead has not acted since (it may have left: dropping
        out is no action) and has not bought.
    channel:
        E-mail by default (~40% opened).
    discount:
        The offer's share of the order value (assumption: 10%), paid only when used.
    reminder, offer:
        Effects of the opened letters. Assumptions: 10% of those who open the reminder and 15%
        of those who open the offer go to checkout at once. With ~40% opened that brings back
        roughly 10% of the carts reached, below DOMAIN.md's "up to 20%"; raise them once you
        have measured yours.
    """
    return Trigger(
        name,
        when.idle(cart_stage),
        [
            Message(after=first, channel=channel, effect=reminder or MoveTo(checkout_stage, 0.10)),
            Message(after=offer_after, channel=channel, discount=discount, offer_valid="7D",
                    effect=offer or MoveTo(checkout_stage, 0.15)),
        ],
    )


def review_request(
    browse_stage: str = "interest",
    *,
    after: Duration = "3D",
    channel: str = "email",
    effect: Effect | None = None,
    name: str = "review request",
) -> Trigger:
    """Asks for a review ``after`` each purchase (the delivery time: shop-specific; assumption:
    3 days). DOMAIN.md: it brings the customer back to the site.

    The effect is an assumption: 3% of those who open it come back to browse
    (``MoveTo(browse_stage, 0.03)``), from where they may buy again. Sent even if the customer
    bought again meanwhile (``stop_on_purchase=False``).
    """
    return Trigger(name, when.purchase(),
                   [Message(after=after, channel=channel, effect=effect or MoveTo(browse_stage, 0.03))],
                   stop_on_purchase=False)


def reactivation(
    browse_stage: str = "interest",
    *,
    after: Duration = "90D",
    channel: str = "email",
    discount: float = 0.10,
    effect: Effect | None = None,
    name: str = "reactivation",
) -> Trigger:
    """"Are you still with us?" ``after`` a purchase with no purchase since (DOMAIN.md: about 3
    months, depending on the trade), with a personal discount. Only purchases count as activity
    here (the customer may have browsed meanwhile); for "no move at all for 90 days" use
    ``when.inactive()`` instead.

    Assumptions: a 10% discount, valid 14 days; 5% of those who open it come back to browse.
    """
    return Trigger(name, when.purchase(),
                   [Message(after=after, channel=channel, discount=discount, offer_valid="14D",
                            effect=effect or MoveTo(browse_stage, 0.05))])


def recommendations(
    browse_stage: str = "interest",
    *,
    after: Duration = "30D",
    channel: str = "email",
    effect: Effect | None = None,
    name: str = "recommendations",
) -> Trigger:
    """"We picked something for you" ``after`` a purchase (DOMAIN.md: a month), unless the
    customer bought again meanwhile. Assumption: 4% of those who open it come back to browse."""
    return Trigger(name, when.purchase(),
                   [Message(after=after, channel=channel, effect=effect or MoveTo(browse_stage, 0.04))])


def welcome_series(
    lead_stage: str = "lead",
    browse_stage: str = "interest",
    *,
    steps: Sequence[Duration] = (0.0, "3D"),
    channel: str = "email",
    coupon: float = 0.10,
    coupon_valid: Duration = "14D",
    effect: Effect | None = None,
    name: str = "welcome series",
) -> Trigger:
    """Letters to a new subscriber on entering ``lead_stage`` (DOMAIN.md: a greeting, e.g. the
    owner's video, and a first-purchase coupon), one per delay in ``steps``, stopping at the
    first purchase.

    Assumptions: the first letter carries the coupon (``coupon`` of the order value, valid
    ``coupon_valid``); each opened letter multiplies the odds of moving on to browsing by 1.3.
    """
    effect = effect or OddsMultiplier(1.3, [browse_stage])
    messages = [Message(after=delay, channel=channel, effect=effect,
                        discount=coupon if k == 0 else 0.0, offer_valid=coupon_valid if k == 0 else None)
                for k, delay in enumerate(steps)]
    return Trigger(name, when.enter(lead_stage), messages, max_starts=1)


def onsite_popup(
    visit_stage: str = "visit",
    lead_stage: str = "lead",
    *,
    after: Duration = "15s",
    effect: Effect | None = None,
    name: str = "on-site popup",
) -> Trigger:
    """A popup ``after`` arrival to a visitor still on the site (DOMAIN.md: 15 s; "subscribe and
    get a first-purchase coupon"): ``while_present``, so visitors who left never see it. Popups
    are free, seen by everyone still there and exempt from quiet hours and the frequency cap
    (the ``"popup"`` channel's defaults).

    Assumption: 3% of those who see it subscribe (``MoveTo(lead_stage, 0.03)``). The coupon
    itself is the welcome series' (:func:`welcome_series`), paid only when used.
    """
    return Trigger(name, when.idle(visit_stage, while_present=True),
                   [Message(after=after, channel="popup", effect=effect or MoveTo(lead_stage, 0.03))])


def must_have(
    browse_stage: str = "interest",
    cart_stage: str = "cart",
    checkout_stage: str = "checkout",
    *,
    exclude_stages: Sequence[str] = ("unsubscribed",),
    channel: str = "email",
    control_share: float = 0.0,
    name: str = "must-have",
) -> Strategy:
    """The five must-have triggers (DOMAIN.md): abandoned browse, abandoned cart, review
    request, reactivation, recommendations, with their defaults (see each function). Leads in
    ``exclude_stages`` get nothing; pass ``()`` for a funnel without an unsubscribed stage.
    ``control_share`` holds that share of leads out of every trigger, so the simulation
    measures each trigger's uplift (:attr:`Simulation.triggers`).

    >>> must_have(exclude_stages=()).exclude_stages
    ()
    """
    triggers = [
        abandoned_browse(browse_stage, cart_stage, channel=channel),
        abandoned_cart(cart_stage, checkout_stage, channel=channel),
        review_request(browse_stage, channel=channel),
        reactivation(browse_stage, channel=channel),
        recommendations(browse_stage, channel=channel),
    ]
    return Strategy(
        triggers=[dataclasses.replace(trigger, control_share=control_share) for trigger in triggers],
        exclude_stages=exclude_stages,
        name=name,
    )
