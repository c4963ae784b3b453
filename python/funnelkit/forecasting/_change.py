"""The pieces every scenario change shares: the :class:`Change` base class, the errors and the
checks of factors, amounts and names (see :mod:`funnelkit.forecasting.changes`)."""

from __future__ import annotations

import dataclasses
import datetime
import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from funnelkit._edges import is_real_number
from funnelkit.errors import FunnelError
from funnelkit.simulation._durations import duration_json

if TYPE_CHECKING:
    from funnelkit.forecasting.base import Base

__all__ = [
    "Change",
    "ScenarioError",
    "ScenarioFormatError",
    "UnknownChannelError",
    "UnknownEdgeError",
    "UnknownTriggerError",
]


# -- errors ----------------------------------------------------------------------------------
class ScenarioError(FunnelError):
    """A scenario or change that cannot be built or applied: a factor that is not a finite
    number > 0, a probability outside [0, 1], a change that needs something the base lacks."""


class ScenarioFormatError(ScenarioError):
    """A scenario document of another format or version, or with unknown fields or kinds."""


class UnknownEdgeError(ScenarioError):
    """A change naming an edge ``"source -> target"`` that the funnel does not have."""


class UnknownChannelError(ScenarioError):
    """A change naming a traffic channel that the plan does not have."""


class UnknownTriggerError(ScenarioError):
    """A change naming a trigger or campaign that the strategy does not have."""

# -- checks ----------------------------------------------------------------------------------
def _factor(value: object, where: str) -> float:
    if not is_real_number(value) or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        raise ScenarioError(f"{where}: factor must be a finite number > 0, got {value!r}", subject=where)
    return float(value)  # type: ignore[arg-type]


def _amount(value: object, where: str, *, upper: float = math.inf) -> float:
    """A finite number in [0, upper]."""
    if not is_real_number(value) or not math.isfinite(float(value)) or not 0.0 <= float(value) <= upper:  # type: ignore[arg-type]
        bound = f"in [0, {upper:g}]" if math.isfinite(upper) else ">= 0 and finite"
        raise ScenarioError(f"{where} must be a number {bound}, got {value!r}", subject=where)
    return float(value)  # type: ignore[arg-type]


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{where} must be a non-empty string, got {value!r}", subject=where)
    return value


def _one_of(change: object, first: str, second: str) -> str:
    """The name of the one field of ``first``/``second`` that is set; both or neither is an error."""
    given = [name for name in (first, second) if getattr(change, name) is not None]
    if len(given) != 1:
        kind = type(change).__name__
        raise ScenarioError(f"{kind}: give exactly one of {first} and {second}", subject=kind)
    return given[0]


def _times(factor: float) -> str:
    return f"x{factor:g}"

# -- the base class --------------------------------------------------------------------------
class Change(ABC):
    """One edit of a :class:`~funnelkit.forecasting.base.Base`; subclasses are frozen dataclasses."""

    #: The change's name in scenario documents.
    kind: ClassVar[str]

    @abstractmethod
    def apply(self, base: Base) -> Base:
        """A new base with this change made; ``base`` is left as it was."""

    @abstractmethod
    def label(self) -> str:
        """A short text for tables and scenario names (``"p(cart -> checkout) x1.1"``)."""

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., field: value, ...}``: plain JSON values."""
        document: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, (datetime.timedelta, np.timedelta64)):
                value = duration_json(value)
            document[f.name] = value
        return document

    def __str__(self) -> str:
        return self.label()
