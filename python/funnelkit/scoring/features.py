"""Behavioural lead features, computed by the C++ engine from an event log as of a scoring time.

:func:`lead_features` returns one row per lead that has at least one event at or before the
scoring time ``at`` (index: the original lead ids, named ``"lead_id"``). Events after ``at``
are never read, so no feature can look ahead. Each lead's events are walked once, on every
core, without the GIL; the result does not depend on the thread count.

>>> import funnelkit as fk
>>> shop = fk.datasets.shop_events(2_000, days=30, seed=1)
>>> features = fk.lead_features(shop.events, at="2026-01-20")
>>> features.index.name, bool((features["recency_days"] >= 0).all())
('lead_id', True)
>>> str(features["stage"].cat.categories[-2:].tolist())
"['left', 'none']"

The feature set
---------------
Durations are float days unless the name says minutes. "Events" are the lead's events at or
before ``at``, mapped to a stage or not. Roles (``roles=``, default :data:`DEFAULT_ROLES`) say
which event names count as page views, product views, cart adds, checkouts, orders and message
opens/clicks.

=========================  ======  ==================================================================
column                     unit    definition
=========================  ======  ==================================================================
sessions                   count   visits: on-site events (every event but message opens/clicks) split
                                   where two consecutive ones are more than ``session_gap`` apart
events                     count   all events
page_views                 count   events of role ``page``
product_views              count   events of role ``product``
distinct_products          count   distinct product ids on product views (``products`` column)
distinct_categories        count   distinct categories on product views (``categories`` column)
cart_adds                  count   events of role ``cart``
cart_value                 money   sum of ``value`` over cart adds (a missing value counts 0)
checkouts                  count   events of role ``checkout``
orders                     count   events of role ``order``
revenue                    money   sum of ``value`` over orders (a missing value counts 0)
avg_order_value            money   revenue / orders (0 without orders)
time_on_site_min           min     sum over sessions of (last − first event time)
avg_session_min            min     time_on_site_min / sessions (0 without sessions)
recency_days               days    ``at`` − the last event's time
tenure_days                days    ``at`` − the first event's time
active_days                count   distinct UTC calendar days with an event
frequency                  1/week  sessions / (max(tenure_days, 1) / 7)
email_opens                count   events of role ``open``
email_clicks               count   events of role ``click``
stage                      —       current funnel stage (Categorical: the mapping's stages, then
                                   ``"left"`` and ``"none"``), see below
time_in_stage_days         days    time since entering the current stage, see below
top_category_<j>           —       the j-th most viewed category (product views; ties: the
                                   category that sorts first); missing when fewer were viewed
top_category_<j>_share     0..1    its share of the product views that have a category (0 if none)
decayed_<event>_<h>d       count   for ``decay=[(event, h)]``: sum over the lead's ``event`` events of
                                   0.5 ** (age_days / h), age = ``at`` − event time
events_<name>              count   for ``event_counts=True`` (every event name) or a list: events of
                                   that name
=========================  ======  ==================================================================

Counts are int64, everything else float64; an event name, product or category column the log
lacks gives zeros, not an error (unless you named the column explicitly).

**Stage and time in it** follow exactly the journey rules of :func:`funnelkit.fit_funnel`
(docs/events.md), with the same ``mapping``, ``window``, ``success``/``failure``, ``repeat``
and journey gap (``journey_gap``, fit's ``session_gap``): repeats collapse into one stay; an
absorbing stage ends the journey and stays the current stage; a stay with no other stage
within the window ``W`` of its entry (or, with a journey gap, followed by a longer gap) ends in
a loss. As of ``at``, the stage is that of the lead's last journey and ``time_in_stage_days``
runs from entering it; ``"left"`` when by these rules the lead has left (more than ``W`` since
entering with no next stage, or more than the journey gap since its last mapped event), and
the time runs from the moment it left (entry + ``W``, or last event + gap, the earlier);
``"none"`` when the lead never entered a mapped stage, and the time runs from its first event.

Extensions
----------
Write a feature in Python by subclassing :class:`LeadFeature`; pass instances (or names
registered with ``fk.register("feature", name)``) in ``features=[...]``. ``compute`` is called
once per block of about 4,000 leads with NumPy arrays of their events, never per lead: a
vectorised feature costs one Python call (tens of microseconds plus its NumPy work) per block.
Blocks run on the engine's threads but take turns on the GIL.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit._progress import with_progress
from funnelkit.errors import EmptyLogError, FeatureValueError, MissingColumnError
from funnelkit.events import EventLog, EventSource, _timestamp_ns, csv_header, read_events

__all__ = ["DEFAULT_ROLES", "FEATURE_NAMES", "LeadFeature", "LeadTable", "lead_features"]

#: Which event names play which role for the built-in features.
DEFAULT_ROLES: Mapping[str, tuple[str, ...]] = {
    "page": ("page_view",),
    "product": ("product_view",),
    "cart": ("add_to_cart",),
    "checkout": ("begin_checkout",),
    "order": ("purchase",),
    "open": ("email_open",),
    "click": ("email_click",),
}
_ROLES = ("page", "product", "cart", "checkout", "order", "open", "click")  # the engine's order

#: The engine's numeric columns, in its order.
_ENGINE_COLUMNS = (
    "sessions", "events", "page_views", "product_views", "distinct_products", "distinct_categories", "cart_adds",
    "cart_value", "checkouts", "orders", "revenue", "avg_order_value", "time_on_site_min", "avg_session_min",
    "recency_days", "tenure_days", "active_days", "frequency", "email_opens", "email_clicks", "time_in_stage_days",
)
_COUNTS = frozenset({"sessions", "events", "page_views", "product_views", "distinct_products", "distinct_categories",
                     "cart_adds", "checkouts", "orders", "active_days", "email_opens", "email_clicks"})
#: The built-in columns before the top categories, in the frame's order.
FEATURE_NAMES: tuple[str, ...] = (*_ENGINE_COLUMNS[:-1], "stage", "time_in_stage_days")
LEFT, NONE = "left", "none"
_NS_PER_DAY = 86_400e9


@dataclass(frozen=True, slots=True)
class LeadTable:
    """The events of a block of leads at or before the scoring time, as NumPy arrays (read-only
    views of the engine's memory). Lead ``r``'s events are ``offsets[r]:offsets[r + 1]``, in
    time order."""

    #: Per lead, where its events start (int64, ``n_leads + 1`` entries).
    offsets: np.ndarray
    #: The log's lead code of each lead (``EventLog.leads[code]`` is the id).
    lead_codes: np.ndarray
    #: Per event: nanoseconds since the epoch, UTC (int64).
    times: np.ndarray
    #: Per event: the event code (int32); ``event_names[code]`` is its name.
    events: np.ndarray
    event_names: pd.Index
    #: Per event: its value (float64, NaN where none).
    values: np.ndarray
    #: Per event: product and category codes (int32, -1 where none); ``category_names[code]``.
    products: np.ndarray
    categories: np.ndarray
    category_names: pd.Index

    @property
    def n_leads(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def event_lead(self) -> np.ndarray:
        """Per event, the row of its lead (``0..n_leads-1``): for ``np.bincount`` and friends."""
        return np.repeat(np.arange(self.n_leads), np.diff(self.offsets))

    def code_of(self, event: str) -> int:
        """The code of an event name (-1 if the log has none of it)."""
        return int(self.event_names.get_indexer([event])[0])


class LeadFeature(_core.LeadFeature):
    """Base of a user-written lead feature (the ``"feature"`` extension kind).

    Define :attr:`names` (the columns it adds) and :meth:`compute`, which gets a
    :class:`LeadTable` of a block of leads and the scoring time ``at`` (int nanoseconds since
    the epoch) and returns an array of ``n_leads`` rows and ``len(names)`` columns (or one value
    per lead for a single name). Vectorise over the block: it is called once per block of about
    4,000 leads. Define :meth:`params` when the constructor takes arguments. A subclass that
    defines ``__init__`` must call ``super().__init__()``.

    >>> import numpy as np
    >>> import funnelkit as fk
    >>> class NightOwl(fk.LeadFeature):
    ...     names = ["night_events"]
    ...     def compute(self, table, at):
    ...         hour = (table.times // 3_600_000_000_000) % 24
    ...         return np.bincount(table.event_lead, weights=hour < 6, minlength=table.n_leads)
    >>> shop = fk.datasets.shop_events(500, days=20, seed=2)
    >>> int(fk.lead_features(shop.events, features=[NightOwl()])["night_events"].sum()) > 0
    True
    """

    #: The columns :meth:`compute` returns (a class attribute or a property).
    names: Sequence[str] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The engine's base class cannot be an ABC (pybind11's metaclass), so the abstract
        # method is checked when a subclass is defined rather than when the engine calls it.
        super().__init_subclass__(**kwargs)
        if cls.compute is LeadFeature.compute:
            raise TypeError(f"{cls.__qualname__} must define compute(table, at)")

    def compute(self, table: LeadTable, at: int) -> np.ndarray:
        """The feature values of the block's leads: ``table.n_leads`` x ``len(names)``
        (abstract: every subclass defines it)."""
        raise TypeError(f"{type(self).__qualname__} must define compute(table, at)")

    def params(self) -> dict[str, Any]:
        """Constructor arguments, so a registered feature can be rebuilt by name."""
        return {}

    def type_name(self) -> str:
        return f"unregistered:{type(self).__qualname__}"

    def _compute_block(self, offsets: np.ndarray, lead: np.ndarray, times: np.ndarray, events: np.ndarray,
                       values: np.ndarray, products: np.ndarray, categories: np.ndarray, event_names: list[str],
                       category_names: list[str], at: int) -> np.ndarray:
        """Called by the engine (under the GIL) for each block."""
        table = LeadTable(offsets, lead, times, events, pd.Index(event_names), values, products, categories,
                          pd.Index(category_names))
        names = list(self.names)
        out = np.asarray(self.compute(table, at), dtype=np.float64)
        if out.ndim == 1 and len(names) == 1:
            out = out[:, None]
        if out.shape != (table.n_leads, len(names)):
            raise FeatureValueError(
                f"feature {names} of {type(self).__qualname__} returned shape {out.shape}; expected "
                f"({table.n_leads}, {len(names)}) (one row per lead of the block)", subject=names[0] if names else None)
        return out


def lead_features(
    events: EventSource,
    at: object = None,
    *,
    mapping: Any = None,
    window: object = "30D",
    success: Sequence[str] | str | None = None,
    failure: Sequence[str] | str | None = None,
    repeat: Mapping[str, str] | None = None,
    journey_gap: object = None,
    session_gap: object = "30min",
    roles: Mapping[str, str | Sequence[str]] = DEFAULT_ROLES,
    products: str | None = "product_id",
    categories: str | None = "category",
    top_categories: int = 3,
    decay: Iterable[tuple[str, float]] = (),
    event_counts: bool | Sequence[str] = False,
    features: Sequence[LeadFeature | str] = (),
    threads: int | None = None,
    progress: bool | None = None,
    **read_options: Any,
) -> pd.DataFrame:
    """Behavioural features of every lead as of ``at`` (see the module documentation for each
    column's definition).

    The frame's ``attrs["feature_options"]`` records the options that differ from the defaults
    (as JSON values): a :class:`~funnelkit.LogisticRegression` fitted on the frame keeps them,
    so that :func:`~funnelkit.score_leads` computes the same columns when it scores.

    Parameters
    ----------
    events:
        An :class:`~funnelkit.EventLog`, or anything :func:`~funnelkit.read_events` reads
        (``read_options`` go to it); the ``products`` and ``categories`` columns are read as
        segments when present.
    at:
        The scoring time (a timestamp): events after it are ignored. Default: the log's cut.
    mapping, window, success, failure, repeat:
        The journey rules of :func:`~funnelkit.fit_funnel`, with its forms and defaults, for
        ``stage`` and ``time_in_stage_days``. ``journey_gap`` is fit's ``session_gap``.
    session_gap:
        A longer gap between on-site events starts a new session (default 30 minutes).
    roles:
        ``{role: event name(s)}`` for the roles of :data:`DEFAULT_ROLES`; a role left out
        counts nothing.
    products, categories:
        Columns (segments of an EventLog) with each event's product id and category; absent
        under their default names, they give zero features; None ignores them.
    top_categories:
        How many top categories (with shares) to list.
    decay:
        ``[(event name, half-life in days), ...]``: one time-decayed count per pair.
    event_counts:
        True for an ``events_<name>`` count of every event name of the log, or a list of names.
    features:
        :class:`LeadFeature` instances or registered names: their columns are added.
    threads:
        Engine threads (default: all cores); results do not depend on it.
    progress:
        Show a progress bar when the work lasts (default: yes). Ctrl-C stops the engine.
    """
    from funnelkit.fit import DEFAULT_MAPPING, DEFAULT_REPEAT, _absorbing, _duration_ns, _stage_codes

    recipe = _recipe(
        mapping=mapping, window=window, success=success, failure=failure, repeat=repeat, journey_gap=journey_gap,
        session_gap=session_gap, roles=roles, products=products, categories=categories,
        top_categories=top_categories, decay=decay, event_counts=event_counts, features=features)
    log, product_codes, category_codes, category_names = _read(events, products, categories, read_options)
    cut = log.observed_until
    at_ns = cut if at is None else _timestamp_ns(at)
    first = int(log.times.min()) if len(log) else None
    if first is None or at_ns < first:
        raise EmptyLogError(f"no event at or before the scoring time {pd.Timestamp(at_ns)} (the log starts "
                            f"{pd.Timestamp(first) if first is not None else 'nowhere'})", subject="at")
    if not (isinstance(top_categories, (int, np.integer)) and top_categories >= 0):
        raise ValueError(f"top_categories must be an integer >= 0, got {top_categories!r}")

    # Journey rules, exactly as fit_funnel parses them.
    window_ns = _duration_ns(window, 3600e9, "window")
    gap_ns = 0 if journey_gap is None else _duration_ns(journey_gap, 3600e9, "journey_gap")
    session_ns = _duration_ns(session_gap, 60e9, "session_gap")
    if mapping is None:
        mapping = DEFAULT_MAPPING
    success_given, failure_given = success is not None, failure is not None
    success_list = ["paid"] if success is None else [success] if isinstance(success, str) else list(success)
    failure_list = ["unsubscribed"] if failure is None else [failure] if isinstance(failure, str) else list(failure)
    if repeat is None:
        repeat = DEFAULT_REPEAT if mapping is DEFAULT_MAPPING and "paid" not in success_list else {}
    stages, event_stage = _stage_codes(mapping, log.events, repeat)
    success_list = _absorbing(success_list, stages, success_given)
    failure_list = _absorbing(failure_list, stages, failure_given)
    positions = {s: i for i, s in enumerate(stages)}
    repeat_stage = [positions[repeat[s]] if s in repeat else -1 for s in stages]
    absorbing = [s in success_list or s in failure_list for s in stages]

    role_of_event = _roles(roles, log.events)
    decay_events, decay_lives, decay_names = _decay(decay, log.events)
    count_names = list(map(str, log.events)) if event_counts is True else \
        [] if event_counts is False else [str(e) for e in event_counts]
    count_codes = log.events.get_indexer(count_names)
    extensions = _extensions(features)

    lead_codes, names, values, stage, top_codes, top_shares = with_progress(
        lambda report: _core.lead_features(
            log.lead_codes, log.times, log.event_codes, log.values, product_codes, category_codes, log.n_leads,
            role_of_event, event_stage, list(map(str, log.events)), list(map(str, category_names)), at_ns,
            session_ns, int(top_categories), window_ns, gap_ns, repeat_stage, absorbing, len(stages),
            [int(c) for c in count_codes if c >= 0], [c for c in decay_events if c >= 0],
            [h for c, h in zip(decay_events, decay_lives, strict=True) if c >= 0], extensions, threads or 0, report),
        enabled=progress is not False, desc="lead features", unit="block")
    rows = len(lead_codes)
    matrix = values.reshape(len(names), rows)
    column = dict(zip(names, matrix, strict=True))
    index = pd.Index(log.leads[lead_codes], name="lead_id")
    out: dict[str, Any] = {}
    for name in _ENGINE_COLUMNS[:-1]:
        out[name] = column[name].astype(np.int64) if name in _COUNTS else column[name]
    out["stage"] = pd.Categorical.from_codes(stage, categories=[*stages, LEFT, NONE])
    out["time_in_stage_days"] = column["time_in_stage_days"]
    top_codes = top_codes.reshape(int(top_categories), rows)
    top_shares = top_shares.reshape(int(top_categories), rows)
    for j in range(int(top_categories)):
        out[f"top_category_{j + 1}"] = pd.Categorical.from_codes(top_codes[j], categories=category_names)
        out[f"top_category_{j + 1}_share"] = top_shares[j]
    # Then the engine's decays and counts (only those of names the log has), then extensions.
    computed = iter(matrix[len(_ENGINE_COLUMNS):])
    for name, code in zip(decay_names, decay_events, strict=True):
        out[name] = next(computed) if code >= 0 else np.zeros(rows)
    for name, code in zip(count_names, count_codes, strict=True):
        out[f"events_{name}"] = next(computed).astype(np.int64) if code >= 0 else np.zeros(rows, dtype=np.int64)
    extra = len(_ENGINE_COLUMNS) + sum(c >= 0 for c in decay_events) + int((count_codes >= 0).sum())
    for name in names[extra:]:
        if name in out:
            raise ValueError(f"feature column {name!r} is computed twice (a built-in or another feature has it)")
        out[name] = column[name]
    frame = pd.DataFrame(out, index=index)
    frame.attrs["feature_options"] = recipe  # how these columns were made: scorers trained on them keep it
    return frame


def _recipe(**given: Any) -> dict[str, Any]:
    """The options that differ from lead_features' defaults, as JSON values: what a scorer
    trained on these features stores, so that scoring computes the same columns. Options JSON
    cannot hold (a callable mapping, an unregistered feature) are left out; scoring then finds
    their columns missing and says so."""
    defaults = {name: p.default for name, p in inspect.signature(lead_features).parameters.items()}
    recipe: dict[str, Any] = {}
    for name, value in given.items():
        if name == "features":
            value = [f if isinstance(f, str) else f.type_name() for f in value]
            if any(v.startswith("unregistered:") for v in value):
                continue
        if isinstance(value, (tuple, list)) and not value and defaults[name] in ((), False):
            continue
        try:
            if value == defaults[name]:
                continue
            encoded = json.loads(json.dumps(value if not isinstance(value, pd.Timedelta) else str(value)))
        except (TypeError, ValueError):
            continue
        recipe[name] = encoded
    return recipe


def _read(events: EventSource, products: str | None, categories: str | None,
          read_options: dict[str, Any]) -> tuple[EventLog, np.ndarray | None, np.ndarray | None, pd.Index]:
    """The log, with product and category codes per row (None without the columns)."""
    wanted = {"products": (products, "product_id"), "categories": (categories, "category")}
    if isinstance(events, EventLog):
        log = events if not read_options.get("observed_until") else events.with_cut(read_options["observed_until"])
        available = set(log.segments)
    else:
        available = _columns_of(events)
        extra = [name for name, default in wanted.values() if name is not None and name in available]
        segments = read_options.pop("segments", ())
        segments = [segments] if isinstance(segments, str) else list(segments)
        log = read_events(events, segments=[*segments, *(e for e in extra if e not in segments)], **read_options)
        available = set(log.segments)
    codes: dict[str, np.ndarray | None] = {}
    category_names = pd.Index([])
    for role, (name, default) in wanted.items():
        if name is None or name not in available:
            if name is not None and name != default:
                raise MissingColumnError(f"the event log has no {role} column {name!r} "
                                         f"(pass {role}=None to go without)",
                                         subject=name)
            codes[role] = None
            continue
        segment_codes, labels = log.segments[name]
        codes[role] = np.asarray(segment_codes, dtype=np.int32)
        if role == "categories":
            category_names = pd.Index(labels)
    return log, codes["products"], codes["categories"], category_names


def _columns_of(source: EventSource) -> set[str]:
    if isinstance(source, pd.DataFrame):
        return set(map(str, source.columns))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffixes = [s.lower() for s in path.suffixes]
        if not path.exists():
            return set()  # read_events says what is wrong
        if ".parquet" in suffixes or ".pq" in suffixes:
            import pyarrow.parquet as pq

            return set(pq.read_schema(path).names)
        if ".csv" in suffixes or ".tsv" in suffixes:
            return set(csv_header(path))
        return set()
    if type(source).__module__.startswith("pyarrow"):
        return set(source.column_names)
    return set()


def _roles(roles: Mapping[str, str | Sequence[str]], events: pd.Index) -> np.ndarray:
    unknown = [role for role in roles if role not in _ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; the roles are {', '.join(_ROLES)}")
    role_of: dict[str, int] = {}
    for role, names in roles.items():
        for name in [names] if isinstance(names, str) else names:
            if name in role_of and role_of[name] != _ROLES.index(role):
                raise ValueError(f"event {name!r} has two roles: {_ROLES[role_of[name]]!r} and {role!r}")
            role_of[name] = _ROLES.index(role)
    return np.array([role_of.get(str(e), -1) for e in events], dtype=np.int8)


def _decay(decay: Iterable[tuple[str, float]], events: pd.Index) -> tuple[list[int], list[float], list[str]]:
    """Per decay pair present in the log: its event code and half-life; the column names of all."""
    codes: list[int] = []
    lives: list[float] = []
    names: list[str] = []
    for pair in decay:
        try:
            event, half_life = pair
            half_life = float(half_life)
        except (TypeError, ValueError) as error:
            raise ValueError(f"decay takes (event name, half-life in days) pairs, got {pair!r}") from error
        if not (half_life > 0 and math.isfinite(half_life)):
            raise FeatureValueError(f"decay half-life of {event!r} must be a positive number of days, got {half_life}",
                                    subject=str(event))
        name = f"decayed_{event}_{half_life:g}d"
        if name in names:
            raise ValueError(f"decay lists ({event!r}, {half_life:g}) twice")
        names.append(name)
        code = int(events.get_indexer([event])[0])
        codes.append(code)
        lives.append(half_life)
    return codes, lives, names


def _extensions(features: Sequence[LeadFeature | str]) -> list[LeadFeature]:
    from funnelkit.extension import registered

    out: list[LeadFeature] = []
    for feature in [features] if isinstance(features, (str, LeadFeature)) else features:
        if isinstance(feature, str):
            if feature not in registered("feature"):
                raise ValueError(f"no lead feature is registered as {feature!r}; registered: "
                                 f"{sorted(registered('feature'))}")
            feature = registered("feature")[feature]()
        if not isinstance(feature, LeadFeature):
            raise TypeError(f"features takes funnelkit.LeadFeature instances or registered names, "
                            f"got {type(feature).__name__}")
        if type(feature).compute is LeadFeature.compute or not list(feature.names):
            raise TypeError(f"{type(feature).__qualname__} must define names and compute(table, at)")
        out.append(feature)
    return out
