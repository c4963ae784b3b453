"""Event logs: raw events read once into encoded columns that the C++ engine consumes.

An event log is a table with one row per event: who (a lead: visitor or customer id), when (a
timestamp) and what (an event name), optionally an order value and segment columns (traffic
source, device, campaign…). :func:`read_events` takes a pandas DataFrame, a pyarrow Table or a
CSV / Parquet path, checks it, and encodes it once:

* lead ids (strings or integers) become dense codes ``0..n_leads-1`` and event names codes
  ``0..n_events-1`` (dictionary encoding, by pandas/Arrow's hash tables, no Python objects);
* timestamps (datetime64 of any unit or time zone, parseable strings, or epoch numbers in
  ``time_unit``) become int64 nanoseconds since the epoch, UTC;
* segment columns become categorical codes.

>>> import pandas as pd
>>> import funnelkit as fk
>>> frame = pd.DataFrame({
...     "lead_id": ["a", "a", "b"],
...     "timestamp": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:05", "2026-01-02 09:00"]),
...     "event": ["page_view", "add_to_cart", "page_view"],
... })
>>> log = fk.read_events(frame)
>>> len(log), log.n_leads, list(log.events)
(3, 2, ['page_view', 'add_to_cart'])

Rows with a missing lead, timestamp or event, an unparseable or out-of-range timestamp raise
:class:`EventDataError` naming the column, the problem, how many rows and the first one; with
``errors="skip"`` they are dropped instead and counted in :attr:`EventLog.skipped`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.errors import EmptyLogError, EventDataError, EventLogError, MissingColumnError

__all__ = ["EventLog", "EventMapping", "EventSource", "SegmentRule", "read_events"]

#: What :func:`read_events` accepts.
EventSource = Any  # pd.DataFrame | pyarrow.Table | str | os.PathLike[str] | EventLog

#: Epoch numbers are accepted between 1970 and 2262 (what int64 nanoseconds hold).
_NS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
                "h": 3_600_000_000_000, "D": 86_400_000_000_000}
_MAX_NS = np.iinfo(np.int64).max


class EventMapping(ABC):
    """Base class of event → stage rules that a ``{stage: events}`` dict cannot express (e.g.
    page URLs matched by pattern, for page-level funnels). :meth:`stage` is called once per
    distinct event name, in Python — slower than a dict, but never per row. Register a
    subclass with ``fk.register("event_mapping", name)`` to pass its name as ``mapping=``.

    >>> import re
    >>> class ByPrefix(EventMapping):
    ...     def stage(self, event: str) -> str | None:
    ...         return "product" if event.startswith("/product/") else "other" if event.startswith("/") else None
    >>> ByPrefix().stage("/product/42")
    'product'
    """

    @abstractmethod
    def stage(self, event: str) -> str | None:
        """The stage an event name marks, or None for events that mark none."""

    def stages(self) -> Sequence[str]:
        """Stages in the order the fitted funnel lists them (default: as first produced)."""
        return ()

    def params(self) -> dict[str, Any]:
        """Constructor arguments, so a registered rule can be rebuilt by name."""
        return {}


class SegmentRule(ABC):
    """Base class of segment columns computed from other columns (e.g. a channel group from a
    UTM source). ``columns`` lists the input columns; :meth:`__call__` gets a DataFrame of them
    and returns one label per row. Pass an instance in ``read_events(segments=[...])``, or its
    registered name (``fk.register("segment_rule", name)``). The segment's name is ``name``.
    """

    name: str = "segment"
    columns: Sequence[str] = ()

    @abstractmethod
    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        """One segment label per row of ``frame`` (the rule's input columns)."""

    def params(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, eq=False)
class EventLog:
    """An event log encoded for the engine (made by :func:`read_events`).

    Every array has one entry per kept row, in the input's order (the engine sorts by lead
    and time itself, so unsorted input is fine).
    """

    #: Dense lead code per row (int64, ``0..n_leads-1``); ``leads[code]`` is the original id.
    lead_codes: np.ndarray
    #: The lead ids, in order of first appearance.
    leads: pd.Index
    #: Nanoseconds since 1970-01-01 UTC per row (int64).
    times: np.ndarray
    #: Event code per row (int32); ``events[code]`` is the name.
    event_codes: np.ndarray
    #: The event names, in order of first appearance.
    events: pd.Index
    #: Order value per row (float64, NaN where the event has none), or None without a value column.
    values: np.ndarray | None
    #: Per segment column: (codes per row as int32, -1 where missing; the categories).
    segments: Mapping[str, tuple[np.ndarray, pd.Index]]
    #: When the log was cut: the latest time it could contain (ns since the epoch, UTC). Entries
    #: less than a conversion window before it are still open: fits treat them as censored.
    observed_until: int
    #: Rows dropped with ``errors="skip"``, by reason ("null lead", "unparseable time"...).
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.lead_codes.shape[0])

    @property
    def n_leads(self) -> int:
        return len(self.leads)

    @property
    def start(self) -> pd.Timestamp:
        """The first event's time."""
        return pd.Timestamp(int(self.times.min()), unit="ns")

    @property
    def end(self) -> pd.Timestamp:
        """When the log was cut (:attr:`observed_until`)."""
        return pd.Timestamp(self.observed_until, unit="ns")

    def event_counts(self) -> pd.Series:
        """Rows per event name, most frequent first."""
        counts = np.bincount(self.event_codes, minlength=len(self.events))
        return pd.Series(counts, index=self.events, name="events").sort_values(ascending=False)

    def segment_of_leads(self, column: str) -> pd.Categorical:
        """Each lead's segment in ``column``: its value at the lead's first event (first touch)."""
        if column not in self.segments:
            raise MissingColumnError(f"no segment column {column!r}; the log has {sorted(self.segments)}",
                                     subject=column)
        codes, categories = self.segments[column]
        order = np.lexsort((self.times, self.lead_codes))
        first = np.full(self.n_leads, -1, dtype=np.int64)
        sorted_leads = self.lead_codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_leads[1:] != sorted_leads[:-1]])
        first[sorted_leads[starts]] = codes[order[starts]]
        return pd.Categorical.from_codes(first, categories=categories)

    def select(self, rows: np.ndarray, *, observed_until: object = None) -> EventLog:
        """The log restricted to ``rows`` (a boolean mask or row positions); lead and event codes
        keep their meaning. ``observed_until`` moves the cut (default: unchanged)."""
        cut = self.observed_until if observed_until is None else _timestamp_ns(observed_until)
        segments = {name: (codes[rows], categories) for name, (codes, categories) in self.segments.items()}
        return replace(self, lead_codes=self.lead_codes[rows], times=self.times[rows],
                       event_codes=self.event_codes[rows], values=None if self.values is None else self.values[rows],
                       segments=segments, observed_until=cut)

    def with_cut(self, observed_until: object) -> EventLog:
        """The same events, cut at ``observed_until``; an event after it is an error."""
        cut = _timestamp_ns(observed_until)
        late = int((self.times > cut).sum())
        if late:
            raise EventDataError(f"{late:,} event(s) after observed_until ({pd.Timestamp(cut)})", subject="time")
        return replace(self, observed_until=cut)

    def period(self, start: object, end: object) -> EventLog:
        """Events in ``[start, end)``, cut at ``end``: what a log exported for that period holds.

        >>> first_half = log.period("2026-01-01", "2026-01-02")   # doctest: +SKIP
        """
        low, high = _timestamp_ns(start), _timestamp_ns(end)
        if high <= low:
            raise ValueError(f"period: end ({end}) must be after start ({start})")
        return self.select((self.times >= low) & (self.times < high), observed_until=min(high, self.observed_until))

    def where_segment(self, column: str, values: object) -> EventLog:
        """Events of the leads whose first-touch segment in ``column`` is ``values`` (one value or
        a list), e.g. ``log.where_segment("device", "mobile")``."""
        wanted = [values] if isinstance(values, str) or not isinstance(values, Sequence) else list(values)
        lead_segment = self.segment_of_leads(column)
        unknown = [v for v in wanted if v not in lead_segment.categories]
        if unknown:
            raise ValueError(f"segment column {column!r} has no value {unknown[0]!r}; "
                             f"its values are {list(lead_segment.categories)}")
        chosen = np.asarray(lead_segment.isin(wanted))
        return self.select(chosen[self.lead_codes])

    def __repr__(self) -> str:
        return (f"<EventLog: {len(self):,} events, {self.n_leads:,} leads, {len(self.events)} event names, "
                f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}>")


def read_events(
    source: EventSource,
    *,
    lead: str = "lead_id",
    time: str = "timestamp",
    event: str = "event",
    value: str | None = "value",
    segments: Sequence[str | SegmentRule] | str = (),
    time_unit: str = "s",
    observed_until: object = None,
    errors: Literal["raise", "skip"] = "raise",
) -> EventLog:
    """Read and encode an event log.

    ``source`` is a pandas DataFrame, a pyarrow Table, a path to a ``.csv`` (optionally
    compressed) or ``.parquet`` file, or an :class:`EventLog` (returned as it is). ``lead``,
    ``time`` and ``event`` name the required columns; ``value`` the order value column (used
    when present; naming another column that is missing is an error); ``segments`` any number
    of segment columns. Numeric timestamps are epoch numbers in ``time_unit`` ("s", "ms", "us",
    "ns"). ``observed_until`` is when the log was cut (a timestamp; default: the last event):
    an event after it is out of range.
    """
    if isinstance(source, EventLog):
        return source if observed_until is None else source.with_cut(observed_until)
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if time_unit not in _NS_PER_UNIT:
        raise ValueError(f"time_unit must be one of {sorted(_NS_PER_UNIT)}, got {time_unit!r}")
    segment_specs = [segments] if isinstance(segments, str) else list(segments)
    # Event names and segments have few distinct values: Parquet hands them over dictionary-
    # encoded. Not the lead ids: merging millions of per-row-group dictionaries costs more.
    categorical = [event, *_segment_inputs(segment_specs)]
    frame = _load(source, [lead, time, *categorical], value, categorical)
    rules = _segment_rules(segment_specs, frame.columns)
    segment_columns = [spec for spec in segment_specs if isinstance(spec, str) and spec not in rules]
    wanted = [lead, time, event, *segment_columns, *(c for rule in rules.values() for c in rule.columns)]
    missing = [name for name in wanted if name not in frame.columns]
    if value is not None and value != "value" and value not in frame.columns:
        missing.append(value)
    if missing:
        raise MissingColumnError(
            f"the event log has no column {', '.join(map(repr, missing))}; its columns are "
            f"{list(map(str, frame.columns))} (name yours with lead=, time=, event=, value=, segments=)",
            subject=missing[0],
        )
    if len(frame) == 0:
        raise EmptyLogError("the event log has no rows")
    problems = _Problems(errors, len(frame))
    times = _nanoseconds(frame[time], time, time_unit, problems)
    problems.check(frame[lead].isna().to_numpy(), lead, "null lead id")
    problems.check(frame[event].isna().to_numpy(), event, "null event name")
    cut = _observed_until(observed_until, times, problems.bad)
    problems.check(~problems.bad & (times > cut), time, f"event after observed_until ({pd.Timestamp(cut)})")
    keep = ~problems.bad
    if not keep.all():
        frame, times = frame.loc[keep], times[keep]
    if len(frame) == 0:
        raise EmptyLogError(f"no usable rows left after skipping {problems.counts}")
    lead_codes, leads = _encode(frame[lead])
    event_codes, events = _encode(frame[event])
    values = None
    if value is not None and value in frame.columns:
        values = _order_values(frame[value])
    encoded_segments = {name: _segment(frame[name]) for name in segment_columns}
    for name, rule in rules.items():
        labels = rule(frame[list(rule.columns)])
        if len(labels) != len(frame):
            raise EventLogError(f"segment rule {name!r} returned {len(labels)} labels for {len(frame)} rows")
        encoded_segments[name] = _segment(pd.Series(np.asarray(labels), index=frame.index))
    return EventLog(
        lead_codes=lead_codes.astype(np.int64, copy=False),
        leads=leads,
        times=times,
        event_codes=event_codes.astype(np.int32, copy=False),
        events=events,
        values=values,
        segments=encoded_segments,
        observed_until=cut,
        skipped=dict(problems.counts),
    )


def _segment_inputs(specs: Sequence[str | SegmentRule]) -> list[str]:
    """Every column the segments need: plain columns, and the inputs of rules."""
    from funnelkit.extension import registered

    rules = registered("segment_rule")
    names: list[str] = []
    for spec in specs:
        if isinstance(spec, SegmentRule):
            names += list(spec.columns)
        else:
            names.append(spec)
            if spec in rules:
                names += list(rules[spec]().columns)
    return names


def _segment_rules(specs: Sequence[str | SegmentRule], columns: pd.Index) -> dict[str, SegmentRule]:
    """Segments computed by rules: instances, and registered names that are not columns."""
    from funnelkit.extension import registered

    rules: dict[str, SegmentRule] = {}
    for spec in specs:
        if isinstance(spec, SegmentRule):
            rules[spec.name] = spec
        elif spec not in columns and spec in registered("segment_rule"):
            rules[spec] = registered("segment_rule")[spec]()
    return rules


class _Problems:
    """Bad rows found so far: raise at the first kind (errors="raise") or mark and count them."""

    def __init__(self, errors: str, rows: int) -> None:
        self.errors = errors
        self.bad = np.zeros(rows, dtype=bool)
        self.counts: dict[str, int] = {}

    def check(self, mask: np.ndarray, column: str, problem: str) -> None:
        count = int(mask.sum())
        if count == 0:
            return
        if self.errors == "raise":
            first = int(np.flatnonzero(mask)[0])
            raise EventDataError(
                f"column {column!r}: {problem} in {count:,} row(s), the first at row {first} "
                f"(pass errors='skip' to drop such rows and count them)",
                subject=column,
            )
        self.bad |= mask
        self.counts[problem] = self.counts.get(problem, 0) + count


def _load(source: EventSource, columns: list[str], value: str | None, categorical: list[str]) -> pd.DataFrame:
    """The needed columns of ``source`` as a DataFrame (only those are read from files)."""
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source), columns, value, categorical)
    if type(source).__module__.startswith("pyarrow"):
        present = [name for name in [*columns, value] if name is not None and name in source.column_names]
        return source.select(present).to_pandas()
    raise TypeError(f"expected a pandas DataFrame, a pyarrow Table or a file path, got {type(source).__name__}")


def _read_file(path: Path, columns: list[str], value: str | None, categorical: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"no event log at {path}")
    suffixes = [s.lower() for s in path.suffixes]
    wanted = set(columns) | ({value} if value else set())
    if ".parquet" in suffixes or ".pq" in suffixes:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        columns = [n for n in names if n in wanted]
        strings = [field.name for field in pq.read_schema(path) if field.name in categorical and
                   str(field.type) in ("string", "large_string")]
        return pq.read_table(path, columns=columns, read_dictionary=strings).to_pandas()
    if ".csv" in suffixes or ".tsv" in suffixes:
        import pyarrow.csv as pv

        present = [name for name in csv_header(path) if name in wanted]
        parse = pv.ParseOptions(delimiter="\t" if ".tsv" in suffixes else ",")
        convert = pv.ConvertOptions(include_columns=present)
        return pv.read_csv(path, parse_options=parse, convert_options=convert).to_pandas()
    raise ValueError(f"{path}: expected a .csv, .tsv or .parquet file")


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV/TSV file (compressed ones too), from its first line."""
    return list(pd.read_csv(path, nrows=0, sep="\t" if ".tsv" in [s.lower() for s in path.suffixes] else ",").columns)


def _nanoseconds(column: pd.Series, name: str, unit: str, problems: _Problems) -> np.ndarray:
    """int64 nanoseconds since the epoch, UTC; bad rows marked in ``problems`` and set to 0."""
    if column.dtype == np.dtype("datetime64[ns]"):  # the common case: a view, no copy
        nanoseconds: np.ndarray = column.to_numpy().view(np.int64)
        null = nanoseconds == np.iinfo(np.int64).min  # NaT
        if not null.any():
            return nanoseconds
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        stamps = pd.DatetimeIndex(column)
        if stamps.tz is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        null = np.asarray(stamps.isna())
        problems.check(null, name, "null timestamp")
        nanoseconds = stamps.as_unit("ns").asi8
        return np.where(null, 0, nanoseconds) if null.any() else nanoseconds
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        null = np.isnan(numbers)
        problems.check(null, name, "null timestamp")
        scaled = numbers * _NS_PER_UNIT[unit]
        out_of_range = ~null & ~((scaled >= 0) & (scaled < _MAX_NS))
        problems.check(out_of_range, name,
                       f"timestamp out of range (epoch {unit} before 1970 or after 2262, or infinite)")
        ok = ~(null | out_of_range)
        result = np.zeros(len(numbers), dtype=np.int64)
        if np.issubdtype(column.dtype, np.integer):  # exact for integer epochs
            result[ok] = column.to_numpy()[ok].astype(np.int64) * _NS_PER_UNIT[unit]
        else:
            result[ok] = np.round(scaled[ok]).astype(np.int64)
        return result
    null = column.isna().to_numpy()
    problems.check(null, name, "null timestamp")
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    unparseable = parsed.isna().to_numpy() & ~null
    problems.check(unparseable, name, "unparseable timestamp")
    stamps = pd.DatetimeIndex(parsed).tz_convert("UTC").tz_localize(None).as_unit("ns")
    return np.where(null | unparseable, 0, stamps.asi8)


def _observed_until(observed_until: object, times: np.ndarray, bad: np.ndarray) -> int:
    if observed_until is None:
        good = times[~bad]
        return int(good.max()) if good.size else 0
    return _timestamp_ns(observed_until)


def _order_values(column: pd.Series) -> np.ndarray | None:
    """Order values as float64 (NaN where missing; text that is not a number too), or None when
    no row has one, so the engine does not carry an empty column along."""
    if column.dtype == np.float64:
        values = column.to_numpy()
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return None if np.isnan(values).all() else values


def _timestamp_ns(value: object) -> int:
    """A timestamp-like (string, datetime, pd.Timestamp; time zones converted) as UTC nanoseconds."""
    return int(_utc_timestamp(value).as_unit("ns").value)


def _utc_timestamp(value: object, what: str | None = None) -> pd.Timestamp:
    """A timestamp-like as a naive UTC pd.Timestamp (time zones converted). ``what`` names the
    argument in the ValueError an unparseable value or NaT raises."""
    message = f"{what} must be a timestamp, got {value!r}" if what else f"expected a timestamp, got {value!r}"
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        if what is None:
            raise
        raise ValueError(message) from error
    if stamp is pd.NaT:
        raise ValueError(message)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def _encode(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Dense codes in order of first appearance, and the distinct values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        used = np.flatnonzero(np.bincount(codes, minlength=len(column.cat.categories)))
        if used.size == len(column.cat.categories):
            return codes, pd.Index(column.cat.categories)
        remap = np.full(len(column.cat.categories), -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        return remap[codes], pd.Index(column.cat.categories[used])
    if column.dtype.kind in "iu" and column.dtype.itemsize <= 8 and not (
            column.dtype.kind == "u" and column.dtype.itemsize == 8):
        # Integer ids (the usual lead column): the engine's hash encoder, a few times faster.
        codes, uniques = _core.encode_ids(column.to_numpy(dtype=np.int64))
        return codes, pd.Index(uniques.astype(column.dtype, copy=False))
    codes, uniques = pd.factorize(column, sort=False)
    return np.asarray(codes), pd.Index(uniques)


def _segment(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(column, sort=True, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int32), pd.Index(uniques)
