"""Funnel layers: leads segmented into cold, warm, hot and customers, each with its reasons.

The marketing view of a funnel is an inverted pyramid of layers (shared/DOMAIN.md): all new
and barely active contacts at the top, interested people below them (about a third of the
first layer), those close to buying, and the buyers at the bottom. :func:`assign_layers`
puts each lead in one layer from its score and its features, and writes why: the rules or
features that added most to its score.

A :class:`Layer` says who belongs to it, by any of

* ``min_score``: the score is at least this;
* ``top_share``: the score is among the top share of the leads not placed in an earlier layer
  (ties are never split: a lead is in when the leads scoring at least as much as it make up at
  most ``top_share`` of them, so a layer may come out smaller than its share, never larger);
* ``when``: a condition on the features, as a :meth:`pandas.DataFrame.eval` expression
  (``"orders > 0"``, ``"stage == 'checkout'"``) or a callable taking the features frame and
  returning one boolean per lead.

A layer with several criteria takes the leads meeting all of them. Layers are checked in the
order given (hottest first), the first match wins, and the last layer, which takes no
criteria, catches the rest. :data:`DEFAULT_LAYERS`:

==========  ==========================================================================
customer    ``orders > 0``: has bought
hot         the top 10% of scores among the rest
warm        the top 30% of scores among the rest after that (27% of the non-customers)
cold        everyone else
==========  ==========================================================================

Shares, not score thresholds, make the defaults work for any scorer (probabilities or points);
give ``min_score`` layers for fixed thresholds, e.g. rule points.

>>> import pandas as pd
>>> import funnelkit as fk
>>> features = pd.DataFrame({"orders": [1, 0, 0, 0], "cart_adds": [0, 2, 1, 0]},
...                         index=pd.Index(["a", "b", "c", "d"], name="lead_id"))
>>> scorer = fk.RuleScorer([fk.Rule("cart_adds", points=10), fk.Rule("cart_adds", ">=", 2, points=5)])
>>> layers = [fk.Layer("customer", when="orders > 0"), fk.Layer("hot", min_score=20),
...           fk.Layer("warm", min_score=5), fk.Layer("cold")]
>>> fk.assign_layers(features, scorer, layers)
        layer                            reasons
lead_id
a        customer
b             hot  per cart_adds (+20), cart_adds >= 2 (+5)
c            warm                   per cart_adds (+10)
d            cold
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.errors import FeatureValueError, MissingFeatureError
from funnelkit.scoring.base import Scorer

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["DEFAULT_LAYERS", "Layer", "LayerCounts", "assign_layers", "layer_counts"]

#: A feature condition: an expression for :meth:`pandas.DataFrame.eval`, or a callable.
Condition = str | Callable[[pd.DataFrame], Any]


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Layer:
    """One funnel layer and who belongs to it (see the module docstring).

    Parameters
    ----------
    name:
        The layer's name (the category in :func:`assign_layers`' ``layer`` column).
    min_score:
        Leads scoring at least this.
    top_share:
        Leads among the top ``top_share`` (0 < share <= 1) of scores of the leads not yet placed.
    when:
        Leads whose features meet this: a :meth:`pandas.DataFrame.eval` expression or a callable
        ``features -> booleans``.

    >>> Layer("hot", top_share=0.1)
    Layer(name='hot', min_score=None, top_share=0.1, when=None)
    """

    name: str
    min_score: float | None = None
    top_share: float | None = None
    when: Condition | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a layer needs a non-empty string name, got {self.name!r}")
        if self.min_score is not None and not (_is_real(self.min_score) and not math.isnan(self.min_score)):
            raise ValueError(f"layer {self.name!r}: min_score must be a number, got {self.min_score!r}")
        if self.top_share is not None and not (_is_real(self.top_share) and 0 < self.top_share <= 1):
            raise ValueError(f"layer {self.name!r}: top_share must be a number in (0, 1], got {self.top_share!r}")
        if self.when is not None and not (isinstance(self.when, str) or callable(self.when)):
            raise ValueError(f"layer {self.name!r}: when must be an expression string or a callable")

    @property
    def catches_all(self) -> bool:
        """True for a layer without criteria (the last one)."""
        return self.min_score is None and self.top_share is None and self.when is None


#: customer (has ordered), hot (top 10%), warm (top 30% of the rest), cold (the rest).
DEFAULT_LAYERS: tuple[Layer, ...] = (
    Layer("customer", when="orders > 0"),
    Layer("hot", top_share=0.1),
    Layer("warm", top_share=0.3),
    Layer("cold"),
)


def _check_layers(layers: Sequence[Layer]) -> tuple[Layer, ...]:
    if isinstance(layers, Layer) or not isinstance(layers, Sequence):
        raise TypeError("layers must be a sequence of fk.Layer")
    out = tuple(layers)
    if not out:
        raise ValueError("layers must name at least one layer")
    for layer in out:
        if not isinstance(layer, Layer):
            raise TypeError(f"layers must be fk.Layer objects, got {type(layer).__name__}")
    names = [layer.name for layer in out]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"layer names must be unique; repeated: {', '.join(map(repr, duplicates))}")
    if not out[-1].catches_all:
        raise ValueError(
            f"the last layer ({out[-1].name!r}) catches every lead not placed before it, so it takes no "
            "min_score, top_share or when; add a catch-all layer such as fk.Layer('cold')"
        )
    for layer in out[:-1]:
        if layer.catches_all:
            raise ValueError(
                f"layer {layer.name!r} has no min_score, top_share or when, so the layers after it would "
                "stay empty; only the last layer may catch all"
            )
    return out


def _aligned(values: pd.Series | pd.DataFrame, index: pd.Index, what: str) -> Any:
    if values.index.equals(index):
        return values
    if len(values.index) == len(index) and values.index.is_unique and values.index.isin(index).all():
        return values.reindex(index)
    raise ValueError(f"{what} must be indexed like the features (the same leads)")


def _score_array(scores: Any, features: pd.DataFrame) -> np.ndarray:
    if isinstance(scores, pd.Series):
        scores = _aligned(scores, features.index, "scores")
    try:
        # Series.to_numpy: np.asarray would look up NumPy hooks among the lead ids (a hash of them).
        out = scores.to_numpy(dtype=np.float64) if isinstance(scores, pd.Series) else np.asarray(scores, np.float64)
    except (TypeError, ValueError) as error:
        raise FeatureValueError(f"scores must be numbers: {error}", subject="score") from error
    if out.shape != (len(features),):
        raise ValueError(f"scores must hold one value per lead ({len(features)}), got shape {out.shape}")
    bad = ~np.isfinite(out)
    if bad.any():
        first = features.index[int(np.argmax(bad))]
        raise FeatureValueError(
            f"scores have {int(bad.sum())} NaN or infinite value(s), first for lead {first!r}", subject="score"
        )
    return out


def _condition(layer: Layer, features: pd.DataFrame) -> np.ndarray:
    when = layer.when
    try:
        if isinstance(when, str):
            # On a plain row index: pandas would otherwise hash the lead ids to resolve names.
            result = features.reset_index(drop=True).eval(when, engine="python")
            if isinstance(result, pd.Series):
                result = result.to_numpy()
        else:
            result = when(features)  # type: ignore[misc]
    except (NameError, KeyError) as error:  # pandas' UndefinedVariableError is a NameError
        raise MissingFeatureError(
            f"layer {layer.name!r}: when={when!r} needs a feature column the features lack ({error})",
            subject=layer.name,
        ) from error
    except Exception as error:
        raise ValueError(f"layer {layer.name!r}: cannot evaluate when={when!r}: {error}") from error
    if isinstance(result, pd.Series):
        if result.dtype == "boolean":
            result = result.fillna(False)
        if len(result) == len(features) and not result.index.equals(features.index):
            result = _aligned(result, features.index, f"layer {layer.name!r}: the when condition")
        result = result.to_numpy()
    array = np.asarray(result)
    if array.dtype != np.bool_ or array.shape != (len(features),):
        raise ValueError(
            f"layer {layer.name!r}: when={when!r} must give one boolean per lead, "
            f"got {array.dtype} of shape {array.shape}"
        )
    return array


def _top_share(scores: np.ndarray, unplaced: np.ndarray, share: float) -> np.ndarray:
    """Unplaced leads whose score is in the top ``share`` of the unplaced leads' scores, ties
    kept together: in when the leads scoring at least as much number at most share x n."""
    pool = scores[unplaced]
    n = pool.size
    limit = math.floor(share * n + 1e-9)
    if limit == 0:
        return np.zeros_like(unplaced)
    # The limit-th largest score: everyone above it is in; so are its ties unless they overflow.
    cutoff = np.partition(pool, n - limit)[n - limit]
    tied_in = np.count_nonzero(pool >= cutoff) <= limit
    above: np.ndarray = (scores >= cutoff) if tied_in else (scores > cutoff)
    members: np.ndarray = unplaced & above
    return members


def _rounded(values: np.ndarray) -> np.ndarray:
    """Positive values as the reasons show them: whole numbers from 100 on, else rounded to
    three significant digits."""
    exponent = np.minimum(np.floor(np.log10(values)), 2.0)
    scale = 10.0 ** (2 - exponent)
    rounded: np.ndarray = np.round(values * scale) / scale
    return rounded


def _format_points(value: float) -> str:
    return f"+{value:.0f}" if abs(value) >= 100 else f"{value:+.3g}"


def _no_reasons(n: int) -> pd.Series:
    return pd.Series(np.full(n, "", dtype=object))


def _reasons(contributions: np.ndarray, names: Sequence[str], k: int) -> pd.Series:
    """Per row, its ``k`` largest positive contributions as ``"name (+points)"``, joined by
    ", ". Vectorised: each distinct (reason, rounded points) text is built once, and Arrow
    concatenates them per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n, m = contributions.shape
    if k == 0 or m == 0 or n == 0:
        return _no_reasons(n)
    values = np.where(np.isfinite(contributions), contributions, 0.0)
    # The k largest per row by repeated argmax (ties: the first column), cheaper than a sort.
    order = np.empty((n, min(k, m)), dtype=np.intp)
    work = values.copy()
    rows = np.arange(n)
    for r in range(order.shape[1]):
        order[:, r] = np.argmax(work, axis=1)
        work[rows, order[:, r]] = -np.inf
    top = np.take_along_axis(values, order, axis=1)
    positive = top > 0
    shown = np.where(positive, _rounded(np.where(positive, top, 1.0)), 0.0)
    value_code, uniques = pd.factorize(shown.ravel())
    # One code per (reason, rounded points) shown; -1 where nothing is shown.
    piece = np.where(positive, order * len(uniques) + value_code.reshape(shown.shape), -1)
    dense, used = pd.factorize(piece.ravel())
    dense = dense.reshape(piece.shape).astype(np.int32)
    labels = [str(name) for name in names]
    points = [_format_points(v) for v in np.asarray(uniques, dtype=np.float64).tolist()]
    texts = ["" if c < 0 else f"{labels[c // len(uniques)]} ({points[c % len(uniques)]})"
             for c in np.asarray(used).tolist()]
    # Shown reasons are a prefix of each row (largest first): later ones carry the separator.
    first = pa.array(texts, type=pa.string())
    later = pa.array([text and ", " + text for text in texts], type=pa.string())
    columns = [
        pa.DictionaryArray.from_arrays(pa.array(dense[:, r]), first if r == 0 else later).dictionary_decode()
        for r in range(piece.shape[1])
    ]
    joined = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, "")
    return joined.to_pandas()  # pandas' own string type, without a Python object per lead


def assign_layers(
    features: pd.DataFrame,
    scores: pd.Series | np.ndarray | Sequence[float] | Scorer,
    layers: Sequence[Layer] | None = None,
    *,
    reasons: int = 3,
    contributions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each lead's funnel layer and the reasons for its score.

    Parameters
    ----------
    features:
        One row per lead (:func:`funnelkit.lead_features`); ``when`` conditions read it.
    scores:
        One score per lead (a Series on the features' index, or an array in its order), or a
        :class:`~funnelkit.Scorer`, which then also gives the contributions.
    layers:
        The layers, hottest first, the last a catch-all (default :data:`DEFAULT_LAYERS`).
    reasons:
        How many of the largest positive contributions to name per lead (0: none).
    contributions:
        Per lead and reason, what it added to the score (``scorer.contributions(features)``:
        rule points for rules, log-odds terms for the logistic regression); without them the
        reasons are empty.

    Returns
    -------
    pandas.DataFrame
        On the features' index: ``layer`` (an ordered Categorical from the coldest layer to the
        hottest, so ``layer >= "warm"`` works) and ``reasons`` (say ``"cart_adds >= 1 (+20),
        recency_days <= 3 (+10)"``; "" for a lead with no positive contribution).
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a pandas DataFrame, got {type(features).__name__}")
    if not isinstance(reasons, int) or isinstance(reasons, bool) or reasons < 0:
        raise ValueError(f"reasons must be an integer >= 0, got {reasons!r}")
    chosen = _check_layers(DEFAULT_LAYERS if layers is None else layers)
    if isinstance(scores, Scorer):
        scorer = scores
        scores = scorer.score(features)
        if contributions is None and reasons > 0:
            contributions = scorer.contributions(features)
    values = _score_array(scores, features)
    n = len(features)
    code = np.full(n, len(chosen) - 1, dtype=np.int64)
    unplaced = np.ones(n, dtype=bool)
    for i, layer in enumerate(chosen[:-1]):
        members = unplaced.copy()
        if layer.when is not None:
            members &= _condition(layer, features)
        if layer.min_score is not None:
            members &= values >= layer.min_score
        if layer.top_share is not None:
            members &= _top_share(values, unplaced, float(layer.top_share))
        code[members] = i
        unplaced &= ~members
    names = [layer.name for layer in chosen]
    layer = pd.Categorical.from_codes(len(chosen) - 1 - code, categories=names[::-1], ordered=True)
    if contributions is None:
        text = _no_reasons(n)
    else:
        if not isinstance(contributions, pd.DataFrame):
            raise TypeError(
                "contributions must be a DataFrame (scorer.contributions(features)), "
                f"got {type(contributions).__name__}"
            )
        frame = _aligned(contributions, features.index, "contributions")
        text = _reasons(frame.to_numpy(dtype=np.float64), [str(c) for c in frame.columns], reasons)
    return pd.DataFrame({"layer": layer, "reasons": text.array}, index=features.index)


class LayerCounts:
    """How many leads each layer holds, coldest layer first (the top of the funnel).

    >>> import pandas as pd
    >>> layer = pd.Categorical(["hot", "cold", "cold", "warm"], categories=["cold", "warm", "hot"], ordered=True)
    >>> layer_counts(pd.DataFrame({"layer": layer})).to_pandas()
           leads  share
    layer
    cold       2   0.50
    warm       1   0.25
    hot        1   0.25
    """

    __slots__ = ("_counts",)

    def __init__(self, counts: pd.Series) -> None:
        self._counts = counts

    def to_pandas(self) -> pd.DataFrame:
        """Leads and their share per layer (a copy), coldest first."""
        total = int(self._counts.sum())
        share = self._counts / total if total else self._counts * 0.0
        return pd.DataFrame({"leads": self._counts.to_numpy(), "share": share.to_numpy(dtype=float)},
                            index=pd.Index(self._counts.index, name="layer"))

    def plot(self, ax: Axes | None = None) -> Axes:
        """The inverted pyramid of the funnel: one centred bar per layer, as wide as its count,
        the coldest (usually widest) layer on top, labelled with counts and shares. Needs
        matplotlib."""
        from funnelkit.plotting import _pyplot

        plt = _pyplot()
        frame = self.to_pandas()
        k = len(frame)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.6 * k + 1.2))
        widths = frame["leads"].to_numpy(dtype=float)
        y = np.arange(k)[::-1]
        colors = plt.get_cmap("Blues")(np.linspace(0.35, 0.9, k))
        ax.barh(y, widths, left=-widths / 2, color=colors, height=0.8)
        for yi, (name, row) in zip(y, frame.iterrows(), strict=True):
            ax.text(0, yi, f"{name}: {int(row['leads']):,} ({row['share']:.1%})", ha="center", va="center", fontsize=9)
        ax.set_yticks([])
        ax.set_xticks([])
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(f"Funnel layers: {int(widths.sum()):,} leads")
        return ax

    def __repr__(self) -> str:
        table: str = self.to_pandas().to_string(formatters={"share": "{:.1%}".format})
        return "Layer counts (coldest first)\n" + table

    def _repr_html_(self) -> str:
        table = self.to_pandas().to_html(formatters={"share": "{:.1%}".format}, border=0)
        return f"<div><strong>{html.escape('Layer counts (coldest first)')}</strong>{table}</div>"


def layer_counts(assigned: pd.DataFrame | pd.Series) -> LayerCounts:
    """Leads per layer of :func:`assign_layers`' result (or its ``layer`` column), every layer
    listed, coldest first."""
    column = assigned["layer"] if isinstance(assigned, pd.DataFrame) else assigned
    if not isinstance(column, pd.Series) or not isinstance(column.dtype, pd.CategoricalDtype):
        raise TypeError("layer_counts needs the result of fk.assign_layers (a categorical 'layer' column)")
    counts = column.value_counts(sort=False).reindex(column.cat.categories, fill_value=0).astype(np.int64)
    return LayerCounts(counts)
