"""Exact analytics of a funnel: what :meth:`funnelkit.Funnel.analyze` returns.

All numbers come from one C++ call (a sparse LU factorisation of the transient block) and are
exact up to floating point; docs/analytics.md gives every formula.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.errors import UnknownStageError
from funnelkit.results import TableResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ConversionReport", "FunnelAnalysis", "Path"]


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
    objects (``.to_pandas()``, notebook display).

    >>> import funnelkit as fk
    >>> a = fk.examples.nurturing_funnel().analyze()
    >>> round(a.success_probability, 6)
    0.03
    """

    __slots__ = ("_absorbing", "_edges", "_kinds", "_names", "_raw", "_time_unit", "_title", "_values")

    def __init__(
        self,
        chain: _core.Chain,
        raw: dict[str, Any],
        edges: Sequence[tuple[str, str, float]],
        time_unit: str,
        title: str,
    ) -> None:
        self._names: list[str] = list(chain.names)
        self._kinds: list[str] = list(chain.kinds)
        self._values = np.asarray(chain.values, dtype=float)
        self._absorbing: list[int] = list(chain.absorbing_states)
        self._raw = raw
        self._edges = list(edges)
        self._time_unit = time_unit
        self._title = title

    # -- summary numbers (from the entry) --------------------------------------------------
    @property
    def success_probability(self) -> float:
        """Probability that a new lead ends in a success stage (overall conversion)."""
        return float(self._raw["success"])

    @property
    def expected_value(self) -> float:
        """Expected (discounted) value per entering lead, e.g. revenue per visitor."""
        return float(self._raw["value_per_entrant"])

    @property
    def expected_steps(self) -> float:
        """Expected number of transitions until the journey ends."""
        return float(self._raw["steps"])

    @property
    def steps_sd(self) -> float:
        return float(self._raw["steps_sd"])

    @property
    def expected_time(self) -> float:
        """Expected time until the journey ends (success or not), in the funnel's time unit."""
        return float(self._raw["time"])

    @property
    def time_sd(self) -> float:
        return float(self._raw["time_sd"])

    @property
    def time_to_success(self) -> float:
        """Expected time to convert, among the leads that convert (NaN if none can)."""
        return float(self._raw["time_to_success_mean"])

    @property
    def stage_names(self) -> list[str]:
        """Stages in analysis order: the funnel's stages, then the virtual drop stage if any."""
        return list(self._names)

    @property
    def time_unit(self) -> str:
        return self._time_unit

    def outcome_probabilities(self) -> dict[str, float]:
        """Probability of ending in each absorbing stage, for a new lead."""
        reach = self._raw["reach"]
        return {self._names[a]: float(reach[a]) for a in self._absorbing}

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
        ``dropped``) and for a lead currently in the stage (the rest)."""
        r = self._raw
        frame = pd.DataFrame(
            {
                "kind": self._kinds,
                "reached": r["reach"],
                "expected_visits": r["expected_visits"],
                "dropped": r["dropped"],
                "success_probability": r["success_probability"],
                "expected_value": r["value"],
                "expected_steps": r["expected_steps"],
                "steps_sd": np.sqrt(r["steps_variance"]),
                "expected_time": r["expected_time"],
                "time_sd": np.sqrt(r["time_variance"]),
                "time_to_success": r["time_to_success"],
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
            self._raw["absorption"],
            index=pd.Index(self._names, name="stage"),
            columns=[self._names[a] for a in self._absorbing],
        )
        return TableResult(f"Absorption probabilities of {self._title}", frame)

    def conversion(self, visitors: float | None = None, path: Sequence[str] | None = None) -> ConversionReport:
        """The step-by-step conversion table.

        Parameters
        ----------
        visitors:
            Number of entering leads; adds ``reached_count`` and ``dropped_count``.
        path:
            Stages to list, in order (default: every stage that is not a failure stage, in the
            funnel's order).
        """
        rows = self._rows(path)
        reach = self._raw["reach"][rows]
        dropped = self._raw["dropped"][rows]
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
            if not (math.isfinite(visitors) and visitors >= 0):
                raise ValueError(f"visitors must be a finite number >= 0, got {visitors}")
            frame["reached_count"] = reach * visitors
            frame["dropped_count"] = dropped * visitors
        return ConversionReport(f"Conversion through {self._title}", frame)

    def removal_effects(self) -> TableResult:
        """What is lost if a stage is removed (every lead about to enter it is lost instead),
        as in Markov multi-channel attribution; sorted by ``removal_effect``.

        ``removal_effect`` is the share of conversions lost, ``attribution_share`` the removal
        effects normalised to sum to 1, ``value_lost`` the expected value lost per entrant.
        """
        r = self._raw
        transient = [i for i, kind in enumerate(self._kinds) if kind == "transient"]
        lost = r["removal_success"][transient]
        success = self.success_probability
        value = self.expected_value
        with np.errstate(divide="ignore", invalid="ignore"):
            effect = lost / success if success > 0 else np.full(len(transient), np.nan)
            total = np.nansum(effect)
            share = effect / total if total > 0 else np.full(len(transient), np.nan)
            value_lost = r["removal_value"][transient]
            value_effect = value_lost / value if value != 0 else np.full(len(transient), np.nan)
        frame = pd.DataFrame(
            {
                "reached": r["reach"][transient],
                "conversions_lost": lost,
                "removal_effect": effect,
                "attribution_share": share,
                "value_lost": value_lost,
                "value_effect": value_effect,
            },
            index=pd.Index([self._names[i] for i in transient], name="stage"),
        ).sort_values("removal_effect", ascending=False, kind="stable")
        return TableResult(f"Removal effects in {self._title}", frame)

    def sensitivity(self) -> TableResult:
        """Derivatives of conversion, value and time (per entrant) with respect to every edge
        probability, each edge moved alone with the row remainder (drop) taking up the change.

        ``success_elasticity`` is ``p / S * dS/dp``: the % change in conversion per % change
        in the edge.
        """
        r = self._raw
        index = r["edge_index"]
        sources = [self._edges[i][0] for i in index]
        targets = [self._edges[i][1] for i in index]
        probability = np.array([self._edges[i][2] for i in index], dtype=float)
        success = self.success_probability
        with np.errstate(divide="ignore", invalid="ignore"):
            elasticity = probability * r["d_success"] / success if success > 0 else np.full(len(index), np.nan)
        frame = pd.DataFrame(
            {
                "source": sources,
                "target": targets,
                "probability": probability,
                "d_success": r["d_success"],
                "d_value": r["d_value"],
                "d_time": r["d_time"],
                "success_elasticity": elasticity,
            }
        )
        return TableResult(f"Edge sensitivities of {self._title}", frame, note=f"d_time in {self._time_unit}")

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
        return (
            f"<div><h4>{html.escape(self._title)}</h4>"
            + self.summary()._repr_html_()
            + self.conversion()._repr_html_()
            + "</div>"
        )

    # -- helpers ---------------------------------------------------------------------------
    def _rows(self, path: Sequence[str] | None) -> list[int]:
        if path is None:
            return [i for i, kind in enumerate(self._kinds) if kind != "failure"]
        if len(path) == 0:
            raise ValueError("path must name at least one stage")
        position = {name: i for i, name in enumerate(self._names)}
        rows = []
        for name in path:
            if name not in position:
                error = UnknownStageError(f"unknown stage '{name}'")
                error.subject = name
                raise error
            rows.append(position[name])
        return rows
