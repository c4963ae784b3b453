"""The one extension mechanism: Python classes plugged into the C++ engine by name.

An extension is a subclass of the engine's base class for its *kind* (distributions, event
mappings, segment rules, scorers, lead features, trigger conditions and effects). The engine calls its methods through a pybind11 trampoline,
so it works everywhere a built-in does; registering it under a name lets JSON documents refer
to it and lets funnels that use it be saved, loaded and pickled::

    >>> import math
    >>> import funnelkit as fk
    >>> @fk.register_distribution("shifted_exponential")
    ... class ShiftedExponential(fk.Distribution):
    ...     def __init__(self, shift: float, rate: float) -> None:
    ...         super().__init__()
    ...         self.shift, self.rate = shift, rate
    ...     def params(self) -> dict[str, float]:
    ...         return {"shift": self.shift, "rate": self.rate}
    ...     def cdf(self, t: float) -> float:
    ...         return 0.0 if t < self.shift else 1.0 - math.exp(-self.rate * (t - self.shift))
    ...     def pdf(self, t: float) -> float:
    ...         return 0.0 if t < self.shift else self.rate * math.exp(-self.rate * (t - self.shift))
    ...     def quantile(self, p: float) -> float:
    ...         return self.shift - math.log1p(-p) / self.rate
    ...     def mean(self) -> float:
    ...         return self.shift + 1.0 / self.rate
    >>> ShiftedExponential(1.0, 2.0).mean()
    1.5
    >>> fk.unregister("distribution", "shifted_exponential")

The class is rebuilt from JSON as ``cls(**params)``. Built-ins stay on the C++ fast path; each
call into a Python extension takes the GIL and costs about a microsecond (see docs).

Later capabilities add kinds here (trigger effects, lead features, scorers) with the same
decorator, registry and JSON rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from funnelkit import _core
from funnelkit.errors import (
    DistributionError,
    EventLogError,
    FeatureValueError,
    FunnelError,
    ScorerFormatError,
    StrategyError,
)
from funnelkit.events import EventMapping, SegmentRule
from funnelkit.scoring.base import BUILTIN_SCORERS, Scorer
from funnelkit.scoring.features import LeadFeature
from funnelkit._trigger_kinds import MoveTo, OddsMultiplier, TriggerCondition, TriggerEffect

__all__ = [
    "BUILTINS",
    "BUILTIN_DISTRIBUTIONS",
    "EXTENSION_KINDS",
    "register",
    "register_distribution",
    "registered",
    "unregister",
]

@dataclass(frozen=True)
class _Kind:
    """What funnelkit knows about one extension kind."""

    base: type  # the engine interface an extension subclasses
    builtins: Mapping[str, type]  # the classes the engine implements itself, by JSON name
    error: type[FunnelError]  # raised when a document's parameters cannot rebuild an extension
    requires_params: bool = True  # engine kinds: JSON must be able to rebuild the object


# The one table of extension kinds. A new kind (feature, scorer, trigger_effect) is one entry
# here (and one factory line in the binding); registering, reading and saving need no new code.
_KINDS: Mapping[str, _Kind] = MappingProxyType(
    {
        "distribution": _Kind(
            base=_core.Distribution,
            builtins=MappingProxyType(
                {
                    "exponential": _core.Exponential,
                    "lognormal": _core.LogNormal,
                    "weibull": _core.Weibull,
                    "gamma": _core.Gamma,
                    "fixed": _core.Fixed,
                    "empirical": _core.Empirical,
                    "truncated": _core.Truncated,
                }
            ),
            error=DistributionError,
        ),
        # Python-only kinds: the engine calls them per distinct event name or per log, not per row.
        "event_mapping": _Kind(EventMapping, MappingProxyType({}), EventLogError, requires_params=False),
        "segment_rule": _Kind(SegmentRule, MappingProxyType({}), EventLogError, requires_params=False),
        # Called on blocks of leads (a feature matrix), never per lead.
        "scorer": _Kind(Scorer, MappingProxyType(BUILTIN_SCORERS), ScorerFormatError),
        # Engine objects (a trampoline), computed once per block of leads.
        "feature": _Kind(LeadFeature, MappingProxyType({}), FeatureValueError, requires_params=False),
        # Called by the shop simulation through a trampoline, per opened message or per stage
        # entry and due step; strategy documents name them (rebuilt as cls(**params)).
        "trigger_condition": _Kind(TriggerCondition, MappingProxyType({}), StrategyError),
        "trigger_effect": _Kind(
            TriggerEffect, MappingProxyType({"move": MoveTo, "odds": OddsMultiplier}), StrategyError
        ),
    }
)

#: Base class of each extension kind.
EXTENSION_KINDS: Mapping[str, type] = MappingProxyType({kind: k.base for kind, k in _KINDS.items()})

#: Names the engine implements itself, per kind; an extension cannot take them.
BUILTINS: Mapping[str, frozenset[str]] = MappingProxyType({kind: frozenset(k.builtins) for kind, k in _KINDS.items()})

#: The built-in distribution names (``BUILTINS["distribution"]``).
BUILTIN_DISTRIBUTIONS = BUILTINS["distribution"]

_registry: dict[str, dict[str, type]] = {kind: {} for kind in EXTENSION_KINDS}

T = TypeVar("T", bound=type)


def _check_kind(kind: str) -> None:
    if kind not in EXTENSION_KINDS:
        raise ValueError(f"unknown extension kind {kind!r}; known kinds: {', '.join(EXTENSION_KINDS)}")


def register(kind: str, name: str) -> Callable[[T], T]:
    """Class decorator registering an extension of ``kind`` under ``name``.

    Registering the same class again is a no-op; another class under a taken name is an error.
    """
    _check_kind(kind)
    if not name or not isinstance(name, str):
        raise ValueError("an extension needs a non-empty string name")
    if name in BUILTINS[kind]:
        raise ValueError(f"{name!r} is a built-in {kind}; choose another name")

    def decorate(cls: T) -> T:
        base = EXTENSION_KINDS[kind]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"a {kind} extension must subclass funnelkit.{base.__name__}")
        existing = _registry[kind].get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"{kind} {name!r} is already registered to {existing.__qualname__}")
        if _KINDS[kind].requires_params and getattr(cls, "params", None) is getattr(base, "params", None):
            raise TypeError(f"{cls.__qualname__} must define params() returning its constructor arguments")

        def type_name(self: object) -> str:
            return name

        type_name._funnelkit_name = name  # type: ignore[attr-defined]
        cls.type_name = type_name  # type: ignore[attr-defined]
        _registry[kind][name] = cls
        return cls

    return decorate


def register_distribution(name: str) -> Callable[[T], T]:
    """Register a :class:`funnelkit.Distribution` subclass under ``name`` (see module docs)."""
    return register("distribution", name)


def unregister(kind: str, name: str) -> None:
    """Remove a registration (mostly for tests and notebooks that redefine a class)."""
    _check_kind(kind)
    cls = _registry[kind].pop(name, None)
    if cls is not None and getattr(cls.__dict__.get("type_name"), "_funnelkit_name", None) == name:
        delattr(cls, "type_name")  # the name came from the registration: it goes with it


def registered(kind: str) -> Mapping[str, type]:
    """A read-only view of the registered extensions of ``kind``."""
    _check_kind(kind)
    return MappingProxyType(_registry[kind])


def _resolve(kind: str, name: str, params: dict[str, Any]) -> Any:
    """Called by the engine's JSON reader for a type of ``kind`` it does not implement: the
    registered class rebuilt as ``cls(**params)``, or None if ``name`` is not registered."""
    cls = _registry.get(kind, {}).get(name)
    if cls is None:
        return None
    try:
        return cls(**params)
    except TypeError as error:
        raise _KINDS[kind].error(f"{name}: cannot rebuild from parameters {params}: {error}") from error


def _is_saveable(kind: str, obj: object) -> bool:
    """Whether JSON can name ``obj``'s class: a built-in or a registered extension of ``kind``."""
    cls = type(obj)
    return cls in _KINDS[kind].builtins.values() or cls in _registry[kind].values()


def _scorer_class(name: str) -> type[Scorer]:
    """The scorer class a document names; ScorerFormatError for an unknown name."""
    cls = BUILTIN_SCORERS.get(name) or _registry["scorer"].get(name)
    if cls is None:
        known = sorted(BUILTIN_SCORERS) + sorted(_registry["scorer"])
        raise ScorerFormatError(
            f"unknown scorer type {name!r}; built in or registered: {', '.join(known) or 'none'} "
            "(register a Python scorer with fk.register('scorer', name) before loading)",
            subject=name,
        )
    return cls

