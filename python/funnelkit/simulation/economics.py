"""The money side of a simulated shop: margin on orders, the spread of order values, profit.

A purchase earns its stage's value (the average order value) times a multiplier drawn per
order; :class:`Economics` says how the multiplier spreads and what share of revenue is margin:

* ``revenue`` = sum of order values (before discounts),
* ``discounts`` = the share of the order value given away when an offer is used,
* ``margin`` = ``margin * revenue - discounts`` (a discount comes out of the margin),
* ``profit`` = ``margin - traffic cost - message cost``.

>>> from funnelkit.simulation.economics import Economics
>>> economics = Economics(margin=0.25, order_value_cv=0.5)
>>> economics.margin_of(revenue=1000.0, discounts=30.0)
220.0
>>> round(economics.order_value().mean(), 12)
1.0
>>> Economics().order_value() is None   # no spread: every order is worth the stage's value
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from funnelkit import _core

__all__ = ["Economics"]

_Number = TypeVar("_Number", float, np.ndarray)


@dataclass(frozen=True)
class Economics:
    """Margin and order-value spread of a simulated shop.

    Parameters
    ----------
    margin:
        Share of revenue kept as gross margin, in [0, 1] (default 0.3: a typical retail
        margin; make it yours). Discounts paid on offers come out of it.
    order_value_cv:
        Coefficient of variation of each order's value around the purchase stage's value:
        the value is multiplied by a log-normal draw with mean 1 and this coefficient of
        variation (``sigma**2 = log(1 + cv**2)``, ``mu = -sigma**2 / 2``); 0 (the default):
        every order is worth exactly the stage's value. The mean revenue does not depend on it.
    """

    margin: float = 0.3
    order_value_cv: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.margin, (int, float)) and 0.0 <= self.margin <= 1.0):
            raise ValueError(f"Economics: margin must be a share in [0, 1], got {self.margin!r}")
        cv = self.order_value_cv
        if not (isinstance(cv, (int, float)) and math.isfinite(cv) and cv >= 0.0):
            raise ValueError(f"Economics: order_value_cv must be a finite number >= 0, got {cv!r}")

    def order_value(self) -> _core.Distribution | None:
        """The order-value multiplier's law (log-normal, mean 1), or None without spread."""
        if self.order_value_cv == 0.0:
            return None
        sigma = math.sqrt(math.log1p(self.order_value_cv**2))
        return _core.LogNormal(-0.5 * sigma * sigma, sigma)

    def margin_of(self, revenue: _Number, discounts: _Number) -> _Number:
        """``margin * revenue - discounts`` (numbers or arrays)."""
        result: _Number = self.margin * revenue - discounts
        return result

    def profit_of(self, revenue: _Number, discounts: _Number, traffic_cost: _Number, message_cost: _Number) -> _Number:
        """``margin * revenue - discounts - traffic_cost - message_cost``."""
        result: _Number = self.margin_of(revenue, discounts) - traffic_cost - message_cost
        return result

    def to_dict(self) -> dict[str, Any]:
        return {"margin": float(self.margin), "order_value_cv": float(self.order_value_cv)}
