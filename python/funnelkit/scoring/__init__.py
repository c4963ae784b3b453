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
from funnelkit.scoring.logistic import ConvergenceWarning, LogisticRegression

__all__ = [
    "DEFAULT_ROLES",
    "BacktestResult",
    "ConvergenceWarning",
    "FunnelScorer",
    "JobSummary",
    "LeadFeature",
    "LeadTable",
    "LogisticRegression",
    "ScoreEvaluation",
    "Scorer",
    "backtest",
    "compare_scorers",
    "evaluate",
    "feature_matrix",
    "lead_features",
    "load_scorers",
    "purchase_labels",
    "score_leads",
    "training_set",
]
