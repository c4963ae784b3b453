"""Lead scoring: behavioural features, the funnel-model score, rule points, a learned scorer,
their evaluation, funnel layers and the batch scoring job (docs/scoring.md)."""

from __future__ import annotations

from funnelkit.scoring.base import Scorer, feature_matrix

__all__ = ["Scorer", "feature_matrix"]
