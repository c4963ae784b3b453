"""Funnels learned from event logs.

:func:`fit_funnel` maps events to stages, rebuilds every lead's journeys in the C++ engine
and estimates the funnel that produced them: transition probabilities with credible
intervals, per-edge delays (a fitted exponential or log-normal, chosen by AIC, or an
empirical distribution), stage values (average order values) and entry weights. The result's
:attr:`FunnelFit.funnel` is an ordinary :class:`funnelkit.Funnel`, so every analysis, plot and
JSON document applies unchanged; it keeps its counts (in stage and edge metadata) for
intervals and comparisons.

>>> import funnelkit as fk
>>> log = fk.datasets.shop_events(2_000, seed=1)
>>> fit = fk.fit_funnel(log.events)
>>> fit.funnel.analyze().success_probability > 0
True

**What "left the funnel" means.** A lead that entered a stage at time ``t`` has left the
funnel there if it reaches no other stage within the conversion window ``W`` (``window``,
default 30 days) — events of the same stage in between are part of the same stay. A later
event starts a new journey. Entering an absorbing stage (``success``/``failure``) ends the
journey for good.

**The cut at the end of the log.** Leads who entered a stage less than ``W`` before the log
ends have not had their window yet; their transitions show up quickly but their losses would
only be known later. Counting only the entries they *did* finish would overstate conversion,
and counting every unfinished one as a loss would understate it. So only entries made at
least ``W`` before the cut are counted ("followed up"), whatever happened to them; later ones
are reported as ``censored``. Probabilities are then unbiased estimates of "the next stage
within ``W`` of entering" for the process that wrote the log. The price is the last ``W`` of
data: choose ``W`` as long as returns matter and no longer.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit._progress import with_progress
from funnelkit.distributions import Exponential, Fixed, LogNormal, Truncated, empirical_from_durations
from funnelkit.errors import EventLogError, UnknownStageError
from funnelkit.events import EventLog, EventMapping, EventSource, read_events
from funnelkit.funnel import Funnel

__all__ = ["DEFAULT_MAPPING", "DEFAULT_REPEAT", "FunnelFit", "UnmappedEventsWarning", "fit_funnel"]

#: The default event → stage mapping of a typical shop: stage -> the event names that mark it.
DEFAULT_MAPPING: Mapping[str, tuple[str, ...]] = {
    "visit": ("session_start", "page_view", "visit"),
    "lead": ("subscribe", "sign_up", "lead"),
    "interest": ("product_view", "view_item"),
    "cart": ("add_to_cart",),
    "checkout": ("begin_checkout", "checkout_start"),
    "paid": ("purchase", "payment", "order_paid"),
    "unsubscribed": ("unsubscribe",),
}
#: With the default mapping, a lead's second and later purchases enter "repeat" (when "paid" is
#: not absorbing, i.e. ``success`` does not list it).
DEFAULT_REPEAT: Mapping[str, str] = {"paid": "repeat"}

#: Where leads go when they leave the funnel (the fitted funnel's drop stage).
LEFT = "left"

_UNITS_NS = {"seconds": 1e9, "minutes": 60e9, "hours": 3600e9, "days": 86400e9, "weeks": 604800e9}
Mapping_ = Mapping[str, str | Sequence[str]] | EventMapping | str | Callable[[str], str | None]


class UnmappedEventsWarning(UserWarning):
    """Events of the log that the mapping does not place in any stage (``unmapped="report"``)."""


@dataclass(frozen=True, eq=False)
class FunnelFit:
    """A funnel estimated from an event log (made by :func:`fit_funnel`)."""

    #: The fitted funnel: probabilities, delays, values and entry weights.
    funnel: Funnel
    #: One row per observed transition (and per loss, with target "left"): counts, estimate,
    #: credible interval and the fitted delay.
    transitions: pd.DataFrame
    #: One row per stage: journeys started, followed-up and censored entries, losses, the median
    #: stay before moving on (in the time unit) and the value (mean order value of its events).
    stages: pd.DataFrame
    #: Events of the log per name that no stage maps (all zero when every event maps).
    unmapped: pd.Series
    #: The options the fit used (window, unit, prior, level, cut...).
    options: Mapping[str, Any]
    _durations: Mapping[tuple[str, str], np.ndarray] = field(repr=False)

    def durations(self, source: str, target: str) -> np.ndarray:
        """Observed durations of ``source → target`` (followed-up transitions), in the time unit."""
        try:
            return self._durations[(source, target)]
        except KeyError:
            raise UnknownStageError(f"no transition {source} -> {target} was observed",
                                    subject=f"{source} -> {target}") from None

    def compare(self, other: FunnelFit, *, level: float = 0.95, names: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
        """Which transition probabilities differ between this fit and ``other`` beyond their
        uncertainty (see :func:`funnelkit.compare.compare_fits`)."""
        from funnelkit.compare import compare_fits

        return compare_fits(self, other, level=level, names=names)

    def to_pandas(self) -> pd.DataFrame:
        return self.transitions.copy()

    def __repr__(self) -> str:
        return (f"<FunnelFit: {len(self.funnel)} stages, {int((self.transitions.target != LEFT).sum())} transitions "
                f"from {self.options['events_used']:,} mapped events of {self.options['leads']:,} leads; "
                f"window {_short(self.options['window'])}>")

    def _repr_html_(self) -> str:
        columns = ["source", "target", "count", "exposure", "probability", "lower", "upper", "delay", "median_duration"]
        table: str = self.transitions[columns].to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return (f"<p><b>FunnelFit</b>: {len(self.funnel)} stages, window {_short(self.options['window'])}, "
                f"{self.options['level']:.0%} credible intervals</p>" + table)


def _short(duration: pd.Timedelta) -> str:
    """'30 days' rather than '30 days 00:00:00'."""
    text = str(duration)
    return text.removesuffix(" 00:00:00")


def fit_funnel(
    events: EventSource | Iterable[EventSource],
    mapping: Mapping_ | None = None,
    *,
    window: object = "30D",
    success: Sequence[str] | str | None = None,
    failure: Sequence[str] | str | None = None,
    repeat: Mapping[str, str] | None = None,
    unmapped: Literal["ignore", "report", "raise"] = "ignore",
    prior: float = 0.0,
    level: float = 0.95,
    durations: Literal["best", "exponential", "lognormal", "empirical"] = "best",
    time_unit: str = "hours",
    session_gap: object = None,
    observed_until: object = None,
    parts: int | None = None,
    threads: int | None = None,
    progress: bool = True,
    name: str = "fitted funnel",
    **read_options: Any,
) -> FunnelFit:
    """Estimate a funnel from an event log.

    Parameters
    ----------
    events:
        An :class:`~funnelkit.EventLog`, or anything :func:`~funnelkit.read_events` reads (a
        DataFrame, a pyarrow Table, a CSV/Parquet path; ``read_options`` go to it: ``lead=``,
        ``time=``, ``event=``, ``errors=``...). An iterable of such chunks is fitted chunk by
        chunk and the counts added: each lead's events must all be in one chunk, and
        ``observed_until`` must then be given.
    mapping:
        ``{stage: event name or names}`` (several events may mark one stage; stages keep this
        order); or, for rules a dict cannot hold, an :class:`~funnelkit.EventMapping` (or its
        registered name) or a callable ``event name -> stage or None``, called once per distinct
        name (e.g. a pattern over page URLs for page-level funnels). Default:
        :data:`DEFAULT_MAPPING`, with :data:`DEFAULT_REPEAT`.
    window:
        The conversion window ``W`` (a Timedelta-like such as ``"30D"``, or a number in
        ``time_unit``): no other stage within ``W`` of entering a stage means the lead left.
    success, failure:
        Absorbing stages: entering one ends the journey. Default: "paid" (success) and
        "unsubscribed" (failure), where the mapping has them. Names the mapping does not
        produce are an error.
    repeat:
        ``{stage: repeat stage}``: a lead's second and later entries into ``stage`` count as
        entering the repeat stage (second orders).
    unmapped:
        Events no stage maps are ignored, reported (a :class:`UnmappedEventsWarning` listing
        them) or an error. They never count as activity.
    prior:
        Dirichlet concentration added to every outcome of a stage (its observed transitions
        and leaving): 0 (default) gives the maximum-likelihood estimate; 1 is Laplace
        smoothing. Intervals use it too (Jeffreys, 0.5, when it is 0).
    level:
        Credibility of the intervals on probabilities and delay parameters.
    durations:
        The delay of each fitted edge: the better of exponential and log-normal by AIC
        ("best"), one of them, or "empirical" (21 quantiles). Fits account for the window's
        truncation of the observed durations.
    time_unit:
        Unit of the fitted funnel's times: "seconds", "minutes", "hours", "days" or "weeks".
    session_gap:
        When set, a longer gap between a lead's events also ends its journey (one journey per
        session).
    observed_until:
        When the log was cut (default: its last event).
    parts:
        For a CSV/Parquet path larger than memory: stream it once into this many temporary
        Parquet parts by lead (hash), then fit one part at a time and add the counts. Memory
        then holds about one part.
    threads:
        Threads for the engine (default: all cores). Results do not depend on it.
    progress:
        Show a progress bar when walking the journeys takes a while. Ctrl-C stops the engine
        either way.
    """
    if parts is not None:
        options = {"mapping": mapping, "window": window, "success": success, "failure": failure, "repeat": repeat,
                   "unmapped": unmapped, "prior": prior, "level": level, "durations": durations,
                   "time_unit": time_unit, "session_gap": session_gap, "threads": threads, "progress": progress,
                   "name": name}
        return _fit_in_parts(events, parts, observed_until, read_options, options)
    if time_unit not in _UNITS_NS:
        raise ValueError(f"time_unit must be one of {sorted(_UNITS_NS)}, got {time_unit!r}")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not (prior >= 0 and math.isfinite(prior)):
        raise ValueError(f"prior must be a finite number >= 0, got {prior}")
    if durations not in ("best", "exponential", "lognormal", "empirical"):
        raise ValueError(f"durations must be 'best', 'exponential', 'lognormal' or 'empirical', got {durations!r}")
    if unmapped not in ("ignore", "report", "raise"):
        raise ValueError(f"unmapped must be 'ignore', 'report' or 'raise', got {unmapped!r}")
    unit_ns = _UNITS_NS[time_unit]
    window_ns = _duration_ns(window, unit_ns, "window")
    gap_ns = 0 if session_gap is None else _duration_ns(session_gap, unit_ns, "session_gap")
    if mapping is None:
        mapping = DEFAULT_MAPPING
    success_given, failure_given = success is not None, failure is not None
    success = ["paid"] if success is None else [success] if isinstance(success, str) else list(success)
    failure = ["unsubscribed"] if failure is None else [failure] if isinstance(failure, str) else list(failure)
    if repeat is None:  # second orders matter only when paid is not absorbing
        repeat = DEFAULT_REPEAT if mapping is DEFAULT_MAPPING and "paid" not in success else {}

    chunks = _as_chunks(events, observed_until, read_options)
    counts: Any = None
    unmapped_counts: pd.Series = pd.Series(dtype=np.int64)
    stages: list[str] = []
    leads = 0
    cut = 0
    for chunk in chunks:
        log = read_events(chunk, observed_until=observed_until, **read_options)
        previous_stages = stages
        stages, event_stage = _stage_codes(mapping, log.events, repeat)
        if counts is not None and stages != previous_stages:
            raise EventLogError(
                f"the chunks' events map to different stage lists ({previous_stages} then {stages}); with a "
                "mapping rule, declare every stage in EventMapping.stages() so that counts can be added")
        success = _absorbing(success, stages, success_given)
        failure = _absorbing(failure, stages, failure_given)
        if (event_stage < 0).any():  # counting every event name costs a pass: only when needed
            per_event = log.event_counts()
            unmapped_counts = unmapped_counts.add(per_event[per_event.index.isin(log.events[event_stage < 0])],
                                                  fill_value=0).astype(np.int64)
        positions = {s: i for i, s in enumerate(stages)}
        repeat_stage = [positions[repeat[s]] if s in repeat else -1 for s in stages]
        absorbing = [s in success or s in failure for s in stages]
        result = with_progress(
            lambda report: _core.count_transitions(
                log.lead_codes, log.times, event_stage[log.event_codes], log.values, log.n_leads, len(stages),  # noqa: B023
                window_ns, log.observed_until, gap_ns, unit_ns, repeat_stage, absorbing, threads or 0, report),  # noqa: B023
            enabled=progress, desc="journeys", unit="block")
        if counts is None:
            counts = result
        else:
            counts.merge(result)
        leads += log.n_leads
        cut = log.observed_until
    if counts is None:
        raise EventLogError("no event chunks were given")
    _handle_unmapped(unmapped_counts, unmapped)
    if counts.events_used == 0:
        raise EventLogError(
            "no event of the log maps to a stage; the log's most frequent events are "
            f"{list(unmapped_counts.sort_values(ascending=False).index[:8])} (pass mapping={{stage: events}})")
    options = {
        "window": pd.Timedelta(window_ns, unit="ns"), "time_unit": time_unit, "prior": prior, "level": level,
        "durations": durations, "observed_until": pd.Timestamp(cut, unit="ns"), "leads": leads,
        "events_used": int(counts.events_used), "events_ignored": int(counts.events_ignored),
        "journeys": int(counts.journeys), "session_gap": None if not gap_ns else pd.Timedelta(gap_ns, unit="ns"),
        # How events became stages: what lead features (and FunnelScorer.from_fit) need to
        # place leads in this funnel by the same rules.
        "mapping": mapping, "repeat": dict(repeat),
    }
    return _estimate(counts, stages, success, failure, window_ns / unit_ns, options, name, unmapped_counts)


def _fit_in_parts(path: Any, parts: int, observed_until: object, read_options: Mapping[str, Any],
                  arguments: Mapping[str, Any]) -> FunnelFit:
    from funnelkit import _spill

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("parts= needs a CSV or Parquet file path")
    if not (isinstance(parts, int) and parts >= 1):
        raise ValueError(f"parts must be a positive integer, got {parts!r}")
    with tempfile.TemporaryDirectory(prefix="funnelkit-parts-") as directory:
        options = {**read_options, "observed_until": observed_until}
        files, cut = _spill.split_log(Path(path), options, (), parts, directory)
        return fit_funnel(files, observed_until=cut, **arguments, **read_options)


def _as_chunks(events: Any, observed_until: object, read_options: Mapping[str, Any]) -> list[Any] | Iterable[Any]:
    if isinstance(events, (EventLog, pd.DataFrame, str, os.PathLike)) or \
            type(events).__module__.startswith("pyarrow"):
        return [events]
    if isinstance(events, Iterable):
        if observed_until is None:
            raise ValueError("fitting chunks needs observed_until= (when the log was cut), the same for every chunk")
        return events
    raise TypeError(f"expected an event log, a DataFrame, a pyarrow Table, a path or an iterable of them, "
                    f"got {type(events).__name__}")


def _duration_ns(value: object, unit_ns: float, what: str) -> int:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        ns = float(value) * unit_ns
    else:
        try:
            ns = float(pd.Timedelta(value).value)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{what} must be a duration such as '30D' or a number, got {value!r}") from error
    if not (ns > 0 and math.isfinite(ns)) or ns >= 2.0**62:
        raise ValueError(f"{what} must be positive and below about 146 years, got {value!r}")
    return int(ns)


def _absorbing(names: list[str], stages: list[str], given: bool) -> list[str]:
    """The absorbing stages asked for; the defaults only where the mapping has them."""
    if not given:
        return [name for name in names if name in stages]
    for name in names:
        if name not in stages:
            raise UnknownStageError(f"absorbing stage {name!r} is not a stage of the mapping (stages: {stages})",
                                    subject=name)
    return names


def _stage_codes(mapping: Mapping_, events: pd.Index, repeat: Mapping[str, str]) -> tuple[list[str], np.ndarray]:
    """The stage list and, per event code, its stage code (-1: unmapped)."""
    if isinstance(mapping, str):
        from funnelkit.extension import registered

        if mapping not in registered("event_mapping"):
            raise ValueError(f"no event mapping is registered as {mapping!r}; registered: "
                             f"{sorted(registered('event_mapping'))}")
        mapping = registered("event_mapping")[mapping]()
    if isinstance(mapping, EventMapping) or callable(mapping):
        rule = mapping.stage if isinstance(mapping, EventMapping) else mapping
        names = [rule(str(e)) for e in events]
        declared = list(mapping.stages()) if isinstance(mapping, EventMapping) else []
        stages = list(dict.fromkeys([*declared, *(n for n in names if n is not None)]))
        by_event = dict(zip(map(str, events), names, strict=True))
    else:
        if not isinstance(mapping, Mapping) or not mapping:
            raise ValueError("mapping must be a non-empty {stage: event name(s)} dict or a callable")
        stages = list(mapping)
        by_event = {}
        for stage, marks in mapping.items():
            for mark in [marks] if isinstance(marks, str) else marks:
                if mark in by_event and by_event[mark] != stage:
                    raise ValueError(f"event {mark!r} is mapped to two stages: {by_event[mark]!r} and {stage!r}")
                by_event[mark] = stage
    for source, target in repeat.items():
        if source not in stages:
            raise UnknownStageError(f"repeat names stage {source!r}, which the mapping does not define "
                                    f"(stages: {stages})", subject=source)
        if target not in stages:
            stages.append(target)
    positions = {s: i for i, s in enumerate(stages)}
    stage_of = [by_event.get(str(e)) for e in events]
    codes = np.array([-1 if stage is None else positions[stage] for stage in stage_of], dtype=np.int32)
    return stages, codes


def _handle_unmapped(counts: pd.Series, policy: str) -> None:
    if policy == "ignore" or counts.sum() == 0:
        return
    listing = ", ".join(f"{name!r} ({count:,})" for name, count in counts.sort_values(ascending=False).items())
    if policy == "raise":
        raise EventLogError(f"events that no stage maps: {listing}", subject=str(counts.index[0]))
    warnings.warn(f"events that no stage maps (ignored): {listing}", UnmappedEventsWarning, stacklevel=3)


def _estimate(counts: Any, stages: list[str], success: list[str], failure: list[str], window: float,
              options: dict[str, Any], name: str, unmapped: pd.Series) -> FunnelFit:
    entries, losses = counts.entries, counts.losses
    source, target, count = counts.source, counts.target, counts.count
    offsets, all_durations = counts.duration_offsets, counts.durations
    prior, level = options["prior"], options["level"]
    outcomes = np.bincount(source, minlength=len(stages)) + 1  # observed targets, and leaving
    rows: list[dict[str, Any]] = []
    durations: dict[tuple[str, str], np.ndarray] = {}
    for i in range(len(source)):
        s, t = int(source[i]), int(target[i])
        d = all_durations[offsets[i]:offsets[i + 1]]
        durations[(stages[s], stages[t])] = d
        rows.append({"source": stages[s], "target": stages[t], "count": int(count[i]), "exposure": int(entries[s]),
                     **_delay_columns(d, window, level, options["durations"])})
    for stage in np.flatnonzero(entries):
        rows.append({"source": stages[stage], "target": LEFT, "count": int(losses[stage]),
                     "exposure": int(entries[stage]), "delay": None, "median_duration": window})
    table = pd.DataFrame(rows).reindex(columns=_TRANSITION_COLUMNS)
    table[["count", "exposure"]] = table[["count", "exposure"]].astype(np.int64)
    k = outcomes[[stages.index(s) for s in table["source"]]]
    n, x = table["exposure"].to_numpy(float), table["count"].to_numpy(float)
    table["probability"] = (x + prior) / (n + prior * k)
    a0 = prior if prior > 0 else 0.5
    b0 = prior * (k - 1) if prior > 0 else 0.5
    a, b = x + a0, n - x + b0
    certain = b <= 0  # the only outcome, under a prior: its posterior is a point mass at 1
    b = np.where(certain, 1.0, b)
    table["lower"] = np.where(certain, 1.0, _core.beta_quantile(a, b, (1 - level) / 2))
    table["upper"] = np.where(certain, 1.0, _core.beta_quantile(a, b, (1 + level) / 2))
    table = table.sort_values(["source", "target"], key=lambda c: c.map(_order(stages)), kind="stable")
    table = table.reset_index(drop=True)
    table = table[["source", "target", "count", "exposure", "probability", "lower", "upper", *_TRANSITION_COLUMNS[4:]]]

    stage_table = pd.DataFrame({
        "stage": stages,
        "kind": ["success" if s in success else "failure" if s in failure else "transient" for s in stages],
        "starts": counts.starts, "entries": entries, "censored": counts.censored, "losses": losses,
        "loss_rate": np.divide(losses, entries, out=np.full(len(stages), np.nan), where=entries > 0),
        # How long leads stay before moving on, whatever the next stage (followed-up moves).
        "median_stay": [_median_stay(durations, stage) for stage in stages],
        "value": np.divide(counts.value_sum, counts.value_count, out=np.zeros(len(stages)),
                           where=counts.value_count > 0),
    })
    funnel = _build_funnel(table, stage_table, durations, window, options, name)
    return FunnelFit(funnel, table, stage_table, unmapped.rename("events"), options, durations)


def _median_stay(durations: Mapping[tuple[str, str], np.ndarray], stage: str) -> float:
    stays = [d for (source, _), d in durations.items() if source == stage]
    return float(np.median(np.concatenate(stays))) if stays else math.nan


_TRANSITION_COLUMNS = [
    "source", "target", "count", "exposure", "delay", "median_duration",
    "exponential_mean", "exponential_mean_low", "exponential_mean_high",
    "lognormal_mu", "lognormal_mu_low", "lognormal_mu_high",
    "lognormal_sigma", "lognormal_sigma_low", "lognormal_sigma_high", "aic_exponential", "aic_lognormal",
]


def _order(stages: list[str]) -> Callable[[str], int]:
    position = {s: i for i, s in enumerate(stages)} | {LEFT: len(stages)}
    return lambda s: position[s]


def _delay_columns(d: np.ndarray, window: float, level: float, choice: str) -> dict[str, Any]:
    none: dict[str, Any] = {"available": False}
    exponential, lognormal = _core.fit_durations(d, window, level) if d.size else (none, none)
    columns: dict[str, Any] = {
        "median_duration": float(np.median(d)) if d.size else math.nan,
        "exponential_mean": exponential["params"][0] if exponential["available"] else math.nan,
        "lognormal_mu": lognormal["params"][0] if lognormal["available"] else math.nan,
        "lognormal_sigma": lognormal["params"][1] if lognormal["available"] else math.nan,
        "aic_exponential": exponential.get("aic", math.inf),
        "aic_lognormal": lognormal.get("aic", math.inf),
    }
    if exponential["available"]:
        columns["exponential_mean_low"] = exponential["lower"][0]
        columns["exponential_mean_high"] = exponential["upper"][0]
    if lognormal["available"]:
        columns["lognormal_mu_low"], columns["lognormal_mu_high"] = lognormal["lower"][0], lognormal["upper"][0]
        columns["lognormal_sigma_low"], columns["lognormal_sigma_high"] = lognormal["lower"][1], lognormal["upper"][1]
    family = choice
    if choice == "best":
        family = "lognormal" if columns["aic_lognormal"] < columns["aic_exponential"] else "exponential"
    fit = {"exponential": exponential, "lognormal": lognormal}.get(family)
    if d.size == 0:
        columns["delay"] = None
    elif fit is None or not fit["available"]:
        columns["delay"] = "empirical" if d.size >= 2 and np.ptp(d) > 0 else "fixed"
    else:
        columns["delay"] = family
    return columns


def _distribution(row: Mapping[str, Any], durations: Mapping[tuple[str, str], np.ndarray], window: float) -> Any:
    # The exponential and log-normal are estimated by maximum likelihood truncated at the window
    # (only moves within W are seen), so the delay is that law truncated at W: a lead idle for W
    # can no longer take the edge (what lead scoring and simulation read).
    family = row["delay"]
    if family == "exponential":
        return Truncated(Exponential(mean=float(row["exponential_mean"])), window)
    if family == "lognormal":
        return Truncated(LogNormal(float(row["lognormal_mu"]), float(row["lognormal_sigma"])), window)
    d = durations[(row["source"], row["target"])]
    if family == "empirical":
        return empirical_from_durations(d.tolist())
    if family == "fixed":
        return Fixed(float(d[0]))
    return None


def _build_funnel(table: pd.DataFrame, stages: pd.DataFrame, durations: Mapping[tuple[str, str], np.ndarray],
                  window: float, options: Mapping[str, Any], name: str) -> Funnel:
    metadata = {"fitted": {"window": str(options["window"]), "prior": options["prior"], "level": options["level"],
                           "observed_until": str(options["observed_until"]), "leads": options["leads"],
                           "events_used": options["events_used"]}}
    funnel = Funnel(name, time_unit=options["time_unit"], drop_stage=LEFT, metadata=metadata)
    # A stage entered only in the last window (censored entries) stays in the funnel, with the
    # placeholder edge below: leads scored tonight may be in it.
    seen = set(table["source"]) | set(table["target"]) | set(stages.loc[stages["starts"] > 0, "stage"]) | set(
        stages.loc[stages["censored"] > 0, "stage"])
    for row in stages.itertuples():
        if row.stage not in seen:
            continue
        funnel.add_stage(
            row.stage, row.kind, value=float(row.value),
            metadata={"starts": int(row.starts), "entries": int(row.entries), "censored": int(row.censored),
                      "losses": int(row.losses)},
        )
    funnel.add_stage(LEFT, "failure", metadata={"description": f"no other stage within {options['window']}"})
    for row in table.itertuples(index=False):
        # A loss is known W after entering the stage: the delay scoring and simulation read.
        delay = Fixed(window) if row.target == LEFT else _distribution(row._asdict(), durations, window)
        funnel.add_edge(row.source, row.target, float(row.probability), delay=delay,
                        metadata={"count": int(row.count), "exposure": int(row.exposure),
                                  "lower": float(row.lower), "upper": float(row.upper)})
    # A stage entered only in the log's last window has no followed-up entry: nothing is known
    # of where it leads, and it gets a placeholder edge (flagged by its zero exposure).
    unknown = stages.loc[(stages["kind"] == "transient") & (stages["entries"] == 0) & stages["stage"].isin(seen)]
    for stage in unknown["stage"]:
        funnel.add_edge(stage, LEFT, 1.0, delay=Fixed(window), metadata={"count": 0, "exposure": 0})
    # Journeys starting at an absorbing stage (an unsubscribe as a lead's first mapped event)
    # are counted in `starts` but cannot be entry weights: a funnel is entered at a transient stage.
    starts = stages.loc[(stages["starts"] > 0) & (stages["kind"] == "transient")]
    if len(starts):
        funnel.set_entry(dict(zip(starts["stage"], starts["starts"].astype(float), strict=True)))
    return funnel
