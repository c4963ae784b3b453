"""How good are the scores? Ranking (ROC AUC, lift, gain), probability quality (log loss,
Brier score, calibration) and the ROC curve, from labels and scores.

Everything is O(n log n) NumPy: one sort of the scores. Tied scores are handled the way a
fair coin would break them: the AUC counts a tied buyer/non-buyer pair as half (average
ranks), and the gain at a cut-off inside a group of tied scores takes the group's buyers in
proportion. The figures equal scikit-learn's ``roc_auc_score``, ``log_loss``,
``brier_score_loss`` and ``roc_curve``.

>>> import numpy as np
>>> import funnelkit as fk
>>> labels = np.array([0, 0, 1, 1, 0, 1, 0, 0])
>>> scores = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.1, 0.3])
>>> result = fk.evaluate(labels, scores, bins=4)
>>> round(result.auc, 4), result.base_rate
(0.9333, 0.375)
>>> result.gains["share_of_buyers"].round(3).tolist()
[0.667, 1.0, 1.0, 1.0]

Scores outside [0, 1] (rule points, say) rank leads but are no probabilities: their log loss
and Brier score are None and :attr:`ScoreEvaluation.note` says why.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.errors import FeatureValueError, LabelError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ScoreEvaluation", "compare_scorers", "evaluate"]

#: Probabilities are clipped to [eps, 1 - eps] for the log loss, as scikit-learn does.
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class ScoreEvaluation:
    """Metrics of one set of scores against observed 0/1 labels (made by :func:`evaluate`)."""

    #: ROC AUC: the chance that a random buyer scores above a random non-buyer (ties: half).
    auc: float
    #: Mean cross-entropy of the scores as probabilities (clipped to [eps, 1 - eps]); None for
    #: scores outside [0, 1].
    log_loss: float | None
    #: Mean squared difference between score and label; None for scores outside [0, 1].
    brier: float | None
    #: Share of leads whose label is 1.
    base_rate: float
    #: Leads evaluated.
    n: int
    #: Leads labelled 1.
    positives: int
    #: One row per quantile bin of the scores: score range, mean score, observed rate, count,
    #: buyers and a Wilson interval on the observed rate.
    calibration: pd.DataFrame
    #: One row per decile (``bins`` groups) of leads ranked by score, best first: leads,
    #: buyers, the decile's rate and lift, and the cumulative share of leads, share of buyers
    #: captured (gain) and cumulative lift.
    gains: pd.DataFrame
    #: Why a metric is missing, if one is.
    note: str = ""
    _labels: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    _scores: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    @property
    def labels(self) -> np.ndarray:
        """The labels evaluated (a read-only view)."""
        view = self._labels.view()
        view.flags.writeable = False
        return view

    @property
    def scores(self) -> np.ndarray:
        """The scores evaluated (a read-only view)."""
        view = self._scores.view()
        view.flags.writeable = False
        return view

    @property
    def top_lift(self) -> float:
        """Lift of the best-scored decile (its buyer rate over the base rate)."""
        return float(self.gains["lift"].iloc[0])

    def roc_curve(self, drop_intermediate: bool = True) -> pd.DataFrame:
        """False and true positive rates per score threshold (columns fpr, tpr, threshold), as
        ``sklearn.metrics.roc_curve`` gives them: the first threshold is +inf (nobody
        selected); ``drop_intermediate`` drops thresholds on straight stretches."""
        fpr, tpr, thresholds = _roc(self._labels, self._scores, drop_intermediate)
        return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})

    def to_dict(self) -> dict[str, Any]:
        """The metrics and tables as plain Python data (JSON-ready except for None)."""
        return {
            "auc": self.auc, "log_loss": self.log_loss, "brier": self.brier, "base_rate": self.base_rate,
            "n": self.n, "positives": self.positives, "top_lift": self.top_lift, "note": self.note,
            "calibration": _records(self.calibration), "gains": _records(self.gains),
        }

    def summary(self) -> pd.Series:
        """The headline metrics as a Series (what :func:`compare_scorers` puts side by side)."""
        return pd.Series({"auc": self.auc, "log_loss": self.log_loss, "brier": self.brier, "top_lift": self.top_lift,
                          "gain_at_20": _gain_at(self.gains, 0.2), "base_rate": self.base_rate, "n": self.n,
                          "positives": self.positives}, dtype=object)

    # -- plots ------------------------------------------------------------------------------
    def plot(self) -> Figure:
        """Calibration, cumulative gain and ROC curve side by side. Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        figure, axes = _pyplot().subplots(1, 3, figsize=(15, 4.5))
        self.plot_calibration(axes[0])
        self.plot_gain(axes[1])
        self.plot_roc(axes[2])
        figure.tight_layout()
        return figure  # type: ignore[no-any-return]

    def plot_calibration(self, ax: Axes | None = None, label: str | None = None) -> Axes:
        """Observed rate (with Wilson intervals) against mean score per bin; the diagonal is
        perfect calibration (drawn for probabilities only). Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        if ax is None:
            _, ax = _pyplot().subplots(figsize=(5, 4.5))
        table = self.calibration
        rate = table["observed_rate"].to_numpy()
        # clipped: rounding can put a Wilson bound a hair past the rate (0 buyers in a bin)
        error = np.clip(np.vstack([rate - table["lower"].to_numpy(), table["upper"].to_numpy() - rate]), 0, None)
        ax.errorbar(table["mean_score"], rate, yerr=error, marker="o", capsize=3, label=label)
        if self.log_loss is not None:
            top = max(float(table["mean_score"].max()), float(table["upper"].max()))
            ax.plot([0, top], [0, top], linestyle="--", color="grey", linewidth=1)
        ax.set_xlabel("mean score")
        ax.set_ylabel("observed rate")
        ax.set_title("Calibration")
        return ax

    def plot_gain(self, ax: Axes | None = None, label: str | None = None) -> Axes:
        """Cumulative gain: share of buyers captured against share of leads contacted, best
        scored first; the diagonal is random order. Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        if ax is None:
            _, ax = _pyplot().subplots(figsize=(5, 4.5))
        x = np.r_[0.0, self.gains["share_of_leads"].to_numpy()]
        y = np.r_[0.0, self.gains["share_of_buyers"].to_numpy()]
        ax.plot(x, y, marker="o", label=label)
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
        ax.set_xlabel("share of leads (best scored first)")
        ax.set_ylabel("share of buyers captured")
        ax.set_title("Cumulative gain")
        return ax

    def plot_roc(self, ax: Axes | None = None, label: str | None = None) -> Axes:
        """The ROC curve, with the AUC in the legend. Needs matplotlib."""
        from funnelkit.plotting import _pyplot

        if ax is None:
            _, ax = _pyplot().subplots(figsize=(5, 4.5))
        curve = self.roc_curve()
        ax.plot(curve["fpr"], curve["tpr"], label=f"{label + ': ' if label else ''}AUC {self.auc:.3f}")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title("ROC")
        ax.legend(loc="lower right")
        return ax

    # -- display ----------------------------------------------------------------------------
    def _headline(self) -> str:
        probability = ("" if self.log_loss is None or self.brier is None
                       else f", log loss {self.log_loss:.4f}, Brier {self.brier:.4f}")
        return (f"AUC {self.auc:.4f}{probability}, top-decile lift {self.top_lift:.2f}; "
                f"{self.n:,} leads, {self.positives:,} buyers (base rate {self.base_rate:.2%})")

    def __repr__(self) -> str:
        return f"<ScoreEvaluation: {self._headline()}>"

    def _repr_html_(self) -> str:
        note = f"<p><small>{html.escape(self.note)}</small></p>" if self.note else ""
        gains = self.gains.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0)
        calibration = self.calibration.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0)
        return (f"<div><strong>ScoreEvaluation</strong>: {html.escape(self._headline())}{note}"
                f"<p>Lift and gain by decile</p>{gains}<p>Calibration</p>{calibration}</div>")


def evaluate(labels: Any, scores: Any, *, bins: int = 10, level: float = 0.95) -> ScoreEvaluation:
    """Evaluate scores against observed 0/1 labels.

    Parameters
    ----------
    labels:
        0/1 (or boolean) per lead: did the lead buy? An array or a Series; when both labels
        and scores are Series on different indexes holding the same leads, scores are aligned
        to the labels' index.
    scores:
        One finite score per lead, higher meaning likelier to buy.
    bins:
        Groups of the calibration table (quantiles of the scores) and of the lift/gain table
        (``bins=10``: deciles of leads).
    level:
        Coverage of the Wilson intervals on each calibration bin's observed rate.

    Raises :class:`~funnelkit.LabelError` for labels that are not 0/1, hold one class only or
    are not as many as the scores, and :class:`~funnelkit.FeatureValueError` for NaN or
    infinite scores.

    >>> import funnelkit as fk
    >>> fk.evaluate([0, 1, 0, 1], [0.2, 0.9, 0.4, 0.4]).auc
    0.875
    """
    if not (isinstance(bins, (int, np.integer)) and bins >= 1):
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    y, s = _checked(labels, scores)
    n = len(y)
    positives = int(y.sum())
    note = ""
    log_loss: float | None = None
    brier: float | None = None
    if s.min() >= 0.0 and s.max() <= 1.0:
        p = np.clip(s, _EPS, 1 - _EPS)
        q = np.clip(1.0 - s, _EPS, 1 - _EPS)
        log_loss = float(-np.mean(np.where(y == 1, np.log(p), np.log(q))))
        brier = float(np.mean((y - s) ** 2))
    else:
        note = (f"scores range over [{s.min():.4g}, {s.max():.4g}], not [0, 1] (points rather than "
                "probabilities): log loss and Brier score are not computed; AUC, lift and gain only rank leads")
    return ScoreEvaluation(
        auc=_auc(y, s, positives), log_loss=log_loss, brier=brier, base_rate=positives / n, n=n, positives=positives,
        calibration=_calibration(y, s, int(bins), level), gains=_gains(y, s, int(bins)), note=note,
        _labels=y, _scores=s,
    )


def compare_scorers(scores: Mapping[str, Any], labels: Any, *, features: pd.DataFrame | None = None,
                    bins: int = 10) -> pd.DataFrame:
    """The headline metrics of several scorers on the same labels, one row per scorer.

    ``scores`` maps a name to the scores (array or Series) or to a :class:`~funnelkit.Scorer`,
    which then scores ``features``. Columns: auc, log_loss, brier (NaN for points), top_lift,
    gain_at_20 (share of buyers in the best-scored 20 % of leads), base_rate, n, positives.

    >>> import funnelkit as fk
    >>> table = fk.compare_scorers({"good": [0.1, 0.9, 0.2, 0.8], "coin": [0.5, 0.5, 0.5, 0.5]}, [0, 1, 0, 1])
    >>> table["auc"].tolist()
    [1.0, 0.5]
    """
    from funnelkit.scoring.base import Scorer

    if not scores:
        raise ValueError("compare_scorers needs at least one {name: scores}")
    rows = {}
    for name, value in scores.items():
        if isinstance(value, Scorer):
            if features is None:
                raise ValueError(f"{name!r} is a scorer: pass features= for it to score")
            value = value.score(features)
        rows[str(name)] = evaluate(labels, value, bins=bins).summary()
    table = pd.DataFrame(rows).T
    for column in ("auc", "log_loss", "brier", "top_lift", "gain_at_20", "base_rate"):
        table[column] = table[column].astype(np.float64)
    for column in ("n", "positives"):
        table[column] = table[column].astype(np.int64)
    table.index.name = "scorer"
    return table


# -- the computations -----------------------------------------------------------------------
def _checked(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(labels, pd.Series) and isinstance(scores, pd.Series) and not labels.index.equals(scores.index):
        if len(labels) == len(scores) and labels.index.is_unique and set(labels.index) == set(scores.index):
            scores = scores.reindex(labels.index)
        else:
            raise LabelError(f"labels ({len(labels):,} leads) and scores ({len(scores):,} leads) are not on the same "
                             "leads (their indexes differ)")
    y_raw = np.asarray(labels)
    s_raw = np.asarray(scores)
    if y_raw.ndim != 1 or s_raw.ndim != 1:
        raise LabelError(f"labels and scores must be one-dimensional (shapes {y_raw.shape} and {s_raw.shape})")
    if len(y_raw) != len(s_raw):
        raise LabelError(f"{len(y_raw):,} labels for {len(s_raw):,} scores: one label per scored lead is needed")
    if len(y_raw) == 0:
        raise LabelError("no labels: nothing to evaluate")
    try:
        y = y_raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise LabelError(f"labels must be 0/1, got values of type {y_raw.dtype}") from error
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        raise LabelError(f"labels must be 0/1; {int(bad.sum()):,} are not, first {y_raw[int(np.argmax(bad))]!r}")
    if y.min() == y.max():
        raise LabelError(f"all {len(y):,} labels are {int(y[0])}: evaluating scores needs buyers and non-buyers")
    try:
        s = s_raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise FeatureValueError(f"scores must be numbers, got values of type {s_raw.dtype}", subject="score") from error
    finite = np.isfinite(s)
    if not finite.all():
        raise FeatureValueError(f"{int((~finite).sum()):,} score(s) are NaN or infinite, first at position "
                                f"{int(np.argmin(finite))}", subject="score")
    return y, s


def _auc(y: np.ndarray, s: np.ndarray, positives: int) -> float:
    """Mann-Whitney: (rank sum of buyers - P(P+1)/2) / (P N), ranks averaged over ties."""
    order = np.argsort(s, kind="mergesort")
    sorted_scores = s[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(s)]
    average_rank = (starts + ends + 1) / 2.0  # ranks are 1-based: group covers starts+1..ends
    group = np.repeat(np.arange(len(starts)), ends - starts)
    rank_sum = float(np.sum(average_rank[group] * y[order]))
    negatives = len(y) - positives
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def _descending_groups(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores sorted high to low: the distinct scores, and at the end of each group of equal
    scores the number of leads and of buyers ranked so far."""
    order = np.argsort(s, kind="mergesort")[::-1]
    sorted_scores = s[order]
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(s) - 1]
    buyers = np.cumsum(y[order])[last]
    return sorted_scores[last], last + 1.0, buyers


def _roc(y: np.ndarray, s: np.ndarray, drop_intermediate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    thresholds, ranked, tps = _descending_groups(y, s)
    fps = ranked - tps
    if drop_intermediate and len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds]
    return fps / fps[-1], tps / tps[-1], thresholds


def _calibration(y: np.ndarray, s: np.ndarray, bins: int, level: float) -> pd.DataFrame:
    """Quantile bins of the scores; equal scores always share a bin (so bins may be fewer)."""
    inner = np.unique(np.quantile(s, np.arange(1, bins) / bins))
    which = np.searchsorted(inner, s, side="left")  # bin k holds inner[k-1] < s <= inner[k]
    count = np.bincount(which, minlength=len(inner) + 1).astype(np.int64)
    used = count > 0
    buyers = np.bincount(which, weights=y, minlength=len(inner) + 1)[used]
    total = np.bincount(which, weights=s, minlength=len(inner) + 1)[used]
    low = np.full(len(count), np.inf)
    high = np.full(len(count), -np.inf)
    np.minimum.at(low, which, s)
    np.maximum.at(high, which, s)
    count = count[used]
    lower, upper = _wilson(buyers, count, level)
    return pd.DataFrame({
        "bin": np.arange(1, len(count) + 1), "score_low": low[used], "score_high": high[used],
        "mean_score": total / count, "observed_rate": buyers / count, "count": count,
        "buyers": buyers.astype(np.int64), "lower": lower, "upper": upper,
    })


def _wilson(successes: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _gains(y: np.ndarray, s: np.ndarray, bins: int) -> pd.DataFrame:
    """Leads ranked best first, cut into ``bins`` equal groups (``round(k n / bins)`` leads in
    the first k). A cut inside a group of tied scores takes the group's buyers pro rata: the
    expected figure under a random order among ties."""
    n = len(y)
    total_buyers = float(y.sum())
    _, ranked, captured = _descending_groups(y, s)
    cuts = np.round(np.arange(1, bins + 1) * n / bins)
    cumulative = np.interp(cuts, np.r_[0.0, ranked], np.r_[0.0, captured])
    leads = np.diff(np.r_[0.0, cuts])
    buyers = np.diff(np.r_[0.0, cumulative])
    base = total_buyers / n
    with np.errstate(invalid="ignore", divide="ignore"):  # more bins than leads: empty ones are NaN
        rate = np.where(leads > 0, buyers / leads, np.nan)
        cumulative_lift = np.where(cuts > 0, (cumulative / total_buyers) / (cuts / n), np.nan)
    return pd.DataFrame({
        "decile": np.arange(1, bins + 1), "leads": leads.astype(np.int64), "buyers": buyers, "rate": rate,
        "lift": rate / base, "share_of_leads": cuts / n, "share_of_buyers": cumulative / total_buyers,
        "cumulative_lift": cumulative_lift,
    })


def _gain_at(gains: pd.DataFrame, share: float) -> float:
    x = np.r_[0.0, gains["share_of_leads"].to_numpy()]
    y = np.r_[0.0, gains["share_of_buyers"].to_numpy()]
    return float(np.interp(share, x, y))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]
