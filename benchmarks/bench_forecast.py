"""Revenue forecasts (issue 10): the expected-value path against a NumPy propagation, and a
1,000-scenario what-if grid against the naive loop, in the same run.

1. **path** — ``funnelkit.forecasting.path.expected_path(funnel, plan, horizon, substeps)`` (no
   strategy) against ``_numpy_path.daily_entries``: the same renewal propagation on the same
   fine grid (``--substeps`` per day), kernels p P((m - 1/2) h <= D < (m + 1/2) h) from the
   laws' vectorised cdf, stepped through the grid with one dot product per transition and the
   same-step moves solved exactly (see that module). Funnels: ``fk.examples.shop_funnel()`` and
   ``_numpy_path.looped_funnel(20)`` (20 stages in one loop, log-normal, Weibull and
   exponential laws, per-edge delays on some back edges); horizons: a quarter and a year of
   daily traffic (1,000 visitors a day, weekend x1.3, 5% growth a month). funnelkit is timed
   twice: the whole call (traffic, compilation, the DataFrame) and the engine alone
   (``_core.expected_path``). Reported: both times, NumPy / funnelkit, and the daily entries'
   largest difference: relative (entries of at least 1e-6 of the stage's peak), against the
   stage's peak and against the largest daily entry of any stage. They must agree within 1e-9
   of the largest entry (the NumPy version is exact up to round-off; the engine's FFTs err by
   about 1e-13 of the whole flow, which is more, relatively, on stages few leads reach).
2. **grid** — 1,000 scenarios on the shop funnel over a quarter, two grids:
   *shared*: p(cart -> checkout) x 10 values x search traffic x 10 x margin x 10 (10 distinct
   funnels: paths are shared and scaled); *distinct*: p(visit -> lead) x p(interest -> cart)
   x p(cart -> checkout), 10 values each (1,000 distinct funnels). ``compare_scenarios``
   (analytic, every core and one thread) against the naive loop a user would write: for each
   scenario ``scenario.apply(base)`` and ``expected_path`` of the result, totals summed (one
   thread). The totals must agree within 1e-9 (relative).
3. **optimisation** — ``fk.optimize_strategy`` over 100 settings of ``fk.strategies.must_have()``'s
   abandoned-cart trigger on the shop funnel (the grid's two channels, 2,000 visitors a day;
   a quarter, 20 replicates, seed 0; ``--large``: a year): its two delays (5 pairs) x the
   offer's discount (5) x e-mail or SMS x on/off, against the plain loop a user writes:
   ``fk.simulate`` of the base and of each candidate's ``scenario.apply(base)`` with the same
   replicates and seed, the best the feasible (here: every) candidate with the highest mean
   profit. Reported: both times, loop / optimize_strategy, the simulations each ran, whether
   they pick the same best and the largest difference of the candidates' mean profits
   (common random numbers and one seed: they must be equal).

Each measurement runs in a forked worker (``--cap`` seconds), best of ``--runs``. Results go
to benchmarks/results/forecast-<label>.json.

    python benchmarks/bench_forecast.py            # about a minute and a half (2 cores)
    python benchmarks/bench_forecast.py --large    # + a 50-stage loop and two years; the optimisation a year
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _numpy_path as npth
import numpy as np
import pandas as pd
from workers import capped, json_ready, machine_info

import funnelkit as fk
from funnelkit import _core
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.compare import compare_scenarios
from funnelkit.forecasting.funnel_changes import EdgeProbability
from funnelkit.forecasting.market_changes import ChannelTraffic, Margin
from funnelkit.forecasting.path import expected_path
from funnelkit.forecasting.scenario import Scenario, grid
from funnelkit.forecasting.strategy_changes import TriggerDelay, TriggerDiscount, TriggerOff
from funnelkit.simulation.run import DEFAULT_START

HERE = Path(__file__).resolve().parent
AGREE = 1e-9
PEAK_FLOOR = 1e-6  # relative differences are taken on entries >= this share of the stage's peak


def traffic() -> fk.TrafficPlan:
    return fk.TrafficPlan(1_000.0, weekly=[1, 1, 1, 1, 1, 1.3, 1.3], growth=0.05)


# -- 1. the expected-value path ----------------------------------------------------------
def time_funnelkit_path(funnel: fk.Funnel, days: int, substeps: int, runs: int) -> dict[str, Any]:
    original = _core.expected_path
    inner: list[float] = []

    def timed(*positional: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        out = original(*positional, **kwargs)
        inner.append(time.perf_counter() - started)
        return out

    best, engine, frame = math.inf, math.inf, None
    _core.expected_path = timed  # type: ignore[assignment]
    try:
        for _ in range(runs):
            started = time.perf_counter()
            frame = expected_path(funnel, traffic(), horizon=f"{days}D", substeps=substeps)
            best = min(best, time.perf_counter() - started)
            engine = min(engine, inner[-1])
    finally:
        _core.expected_path = original  # type: ignore[assignment]
    assert frame is not None
    names = list(funnel._compiled().names)
    return {"seconds": best, "engine_seconds": engine, "arrivals": frame["arrivals"].to_numpy(),
            "entries": frame[[f"entered_{name}" for name in names]].to_numpy()}


def time_numpy_path(funnel: fk.Funnel, arrivals: np.ndarray, substeps: int, runs: int) -> dict[str, Any]:
    best, entries = math.inf, None
    for _ in range(runs):
        started = time.perf_counter()
        entries = npth.daily_entries(npth.path_arrays(funnel), arrivals, substeps)
        best = min(best, time.perf_counter() - started)
    return {"seconds": best, "entries": entries}


def differences(ours: np.ndarray, theirs: np.ndarray) -> dict[str, float]:
    """Largest relative difference (entries >= PEAK_FLOOR x the stage's peak), largest
    difference against the stage's peak and against the largest daily entry of any stage (the
    agreement test: the engine's FFT round-off is relative to the whole flow, so a stage that
    sees a millionth of the entry stage's leads shows it a million times larger)."""
    peak = np.maximum(np.abs(theirs).max(axis=0), 1e-300)
    gap = np.abs(ours - theirs)
    counted = np.abs(theirs) >= PEAK_FLOOR * peak
    relative = float((gap[counted] / np.abs(theirs[counted])).max()) if counted.any() else 0.0
    return {"max_rel_diff": relative, "max_diff_over_peak": float((gap / peak).max()),
            "max_diff_over_largest": float(gap.max() / max(float(np.abs(theirs).max()), 1e-300)),
            "max_abs_diff": float(gap.max())}


def path_rows(funnels: dict[str, fk.Funnel], horizons: dict[str, int], substeps: int, runs: int,
              cap: float) -> list[dict[str, Any]]:
    rows = []
    for name, funnel in funnels.items():
        transitions = len(funnel._compiled().transition_triplets()[0])
        for label, days in horizons.items():
            row: dict[str, Any] = {"funnel": name, "stages": len(funnel.stages), "transitions": transitions,
                                   "horizon": label, "days": days, "substeps": substeps, "steps": days * substeps}
            status, ours, _ = capped(lambda f=funnel, d=days: time_funnelkit_path(f, d, substeps, runs), cap)
            if status != "ok":
                row["note"] = f"funnelkit {status} {ours or ''}".strip()
                rows.append(row)
                continue
            status, theirs, _ = capped(lambda f=funnel, a=ours["arrivals"]: time_numpy_path(f, a, substeps, runs), cap)
            row |= {"funnelkit_s": ours["seconds"], "engine_s": ours["engine_seconds"]}
            if status != "ok":
                row["note"] = f"NumPy {status} {theirs or ''}".strip()
            else:
                row |= {"numpy_s": theirs["seconds"], "ratio_call": theirs["seconds"] / ours["seconds"],
                        "ratio_engine": theirs["seconds"] / ours["engine_seconds"]}
                row |= differences(ours["entries"], theirs["entries"])
                row["agree"] = row["max_diff_over_largest"] <= AGREE
            rows.append(row)
            print(f"  {name}, {label}: {fmt_time(row.get('funnelkit_s'))} (engine {fmt_time(row.get('engine_s'))}),"
                  f" NumPy {fmt_time(row.get('numpy_s'))} {row.get('note', '')}", flush=True)
    return rows


# -- 2. the what-if grid -----------------------------------------------------------------
def grid_base() -> Base:
    channels = [fk.Channel("search", share=0.6, cost_per_visitor=0.5),
                fk.Channel("social", share=0.4, cost_per_visitor=0.3)]
    return Base(fk.examples.shop_funnel(), fk.TrafficPlan(1_000.0, channels=channels, weekly=[1, 1, 1, 1, 1, 1.3, 1.3]))


def scenario_grids(size: int) -> dict[str, list[Scenario]]:
    factors = np.linspace(0.8, 1.25, size)
    return {
        "shared": grid("shop",
                       checkout=[EdgeProbability("cart", "checkout", factor=float(f)) for f in factors],
                       search=[ChannelTraffic("search", factor=float(f)) for f in np.linspace(0.5, 2.0, size)],
                       margin=[Margin(float(m)) for m in np.linspace(0.2, 0.38, size)]),
        "distinct": grid("shop",
                         lead=[EdgeProbability("visit", "lead", factor=float(f)) for f in factors],
                         cart=[EdgeProbability("interest", "cart", factor=float(f)) for f in factors],
                         checkout=[EdgeProbability("cart", "checkout", factor=float(f)) for f in factors]),
    }


METRICS = ("purchases", "revenue", "profit")


def naive_totals(base: Base, scenarios: list[Scenario], days: int, substeps: int) -> np.ndarray:
    """What a user writes without compare_scenarios: apply, path, sum; totals[scenario, metric]."""
    out = np.zeros((len(scenarios), len(METRICS)))
    for k, scenario in enumerate(scenarios):
        applied = scenario.apply(base)
        path = expected_path(applied.funnel, applied.traffic, horizon=f"{days}D", substeps=substeps)
        per_channel = np.asarray(applied.traffic._expected(DEFAULT_START, days), dtype=np.float64)
        cost = float(per_channel.sum(axis=0) @ np.asarray(applied.traffic.cost_per_visitor, dtype=np.float64))
        revenue = float(path["revenue"].sum())
        out[k] = (path["purchases"].sum(), revenue, applied.economics.margin * revenue - cost)
    return out


def time_compare(base: Base, scenarios: list[Scenario], days: int, substeps: int, threads: int | None,
                 runs: int) -> dict[str, Any]:
    best, comparison = math.inf, None
    for _ in range(runs):
        started = time.perf_counter()
        comparison = compare_scenarios(base, scenarios, horizon=f"{days}D", substeps=substeps, threads=threads,
                                       metrics=METRICS)
        best = min(best, time.perf_counter() - started)
    assert comparison is not None
    totals = comparison.totals.loc[[s.name for s in scenarios], list(METRICS)].to_numpy(dtype=np.float64)
    return {"seconds": best, "totals": totals, "paths": comparison.timing["paths"]}


def time_naive(base: Base, scenarios: list[Scenario], days: int, substeps: int, runs: int) -> dict[str, Any]:
    best, totals = math.inf, None
    for _ in range(runs):
        started = time.perf_counter()
        totals = naive_totals(base, scenarios, days, substeps)
        best = min(best, time.perf_counter() - started)
    return {"seconds": best, "totals": totals}


def grid_rows(size: int, days: int, substeps: int, runs: int, cap: float) -> list[dict[str, Any]]:
    base = grid_base()
    rows = []
    for name, scenarios in scenario_grids(size).items():
        row: dict[str, Any] = {"grid": name, "scenarios": len(scenarios), "days": days, "substeps": substeps}
        results = {}
        for contender, job in (
            ("compare", lambda s=scenarios: time_compare(base, s, days, substeps, None, runs)),
            ("compare_1_thread", lambda s=scenarios: time_compare(base, s, days, substeps, 1, runs)),
            ("naive", lambda s=scenarios: time_naive(base, s, days, substeps, runs)),
        ):
            status, value, _ = capped(job, cap)
            if status != "ok":
                row[f"{contender}_note"] = f"{status} {value or ''}".strip()
                continue
            results[contender] = value
            row[f"{contender}_s"] = value["seconds"]
            print(f"  {name} grid, {contender}: {fmt_time(value['seconds'])}", flush=True)
        if "compare" in results:
            row["paths"] = results["compare"]["paths"]
        if "naive" in results:
            for contender in ("compare", "compare_1_thread"):
                if contender in results:
                    row[f"naive_over_{contender}"] = results["naive"]["seconds"] / results[contender]["seconds"]
            if "compare" in results:
                ours, theirs = results["compare"]["totals"], results["naive"]["totals"]
                row["max_rel_diff"] = float((np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300)).max())
                row["agree"] = row["max_rel_diff"] <= AGREE
        rows.append(row)
    return rows


# -- 3. the strategy optimisation ----------------------------------------------------------
CART = "abandoned cart"


def optimisation_base(visitors: float) -> Base:
    channels = [fk.Channel("search", share=0.6, cost_per_visitor=0.5),
                fk.Channel("social", share=0.4, cost_per_visitor=0.3)]
    plan = fk.TrafficPlan(visitors, channels=channels, weekly=[1, 1, 1, 1, 1, 1.3, 1.3])
    return Base(fk.examples.shop_funnel(), plan, fk.strategies.must_have(), fk.Economics(margin=0.3))


def optimisation_space() -> dict[str, list[Any]]:
    """5 x 5 x 2 x 2 = 100: the reminder's and the offer's delays, the offer's discount, e-mail
    or SMS, on or off (last, so that the other axes edit the trigger before it goes)."""
    delays = [("10min", "12h"), ("20min", "24h"), ("1h", "24h"), ("1h", "48h"), ("4h", "72h")]
    return {
        "delays": [[TriggerDelay(CART, after=first, step=1), TriggerDelay(CART, after=offer, step=2)]
                   for first, offer in delays],
        "discount": [TriggerDiscount(CART, d, step=2) for d in (0.0, 0.05, 0.1, 0.15, 0.2)],
        "channel": [None, fk.changes.MessageChannel(CART, "sms")],
        "cart": [None, TriggerOff(CART)],
    }


def time_optimize(base: Base, space: dict[str, list[Any]], days: int, replicates: int,
                  seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = fk.optimize_strategy(base, space, horizon=f"{days}D", replicates=replicates, seed=seed, progress=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "names": list(result.table.index), "objective": result.table["objective"].to_numpy(),
            "best": result.best.name, "simulations": int(result.timing["evaluations"]),
            "distinct": int(result.table["same_as"].isna().sum())}


def time_simulate_loop(base: Base, space: dict[str, list[Any]], days: int, replicates: int,
                       seed: int) -> dict[str, Any]:
    """What a user writes without optimize_strategy: simulate the base and every candidate
    with the same replicates and seed, keep the one with the highest mean profit."""
    started = time.perf_counter()
    candidates = grid("candidate", **space)
    runs = {}
    for name, b in [("(base)", base), *((c.name, c.apply(base)) for c in candidates)]:
        runs[name] = fk.simulate(b.funnel, b.traffic, b.strategy, horizon=f"{days}D", replicates=replicates,
                                 seed=seed, economics=b.economics, progress=False).replicate_totals
    profit = np.array([runs[c.name]["profit"].mean() for c in candidates])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "names": [c.name for c in candidates], "objective": profit,
            "best": candidates[int(np.argmax(profit))].name, "simulations": len(runs)}


def optimisation_row(visitors: float, days: int, replicates: int, seed: int, cap: float) -> dict[str, Any]:
    base, space = optimisation_base(visitors), optimisation_space()
    row: dict[str, Any] = {"candidates": math.prod(len(v) for v in space.values()), "visitors_per_day": visitors,
                           "days": days, "replicates": replicates, "seed": seed}
    results = {}
    for contender, job in (("optimize", lambda: time_optimize(base, space, days, replicates, seed)),
                           ("loop", lambda: time_simulate_loop(base, space, days, replicates, seed))):
        status, value, _ = capped(job, cap)
        if status != "ok":
            row[f"{contender}_note"] = f"{status} {value or ''}".strip()
            continue
        results[contender] = value
        row |= {f"{contender}_s": value["seconds"], f"{contender}_simulations": value["simulations"],
                f"{contender}_best": value["best"]}
        print(f"  {contender}: {fmt_time(value['seconds'])}, {value['simulations']} simulations", flush=True)
    if "optimize" in results:
        row["distinct_candidates"] = results["optimize"]["distinct"]
    for contender, value in results.items():
        print(f"  {contender}'s best: {value['best']}")
    if len(results) == 2:
        ours, theirs = results["optimize"], results["loop"]
        row["loop_over_optimize"] = theirs["seconds"] / ours["seconds"]
        row["same_order"] = ours["names"] == theirs["names"]
        row["max_abs_diff"] = float(np.abs(ours["objective"] - theirs["objective"]).max())
        row["same_best"] = ours["best"] == theirs["best"]
        row["agree"] = row["same_order"] and row["same_best"] and row["max_abs_diff"] == 0.0
    return row


def optimisation_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        body.append([f"{r['candidates']}", f"{r['visitors_per_day']:,.0f}", f"{r['days']}", f"{r['replicates']}",
                     fmt_time(r.get("optimize_s")) or r.get("optimize_note", ""),
                     f"{r.get('optimize_simulations', '')}",
                     fmt_time(r.get("loop_s")) or r.get("loop_note", ""), f"{r.get('loop_simulations', '')}",
                     fmt_ratio(r.get("loop_over_optimize")), str(r.get("same_best", "")),
                     f"{r['max_abs_diff']:.0e}" if "max_abs_diff" in r else ""])
    return markdown(["candidates", "visitors a day", "days", "replicates", "optimize_strategy", "simulations",
                     "simulate loop", "simulations", "loop / optimize", "same best", "max diff of mean profits"],
                    body, left=0)


# -- reporting ---------------------------------------------------------------------------
def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def fmt_ratio(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def markdown(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    rule = "|" + "|".join(":---" if i < left else "---:" for i in range(len(header))) + "|"
    return "\n".join(["| " + " | ".join(header) + " |", rule] + ["| " + " | ".join(r) + " |" for r in rows])


def path_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        body.append([r["funnel"], str(r["stages"]), str(r["transitions"]), r["horizon"], f"{r['steps']:,}",
                     fmt_time(r.get("funnelkit_s")), fmt_time(r.get("engine_s")), fmt_time(r.get("numpy_s")),
                     fmt_ratio(r.get("ratio_call")), fmt_ratio(r.get("ratio_engine")),
                     f"{r['max_rel_diff']:.0e}" if "max_rel_diff" in r else r.get("note", ""),
                     f"{r['max_diff_over_peak']:.0e}" if "max_diff_over_peak" in r else "",
                     f"{r['max_diff_over_largest']:.0e}" if "max_diff_over_largest" in r else ""])
    return markdown(["funnel", "stages", "transitions", "horizon", "fine steps", "funnelkit", "engine", "NumPy",
                     "NumPy / funnelkit", "NumPy / engine", "max rel. diff", "max diff / stage peak",
                     "max diff / largest entry"], body, left=1)


def grid_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        body.append([r["grid"], f"{r['scenarios']:,}", f"{r.get('paths', math.nan):,.0f}",
                     fmt_time(r.get("compare_s")) or r.get("compare_note", ""),
                     fmt_time(r.get("compare_1_thread_s")) or r.get("compare_1_thread_note", ""),
                     fmt_time(r.get("naive_s")) or r.get("naive_note", ""),
                     fmt_ratio(r.get("naive_over_compare")), fmt_ratio(r.get("naive_over_compare_1_thread")),
                     f"{r['max_rel_diff']:.0e}" if "max_rel_diff" in r else ""])
    return markdown(["grid", "scenarios", "paths", "compare_scenarios", "compare, 1 thread", "naive loop",
                     "naive / compare", "naive / compare (1 thread)", "max rel. diff"], body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", action="store_true", help="add a 50-stage loop and a two-year horizon; optimise over a year (the grid stays the same)")
    parser.add_argument("--substeps", type=int, default=24, help="fine steps per day (default 24, the path's)")
    parser.add_argument("--runs", type=int, default=3, help="runs per path contender, the best counts (default 3)")
    parser.add_argument("--grid-runs", type=int, default=1, help="runs per grid contender (default 1)")
    parser.add_argument("--grid-size", type=int, default=10, help="values per grid axis (default 10: 1,000)")
    parser.add_argument("--grid-days", type=int, default=90, help="the grid's horizon in days (default 90)")
    parser.add_argument("--parts", default="path,grid,optimisation",
                        help="comma-separated: path, grid, optimisation")
    parser.add_argument("--opt-replicates", type=int, default=20, help="the optimisation's replicates (default 20)")
    parser.add_argument("--opt-visitors", type=float, default=2_000.0,
                        help="the optimisation's visitors a day (default 2,000)")
    parser.add_argument("--cap", type=float, default=600.0, help="stop a contender after this many seconds")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default benchmarks/results/forecast-<default|large>.json)")
    args = parser.parse_args()
    # expected_path adds its columns one by one: pandas warns from about 50 stages on
    warnings.filterwarnings("ignore", category=pd.errors.PerformanceWarning)
    parts = {p.strip() for p in args.parts.split(",")}
    info = machine_info()
    load_before = os.getloadavg()
    print(f"{info['cpu']}, {info['usable_cores']} usable cores of {info['cpu_count']}; Python {info['python']}, "
          f"funnelkit {info['funnelkit']}, NumPy {info['numpy']}")
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in load_before)}\n")

    funnels: dict[str, Callable[[], fk.Funnel]] = {"shop": fk.examples.shop_funnel,
                                                    "loop of 20": lambda: npth.looped_funnel(20)}
    horizons = {"quarter": 90, "year": 365}
    if args.large:
        funnels["loop of 50"] = lambda: npth.looped_funnel(50)
        horizons["two years"] = 730
    path: list[dict[str, Any]] = []
    grids: list[dict[str, Any]] = []
    if "path" in parts:
        print(f"1. The expected-value path, {args.substeps} substeps a day, best of {args.runs}:")
        path = path_rows({k: make() for k, make in funnels.items()}, horizons, args.substeps, args.runs, args.cap)
        print("\n" + path_table(path) + "\n")
    if "grid" in parts:
        print(f"2. What-if grids over {args.grid_days} days, best of {args.grid_runs}:")
        grids = grid_rows(args.grid_size, args.grid_days, args.substeps, args.grid_runs, args.cap)
        print("\n" + grid_table(grids) + "\n")
    optimisation: list[dict[str, Any]] = []
    if "optimisation" in parts:
        days = 365 if args.large else 90
        print(f"3. A 100-point strategy optimisation over {days} days, {args.opt_replicates} replicates:")
        optimisation = [optimisation_row(args.opt_visitors, days, args.opt_replicates, 0, args.cap)]
        print("\n" + optimisation_table(optimisation) + "\n")
    problems = [f"path {r['funnel']}, {r['horizon']}" for r in path if r.get("agree") is False]
    problems += [f"grid {r['grid']}" for r in grids if r.get("agree") is False]
    problems += ["optimisation" for r in optimisation if r.get("agree") is False]
    for problem in problems:
        print(f"DISAGREEMENT (> {AGREE:g}): {problem}")
    if not problems:
        print(f"Every contender agrees within {AGREE:g} (paths: of the largest daily entry; grids: relative; "
              f"the optimisation: exactly, and on the best).")
    load_after = os.getloadavg()
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in load_after)}")

    out = args.json or HERE / "results" / f"forecast-{'large' if args.large else 'default'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "bench_forecast", "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": info, "load_before": load_before, "load_after": load_after, "options": vars(args) | {
            "json": str(out)}, "path": path, "grid": grids, "optimisation": optimisation,
        "disagreements": problems,
    }
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(json_ready(document), indent=2, allow_nan=False) + "\n")
    partial.rename(out)
    print(f"written: {out.relative_to(HERE.parent) if out.is_relative_to(HERE.parent) else out}")


if __name__ == "__main__":
    main()
