"""What-if scenarios side by side: each scenario's expected totals over a horizon and its delta
against the base, exactly from the expected-value path, and (with ``replicates`` > 0) the
simulated paired delta with a t-based 95% interval under common random numbers.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.base import Base
    >>> from funnelkit.forecasting.changes import EdgeProbability, Margin
    >>> from funnelkit.forecasting.compare import compare_scenarios
    >>> from funnelkit.forecasting.scenario import Scenario
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("cart")
    ...           .add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))
    >>> base = Base(funnel, fk.TrafficPlan(1_000))
    >>> comparison = compare_scenarios(base, [Scenario("better cart", [EdgeProbability("cart", "paid", factor=1.1)]),
    ...                                       Scenario("margin 40%", [Margin(0.4)])], horizon="30D")
    >>> round(float(comparison.table.loc[("better cart", "purchases"), "delta_pct"]), 6)   # +10% of the purchases
    10.0
    >>> round(float(comparison.table.loc[("margin 40%", "profit"), "delta"]), 6)       # 0.1 x 30 days x 60 x 50
    9000.0

Totals (the analytic columns ``base``, ``value``, ``delta``, ``delta_pct``) follow
:func:`funnelkit.forecasting.forecast.forecast`: over the horizon's days, ``arrivals`` = the
plan's expected visitors, ``purchases`` = expected entries into stages with a positive value,
``revenue`` = Σ entries x stage value (undiscounted), ``margin`` = margin rate x revenue,
``traffic_cost`` = Σ arrivals per channel x cost per visitor, ``message_cost`` = expected
messages x their cost, ``profit`` = margin - traffic cost - message cost. delta = value -
base, delta_pct = 100 x delta / base (NaN where base is 0).

The expected path is linear in the arrivals (each lead moves independently of the others), so
scenarios that share a funnel structure, strategy and daily traffic shape share one path,
scaled by their traffic: stage values, margins, costs and traffic levels cost no new path
(a 1,000-scenario grid runs in seconds).

With ``replicates`` = R > 0 the base and every scenario are also simulated with the same
``seed`` (common random numbers: the same arrivals and journeys until a change alters them);
per replicate r the difference d_r = scenario total - base total, and ``simulated_delta`` =
mean d, ``low``/``high`` = mean d ± t(0.975, R - 1) x sd(d) / √R. The simulated profit also
pays the strategy's messages and discounts, which the path leaves out.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.errors import UnknownDistributionError
from funnelkit.forecasting._path_strategy import PathPlan, path_plan
from funnelkit.forecasting._totals import simulated_totals
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.forecast import FLOWS, run_window
from funnelkit.forecasting.scenario import Scenario
from funnelkit.simulation._durations import Duration, day_length, to_units
from funnelkit.simulation.results import _paired
from funnelkit.simulation.run import _positive_int, _start

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from funnelkit.funnel import Funnel

__all__ = ["ScenarioComparison", "compare_scenarios"]

#: The columns of :attr:`ScenarioComparison.table`.
COLUMNS = ("base", "value", "delta", "delta_pct", "simulated_delta", "sd", "low", "high")


@dataclass(frozen=True, eq=False)
class ScenarioComparison:
    """Scenarios against their base (made by :func:`compare_scenarios`).

    ``table`` is tidy: one row per (scenario, metric), columns ``base`` and ``value`` (expected
    totals over the horizon), ``delta`` and ``delta_pct`` (against the base), and from the
    simulation (NaN without replicates) ``simulated_delta``, ``sd``, ``low``, ``high`` (the
    paired mean difference, its sd across replicates and its t-based 95% interval).
    ``totals`` is wide: one row per scenario (the base first, named ``"base"`` unless a
    scenario has that name), one column per metric, the expected totals.
    """

    table: pd.DataFrame
    totals: pd.DataFrame
    scenarios: tuple[Scenario, ...]
    horizon: Duration
    replicates: int
    seed: int
    #: Per scenario (and the base), one row per replicate: the simulated totals.
    replicate_totals: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    #: Seconds spent: ``paths`` (expected paths computed), ``cached`` (scenarios served by a
    #: shared path), ``analytic_s``, ``simulation_s``.
    timing: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> list[str]:
        return list(self.totals.columns)

    def wide(self, column: str = "delta") -> pd.DataFrame:
        """One row per scenario, one column per metric: ``column`` of :attr:`table`; a grid's
        axes (:attr:`Scenario.axes`) come first, so a grid can be pivoted by axis."""
        if column not in COLUMNS:
            raise ValueError(f"column must be one of {', '.join(COLUMNS)}, got {column!r}")
        frame = self.table[column].unstack("metric").reindex(index=[s.name for s in self.scenarios],
                                                             columns=self.metrics)
        axes = pd.DataFrame([s.axes for s in self.scenarios], index=frame.index)
        return pd.concat([axes, frame], axis=1) if len(axes.columns) else frame

    def best(self, metric: str = "profit", n: int = 10) -> pd.DataFrame:
        """The ``n`` scenarios with the largest expected ``metric`` delta."""
        self._check_metric(metric)
        rows = self.table.xs(metric, level="metric")
        return rows.sort_values("delta", ascending=False).head(n)

    def to_pandas(self) -> pd.DataFrame:
        """The tidy :attr:`table`."""
        return self.table.copy()

    def plot(self, metric: str = "profit", ax: Axes | None = None, top: int | None = 30) -> Axes:
        """The expected ``metric`` delta of each scenario as horizontal bars (the ``top``
        largest by size; None: all), with the simulated paired delta and its 95% interval
        as points with error bars when there are replicates."""
        from funnelkit.plotting import _pyplot

        self._check_metric(metric)
        rows = self.table.xs(metric, level="metric")
        if top is not None and len(rows) > top:
            rows = rows.loc[rows["delta"].abs().sort_values(ascending=False).index[:top]]
        rows = rows.sort_values("delta")
        if ax is None:
            _, ax = _pyplot().subplots(figsize=(8, max(2.5, 0.35 * len(rows) + 1)))
        positions = np.arange(len(rows))
        ax.barh(positions, rows["delta"], color="tab:blue", alpha=0.7, label="expected delta")
        if self.replicates > 1:
            mean = rows["simulated_delta"].to_numpy(dtype=np.float64)
            error = np.vstack([mean - rows["low"].to_numpy(dtype=np.float64),
                               rows["high"].to_numpy(dtype=np.float64) - mean])
            ax.errorbar(mean, positions, xerr=error, fmt="o", color="black", capsize=3,
                        label=f"simulated delta, 95% interval ({self.replicates} replicates)")
        ax.set_yticks(positions, [str(name) for name in rows.index])
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"{metric} - base")
        ax.legend(loc="best", fontsize="small")
        return ax

    def _check_metric(self, metric: str) -> None:
        if metric not in self.metrics:
            raise ValueError(f"metric must be one of {', '.join(self.metrics)}, got {metric!r}")

    def _title(self) -> str:
        simulated = (f", {self.replicates} replicates (common random numbers, seed {self.seed})"
                     if self.replicates else "")
        return f"{len(self.scenarios)} scenarios against the base over {self.horizon}{simulated}"

    def __repr__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 12, "display.max_rows", 40):
            body = self.table.to_string(float_format=lambda x: f"{x:,.6g}", max_rows=40)
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        shown = self.table if len(self.table) <= 60 else self.table.head(60)
        more = "" if shown is self.table else f"<p>... {len(self.table) - 60} more rows (.to_pandas())</p>"
        table = shown.to_html(float_format=lambda x: f"{x:,.4g}", border=0, na_rep="")
        return f"<div><strong>{html.escape(self._title())}</strong>{table}{more}</div>"


def compare_scenarios(
    base: Base,
    scenarios: Sequence[Scenario],
    *,
    horizon: Duration = "90D",
    replicates: int = 0,
    seed: int = 0,
    metrics: Sequence[str] = ("purchases", "revenue", "profit"),
    start: object = None,
    substeps: int = 24,
    warm_up: Duration | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> ScenarioComparison:
    """Apply each scenario to ``base`` and compare its totals over ``horizon`` with the base's.

    Parameters
    ----------
    base:
        The funnel, traffic, strategy and economics every scenario changes.
    scenarios:
        The scenarios (distinct names), e.g. from :func:`~funnelkit.forecasting.scenario.grid`.
    horizon, start, substeps:
        As for :func:`~funnelkit.forecasting.path.expected_path`.
    warm_up:
        As for :func:`~funnelkit.forecasting.forecast.forecast`: the path and the simulations
        start this long before ``start`` (a shop already running) and the totals count from
        ``start``.
    replicates, seed:
        With ``replicates`` > 0, also :func:`funnelkit.simulate` the base and each scenario
        with the same seed (common random numbers) for the paired delta and its interval.
    threads:
        Expected paths computed at once (default: every core).
    metrics:
        Any of ``arrivals``, ``purchases``, ``revenue``, ``margin``, ``traffic_cost``,
        ``messages``, ``message_cost``, ``profit``.

    The formulas are in the module's docstring.
    """
    if not isinstance(base, Base):
        raise TypeError(f"compare_scenarios needs a Base, got {type(base).__name__}")
    if isinstance(scenarios, Scenario) or not isinstance(scenarios, Sequence) or not scenarios:
        raise ValueError("scenarios must be a non-empty list of Scenario")
    for k, scenario in enumerate(scenarios):
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenarios[{k}] must be a Scenario, got {type(scenario).__name__}")
    names = [s.name for s in scenarios]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        raise ValueError(f"scenario names must be distinct: {repeated!r} appears twice")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in metrics if m not in FLOWS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be some of {', '.join(FLOWS)}, got {unknown or metrics!r}")
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 0:
        raise ValueError(f"replicates must be an integer >= 0, got {replicates!r}")
    origin = _start(start)

    began = time.perf_counter()
    paths = _PathCache(horizon, origin, substeps, threads, warm_up)
    applied = [scenario.apply(base) for scenario in scenarios]
    base_totals, *totals = paths.totals([base, *applied])
    if paths.left_out:
        warnings.warn(f"the expected path leaves out {', '.join(sorted(paths.left_out))} (the simulated "
                      "columns include them)", stacklevel=2)
    analytic_s = time.perf_counter() - began
    base_name = "base" if "base" not in names else "(base)"
    wide = pd.DataFrame([base_totals, *totals], index=pd.Index([base_name, *names], name="scenario"))[metrics]

    reference = wide.iloc[0]
    rows: list[tuple[Any, ...]] = []
    for name in names:
        for metric in metrics:
            value, before = float(wide.at[name, metric]), float(reference[metric])
            delta = value - before
            pct = 100.0 * delta / before if before != 0 else math.nan
            rows.append((name, metric, before, value, delta, pct, math.nan, math.nan, math.nan, math.nan))

    replicate_totals: dict[str, pd.DataFrame] = {}
    simulation_s = 0.0
    if replicates > 0:
        began = time.perf_counter()
        for name, b in [(base_name, base), *zip(names, applied, strict=True)]:
            replicate_totals[name] = simulated_totals(b, horizon=horizon, origin=origin, warm_up=warm_up,
                                                      replicates=int(replicates), seed=seed, metrics=metrics,
                                                      progress=progress)
        simulation_s = time.perf_counter() - began
        reference_runs = replicate_totals[base_name]
        for k, (name, metric) in enumerate((n, m) for n in names for m in metrics):
            difference = (replicate_totals[name][metric] - reference_runs[metric]).to_numpy(dtype=np.float64)
            rows[k] = (*rows[k][:6], *_paired(difference))

    table = pd.DataFrame(rows, columns=["scenario", "metric", *COLUMNS]).set_index(["scenario", "metric"])
    table.attrs["not_in_path"] = sorted(paths.left_out)
    return ScenarioComparison(
        table=table, totals=wide, scenarios=tuple(scenarios), horizon=horizon, replicates=int(replicates),
        seed=int(seed), replicate_totals=replicate_totals,
        timing={"paths": float(paths.computed), "cached": float(paths.reused), "analytic_s": analytic_s,
                "simulation_s": simulation_s},
    )


class _PathCache:
    """Expected totals of bases, sharing one expected path among bases whose funnels differ
    only in stage values and whose traffic differs only in level (the path is linear in the
    arrivals: entries(c x a) = c x entries(a)). Distinct paths run on ``threads`` threads (the
    engine releases the GIL)."""

    def __init__(self, horizon: Duration, origin: pd.Timestamp, substeps: int, threads: int | None,
                 warm_up: Duration | None = None) -> None:
        self.horizon, self.origin, self.warm_up = horizon, origin, warm_up
        self.substeps = _positive_int(substeps, "substeps")
        self.threads = threads or os.cpu_count() or 1
        self.computed = 0
        self.reused = 0
        self.left_out: set[str] = set()

    def totals(self, bases: Sequence[Base]) -> list[dict[str, float]]:
        """Per base: arrivals, purchases, revenue, margin, traffic_cost, messages, message_cost
        and profit over the horizon."""
        prepared = [self._prepare(b) for b in bases]
        jobs: dict[object, tuple[Any, ...]] = {}
        for key, _, _, _, job in prepared:
            if job is not None and key not in jobs:
                jobs[key] = job
        self.computed = len(jobs)
        self.reused = sum(1 for key, *_, job in prepared if job is not None) - len(jobs)
        keys = list(jobs)
        with ThreadPoolExecutor(max_workers=max(1, min(self.threads, len(keys)))) as pool:
            results = dict(zip(keys, pool.map(lambda k: self._run(*jobs[k]), keys), strict=True))
        out = []
        for key, level, per_channel, base, job in prepared:
            values = np.asarray(base.funnel._compiled().values, dtype=np.float64)
            flows = results[key] * level if job is not None else np.zeros(values.size)
            entries, sent = flows[:values.size], flows[values.size:]  # messages per step and send
            costs = np.asarray(job[3].costs, dtype=np.float64) if job is not None else np.zeros(0)
            messages, message_cost = float(sent.sum()), float(sent @ costs)
            revenue = float(entries @ values)
            margin = base.economics.margin * revenue
            cost = float(per_channel.sum(axis=0) @ np.asarray(base.traffic.cost_per_visitor, dtype=np.float64))
            out.append({"arrivals": float(per_channel.sum()), "purchases": float(entries[values > 0].sum()),
                        "revenue": revenue,
                        "margin": margin, "traffic_cost": cost, "messages": messages, "message_cost": message_cost,
                        "profit": margin - cost - message_cost})
        return out

    def _prepare(self, base: Base) -> tuple[object, float, np.ndarray, Base, tuple[Any, ...] | None]:
        """The path's key, the traffic level, arrivals per day and channel, and the job
        computing entries per unit of traffic (None: no traffic, no path)."""
        funnel = base.funnel
        chain = funnel._compiled()
        unit = funnel.time_unit
        day = day_length(unit)
        span = to_units(self.horizon, unit, "horizon")
        if not (span > 0 and math.isfinite(span)):
            raise ValueError(f"horizon must be positive and finite, got {self.horizon!r}")
        days = math.ceil(span / day - 1e-9)
        # A warm-up runs the path from `warm` days earlier; totals count from the start.
        window = run_window(self.horizon, unit, base.traffic, self.origin, self.warm_up)
        warm, run_origin = window.warm, window.start
        run = np.asarray(window.plan._expected(run_origin, warm + days), dtype=np.float64)
        per_channel = run[warm:]
        arrivals = run.sum(axis=1)
        level = float(arrivals.sum())
        if level <= 0.0:
            return None, 0.0, per_channel, base, None
        plan = (PathPlan() if base.strategy is None
                else path_plan(base.strategy, chain, unit, run_origin, window.span))
        plan.at_start = base.traffic.exact_counts
        self.left_out.update(plan.left_out)
        shape = arrivals / level
        structure = _structure(funnel)
        key: object = ((structure, plan.key(), warm, np.round(shape, 12).tobytes()) if structure is not None
                       else object())
        return key, level, per_channel, base, (chain, shape, day, plan, warm)

    def _run(self, chain: Any, shape: np.ndarray, day: float, plan: PathPlan, warm: int) -> np.ndarray:
        """Expected entries per stage, then messages per step and send (their costs are each
        base's: not part of the shared path), from day ``warm`` on, for arrivals ``shape`` (one
        in all)."""
        raw = _core.expected_path(chain, shape, day, self.substeps, plan.steps, plan.treated, plan.sends,
                                  plan.at_start)
        entries = np.asarray(raw["entries"], dtype=np.float64)[warm:].sum(axis=0)
        messages = np.asarray(raw["messages"], dtype=np.float64).reshape(len(shape), -1)[warm:].sum(axis=0)
        return np.concatenate([entries, messages])


def _structure(funnel: Funnel) -> str | None:
    """The funnel's document without stage values (None: not serializable, no sharing)."""
    try:
        document = funnel.to_dict()
    except UnknownDistributionError:  # a Python distribution cannot be written: no sharing
        return None
    for stage in document.get("stages", []):
        if isinstance(stage, dict):
            stage.pop("value", None)
    return json.dumps(document, sort_keys=True)

