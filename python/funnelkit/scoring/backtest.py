"""Time-based backtests: train on the past, score the next period, as the nightly job would.

For fold ``k`` (``k = 0 .. folds-1``) the cut is ``t_k = start + k * period``:

* **training**: features as of ``t_k - horizon`` and labels "bought in
  ``(t_k - horizon, t_k]``", a window fully observed at ``t_k``;
* **test**: features as of ``t_k`` and labels "bought in ``(t_k, t_k + horizon]``".

Nothing after ``t_k`` reaches the scorer: it is trained and applied with what was known at
the cut, so the test figures are what the scorer would have scored live ("train on weeks
1..k, score week k+1").

>>> import funnelkit as fk
>>> shop = fk.datasets.shop_events(5_000, days=60, seed=2, returning=2.0, return_days=3.0)
>>> model = fk.LogisticRegression(features=["sessions", "cart_adds", "recency_days", "stage"])
>>> result = fk.backtest(shop.events, model, start="2026-02-05", folds=3, period="7D", horizon="7D")
>>> result.folds[["cut", "test_leads", "test_buyers"]]
         cut  test_leads  test_buyers
0 2026-02-05        2924            9
1 2026-02-12        3511            3
2 2026-02-19        4097            6
>>> bool(result.folds["auc"].min() > 0.9)
True
"""

from __future__ import annotations

import copy
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.errors import LabelError
from funnelkit.events import EventSource, _utc_timestamp
from funnelkit.scoring._options import merge_feature_options, read_log
from funnelkit.scoring.base import Scorer
from funnelkit.scoring.evaluation import ScoreEvaluation, evaluate
from funnelkit.scoring.labels import training_set

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BacktestResult", "backtest"]

#: What ``make_scorer`` may be: a callable (features, labels) -> fitted scorer, an estimator
#: with ``fit`` (cloned and fitted per fold unless already fitted) or a ready scorer.
ScorerFactory = Callable[[pd.DataFrame, pd.Series], Any] | Scorer | Any


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Per-fold metrics of a time-based backtest (made by :func:`backtest`)."""

    #: One row per fold: train_at (features of the training set), cut (t_k), test_end, leads
    #: and buyers on each side, auc, log_loss, brier, top_lift, base_rate.
    folds: pd.DataFrame
    #: The evaluation of each fold's test scores.
    evaluations: tuple[ScoreEvaluation, ...]
    #: The scorer each fold was scored with.
    scorers: tuple[Any, ...]

    @property
    def mean_auc(self) -> float:
        return float(self.folds["auc"].mean())

    def to_pandas(self) -> pd.DataFrame:
        return self.folds.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"folds": [{k: (v.isoformat() if isinstance(v, pd.Timestamp) else
                               v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
                          for row in self.folds.to_dict(orient="records")],
                "mean_auc": self.mean_auc}

    def plot(self) -> Figure:
        """AUC and top-decile lift per fold (left) and each fold's cumulative gain curve
        (right). Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        figure, (left, right) = _pyplot().subplots(1, 2, figsize=(12, 4.5))
        x = self.folds["fold"].to_numpy()
        left.plot(x, self.folds["auc"], marker="o", label="AUC")
        left.set_xticks(x, [f"{k}\n{cut:%Y-%m-%d}" for k, cut in zip(x, self.folds["cut"], strict=True)])
        left.set_xlabel("fold (cut)")
        left.set_ylabel("test AUC")
        lift_axis = left.twinx()
        lift_axis.plot(x, self.folds["top_lift"], marker="s", color="tab:orange", label="top-decile lift")
        lift_axis.set_ylabel("top-decile lift")
        left.set_title("Backtest per fold")
        for k, evaluation in zip(x, self.evaluations, strict=True):
            evaluation.plot_gain(right, label=f"fold {k}")
        right.legend(loc="lower right")
        figure.tight_layout()
        return figure  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<BacktestResult: {len(self.folds)} folds, mean test AUC {self.mean_auc:.4f}>"

    def _repr_html_(self) -> str:
        table = self.folds.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0)
        return f"<div><strong>Backtest</strong>: {html.escape(repr(self)[1:-1])}{table}</div>"


def backtest(log: EventSource, make_scorer: ScorerFactory, *, start: object, folds: int = 4,
             period: object = "7D", horizon: object = "7D", feature_kwargs: Mapping[str, Any] | None = None,
             read_options: Mapping[str, Any] | None = None, bins: int = 10) -> BacktestResult:
    """Train on the past and score the next period, fold after fold, without look-ahead.

    Parameters
    ----------
    log:
        An :class:`~funnelkit.EventLog` or anything :func:`~funnelkit.read_events` reads.
    make_scorer:
        A callable ``(features, labels) -> fitted scorer``; or an estimator with ``fit`` (such
        as :class:`~funnelkit.LogisticRegression`), cloned and fitted on each fold's training
        set; or a fitted or unsupervised :class:`~funnelkit.Scorer` (funnel score, rules),
        used as it is. A fitted scikit-learn-style model that is no funnelkit scorer scores
        with ``predict_proba`` on the feature DataFrame.
    start:
        The first fold's cut ``t_0``; fold ``k`` cuts at ``t_k = start + k * period``.
    folds, period, horizon:
        Number of folds, their spacing and the label window (Timedelta-likes: ``"7D"``).
    feature_kwargs:
        Options of :func:`~funnelkit.lead_features` (merged with the scorer's own
        ``feature_options()``).
    read_options:
        Options of :func:`~funnelkit.read_events` (``lead=``, ``time=``...); the log is read once.
    bins:
        Groups of each fold's lift/gain and calibration tables.

    Raises :class:`~funnelkit.LabelError` when the last fold's label window ends after the
    log's cut (its labels are not observed yet), or when a fold has buyers of one class only.
    """
    if not (isinstance(folds, (int, np.integer)) and folds >= 1):
        raise ValueError(f"folds must be a positive integer, got {folds!r}")
    step, window = _duration(period, "period"), _duration(horizon, "horizon")
    base_options = dict(feature_kwargs or {})
    events = read_log(log, dict(read_options or {}), merge_feature_options([("feature_kwargs", base_options),
                                                                          ("the scorer", _options_of(make_scorer))]))
    first = _utc_timestamp(start, "start")
    cuts = [first + k * step for k in range(int(folds))]
    if cuts[-1] + window > events.end:
        raise LabelError(
            f"the last fold (cut {cuts[-1]}) needs labels until {cuts[-1] + window}, after the log's cut {events.end}; "
            "use fewer folds, an earlier start or a shorter horizon", subject="horizon")
    if cuts[0] - window <= events.start:
        raise ValueError(f"the first fold trains on features as of {cuts[0] - window}, not after the log's first "
                         f"event ({events.start}); start later")
    rows: list[dict[str, Any]] = []
    evaluations: list[ScoreEvaluation] = []
    scorers: list[Any] = []
    for k, cut in enumerate(cuts, start=1):
        try:
            train_options = merge_feature_options([("feature_kwargs", base_options),
                                                   ("the scorer", _options_of(make_scorer))])
            x_train, y_train = training_set(events, at=cut - window, horizon=window, **train_options)
            fitted = _fit(make_scorer, x_train, y_train)
            test_options = merge_feature_options([("feature_kwargs", train_options),
                                                  ("the scorer", _options_of(fitted))])
            x_test, y_test = training_set(events, at=cut, horizon=window, **test_options)
            evaluation = evaluate(y_test, _scores(fitted, x_test), bins=bins)
        except LabelError as error:
            raise LabelError(f"backtest fold {k} (cut {cut}): {error}", subject=error.subject) from error
        evaluations.append(evaluation)
        scorers.append(fitted)
        rows.append({"fold": k, "train_at": cut - window, "cut": cut, "test_end": cut + window,
                     "train_leads": len(y_train), "train_buyers": int(np.asarray(y_train).sum()),
                     "test_leads": evaluation.n, "test_buyers": evaluation.positives, "auc": evaluation.auc,
                     "log_loss": np.nan if evaluation.log_loss is None else evaluation.log_loss,
                     "brier": np.nan if evaluation.brier is None else evaluation.brier,
                     "top_lift": evaluation.top_lift, "base_rate": evaluation.base_rate})
    return BacktestResult(folds=pd.DataFrame(rows), evaluations=tuple(evaluations), scorers=tuple(scorers))


def _fit(make_scorer: Any, features: pd.DataFrame, labels: pd.Series) -> Any:
    """The fold's fitted scorer (see :func:`backtest`'s ``make_scorer``)."""
    if hasattr(make_scorer, "fit") and not isinstance(make_scorer, type):
        if _is_fitted(make_scorer):
            return make_scorer
        estimator = _clone(make_scorer)
        result = estimator.fit(features, labels)
        return estimator if result is None else result
    if isinstance(make_scorer, Scorer):
        return make_scorer
    if callable(make_scorer):
        return make_scorer(features, labels)
    raise TypeError(f"make_scorer must be a callable (features, labels) -> scorer, an estimator with fit, or a "
                    f"funnelkit Scorer; got {type(make_scorer).__name__}")


def _is_fitted(estimator: Any) -> bool:
    """scikit-learn's rule: ``__sklearn_is_fitted__()``, else attributes ending in ``_``."""
    check = getattr(estimator, "__sklearn_is_fitted__", None)
    if callable(check):
        return bool(check())
    try:
        attributes = vars(estimator)
    except TypeError:
        attributes = {}
    return any(name.endswith("_") and not name.startswith("__") for name in attributes)


def _clone(estimator: Any) -> Any:
    """A fresh, unfitted copy with the same parameters (scikit-learn's clone where it works)."""
    get_params = getattr(estimator, "get_params", None)
    if callable(get_params):
        try:
            return type(estimator)(**get_params(deep=False))
        except TypeError:
            pass
    return copy.deepcopy(estimator)


def _options_of(scorer: Any) -> Mapping[str, Any]:
    options = getattr(scorer, "feature_options", None)
    if not callable(options):
        return {}
    try:
        result = options()
    except AttributeError:  # an unfitted scorer may not know its options yet
        return {}
    return dict(result) if isinstance(result, Mapping) else {}


def _scores(fitted: Any, features: pd.DataFrame) -> Any:
    if isinstance(fitted, Scorer):
        return fitted.score(features)
    if hasattr(fitted, "predict_proba"):
        return pd.Series(np.asarray(fitted.predict_proba(features))[:, 1], index=features.index)
    if hasattr(fitted, "decision_function"):
        return pd.Series(np.asarray(fitted.decision_function(features)), index=features.index)
    raise TypeError(f"the fitted {type(fitted).__name__} is no funnelkit Scorer and has no predict_proba")


def _duration(value: object, what: str) -> pd.Timedelta:
    try:
        duration = pd.Timedelta(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be a duration such as '7D', got {value!r}") from error
    if not duration > pd.Timedelta(0):
        raise ValueError(f"{what} must be positive, got {value!r}")
    return duration


