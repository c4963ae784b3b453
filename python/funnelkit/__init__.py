"""funnelkit: sales funnels as Markov chains, with a C++ engine.

>>> import funnelkit as fk
>>> funnel = fk.examples.nurturing_funnel()
>>> analysis = funnel.analyze()
>>> round(analysis.success_probability, 4)
0.03
"""

from __future__ import annotations

try:
    from funnelkit import _core  # noqa: F401  (fail early, with a helpful message)
except ImportError as error:  # pragma: no cover - only without a built extension
    raise ImportError(
        "funnelkit's compiled engine (funnelkit._core) is missing or does not load. Install the "
        "package with `pip install .` (it compiles the engine) rather than importing it from the "
        f"source tree. Original error: {error}"
    ) from error

from funnelkit import datasets, examples
from funnelkit.analysis import ConversionReport, FunnelAnalysis, Path
from funnelkit.compare import compare_fits
from funnelkit.distributions import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Truncated,
    Weibull,
    empirical_from_durations,
    lognormal_from_median,
)
from funnelkit.errors import (
    ConvergenceError,
    DistributionError,
    DuplicateEdgeError,
    DuplicateStageError,
    EmptyFunnelError,
    EmptyLogError,
    EventDataError,
    EventLogError,
    FeatureValueError,
    FunnelError,
    FunnelFormatError,
    LabelError,
    MissingColumnError,
    MissingFeatureError,
    MissingFileError,
    NoExitError,
    NotFittedError,
    ProbabilityError,
    RowSumError,
    SchemaVersionError,
    ScorerFormatError,
    ScoringError,
    StrategyError,
    StructureError,
    UnknownDistributionError,
    UnknownEventError,
    UnknownStageError,
)
from funnelkit.events import EventLog, EventMapping, SegmentRule, read_events
from funnelkit.extension import register, register_distribution, registered, unregister
from funnelkit.fit import FunnelFit, UnmappedEventsWarning, fit_funnel
from funnelkit.funnel import Edge, Funnel, Stage
from funnelkit.reports import FunnelReport, Step, funnel_report
from funnelkit.results import TableResult
from funnelkit.scoring import (
    BacktestResult,
    FunnelScorer,
    JobSummary,
    Layer,
    LayerCounts,
    LeadFeature,
    LogisticRegression,
    Rule,
    RuleScorer,
    ScoreEvaluation,
    Scorer,
    assign_layers,
    backtest,
    compare_scorers,
    evaluate,
    layer_counts,
    lead_features,
    purchase_labels,
    score_leads,
    training_set,
)
from funnelkit.simulation import (
    Audience,
    Campaign,
    Channel,
    Economics,
    Message,
    MoveTo,
    OddsMultiplier,
    Simulation,
    Strategy,
    StrategyComparison,
    TrafficPlan,
    Trigger,
    TriggerCondition,
    TriggerEffect,
    compare_strategies,
    simulate,
    when,
)
from funnelkit.simulation import templates as strategies

__version__ = "0.1.0"

__all__ = [
    "Audience",
    "BacktestResult",
    "Campaign",
    "Channel",
    "ConvergenceError",
    "ConversionReport",
    "Distribution",
    "DistributionError",
    "DuplicateEdgeError",
    "DuplicateStageError",
    "Economics",
    "Edge",
    "Empirical",
    "EmptyFunnelError",
    "EmptyLogError",
    "EventDataError",
    "EventLog",
    "EventLogError",
    "EventMapping",
    "Exponential",
    "FeatureValueError",
    "Fixed",
    "Funnel",
    "FunnelAnalysis",
    "FunnelError",
    "FunnelFit",
    "FunnelFormatError",
    "FunnelReport",
    "FunnelScorer",
    "Gamma",
    "JobSummary",
    "LabelError",
    "Layer",
    "LayerCounts",
    "LeadFeature",
    "LogNormal",
    "LogisticRegression",
    "Message",
    "MissingColumnError",
    "MissingFeatureError",
    "MissingFileError",
    "MoveTo",
    "NoExitError",
    "NotFittedError",
    "OddsMultiplier",
    "Path",
    "ProbabilityError",
    "RowSumError",
    "Rule",
    "RuleScorer",
    "SchemaVersionError",
    "ScoreEvaluation",
    "Scorer",
    "ScorerFormatError",
    "ScoringError",
    "SegmentRule",
    "Simulation",
    "Stage",
    "Step",
    "Strategy",
    "StrategyComparison",
    "StrategyError",
    "StructureError",
    "TableResult",
    "TrafficPlan",
    "Trigger",
    "TriggerCondition",
    "TriggerEffect",
    "Truncated",
    "UnknownDistributionError",
    "UnknownEventError",
    "UnknownStageError",
    "UnmappedEventsWarning",
    "Weibull",
    "__version__",
    "assign_layers",
    "backtest",
    "compare_fits",
    "compare_scorers",
    "compare_strategies",
    "datasets",
    "empirical_from_durations",
    "evaluate",
    "examples",
    "fit_funnel",
    "funnel_report",
    "layer_counts",
    "lead_features",
    "lognormal_from_median",
    "purchase_labels",
    "read_events",
    "register",
    "register_distribution",
    "registered",
    "score_leads",
    "simulate",
    "strategies",
    "training_set",
    "unregister",
    "when",
]
