"""funnelkit against NumPy and SciPy on four funnel shapes, build and analysis timed apart.

Shapes (benchmarks/shapes.py): banded (each stage -> a few of the next ~20, some back),
random expander (3 random targets anywhere), hub and spoke (20 hubs, power-law degrees) and
small dense (channel attribution). Every funnel is built from the same pandas edge table:

    funnelkit   fk.Funnel.from_edges(table, success=["paid"], failure=["lost"], values={"paid": 50.0})
    SciPy       the transient block Q and the absorbing block R as a CSR matrix from the table

Tasks, each from a fresh funnel and a fresh ``analyze()`` (so nothing is cached between runs):

    cheap    analyze(); success_probability, expected_value, expected_time, expected_steps,
             absorption()  vs  B = N R, the entry's success, value and expected steps
    reach    stages()["reached"] (or analyze().reach())  vs  N[e, j] / N[j, j] for every j
    removal  removal_effects()  vs  conversions lost = reach_j * B[j, paid] for every j

Contenders: NumPy dense (``solve``/``inv``, up to 2,000 stages), SciPy ``splu`` and SciPy
``gmres`` preconditioned with ``spilu``. Reach and removal need diag((I - Q)^-1): the plain
SciPy way solves column by column; when that would take longer than --column-budget, a part of
the columns is solved and the total extrapolated ("est."). Each measurement runs in a forked
worker that is stopped at --cap ("> 30 s"); sizes whose time, extrapolated from the smaller
sizes, would pass the cap are "skipped". BLAS and funnelkit both use every core
(--blas-threads to change BLAS's). Times are the best of several runs; ratios are contender /
funnelkit (higher means funnelkit is faster). "max |diff|" is the largest difference to
funnelkit over every contender and number compared (probabilities absolute, value and steps
relative). Funnels have no holding times, so expected_time is 0; expected_steps stands in.

    python benchmarks/bench_shapes.py                 # 10 ... 10,000 stages, a few minutes
    python benchmarks/bench_shapes.py --large         # adds 100,000 stages (cap 120 s)
    python benchmarks/bench_shapes.py --quick         # up to 1,000 stages (development)
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from shapes import FAILURE, SHAPES, SUCCESS
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm import tqdm
from workers import capped, cpu_model, usable_cores

import funnelkit as fk

DENSE_LIMIT = 2_000  # dense is O(n^3) time and O(n^2) memory: minutes and gigabytes beyond
ORDER_VALUE = 50.0
SIZES = {"banded": [10, 100, 1_000, 10_000], "expander": [10, 100, 1_000, 10_000], "hub": [10, 100, 1_000, 10_000]}
SIZES["dense"] = [10, 20, 50]
TIMES = "\N{MULTIPLICATION SIGN}"
LARGE = 100_000  # --large adds it to banded, expander and hub
TASKS = ("cheap", "reach", "removal")
CONTENDERS = ("numpy", "splu", "gmres")
TITLES = {
    "funnelkit": "funnelkit",
    "numpy": "NumPy dense",
    "splu": "SciPy splu",
    "gmres": "SciPy gmres+ILU",
}


# -- the same numbers, the plain NumPy/SciPy way ------------------------------------------
@dataclass
class Chain:
    """The absorbing chain of an edge table: Q (transient block), R (to paid, lost and the
    row remainder), the transient stage names and the entry's row."""

    q: sp.csr_matrix
    r: np.ndarray
    absorbing: list[str]
    names: pd.Index
    entry: int

    @property
    def size(self) -> int:
        return int(self.q.shape[0])

    def system(self) -> sp.csc_matrix:
        return (sp.identity(self.size, format="csc") - self.q).tocsc()


def chain_from_edges(table: pd.DataFrame) -> Chain:
    """What a user would write: stage indices from the table, Q and R as matrices."""
    stages = pd.unique(pd.concat([table["source"], table["target"]], ignore_index=True))
    names = pd.Index(stages[~np.isin(stages, [SUCCESS, FAILURE])])
    source = names.get_indexer(table["source"])
    target = names.get_indexer(table["target"])
    p = table["probability"].to_numpy(dtype=float)
    n = len(names)
    inside = target >= 0
    q = sp.csr_matrix((p[inside], (source[inside], target[inside])), shape=(n, n))
    r = np.zeros((n, 3))
    for column, name in enumerate((SUCCESS, FAILURE)):
        rows = (table["target"] == name).to_numpy()
        np.add.at(r[:, column], source[rows], p[rows])
    r[:, 2] = np.maximum(0.0, 1.0 - np.asarray(q.sum(axis=1)).ravel() - r[:, :2].sum(axis=1))
    return Chain(q, r, [SUCCESS, FAILURE, "dropped"], names, int(names.get_loc(table["source"].iloc[0])))


# gmres' tolerance argument was called tol before SciPy 1.12.
_RTOL = "rtol" if "rtol" in inspect.signature(spla.gmres).parameters else "tol"


class Unfinished(Exception):
    """An iterative solve did not converge."""


def _gmres(a: sp.csc_matrix) -> Callable[[np.ndarray], np.ndarray]:
    ilu = spla.spilu(a)
    preconditioner = spla.LinearOperator(a.shape, ilu.solve)

    def solve(b: np.ndarray) -> np.ndarray:
        x, info = spla.gmres(a, b, M=preconditioner, atol=0.0, **{_RTOL: 1e-12})
        if info != 0:
            raise Unfinished(f"gmres info={info}")
        return np.asarray(x)

    return solve


def _solver(kind: str, c: Chain) -> Callable[[np.ndarray], np.ndarray]:
    """x = (I - Q)^-1 b for a vector or a block of columns."""
    if kind == "numpy":
        dense = np.eye(c.size) - c.q.toarray()
        return lambda b: np.linalg.solve(dense, b)
    if kind == "splu":
        return spla.splu(c.system()).solve
    one = _gmres(c.system())
    return lambda b: one(b) if b.ndim == 1 else np.column_stack([one(b[:, k]) for k in range(b.shape[1])])


@dataclass
class Partial:
    """A column loop stopped at its budget: ``solved`` of ``total`` columns in ``seconds``."""

    solved: int
    total: int
    seconds: float

    def extrapolate(self, elapsed: float) -> float:
        return elapsed + self.seconds * (self.total / self.solved - 1.0)


def _reach(kind: str, c: Chain, budget: float) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray], Partial | None]:
    """reach_j = N[e, j] / N[j, j] from column j of N = (I - Q)^-1 e_j (NaN where not solved)."""
    n = c.size
    if kind == "numpy":
        inverse = np.linalg.inv(np.eye(n) - c.q.toarray())
        return inverse[c.entry] / np.diag(inverse), lambda b: inverse @ b, None
    solve = _solver(kind, c)
    reach = np.full(n, np.nan)
    block = 64 if kind == "splu" else 1  # splu solves a block of columns at once
    start = time.perf_counter()
    for first in range(0, n, block):
        columns = np.arange(first, min(n, first + block))
        unit = np.zeros((n, columns.size))
        unit[columns, np.arange(columns.size)] = 1.0
        x = solve(unit)
        reach[columns] = x[c.entry] / x[columns, np.arange(columns.size)]
        spent = time.perf_counter() - start
        if spent > budget and columns[-1] + 1 < n:
            return reach, solve, Partial(int(columns[-1]) + 1, n, spent)
    return reach, solve, None


def contender_cheap(kind: str, c: Chain, budget: float) -> tuple[dict[str, Any], Partial | None]:
    x = _solver(kind, c)(np.column_stack([c.r, np.ones(c.size)]))
    b = x[:, :3]
    success = float(b[c.entry, 0])
    return {"absorption": b, "success": success, "value": ORDER_VALUE * success, "steps": float(x[c.entry, 3])}, None


def contender_reach(kind: str, c: Chain, budget: float) -> tuple[dict[str, Any], Partial | None]:
    reach, _, partial = _reach(kind, c, budget)
    return {"reach": reach}, partial


def contender_removal(kind: str, c: Chain, budget: float) -> tuple[dict[str, Any], Partial | None]:
    reach, solve, partial = _reach(kind, c, budget)
    success_from = solve(c.r[:, 0])
    return {"lost": reach * success_from}, partial


CONTENDER_TASKS = {"cheap": contender_cheap, "reach": contender_reach, "removal": contender_removal}


# -- funnelkit ------------------------------------------------------------------------------
def build(table: pd.DataFrame) -> fk.Funnel:
    return fk.Funnel.from_edges(table, success=[SUCCESS], failure=[FAILURE], values={SUCCESS: ORDER_VALUE})


def _series(result: Any, names: list[str]) -> pd.Series:
    """A reach result as a Series by stage, whatever shape ``reach()`` returns."""
    if hasattr(result, "to_pandas"):
        result = result.to_pandas()
    if isinstance(result, pd.DataFrame):
        result = result["reached"] if "reached" in result.columns else result.iloc[:, 0]
    if isinstance(result, pd.Series):
        return result
    return pd.Series(np.asarray(result, dtype=float), index=names)


def funnelkit_cheap(f: fk.Funnel) -> dict[str, Any]:
    a = f.analyze()
    return {
        "success": a.success_probability,
        "value": a.expected_value,
        "time": a.expected_time,
        "steps": a.expected_steps,
        "absorption": a.absorption().to_pandas(),
    }


def funnelkit_reach(f: fk.Funnel) -> dict[str, Any]:
    a = f.analyze()
    if hasattr(a, "reach"):
        return {"reach": _series(a.reach(), a.stage_names)}
    return {"reach": a.stages().to_pandas()["reached"]}


def funnelkit_removal(f: fk.Funnel) -> dict[str, Any]:
    return {"lost": f.analyze().removal_effects().to_pandas()["conversions_lost"]}


FUNNELKIT_TASKS = {"cheap": funnelkit_cheap, "reach": funnelkit_reach, "removal": funnelkit_removal}


def difference(task: str, ours: dict[str, Any], theirs: dict[str, Any], c: Chain) -> float:
    """Largest difference over the numbers the contender computed (NaN: not computed)."""
    if task == "cheap":
        table = ours["absorption"]
        columns = [k for k, name in enumerate(c.absorbing) if name in table.columns]
        mine = table.loc[c.names, [c.absorbing[k] for k in columns]].to_numpy()
        diffs = [np.max(np.abs(mine - theirs["absorption"][:, columns]), initial=0.0)]
        diffs.append(abs(ours["success"] - theirs["success"]))
        diffs += [abs(ours[k] - theirs[k]) / max(1.0, abs(theirs[k])) for k in ("value", "steps")]
        return float(max(diffs))
    key = "reach" if task == "reach" else "lost"
    mine = ours[key].loc[c.names].to_numpy(dtype=float)
    other = theirs[key]
    solved = ~np.isnan(other)
    return float(np.max(np.abs(mine[solved] - other[solved]), initial=0.0))


# -- timing ------------------------------------------------------------------------------
@dataclass
class Cell:
    seconds: float = math.nan
    note: str = ""  # "est.", "skipped", "failed: ..."


def repeat(run: Callable[[], float], budget: float, max_repeats: int = 10) -> float:
    """Best of several timed runs; ``run`` returns the seconds of its timed part."""
    best, spent, count = math.inf, 0.0, 0
    while count < max_repeats and (count == 0 or spent < budget):
        started = time.perf_counter()
        best = min(best, run())
        spent += time.perf_counter() - started
        count += 1
    return best


class Skipper:
    """Skips a (shape, contender, task) whose time, extrapolated from the smaller sizes of the
    same shape, passes the cap: t(n) = t(n_last) * (n / n_last)^power, the power observed
    between the last two sizes (1 to 3; 1.5 while too few or too short runs say nothing)."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.history: dict[tuple[str, str, str], list[tuple[int, float]]] = {}

    def predict(self, key: tuple[str, str, str], n: int, power: float | None = None) -> float:
        points = self.history.get(key, [])
        if not points:
            return 0.0
        n1, t1 = points[-1]
        if math.isnan(t1):
            return math.inf  # skipped or failed at a smaller size: hopeless here too
        if power is None:
            power = 1.5
            if len(points) >= 2 and points[-2][1] >= 0.005 and t1 >= 0.005:
                n0, t0 = points[-2]
                power = min(3.0, max(1.0, math.log(t1 / t0) / math.log(n1 / n0)))
        return t1 * (n / n1) ** power

    def skip(self, key: tuple[str, str, str], n: int, power: float | None = None) -> bool:
        return self.predict(key, n, power) > self.cap

    def record(self, key: tuple[str, str, str], n: int, seconds: float) -> None:
        self.history.setdefault(key, []).append((n, seconds))


@dataclass
class Row:
    shape: str
    stages: int
    edges: int
    task: str
    cells: dict[str, Cell]
    diff: float = math.nan


def measure(shape: str, n: int, args: argparse.Namespace, skipper: Skipper, progress: tqdm) -> list[Row]:
    """Every task on one funnel: funnelkit (each run from a fresh Funnel.from_edges), then the
    contenders on the matrices built once from the same table; each in a worker stopped at
    the cap."""
    table = SHAPES[shape](n, seed=0)
    chain_times: list[float] = []

    def build_chain() -> float:
        started = time.perf_counter()
        chain_from_edges(table)
        chain_times.append(time.perf_counter() - started)
        return chain_times[-1]

    repeat(build_chain, args.budget)
    chain = chain_from_edges(table)
    builds: list[float] = []
    build_hopeless = skipper.skip((shape, "funnelkit", "build"), n)
    skip_funnelkit = build_hopeless
    stopped = f"> {args.cap:g} s"
    rows: list[Row] = []
    for task in args.tasks:
        cells = {name: Cell() for name in ("funnelkit", *CONTENDERS)}
        ours: dict[str, Any] | None = None
        key = (shape, "funnelkit", task)
        progress.set_postfix_str(f"{shape} {n:,} {task}: funnelkit")
        if skip_funnelkit or skipper.skip(key, n):
            cells["funnelkit"].note = "skipped"
        else:

            def ours_job(task: str = task) -> tuple[float, list[float], dict[str, Any]]:
                times: list[float] = []
                result: dict[str, Any] = {}

                def run() -> float:
                    nonlocal result
                    started = time.perf_counter()
                    funnel = build(table)  # a fresh funnel: nothing compiled or cached yet
                    built = time.perf_counter()
                    result = FUNNELKIT_TASKS[task](funnel)
                    times.append(built - started)
                    return time.perf_counter() - built

                return repeat(run, args.budget), times, result

            status, value, _ = capped(ours_job, args.cap)
            if status == "ok":
                cells["funnelkit"].seconds, times, ours = value
                builds += times
            else:
                cells["funnelkit"].note = stopped if status == "stopped" else f"failed: {value}"
                skip_funnelkit = status == "stopped"  # every task starts with analyze()
        skipper.record(key, n, cells["funnelkit"].seconds)

        diffs = []
        for kind in CONTENDERS:
            progress.set_postfix_str(f"{shape} {n:,} {task}: {kind}")
            cell = cells[kind]
            key = (shape, kind, task)
            if kind == "numpy":
                hopeless = n > DENSE_LIMIT or skipper.skip(key, n, power=3.0)
            elif task == "cheap":
                hopeless = skipper.skip(key, n)
            else:  # the column loop stops at its budget; what can explode is the factorisation
                cheap = skipper.history.get((shape, kind, "cheap"), [(0, 0.0)])[-1]
                hopeless = cheap[0] == n and math.isnan(cheap[1])
            if hopeless:
                cell.note = "skipped"
                skipper.record(key, n, math.nan)
                continue

            def theirs_job(task: str = task, kind: str = kind) -> tuple[float, dict[str, Any], bool]:
                result: dict[str, Any] = {}
                partial: Partial | None = None

                def run() -> float:
                    nonlocal result, partial
                    started = time.perf_counter()
                    result, partial = CONTENDER_TASKS[task](kind, chain, args.column_budget)
                    elapsed = time.perf_counter() - started
                    return partial.extrapolate(elapsed) if partial else elapsed

                return repeat(run, args.budget), result, partial is not None

            status, value, _ = capped(theirs_job, args.cap)
            if status == "ok":
                cell.seconds, theirs, estimated = value
                cell.note = "est." if estimated else ""
                if ours is not None:
                    diffs.append(difference(task, ours, theirs, chain))
            else:
                cell.note = stopped if status == "stopped" else f"failed: {value}"
            skipper.record(key, n, cell.seconds)
        rows.append(Row(shape, n, len(table), task, cells, max(diffs) if diffs else math.nan))

    build_cells = {name: Cell() for name in ("funnelkit", *CONTENDERS)}
    if build_hopeless:
        build_cells["funnelkit"].note = "skipped"
    elif builds:
        build_cells["funnelkit"].seconds = min(builds)
    else:  # every analysis was stopped or failed: time the build alone

        def build_job() -> float:
            started = time.perf_counter()
            build(table)
            return time.perf_counter() - started

        progress.set_postfix_str(f"{shape} {n:,} build: funnelkit")
        status, value, _ = capped(build_job, args.cap)
        if status == "ok":
            build_cells["funnelkit"].seconds = value
        else:
            build_cells["funnelkit"].note = stopped if status == "stopped" else f"failed: {value}"
    skipper.record((shape, "funnelkit", "build"), n, build_cells["funnelkit"].seconds)
    build_cells["splu"].seconds = min(chain_times)
    rows.insert(0, Row(shape, n, len(table), "build", build_cells))
    return rows


# -- report -------------------------------------------------------------------------------
def show_time(cell: Cell) -> str:
    if cell.note and cell.note != "est.":
        return cell.note
    s = cell.seconds
    if math.isnan(s):
        return "—"
    ms = s * 1e3
    text = f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"
    return f"{text} est." if cell.note == "est." else text


def show_ratio(cell: Cell, ours: Cell) -> str:
    if cell.note not in ("", "est.") or math.isnan(cell.seconds) or math.isnan(ours.seconds) or ours.seconds <= 0:
        return "—"
    r = cell.seconds / ours.seconds
    return (f"{r:.2g}" if r < 1 else f"{r:.1f}" if r < 10 else f"{r:,.0f}") + TIMES


def table_rows(rows: Iterable[Row]) -> tuple[list[str], list[list[str]]]:
    header = ["shape", "stages", "edges", "task", TITLES["funnelkit"]]
    for kind in CONTENDERS:
        header += [TITLES[kind], TIMES]
    header.append("max |diff|")
    body = []
    for row in rows:
        line = [row.shape, f"{row.stages:,}", f"{row.edges:,}", row.task, show_time(row.cells["funnelkit"])]
        for kind in CONTENDERS:
            cell = row.cells[kind]
            if row.task == "build":
                line += [show_time(cell) if kind == "splu" else "", show_ratio(cell, row.cells["funnelkit"])]
            else:
                line += [show_time(cell), show_ratio(cell, row.cells["funnelkit"])]
        line.append("" if math.isnan(row.diff) else f"{row.diff:.0e}")
        body.append(line)
    return header, body


def print_plain(rows: list[Row]) -> None:
    header, body = table_rows(rows)
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for line in body:
        print("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)))


def print_markdown(rows: list[Row]) -> None:
    header, body = table_rows(rows)
    print("| " + " | ".join(h.replace("|", "\\|") for h in header) + " |")
    print("|" + "|".join(":---" if k < 1 or k == 3 else "---:" for k in range(len(header))) + "|")
    for line in body:
        print("| " + " | ".join(line) + " |")


def machine(blas_threads: int) -> str:
    model, usable = cpu_model(), usable_cores()
    pools = threadpool_info()
    blas = ", ".join(sorted({f"{p['internal_api']} {p['version']}" for p in pools if p["user_api"] == "blas"}))
    return (
        f"{model}, {usable} usable cores of {os.cpu_count()}; Python {platform.python_version()}, "
        f"funnelkit {fk.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}, pandas {pd.__version__}; "
        f"BLAS {blas or 'unknown'} on {blas_threads} thread(s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", action="store_true", help=f"also run {LARGE:,} stages (banded, expander, hub)")
    parser.add_argument("--quick", action="store_true", help="only sizes up to 1,000 (while developing)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated, from: " + ", ".join(SHAPES))
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated, from: " + ", ".join(TASKS))
    parser.add_argument("--sizes", help="comma-separated stage counts for every shape (instead of the defaults)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per timing (default 1)")
    parser.add_argument(
        "--cap", type=float, help="stop (or skip) what takes longer than this many seconds (default 30, --large 120)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=os.cpu_count() or 1,
        help="threads for NumPy/SciPy's BLAS (default: every core, as funnelkit uses them)",
    )
    parser.add_argument(
        "--column-budget", type=float, default=3.0, help="seconds of column-by-column solves before extrapolating"
    )
    args = parser.parse_args()
    if args.cap is None:
        args.cap = 120.0 if args.large else 30.0
    shapes = [s for s in args.shapes.split(",") if s]
    args.tasks = [t for t in args.tasks.split(",") if t]
    for chosen, known in ((shapes, SHAPES), (args.tasks, TASKS)):
        unknown = set(chosen) - set(known)
        if unknown:
            parser.error(f"unknown {sorted(unknown)}; choose from {', '.join(known)}")
    jobs = []
    for shape in shapes:
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES[shape])
        if args.large and shape != "dense" and not args.sizes:
            sizes.append(LARGE)
        if args.quick:
            sizes = [n for n in sizes if n <= 1_000]
        jobs += [(shape, n) for n in sizes]

    print(f"Machine: {machine(args.blas_threads)}")
    skipper = Skipper(args.cap)
    rows: list[Row] = []
    tqdm.monitor_interval = 0  # no monitor thread: the workers are forked
    with threadpool_limits(limits=args.blas_threads), tqdm(jobs, desc="shapes x sizes", unit="funnel") as progress:
        for shape, n in progress:
            rows += measure(shape, n, args, skipper, progress)
    print()
    print_plain(rows)
    print(
        "\nbuild: Funnel.from_edges vs pandas -> scipy.sparse CSR of Q and R. cheap: analyze() and its summary"
        " numbers with absorption() vs solves of (I - Q) X = [R, 1]. reach and removal: vs diag((I - Q)^-1)"
        " column by column ('est.': extrapolated from the columns solved within --column-budget)."
        f" NumPy dense only up to {DENSE_LIMIT:,} stages. '> {args.cap:g} s': stopped at --cap;"
        " 'skipped': predicted beyond it from the smaller sizes."
    )
    print("\nMarkdown (for benchmarks/README.md):\n")
    print(f"Machine: {machine(args.blas_threads)}\n")
    print_markdown(rows)


if __name__ == "__main__":
    main()
