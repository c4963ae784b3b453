"""Shared by the backtest and the batch job: merging the :func:`funnelkit.lead_features`
options several scorers ask for, and reading a log with the columns the features read."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from funnelkit.events import EventLog, EventSource, read_events

__all__ = ["feature_columns", "merge_feature_options", "read_log"]


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
            if _same(_durations(key, old), _durations(key, value)):
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


_DURATIONS = ("window", "session_gap", "journey_gap")


def _durations(key: str, value: Any) -> Any:
    """Durations compared as such: "30D", "30 days 00:00:00" and Timedelta(days=30) agree."""
    if key in _DURATIONS and value is not None:
        try:
            return pd.Timedelta(value).value
        except (TypeError, ValueError):
            return value
    return value


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


def feature_columns(options: Mapping[str, Any]) -> list[str]:
    """Event columns the features read beside lead, time, event and value: each event's
    product and category (``products=``/``categories=`` of :func:`funnelkit.lead_features`)."""
    return [name for name in (options.get("products", "product_id"), options.get("categories", "category")) if name]


def read_log(source: EventSource, read_options: Mapping[str, Any], feature_options: Mapping[str, Any]) -> EventLog:
    """The log read once, with the product and category columns as segments where the source
    has them (so that features computed from the :class:`~funnelkit.EventLog` count products
    and categories as they would from the source)."""
    if isinstance(source, EventLog):
        cut = read_options.get("observed_until")
        return source if cut is None else source.with_cut(cut)
    present = _columns_of(source)
    segments = read_options.get("segments", ())
    segments = [segments] if isinstance(segments, str) else list(segments)
    extra = [c for c in feature_columns(feature_options) if c in present and c not in segments]
    return read_events(source, **{**read_options, "segments": [*segments, *extra]})


def _columns_of(source: EventSource) -> list[str]:
    """Column names of a DataFrame, pyarrow Table or CSV/Parquet path (empty if unknown)."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    if hasattr(source, "column_names"):
        return [str(c) for c in source.column_names]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffixes = [s.lower() for s in path.suffixes]
        try:
            if ".parquet" in suffixes or ".pq" in suffixes:
                import pyarrow.parquet as pq

                return list(pq.read_schema(path).names)
            from funnelkit.events import csv_header

            return csv_header(path)
        except (OSError, ValueError):
            return []  # read_events reports the problem
    return []
