"""Lead scoring: behavioural features, the funnel-model score, rule points, a learned scorer,
their evaluation, funnel layers and the batch scoring job (docs/scoring.md)."""

from __future__ import annotations

from funnelkit.scoring.base import Scorer, feature_matrix
from funnelkit.scoring.features import DEFAULT_ROLES, LeadFeature, LeadTable, lead_features
from funnelkit.scoring.funnel_scorer import FunnelScorer
from funnelkit.scoring.labels import purchase_labels, training_set
from funnelkit.scoring.logistic import ConvergenceWarning, LogisticRegression

__all__ = [
    "DEFAULT_ROLES",
    "ConvergenceWarning",
    "FunnelScorer",
    "LeadFeature",
    "LeadTable",
    "LogisticRegression",
    "Scorer",
    "feature_matrix",
    "lead_features",
    "purchase_labels",
    "training_set",
]
