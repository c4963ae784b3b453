"""Lead scoring: behavioural features, the funnel-model score, rule points, a learned scorer,
their evaluation, funnel layers and the batch scoring job (docs/scoring.md)."""

from __future__ import annotations

from funnelkit.scoring.backtest import BacktestResult, backtest
from funnelkit.scoring.base import Scorer, feature_matrix
from funnelkit.scoring.evaluation import ScoreEvaluation, compare_scorers, evaluate
from funnelkit.scoring.features import DEFAULT_ROLES, LeadFeature, LeadTable, lead_features
from funnelkit.scoring.funnel_scorer import FunnelScorer
from funnelkit.scoring.job import JobSummary, load_scorers, score_leads
from funnelkit.scoring.labels import purchase_labels, training_set
from funnelkit.scoring.layers import DEFAULT_LAYERS, Layer, LayerCounts, assign_layers, layer_counts
from funnelkit.scoring.logistic import ConvergenceWarning, LogisticRegression
from funnelkit.scoring.rules import DEFAULT_RULES, Rule, RuleScorer, default_rule_scorer

__all__ = [
    "BacktestResult",
    "ConvergenceWarning",
    "DEFAULT_LAYERS",
    "DEFAULT_ROLES",
    "DEFAULT_RULES",
    "FunnelScorer",
    "JobSummary",
    "Layer",
    "LayerCounts",
    "LeadFeature",
    "LeadTable",
    "LogisticRegression",
    "Rule",
    "RuleScorer",
    "ScoreEvaluation",
    "Scorer",
    "assign_layers",
    "backtest",
    "compare_scorers",
    "default_rule_scorer",
    "evaluate",
    "feature_matrix",
    "layer_counts",
    "lead_features",
    "load_scorers",
    "purchase_labels",
    "score_leads",
    "training_set",
]
