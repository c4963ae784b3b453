"""The engine-facing bases of the trigger extension kinds and the built-in effects.

Kept outside :mod:`funnelkit.simulation` so that :mod:`funnelkit.extension` can name them
without importing the simulation package (which imports the funnel, which imports the
extension table). Users import them from ``funnelkit`` or :mod:`funnelkit.simulation.triggers`.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

import numpy as np

from funnelkit.errors import StrategyError

__all__ = ["Effect", "MoveTo", "OddsMultiplier", "TriggerCondition", "TriggerEffect"]

def _number(value: object) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _integer(value: object) -> int | None:
    """``value`` as an int if it is an integer (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _probability(value: object, what: str) -> float:
    number = _number(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise StrategyError(f"{what} must be a probability in [0, 1], got {value!r}", subject=what)
    return number


def _nonnegative(value: object, what: str) -> float:
    number = _number(value)
    if number is None or not 0.0 <= number < math.inf:
        raise StrategyError(f"{what} must be a finite number >= 0, got {value!r}", subject=what)
    return number


def _stages(value: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise StrategyError(f"{what}: stage names must be non-empty strings, got {name!r}", subject=what)
    return names



class TriggerEffect(ABC):
    """Base of a Python effect of an opened message (extension kind ``"trigger_effect"``).

    Subclass it, implement :meth:`apply` and :meth:`params` (constructor arguments as JSON
    values) and register it with ``fk.register("trigger_effect", name)`` so strategy documents
    can name it. The engine calls :meth:`apply` through a trampoline, taking the GIL: about a
    microsecond per opened message, against nanoseconds for the built-ins :class:`MoveTo` and
    :class:`OddsMultiplier`, and it serialises threads.

    >>> import funnelkit as fk
    >>> class BackToBrowsing(fk.TriggerEffect):
    ...     def __init__(self, probability: float) -> None:
    ...         self.probability = probability
    ...     uses_weights = False
    ...     def apply(self, lead, weights, u):
    ...         return "interest" if u < self.probability else None
    ...     def params(self):
    ...         return {"probability": self.probability}
    >>> BackToBrowsing(0.2).apply(None, None, 0.1)
    'interest'
    """

    #: Whether :meth:`apply` reads or rewrites ``weights`` (the engine computes them only then).
    uses_weights: ClassVar[bool] = True

    @abstractmethod
    def apply(self, lead: Any, weights: np.ndarray, u: float) -> str | None:
        """What the opened message does to ``lead`` (a ``LeadContext``: ``stage``, ``now``,
        ``stay_start``, ``purchases``, ``revenue``, ...).

        ``weights`` holds the chances of the lead's pending moves out of its stage given its
        time there (empty in an end stage); rewrite them in place to change where it goes next
        (the engine renormalises them and redraws the move). Return a stage name to move the
        lead there now, or None to let it stay. ``u`` is a uniform draw on (0, 1) for the
        effect's own chance, so runs stay reproducible.
        """

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments rebuilding this effect, as JSON values."""

    def type_name(self) -> str:
        """The name documents use for this class (``fk.register`` sets it)."""
        return f"unregistered:{type(self).__qualname__}"


@dataclass(frozen=True, slots=True)
class MoveTo:
    """With ``probability``, the lead moves to ``stage`` at once when it opens the message —
    from any stage, so a lead who left (or bought) can be brought back (a repeat order).

    >>> MoveTo("checkout", 0.1)
    MoveTo(stage='checkout', probability=0.1)
    """

    stage: str
    probability: float

    def __post_init__(self) -> None:
        if not isinstance(self.stage, str) or not self.stage:
            raise StrategyError(f"MoveTo needs a stage name, got {self.stage!r}", subject="MoveTo.stage")
        object.__setattr__(self, "probability", _probability(self.probability, "MoveTo.probability"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "move", "stage": self.stage, "probability": self.probability}


@dataclass(frozen=True, slots=True)
class OddsMultiplier:
    """Multiplies the odds of the lead's next move going to one of ``toward`` (None: any stage
    that is not a failure stage) by ``multiplier`` for the rest of its stay. With P the chance
    of that set, ``P' = m P / (1 - P + m P)``, spread inside and outside the set in proportion.

    >>> OddsMultiplier(1.5, toward=["checkout"]).toward
    ('checkout',)
    """

    multiplier: float
    toward: Sequence[str] | None = None

    def __post_init__(self) -> None:
        m = _number(self.multiplier)
        if m is None or not 0.0 <= m < math.inf:
            raise StrategyError(f"OddsMultiplier.multiplier must be finite and >= 0, got {self.multiplier!r}",
                                subject="OddsMultiplier.multiplier")
        object.__setattr__(self, "multiplier", m)
        if self.toward is not None:
            object.__setattr__(self, "toward", _stages(self.toward, "OddsMultiplier.toward"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "odds", "multiplier": self.multiplier,
                "toward": None if self.toward is None else list(self.toward)}


#: What a message's ``effect`` may be.
Effect: TypeAlias = MoveTo | OddsMultiplier | TriggerEffect

class TriggerCondition(ABC):
    """Base of a Python trigger condition (extension kind ``"trigger_condition"``), used with
    ``when.custom(condition, stages)``.

    The engine asks :meth:`start` on every entry of a lead into one of the watched stages and
    :meth:`holds` before each step goes out. Each call takes the GIL (about a microsecond).

    >>> import funnelkit as fk
    >>> class SecondVisit(fk.TriggerCondition):
    ...     def start(self, lead):
    ...         return 0.5 if lead.purchases == 0 else None
    ...     def params(self):
    ...         return {}
    >>> fk.when.custom(SecondVisit(), "interest").kind
    'custom'
    """

    @abstractmethod
    def start(self, lead: Any) -> float | None:
        """Called as the lead enters a watched stage (``lead.now == lead.stay_start``): after how
        long (in the funnel's time unit) the trigger starts, or None for "not this time"."""

    def holds(self, lead: Any) -> bool:
        """Called when a step is due: False skips that step. Default: every step goes out."""
        return True

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments rebuilding this condition, as JSON values."""

    def type_name(self) -> str:
        """The name documents use for this class (``fk.register`` sets it)."""
        return f"unregistered:{type(self).__qualname__}"

