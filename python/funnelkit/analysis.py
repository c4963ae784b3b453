"""Exact analytics of a funnel: what :meth:`funnelkit.Funnel.analyze` returns.

The analysis is computed on demand: :meth:`~funnelkit.Funnel.analyze` returns at once, and each
number or table is computed by the C++ engine the first time it is asked for, then kept.
Conversion, value, steps and time cost a handful of linear solves; the probability of ever
reaching a stage (``reach``, the conversion table), removal effects and edge sensitivities are
computed only when asked for, and only for the stages or edges named. docs/analytics.md gives
every formula and the cost of each quantity.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit._progress import with_progress
from funnelkit.errors import StructureError, UnknownStageError
from funnelkit.results import TableResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ConversionReport", "FunnelAnalysis", "Path", "StageRef"]

#: A stage, by name or by its integer code (its position in :attr:`FunnelAnalysis.stage_names`).
StageRef = str | int

# The conversion table is part of the notebook display only while it costs at most this many
# column solves (stages in loops of a large strongly connected component).
_DISPLAY_REACH_BUDGET = 2_000


@dataclass(frozen=True)
class Path:
    """A sequence of stages and the probability that a new lead follows exactly it."""

    stages: tuple[str, ...]
    probability: float

    def __str__(self) -> str:
        return " -> ".join(self.stages) + f"  (p = {self.probability:.6g})"


class ConversionReport(TableResult):
    """The step-by-step conversion table shop owners read, one row per stage.

    Columns: ``reached`` (share of entrants that ever reach the stage), ``from_previous`` and
    ``from_start`` (step and cumulative conversion), ``dropped`` (share of entrants whose
    journey fails right after this stage), ``drop_rate`` (``dropped / reached``), plus counts
    when a number of visitors was given.
    """

    __slots__ = ()

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the familiar funnel chart (needs matplotlib)."""
        from funnelkit.plotting import funnel_chart

        return funnel_chart(self, ax=ax)


class FunnelAnalysis:
    """Everything the Markov analysis knows about a funnel, for a lead entering it.

    Summary numbers are attributes; tables are methods returning :class:`TableResult`
    objects (``.to_pandas()``, notebook display). Stages can be named or given by integer code.

    >>> import funnelkit as fk
    >>> a = fk.examples.nurturing_funnel().analyze()
    >>> round(a.success_probability, 6)
    0.03
    >>> a.reach(["warm_lead"]).to_pandas()["reached"].round(3).to_dict()
    {'warm_lead': 0.2}
    """

    __slots__ = ("_chain", "_engine", "_labels", "_position", "_progress", "_time_unit", "_title")

    def __init__(self, engine: _core.Analysis, chain: _core.Chain, time_unit: str, title: str, progress: bool) -> None:
        self._engine = engine
        self._chain = chain
        self._labels: tuple[list[str], list[str], list[int]] | None = None  # names, kinds, absorbing states
        self._position: dict[str, int] | None = None
        self._time_unit = time_unit
        self._title = title
        self._progress = progress

    # Stage labels cross from the engine on first use: a funnel of 10 stages should not pay for
    # them when only a number is asked for, nor one of 100,000 twice.
    @property
    def _names(self) -> list[str]:
        return self._stage_labels()[0]

    @property
    def _kinds(self) -> list[str]:
        return self._stage_labels()[1]

    @property
    def _absorbing(self) -> list[int]:
        return self._stage_labels()[2]

    def _stage_labels(self) -> tuple[list[str], list[str], list[int]]:
        if self._labels is None:
            chain = self._chain
            self._labels = (list(chain.names), list(chain.kinds), list(chain.absorbing_states))
        return self._labels

    # -- summary numbers (from the entry) --------------------------------------------------
    @property
    def success_probability(self) -> float:
        """Probability that a new lead ends in a success stage (overall conversion)."""
        return self._engine.scalar("success")

    @property
    def expected_value(self) -> float:
        """Expected (discounted) value per entering lead, e.g. revenue per visitor."""
        return self._engine.scalar("value_per_entrant")

    @property
    def expected_steps(self) -> float:
        """Expected number of transitions until the journey ends."""
        return self._engine.scalar("steps")

    @property
    def steps_sd(self) -> float:
        return self._engine.scalar("steps_sd")

    @property
    def expected_time(self) -> float:
        """Expected time until the journey ends (success or not), in the funnel's time unit."""
        return self._engine.scalar("time")

    @property
    def time_sd(self) -> float:
        return self._engine.scalar("time_sd")

    @property
    def time_to_success(self) -> float:
        """Expected time to convert, among the leads that convert (NaN if none can)."""
        return self._engine.scalar("time_to_success")

    @property
    def stage_names(self) -> list[str]:
        """Stages in analysis order: the funnel's stages, then the virtual drop stage if any.
        A stage's position in this list is its integer code."""
        return list(self._names)

    @property
    def time_unit(self) -> str:
        return self._time_unit

    def outcome_probabilities(self) -> dict[str, float]:
        """Probability of ending in each absorbing stage, for a new lead."""
        ends = self._engine.vector("expected_visits")
        return {self._names[a]: float(ends[a]) for a in self._absorbing}

    def summary(self) -> TableResult:
        rows = {
            "success_probability": self.success_probability,
            "expected_value": self.expected_value,
            "expected_steps": self.expected_steps,
            "steps_sd": self.steps_sd,
            f"expected_time ({self._time_unit})": self.expected_time,
            f"time_sd ({self._time_unit})": self.time_sd,
            f"time_to_success ({self._time_unit})": self.time_to_success,
        }
        for name, p in self.outcome_probabilities().items():
            rows[f"P(end in {name})"] = p
        frame = pd.DataFrame({"value": pd.Series(rows, dtype=float)})
        return TableResult(f"Summary of {self._title}", frame)

    # -- tables -------------------------------------------------------------------------
    def stages(self) -> TableResult:
        """Per stage: for a lead entering the funnel (``reached``, ``expected_visits``,
        ``dropped``) and for a lead currently in the stage (the rest).

        This asks for everything, the reach of every stage included: on a funnel whose loops
        form one large component that costs one solve per stage (see :meth:`reach`)."""
        vector = self._engine.vector
        frame = pd.DataFrame(
            {
                "kind": self._kinds,
                "reached": self._reach_codes(np.arange(len(self._names))),
                "expected_visits": vector("expected_visits"),
                "dropped": vector("dropped"),
                "success_probability": vector("success_probability"),
                "expected_value": vector("value"),
                "expected_steps": vector("expected_steps"),
                "steps_sd": np.sqrt(vector("steps_variance")),
                "expected_time": vector("expected_time"),
                "time_sd": np.sqrt(vector("time_variance")),
                "time_to_success": vector("time_to_success"),
            },
            index=pd.Index(self._names, name="stage"),
        )
        return TableResult(
            f"Stages of {self._title}",
            frame,
            note=f"times in {self._time_unit}; expected_value is the value still to come from the stage",
        )

    def absorption(self) -> TableResult:
        """P(ending in each absorbing stage | currently in each stage)."""
        frame = pd.DataFrame(
            self._engine.absorption(),
            index=pd.Index(self._names, name="stage"),
            columns=[self._names[a] for a in self._absorbing],
        )
        return TableResult(f"Absorption probabilities of {self._title}", frame)

    def reach(self, stages: Iterable[StageRef] | None = None) -> TableResult:
        """Probability that a new lead ever reaches each stage (default: every stage).

        Absorbing stages and stages on no loop are cheap; a stage inside a loop costs one
        linear solve of its strongly connected component, so name the stages you need on a
        funnel whose loops span thousands of stages. Long runs show a progress bar and stop on
        Ctrl-C.
        """
        codes = self._codes(stages)
        frame = pd.DataFrame(
            {"reached": self._reach_codes(codes)}, index=pd.Index([self._names[c] for c in codes], name="stage")
        )
        return TableResult(f"Reach in {self._title}", frame)

    def conversion(self, visitors: float | None = None, path: Sequence[StageRef] | None = None) -> ConversionReport:
        """The step-by-step conversion table.

        Parameters
        ----------
        visitors:
            Number of entering leads; adds ``reached_count`` and ``dropped_count``.
        path:
            Stages to list, in order (default: every stage that is not a failure stage, in the
            funnel's order). Only these stages' reach is computed.
        """
        if path is not None and len(path) == 0:
            raise ValueError("path must name at least one stage")
        rows = self._codes(path) if path is not None else self._not_failure()
        reach = self._reach_codes(rows)
        dropped = self._engine.vector("dropped")[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            from_previous = np.concatenate([[np.nan], reach[1:] / reach[:-1]])
            from_start = reach / reach[0]
            drop_rate = np.where(reach > 0, dropped / np.where(reach > 0, reach, 1.0), np.nan)
        frame = pd.DataFrame(
            {
                "reached": reach,
                "from_previous": from_previous,
                "from_start": from_start,
                "dropped": dropped,
                "drop_rate": drop_rate,
            },
            index=pd.Index([self._names[i] for i in rows], name="stage"),
        )
        if visitors is not None:
            if isinstance(visitors, bool) or not isinstance(visitors, (int, float, np.number)):
                raise TypeError(f"visitors must be a number, got {type(visitors).__name__}")
            if not (math.isfinite(visitors) and visitors >= 0):
                raise ValueError(f"visitors must be a finite number >= 0, got {visitors}")
            frame["reached_count"] = reach * visitors
            frame["dropped_count"] = dropped * visitors
        return ConversionReport(f"Conversion through {self._title}", frame)

    def removal_effects(self, stages: Iterable[StageRef] | None = None) -> TableResult:
        """What is lost if a stage is removed (every lead about to enter it is lost instead),
        as in Markov multi-channel attribution; sorted by ``removal_effect``.

        ``stages`` limits the table to the transient stages named (one solve each for stages
        in loops); by default every transient stage is included. ``removal_effect`` is the
        share of conversions lost, ``attribution_share`` the removal effects normalised to sum
        to 1 over the stages listed, ``value_lost`` the expected value lost per entrant.
        """
        if stages is None:
            codes = np.array([i for i, kind in enumerate(self._kinds) if kind == "transient"], dtype=np.int64)
        else:
            codes = self._codes(stages)
            for code in codes:
                if self._kinds[code] != "transient":
                    error = StructureError(f"stage '{self._names[code]}' is absorbing: only transient stages can be removed")
                    error.subject = self._names[code]
                    raise error
        lost, value_lost = self._with_progress(lambda report: self._engine.removal_effects(codes, report))
        reached = self._reach_codes(codes)
        success = self.success_probability
        value = self.expected_value
        with np.errstate(divide="ignore", invalid="ignore"):
            effect = lost / success if success > 0 else np.full(len(codes), np.nan)
            total = np.nansum(effect)
            share = effect / total if total > 0 else np.full(len(codes), np.nan)
            value_effect = value_lost / value if value != 0 else np.full(len(codes), np.nan)
        frame = pd.DataFrame(
            {
                "reached": reached,
                "conversions_lost": lost,
                "removal_effect": effect,
                "attribution_share": share,
                "value_lost": value_lost,
                "value_effect": value_effect,
            },
            index=pd.Index([self._names[i] for i in codes], name="stage"),
        ).sort_values("removal_effect", ascending=False, kind="stable")
        return TableResult(f"Removal effects in {self._title}", frame)

    def sensitivity(self, edges: Iterable[tuple[StageRef, StageRef]] | None = None) -> TableResult:
        """Derivatives of conversion, value and time (per entrant) with respect to every edge
        probability (or the ``(source, target)`` edges named), each edge moved alone with the
        row remainder (drop) taking up the change.

        ``success_elasticity`` is ``p / S * dS/dp``: the % change in conversion per % change
        in the edge. The cost is the handful of solves behind conversion, value and time, then
        O(1) per edge.
        """
        raw = self._engine.sensitivities(None)
        if edges is not None:
            raw = self._select_edges(raw, list(edges))
        names = np.asarray(self._names, dtype=object)
        probability = raw["probability"]
        success = self.success_probability
        with np.errstate(divide="ignore", invalid="ignore"):
            elasticity = probability * raw["d_success"] / success if success > 0 else np.full(len(probability), np.nan)
        frame = pd.DataFrame(
            {
                "source": names[raw["source"]],
                "target": names[raw["target"]],
                "probability": probability,
                "d_success": raw["d_success"],
                "d_value": raw["d_value"],
                "d_time": raw["d_time"],
                "success_elasticity": elasticity,
            }
        )
        return TableResult(f"Edge sensitivities of {self._title}", frame, note=f"d_time in {self._time_unit}")

    def solver_report(self) -> TableResult:
        """How each strongly connected component with a loop was solved so far: its size, the
        method (``dense``, ``sparse_lu`` or ``iterative``), the number of solves, the largest
        relative residual ``||b - A x|| / ||b||``, for iterative solves the most iterations one
        took, and how the reach of its stages was computed (``diagonal_method``: column solves
        with ``dense``, ``sparse_lu`` or ``iterative``, or ``dense_inverse``). Stages on no loop
        are solved by one division and not listed."""
        frame = pd.DataFrame(
            self._engine.solver_report(),
            columns=[
                "first_stage",
                "size",
                "nonzeros",
                "discount",
                "method",
                "factor_nonzeros",
                "solves",
                "max_iterations",
                "max_residual",
                "fell_back",
                "diagonal_method",
            ],
        )
        return TableResult(f"Solvers used for {self._title}", frame)

    # -- display ---------------------------------------------------------------------------
    def plot(self, ax: Axes | None = None, visitors: float | None = None) -> Axes:
        """Funnel chart of :meth:`conversion`."""
        return self.conversion(visitors=visitors).plot(ax=ax)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary().to_dict(),
            "stages": self.stages().to_dict(),
            "conversion": self.conversion().to_dict(),
        }

    def __repr__(self) -> str:
        return (
            f"<FunnelAnalysis of {self._title}: conversion {self.success_probability:.4%}, "
            f"value per entrant {self.expected_value:.4g}, time to convert {self.time_to_success:.4g} "
            f"{self._time_unit}>"
        )

    def _repr_html_(self) -> str:
        rows = self._not_failure()
        cost = self._engine.reach_cost(rows)
        if cost <= _DISPLAY_REACH_BUDGET:
            conversion = self.conversion()._repr_html_()
        else:
            conversion = (
                f"<p><small>The conversion table needs the reach of {cost:,} stages inside loops "
                "(one solve each); call <code>.conversion()</code> or <code>.reach([...])</code> "
                "for it.</small></p>"
            )
        return f"<div><h4>{html.escape(self._title)}</h4>" + self.summary()._repr_html_() + conversion + "</div>"

    # -- helpers ---------------------------------------------------------------------------
    def _not_failure(self) -> np.ndarray:
        return np.array([i for i, kind in enumerate(self._kinds) if kind != "failure"], dtype=np.int64)

    def _reach_codes(self, codes: np.ndarray) -> np.ndarray:
        reach: np.ndarray = self._with_progress(lambda report: self._engine.reach(codes, report))
        return reach

    def _with_progress(self, run: Callable[[Callable[[int, int], None] | None], Any]) -> Any:
        return with_progress(run, enabled=self._progress, desc="solves", unit="stage")

    def _codes(self, stages: Iterable[StageRef] | None) -> np.ndarray:
        if stages is None:
            return np.arange(len(self._names), dtype=np.int64)
        if isinstance(stages, (str, int)):
            stages = [stages]
        codes = []
        for stage in stages:
            if isinstance(stage, (int, np.integer)) and not isinstance(stage, bool):
                if not 0 <= stage < len(self._names):
                    raise IndexError(f"stage code {stage} out of range (the analysis has {len(self._names)} stages)")
                codes.append(int(stage))
            elif isinstance(stage, str):
                codes.append(self._code_of(stage))
            else:
                raise TypeError(f"a stage is a name or an integer code, got {type(stage).__name__}")
        return np.asarray(codes, dtype=np.int64)

    def _code_of(self, name: str) -> int:
        if self._position is None:
            self._position = {n: i for i, n in enumerate(self._names)}
        code = self._position.get(name)
        if code is None:
            error = UnknownStageError(f"unknown stage '{name}'")
            error.subject = name
            raise error
        return code

    def _select_edges(self, raw: dict[str, np.ndarray], edges: list[tuple[StageRef, StageRef]]) -> dict[str, np.ndarray]:
        n = len(self._names)
        keys = raw["source"] * n + raw["target"]
        order = np.argsort(keys)
        picked = []
        for source, target in edges:
            a, b = self._codes([source, target])
            at = int(np.searchsorted(keys, a * n + b, sorter=order))
            if at == len(keys) or keys[order[at]] != a * n + b:
                label = f"{self._names[a]} -> {self._names[b]}"
                error = UnknownStageError(f"there is no edge {label}")
                error.subject = label
                raise error
            picked.append(order[at])
        index = np.asarray(picked, dtype=np.int64)
        return {key: values[index] for key, values in raw.items()}
