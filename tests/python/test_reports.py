"""Funnel reports: the engine against a brute-force enumeration of chains (every mode and
option, property-based), against an independent pandas merge_asof funnel, at 30 steps, on
any thread count; bad input; plots and display."""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import funnelkit as fk

S = 1_000_000_000  # ns per second: the property tests' timestamps are whole seconds


# -- brute force: enumerate every chain of every lead -----------------------------------------
@dataclass
class Spec:
    steps: list[set[str]]
    optional: list[bool]
    step_windows: list[int | None]  # seconds
    window: int | None = None
    order: str = "ordered"
    exclusions: list[tuple[set[str], int, int]] = field(default_factory=list)
    gap: int | None = None
    anchor: str = "first"

    def previous_required(self, k: int) -> int:
        return max(j for j in range(k) if not self.optional[j])


Outcome = dict[int, tuple[int | None, int | None]]  # step -> (ns since start, ns since previous)


def brute_lead(t: list[int], names: list[str], spec: Spec) -> Outcome:
    """One lead's reached steps and counted-attempt times (events already in log order)."""
    if spec.order == "any":
        return _brute_any(t, names, spec)
    n, k = len(t), len(spec.steps)
    chains: list[tuple[tuple[int, int], ...]] = []

    def extend(chain: tuple[tuple[int, int], ...]) -> None:
        chains.append(chain)
        p, j = chain[-1]
        for j2 in range(j + 1, k):
            for p2 in range(p + 1, n):
                if names[p2] in spec.steps[j2]:
                    extend((*chain, (p2, j2)))
            if not spec.optional[j2]:
                break

    for p in range(n):
        if names[p] in spec.steps[0]:
            extend(((p, 0),))

    def valid(chain: tuple[tuple[int, int], ...]) -> bool:
        (p0, _), (pk, last) = chain[0], chain[-1]
        if spec.window is not None and t[pk] - t[p0] > spec.window * S:
            return False
        for (p, _), (p2, j2) in zip(chain, chain[1:]):
            w = spec.step_windows[j2]
            if w is not None and t[p2] - t[p] > w * S:
                return False
            if spec.order == "strict" and p2 != p + 1:
                return False
        if spec.gap is not None and any(t[q] - t[q - 1] > spec.gap * S for q in range(p0 + 1, pk + 1)):
            return False
        matched = {j: p for p, j in chain}
        for events, a, b in spec.exclusions:
            if a >= last:
                continue
            end = matched[b] if b <= last else pk + 1  # a chain stopping inside: up to its last event
            if any(names[q] in events for q in range(matched[a] + 1, end)):
                return False
        return True

    good = [c for c in chains if valid(c)]
    if not good:
        return {}
    reached = {c[-1][1] for c in good}
    deepest = max(reached)
    sign = 1 if spec.anchor == "first" else -1
    attempt = min((c for c in good if c[-1][1] == deepest), key=lambda c: (sign * c[0][0], c[-1][0], c))
    out: Outcome = {j: (None, None) for j in reached}
    for i, (p, j) in enumerate(attempt):
        out[j] = (t[p] - t[attempt[0][0]], None if i == 0 else t[p] - t[attempt[i - 1][0]])
    return out


def _brute_any(t: list[int], names: list[str], spec: Spec) -> Outcome:
    n, k = len(t), len(spec.steps)
    step_of = [next((j for j in range(k) if names[q] in spec.steps[j]), -1) for q in range(n)]
    session = np.cumsum([0] + [int(spec.gap is not None and t[q] - t[q - 1] > spec.gap * S) for q in range(1, n)])

    def together(lo: int, hi: int) -> bool:
        return session[lo] == session[hi] and (spec.window is None or t[hi] - t[lo] <= spec.window * S)

    def covers(present: set[int], step: int) -> bool:
        return step in present and all(j in present for j in range(step) if not spec.optional[j])

    reached = {
        j for lo in range(n) for hi in range(lo, n) if together(lo, hi)
        for j in range(k) if covers({step_of[q] for q in range(lo, hi + 1)}, j)
    }
    if not reached:
        return {}
    deepest = max(reached)
    starts = [
        s for s in range(n)
        if 0 <= step_of[s] <= deepest and covers({step_of[q] for q in range(s, n) if together(s, q)}, deepest)
    ]
    start = starts[0] if spec.anchor == "first" else starts[-1]
    covered_at: dict[int, int] = {}
    for q in range(start, n):
        if not together(start, q):
            break
        present = {step_of[r] for r in range(start, q + 1)}
        for j in range(deepest + 1):
            if j not in covered_at and covers(present, j):
                covered_at[j] = q
    out: Outcome = {j: (None, None) for j in reached}
    for j, q in covered_at.items():
        previous = None if j == 0 else t[q] - t[covered_at[spec.previous_required(j)]]
        out[j] = (t[q] - t[start], previous)
    return out


def brute_report(frame: pd.DataFrame, spec: Spec) -> dict[str, Outcome]:
    ordered = frame.assign(_row=np.arange(len(frame))).sort_values(["timestamp", "_row"], kind="stable")
    return {
        str(lead): brute_lead(list(group["timestamp"] * S), list(group["event"]), spec)
        for lead, group in ordered.groupby("lead_id", sort=False)
    }


def engine_report(frame: pd.DataFrame, spec: Spec, threads: int | None = 1) -> fk.FunnelReport:
    steps = [
        fk.Step(sorted(events), name=f"s{i}", optional=optional, window=None if w is None else pd.Timedelta(w, "s"))
        for i, (events, optional, w) in enumerate(zip(spec.steps, spec.optional, spec.step_windows, strict=True))
    ]
    return fk.funnel_report(
        frame, steps, window=None if spec.window is None else pd.Timedelta(spec.window, "s"), order=spec.order,  # type: ignore[arg-type]
        exclusions=[(tuple(sorted(e)), (a, b)) for e, a, b in spec.exclusions] or None,
        session_gap=None if spec.gap is None else pd.Timedelta(spec.gap, "s"), anchor=spec.anchor,  # type: ignore[arg-type]
        strict_events=False, threads=threads, time_unit="s", value=None,
    )


def engine_outcomes(report: fk.FunnelReport) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    for k in range(len(report.steps)):
        start, previous = report.times(k), report.times(k, since="previous")
        for lead in start.index:
            ns = [None if pd.isna(v) else int(v.value) for v in (start[lead], previous[lead])]
            out.setdefault(str(lead), {})[k] = (ns[0], ns[1])
    return out


# -- random small logs and specs -------------------------------------------------------------
NAMES = ["a", "b", "c", "d"]


@st.composite
def cases(draw: st.DrawFn) -> tuple[pd.DataFrame, Spec]:
    order = draw(st.sampled_from(["ordered", "strict", "any"]))
    k = draw(st.integers(1, 4))
    if order == "any":  # disjoint steps: step i has NAMES[i], the other names go anywhere or nowhere
        owner = [*range(k), *(draw(st.integers(-1, k - 1)) for _ in NAMES[k:])]
        steps = [{n for n, o in zip(NAMES, owner, strict=False) if o == i} for i in range(k)]
    else:
        steps = [set(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))) for _ in range(k)]
    optional = [False, *(draw(st.booleans()) for _ in range(k - 1))]
    windows: list[int | None] = [None] * k
    exclusions: list[tuple[set[str], int, int]] = []
    if order != "any":
        windows = [None, *(draw(st.sampled_from([None, None, 1, 2, 4])) for _ in range(k - 1))]
        required = [i for i in range(k) if not optional[i]]
        if len(required) >= 2 and draw(st.booleans()):
            a, b = sorted(draw(st.lists(st.sampled_from(required), min_size=2, max_size=2, unique=True)))
            exclusions = [(set(draw(st.lists(st.sampled_from([*NAMES, "x"]), min_size=1, max_size=2, unique=True))), a, b)]
    spec = Spec(
        steps, optional, windows,
        window=draw(st.sampled_from([None, 2, 5, 10])), order=order, exclusions=exclusions,
        gap=draw(st.sampled_from([None, None, 2, 4])), anchor=draw(st.sampled_from(["first", "last"])),
    )
    rows = draw(st.lists(
        st.tuples(st.sampled_from(["p", "q", "r", "s"]), st.integers(0, 12), st.sampled_from([*NAMES, "x", "y"])),
        min_size=1, max_size=24,
    ))
    frame = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event"])
    # at most 8 events per lead keeps the enumeration small
    frame = frame[frame.groupby("lead_id").cumcount() < 8].reset_index(drop=True)
    return frame, spec


@settings(max_examples=400)
@given(cases())
@example((  # found by a longer random run: an exclusion binds an attempt that stops inside it
    pd.DataFrame({"lead_id": ["q", "q", "q"], "timestamp": [0, 1, 1], "event": ["b", "b", "c"]}),
    Spec([{"b"}, {"c"}, {"a"}, {"a"}], [False, True, False, False], [None] * 4, exclusions=[({"a", "b"}, 0, 2)]),
))
def test_engine_matches_brute_force_enumeration(case: tuple[pd.DataFrame, Spec]) -> None:
    frame, spec = case
    report = engine_report(frame, spec)
    expected = {lead: o for lead, o in brute_report(frame, spec).items() if o}
    assert engine_outcomes(report) == expected
    # the table's counts and medians follow from the same per-lead outcomes
    table = report.table
    for k in range(len(spec.steps)):
        times = [o[k][0] for o in expected.values() if k in o and o[k][0] is not None]
        assert table["reached"].iat[k] == sum(k in o for o in expected.values())
        median = table["median_time"].iat[k]
        if times:
            assert abs(median.value - np.quantile(times, 0.5)) <= 1
        else:
            assert pd.isna(median)


def test_brute_force_sees_what_the_rules_say() -> None:
    # A sanity check of the reference itself on a case worked by hand.
    spec = Spec([{"a"}, {"b"}, {"c"}], [False, False, False], [None, None, 1], window=10, anchor="first")
    assert brute_lead([0, S, 4 * S, 5 * S], ["a", "b", "b", "c"], spec) == {
        0: (0, None), 1: (4 * S, 4 * S), 2: (5 * S, S),
    }


# -- an independent pandas funnel ------------------------------------------------------------
def shop_log(leads: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 18, size=leads)
    lead = np.repeat(np.arange(leads), sizes)
    events = rng.choice(["view", "cart", "checkout", "purchase", "search"], p=[0.35, 0.2, 0.15, 0.1, 0.2], size=lead.size)
    seconds = rng.integers(0, 20 * 86_400, size=leads)[lead] + rng.integers(0, 4 * 86_400, size=lead.size)
    return pd.DataFrame({
        "lead_id": [f"L{i}" for i in lead],
        "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, unit="s"),
        "event": events,
        "source": rng.choice(["ads", "mail", "organic"], size=lead.size),
    })


def pandas_funnel(frame: pd.DataFrame, steps: list[str], window: pd.Timedelta) -> tuple[list[int], list[pd.Series]]:
    """Plain ordered funnel, anchor first: from every step-0 event follow each next step's
    first event (merge_asof forward by position); a start reaches step i if that greedy chain
    gets there within the window."""
    ev = frame.assign(row=np.arange(len(frame))).sort_values(["lead_id", "timestamp", "row"], kind="stable")
    ev["pos"] = ev.groupby("lead_id").cumcount()
    chain = ev.loc[ev.event == steps[0], ["lead_id", "pos", "timestamp"]].rename(columns={"timestamp": "t0"})
    chain["p0"] = chain["pos"]
    levels = [chain]
    for i, name in enumerate(steps[1:], start=1):
        target = ev.loc[ev.event == name, ["lead_id", "pos", "timestamp"]].rename(
            columns={"pos": "next", "timestamp": f"t{i}"})
        merged = pd.merge_asof(chain.sort_values("pos"), target.sort_values("next"), left_on="pos", right_on="next",
                               by="lead_id", direction="forward", allow_exact_matches=False)
        merged = merged.dropna(subset=["next"])
        merged = merged[merged[f"t{i}"] - merged["t0"] <= window]
        chain = merged.assign(pos=merged["next"].astype(np.int64)).drop(columns="next")
        levels.append(chain)
    reached = [level["lead_id"].nunique() for level in levels]
    deepest: dict[str, int] = {}
    for i, level in enumerate(levels):
        for lead in level["lead_id"].unique():
            deepest[lead] = i
    times: list[pd.Series] = []
    for i in range(len(steps)):
        pieces = []
        for d in range(i, len(steps)):
            level = levels[d]
            level = level[level["lead_id"].map(deepest) == d]
            first = level.sort_values("p0").groupby("lead_id").head(1).set_index("lead_id")
            pieces.append(first[f"t{i}"] - first["t0"])
        times.append(pd.concat(pieces).sort_index())
    return reached, times


def test_plain_ordered_funnel_matches_an_independent_pandas_computation() -> None:
    frame = shop_log(3000, seed=1)
    steps = ["view", "cart", "checkout", "purchase"]
    report = fk.funnel_report(frame, steps, window="2D", threads=2)
    reached, times = pandas_funnel(frame, steps, pd.Timedelta("2D"))
    assert report.table["reached"].tolist() == reached
    assert reached[-1] > 100  # the case is not trivial
    for k in range(len(steps)):
        got = report.times(k).sort_index()
        expected = times[k].astype("timedelta64[ns]")
        pd.testing.assert_series_equal(got, expected, check_names=False, check_index_type=False)


def test_thirty_steps_on_a_journey_log() -> None:
    # lead l walks steps 0..depth(l) in order, a minute apart, with noise events between
    rng = np.random.default_rng(5)
    depth = rng.integers(0, 30, size=2000)
    lead = np.repeat(np.arange(depth.size), 2 * (depth + 1))
    step = np.concatenate([np.repeat(np.arange(d + 1), 2) for d in depth])
    noise = np.tile([False, True], lead.size // 2)
    frame = pd.DataFrame({
        "lead_id": lead,
        "timestamp": np.concatenate([np.arange(2 * (d + 1)) for d in depth]) * 30,
        "event": np.where(noise, "noise", np.char.add("step", step.astype(str))),
    })
    report = fk.funnel_report(frame, [f"step{i}" for i in range(30)], window="1D", time_unit="s", value=None)
    expected = [(depth >= k).sum() for k in range(30)]
    assert report.table["reached"].tolist() == expected
    assert report.table["median_time"].iat[29] == pd.Timedelta(minutes=29)


def test_results_do_not_depend_on_the_thread_count() -> None:
    frame = shop_log(4000, seed=2)
    options = {
        "window": "3D", "exclusions": {"search": (1, 3)}, "session_gap": "2D", "by": "source", "anchor": "last",
    }
    steps = ["view", fk.Step("cart", window="1D"), fk.Step("checkout", optional=True), "purchase"]
    one = fk.funnel_report(frame, steps, threads=1, **options)  # type: ignore[arg-type]
    two = fk.funnel_report(frame, steps, threads=2, **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(one.table, two.table)
    for k in range(4):
        pd.testing.assert_series_equal(one.times(k), two.times(k))


# -- the table -------------------------------------------------------------------------------
def small_log() -> pd.DataFrame:
    return pd.DataFrame({
        "lead_id": ["a", "a", "a", "b", "b", "b", "c", "d"],
        "timestamp": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:05", "2026-01-01 11:00",
                                     "2026-01-02 09:00", "2026-01-02 09:30", "2026-01-03 09:01",
                                     "2026-01-03 12:00", "2026-01-04 12:00"]),
        "event": ["view", "cart", "purchase", "view", "cart", "purchase", "view", "cart"],
        "source": ["ads", "mail", "mail", "mail", "ads", "ads", None, "ads"],
    })


def test_table_columns_denominators_and_interval() -> None:
    table = fk.funnel_report(small_log(), ["view", "cart", "purchase"], window="1D").table
    assert list(table.columns) == [
        "step", "reached", "previous", "conversion", "conversion_low", "conversion_high", "dropped", "drop_rate",
        "started", "overall", "median_time", "time_p25", "time_p75", "time_p90", "median_step_time",
    ]
    assert table["reached"].tolist() == [3, 2, 1]  # b purchased after more than a day
    assert pd.isna(table["previous"].iat[0]) and table["previous"].tolist()[1:] == [3, 2]
    assert table["dropped"].tolist()[1:] == [1, 1]
    assert table["conversion"].iat[2] == 0.5 and table["overall"].iat[2] == pytest.approx(1 / 3)
    # Wilson interval for 1 of 2, against the closed form
    z = 1.959963984540054
    centre, half = (0.5 + z * z / 4) / (1 + z * z / 2), z * np.sqrt(0.25 / 2 + z * z / 16) / (1 + z * z / 2)
    assert table["conversion_low"].iat[2] == pytest.approx(centre - half)
    assert table["conversion_high"].iat[2] == pytest.approx(centre + half)
    assert table["median_step_time"].iat[2] == pd.Timedelta("55min")


def test_optional_step_denominators_come_from_the_previous_required_step() -> None:
    report = fk.funnel_report(small_log(), ["view", fk.Step("cart", optional=True), "purchase"], window="2D")
    table = report.table
    assert table["previous"].tolist()[1:] == [3, 3]
    assert table["reached"].tolist() == [3, 2, 2]


def test_by_segment_uses_first_touch() -> None:
    report = fk.funnel_report(small_log(), ["view", "cart"], window="1D", by="source")
    table = report.table
    assert table.index.names == ["source", "step_index"]
    # a's first event is from ads, b's from mail; c has no source; d never viewed
    assert table.loc[("ads", 0), "reached"] == 1
    assert table.loc[("mail", 1), "reached"] == 1
    counts = table.groupby(level="step_index", dropna=False)["reached"].sum().tolist()
    assert counts == fk.funnel_report(small_log(), ["view", "cart"], window="1D").table["reached"].tolist()


def test_absent_events_count_zero_when_not_strict() -> None:
    report = fk.funnel_report(small_log(), ["view", "refund"], strict_events=False)
    assert report.table["reached"].tolist() == [3, 0]


def test_times_per_lead_and_quantile_columns() -> None:
    report = fk.funnel_report(small_log(), ["view", "cart"], window="1D", quantiles=[0.1, 0.5])
    times = report.times("cart")
    assert times.to_dict() == {"a": pd.Timedelta("5min"), "b": pd.Timedelta("30min")}
    assert "time_p10" in report.table.columns and "time_p50" not in report.table.columns
    assert report.times(1, since="previous").equals(times)


def test_an_event_log_and_its_frame_give_the_same_report() -> None:
    log = fk.read_events(small_log(), segments="source")
    a = fk.funnel_report(log, ["view", "cart"], by="source").table
    b = fk.funnel_report(small_log(), ["view", "cart"], by="source").table
    pd.testing.assert_frame_equal(a, b)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": []}, ValueError, "at least one step"),
        ({"steps": "view"}, TypeError, "list of steps"),
        ({"window": "-1D"}, ValueError, "window must be positive"),
        ({"window": 0}, ValueError, "positive"),
        ({"window": float("nan")}, ValueError, "positive, finite"),
        ({"window": "soon"}, ValueError, "duration such as '7D'"),
        ({"window": np.timedelta64("NaT")}, ValueError, "NaT"),
        ({"session_gap": "0s"}, ValueError, "session_gap must be positive"),
        ({"steps": ["view", "purchse"]}, fk.UnknownEventError, "did you mean 'purchase'"),
        ({"exclusions": {"cart": (0, 1)}, "order": "any"}, ValueError, "exclusions need an order"),
        ({"steps": ["view", fk.Step("cart", window="1h")], "order": "any"}, ValueError, "per-step windows"),
        ({"steps": ["view", ["view", "cart"]], "order": "any"}, ValueError, "both match 'view'"),
        ({"steps": [fk.Step("view", optional=True), "cart"]}, ValueError, "cannot be optional"),
        ({"steps": [fk.Step("view", window="1h"), "cart"]}, ValueError, "no window of its own"),
        ({"exclusions": {"cart": (1, 1)}}, ValueError, "0 <= a < b < 2"),
        ({"exclusions": [("cart", (0,))]}, TypeError, "pair"),
        ({"order": "sideways"}, ValueError, "order must be"),
        ({"anchor": "middle"}, ValueError, "anchor must be"),
        ({"quantiles": [1.5]}, ValueError, "quantiles"),
        ({"threads": 0}, ValueError, "threads"),
        ({"by": "country"}, fk.MissingColumnError, "country"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    arguments: dict[str, object] = {"steps": ["view", "cart"], **kwargs}
    steps = arguments.pop("steps")
    with pytest.raises(error, match=message):
        fk.funnel_report(small_log(), steps, **arguments)  # type: ignore[arg-type]


def test_exclusion_between_optional_steps_is_refused() -> None:
    with pytest.raises(ValueError, match="optional; exclusions run between required steps"):
        fk.funnel_report(small_log(), ["view", fk.Step("cart", optional=True), "purchase"], exclusions={"x": (0, 1)},
                         strict_events=False)


def test_unknown_event_error_names_the_event() -> None:
    with pytest.raises(fk.UnknownEventError) as caught:
        fk.funnel_report(small_log(), ["view", "cart"], exclusions={"refund": (0, 1)})
    assert caught.value.subject == "refund"
    assert isinstance(caught.value, ValueError)


def test_read_events_options_do_not_apply_to_an_event_log() -> None:
    with pytest.raises(TypeError, match="read_events options"):
        fk.funnel_report(fk.read_events(small_log()), ["view"], lead="lead_id")


def test_step_lookup_errors() -> None:
    report = fk.funnel_report(small_log(), ["view", "cart", "view"])
    with pytest.raises(IndexError):
        report.times(3)
    with pytest.raises(KeyError, match="no step named"):
        report.times("refund")
    with pytest.raises(ValueError, match="several steps"):
        report.times("view")


def test_durations_in_every_spelling() -> None:
    expected = fk.funnel_report(small_log(), ["view", "purchase"], window="1D").table
    for window in (24, 24.0, pd.Timedelta("1D"), np.timedelta64(1, "D"), "24h", pd.Timedelta(hours=24).to_pytimedelta()):
        pd.testing.assert_frame_equal(fk.funnel_report(small_log(), ["view", "purchase"], window=window).table, expected)


# -- display ---------------------------------------------------------------------------------
def test_plots_return_axes() -> None:
    report = fk.funnel_report(small_log(), ["view", fk.Step("cart", optional=True), "purchase"], window="2D")
    ax = report.plot()
    assert len(ax.patches) == 3
    assert any("drop" in t.get_text() for t in ax.texts)
    _, given_ax = plt.subplots()
    assert report.plot_times("purchase", ax=given_ax) is given_ax
    segmented = fk.funnel_report(small_log(), ["view", "cart"], by="source")
    assert len(segmented.plot().patches) == 2 * 3  # ads, mail, missing
    assert segmented.plot_times(1) is not None
    plt.close("all")


def test_repr_and_html_show_rates_beside_denominators() -> None:
    report = fk.funnel_report(small_log(), ["view", "cart"], window="1D", exclusions={"purchase": (0, 1)})
    text = repr(report)
    assert text.startswith("Funnel report: view \u2192 cart")
    assert "excluding purchase between steps 0 and 1" in text
    page = report._repr_html_()
    assert "<table" in page and "conversion = reached / previous" in page
    assert report.to_pandas().equals(report.table)


def test_an_error_in_the_progress_callback_stops_the_engine() -> None:
    # What Ctrl-C does: the binding's callback sees the pending error and cancels the engine.
    from funnelkit import _core

    leads = np.arange(200_000, dtype=np.int64)
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _core.funnel_report(leads, leads, np.zeros(leads.size, dtype=np.int32), leads.size, [([0], False, None)],
                            None, "ordered", [], None, "first", 2, stop)
    assert len(calls) == 1 and calls[0] < leads.size
