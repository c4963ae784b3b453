"""Merging the :func:`funnelkit.lead_features` options several scorers ask for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["merge_feature_options"]


def merge_feature_options(named: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One set of ``lead_features`` keyword arguments serving every scorer.

    List options (``decay=[(event, half_life), ...]``, ``event_counts=[names]``) are united,
    keeping the first order; ``event_counts=True`` (all events) covers any list; other options
    must agree. ``named`` gives (who asked, options) pairs, for the error message.
    """
    merged: dict[str, Any] = {}
    asked_by: dict[str, str] = {}
    for who, options in named:
        for key, value in options.items():
            if key not in merged:
                merged[key], asked_by[key] = value, who
                continue
            old = merged[key]
            if _same(old, value):
                continue
            if key == "event_counts" and (old is True or value is True):
                merged[key] = True
            elif _is_list(old) and _is_list(value):
                seen = {_key(item) for item in old}
                merged[key] = [*old, *(item for item in value if _key(item) not in seen)]
            else:
                raise ValueError(f"feature option {key!r}: {asked_by[key]} needs {old!r} but {who} needs {value!r}; "
                                 "score them in separate jobs")
    return merged


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _key(item: Any) -> Any:
    """A hashable form of a list item (decay pairs arrive as lists from JSON)."""
    if isinstance(item, (list, tuple)):
        return tuple(_key(x) for x in item)
    if isinstance(item, dict):
        return tuple(sorted((k, _key(v)) for k, v in item.items()))
    return item


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(_key(a) == _key(b))
    except TypeError:  # pragma: no cover - exotic values
        return a is b
