"""Lead scoring: behavioural features, the funnel-model score, rule points, a learned scorer,
their evaluation, funnel layers and the batch scoring job (docs/scoring.md)."""

from __future__ import annotations

from funnelkit.scoring.backtest import BacktestResult, backtest
from funnelkit.scoring.base import Scorer, feature_matrix
from funnelkit.scoring.evaluation import ScoreEvaluation, compare_scorers, evaluate
from funnelkit.scoring.job import JobSummary, load_scorers, score_leads

__all__ = ["BacktestResult", "JobSummary", "ScoreEvaluation", "Scorer", "backtest", "compare_scorers", "evaluate",
           "feature_matrix", "load_scorers", "score_leads"]
