"""The learned lead scorer: regularised logistic regression trained by the C++ engine.

:class:`LogisticRegression` is both a scikit-learn estimator (``fit``, ``predict_proba``,
``decision_function``, ``get_params``/``set_params``; usable in pipelines, cross-validation
and grid searches) and a :class:`funnelkit.Scorer` (``score`` without labels, reasons,
versioned JSON). It minimises exactly scikit-learn's objective for ``LogisticRegression``

.. math:: C \\sum_i s_i \\ell_i(w, b) + \\frac{1 - \\rho}{2} \\lVert w \\rVert_2^2 + \\rho \\lVert w \\rVert_1

(``s_i`` = sample weight × class weight, ``ρ`` = ``l1_ratio``, ``C = inf``: no penalty; the
intercept is not penalised), so its coefficients agree with scikit-learn's on the same data::

    >>> import numpy as np
    >>> import pandas as pd
    >>> import funnelkit as fk
    >>> rng = np.random.default_rng(0)
    >>> features = pd.DataFrame({"sessions": rng.poisson(3, 500).astype(float),
    ...                          "recency_days": rng.exponential(10, 500)})
    >>> odds = -2 + 0.5 * features.sessions - 0.1 * features.recency_days
    >>> labels = pd.Series((rng.random(500) < 1 / (1 + np.exp(-odds))).astype(int), index=features.index)
    >>> model = fk.LogisticRegression(C=10.0).fit(features, labels)
    >>> model.feature_names
    ['sessions', 'recency_days']
    >>> model.coef_.round(2)
    array([[ 0.6 , -0.11]])
    >>> model.score(features).name   # without labels: the lead scores (probabilities)
    'score'
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.errors import FeatureValueError, LabelError, MissingFeatureError, NotFittedError, ScoringError
from funnelkit.scoring.base import Scorer

__all__ = ["ConvergenceWarning", "LogisticRegression"]

_SOLVERS = {"auto": "auto", "newton": "newton", "newton-cholesky": "newton", "lbfgs": "lbfgs"}
_PENALTIES = ("auto", "l1", "l2", "elasticnet", None)


class _FallbackEstimator:
    """The part of scikit-learn's BaseEstimator funnelkit needs when scikit-learn is absent."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            p.name for p in signature.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"


class _FallbackClassifier:
    _estimator_type = "classifier"


def _bases() -> tuple[type, type, type[Warning]]:
    try:
        from sklearn.base import BaseEstimator, ClassifierMixin
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    except ImportError:  # pragma: no cover - scikit-learn is a test extra, not a dependency
        return _FallbackClassifier, _FallbackEstimator, UserWarning
    return ClassifierMixin, BaseEstimator, SklearnConvergenceWarning


_ClassifierBase, _EstimatorBase, _WarningBase = _bases()


class ConvergenceWarning(_WarningBase):  # type: ignore[valid-type,misc]
    """The fit stopped at ``max_iter`` before reaching ``tol`` (a subclass of scikit-learn's
    ConvergenceWarning when scikit-learn is installed, so its warning filters apply)."""


class LogisticRegression(_ClassifierBase, _EstimatorBase, Scorer):  # type: ignore[valid-type,misc]
    """Regularised binary logistic regression, fitted by funnelkit's engine.

    Parameters
    ----------
    C
        Inverse penalty strength (``numpy.inf``: no penalty), as in scikit-learn.
    l1_ratio
        Elastic-net mixing ``ρ``: 0 is L2 (the default), 1 is L1, between is the elastic net.
    penalty
        scikit-learn's older spelling, accepted for compatibility (it is deprecated there since
        1.8): ``"auto"`` (default) means ``l1_ratio`` and ``C`` decide; ``"l2"`` and ``"l1"``
        force ``l1_ratio`` to 0 or 1, ``"elasticnet"`` uses ``l1_ratio``, ``None`` fits without
        a penalty (ignoring ``C``).
    fit_intercept
        Fit an (unpenalised) intercept.
    class_weight
        None, ``"balanced"`` (class c weighs Σ s / (2 Σ_{y=c} s), scikit-learn's rule) or a dict
        from class label to weight; multiplies the sample weights.
    solver
        ``"auto"`` (Newton steps up to 1000 columns, L-BFGS above for L2), ``"newton"`` (IRLS
        with LDLT solves, coordinate descent for an L1 part; ``"newton-cholesky"`` is an alias)
        or ``"lbfgs"`` (L2 or no penalty).
    max_iter, tol
        Iteration cap and tolerance on the largest entry of the (sub)gradient of the objective
        divided by ``C · Σ s`` (scikit-learn's lbfgs scale). Stopping at ``max_iter`` warns
        with :class:`ConvergenceWarning`.
    standardize
        Fit on columns scaled to mean 0 and unit variance (population std), folding the
        scaling into ``coef_``: the penalty then treats features alike whatever their units
        (scikit-learn's ``make_pipeline(StandardScaler(), LogisticRegression())``).
    features
        On DataFrames, the columns to use; default: every numeric (bool, integer, float) and
        categorical column (others are left out). Categorical (or, when named here, string)
        columns are one-hot encoded with their training categories remembered; at scoring
        time an unseen category adds nothing.
    threads
        Threads for fitting and scoring (None: all cores). Results do not depend on it.

    Notes
    -----
    ``score(X, y)`` is scikit-learn's mean accuracy (what cross-validation and grid searches
    call); ``score(features)`` without labels is the :class:`~funnelkit.Scorer` method: a Series
    of purchase probabilities on the features' index named ``"score"``. Reasons
    (:meth:`contributions`) are per feature in log-odds relative to the training data's average
    lead: ``w_j (x_j − mean_j)``, or for a categorical feature the level's coefficient minus the
    share-weighted average of its levels' coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> import funnelkit as fk
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = fk.LogisticRegression().fit(x, [0, 0, 1, 1])
    >>> model.predict(x).tolist()
    [0, 0, 1, 1]
    >>> copy = fk.Scorer.from_json(model.to_json())
    >>> bool((copy.predict_proba(x) == model.predict_proba(x)).all())
    True
    """

    builtin_name = "logistic"

    def __init__(
        self,
        C: float = 1.0,
        *,
        l1_ratio: float = 0.0,
        penalty: str | None = "auto",
        fit_intercept: bool = True,
        class_weight: str | Mapping[Any, float] | None = None,
        solver: str = "auto",
        max_iter: int = 100,
        tol: float = 1e-8,
        standardize: bool = False,
        features: Sequence[str] | None = None,
        threads: int | None = None,
        **fitted: Any,
    ) -> None:
        # Documents store an infinite C as "inf" and a class-weight dict as [label, weight]
        # pairs (JSON has neither infinity nor non-string keys).
        stored: Any = C
        self.C = math.inf if isinstance(stored, str) and stored == "inf" else C
        self.l1_ratio = l1_ratio
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.class_weight = dict(class_weight) if isinstance(class_weight, list) else class_weight
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.standardize = standardize
        self.features = features
        self.threads = threads
        unexpected = set(fitted) - {"fitted"}
        if unexpected:
            raise TypeError(f"LogisticRegression got unexpected keyword argument(s): {', '.join(sorted(unexpected))}")
        if fitted.get("fitted") is not None:
            self._restore(fitted["fitted"])

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit to features ``X`` (DataFrame or array, rows x features) and binary labels ``y``.

        Raises :class:`~funnelkit.LabelError` for labels of one class, of more than two
        classes or of another length, :class:`~funnelkit.FeatureValueError` for NaN/inf
        features (naming the column). Returns ``self``.
        """
        C, l1_ratio = self._penalty()
        solver = _SOLVERS.get(self.solver)
        if solver is None:
            raise ValueError(f"solver must be one of {sorted(_SOLVERS)}, got {self.solver!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 0):
            raise ValueError(f"max_iter must be a non-negative integer, got {self.max_iter!r}")
        if not self.tol > 0:
            raise ValueError(f"tol must be positive, got {self.tol!r}")
        raw, names, categories, index, feature_names_in = self._select(X)
        labels = self._labels(y, len(raw[0]) if raw else _row_count(X), index)
        classes = np.unique(labels)
        if len(classes) != 2:
            raise LabelError(
                f"logistic regression needs labels of exactly two classes; got {len(classes)}"
                + (f" ({classes.tolist()[:5]})" if len(classes) else ""),
                subject="y",
            )
        y01 = np.ascontiguousarray(labels == classes[1], dtype=np.float64)
        weights = None
        if sample_weight is not None:
            weights = np.ascontiguousarray(sample_weight, dtype=np.float64).reshape(-1)
            if weights.shape[0] != y01.shape[0]:
                raise ScoringError(
                    f"sample_weight has {weights.shape[0]} entries but there are {y01.shape[0]} rows",
                    subject="sample_weight",
                )
            if not (np.isfinite(weights).all() and (weights >= 0).all()):
                raise ScoringError("sample weights must be finite and non-negative", subject="sample_weight")
        class_weight, balanced = self._class_weights(classes)
        design, levels = _one_hot(raw, names, categories)
        result = _core.fit_logistic(
            columns=design, y=y01, sample_weight=weights, C=C, l1_ratio=l1_ratio,
            fit_intercept=bool(self.fit_intercept), standardize=bool(self.standardize), solver=solver,
            max_iter=int(self.max_iter), tol=float(self.tol), class_weight=class_weight, balanced=balanced,
            threads=_threads(self.threads),
        )
        if not result["converged"]:
            warnings.warn(
                ConvergenceWarning(
                    f"logistic regression ({result['solver']}) stopped after {result['iterations']} iteration(s) "
                    f"with gradient {result['gradient_norm']:.3g} > tol={self.tol:g}; raise max_iter, scale the "
                    "features (standardize=True) or loosen tol"
                ),
                stacklevel=2,
            )
        self._restore(
            {
                "features": names,
                "levels": levels,
                "categories": {name: list(values) for name, values in categories.items()},
                "coefficients": result["coefficients"].tolist(),
                "intercept": float(result["intercept"]) if self.fit_intercept else 0.0,
                "means": result["means"].tolist(),
                "scales": result["scales"].tolist(),
                "classes": classes.tolist(),
                "n_iter": int(result["iterations"]),
                "converged": bool(result["converged"]),
                "solver": result["solver"],
                "n_features_in": _column_count(X),
                "feature_names_in": feature_names_in,
                # How fk.lead_features made X (decayed counts, mapping...), so that the batch
                # job computes the same columns at scoring time.
                "feature_options": dict(X.attrs.get("feature_options", {})) if isinstance(X, pd.DataFrame) else {},
            }
        )
        return self

    def feature_options(self) -> dict[str, Any]:
        """The :func:`funnelkit.lead_features` options the training features were made with
        (empty when they did not come from it)."""
        self._check_fitted()
        return dict(self._state.get("feature_options", {}))

    def _penalty(self) -> tuple[float, float]:
        """(C, l1_ratio) after scikit-learn's older ``penalty`` spelling."""
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty must be one of {list(_PENALTIES)}, got {self.penalty!r}")
        C, ratio = float(self.C), float(self.l1_ratio)
        if not C > 0:
            raise ValueError(f"C must be positive (numpy.inf: no penalty), got {self.C!r}")
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"l1_ratio must be between 0 and 1, got {self.l1_ratio!r}")
        if self.penalty is None:
            return math.inf, 0.0
        if self.penalty in ("l1", "l2"):
            forced = 1.0 if self.penalty == "l1" else 0.0
            if ratio != forced:
                warnings.warn(
                    f"penalty={self.penalty!r} overrides l1_ratio={self.l1_ratio}; use l1_ratio alone", stacklevel=3
                )
            return C, forced
        return C, ratio

    def _class_weights(self, classes: np.ndarray) -> tuple[tuple[float, float], bool]:
        weight = self.class_weight
        if weight is None:
            return (1.0, 1.0), False
        if isinstance(weight, str):
            if weight != "balanced":
                raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {weight!r}")
            return (1.0, 1.0), True
        if not isinstance(weight, Mapping):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {type(weight).__name__}")
        unknown = [key for key in weight if key not in set(classes.tolist())]
        if unknown:
            raise LabelError(f"class_weight names classes not in the labels: {unknown}", subject="class_weight")
        return (float(weight.get(classes[0].item(), 1.0)), float(weight.get(classes[1].item(), 1.0))), False

    def _labels(self, y: Any, rows: int, index: pd.Index | None) -> np.ndarray:
        if isinstance(y, pd.Series) and index is not None and not y.index.equals(index):
            if len(y) == len(index) and y.index.is_unique and set(y.index) == set(index):
                y = y.reindex(index)
            else:
                raise LabelError("the labels' index does not match the features' index", subject="y")
        if isinstance(y, pd.Series) and isinstance(y.dtype, pd.CategoricalDtype):
            y = y.astype(object)
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels.ravel()
        if labels.ndim != 1:
            raise LabelError(f"labels must be one-dimensional, got shape {labels.shape}", subject="y")
        if labels.shape[0] != rows:
            raise LabelError(f"there are {labels.shape[0]} labels for {rows} rows of features", subject="y")
        if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
            raise LabelError("the labels hold NaN or infinite values", subject="y")
        if labels.dtype == object and pd.isna(labels).any():
            raise LabelError("the labels hold missing values", subject="y")
        return labels

    # -- feature tables -----------------------------------------------------------------
    def _select(
        self, X: Any
    ) -> tuple[list[np.ndarray], list[str], dict[str, list[Any]], pd.Index | None, list[str] | None]:
        """Training columns: (raw columns, names, categories per categorical column, index,
        feature_names_in_)."""
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            if self.features is not None:
                names = [str(name) for name in self.features]
                missing = [name for name in names if name not in X.columns]
                if missing:
                    raise MissingFeatureError(
                        f"the features lack the column(s) named in features=: {', '.join(map(repr, missing))}",
                        subject=missing[0],
                    )
            else:
                names = [str(c) for c in X.columns if _usable(X[c])]
                if not names:
                    raise FeatureValueError("the features have no numeric or categorical column to fit on")
            categories: dict[str, list[Any]] = {}
            for name in names:
                column = X[name]
                if isinstance(column.dtype, pd.CategoricalDtype):
                    categories[name] = column.cat.categories.tolist()
                elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
                    categories[name] = sorted(column.dropna().unique().tolist())
            raw = [_raw_column(X, name, categories.get(name)) for name in names]
            empty = [name for name, values in categories.items() if not values]
            if empty:
                raise FeatureValueError(f"categorical feature {empty[0]!r} has no categories", subject=empty[0])
            return raw, names, categories, X.index, [str(c) for c in X.columns]
        matrix = _as_matrix(X)
        names = [f"x{j}" for j in range(matrix.shape[1])]
        raw = [_checked(np.ascontiguousarray(matrix[:, j]), names[j], None) for j in range(matrix.shape[1])]
        return raw, names, {}, None, None

    def _columns(self, X: Any) -> tuple[list[np.ndarray], pd.Index | None, int]:
        """The fitted features of ``X`` as the engine reads them (categorical: level codes)."""
        self._check_fitted()
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            missing = [name for name in self._features if name not in X.columns]
            if missing:
                raise MissingFeatureError(
                    f"the features lack {len(missing)} column(s) the scorer was fitted on: "
                    f"{', '.join(map(repr, missing[:10]))}",
                    subject=missing[0],
                )
            raw = [_raw_column(X, name, self._categories.get(name)) for name in self._features]
            return raw, X.index, len(X)
        matrix = _as_matrix(X)
        if matrix.shape[1] != len(self._features):
            raise MissingFeatureError(
                f"X has {matrix.shape[1]} features, but the model was fitted on {len(self._features)}",
                subject=self._features[min(matrix.shape[1], len(self._features) - 1)],
            )
        raw = [_checked(np.ascontiguousarray(matrix[:, j]), name, None) for j, name in enumerate(self._features)]
        return raw, None, matrix.shape[0]

    # -- fitted state --------------------------------------------------------------------
    def _restore(self, state: Mapping[str, Any]) -> None:
        self._features: list[str] = list(state["features"])
        self._categories: dict[str, list[Any]] = {k: list(v) for k, v in state.get("categories", {}).items()}
        levels = [int(v) for v in state["levels"]]
        self._scorer = _core.LogisticScorer(
            features=self._features, levels=levels, coefficients=[float(v) for v in state["coefficients"]],
            intercept=float(state["intercept"]), means=[float(v) for v in state["means"]],
            scales=[float(v) for v in state["scales"]],
        )
        self._state = dict(state)
        self.classes_ = np.asarray(state["classes"])
        self.coef_ = np.asarray(state["coefficients"], dtype=np.float64).reshape(1, -1)
        self.intercept_ = np.array([float(state["intercept"])])
        self.n_iter_ = np.array([int(state.get("n_iter", 0))], dtype=np.int32)
        self.n_features_in_ = int(state.get("n_features_in", len(self._features)))
        names_in = state.get("feature_names_in")
        if names_in is not None:
            self.feature_names_in_ = np.asarray(names_in, dtype=object)
        self.means_ = np.asarray(state["means"], dtype=np.float64)
        self.scales_ = np.asarray(state["scales"], dtype=np.float64)
        self.converged_ = bool(state.get("converged", True))

    def _check_fitted(self) -> None:
        if not hasattr(self, "_scorer"):
            raise NotFittedError(
                "this LogisticRegression is not fitted yet; call fit(features, labels) first", subject="fit"
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_scorer")

    @property
    def coef_names_(self) -> list[str]:
        """A name per entry of ``coef_``: the feature, or ``"feature=level"`` for one-hot columns."""
        self._check_fitted()
        out: list[str] = []
        for name in self._features:
            if name in self._categories:
                out.extend(f"{name}={level}" for level in self._categories[name])
            else:
                out.append(name)
        return out

    # -- scikit-learn predictions --------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds ``b + Σ w_j x_j`` of the positive class, one per row."""
        raw, _, rows = self._columns(X)
        return np.asarray(self._scorer.decision(raw, rows, _threads(self.threads)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_`` (rows x 2)."""
        raw, _, rows = self._columns(X)
        positive = np.asarray(self._scorer.score(raw, rows, _threads(self.threads)))
        return np.column_stack([1.0 - positive, positive])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.asarray(np.log(self.predict_proba(X)))

    def predict(self, X: Any) -> np.ndarray:
        """The class of each row (``classes_[1]`` where the log-odds are positive)."""
        return np.asarray(self.classes_)[(self.decision_function(X) > 0).astype(np.intp)]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """With labels ``y``: the mean accuracy (scikit-learn's ``score``). Without: the lead
        scores, purchase probabilities as a Series named ``"score"`` on the features' index
        (:meth:`funnelkit.Scorer.score`)."""
        if y is None:
            raw, index, rows = self._columns(X)
            values = np.asarray(self._scorer.score(raw, rows, _threads(self.threads)))
            return pd.Series(values, index=index, name="score")
        predicted = self.predict(X)
        return float(np.average(predicted == np.asarray(y).reshape(-1), weights=sample_weight))

    # -- funnelkit Scorer ----------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        self._check_fitted()
        return list(self._features)

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for rows of ``x`` (columns: :attr:`feature_names`; a categorical
        feature as its level codes in the training categories, −1: unseen)."""
        self._check_fitted()
        x = np.asarray(x, dtype=np.float64)
        columns = [np.ascontiguousarray(x[:, j]) for j in range(x.shape[1])]
        return np.asarray(self._scorer.score(columns, x.shape[0], _threads(self.threads)))

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray:
        self._check_fitted()
        x = np.asarray(x, dtype=np.float64)
        columns = [np.ascontiguousarray(x[:, j]) for j in range(x.shape[1])]
        return np.asarray(self._scorer.contributions(columns, x.shape[0], _threads(self.threads)))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per lead and feature, its contribution in log-odds relative to the average training
        lead (they sum to ``logit(score) − baseline_``)."""
        raw, index, rows = self._columns(features)
        matrix = np.asarray(self._scorer.contributions(raw, rows, _threads(self.threads)))
        return pd.DataFrame(matrix, index=index, columns=list(self._features))

    @property
    def baseline_(self) -> float:
        """Log-odds of the training data's average lead (what contributions are relative to)."""
        self._check_fitted()
        return float(self._scorer.baseline)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "C": self.C if math.isfinite(float(self.C)) else "inf",
            "l1_ratio": self.l1_ratio,
            "penalty": self.penalty,
            "fit_intercept": bool(self.fit_intercept),
            "class_weight": (
                [[k.item() if isinstance(k, np.generic) else k, float(v)] for k, v in self.class_weight.items()]
                if isinstance(self.class_weight, Mapping)
                else self.class_weight
            ),
            "solver": self.solver,
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
            "standardize": bool(self.standardize),
            "features": list(self.features) if self.features is not None else None,
            "threads": self.threads,
        }
        if hasattr(self, "_scorer"):
            params["fitted"] = self._state
        return params

    def __reduce__(self) -> tuple[Any, ...]:
        if hasattr(self, "_scorer"):
            return Scorer.__reduce__(self)
        # Unfitted (scikit-learn clones and ships these to worker processes): the parameters.
        return (_unfitted, (type(self), self.get_params(deep=False)))


def _unfitted(cls: type[LogisticRegression], params: dict[str, Any]) -> LogisticRegression:
    return cls(**params)


# -- helpers ---------------------------------------------------------------------------------
def _threads(threads: int | None) -> int:
    if threads is None:
        return 0
    if int(threads) < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return int(threads)


def _usable(column: pd.Series) -> bool:
    """Whether the default selection fits on a column: numbers, booleans and categoricals with
    at least one category (a log without a category column gives empty top_category_j)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return len(dtype.categories) > 0
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    )


def _row_count(X: Any) -> int:
    return len(X) if hasattr(X, "__len__") else int(np.asarray(X).shape[0])


def _column_count(X: Any) -> int:
    return int(X.shape[1]) if hasattr(X, "shape") and len(X.shape) == 2 else int(np.asarray(X).shape[1])


def _as_matrix(X: Any) -> np.ndarray:
    try:
        matrix = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise FeatureValueError(f"the features are not numeric: {error}") from error
    if matrix.ndim != 2:
        raise FeatureValueError(f"the features must be two-dimensional (rows x features), got shape {matrix.shape}")
    return matrix


def _checked(values: np.ndarray, name: str, index: pd.Index | None) -> np.ndarray:
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        where = f"lead {index[first]!r}" if index is not None else f"row {first}"
        raise FeatureValueError(
            f"feature {name!r} has {int(bad.sum())} NaN or infinite value(s), first for {where}", subject=name
        )
    return values


def _raw_column(frame: pd.DataFrame, name: str, categories: list[Any] | None) -> np.ndarray:
    """A feature column as float64 (zero-copy for float64 columns); a categorical one as level
    codes in ``categories`` (−1: missing or unseen)."""
    column = frame[name]
    if isinstance(column, pd.DataFrame):
        raise FeatureValueError(f"feature {name!r} names more than one column", subject=name)
    if categories is not None:
        known = pd.Index(categories)
        if isinstance(column.dtype, pd.CategoricalDtype):
            # code -1 (missing) picks the appended -1, which also covers a column without categories
            lookup = np.append(known.get_indexer(column.cat.categories), -1)
            return np.asarray(lookup[column.cat.codes.to_numpy()], dtype=np.float64)
        return np.asarray(known.get_indexer(column.to_numpy(dtype=object)), dtype=np.float64)
    if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
        raise FeatureValueError(
            f"feature {name!r} is {column.dtype} at scoring time but was numeric when fitted", subject=name
        )
    try:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise FeatureValueError(f"feature {name!r} is not numeric: {error}", subject=name) from error
    return _checked(values, name, frame.index)


def _one_hot(
    raw: list[np.ndarray], names: list[str], categories: dict[str, list[Any]]
) -> tuple[list[np.ndarray], list[int]]:
    """The design columns (numeric as they are, categorical as one indicator per level) and
    the level count per feature (0: numeric)."""
    design: list[np.ndarray] = []
    levels: list[int] = []
    for values, name in zip(raw, names, strict=True):
        if name in categories:
            count = len(categories[name])
            levels.append(count)
            design.extend((values == k).astype(np.float64) for k in range(count))
        else:
            levels.append(0)
            design.append(values)
    return design, levels
