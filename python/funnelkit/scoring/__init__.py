"""Lead scoring: behavioural features, the funnel-model score, rule points, a learned scorer,
their evaluation, funnel layers and the batch scoring job (docs/scoring.md)."""

from __future__ import annotations

from funnelkit.scoring.base import Scorer, feature_matrix
from funnelkit.scoring.logistic import ConvergenceWarning, LogisticRegression

__all__ = ["ConvergenceWarning", "LogisticRegression", "Scorer", "feature_matrix"]
