"""Funnel reports from event logs: the step-by-step table of product-analytics tools.

For a list of ordered steps and a conversion window, :func:`funnel_report` counts the leads
that reached each step, with step and overall conversion, drop-off and time to convert, as
Mixpanel, Amplitude or PostHog show them. The C++ engine matches every lead's events in one
pass or two (linear in events x steps, on all cores); this module parses the steps, maps
names to codes and turns the per-lead result into tables and plots.

>>> import pandas as pd
>>> import funnelkit as fk
>>> log = pd.DataFrame({
...     "lead_id": ["a", "a", "a", "b", "b", "c"],
...     "timestamp": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:05", "2026-01-01 11:00",
...                                  "2026-01-02 09:00", "2026-01-02 09:30", "2026-01-03 12:00"]),
...     "event": ["view", "cart", "purchase", "view", "cart", "view"],
... })
>>> report = fk.funnel_report(log, ["view", "cart", "purchase"], window="1D")
>>> report.table[["step", "reached", "previous", "conversion", "overall", "median_time"]]
                step  reached  previous  conversion   overall     median_time
step_index
0               view        3      <NA>         NaN  1.000000 0 days 00:00:00
1               cart        2         3    0.666667  0.666667 0 days 00:17:30
2           purchase        1         2    0.500000  0.333333 0 days 01:00:00

Every rule (windows, optional steps, exclusions, orders, sessions, anchors) is stated in
:func:`funnel_report` and, with examples and the algorithm, in docs/reports.md.
"""

from __future__ import annotations

import difflib
import html
import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit._progress import with_progress
from funnelkit.errors import UnknownEventError
from funnelkit.events import EventLog, EventSource, read_events

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Duration", "FunnelReport", "Step", "funnel_report"]

#: A length of time: a pandas Timedelta-like ("7D", "30min", pd.Timedelta, datetime.timedelta,
#: numpy timedelta64) or a number of hours.
Duration = str | float | timedelta | np.timedelta64

_NS_PER_HOUR = 3_600_000_000_000
_MAX_NS = int(np.iinfo(np.int64).max) - 1  # the engine reads int64 max as "no limit"
_Z95 = 1.959963984540054  # two-sided 95% normal quantile, for the Wilson interval


class Step:
    """One step of a funnel report.

    Parameters
    ----------
    events:
        The event name, or names: any one of them matches the step.
    name:
        The step's label in the table (default: the event names joined by " | ").
    optional:
        A chain may skip the step. A lead counts at an optional step only if it matched it;
        the first step cannot be optional.
    window:
        Longest time from the chain's previous matched step to this one (a :data:`Duration`),
        on top of the funnel's window. The first step has none.

    >>> Step(["add_to_cart", "wishlist"], name="interest", window="1h")
    Step(['add_to_cart', 'wishlist'], name='interest', window=Timedelta('0 days 01:00:00'))
    """

    __slots__ = ("_window_ns", "events", "name", "optional", "window")

    def __init__(
        self,
        events: str | Sequence[str],
        name: str | None = None,
        optional: bool = False,
        window: Duration | None = None,
    ) -> None:
        names = (events,) if isinstance(events, str) else tuple(events)
        if not names:
            raise ValueError("a step needs at least one event name")
        self.events: tuple[str, ...] = names
        self.name: str = " | ".join(map(str, names)) if name is None else str(name)
        self.optional: bool = bool(optional)
        self._window_ns = None if window is None else _nanoseconds(window, f"step {self.name!r}: window")
        self.window: pd.Timedelta | None = None if self._window_ns is None else pd.Timedelta(self._window_ns, unit="ns")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return (self.events, self.name, self.optional, self._window_ns) == (
            other.events,
            other.name,
            other.optional,
            other._window_ns,
        )

    def __hash__(self) -> int:
        return hash((self.events, self.name, self.optional, self._window_ns))

    def __repr__(self) -> str:
        events = repr(self.events[0]) if len(self.events) == 1 else repr(list(self.events))
        parts = [events]
        if self.name != " | ".join(map(str, self.events)):
            parts.append(f"name={self.name!r}")
        if self.optional:
            parts.append("optional=True")
        if self.window is not None:
            parts.append(f"window={self.window!r}")
        return f"Step({', '.join(parts)})"


def funnel_report(
    events: EventSource,
    steps: Sequence[str | Sequence[str] | Step],
    *,
    window: Duration | None = "7D",
    order: Literal["ordered", "strict", "any"] = "ordered",
    exclusions: Mapping[Any, tuple[int, int]] | Sequence[Any] | None = None,
    by: str | Sequence[str] | None = None,
    anchor: Literal["first", "last"] = "first",
    session_gap: Duration | None = None,
    quantiles: Sequence[float] = (0.25, 0.5, 0.75, 0.9),
    strict_events: bool = True,
    threads: int | None = None,
    progress: bool = True,
    **read_events_kwargs: Any,
) -> FunnelReport:
    """Count the leads that reached each step of a funnel, and how long it took them.

    Parameters
    ----------
    events:
        An :class:`~funnelkit.EventLog`, or anything :func:`~funnelkit.read_events` reads
        (a DataFrame, an Arrow table, a CSV or Parquet path); ``read_events_kwargs``
        (``lead=``, ``time=``, ``event=``, ``segments=``...) are passed on to it. Columns named
        in ``by`` are read as segments without being listed in ``segments``.
    steps:
        The steps in order: an event name, a list of names (any matches), or a :class:`Step`.
    window:
        Longest time from a chain's first event to its last (a :data:`Duration`; numbers are
        hours). ``None``: no limit.
    order:
        ``"ordered"``: steps in order, other events allowed between them. ``"strict"``: in
        order and consecutive among the lead's events (optional steps may still be skipped).
        ``"any"``: every step's event inside one window, in any order (each event name may
        belong to one step only; per-step windows and exclusions need an order).
    exclusions:
        Events that end an attempt between two steps, as ``{events: (a, b)}`` or a list of
        ``(events, (a, b))`` pairs: ``events`` a name or a tuple of names, ``a < b`` 0-based
        positions of two required steps.
    by:
        Segment column(s): one block of rows per value. A lead's segment is its value at its
        first event in the log (first touch), whatever the steps.
    anchor:
        Which attempt the times to convert come from: ``"first"`` (earliest start) or
        ``"last"`` (latest start: the time from the last step-0 event before converting).
    session_gap:
        When set, a chain may not span a gap longer than this between two consecutive events
        of the lead (any events, not only the steps').
    quantiles:
        Quantiles of the time to convert shown as ``time_p<percent>`` columns (0.5 is
        ``median_time``).
    strict_events:
        Unknown event names raise :class:`~funnelkit.UnknownEventError` (with close matches).
        With ``False`` they are events that never happened: zero counts, as for a period
        without purchases.
    threads:
        Threads for the engine (default: all cores). The result does not depend on it.
    progress:
        Show a progress bar on long runs (it appears after half a second); Ctrl-C stops.

    Notes
    -----
    The unit is the lead: it counts at most once per step. The lead's events are taken in log
    order (by time, ties in input order). A *chain* to step k is a sequence of its events
    e_0, ..., e_k, each later in log order than the one before, e_i matching step i, where
    optional steps may be left out (and are then not matched). In ``ordered`` mode a lead
    reaches step k when it has a chain to step k such that

    * ``time(e_k) - time(e_0) <= window``;
    * for each matched step i > 0 with its own window, ``time(e_i) - time(e_j) <= window_i``,
      e_j the chain's previous matched event;
    * for each exclusion (a, b) with a < k, no excluded event lies after e_a and before e_b,
      or, if the chain stops inside (k < b), after e_a up to and including e_k: an excluded
      event ends the attempt's progress past step a;
    * with ``session_gap``, no two consecutive events of the lead between e_0 and e_k are
      further apart than the gap.

    ``strict`` adds that the chain's events are consecutive among the lead's events.
    In ``any`` mode a lead reaches step k when one window (events within ``window`` of each
    other, inside one session) holds an event of step k and of every required step before it.

    A lead's *counted attempt* is one chain to the deepest step it reached (the last step with
    a chain): with ``anchor="first"`` the chain with the earliest e_0, with ``"last"`` the
    latest e_0; then the earliest e_k from that start; then each step's earliest event that
    still leads to that e_k (ties between two steps of one event: the lower step). Its time to
    convert to step i is ``time(e_i) - time(e_0)`` and its step time ``time(e_i) - time(e_j)``,
    e_j the attempt's previous matched step. A lead reached an optional step by another chain
    than the attempt counts there with no time. In ``any`` mode the attempt starts at the
    first (last) event of a step up to the deepest from which one window covers the deepest
    step and the required ones before it; its time to step i runs to the first event at which
    it holds step i and every required step before it, and the step time from the previous
    required step.

    Cost: linear in events x steps (one forward and one backward pass per lead, no search
    over chains), in parallel over leads.

    Returns
    -------
    FunnelReport
    """
    step_list = _steps(steps)
    if order not in ("ordered", "strict", "any"):
        raise ValueError(f"order must be 'ordered', 'strict' or 'any', got {order!r}")
    if anchor not in ("first", "last"):
        raise ValueError(f"anchor must be 'first' or 'last', got {anchor!r}")
    window_ns = None if window is None else _nanoseconds(window, "window")
    gap_ns = None if session_gap is None else _nanoseconds(session_gap, "session_gap")
    excluded = _exclusions(exclusions, step_list)
    if order == "any":
        _check_any(step_list, excluded)
    by_columns = ([by] if isinstance(by, str) else list(by)) if by is not None else []
    wanted = _quantiles(quantiles)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")

    log = _event_log(events, by_columns, read_events_kwargs)
    codes = _EventCodes(log, strict_events)
    step_args = [(codes.of(s.events, f"step {i} ({s.name!r})"), s.optional, s._window_ns) for i, s in enumerate(step_list)]
    exclusion_args = [(codes.of(names, f"exclusion {names}"), a, b) for names, a, b in excluded]
    groups, labels = _segments(log, by_columns)
    rows = with_progress(
        lambda report: _core.funnel_report(
            log.lead_codes, log.times, log.event_codes, log.n_leads, step_args, window_ns, order,
            exclusion_args, gap_ns, anchor, threads or 0, report,
        ),
        enabled=progress, desc="funnel report", unit="lead",
    )
    settings = {
        "window": None if window_ns is None else pd.Timedelta(window_ns, unit="ns"),
        "order": order,
        "anchor": anchor,
        "session_gap": None if gap_ns is None else pd.Timedelta(gap_ns, unit="ns"),
        "exclusions": [(names, a, b) for names, a, b in excluded],
    }
    return FunnelReport(step_list, rows, log.leads, groups, labels, tuple(by_columns), wanted, settings)


class FunnelReport:
    """The result of :func:`funnel_report`.

    ``table`` has one row per step (per segment and step with ``by``), indexed by the step's
    0-based position, with columns

    * ``step``: the step's name; ``reached``: leads that reached it;
    * ``previous``: leads at the previous required step, the denominator of ``conversion``
      (``reached / previous``) with its Wilson 95% interval ``conversion_low`` ..
      ``conversion_high``; ``dropped`` (``previous - reached``) and ``drop_rate``
      (``dropped / previous``); all missing on the first step;
    * ``started``: leads at the first step, the denominator of ``overall`` (``reached /
      started``);
    * ``median_time`` and ``time_p<percent>``: quantiles (linear interpolation) of the time to
      convert from the attempt's start, over the leads with a time at the step;
      ``median_step_time``: the median time from the attempt's previous step.
    """

    __slots__ = ("_by", "_groups", "_labels", "_leads", "_quantiles", "_rows", "_settings", "_steps", "_table")

    def __init__(
        self,
        steps: list[Step],
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        leads: pd.Index,
        groups: np.ndarray,
        labels: pd.Index | None,
        by: tuple[str, ...],
        quantiles: list[float],
        settings: dict[str, Any],
    ) -> None:
        self._steps = steps
        self._rows = rows
        self._leads = leads
        self._groups = groups
        self._labels = labels
        self._by = by
        self._quantiles = quantiles
        self._settings = settings
        self._table: pd.DataFrame | None = None

    @property
    def steps(self) -> list[Step]:
        return list(self._steps)

    @property
    def by(self) -> tuple[str, ...]:
        """The segment columns the table is split by (empty: none)."""
        return self._by

    @property
    def table(self) -> pd.DataFrame:
        """The report table (a copy you may change)."""
        return self._frame().copy()

    def to_pandas(self) -> pd.DataFrame:
        """The report table (a copy you may change)."""
        return self._frame().copy()

    def times(self, step: int | str, since: Literal["start", "previous"] = "start") -> pd.Series:
        """Time to convert to ``step`` (its 0-based position or name) for each lead that reached
        it, indexed by lead id: from the attempt's start, or with ``since="previous"`` from its
        previous step. NaT where the lead's counted attempt skipped this optional step (or,
        since the previous step, on the first step)."""
        if since not in ("start", "previous"):
            raise ValueError(f"since must be 'start' or 'previous', got {since!r}")
        k = self._step_index(step)
        leads, since_start, since_previous = self._rows[k]
        values = since_start if since == "start" else since_previous
        return pd.Series(
            _timedeltas(np.where(values >= 0, values, np.nan)),
            index=pd.Index(self._leads[leads], name="lead"),
            name=self._steps[k].name,
        )

    # -- display ---------------------------------------------------------------------------
    def plot(self, ax: Axes | None = None) -> Axes:
        """Bars of leads per step, each labelled with its count and overall conversion, the
        drop-off from the previous required step written between bars (one bar group per
        segment with ``by``). Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        plt = _pyplot()
        frame = self._frame()
        names = [s.name for s in self._steps]
        k = len(names)
        if ax is None:
            _, ax = plt.subplots(figsize=(max(6.0, 1.3 * k + 2), 4.5))
        x = np.arange(k)
        hatches = ["//" if s.optional else "" for s in self._steps]
        if not self._by:
            reached = frame["reached"].to_numpy(dtype=float)
            bars = ax.bar(x, reached, width=0.6, color=plt.get_cmap("Blues")(np.linspace(0.85, 0.45, k)))
            for bar, hatch in zip(bars, hatches, strict=True):
                bar.set_hatch(hatch)
            top = reached.max() if reached.size and reached.max() > 0 else 1.0
            for i in range(k):
                overall = frame["overall"].iat[i]
                share = "" if np.isnan(overall) else f"\n{overall:.1%}"
                ax.text(x[i], reached[i] + 0.01 * top, f"{int(reached[i]):,}{share}", ha="center", va="bottom", fontsize=9)
                previous = frame["previous"].iat[i]
                if i > 0 and not pd.isna(previous) and previous > 0:
                    ax.annotate(
                        f"-{int(frame['dropped'].iat[i]):,}\n({frame['drop_rate'].iat[i]:.1%} drop)",
                        xy=(x[i] - 0.5, 0.55 * top), ha="center", va="center", fontsize=8, color="firebrick",
                    )
            ax.set_ylim(0, top * 1.2)
        else:
            labels = self._group_labels()
            width = 0.8 / max(len(labels), 1)
            reached = frame["reached"].to_numpy(dtype=float).reshape(len(labels), k)
            for g, label in enumerate(labels):
                bars = ax.bar(x - 0.4 + width * (g + 0.5), reached[g], width=width, label=label)
                for bar, hatch in zip(bars, hatches, strict=True):
                    bar.set_hatch(hatch)
            ax.legend(title=", ".join(self._by), fontsize=8)
        ax.set_xticks(x)
        ax.set_xticklabels([n + (" (optional)" if s.optional else "") for n, s in zip(names, self._steps, strict=True)],
                           rotation=30 if k > 5 else 0, ha="right" if k > 5 else "center")
        ax.set_ylabel("leads")
        ax.set_title(self._title())
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return ax

    def plot_times(self, step: int | str, ax: Axes | None = None, bins: int = 30) -> Axes:
        """Histogram of the time to convert to ``step`` (one outline per segment with
        ``by``), in a unit that suits its median. Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        plt = _pyplot()
        k = self._step_index(step)
        times = self.times(k).dropna()
        ns = times.to_numpy(dtype="timedelta64[ns]").astype(np.int64)
        unit, scale = _unit_for(float(np.median(ns)) if ns.size else 0.0)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        if not self._by:
            ax.hist(ns / scale, bins=bins, color="steelblue")
        else:
            groups = self._groups[self._rows[k][0][self._rows[k][1] >= 0]]
            for g, label in enumerate(self._group_labels()):
                ax.hist(ns[groups == g] / scale, bins=bins, histtype="step", linewidth=1.5, label=label)
            ax.legend(title=", ".join(self._by), fontsize=8)
        ax.set_xlabel(f"time to convert to {self._steps[k].name!r} ({unit})")
        ax.set_ylabel("leads")
        ax.set_title(f"Time to convert: {ns.size:,} leads")
        return ax

    def __repr__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 30):
            body = self._shown().to_string(float_format=lambda x: f"{x:.4g}")
        return f"{self._title()}\n{self._describe()}\n{body}"

    def _repr_html_(self) -> str:
        table = self._shown().to_html(float_format=lambda x: f"{x:.4g}", border=0)
        return (
            f"<div><strong>{html.escape(self._title())}</strong>"
            f"<p><small>{html.escape(self._describe())}</small></p>{table}</div>"
        )

    # -- helpers ---------------------------------------------------------------------------
    def _title(self) -> str:
        return "Funnel report: " + " \u2192 ".join(s.name for s in self._steps)

    def _describe(self) -> str:
        s = self._settings
        parts = [f"{len(self._leads):,} leads", f"window {s['window'] if s['window'] is not None else 'none'}",
                 f"order {s['order']}", f"anchor {s['anchor']}"]
        if s["session_gap"] is not None:
            parts.append(f"session gap {s['session_gap']}")
        for names, a, b in s["exclusions"]:
            parts.append(f"excluding {', '.join(map(str, names))} between steps {a} and {b}")
        optional = [st.name for st in self._steps if st.optional]
        if optional:
            parts.append(f"optional: {', '.join(optional)}")
        if self._by:
            parts.append(f"by {', '.join(self._by)} (first touch)")
        parts.append("conversion = reached / previous (previous required step); overall = reached / started")
        return "; ".join(parts)

    def _step_index(self, step: int | str) -> int:
        k = len(self._steps)
        if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
            if not 0 <= step < k:
                raise IndexError(f"step {step} out of range: the report has steps 0..{k - 1}")
            return int(step)
        if isinstance(step, str):
            matches = [i for i, s in enumerate(self._steps) if s.name == step]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise ValueError(f"several steps are named {step!r} (positions {matches}); give the position")
            raise KeyError(f"no step named {step!r}; the steps are {[s.name for s in self._steps]}")
        raise TypeError(f"a step is a 0-based position or a name, got {type(step).__name__}")

    def _group_labels(self) -> list[str]:
        if self._labels is None:
            return ["all"]
        return [", ".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in self._labels]

    def _shown(self) -> pd.DataFrame:
        """The table as displayed: times to the second (the table itself keeps nanoseconds)."""
        frame = self._frame().copy()
        for column in frame.columns:
            if pd.api.types.is_timedelta64_dtype(frame[column]):
                frame[column] = frame[column].dt.round("s")
        return frame

    def _frame(self) -> pd.DataFrame:
        if self._table is None:
            self._table = self._build()
        return self._table

    def _build(self) -> pd.DataFrame:
        k = len(self._steps)
        g = 1 if self._labels is None else len(self._labels)
        reached = np.zeros((g, k), dtype=np.int64)
        for i, (leads, _, _) in enumerate(self._rows):
            reached[:, i] = np.bincount(self._groups[leads], minlength=g)
        prior = _previous_required(self._steps)
        has_prior = np.asarray(prior) >= 0
        previous = reached[:, np.maximum(prior, 0)]
        started = np.repeat(reached[:, :1], k, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            conversion = np.where(has_prior, reached / previous, np.nan)
            drop_rate = np.where(has_prior, (previous - reached) / previous, np.nan)
            overall = reached / started
        low, high = _wilson(reached, previous)
        missing = np.broadcast_to(~has_prior, (g, k)).ravel()
        columns: dict[str, Any] = {
            "step": np.tile(np.array([s.name for s in self._steps], dtype=object), g),
            "reached": reached.ravel(),
            "previous": pd.arrays.IntegerArray(previous.ravel(), missing.copy()),
            "conversion": conversion.ravel(),
            "conversion_low": np.where(missing, np.nan, low.ravel()),
            "conversion_high": np.where(missing, np.nan, high.ravel()),
            "dropped": pd.arrays.IntegerArray((previous - reached).ravel(), missing.copy()),
            "drop_rate": drop_rate.ravel(),
            "started": started.ravel(),
            "overall": overall.ravel(),
        }
        levels = [0.5, *(q for q in self._quantiles if q != 0.5)]
        since_start = np.full((g, k, len(levels)), np.nan)
        step_median = np.full((g, k), np.nan)
        for i, (leads, start, prev) in enumerate(self._rows):
            timed = start >= 0
            since_start[:, i, :] = _group_quantiles(self._groups[leads[timed]], start[timed], g, levels)
            stepped = prev >= 0
            step_median[:, i] = _group_quantiles(self._groups[leads[stepped]], prev[stepped], g, [0.5])[:, 0]
        columns["median_time"] = _timedeltas(since_start[:, :, 0].ravel())
        for j, q in enumerate(levels[1:], start=1):
            columns[f"time_p{q * 100:g}"] = _timedeltas(since_start[:, :, j].ravel())
        columns["median_step_time"] = _timedeltas(step_median.ravel())
        return pd.DataFrame(columns, index=self._index(g, k))

    def _index(self, g: int, k: int) -> pd.Index:
        positions = np.tile(np.arange(k), g)
        if self._labels is None:
            return pd.Index(positions, name="step_index")
        labels = self._labels
        if isinstance(labels, pd.MultiIndex):
            arrays = [labels.get_level_values(i).repeat(k) for i in range(labels.nlevels)]
        else:
            arrays = [labels.repeat(k)]
        return pd.MultiIndex.from_arrays([*arrays, positions], names=[*self._by, "step_index"])


# -- argument parsing ------------------------------------------------------------------------
def _nanoseconds(value: object, what: str) -> int:
    """A positive duration in ns from a Timedelta-like or a number of hours."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a duration, got {value!r}")
    if isinstance(value, np.timedelta64):  # numpy counts it as an integer: not a number of hours
        value = pd.Timedelta(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        hours = float(value)
        if math.isnan(hours) or hours <= 0 or math.isinf(hours):
            raise ValueError(f"{what} must be a positive, finite duration (numbers are hours), got {value!r}")
        ns = round(hours * _NS_PER_HOUR)
    else:
        try:
            delta = pd.Timedelta(value)
        except (ValueError, TypeError, OverflowError) as error:
            raise ValueError(
                f"{what} must be a duration such as '7D', '30min', a pandas Timedelta or a number of hours; "
                f"got {value!r}"
            ) from error
        if pd.isna(delta):
            raise ValueError(f"{what} must be a duration, got NaT ({value!r})")
        ns = int(delta.value)
    if ns <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    if ns > _MAX_NS:
        raise ValueError(f"{what} is too long: {value!r} (at most about 292 years; pass None for no limit)")
    return ns


def _steps(steps: Sequence[str | Sequence[str] | Step]) -> list[Step]:
    if isinstance(steps, (str, Step)):
        raise TypeError("steps is a list of steps, e.g. ['view', 'cart', 'purchase']; got a single step")
    out = [s if isinstance(s, Step) else Step(s) for s in steps]
    if not out:
        raise ValueError("a funnel report needs at least one step")
    if out[0].optional:
        raise ValueError(f"the first step ({out[0].name!r}) cannot be optional: every conversion starts there")
    if out[0].window is not None:
        raise ValueError(f"the first step ({out[0].name!r}) has no previous step, so no window of its own")
    return out


def _exclusions(spec: Mapping[Any, tuple[int, int]] | Sequence[Any] | None, steps: list[Step]) -> list[tuple[tuple[str, ...], int, int]]:
    if spec is None:
        return []
    pairs: list[tuple[Any, Any]] = []
    if isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        for item in spec:
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise TypeError(f"an exclusion is (events, (a, b)) or (events, a, b); got {item!r}")
            pairs.append((item[0], tuple(item[1:])) if len(item) == 3 else (item[0], item[1]))
    out = []
    k = len(steps)
    for events, between in pairs:
        names = (events,) if isinstance(events, str) else tuple(events)
        if not names:
            raise ValueError("an exclusion needs at least one event name")
        if not (isinstance(between, (tuple, list)) and len(between) == 2):
            raise TypeError(f"exclusion {names}: the steps are a pair (a, b) of 0-based positions; got {between!r}")
        a, b = between
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (a, b)):
            raise TypeError(f"exclusion {names}: step positions must be integers, got {between!r}")
        if not 0 <= a < b < k:
            raise ValueError(f"exclusion {names}: needs steps 0 <= a < b < {k} (0-based positions), got ({a}, {b})")
        for position in (a, b):
            if steps[position].optional:
                raise ValueError(
                    f"exclusion {names}: step {position} ({steps[position].name!r}) is optional; "
                    "exclusions run between required steps"
                )
        out.append((names, int(a), int(b)))
    return out


def _check_any(steps: list[Step], exclusions: list[tuple[tuple[str, ...], int, int]]) -> None:
    if exclusions:
        raise ValueError("exclusions need an order: they are not available with order='any'")
    owner: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.window is not None:
            raise ValueError(f"step {i} ({step.name!r}): per-step windows need an order; not available with order='any'")
        for name in step.events:
            if owner.setdefault(name, i) != i:
                raise ValueError(
                    f"steps {owner[name]} and {i} both match {name!r}: with order='any' each event belongs to one step"
                )


def _quantiles(quantiles: Sequence[float]) -> list[float]:
    out: list[float] = []
    for q in quantiles:
        if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)) or not 0 <= q <= 1:
            raise ValueError(f"quantiles must be numbers in [0, 1], got {q!r}")
        if float(q) not in out:
            out.append(float(q))
    return out


def _event_log(events: EventSource, by: list[str], kwargs: dict[str, Any]) -> EventLog:
    if isinstance(events, EventLog):
        if kwargs:
            raise TypeError(f"{sorted(kwargs)} are read_events options: they do not apply to an EventLog")
        return events
    if by:
        named = kwargs.get("segments", ())
        segments = [named] if isinstance(named, str) else list(named)
        kwargs = {**kwargs, "segments": [*segments, *(c for c in by if c not in segments)]}
    return read_events(events, **kwargs)


class _EventCodes:
    """Event names to the log's codes; unknown names raise or match nothing."""

    def __init__(self, log: EventLog, strict: bool) -> None:
        self._events = log.events
        self._strict = strict
        self._never = len(log.events)  # codes from here on are in no row: one per absent name

    def of(self, names: tuple[str, ...], where: str) -> list[int]:
        codes = self._events.get_indexer(list(names))
        unknown = [n for n, c in zip(names, codes, strict=True) if c < 0]
        if unknown and self._strict:
            name = unknown[0]
            close = difflib.get_close_matches(str(name), [str(e) for e in self._events], n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise UnknownEventError(
                f"{where}: the event log has no event {name!r}{hint} (pass strict_events=False to count "
                f"events absent from this log as never happening)",
                subject=str(name),
            )
        known = [int(c) for c in codes if c >= 0]
        if known:
            return known
        self._never += 1  # distinct, so that steps of absent events stay disjoint (order="any")
        return [self._never - 1]


def _segments(log: EventLog, by: list[str]) -> tuple[np.ndarray, pd.Index | None]:
    """Each lead's group (first-touch segment values) and the groups' labels, sorted by the
    segment categories, missing values last."""
    if not by:
        return np.zeros(log.n_leads, dtype=np.int64), None
    cats = [log.segment_of_leads(column) for column in by]
    dims = [len(cat.categories) + 1 for cat in cats]
    codes = [np.where(cat.codes < 0, len(cat.categories), cat.codes).astype(np.int64) for cat in cats]
    uniques, groups = np.unique(np.ravel_multi_index(codes, dims), return_inverse=True)
    parts = np.unravel_index(uniques, dims)
    arrays = [
        pd.Categorical.from_codes(np.where(part == len(cat.categories), -1, part), categories=cat.categories)
        for cat, part in zip(cats, parts, strict=True)
    ]
    labels = pd.MultiIndex.from_arrays(arrays, names=by) if len(by) > 1 else pd.CategoricalIndex(arrays[0], name=by[0])
    return groups.astype(np.int64).ravel(), labels


# -- numbers ---------------------------------------------------------------------------------
def _previous_required(steps: list[Step]) -> list[int]:
    """Per step, the position of the previous required step (-1 for the first)."""
    out, last = [], -1
    for i, step in enumerate(steps):
        out.append(last)
        if not step.optional:
            last = i
    return out


def _wilson(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95% interval of successes / trials (NaN where trials is 0)."""
    n = trials.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        z2 = _Z95 * _Z95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = _Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _group_quantiles(groups: np.ndarray, values: np.ndarray, count: int, levels: list[float]) -> np.ndarray:
    """Quantiles (linear interpolation, as numpy's default) of values per group: one row per
    group, one column per level, NaN for empty groups."""
    out = np.full((count, len(levels)), np.nan)
    if values.size == 0:
        return out
    order = np.lexsort((values, groups))
    ordered = values[order].astype(np.float64)
    sizes = np.bincount(groups, minlength=count)
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    present = sizes > 0
    for j, q in enumerate(levels):
        position = (sizes[present] - 1) * q
        below = np.floor(position).astype(np.int64)
        fraction = position - below
        a = ordered[firsts[present] + below]
        b = ordered[firsts[present] + np.minimum(below + 1, sizes[present] - 1)]
        out[present, j] = np.where(fraction >= 0.5, b - (b - a) * (1 - fraction), a + (b - a) * fraction)
    return out


def _timedeltas(ns: np.ndarray) -> pd.TimedeltaIndex:
    """Float or int nanoseconds (NaN: missing) as Timedeltas, rounded to the nanosecond."""
    return pd.to_timedelta(np.round(ns), unit="ns")


def _unit_for(ns: float) -> tuple[str, float]:
    for unit, scale in (("days", 86_400e9), ("hours", 3_600e9), ("minutes", 60e9)):
        if ns >= scale:
            return unit, scale
    return "seconds", 1e9

