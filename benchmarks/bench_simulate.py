"""The shop simulation: funnelkit's engine against the two ways a data scientist writes it in
NumPy and a bare C++ loop, in the same run.

Leads arrive over a quarter (default 200,000; ``--large`` 1,000,000) into
``fk.examples.shop_funnel()`` and are simulated until the 90-day horizon. Two funnels:

- **exponential**: the shop funnel with every holding time replaced by an exponential of the
  same mean (``_numpy_shop.exponential_variant``): the like-for-like comparison, since the bare
  loop and the fast NumPy draw exponential times;
- **shop**: the shop funnel as it is (log-normal visit and cart, Weibull interest).

Contenders, each in a forked worker, best of ``--runs``:

    bare C++ loop          yardstick/bare_loop.cpp, g++ -O2 at run time: next stage from the
                           cumulative row + exponential holding time, xoshiro256+ (no trigger)
    NumPy time step        _numpy_shop.simulate_time_step: 20-minute steps over the leads in the
                           funnel, abandoned-cart trigger (idle 20 min in the cart: a message,
                           opened p = 0.4, odds x1.5 toward checkout)
    NumPy per transition   _numpy_shop.simulate_per_transition: exact, one array step per
                           transition, the same trigger handled exactly
    funnelkit, ...         fk.simulate(funnel, visitors per day, strategy, horizon="90D",
                           replicates=1, threads=1, progress=False) with strategy None, the same
                           abandoned-cart trigger alone (like for like) and
                           fk.strategies.must_have()

funnelkit's time is measured twice: the whole ``fk.simulate`` call (what a user waits for:
strategy compilation, the engine and the result tables) and the engine alone (the
``_core.simulate_shop`` call inside it). ns per transition per core = seconds x threads /
transitions (each contender's own count of moves before the horizon); the ratios are NumPy
ns / funnelkit ns and funnelkit ns / bare-loop ns, each with funnelkit's whole call and with
its engine alone. The script checks
that the contenders simulating the same thing agree on conversion within 4.5 standard errors
(the NumPy references are checked against the exact analysis in
tests/python/test_numpy_shop_reference.py). Then the engine alone with the must-have strategy
on 1..os.cpu_count() threads (``--threads-max``), on ``--scaling-replicates`` replicates (5) so
that there is work to share. Results are written as JSON to
benchmarks/results/simulate-<leads>.json.

    python benchmarks/bench_simulate.py                 # 200k leads, about a minute
    python benchmarks/bench_simulate.py --large         # 1M leads
    python benchmarks/bench_simulate.py --leads 20000 --runs 1    # a quick look
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _numpy_shop as ns
import _yardstick as ys
from workers import capped, json_ready, machine_info

import funnelkit as fk
from funnelkit import _core

HERE = Path(__file__).resolve().parent
DAY = 24.0  # the shop funnel is in hours
Z = 4.5
TARGETS = {"NumPy time step": 20.0, "NumPy per transition": 5.0}
BARE_LOOP_TARGET = 3.0


# -- the contenders ----------------------------------------------------------------------
def cart_strategy() -> fk.Strategy:
    """The NumPy references' trigger, as a funnelkit strategy (like for like)."""
    trigger = ns.CartTrigger()
    message = fk.Message(after=f"{round(trigger.delay * 60)}min", open=trigger.open, delivery=1.0,
                         effect=fk.OddsMultiplier(trigger.multiplier, toward=[trigger.toward]))
    return fk.Strategy(triggers=[fk.Trigger("abandoned cart", fk.when.idle([trigger.stage]), [message])],
                       name="abandoned cart only")


STRATEGIES: dict[str, Callable[[], fk.Strategy | None]] = {
    "no strategy": lambda: None,
    "abandoned cart": cart_strategy,
    "must-have": lambda: fk.strategies.must_have(),
}


def funnels() -> dict[str, fk.Funnel]:
    shop = fk.examples.shop_funnel()
    return {"exponential": ns.exponential_variant(shop), "shop": shop}


@dataclass
class Row:
    funnel: str
    contender: str
    threads: int = 1
    leads: int = 0
    transitions: int = 0
    purchases: int = 0
    messages: int = 0
    seconds: float = math.nan  # best whole call
    engine_seconds: float = math.nan  # funnelkit: the engine call alone
    cores: float = math.nan  # funnelkit: CPU time / wall time of the call
    note: str = ""

    def ns_per_transition(self, engine: bool = False) -> float:
        seconds = self.engine_seconds if engine else self.seconds
        return seconds * self.threads * 1e9 / self.transitions if self.transitions else math.nan


def run_funnelkit(funnel: fk.Funnel, leads: int, days: int, strategy: str, threads: int, seed: int,
                  runs: int, replicates: int = 1) -> dict[str, Any]:
    plan = fk.TrafficPlan(visitors_per_day=leads / days)
    chosen = STRATEGIES[strategy]()
    original = _core.simulate_shop
    inner: list[tuple[float, dict[str, Any]]] = []

    def timed(*positional: Any, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        raw: dict[str, Any] = original(*positional, **kwargs)
        inner.append((time.perf_counter() - started, raw))
        return raw

    best: dict[str, Any] = {"seconds": math.inf}
    _core.simulate_shop = timed  # type: ignore[assignment]
    try:
        for _ in range(runs):
            cpu_before = time.process_time()
            started = time.perf_counter()
            sim = fk.simulate(funnel, plan, chosen, horizon=f"{days}D", replicates=replicates, seed=seed,
                              threads=threads, progress=False)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            engine, raw = inner[-1] if inner else (math.nan, {})
            if seconds < best["seconds"]:
                counts = sim.counts
                best = {"seconds": seconds, "engine_seconds": engine, "cores": cpu / seconds, "leads": counts["leads"],
                        "transitions": counts["transitions"], "messages": counts["messages"],
                        "purchases": int(raw.get("successes", 0))}
    finally:
        _core.simulate_shop = original  # type: ignore[assignment]
    return best


def run_numpy(kind: str, funnel: fk.Funnel, leads: int, days: int, seed: int, runs: int) -> dict[str, Any]:
    arrays = ns.shop_arrays(funnel)
    arrivals = ns.uniform_arrivals(leads, days * DAY, seed=seed)
    simulate = ns.simulate_time_step if kind == "NumPy time step" else ns.simulate_per_transition
    best: dict[str, Any] = {"seconds": math.inf}
    for _ in range(runs):
        started = time.perf_counter()
        out = simulate(arrays, arrivals, days * DAY, trigger=ns.CartTrigger(), seed=seed)
        seconds = time.perf_counter() - started
        if seconds < best["seconds"]:
            best = {"seconds": seconds, "leads": out.leads, "transitions": out.transitions,
                    "messages": out.messages, "purchases": out.purchases}
    return best


def run_bare(binary: Path, funnel: fk.Funnel, leads: int, days: int, seed: int, runs: int) -> dict[str, Any]:
    arrays = ns.shop_arrays(funnel)
    outs = [ys.run_bare_loop(binary, arrays, leads, days * DAY, days * DAY, seed=seed + r) for r in range(runs)]
    out = min(outs, key=lambda o: o.seconds)
    return {"seconds": out.seconds, "leads": out.leads, "transitions": out.transitions, "purchases": out.purchases}


def measure(row: Row, job: Callable[[], dict[str, Any]], cap: float) -> Row:
    status, value, _ = capped(job, cap)
    if status != "ok":
        row.note = f"{status} {value or ''}".strip()
        return row
    for key, item in value.items():
        setattr(row, key, item)
    return row


# -- reporting ---------------------------------------------------------------------------
def fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return ""
    return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def fmt_ns(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    rule = "|" + "|".join(":---" if i < 2 else "---:" for i in range(len(header))) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main_table(rows: list[Row]) -> str:
    header = ["funnel", "contender", "leads", "transitions", "messages", "purchases / 1k leads", "time",
              "engine", "ns / transition / core", "M transitions / s", "µs / lead"]
    body = []
    for r in rows:
        if r.note:
            body.append([r.funnel, r.contender, "", "", "", "", r.note, "", "", "", ""])
            continue
        engine = r.ns_per_transition(engine=True)
        body.append([r.funnel, r.contender, f"{r.leads:,}", f"{r.transitions:,}", f"{r.messages:,}",
                     f"{1000 * r.purchases / r.leads:.2f}", fmt_time(r.seconds), fmt_time(r.engine_seconds),
                     fmt_ns(r.ns_per_transition()) + (f" ({fmt_ns(engine)} engine)" if math.isfinite(engine) else ""),
                     f"{r.transitions / r.seconds / 1e6:.2f}", f"{r.seconds * 1e6 / r.leads:.3f}"])
    return markdown(header, body)


def ratios(rows: list[Row]) -> list[dict[str, Any]]:
    """Each ratio twice: against the whole fk.simulate call and against the engine alone."""
    out = []
    for funnel in dict.fromkeys(r.funnel for r in rows):
        by = {r.contender: r for r in rows if r.funnel == funnel and not r.note}
        for strategy in ("abandoned cart", "must-have"):
            ours = by.get(f"funnelkit, {strategy}")
            if ours is None:
                continue
            for name, target in TARGETS.items():
                if name in by:
                    theirs = by[name].ns_per_transition()
                    out.append({"funnel": funnel, "ratio": f"{name} / funnelkit ({strategy}, 1 thread)",
                                "call": theirs / ours.ns_per_transition(),
                                "engine": theirs / ours.ns_per_transition(engine=True),
                                "target": target if strategy == "abandoned cart" else None, "kind": "at least"})
        bare = by.get("bare C++ loop")
        for strategy in ("no strategy", "abandoned cart", "must-have"):
            ours = by.get(f"funnelkit, {strategy}")
            if bare is not None and ours is not None:
                out.append({"funnel": funnel, "ratio": f"funnelkit ({strategy}, 1 thread) / bare C++ loop",
                            "call": ours.ns_per_transition() / bare.ns_per_transition(),
                            "engine": ours.ns_per_transition(engine=True) / bare.ns_per_transition(),
                            "target": BARE_LOOP_TARGET if strategy == "must-have" else None, "kind": "at most"})
    return out


def ratio_table(items: list[dict[str, Any]]) -> str:
    def cell(value: float) -> str:
        return "" if not math.isfinite(value) else f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"

    def met(value: float, item: dict[str, Any]) -> str:
        target = item["target"]
        if target is None or not math.isfinite(value):
            return ""
        return "yes" if (value >= target if item["kind"] == "at least" else value <= target) else "no"

    body = []
    for item in items:
        sign = "≥" if item["kind"] == "at least" else "≤"
        body.append([item["funnel"], item["ratio"], cell(item["call"]), cell(item["engine"]),
                     "" if item["target"] is None else f"{sign} {item['target']:g}×",
                     "" if item["target"] is None else f"{met(item['call'], item)} / {met(item['engine'], item)}"])
    return markdown(["funnel", "ratio (ns per transition)", "fk.simulate call", "engine alone", "target",
                     "met? (call / engine)"], body)


def agreement(rows: list[Row]) -> list[str]:
    """Contenders that simulate the same thing must agree on conversion."""
    problems = []
    for funnel in dict.fromkeys(r.funnel for r in rows):
        same = [r for r in rows if r.funnel == funnel and not r.note
                and r.contender in ("NumPy time step", "NumPy per transition", "funnelkit, abandoned cart")]
        plain = [r for r in rows if r.funnel == funnel and not r.note
                 and r.contender in ("bare C++ loop", "funnelkit, no strategy")]
        for group in (same, plain):
            for a, b in itertools.pairwise(group):
                pa, pb = a.purchases / a.leads, b.purchases / b.leads
                p = (a.purchases + b.purchases) / (a.leads + b.leads)
                se = math.sqrt(p * (1 - p) * (1 / a.leads + 1 / b.leads))
                if abs(pa - pb) > Z * se:
                    problems.append(f"{funnel}: {a.contender} converts {pa:.5f}, {b.contender} {pb:.5f} "
                                    f"(> {Z} standard errors apart)")
    return problems


def scaling_table(rows: list[Row]) -> str:
    one = rows[0] if rows and not rows[0].note else None
    body = []
    for r in rows:
        if r.note:
            body.append([r.funnel, str(r.threads), r.note, "", "", "", "", ""])
            continue
        speedup = one.engine_seconds / r.engine_seconds if one else math.nan
        body.append([r.funnel, str(r.threads), f"{r.transitions:,}", fmt_time(r.engine_seconds),
                     fmt_ns(r.ns_per_transition(engine=True)), f"{r.cores:.2f}", f"{speedup:.2f}×",
                     f"{speedup / r.threads:.0%}"])
    return markdown(["funnel", "threads", "transitions", "engine time", "ns / transition / core", "cores used",
                     "speed-up", "efficiency"], body)


# -- main --------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=None, help="leads over the quarter (default 200,000)")
    parser.add_argument("--large", action="store_true", help="1,000,000 leads")
    parser.add_argument("--days", type=int, default=90, help="the horizon; leads arrive over it (default 90)")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender, the best counts (default 3)")
    parser.add_argument("--threads-max", type=int, default=os.cpu_count() or 1,
                        help="the scaling run's largest thread count (default os.cpu_count())")
    parser.add_argument("--scaling-replicates", type=int, default=5,
                        help="replicates in the scaling run, for enough work to share (default 5)")
    parser.add_argument("--funnels", default="exponential,shop", help="comma-separated: exponential, shop")
    parser.add_argument("--cap", type=float, default=600.0, help="stop a contender after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="where the bare loop is compiled")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default benchmarks/results/simulate-<leads>.json)")
    args = parser.parse_args()
    leads = args.leads or (1_000_000 if args.large else 200_000)
    label = (f"{leads // 1_000_000}M" if leads % 1_000_000 == 0 else f"{leads // 1000}k" if leads % 1000 == 0
             else str(leads))
    info = machine_info()
    load_before = os.getloadavg()
    print(f"{info['cpu']}, {info['usable_cores']} usable cores of {info['cpu_count']}; Python {info['python']}, "
          f"funnelkit {info['funnelkit']}, NumPy {info['numpy']}")
    print(f"{leads:,} leads arriving over {args.days} days, simulated until day {args.days}; best of {args.runs}")
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in load_before)}\n")

    binary = ys.compile_bare_loop(args.cache)
    chosen = [name.strip() for name in args.funnels.split(",")]
    all_funnels = funnels()
    rows: list[Row] = []
    for name in chosen:
        funnel = all_funnels[name]
        if name == "exponential":
            row = Row(name, "bare C++ loop")
            if isinstance(binary, Path):
                rows.append(measure(row, lambda f=funnel: run_bare(binary, f, leads, args.days, args.seed, args.runs),
                                    args.cap))
            else:
                row.note = binary
                rows.append(row)
        for kind in ("NumPy time step", "NumPy per transition"):
            rows.append(measure(Row(name, kind), lambda f=funnel, k=kind: run_numpy(k, f, leads, args.days, args.seed,
                                                                                   args.runs), args.cap))
        for strategy in STRATEGIES:
            rows.append(measure(Row(name, f"funnelkit, {strategy}"),
                                lambda f=funnel, s=strategy: run_funnelkit(f, leads, args.days, s, 1, args.seed,
                                                                           args.runs), args.cap))
        print(main_table([r for r in rows if r.funnel == name]) + "\n", flush=True)

    scaling: list[Row] = []
    scaled = "shop" if "shop" in chosen else chosen[0]
    for threads in range(1, max(1, args.threads_max) + 1):
        scaling.append(measure(Row(scaled, "funnelkit, must-have", threads=threads),
                               lambda t=threads: run_funnelkit(all_funnels[scaled], leads, args.days, "must-have", t,
                                                               args.seed, args.runs, args.scaling_replicates),
                               args.cap))
    items = ratios(rows)
    print(ratio_table(items) + "\n")
    print(f"The engine with the must-have strategy, {args.scaling_replicates} replicates of {leads:,} leads:")
    print(scaling_table(scaling) + "\n")
    problems = agreement(rows)
    for problem in problems:
        print("DISAGREEMENT:", problem)
    if not problems:
        print(f"Contenders simulating the same thing agree on conversion within {Z} standard errors.")
    load_after = os.getloadavg()
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in load_after)}")

    path = args.json or HERE / "results" / f"simulate-{label}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "bench_simulate", "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": info, "load_before": load_before, "load_after": load_after,
        "options": {"leads": leads, "days": args.days, "runs": args.runs, "seed": args.seed, "funnels": chosen,
                    "scaling_replicates": args.scaling_replicates},
        "rows": [r.__dict__ | {"ns_per_transition": r.ns_per_transition(),
                               "engine_ns_per_transition": r.ns_per_transition(engine=True)} for r in rows],
        "ratios": items,
        "scaling": [r.__dict__ | {"engine_ns_per_transition": r.ns_per_transition(engine=True)} for r in scaling],
        "disagreements": problems,
    }
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(json_ready(document), indent=2, allow_nan=False) + "\n")
    partial.rename(path)
    print(f"written: {path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path}")


if __name__ == "__main__":
    main()
