"""The learned scorer against scikit-learn's LogisticRegression, SciPy and closed forms."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit

import funnelkit as fk
from funnelkit.scoring.base import BUILTIN_SCORERS
from funnelkit.scoring.logistic import ConvergenceWarning

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

TOL = 1e-4  # the agreement tolerance on coefficients


def make_data(n: int = 3000, p: int = 6, intercept: float = -1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Correlated features (a shared factor) and labels from a known logistic model."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    x = 0.7 * common + rng.normal(size=(n, p)) + np.linspace(0, 1, p)
    beta = np.array([0.8, -0.5, 0.3, 0.0, 0.6, -0.2, 0.1, 0.0][:p] + [0.0] * max(0, p - 8))
    y = (rng.random(n) < expit(intercept + x @ beta)).astype(int)
    return x, y


def imbalanced() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_data(n=20000, p=5, intercept=-5.0, seed=3)
    assert 0.01 <= y.mean() <= 0.03  # purchase labels: 1-3% positives
    return x, y


def sk_reference(x: np.ndarray, y: np.ndarray, **kwargs: object) -> SkLogisticRegression:
    """scikit-learn fitted tightly: Newton-Cholesky for L2 / no penalty, saga otherwise."""
    ratio = kwargs.get("l1_ratio", 0.0)
    solver = "newton-cholesky" if ratio == 0.0 else "saga"
    options = {"tol": 1e-12, "max_iter": 1000} if solver != "saga" else {"tol": 1e-13, "max_iter": 200000}
    sample_weight = kwargs.pop("sample_weight", None)
    model = SkLogisticRegression(solver=solver, **options, **kwargs)  # type: ignore[arg-type]
    return model.fit(x, y, sample_weight=sample_weight)


def scipy_reference(
    x: np.ndarray, y: np.ndarray, C: float, l1_ratio: float, fit_intercept: bool = True
) -> tuple[np.ndarray, float]:
    """An independent L1/elastic-net fit: w = u − v with u, v ≥ 0, L-BFGS-B on the smooth split
    problem (normalised by C·n)."""
    n, p = x.shape
    scale = C * n

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        u, v, b = theta[:p], theta[p : 2 * p], theta[2 * p] if fit_intercept else 0.0
        w = u - v
        eta = x @ w + b
        loss = np.sum(np.logaddexp(0, eta) - y * eta)
        r = expit(eta) - y
        gw = C * (x.T @ r) + (1 - l1_ratio) * w
        value = C * loss + 0.5 * (1 - l1_ratio) * w @ w + l1_ratio * (u.sum() + v.sum())
        grad = np.concatenate([gw + l1_ratio, -gw + l1_ratio, [C * r.sum()] if fit_intercept else []])
        return value / scale, grad / scale

    size = 2 * p + (1 if fit_intercept else 0)
    bounds = [(0, None)] * (2 * p) + [(None, None)] * (size - 2 * p)
    result = optimize.minimize(
        objective, np.zeros(size), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 100000, "ftol": 0.0, "gtol": 1e-13, "maxcor": 30},
    )
    theta = result.x
    return theta[:p] - theta[p : 2 * p], float(theta[2 * p]) if fit_intercept else 0.0


def assert_matches(model: fk.LogisticRegression, reference: SkLogisticRegression, x: np.ndarray) -> None:
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=TOL, rtol=0)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=TOL, rtol=0)
    np.testing.assert_allclose(model.predict_proba(x), reference.predict_proba(x), atol=1e-6)


# -- agreement with scikit-learn -------------------------------------------------------------
@pytest.mark.parametrize("C", [0.001, 0.1, 1.0, 100.0])
def test_l2_matches_sklearn_at_several_C(C: float) -> None:
    x, y = make_data()
    model = fk.LogisticRegression(C=C).fit(x, y)
    assert_matches(model, sk_reference(x, y, C=C), x)
    assert model.converged_ and model.n_iter_[0] >= 1


def test_no_penalty_and_lbfgs_solver_match_sklearn() -> None:
    x, y = make_data(seed=1)
    reference = sk_reference(x, y, C=np.inf)
    assert_matches(fk.LogisticRegression(C=np.inf).fit(x, y), reference, x)
    assert_matches(fk.LogisticRegression(penalty=None).fit(x, y), reference, x)
    lbfgs = fk.LogisticRegression(C=0.5, solver="lbfgs", max_iter=2000, tol=1e-10).fit(x, y)
    assert_matches(lbfgs, sk_reference(x, y, C=0.5), x)


def test_without_intercept_matches_sklearn() -> None:
    x, y = make_data(seed=2, intercept=0.3)
    model = fk.LogisticRegression(C=0.3, fit_intercept=False).fit(x, y)
    assert model.intercept_[0] == 0.0
    assert_matches(model, sk_reference(x, y, C=0.3, fit_intercept=False), x)


@pytest.mark.parametrize(("C", "l1_ratio"), [(0.01, 1.0), (0.1, 1.0), (0.05, 0.5), (1.0, 0.2)])
def test_l1_and_elastic_net_match_sklearn_and_scipy(C: float, l1_ratio: float) -> None:
    x, y = make_data(n=1500, p=8, seed=4)
    model = fk.LogisticRegression(C=C, l1_ratio=l1_ratio).fit(x, y)
    assert_matches(model, sk_reference(x, y, C=C, l1_ratio=l1_ratio), x)
    coef, intercept = scipy_reference(x, y, C, l1_ratio)
    np.testing.assert_allclose(model.coef_[0], coef, atol=TOL)
    assert model.intercept_[0] == pytest.approx(intercept, abs=TOL)
    if C == 0.01:
        assert (model.coef_ == 0).sum() >= 2  # a strong lasso zeroes coefficients exactly


def test_l1_without_intercept_matches_liblinear() -> None:
    x, y = make_data(n=1500, p=6, seed=5, intercept=0.0)
    model = fk.LogisticRegression(C=0.05, l1_ratio=1.0, fit_intercept=False).fit(x, y)
    # liblinear shuffles coordinates: a fixed random_state, or its convergence depends on the run
    reference = SkLogisticRegression(C=0.05, l1_ratio=1.0, solver="liblinear", fit_intercept=False, tol=1e-12,
                                     max_iter=100000, random_state=0).fit(x, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=TOL)


def test_penalty_spelling_of_older_sklearn() -> None:
    x, y = make_data(n=800, p=4, seed=6)
    lasso = fk.LogisticRegression(C=0.05, l1_ratio=1.0).fit(x, y)
    np.testing.assert_array_equal(fk.LogisticRegression(C=0.05, penalty="l1", l1_ratio=1.0).fit(x, y).coef_,
                                  lasso.coef_)
    with pytest.warns(UserWarning, match="overrides l1_ratio"):
        fk.LogisticRegression(C=0.05, penalty="l2", l1_ratio=0.5).fit(x, y)
    with pytest.raises(ValueError, match="penalty"):
        fk.LogisticRegression(penalty="l3").fit(x, y)


def test_imbalanced_purchase_like_labels_match_sklearn() -> None:
    x, y = imbalanced()
    for kwargs in ({"C": 1.0}, {"C": 0.01, "class_weight": "balanced"}):
        model = fk.LogisticRegression(**kwargs).fit(x, y)  # type: ignore[arg-type]
        assert_matches(model, sk_reference(x, y, **kwargs), x)
    sparse = fk.LogisticRegression(C=0.01, l1_ratio=1.0).fit(x, y)
    coef, intercept = scipy_reference(x, y, 0.01, 1.0)
    np.testing.assert_allclose(sparse.coef_[0], coef, atol=TOL)
    assert sparse.intercept_[0] == pytest.approx(intercept, abs=TOL)


def test_class_and_sample_weights_match_sklearn() -> None:
    x, y = make_data(seed=7, intercept=-2.0)
    weights = np.random.default_rng(7).uniform(0.2, 3.0, len(y))
    for kwargs in ({"class_weight": "balanced"}, {"class_weight": {0: 1.0, 1: 4.0}}, {}):
        model = fk.LogisticRegression(C=0.2, **kwargs).fit(x, y, sample_weight=weights)  # type: ignore[arg-type]
        assert_matches(model, sk_reference(x, y, C=0.2, sample_weight=weights, **kwargs), x)


def test_standardize_matches_a_scaler_pipeline() -> None:
    x, y = make_data(seed=8)
    x = x * np.array([1, 100, 0.01, 1, 1000, 1]) + np.array([0, 500, 0, 0, 2000, 0])
    model = fk.LogisticRegression(C=0.05, standardize=True).fit(x, y)
    pipeline = make_pipeline(StandardScaler(), SkLogisticRegression(C=0.05, solver="newton-cholesky", tol=1e-12))
    pipeline.fit(x, y)
    scaler, reference = pipeline[0], pipeline[1]
    np.testing.assert_allclose(model.coef_[0] * scaler.scale_, reference.coef_[0], atol=TOL)
    np.testing.assert_allclose(model.predict_proba(x), pipeline.predict_proba(x), atol=1e-6)
    np.testing.assert_allclose(model.means_, scaler.mean_, rtol=1e-12)


# -- the estimator in scikit-learn's machinery -----------------------------------------------
def test_clone_pipeline_cross_validation_and_grid_search() -> None:
    x, y = make_data(n=1200, seed=9)
    model = fk.LogisticRegression(C=0.5, l1_ratio=0.3, threads=2)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")
    scores = cross_val_score(make_pipeline(StandardScaler(), fk.LogisticRegression()), x, y, cv=3)
    reference = cross_val_score(make_pipeline(StandardScaler(), SkLogisticRegression()), x, y, cv=3)
    np.testing.assert_allclose(scores, reference, atol=1e-3)
    search = GridSearchCV(fk.LogisticRegression(), {"C": [0.01, 1.0], "l1_ratio": [0.0, 1.0]}, cv=3).fit(x, y)
    assert search.best_params_["C"] in (0.01, 1.0)
    assert isinstance(search.best_estimator_, fk.LogisticRegression)
    assert search.best_estimator_.predict(x).shape == (len(y),)
    auc = cross_val_score(fk.LogisticRegression(), x, y, cv=3, scoring="roc_auc")
    assert (auc > 0.6).all()


def test_string_labels_and_predict() -> None:
    x, y = make_data(n=600, seed=10)
    labels = np.where(y == 1, "buyer", "browser")
    model = fk.LogisticRegression().fit(x, labels)
    assert model.classes_.tolist() == ["browser", "buyer"]
    reference = sk_reference(x, labels)
    assert (model.predict(x) == reference.predict(x)).all()
    assert model.score(x, labels) == pytest.approx(reference.score(x, labels))
    np.testing.assert_allclose(model.decision_function(x), reference.decision_function(x), atol=1e-6)


# -- determinism, documents ------------------------------------------------------------------
def test_threads_do_not_change_the_fit() -> None:
    x, y = make_data(n=60000, p=7, seed=11)
    weights = np.random.default_rng(11).uniform(0.5, 2.0, len(y))
    fits = [fk.LogisticRegression(C=0.1, l1_ratio=0.4, threads=t).fit(x, y, sample_weight=weights) for t in (1, 2, 5)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
        np.testing.assert_array_equal(other.predict_proba(x), fits[0].predict_proba(x))


def lead_frame(n: int = 3000, seed: int = 12) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    stages = ["none", "visit", "cart", "left"]
    stage = pd.Categorical(rng.choice(stages, n, p=[0.4, 0.3, 0.2, 0.1]), categories=stages)
    frame = pd.DataFrame(
        {
            "sessions": rng.poisson(3, n),
            "cart_value": rng.exponential(40, n),
            "recency_days": rng.exponential(12, n),
            "stage": stage,
            "note": ["x"] * n,  # not a feature: left out
        },
        index=pd.Index([f"lead{i}" for i in range(n)], name="lead_id"),
    )
    effect = pd.Series({"none": -1.0, "visit": 0.0, "cart": 1.2, "left": -0.5})
    odds = -2 + 0.3 * frame.sessions + 0.01 * frame.cart_value - 0.05 * frame.recency_days
    odds = odds + effect[frame.stage.astype(str)].to_numpy()
    labels = pd.Series((rng.random(n) < expit(odds)).astype(int), index=frame.index, name="purchased")
    return frame, labels


def test_dataframe_with_categorical_stage_matches_one_hot_sklearn() -> None:
    frame, labels = lead_frame()
    model = fk.LogisticRegression(C=0.5).fit(frame, labels)
    assert model.feature_names == ["sessions", "cart_value", "recency_days", "stage"]
    assert model.coef_names_ == ["sessions", "cart_value", "recency_days", "stage=none", "stage=visit", "stage=cart",
                                 "stage=left"]
    design = pd.get_dummies(frame.drop(columns="note"), columns=["stage"], dtype=float)
    reference = sk_reference(design.to_numpy(), labels.to_numpy(), C=0.5)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=TOL)
    np.testing.assert_allclose(model.predict_proba(frame)[:, 1], reference.predict_proba(design.to_numpy())[:, 1],
                               atol=1e-6)
    assert model.n_features_in_ == 5 and list(model.feature_names_in_) == list(frame.columns)

    scores = model.score(frame)
    assert scores.name == "score" and scores.index.equals(frame.index)
    contributions = model.contributions(frame)
    assert list(contributions.columns) == model.feature_names
    logit = np.log(scores / (1 - scores))
    np.testing.assert_allclose(contributions.sum(axis=1) + model.baseline_, logit, atol=1e-9)
    np.testing.assert_allclose(contributions["sessions"], model.coef_[0, 0] * (frame.sessions - frame.sessions.mean()))

    # Shuffled labels are aligned on the index; an unseen stage adds nothing.
    np.testing.assert_array_equal(fk.LogisticRegression(C=0.5).fit(frame, labels.sample(frac=1, random_state=0)).coef_,
                                  model.coef_)
    later = frame.head(3).copy()
    later["stage"] = pd.Categorical(["cart", "won", "visit"])
    decision = model.decision_function(later)
    base = model.intercept_[0] + later[["sessions", "cart_value", "recency_days"]].to_numpy() @ model.coef_[0, :3]
    assert decision[1] == pytest.approx(base[1])


def test_features_argument_selects_columns() -> None:
    frame, labels = lead_frame(n=500)
    model = fk.LogisticRegression(features=["sessions", "stage"]).fit(frame, labels)
    assert model.feature_names == ["sessions", "stage"]
    assert model.coef_.shape == (1, 5)
    with pytest.raises(fk.MissingFeatureError, match="nope"):
        fk.LogisticRegression(features=["nope"]).fit(frame, labels)


@pytest.mark.parametrize("kwargs", [{"C": 0.3}, {"C": np.inf}, {"C": 0.1, "l1_ratio": 1.0, "class_weight": {0: 1, 1: 3}}])
def test_json_and_pickle_round_trips_predict_identically(kwargs: dict[str, object], tmp_path: object) -> None:
    frame, labels = lead_frame(n=800)
    model = fk.LogisticRegression(**kwargs).fit(frame, labels)  # type: ignore[arg-type]
    expected = model.predict_proba(frame)
    document = json.loads(model.to_json())
    assert document["type"] == "logistic" and document["features"] == model.feature_names
    for copy in (fk.Scorer.from_json(model.to_json()), pickle.loads(pickle.dumps(model))):
        assert isinstance(copy, fk.LogisticRegression)
        np.testing.assert_array_equal(copy.predict_proba(frame), expected)
        np.testing.assert_array_equal(copy.coef_, model.coef_)
        assert copy.get_params() == model.get_params()
        pd.testing.assert_frame_equal(copy.contributions(frame), model.contributions(frame))
    unfitted = pickle.loads(pickle.dumps(fk.LogisticRegression(C=2.0)))
    assert unfitted.C == 2.0 and not hasattr(unfitted, "coef_")
    assert BUILTIN_SCORERS["logistic"] is fk.LogisticRegression


def test_fits_straight_on_lead_features() -> None:
    shop = fk.datasets.shop_events(3000, days=60, seed=1, returning=2.0, return_days=7)
    log = fk.read_events(shop.events)
    features, labels = fk.training_set(log, log.end - pd.Timedelta("14D"), horizon="14D")
    assert labels.nunique() == 2
    model = fk.LogisticRegression(standardize=True).fit(features, labels)
    assert "stage" in model.feature_names  # the categorical stage is one-hot encoded
    scores = model.score(features)
    assert scores.index.equals(features.index) and scores.between(0, 1).all()
    assert list(model.contributions(features).columns) == model.feature_names


# -- bad input -------------------------------------------------------------------------------
def test_bad_labels_and_features() -> None:
    x, y = make_data(n=200, seed=13)
    with pytest.raises(fk.LabelError, match="two classes"):
        fk.LogisticRegression().fit(x, np.ones(200))
    with pytest.raises(fk.LabelError, match="two classes"):
        fk.LogisticRegression().fit(x, np.arange(200) % 3)
    with pytest.raises(fk.LabelError, match="199 labels"):
        fk.LogisticRegression().fit(x, y[:199])
    with pytest.raises(fk.LabelError, match="NaN"):
        fk.LogisticRegression().fit(x, np.where(y == 1, 1.0, np.nan))
    frame, labels = lead_frame(n=300)
    frame.loc["lead7", "cart_value"] = np.nan
    with pytest.raises(fk.FeatureValueError, match="cart_value.*lead7") as info:
        fk.LogisticRegression().fit(frame, labels)
    assert info.value.subject == "cart_value"
    bad = x.copy()
    bad[5, 2] = np.inf
    with pytest.raises(fk.FeatureValueError, match="x2"):
        fk.LogisticRegression().fit(bad, y)
    with pytest.raises(fk.ScoringError, match="sample_weight"):
        fk.LogisticRegression().fit(x, y, sample_weight=np.ones(3))


def test_not_fitted_and_missing_features() -> None:
    model = fk.LogisticRegression()
    frame, labels = lead_frame(n=300)
    for call in (lambda: model.predict_proba(frame), lambda: model.score(frame), lambda: model.feature_names):
        with pytest.raises(fk.NotFittedError):
            call()
    model.fit(frame, labels)
    with pytest.raises(fk.MissingFeatureError, match="recency_days") as info:
        model.score(frame.drop(columns="recency_days"))
    assert info.value.subject == "recency_days"
    with pytest.raises(fk.MissingFeatureError):
        fk.LogisticRegression().fit(make_data(n=100)[0], make_data(n=100)[1]).predict(np.zeros((2, 3)))


def test_stopping_early_warns() -> None:
    x, y = make_data(n=500, seed=14)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model = fk.LogisticRegression(max_iter=1, solver="lbfgs").fit(x, y)
    assert not model.converged_ and model.n_iter_[0] == 1
    assert issubclass(ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fk.LogisticRegression().fit(x, y)  # converges silently


def test_separable_data_without_penalty_does_not_hang() -> None:
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it may stop on max_iter or a flat gradient
        model = fk.LogisticRegression(C=np.inf, max_iter=50).fit(x, [0, 0, 1, 1])
    assert model.predict(x).tolist() == [0, 0, 1, 1]
    assert np.isfinite(model.coef_).all()


def test_categories_of_any_type_survive_documents() -> None:
    rng = np.random.default_rng(15)
    frame = pd.DataFrame({"a": rng.normal(size=300), "k": pd.Categorical(rng.integers(0, 3, 300)),
                          "s": rng.choice(["web", "app"], 300).astype(object)})
    labels = (rng.random(300) < expit(frame.a + (frame.s == "app"))).astype(int)
    model = fk.LogisticRegression(features=["a", "k", "s"]).fit(frame, labels)
    assert model.coef_names_ == ["a", "k=0", "k=1", "k=2", "s=app", "s=web"]
    copy = fk.Scorer.from_json(model.to_json())
    np.testing.assert_array_equal(copy.score(frame), model.score(frame))


def test_remembers_how_its_features_were_made(tmp_path: Path) -> None:
    # Trained on features with decayed counts, the saved model tells the batch job to make them.
    shop = fk.datasets.shop_events(3000, days=60, seed=2, returning=2.0, return_days=7)
    log = fk.read_events(shop.events, segments=["product_id", "category"])
    options = {"decay": [("add_to_cart", 7.0)], "event_counts": ["subscribe"]}
    at = log.end - pd.Timedelta("14D")
    features, labels = fk.training_set(log, at, horizon="14D", **options)
    model = fk.LogisticRegression(standardize=True).fit(features, labels)
    assert model.feature_options() == {"decay": [["add_to_cart", 7.0]], "event_counts": ["subscribe"]}
    model.save(tmp_path / "model.json")
    loaded = fk.Scorer.load(tmp_path / "model.json")
    assert loaded.feature_options() == model.feature_options()
    scored = fk.score_leads(log, {"m": tmp_path / "model.json"}, at=at, progress=False)
    assert isinstance(scored, pd.DataFrame)
    np.testing.assert_allclose(scored["m_score"].to_numpy(), model.score(features).to_numpy(), rtol=0, atol=1e-15)
    # Arrays carry no recipe: no options.
    plain = fk.LogisticRegression(standardize=True).fit(features.select_dtypes("number").to_numpy(), labels.to_numpy())
    assert plain.feature_options() == {}
