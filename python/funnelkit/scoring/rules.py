"""Rule-based points, as in marketing-automation tools: a shop writes down what a lead's
behaviour is worth ("+5 per cart add this week, at most 30"; "-50 when unsubscribed") and every
lead's score is the sum, with the rules that fired as its reasons.

A :class:`Rule` reads one feature column of :func:`funnelkit.lead_features`:

* with a **condition** (``op`` one of ``<, <=, >, >=, ==, !=`` and a ``value``, or ``"between"``
  and ``value=[lower, upper]``, both ends included) it gives fixed ``points`` when the condition
  holds;
* **per unit** (no ``value``, or ``per_unit=True``) it gives ``points`` × the feature's value
  (where the condition, if any, holds), e.g. per (decayed) cart add;
* an **event rule** names an event instead of a feature: ``Rule(event="add_to_cart", points=5,
  half_life_days=7, cap=30)`` reads ``decayed_add_to_cart_7d`` (each add counts
  ``0.5 ** (age_days / 7)``: a cart add a week old is worth half of one today), and without a
  half-life ``events_add_to_cart`` (plain counts). :meth:`RuleScorer.feature_options` asks
  ``lead_features`` for these columns, so the batch job computes them.

``cap`` limits the points one rule gives, either way (a -5-per-bounce rule with ``cap=20``
gives at least -20); points may be negative. :class:`RuleScorer` sums the rules and clips the
total to ``[floor, cap]``. Its contributions are the points of each rule (before the total's
floor and cap), named by the rules' names.

**Points are not probabilities.** They rank leads and explain the ranking; a score of 60 is
not "60% likely to buy". To turn points into probabilities, calibrate them on labels
(``fk.evaluate`` gives a calibration table) or use a learned scorer.

>>> import pandas as pd
>>> import funnelkit as fk
>>> scorer = fk.RuleScorer([
...     fk.Rule("cart_adds", ">=", 1, points=20),
...     fk.Rule("recency_days", "<=", 3, points=10),
...     fk.Rule("page_views", points=0.5, cap=10),
...     fk.Rule(event="unsubscribe", op=">=", value=1, points=-50),
... ], floor=0)
>>> features = pd.DataFrame({"cart_adds": [2, 0, 1], "recency_days": [1.0, 12.0, 2.0],
...                          "page_views": [30, 4, 6], "events_unsubscribe": [0, 0, 1]},
...                         index=pd.Index(["a", "b", "c"], name="lead_id"))
>>> scorer.score(features).tolist()
[40.0, 2.0, 0.0]
>>> scorer.reason_names
['cart_adds >= 1', 'recency_days <= 3', 'per page_views', 'unsubscribe >= 1']
>>> scorer.feature_options()
{'event_counts': ['unsubscribe']}

Rules are plain dicts in JSON, so a shop can keep them in a file (a list of rules, or
``{"rules": [...], "floor": ..., "cap": ...}``) and load it with :meth:`RuleScorer.from_file`::

    [{"feature": "cart_adds", "op": ">=", "value": 1, "points": 20},
     {"event": "add_to_cart", "half_life_days": 7, "points": 5, "cap": 30}]
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from funnelkit import _core
from funnelkit.errors import ScorerFormatError
from funnelkit.scoring.base import Scorer

__all__ = ["DEFAULT_RULES", "OPS", "Rule", "RuleScorer", "default_rule_scorer"]

#: The condition operators a rule may use.
OPS = ("<", "<=", ">", ">=", "==", "!=", "between")

_KEYS = ("feature", "op", "value", "points", "per_unit", "cap", "name", "event", "half_life_days")


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers (JSON writes only those)."""
    return value.item() if isinstance(value, np.generic) else value


def _fmt(value: float) -> str:
    return f"{value:g}"


class Rule:
    """One scoring rule: a feature (or event), an optional condition, points.

    Parameters
    ----------
    feature:
        The feature column the rule reads (a column of :func:`funnelkit.lead_features`). Give
        either ``feature`` or ``event``.
    op:
        The condition: ``"<"``, ``"<="``, ``">"``, ``">="``, ``"=="``, ``"!="`` or
        ``"between"`` (used only with a ``value``).
    value:
        The condition's threshold, ``[lower, upper]`` for ``"between"`` (both included), or
        None for no condition.
    points:
        Points when the condition holds, or per unit of the feature for per-unit rules; may be
        negative.
    per_unit:
        Give ``points`` × the feature value where the condition holds. Default: per unit
        exactly when there is no ``value``.
    cap:
        At most this many points from this rule, either way (``>= 0``; None: no limit).
    name:
        The reason shown for the rule (default: built from the rule, like ``"cart_adds >= 1"``
        or ``"per add_to_cart (half-life 7d)"``); unique within a scorer.
    event:
        An event name instead of a feature: the rule reads ``decayed_<event>_<half_life>d``
        with ``half_life_days``, else ``events_<event>`` (the event's count).
    half_life_days:
        For event rules: an event ``half_life_days`` old counts one half (``> 0``).

    Invalid rules raise :class:`~funnelkit.ScorerFormatError` naming the rule.

    >>> Rule("cart_adds", ">=", 1, points=20)
    Rule(feature='cart_adds', op='>=', value=1, points=20)
    >>> Rule(event="add_to_cart", points=5, half_life_days=7, cap=30).feature
    'decayed_add_to_cart_7d'
    >>> Rule("recency_days", "between", [0, 3], points=10).name
    'recency_days in [0, 3]'
    """

    __slots__ = ("cap", "event", "feature", "half_life_days", "name", "op", "per_unit", "points", "value")

    feature: str
    op: str | None
    value: float | tuple[float, float] | None
    points: float
    per_unit: bool
    cap: float | None
    name: str
    event: str | None
    half_life_days: float | None

    def __init__(
        self,
        feature: str | None = None,
        op: str = ">=",
        value: float | Sequence[float] | None = None,
        points: float | None = None,
        per_unit: bool | None = None,
        cap: float | None = None,
        name: str | None = None,
        *,
        event: str | None = None,
        half_life_days: float | None = None,
    ) -> None:
        label = repr(name) if name is not None else repr(event if feature is None else feature)
        value = _plain(value) if not isinstance(value, (list, tuple, np.ndarray)) else [_plain(v) for v in value]
        points, cap, half_life_days = _plain(points), _plain(cap), _plain(half_life_days)

        def fail(problem: str) -> ScorerFormatError:
            return ScorerFormatError(f"rule {label}: {problem}", subject=name or event or feature)

        if name is not None and (not isinstance(name, str) or not name):
            raise fail("name must be a non-empty string")
        # What the rule reads.
        if (feature is None) == (event is None):
            raise fail("give either a feature or an event")
        if event is not None:
            if not isinstance(event, str) or not event:
                raise fail("event must be a non-empty string")
            if half_life_days is not None:
                if not _is_real(half_life_days) or not math.isfinite(half_life_days) or half_life_days <= 0:
                    raise fail(f"half_life_days must be a finite number > 0, got {half_life_days!r}")
                half_life_days = float(half_life_days)
                column = f"decayed_{event}_{_fmt(half_life_days)}d"
                subject = f"{event} (half-life {_fmt(half_life_days)}d)"
            else:
                column = f"events_{event}"
                subject = event
        else:
            if not isinstance(feature, str) or not feature:
                raise fail("feature must be a non-empty string")
            if half_life_days is not None:
                raise fail("half_life_days applies to event rules only (give event=...)")
            column = subject = feature
        # The condition.
        condition: str | None = None
        resolved_value: float | tuple[float, float] | None = None
        resolved_op: str | None = None
        if value is not None:
            if op not in OPS:
                raise fail(f"unknown op {op!r} (expected one of {', '.join(OPS)})")
            resolved_op = op
            if op == "between":
                if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
                    raise fail(f"between needs value=[lower, upper], got {value!r}")
                lower, upper = value
                if not (_is_real(lower) and _is_real(upper) and math.isfinite(lower) and math.isfinite(upper)):
                    raise fail(f"between needs finite numbers, got {list(value)!r}")
                if lower > upper:
                    raise fail(f"between needs lower <= upper, got [{lower!r}, {upper!r}]")
                resolved_value = (lower, upper)
                condition = f"in [{_fmt(lower)}, {_fmt(upper)}]"
            else:
                if not _is_real(value) or not math.isfinite(value):  # type: ignore[arg-type]
                    raise fail(f"value must be a finite number, got {value!r}")
                resolved_value = value  # type: ignore[assignment]
                condition = f"{op} {_fmt(value)}"  # type: ignore[arg-type]
        elif not isinstance(op, str) or op not in OPS:
            raise fail(f"unknown op {op!r} (expected one of {', '.join(OPS)})")
        # The points.
        if points is None:
            raise fail("points are required")
        if not _is_real(points) or not math.isfinite(points):
            raise fail(f"points must be a finite number, got {points!r}")
        if per_unit is None:
            per_unit = value is None
        elif not isinstance(per_unit, (bool, np.bool_)):
            raise fail(f"per_unit must be True or False, got {per_unit!r}")
        per_unit = bool(per_unit)
        if not per_unit and value is None:
            raise fail("a rule without a condition (value) must give points per unit")
        if cap is not None and (not _is_real(cap) or not math.isfinite(cap) or cap < 0):
            raise fail(f"cap must be a finite number >= 0, got {cap!r}")
        if name is None:
            if per_unit:
                name = f"per {subject}" + ("" if condition is None else f" if {condition}")
            else:
                name = f"{subject} {condition}"
        for key, field in (("feature", column), ("op", resolved_op), ("value", resolved_value), ("points", points),
                           ("per_unit", per_unit), ("cap", cap), ("name", name), ("event", event),
                           ("half_life_days", half_life_days)):
            object.__setattr__(self, key, field)

    def __setattr__(self, key: str, value: object) -> None:
        # Immutable: a scorer compiles its rules once, and DEFAULT_RULES is shared.
        raise AttributeError(f"a Rule is immutable; build a new one (cannot set {key!r})")

    # -- documents -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The rule as a plain dict (what a rules JSON file holds); :meth:`from_dict` reads it."""
        out: dict[str, Any] = {}
        if self.event is not None:
            out["event"] = self.event
            if self.half_life_days is not None:
                out["half_life_days"] = self.half_life_days
        else:
            out["feature"] = self.feature
        if self.value is not None:
            out["op"] = self.op
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        out["points"] = self.points
        if self.per_unit != (self.value is None):
            out["per_unit"] = self.per_unit
        if self.cap is not None:
            out["cap"] = self.cap
        out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> Rule:
        """A rule from a plain dict with the constructor's keywords."""
        if not isinstance(rule, Mapping):
            raise ScorerFormatError(f"a rule must be a dict, got {type(rule).__name__}")
        unknown = sorted(set(rule) - set(_KEYS))
        if unknown:
            label = rule.get("name") or rule.get("event") or rule.get("feature")
            raise ScorerFormatError(
                f"rule {label!r}: unknown key(s) {', '.join(map(repr, unknown))} (expected {', '.join(_KEYS)})",
                subject=label if isinstance(label, str) else None,
            )
        return cls(**dict(rule))

    def _engine_dict(self) -> dict[str, Any]:
        return {"name": self.name, "feature": self.feature, "op": self.op,
                "value": list(self.value) if isinstance(self.value, tuple) else self.value,
                "points": float(self.points), "per_unit": self.per_unit,
                "cap": None if self.cap is None else float(self.cap)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(self.to_dict().items())))

    def __repr__(self) -> str:
        fields = self.to_dict()
        default_name = type(self)(**{k: v for k, v in fields.items() if k != "name"}).name
        if fields["name"] == default_name:
            del fields["name"]
        return f"Rule({', '.join(f'{k}={v!r}' for k, v in fields.items())})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rule.from_dict, (self.to_dict(),))


class RuleScorer(Scorer):
    """Lead score = the sum of the rules' points, clipped to ``[floor, cap]``.

    Parameters
    ----------
    rules:
        :class:`Rule` objects or plain dicts of their keywords (as a JSON file holds them).
    floor, cap:
        Bounds of the total (None: none). The contributions stay each rule's own points.
    threads:
        Threads to score on (0: all cores); results do not depend on it. Not saved.

    Scoring runs in the C++ engine over blocks of leads, without the GIL. Rule names must be
    unique: they label :meth:`contributions` and the reasons of :func:`funnelkit.assign_layers`.

    >>> import funnelkit as fk
    >>> scorer = fk.RuleScorer([{"feature": "orders", "op": ">", "value": 0, "points": 50}], cap=100)
    >>> fk.Scorer.from_json(scorer.to_json()).params()
    {'rules': [{'feature': 'orders', 'op': '>', 'value': 0, 'points': 50, 'name': 'orders > 0'}],
     'floor': None, 'cap': 100}
    """

    builtin_name = "rules"

    def __init__(
        self,
        rules: Iterable[Rule | Mapping[str, Any]],
        floor: float | None = None,
        cap: float | None = None,
        *,
        threads: int = 0,
    ) -> None:
        if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Iterable):
            raise ScorerFormatError(f"rules must be a list of rules or dicts, got {type(rules).__name__}")
        parsed = tuple(rule if isinstance(rule, Rule) else Rule.from_dict(rule) for rule in rules)
        seen: set[str] = set()
        for rule in parsed:
            if rule.name in seen:
                raise ScorerFormatError(
                    f"rule {rule.name!r}: two rules have this name; give one a distinct name=", subject=rule.name
                )
            seen.add(rule.name)
        for label, bound in (("floor", floor), ("cap", cap)):
            if bound is not None and (not _is_real(bound) or not math.isfinite(bound)):
                raise ScorerFormatError(f"{label} must be a finite number or None, got {bound!r}", subject=label)
        floor, cap = _plain(floor), _plain(cap)
        if floor is not None and cap is not None and floor > cap:
            raise ScorerFormatError(f"floor {floor!r} exceeds cap {cap!r}", subject="floor")
        if not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads must be an integer >= 0, got {threads!r}")
        self._rules = parsed
        self._floor = floor
        self._cap = cap
        self.threads = threads
        self._engine = _core.RuleScorer(
            {"rules": [rule._engine_dict() for rule in parsed], "floor": floor, "cap": cap}
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, threads: int = 0) -> RuleScorer:
        """A scorer from a JSON file holding a list of rules, ``{"rules": [...], "floor": ...,
        "cap": ...}``, or a whole scorer document (:meth:`save`)."""
        try:
            document = json.loads(Path(path).read_text())
        except FileNotFoundError as error:
            raise ScorerFormatError(f"no rules file at {os.fspath(path)!r}", subject=os.fspath(path)) from error
        except json.JSONDecodeError as error:
            raise ScorerFormatError(f"rules file {os.fspath(path)!r} is not JSON: {error}") from error
        if isinstance(document, list):
            return cls(document, threads=threads)
        if isinstance(document, dict) and "format" in document:
            scorer = Scorer.from_dict(document)
            if not isinstance(scorer, RuleScorer):
                raise ScorerFormatError(f"{os.fspath(path)!r} holds a {scorer.type_name()!r} scorer, not rules")
            scorer.threads = threads
            return scorer
        if isinstance(document, dict) and isinstance(document.get("rules"), list):
            extra = sorted(set(document) - {"rules", "floor", "cap"})
            if extra:
                raise ScorerFormatError(f"rules file {os.fspath(path)!r}: unknown key(s) {extra}")
            return cls(document["rules"], document.get("floor"), document.get("cap"), threads=threads)
        raise ScorerFormatError(f"rules file {os.fspath(path)!r} must hold a list of rules or an object with 'rules'")

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    @property
    def floor(self) -> float | None:
        return self._floor

    @property
    def cap(self) -> float | None:
        return self._cap

    @property
    def feature_names(self) -> list[str]:
        return list(self._engine.feature_names)

    @property
    def reason_names(self) -> list[str]:
        return [rule.name for rule in self._rules]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._engine.score(x, self.threads))

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._engine.contributions(x, self.threads))

    def params(self) -> dict[str, Any]:
        return {"rules": [rule.to_dict() for rule in self._rules], "floor": self._floor, "cap": self._cap}

    def feature_options(self) -> dict[str, Any]:
        """The event columns the rules read, as :func:`funnelkit.lead_features` arguments:
        ``decay=[(event, half_life_days), ...]`` and ``event_counts=[event, ...]``."""
        decay: list[tuple[str, float]] = []
        counts: list[str] = []
        for rule in self._rules:
            if rule.event is None:
                continue
            if rule.half_life_days is not None:
                if (rule.event, rule.half_life_days) not in decay:
                    decay.append((rule.event, rule.half_life_days))
            elif rule.event not in counts:
                counts.append(rule.event)
        options: dict[str, Any] = {}
        if decay:
            options["decay"] = decay
        if counts:
            options["event_counts"] = counts
        return options

    def __repr__(self) -> str:
        bounds = "".join(f", {k}={v!r}" for k, v in (("floor", self._floor), ("cap", self._cap)) if v is not None)
        return f"RuleScorer({len(self._rules)} rules{bounds})"


#: An example rule set for a shop (the events of :func:`funnelkit.datasets.shop_events` and the
#: features of :func:`funnelkit.lead_features`), meant as a starting point to adapt:
#:
#: ========================================  ======  ===================================
#: rule                                      points  why
#: ========================================  ======  ===================================
#: per cart add, half-life 7 days            +5      at most 30: intent, fading in a week
#: per product view, half-life 7 days        +1      at most 10: browsing interest
#: checkouts >= 1                            +20     began a checkout
#: recency_days <= 3                         +10     active in the last three days
#: recency_days > 30                         -20     gone quiet for a month
#: sessions >= 3                             +5      came back several times
#: per e-mail click                          +3      at most 15: answers the dialogue
#: subscribe >= 1                            +10     left a contact
#: unsubscribe >= 1                          -50     asked not to be contacted
#: ========================================  ======  ===================================
#:
#: :func:`default_rule_scorer` clips the total to [0, 100].
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(event="add_to_cart", points=5, half_life_days=7, cap=30),
    Rule(event="product_view", points=1, half_life_days=7, cap=10),
    Rule("checkouts", ">=", 1, points=20),
    Rule("recency_days", "<=", 3, points=10),
    Rule("recency_days", ">", 30, points=-20),
    Rule("sessions", ">=", 3, points=5),
    Rule("email_clicks", points=3, cap=15),
    Rule(event="subscribe", op=">=", value=1, points=10),
    Rule(event="unsubscribe", op=">=", value=1, points=-50),
)


def default_rule_scorer(*, threads: int = 0) -> RuleScorer:
    """A :class:`RuleScorer` of :data:`DEFAULT_RULES`, total clipped to [0, 100].

    >>> scorer = default_rule_scorer()
    >>> scorer.feature_options()
    {'decay': [('add_to_cart', 7.0), ('product_view', 7.0)], 'event_counts': ['subscribe', 'unsubscribe']}
    """
    return RuleScorer(DEFAULT_RULES, floor=0, cap=100, threads=threads)
