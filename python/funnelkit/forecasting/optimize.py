"""Strategy optimisation: search a trigger strategy's settings (delays, discounts, channels,
which triggers are on) for the highest simulated profit, optionally under a message budget
or a minimum margin share, with common random numbers.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.base import Base
    >>> from funnelkit.forecasting.changes import TriggerDiscount, TriggerOff
    >>> from funnelkit.forecasting.optimize import optimize_strategy
    >>> strategy = fk.Strategy([fk.strategies.abandoned_cart()])
    >>> base = Base(fk.examples.shop_funnel(), fk.TrafficPlan(300), strategy)
    >>> result = optimize_strategy(base, {"discount": [TriggerDiscount("abandoned cart", d) for d in (0.05, 0.2)],
    ...                                   "cart": [None, TriggerOff("abandoned cart")]},
    ...                            horizon="14D", replicates=3, seed=1)
    >>> len(result.table), list(result.table.columns[:3])
    (4, ['discount', 'cart', 'objective'])
    >>> result.best.name in set(result.table.index)
    True

The search
----------
The ``space`` has :func:`~funnelkit.forecasting.scenario.grid`'s axis format: each axis a list
of values, a value a change, a list of changes made together, or None (the base as it is on
that axis). ``method="grid"`` evaluates every combination (the cartesian product, last axis
fastest); ``method="random"`` draws ``samples`` distinct combinations uniformly without
replacement with ``numpy.random.default_rng(seed)`` (all of them when there are fewer) and
evaluates them in grid order, so a seed always gives the same candidates.

Each candidate and the base are simulated with :func:`funnelkit.simulate` over ``horizon``
with the same ``seed`` and ``replicates`` R: common random numbers, so every replicate of
every candidate sees the same arrivals and each lead the same journey until a message
changes it, and differences between candidates are paired (two identical candidates give
identical numbers). Candidates that come out identical (the same funnel, traffic, strategy
and economics once their changes are made: e.g. every delay and discount of a trigger that
another axis switches off, or a candidate that leaves the base as it is) are simulated once;
their rows repeat the numbers and ``same_as`` names the candidate (or ``"(base)"``) simulated. Per candidate c and replicate r, y_cr is the replicate's total of the
``objective`` (profit by default: margin - discounts - traffic cost - message cost, see
:class:`~funnelkit.simulation.economics.Economics`).

Table columns (one row per candidate, named like the grid's scenarios):

* the axes: each axis's label for the candidate;
* ``objective`` = mean_r y_cr; ``low``/``high`` = objective ± t(0.975, R-1) sd_r(y_cr) / √R;
* ``delta`` = mean_r (y_cr - y_base,r), ``delta_low``/``delta_high`` its paired t interval;
* ``messages`` = mean messages sent per replicate over the horizon;
* ``margin_share`` = mean margin / mean revenue (margin = margin rate x revenue - discounts;
  NaN without revenue);
* ``over_budget``: ``messages > budget``; ``below_margin``: ``margin_share < min_margin``
  (NaN counts as below); on the means, False for an absent constraint;
* ``feasible``: neither;
* ``best``: the chosen candidate;
* ``same_as``: the earlier candidate (or ``"(base)"``) with the same simulated strategy whose
  numbers the row repeats; missing (NaN) for a candidate simulated on its own.

The best candidate is the feasible one with the largest ``objective`` (the first in table
order on a tie); infeasible candidates stay in the table and are never chosen. When none is
feasible, :class:`InfeasibleStrategyError` says which constraint binds and by how much.

The best's ``delta`` interval is the paired t interval of that one candidate, as if it had
been chosen beforehand: it does not allow for having picked the largest of many noisy
estimates, so with many candidates close together it (and ``objective``) tends to be
optimistic. To estimate the chosen strategy without that bias, simulate
:attr:`Optimization.best_base` against the base again with another ``seed``.

Ctrl-C stops the search (``KeyboardInterrupt``, within a simulation too); nothing is returned.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.errors import ForecastError
from funnelkit.forecasting._change import Change
from funnelkit.forecasting._totals import simulated_totals
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.scenario import AxisValue, Scenario, grid
from funnelkit.simulation._durations import Duration
from funnelkit.simulation.results import _paired
from funnelkit.simulation.run import _start

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["OBJECTIVES", "InfeasibleStrategyError", "Optimization", "OptimizationError", "optimize_strategy"]

#: Simulated totals that can be maximised.
OBJECTIVES = ("profit", "margin", "revenue", "purchases", "buyers", "conversion")
#: The numeric columns of :attr:`Optimization.table` (after the axes).
COLUMNS = ("objective", "low", "high", "delta", "delta_low", "delta_high", "messages", "margin_share",
           "over_budget", "below_margin", "feasible", "best", "same_as")
#: Above this many combinations a random search draws by rejection instead of a permutation.
_PERMUTE_LIMIT = 1_000_000


class OptimizationError(ForecastError):
    """A strategy search that cannot start: an empty space, an unknown objective or method, a
    budget or margin that is not a number in range; ``subject`` names the argument."""


class InfeasibleStrategyError(OptimizationError):
    """No candidate meets the constraints; the message says which binds and by how much, and
    ``table`` holds every evaluated candidate."""

    table: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class Optimization:
    """The result of :func:`optimize_strategy`.

    Attributes
    ----------
    best:
        The chosen candidate as a :class:`~funnelkit.forecasting.scenario.Scenario` (its
        ``axes`` give each axis's label, ``changes`` what to do); :attr:`best_base` is the
        base with it applied (its ``strategy`` is the strategy to run).
    table:
        One row per evaluated candidate (see the module's notes for the columns).
    objective:
        The metric maximised; :attr:`value` its mean for the best candidate,
        :attr:`improvement` (with :attr:`interval`) its paired difference from the base.
    base_totals:
        The base strategy's ``objective`` (and ``low``/``high``), ``messages`` and
        ``margin_share``.
    replicate_objective:
        One row per replicate, one column per candidate (and ``"(base)"``): y_cr.
    """

    best: Scenario
    best_base: Base
    table: pd.DataFrame
    objective: str
    base_totals: pd.Series
    axes: tuple[str, ...]
    candidates: tuple[Scenario, ...]
    space_size: int
    method: str
    budget: float | None
    min_margin: float | None
    horizon: Duration
    replicates: int
    seed: int
    replicate_objective: pd.DataFrame = field(repr=False)
    #: ``simulation_s``: seconds simulating; ``evaluations``: simulations run (the base included,
    #: identical candidates once).
    timing: dict[str, float] = field(default_factory=dict, repr=False)

    # -- the answer --------------------------------------------------------------------------
    @property
    def changes(self) -> tuple[Change, ...]:
        """The best candidate's changes, in order."""
        return tuple(self.best.changes)

    @property
    def row(self) -> pd.Series:
        """The best candidate's row of :attr:`table`."""
        row: pd.Series = self.table.loc[self.best.name]
        return row

    @property
    def value(self) -> float:
        """The best candidate's mean objective."""
        return float(self.row["objective"])

    @property
    def improvement(self) -> float:
        """Mean paired difference of the objective, best - base."""
        return float(self.row["delta"])

    @property
    def interval(self) -> tuple[float, float]:
        """95% t interval of :attr:`improvement` (paired over replicates)."""
        return float(self.row["delta_low"]), float(self.row["delta_high"])

    def to_pandas(self) -> pd.DataFrame:
        """The evaluated table (a copy)."""
        return self.table.copy()

    # -- display -----------------------------------------------------------------------------
    def plot(self, x_axis: str = "messages", ax: Axes | None = None) -> Axes:
        """The trade-off: each candidate's objective (with its 95% interval) against
        ``x_axis`` (``"messages"``, ``"margin_share"`` or an axis of the space, shown by
        label); feasible candidates filled, infeasible ones hollow grey, the best a star, the
        base a diamond; the budget (on messages) or the minimum margin (on margin share) as a
        dashed line."""
        from funnelkit.plotting import _pyplot

        table = self.table
        categorical = x_axis in self.axes
        if not categorical and x_axis not in ("messages", "margin_share"):
            raise OptimizationError(f"plot: x_axis must be 'messages', 'margin_share' or an axis "
                                    f"({', '.join(map(repr, self.axes))}), got {x_axis!r}", subject="x_axis")
        if ax is None:
            _, ax = _pyplot().subplots(figsize=(8, 5))
        if categorical:
            labels = list(dict.fromkeys(table[x_axis]))
            x = table[x_axis].map({label: k for k, label in enumerate(labels)}).to_numpy(dtype=np.float64)
        else:
            x = table[x_axis].to_numpy(dtype=np.float64)
        y = table["objective"].to_numpy(dtype=np.float64)
        error = np.vstack([y - table["low"].to_numpy(dtype=np.float64), table["high"].to_numpy(dtype=np.float64) - y])
        feasible = table["feasible"].to_numpy(dtype=bool)
        for mask, style in ((feasible, {"color": "tab:blue", "label": "feasible"}),
                            (~feasible, {"color": "0.6", "markerfacecolor": "none", "label": "infeasible"})):
            if mask.any():
                ax.errorbar(x[mask], y[mask], yerr=error[:, mask], fmt="o", capsize=2, elinewidth=0.8,
                            **style)  # type: ignore[arg-type]
        chosen = table["best"].to_numpy(dtype=bool)
        ax.plot(x[chosen], y[chosen], marker="*", markersize=16, color="tab:red", linestyle="none",
                label="best")  # its settings are in the title and the table: too long for a legend
        if not categorical:
            ax.plot([float(self.base_totals[x_axis])], [float(self.base_totals["objective"])], marker="D",
                    color="black", linestyle="none", label="base strategy")
            limit = self.budget if x_axis == "messages" else self.min_margin
            if limit is not None:
                ax.axvline(limit, color="tab:red", linestyle="--", linewidth=0.8,
                           label="budget" if x_axis == "messages" else "minimum margin")
            ax.set_xlabel("messages per replicate" if x_axis == "messages" else "margin share")
        else:
            ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
            ax.set_xlabel(x_axis)
        ax.set_ylabel(f"{self.objective} over {self.horizon} (mean, 95% interval)")
        ax.legend(loc="best", fontsize="small")
        return ax

    def _title(self) -> str:
        constraints = [f"budget {self.budget:,.6g} messages"] if self.budget is not None else []
        if self.min_margin is not None:
            constraints.append(f"margin share >= {self.min_margin:g}")
        limits = f" under {' and '.join(constraints)}" if constraints else ""
        low, high = self.interval
        searched = f"{self.method} search of {self.space_size}"
        return (f"Best {self.objective} of {len(self.table)} candidates ({searched}){limits}, "
                f"{self.replicates} replicates over {self.horizon}: {self.best.name}: {self.value:,.2f}, "
                f"{self.improvement:+,.2f} against the base (95% {low:,.2f} to {high:,.2f})")

    def __repr__(self) -> str:
        # the row names repeat the axes' labels: rows are shown by number, the axes by label
        with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 40):
            body = self.table.reset_index(drop=True).to_string(float_format=lambda v: f"{v:,.6g}", max_rows=40)
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        ordered = self.table.reset_index(drop=True).sort_values("objective", ascending=False, kind="stable")
        shown = ordered if len(ordered) <= 50 else ordered.head(50)
        more = "" if shown is ordered else f"<p>... {len(ordered) - 50} more rows (.to_pandas())</p>"
        body = shown.to_html(float_format=lambda v: f"{v:,.4g}", border=0, na_rep="")
        return f"<div><strong>{html.escape(self._title())}</strong>{body}{more}</div>"


def optimize_strategy(
    base: Base,
    space: Mapping[str, Sequence[AxisValue]],
    *,
    objective: str = "profit",
    budget: float | None = None,
    min_margin: float | None = None,
    horizon: Duration = "90D",
    replicates: int = 10,
    seed: int = 0,
    method: str = "grid",
    samples: int | None = None,
    start: object = None,
    warm_up: Duration | None = None,
    progress: bool = True,
) -> Optimization:
    """The settings in ``space`` that maximise the simulated ``objective`` of ``base``.

    Parameters
    ----------
    base:
        The funnel, traffic, trigger strategy and economics the candidates change.
    space:
        ``{axis: [value, ...]}`` as for :func:`~funnelkit.forecasting.scenario.grid`: a value is
        a change (e.g. :class:`~funnelkit.forecasting.changes.TriggerDelay`,
        :class:`~funnelkit.forecasting.changes.TriggerDiscount`,
        :class:`~funnelkit.forecasting.changes.TriggerOff`), a list of changes or None.
    objective:
        One of :data:`OBJECTIVES`, maximised (its replicate total over the horizon).
    budget:
        At most this many messages sent per replicate over the horizon (mean; None: no limit).
    min_margin:
        The margin share (margin / revenue, discounts taken out of the margin) at least this
        (mean; in [0, 1]; None: no limit).
    horizon, replicates, seed, start:
        As for :func:`funnelkit.simulate`; every candidate and the base use the same seed.
    warm_up:
        As for :func:`~funnelkit.forecasting.forecast.forecast`: simulate a shop already
        running at ``start`` (the totals count from ``start``).
    method, samples:
        ``"grid"``: every combination; ``"random"``: ``samples`` distinct combinations drawn
        with ``seed``.
    progress:
        Show a progress bar over the simulations (with the top objective so far, before the
        constraints) when the search lasts more than half a second. Ctrl-C stops the search
        (``KeyboardInterrupt``).

    Raises
    ------
    InfeasibleStrategyError
        No candidate meets the budget and the minimum margin.

    The formulas are in the module's docstring.
    """
    if not isinstance(base, Base):
        raise TypeError(f"optimize_strategy needs a Base, got {type(base).__name__}")
    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise OptimizationError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}",
                                subject="objective")
    budget = _limit(budget, "budget", math.inf)
    min_margin = _limit(min_margin, "min_margin", 1.0)
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 2:
        raise OptimizationError(f"replicates must be an integer >= 2 (intervals need two), got {replicates!r}",
                                subject="replicates")
    axes, columns = _space(space)
    sizes = [len(column) for column in columns]
    size = math.prod(sizes)
    picks = _picks(size, method, samples, seed)
    candidates = [_candidate(axes, columns, sizes, index) for index in picks]

    began = time.perf_counter()
    names = ["(base)", *(c.name for c in candidates)]
    bases = [base, *(c.apply(base) for c in candidates)]
    origin = _start(start)
    same = _same_as(bases)
    y: dict[str, np.ndarray] = {}
    messages, shares = [0.0] * len(bases), [0.0] * len(bases)
    bar, top = _bar(len(bases) - len(same), progress), -math.inf
    try:
        for k, (name, b) in enumerate(zip(names, bases, strict=True)):
            if k in same:  # identical to an earlier one (common random numbers: identical numbers)
                y[name], messages[k], shares[k] = y[names[same[k]]], messages[same[k]], shares[same[k]]
                continue
            totals = simulated_totals(b, horizon=horizon, origin=origin, warm_up=warm_up,
                                      replicates=int(replicates), seed=seed,
                                      metrics=sorted({objective, "messages", "revenue", "margin"}))
            y[name] = totals[objective].to_numpy(dtype=np.float64)
            messages[k] = float(totals["messages"].mean())
            revenue = float(totals["revenue"].mean())
            shares[k] = float(totals["margin"].mean()) / revenue if revenue > 0 else math.nan
            if k > 0:
                top = max(top, float(y[name].mean()))
            if bar is not None:
                bar.update(1)
                if k > 0:
                    bar.set_postfix_str(f"top {objective} {top:,.2f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    simulation_s = time.perf_counter() - began

    rows = []
    for k, (name, candidate) in enumerate(zip(names, [None, *candidates], strict=True)):
        values = y[name]
        mean, _, low, high = _paired(values)  # the candidate's own interval
        delta, _, delta_low, delta_high = _paired(values - y[names[0]])
        share = shares[k]
        over_budget = bool(messages[k] > budget)
        below_margin = min_margin is not None and (math.isnan(share) or share < min_margin)
        rows.append({**(candidate.axes if candidate is not None else {}), "objective": mean, "low": low,
                     "high": high, "delta": delta, "delta_low": delta_low, "delta_high": delta_high,
                     "messages": messages[k], "margin_share": share, "over_budget": over_budget,
                     "below_margin": below_margin, "feasible": not (over_budget or below_margin), "best": False,
                     "same_as": names[same[k]] if k in same else None})
    base_row = pd.Series(rows[0])
    table = pd.DataFrame(rows[1:], index=pd.Index(names[1:], name="candidate"), columns=[*axes, *COLUMNS])
    replicate_objective = pd.DataFrame(y, index=pd.RangeIndex(replicates, name="replicate"))

    feasible_rows = table[table["feasible"]]
    if feasible_rows.empty:
        error = InfeasibleStrategyError(_why_infeasible(table, budget, min_margin),
                                        subject=_binding(table, budget, min_margin))
        error.table = table
        raise error
    best_name = str(feasible_rows["objective"].idxmax())
    table.loc[best_name, "best"] = True
    position = names.index(best_name)
    return Optimization(
        best=candidates[position - 1], best_base=bases[position], table=table, objective=objective,
        base_totals=base_row[["objective", "low", "high", "messages", "margin_share"]], axes=tuple(axes),
        candidates=tuple(candidates), space_size=size, method=method, budget=None if math.isinf(budget) else budget,
        min_margin=min_margin, horizon=horizon, replicates=int(replicates), seed=int(seed),
        replicate_objective=replicate_objective,
        timing={"simulation_s": simulation_s, "evaluations": float(len(bases) - len(same))},
    )


# -- evaluation ------------------------------------------------------------------------------
def _same_as(bases: list[Base]) -> dict[int, int]:
    """``{k: j}`` for each base equal to an earlier one, j the first of them (bucketed by the
    strategy's and economics' hash, then compared whole: funnel, traffic, strategy, economics)."""
    buckets: dict[int, list[int]] = {}
    same: dict[int, int] = {}
    for k, b in enumerate(bases):
        try:
            key = hash((b.strategy, b.economics))
        except TypeError:  # something unhashable inside: compare with everything
            key = 0
        bucket = buckets.setdefault(key, [])
        match = next((j for j in bucket if bases[j] == b), None)
        if match is None:
            bucket.append(k)
        else:
            same[k] = match
    return same


def _bar(total: int, enabled: bool) -> Any:
    """A tqdm bar over the simulations, shown once the search lasts half a second; None when off."""
    if not enabled:
        return None
    from funnelkit._progress import _tqdm

    return _tqdm()(total=total, desc="optimize_strategy", unit="simulation", delay=0.5, leave=False)


# -- the space -------------------------------------------------------------------------------
def _space(space: object) -> tuple[list[str], list[list[AxisValue]]]:
    """Axis names and values, each axis checked by :func:`grid` (changes, distinct labels)."""
    if not isinstance(space, Mapping) or not space:
        raise OptimizationError("space must be a non-empty mapping {axis: [change, list of changes or None, ...]}",
                                subject="space")
    axes, columns = [], []
    for axis, values in space.items():
        if not isinstance(axis, str) or not axis or axis in COLUMNS:
            raise OptimizationError(f"space: axis names must be non-empty strings other than the table's columns "
                                    f"({', '.join(COLUMNS)}), got {axis!r}", subject="space")
        grid("candidate", **{axis: values})  # raises ScenarioError naming the axis at fault
        axes.append(axis)
        columns.append(list(values))
    return axes, columns


def _picks(size: int, method: str, samples: int | None, seed: int) -> list[int]:
    """The combinations (indices into the grid's order) to evaluate, in grid order."""
    if method == "grid":
        if samples is not None:
            raise OptimizationError("samples is for method='random'; a grid evaluates every combination",
                                    subject="samples")
        return list(range(size))
    if method != "random":
        raise OptimizationError(f"method must be 'grid' or 'random', got {method!r}", subject="method")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise OptimizationError(f"method='random' needs samples, a positive integer, got {samples!r}",
                                subject="samples")
    k = min(int(samples), size)
    rng = np.random.default_rng(seed)
    if size <= _PERMUTE_LIMIT:
        return sorted(int(i) for i in rng.choice(size, size=k, replace=False))
    chosen: set[int] = set()
    while len(chosen) < k:
        chosen.add(int(rng.integers(size)))
    return sorted(chosen)


def _candidate(axes: list[str], columns: list[list[AxisValue]], sizes: list[int], index: int) -> Scenario:
    """The grid's ``index``-th combination (last axis fastest) as a named scenario."""
    digits = []
    for size in reversed(sizes):
        index, digit = divmod(index, size)
        digits.append(digit)
    chosen = {axis: [column[d]] for axis, column, d in zip(axes, columns, reversed(digits), strict=True)}
    (scenario,) = grid("candidate", **chosen)
    return scenario


def _limit(value: object, what: str, upper: float) -> Any:
    """None, or a number in [0, upper] (``budget``: None -> inf)."""
    if value is None:
        return math.inf if what == "budget" else None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
            0.0 <= float(value) <= upper) or math.isnan(float(value)):
        bound = "a number >= 0" if math.isinf(upper) else f"a number in [0, {upper:g}]"
        raise OptimizationError(f"{what} must be None or {bound}, got {value!r}", subject=what)
    return float(value)


# -- infeasibility ---------------------------------------------------------------------------
def _binding(table: pd.DataFrame, budget: float, min_margin: float | None) -> str:
    """The error's subject: ``"budget"`` or ``"min_margin"`` when no candidate meets that one
    alone, ``"budget, min_margin"`` when each alone can be met but not both."""
    if not (table["messages"] <= budget).any():
        return "budget"
    if min_margin is not None and not (table["margin_share"].fillna(-math.inf) >= min_margin).any():
        return "min_margin"
    return "budget, min_margin"


def _why_infeasible(table: pd.DataFrame, budget: float, min_margin: float | None) -> str:
    """Which constraint binds and by how much, for a table with no feasible candidate."""
    shares = table["margin_share"].fillna(-math.inf)
    within_budget = table["messages"] <= budget
    within_margin = shares >= min_margin if min_margin is not None else pd.Series(True, index=table.index)
    parts = []
    if not within_budget.any():
        fewest = table["messages"].idxmin()
        least = float(table.at[fewest, "messages"])
        parts.append(f"the message budget binds: the fewest messages is {least:,.1f} per replicate ({fewest}), "
                     f"{least - budget:,.1f} over the budget of {budget:,.6g}")
    if min_margin is not None and not within_margin.any():
        top = shares.idxmax()
        share = float(table.at[top, "margin_share"])
        shown = "no revenue" if math.isnan(share) else f"{share:.4f}"
        short = "" if math.isnan(share) else f", {min_margin - share:.4f} below"
        parts.append(f"the minimum margin binds: the highest margin share is {shown} ({top}){short} the minimum "
                     f"of {min_margin:g}")
    if not parts and min_margin is not None:  # each can be met alone, not both together
        top = shares[within_budget].idxmax()
        share = float(table.at[top, "margin_share"])
        parts.append(f"the budget and the minimum margin bind together: within the budget of {budget:,.6g} "
                     f"messages the highest margin share is {share:.4f} ({top}), {min_margin - share:.4f} below "
                     f"the minimum of {min_margin:g}")
    return f"no candidate strategy meets the constraints ({len(table)} evaluated): " + "; ".join(parts)
