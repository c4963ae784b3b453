"""fk.fit_funnel against pandas and DuckDB: transition counts from a shop's event log.

Every contender computes the same numbers: how often each stage is followed by each other
stage in the leads' journeys (events mapped to stages, each lead's events in time order,
consecutive repeats of a stage collapsed):

    funnelkit   fk.fit_funnel(log, mapping, window="3650D", observed_until="2100-01-01",
                success=[], failure=[], repeat={})   -- the whole call: encoding, journeys,
                estimates, delay fits, the fitted Funnel. With these options every entry is
                followed up and no stage is absorbing, so its transitions (target != "left")
                are plain "consecutive distinct stage" counts.
    pandas      map event -> stage, drop unmapped, sort_values(["lead_id", "timestamp"],
                kind="stable"), drop consecutive repeats within a lead,
                groupby("lead_id").shift(-1) for the next stage, value_counts().
    DuckDB      the same in SQL: LAG() drops the repeats, LEAD(stage) OVER (PARTITION BY lead_id
                ORDER BY timestamp, row_id) finds the next stage, GROUP BY counts. The row id (the
                input's row order, as pandas' stable sort and funnelkit break ties) is
                row_number() OVER () on a DataFrame and file_row_number on Parquet.
    DuckDB, no tie-break   the same query ordered by timestamp alone: faster, and equal here
                because no lead has two mapped events at the same nanosecond, but not
                deterministic on logs with ties.

The counts must be equal (the same (source, target) -> count map) for every contender, input
and size; the script stops with the differences otherwise.

Inputs: ``fk.datasets.shop_events`` logs of about 1M and 10M events (50M with --large),
generated once per size and cached as Parquet in benchmarks/.cache/ (--cache). Two inputs:

    frame     the log as a pandas DataFrame in memory (all 7 columns, as the generator makes
              it; loaded before the clock starts); DuckDB scans the DataFrame
    parquet   the Parquet file path: funnelkit gets the path, pandas reads the three columns
              it needs, DuckDB queries read_parquet()

Shapes: ``uniform`` (the shop log as generated), ``bots`` (0.1% of the leads made into bots
that hold a third of all events: each event moved to a random bot with probability 1/3,
timestamps kept, so many small leads and a few huge ones) and ``strings`` (lead ids as
strings, "u" + id, which cost more to encode). The last two run at 10M events only, or at
every --sizes size when --sizes is given. At 10M (uniform, frame) funnelkit and DuckDB also run
on one thread, for the thread scaling.

Each measurement runs in a forked worker that loads its input, resets its peak RSS, and calls
the contender --runs times (3; at least twice, and no third call once --budget seconds are
spent); the time is the best call, "first call" the first one. The first call of a fresh process
touches memory no process used in the last few seconds, which costs much more on the project's
virtual machine than on bare metal (the host backs such pages again lazily: about 2 s a GiB,
against 0.3 s for memory just freed); later calls reuse what the first freed. The worker is
stopped at --cap seconds ("> 300 s") or once its RSS passes --memory-cap ("out of memory").
"cores" is the CPU time of the calls over their wall time. "peak RSS" is the worker's
resident-set high-water mark (VmHWM, reset once its input was loaded): the interpreter and
libraries (about the parent's RSS, inherited by fork), the input DataFrame for the frame input
(and what Arrow's pool kept from reading it), and everything the calls allocate. "+call" is
that peak minus the RSS just before the first call. Engines use --threads threads (default:
every usable core); pandas computes on one. Ratios are contender / funnelkit: higher means
funnelkit is faster. The targets (funnelkit at least 10x pandas and 2x DuckDB) are checked
against the faster of the two DuckDB queries.

    python benchmarks/bench_events.py                    # 1M and 10M events, about 8 minutes
    python benchmarks/bench_events.py --large            # adds 50M events (cap 900 s), about 20 minutes
    python benchmarks/bench_events.py --sizes 1M --shapes uniform --scenarios frame   # quick
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm
from workers import capped, cpu_model, status_kib, usable_cores

import funnelkit as fk

SIZES = [1_000_000, 10_000_000]
LARGE = 50_000_000
SIDE_SIZE = 10_000_000  # bots and strings, thread scaling
#: Events per lead in fk.datasets.shop_events (measured: 4.74 at seed 0, 200,000 leads).
EVENTS_PER_LEAD = 4.745
SHAPES = ("uniform", "bots", "strings")
SCENARIOS = ("frame", "parquet")
TOOLS = ("funnelkit", "pandas", "duckdb", "duckdb_notie")
TITLES = {
    "funnelkit": "funnelkit",
    "pandas": "pandas",
    "duckdb": "DuckDB",
    "duckdb_notie": "DuckDB, no tie-break",
}
BOT_LEADS = 0.001  # share of the leads that become bots
BOT_EVENTS = 1 / 3  # share of the events moved to bots
MAPPING: dict[str, list[str]] = {stage: list(names) for stage, names in fk.datasets.SHOP_EVENTS.items()}
FIT_OPTIONS: dict[str, Any] = {
    "window": "3650D",
    "observed_until": "2100-01-01",
    "success": [],
    "failure": [],
    "repeat": {},
}
TIMES = "\N{MULTIPLICATION SIGN}"
GIB = 2**30

Counts = dict[tuple[str, str], int]


# -- the contenders ------------------------------------------------------------------------
def run_funnelkit(source: pd.DataFrame | Path, threads: int) -> Counts:
    fit = fk.fit_funnel(source, MAPPING, threads=threads, **FIT_OPTIONS)
    moved = fit.transitions[fit.transitions["target"] != "left"]
    return {(s, t): int(c) for s, t, c in zip(moved["source"], moved["target"], moved["count"], strict=True)}


def run_pandas(source: pd.DataFrame | Path, threads: int) -> Counts:
    """What an analyst writes. (pandas computes on one thread; read_parquet uses Arrow's pool.)"""
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        frame = pd.read_parquet(source, columns=["lead_id", "timestamp", "event"])
    stage_of = {event: stage for stage, events in MAPPING.items() for event in events}
    x = frame[["lead_id", "timestamp"]].assign(stage=frame["event"].map(stage_of))
    x = x.dropna(subset=["stage"])
    x = x.sort_values(["lead_id", "timestamp"], kind="stable")
    new_stay = (x["stage"] != x["stage"].shift()) | (x["lead_id"] != x["lead_id"].shift())
    x = x[new_stay]
    x = x.assign(next=x.groupby("lead_id")["stage"].shift(-1))
    counts = x.value_counts(["stage", "next"])  # drops the last stay of each lead (next is NaN)
    return {(str(s), str(t)): int(c) for (s, t), c in counts.items() if c > 0}


def _stage_case() -> str:
    whens = " ".join(f"WHEN '{event}' THEN '{stage}'" for stage, events in MAPPING.items() for event in events)
    return f"CASE event {whens} END"


def duckdb_query(relation: str, row_id: str | None) -> str:
    """Collapse repeats with LAG, the next stay with LEAD, count the pairs."""
    order = "timestamp" if row_id is None else "timestamp, row_id"
    return f"""
        WITH mapped AS (
            SELECT lead_id, timestamp, {row_id or 0} AS row_id, {_stage_case()} AS stage FROM {relation}
        ), marked AS (
            SELECT lead_id, timestamp, row_id, stage,
                   LAG(stage) OVER (PARTITION BY lead_id ORDER BY {order}) AS previous
            FROM mapped WHERE stage IS NOT NULL
        ), moves AS (
            SELECT stage, LEAD(stage) OVER (PARTITION BY lead_id ORDER BY {order}) AS next
            FROM marked WHERE previous IS NULL OR previous <> stage
        )
        SELECT stage, next, count(*) FROM moves WHERE next IS NOT NULL GROUP BY stage, next
    """


def _run_duckdb(source: pd.DataFrame | Path, threads: int, tie_break: bool) -> Counts:
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {threads}")
        if isinstance(source, pd.DataFrame):
            con.register("events_frame", source)  # scanned in place, no copy
            relation, row_id = "events_frame", "row_number() OVER ()"
        else:
            path = str(source).replace("'", "''")
            relation, row_id = f"read_parquet('{path}', file_row_number = true)", "file_row_number"
        rows = con.execute(duckdb_query(relation, row_id if tie_break else None)).fetchall()
    finally:
        con.close()
    return {(s, t): int(c) for s, t, c in rows}


def run_duckdb(source: pd.DataFrame | Path, threads: int) -> Counts:
    return _run_duckdb(source, threads, tie_break=True)


def run_duckdb_notie(source: pd.DataFrame | Path, threads: int) -> Counts:
    return _run_duckdb(source, threads, tie_break=False)


RUNNERS: dict[str, Callable[[pd.DataFrame | Path, int], Counts]] = {
    "funnelkit": run_funnelkit,
    "pandas": run_pandas,
    "duckdb": run_duckdb,
    "duckdb_notie": run_duckdb_notie,
}


# -- the logs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    shape: str
    target: int  # events asked for
    path: Path
    events: int
    leads: int
    largest_lead: int


def make_log(shape: str, n_leads: int, seed: int, path: Path) -> dict[str, int]:
    """Generate a shop log, reshape it, write it as Parquet (in a worker: the parent stays small)."""
    frame = fk.datasets.shop_events(n_leads, seed=seed).events
    if shape == "bots":
        rng = np.random.default_rng([seed, 1])
        lead = frame["lead_id"].to_numpy().copy()
        ids = np.unique(lead)
        bots = rng.choice(ids, size=max(1, round(len(ids) * BOT_LEADS)), replace=False)
        moved = rng.random(len(lead)) < BOT_EVENTS
        lead[moved] = bots[rng.integers(0, len(bots), int(moved.sum()))]
        frame["lead_id"] = lead
    elif shape == "strings":
        frame["lead_id"] = "u" + frame["lead_id"].astype(str)
    sizes = frame["lead_id"].value_counts()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial)
    partial.rename(path)
    facts = {"events": len(frame), "leads": len(sizes), "largest_lead": int(sizes.iloc[0])}
    path.with_suffix(".json").write_text(json.dumps(facts))
    return facts


def dataset(shape: str, target: int, args: argparse.Namespace) -> Dataset:
    n_leads = max(1, round(target / EVENTS_PER_LEAD))
    path = args.cache / f"shop-{shape}-{n_leads}-seed{args.seed}.parquet"
    facts_path = path.with_suffix(".json")
    if path.exists() and facts_path.exists():
        facts = json.loads(facts_path.read_text())
    else:
        args.cache.mkdir(parents=True, exist_ok=True)
        status, value, _ = capped(lambda: make_log(shape, n_leads, args.seed, path), math.inf, args.memory_cap)
        if status != "ok":
            raise SystemExit(f"could not generate the {shape} log of {target:,} events: {status} {value or ''}")
        facts = value
    return Dataset(shape, target, path, facts["events"], facts["leads"], facts["largest_lead"])


# -- measuring -----------------------------------------------------------------------------
def _reset_peak() -> bool:
    """Set VmHWM to the current RSS (Linux 4.0+); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def measure(tool: str, scenario: str, path: Path, threads: int, runs: int, budget: float) -> dict[str, Any]:
    """In the worker: load the input, then time up to ``runs`` calls."""
    source: pd.DataFrame | Path = pd.read_parquet(path) if scenario == "frame" else path
    gc.collect()
    reset = _reset_peak()
    start_kib = status_kib("VmRSS")
    times: list[float] = []
    counts: Counts = {}
    cpu = time.process_time()  # every thread of the worker
    while len(times) < runs and (len(times) < 2 or sum(times) < budget):
        started = time.perf_counter()
        counts = RUNNERS[tool](source, threads)
        times.append(time.perf_counter() - started)
    cores = (time.process_time() - cpu) / sum(times)
    return {"times": times, "counts": counts, "start": start_kib * 1024, "peak": status_kib("VmHWM") * 1024,
            "peak_reset": reset, "cores": cores}


@dataclass
class Result:
    data: Dataset
    scenario: str
    tool: str
    threads: int
    seconds: float = math.nan
    first: float = math.nan
    runs: int = 0
    cores: float = math.nan  # CPU seconds / wall seconds over the calls
    peak: float = math.nan
    start: float = math.nan
    note: str = ""  # "> 300 s", "out of memory (> 18 GiB)", "skipped", "failed: ..."
    counts: Counts = field(default_factory=dict, repr=False)


class Skipper:
    """Skips what a smaller size of the same shape, input and tool predicts past the cap
    (time linear in the events, with a 20% margin), or what ran out of time or memory there."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.seen: dict[tuple[str, str, str, int], tuple[int, float]] = {}

    def skip(self, key: tuple[str, str, str, int], events: int) -> bool:
        if key not in self.seen:
            return False
        smaller, seconds = self.seen[key]
        return math.isnan(seconds) or seconds * events / smaller * 1.2 > self.cap

    def record(self, key: tuple[str, str, str, int], events: int, seconds: float) -> None:
        self.seen[key] = (events, seconds)


def run_one(data: Dataset, scenario: str, tool: str, threads: int, args: argparse.Namespace,
            skipper: Skipper) -> Result:
    result = Result(data, scenario, tool, threads)
    key = (data.shape, scenario, tool, threads)
    if skipper.skip(key, data.events):
        result.note = "skipped"
        return result
    status, value, largest = capped(
        lambda: measure(tool, scenario, data.path, threads, args.runs, args.budget), args.cap, args.memory_cap)
    if status == "ok":
        result.seconds, result.first, result.runs = min(value["times"]), value["times"][0], len(value["times"])
        result.peak, result.start, result.counts = value["peak"], value["start"], value["counts"]
        result.cores = value["cores"]
        if not value["peak_reset"]:
            result.note = "peak includes loading"
    elif status == "stopped":
        result.note = f"> {args.cap:g} s"
    elif status == "out of memory":
        result.note = f"out of memory (> {args.memory_cap / GIB:.3g} GiB)"
        result.peak = largest
    else:
        result.note = f"failed: {value}"
    skipper.record(key, data.events, result.seconds)
    return result


def check(results: list[Result]) -> None:
    """Every contender's counts equal funnelkit's (and every input's): stop loudly otherwise."""
    reference: dict[tuple[str, int], tuple[str, Counts]] = {}
    for r in results:
        if not r.counts:
            continue
        name = f"{TITLES[r.tool]} ({r.scenario}, {r.threads} threads)"
        key = (r.data.shape, r.data.target)
        if key not in reference:
            reference[key] = (name, r.counts)
            continue
        first, expected = reference[key]
        if r.counts != expected:
            lines = [f"  {s} -> {t}: {expected.get((s, t))} vs {r.counts.get((s, t))}"
                     for s, t in sorted(set(expected) | set(r.counts)) if expected.get((s, t)) != r.counts.get((s, t))]
            raise SystemExit(f"COUNTS DIFFER on the {r.data.shape} log of {r.data.events:,} events: {first} vs {name}\n"
                             + "\n".join(lines))


# -- report --------------------------------------------------------------------------------
def show_seconds(r: Result) -> str:
    if r.note and math.isnan(r.seconds):
        return r.note
    s = r.seconds
    return f"{s:.3f} s" if s < 1 else f"{s:.2f} s" if s < 10 else f"{s:.1f} s" if s < 100 else f"{s:,.0f} s"


def show_first(r: Result) -> str:
    if math.isnan(r.first) or r.runs < 2:
        return ""
    return show_seconds(Result(r.data, r.scenario, r.tool, r.threads, r.first))


def show_rate(r: Result) -> str:
    return "" if math.isnan(r.seconds) else f"{r.data.events / r.seconds / 1e6:.1f} M/s"


def show_bytes(b: float) -> str:
    if math.isnan(b):
        return ""
    return f"{b / GIB:.2f} GiB" if b >= GIB else f"{b / 2**20:,.0f} MiB"


def ratio(r: Result, ours: Result | None) -> float:
    if ours is None or math.isnan(r.seconds) or math.isnan(ours.seconds) or ours.seconds <= 0:
        return math.nan
    return r.seconds / ours.seconds


def show_ratio(x: float) -> str:
    if math.isnan(x):
        return "—"
    return (f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}") + TIMES  # 1.99x is not 2x


def millions(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n < 10_000_000 else f"{n / 1e6:.0f}M"


def main_rows(results: list[Result], threads: int) -> tuple[list[str], list[list[str]]]:
    header = ["shape", "events", "leads", "input", "tool", "time", "first call", "events/s", "cores", "peak RSS",
              "+call", f"{TIMES} funnelkit"]
    ours = {(r.data.shape, r.data.target, r.scenario): r
            for r in results if r.tool == "funnelkit" and r.threads == threads}
    body = []
    for r in results:
        if r.threads != threads:
            continue
        note = r.note if r.note and not math.isnan(r.seconds) else ""
        line = [
            r.data.shape, millions(r.data.events), f"{r.data.leads:,}", r.scenario,
            TITLES[r.tool], show_seconds(r), show_first(r), show_rate(r),
            "" if math.isnan(r.cores) else f"{r.cores:.1f}",
            show_bytes(r.peak) + (f" ({note})" if note else ""),
            show_bytes(r.peak - r.start) if not math.isnan(r.start) else "",
            "" if r.tool == "funnelkit" else show_ratio(ratio(r, ours.get((r.data.shape, r.data.target, r.scenario)))),
        ]
        body.append(line)
    return header, body


def target_rows(results: list[Result], threads: int) -> tuple[list[str], list[list[str]]]:
    """pandas / funnelkit against 10x; the faster DuckDB query / funnelkit against 2x."""
    at_least = "\N{GREATER-THAN OR EQUAL TO}"
    header = ["shape", "events", "input", "transitions (pairs)", f"pandas {TIMES}", f"{at_least} 10{TIMES}?",
              f"DuckDB {TIMES} (faster query)", f"{at_least} 2{TIMES}?"]
    groups: dict[tuple[str, int, str], dict[str, Result]] = {}
    for r in results:
        if r.threads == threads:
            groups.setdefault((r.data.shape, r.data.target, r.scenario), {})[r.tool] = r
    body = []
    for (_, _, scenario), tools in groups.items():
        ours = tools.get("funnelkit")
        if ours is None:
            continue
        counts = next((t.counts for t in tools.values() if t.counts), {})
        pandas_x = ratio(tools["pandas"], ours) if "pandas" in tools else math.nan
        duck = [ratio(tools[k], ours) for k in ("duckdb", "duckdb_notie") if k in tools]
        duck = [x for x in duck if not math.isnan(x)]
        duck_x = min(duck) if duck else math.nan
        pandas_out = "pandas" in tools and tools["pandas"].note and math.isnan(tools["pandas"].seconds)

        def verdict(x: float, goal: float) -> str:
            return "—" if math.isnan(x) else "yes" if x >= goal else "no"

        body.append([
            ours.data.shape, millions(ours.data.events), scenario,
            f"{sum(counts.values()):,} ({len(counts)})" if counts else "",
            show_ratio(pandas_x) if not pandas_out else tools["pandas"].note, verdict(pandas_x, 10),
            show_ratio(duck_x), verdict(duck_x, 2),
        ])
    return header, body


def scaling_rows(results: list[Result], threads: int) -> tuple[list[str], list[list[str]]]:
    header = ["tool", "events", "input", "1 thread", f"{threads} threads", "speed-up"]
    body = []
    for one in results:
        if one.threads != 1 or threads == 1:
            continue
        full = next((r for r in results if r.threads == threads and r.tool == one.tool and r.data == one.data
                     and r.scenario == one.scenario), None)
        if full is None:
            continue
        x = ratio(one, full)
        body.append([TITLES[one.tool], millions(one.data.events), one.scenario, show_seconds(one), show_seconds(full),
                     show_ratio(x)])
    return header, body


def print_plain(header: list[str], body: list[list[str]]) -> None:
    widths = [max(len(line[k]) for line in [header, *body]) for k in range(len(header))]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for line in body:
        print("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)))


LEFT = {"shape", "input", "tool"}  # text columns; the others are numbers


def print_markdown(header: list[str], body: list[list[str]]) -> None:
    print("| " + " | ".join(h.replace("|", "\\|") for h in header) + " |")
    print("|" + "|".join(":---" if h in LEFT else "---:" for h in header) + "|")
    for line in body:
        print("| " + " | ".join(line) + " |")


def machine(threads: int) -> str:
    model, usable = cpu_model(), usable_cores()
    memory = ""
    try:
        memory = f", {_meminfo('MemTotal') / GIB:.0f} GiB"
    except OSError:
        pass
    return (
        f"{model}, {usable} usable cores of {os.cpu_count()}{memory}; Python {platform.python_version()}, "
        f"funnelkit {fk.__version__}, pandas {pd.__version__}, NumPy {np.__version__}, pyarrow {pa.__version__}, "
        f"DuckDB {duckdb.__version__}; {threads} thread(s) for funnelkit, DuckDB and Arrow"
    )


def _meminfo(name: str) -> int:
    with open("/proc/meminfo", encoding="ascii") as info:
        for line in info:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {name} in /proc/meminfo")


class CpuMeter:
    """How busy the rest of the machine was: CPU time in /proc/stat less this process's and its
    workers', as a share of the cores' time since the meter started."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float, float]:
        with open("/proc/stat", encoding="ascii") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
        tick = os.sysconf("SC_CLK_TCK")
        own = os.times()
        ours = own.user + own.system + own.children_user + own.children_system
        return (user + nice + system + irq + softirq) / tick, steal / tick, ours, time.perf_counter()

    def report(self) -> str:
        (busy0, steal0, ours0, wall0), (busy1, steal1, ours1, wall1) = self.start, self._read()
        capacity = (wall1 - wall0) * (os.cpu_count() or 1)
        other = max(0.0, (busy1 - busy0) - (ours1 - ours0))
        return (f"other processes used {other / capacity:.0%} of the machine's CPU time during the run"
                f" (hypervisor steal {(steal1 - steal0) / capacity:.0%})")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not an event count: {text!r} (e.g. 1M, 500k, 2000000)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", action="store_true", help=f"also {LARGE:,} events (uniform); cap 900 s")
    parser.add_argument("--sizes", help="comma-separated event counts (1M, 500k...) instead of the defaults")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated, from: " + ", ".join(SHAPES))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, from: " + ", ".join(SCENARIOS))
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, from: " + ", ".join(TOOLS))
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1-thread runs")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads (default: every usable core)")
    parser.add_argument("--runs", type=int, default=3, help="calls per measurement, the best counts (default 3)")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="no further call once this many seconds are spent (30)")
    parser.add_argument("--cap", type=float, help="stop a worker after this many seconds (default 300, --large 900)")
    parser.add_argument("--memory-cap", type=float,
                        help="stop a worker whose RSS passes this many GiB (default 75%% of RAM)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".cache",
                        help="where the generated logs are kept (default benchmarks/.cache)")
    args = parser.parse_args()
    args.cap = args.cap or (900.0 if args.large else 300.0)
    args.memory_cap = (args.memory_cap * GIB) if args.memory_cap else 0.75 * _meminfo("MemTotal")
    shapes = [s for s in args.shapes.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    for chosen, known in ((shapes, SHAPES), (scenarios, SCENARIOS), (tools, TOOLS)):
        unknown = set(chosen) - set(known)
        if unknown:
            parser.error(f"unknown {sorted(unknown)}; choose from {', '.join(known)}")
    if "funnelkit" not in tools:
        parser.error("funnelkit is the reference of every ratio: keep it in --tools")
    sizes = [parse_size(s) for s in args.sizes.split(",")] if args.sizes else [*SIZES, *([LARGE] if args.large else [])]

    jobs: list[tuple[str, int, str, str, int]] = []
    for shape in shapes:
        shape_sizes = sizes if shape == "uniform" or args.sizes else [n for n in sizes if n == SIDE_SIZE]
        for n in shape_sizes:
            for scenario in scenarios:
                jobs += [(shape, n, scenario, tool, args.threads) for tool in tools]
            scaling = shape == "uniform" and n == SIDE_SIZE and "frame" in scenarios
            if scaling and not args.no_scaling and args.threads > 1:
                jobs += [(shape, n, "frame", tool, 1) for tool in TOOLS if tool in tools and tool != "pandas"]

    print(f"Machine: {machine(args.threads)}")
    start_load = load()
    print(f"Load average at the start: {start_load}")
    meter = CpuMeter()
    started = time.perf_counter()
    datasets: dict[tuple[str, int], Dataset] = {}
    for shape, n in dict.fromkeys((shape, n) for shape, n, *_ in jobs):
        print(f"log {shape} {n:,}: ", end="", flush=True)
        datasets[(shape, n)] = d = dataset(shape, n, args)
        print(f"{d.events:,} events, {d.leads:,} leads, the largest {d.largest_lead:,} events ({d.path.name})")
    skipper = Skipper(args.cap)
    results: list[Result] = []
    tqdm.monitor_interval = 0  # no monitor thread: the workers are forked
    with tqdm(jobs, desc="measurements", unit="run") as progress:
        for shape, n, scenario, tool, threads in progress:
            progress.set_postfix_str(f"{shape} {millions(n)} {scenario} {tool} x{threads}")
            results.append(run_one(datasets[(shape, n)], scenario, tool, threads, args, skipper))
            check(results)
    minutes = (time.perf_counter() - started) / 60
    tables = [main_rows(results, args.threads), target_rows(results, args.threads), scaling_rows(results, args.threads)]
    print()
    for header, body in tables:
        if body:
            print_plain(header, body)
            print()
    print("Every contender's counts were equal (the same (source, target) -> count map) for every log and input.")
    busy = meter.report()
    print(f"Load average at the end: {load()}; {busy}; {minutes:.1f} minutes.")
    print("\nMarkdown (for benchmarks/README.md):\n")
    print(f"Machine: {machine(args.threads)}. Load average (1/5/15 min) before the run {start_load}; {busy}.\n")
    for header, body in tables:
        if body:
            print_markdown(header, body)
            print()


if __name__ == "__main__":
    main()
