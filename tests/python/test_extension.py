"""Python extensions plugged into the C++ engine through the one registry mechanism."""

from __future__ import annotations

import gc
import json
import math
import pickle
from collections.abc import Iterator

import numpy as np
import pytest
from reference import ParamlessDistribution
from scipy import stats

import funnelkit as fk


class PyExponential(fk.Distribution):
    """An exponential written in Python: the engine must treat it like the built-in."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def params(self) -> dict[str, float]:
        return {"rate": self.rate}

    def cdf(self, t: float) -> float:
        return 0.0 if t <= 0 else -math.expm1(-self.rate * t)

    def pdf(self, t: float) -> float:
        return 0.0 if t < 0 else self.rate * math.exp(-self.rate * t)

    def quantile(self, p: float) -> float:
        return -math.log1p(-p) / self.rate


class WithMean(PyExponential):
    def mean(self) -> float:
        return 1.0 / self.rate

    def second_moment(self) -> float:
        return 2.0 / self.rate**2


@pytest.fixture
def registered() -> Iterator[None]:
    fk.register_distribution("py_exponential")(PyExponential)
    yield
    fk.unregister("distribution", "py_exponential")


def funnel_with(holding: fk.Distribution) -> fk.Funnel:
    return (
        fk.Funnel()
        .add_stage("visit", holding=holding)
        .add_stage("cart", holding=fk.Exponential(rate=1.0))
        .add_stage("paid", "success", value=10.0)
        .add_edge("visit", "cart", 0.4)
        .add_edge("cart", "paid", 0.5)
    )


def test_python_distribution_gives_the_same_analytics_as_the_builtin() -> None:
    builtin = funnel_with(fk.Exponential(rate=0.25)).analyze()
    exact = funnel_with(WithMean(0.25)).analyze()
    numeric = funnel_with(PyExponential(0.25)).analyze()  # moments from the quantile function
    assert exact.expected_time == pytest.approx(builtin.expected_time, rel=1e-14)
    assert exact.time_sd == pytest.approx(builtin.time_sd, rel=1e-14)
    assert numeric.expected_time == pytest.approx(builtin.expected_time, rel=1e-8)
    assert numeric.time_sd == pytest.approx(builtin.time_sd, rel=1e-6)


def test_engine_samples_through_python_quantile() -> None:
    f = funnel_with(PyExponential(0.5))
    chain = f._compiled()
    _, times = chain.sample_steps(0, 5000, 42)
    assert stats.kstest(times, stats.expon(scale=2.0).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(times, chain.sample_steps(0, 5000, 42)[1])


def test_base_methods_work_on_python_subclasses() -> None:
    d = PyExponential(2.0)
    assert d.survival(1.0) == pytest.approx(math.exp(-2.0))  # default survival = 1 - cdf, via C++
    assert d.variance() == pytest.approx(0.25, rel=1e-7)
    assert d.sample(3, seed=1).shape == (3,)


def test_registered_extension_round_trips(registered: None) -> None:
    f = funnel_with(PyExponential(0.25))
    doc = f.to_dict()
    assert doc["stages"][0]["holding"] == {"type": "py_exponential", "rate": 0.25}
    again = fk.Funnel.from_json(f.to_json())
    assert isinstance(again.stages[0].holding, PyExponential)
    assert again == f
    clone = pickle.loads(pickle.dumps(f))
    assert clone.analyze().expected_time == pytest.approx(f.analyze().expected_time)
    assert pickle.loads(pickle.dumps(PyExponential(0.25))) == PyExponential(0.25)
    assert "py_exponential" in fk.registered("distribution")


def test_unregistered_extension_cannot_be_saved_or_loaded() -> None:
    f = funnel_with(PyExponential(0.25))
    with pytest.raises(fk.UnknownDistributionError, match="register_distribution"):
        f.to_json()
    stage = {"name": "a", "holding": {"type": "py_exponential", "rate": 1}}
    text = json.dumps({"format": "funnelkit.funnel", "version": 1, "stages": [stage]})
    with pytest.raises(fk.UnknownDistributionError, match="py_exponential"):
        fk.Funnel.from_json(text)


def test_rebuilding_with_wrong_parameters_is_a_distribution_error(registered: None) -> None:
    with pytest.raises(fk.DistributionError, match="py_exponential"):
        fk.distributions.from_json({"type": "py_exponential", "speed": 1.0})


def test_registry_rejects_misuse(registered: None) -> None:
    with pytest.raises(ValueError, match="built-in"):
        fk.register_distribution("exponential")
    with pytest.raises(ValueError, match="already registered"):
        fk.register_distribution("py_exponential")(WithMean)
    fk.register_distribution("py_exponential")(PyExponential)  # same class again: fine
    with pytest.raises(TypeError, match="subclass"):
        fk.register_distribution("not_a_distribution")(int)
    with pytest.raises(ValueError, match="kind"):
        fk.register("scorer_of_the_future", "x")

    with pytest.raises(TypeError, match="params"):
        fk.register_distribution("no_params")(ParamlessDistribution)


def test_python_errors_propagate_through_the_engine() -> None:
    class Broken(PyExponential):
        def mean(self) -> float:
            raise ZeroDivisionError("broken on purpose")

    with pytest.raises(ZeroDivisionError, match="on purpose"):
        funnel_with(Broken(1.0)).analyze()


def test_engine_keeps_python_objects_alive() -> None:
    f = funnel_with(WithMean(0.5))
    gc.collect()
    held = f.stages[0].holding
    assert isinstance(held, WithMean) and held.rate == 0.5
    del held
    gc.collect()
    assert f.analyze().expected_time == pytest.approx(2.0 + 0.4 * 1.0)


def test_python_errors_propagate_from_code_that_released_the_gil() -> None:
    class BrokenQuantile(WithMean):
        def quantile(self, p: float) -> float:
            raise RuntimeError("no quantile today")

    chain = funnel_with(BrokenQuantile(1.0))._compiled()
    with pytest.raises(RuntimeError, match="no quantile today"):
        chain.sample_steps(0, 10, 1)


def test_unregistered_extension_still_compares_and_prints() -> None:
    a, b = funnel_with(PyExponential(0.25)), funnel_with(PyExponential(0.25))
    assert a == b and a != funnel_with(PyExponential(0.5))
    assert "unregistered:PyExponential" in repr(PyExponential(0.25))


def test_one_table_of_kinds_and_builtins(registered: None) -> None:
    from funnelkit import extension

    kinds = {"distribution", "event_mapping", "segment_rule", "scorer", "feature", "trigger_condition", "trigger_effect"}
    assert set(extension.EXTENSION_KINDS) == set(extension.BUILTINS) == kinds
    assert extension.BUILTINS["event_mapping"] == extension.BUILTINS["segment_rule"] == frozenset()
    assert extension.BUILTIN_DISTRIBUTIONS == extension.BUILTINS["distribution"]
    assert "weibull" in extension.BUILTIN_DISTRIBUTIONS
    # the engine's reader asks one resolver, naming the kind
    assert isinstance(extension._resolve("distribution", "py_exponential", {"rate": 2.0}), PyExponential)
    assert extension._resolve("distribution", "nothing_registered", {}) is None
    assert extension._resolve("scorer_of_the_future", "x", {}) is None
    with pytest.raises(TypeError):
        fk.registered("distribution")["x"] = PyExponential  # type: ignore[index]


def test_event_mappings_and_segment_rules_plug_in_by_name() -> None:
    import pandas as pd

    @fk.register("event_mapping", "url_pages")
    class UrlPages(fk.EventMapping):
        def stage(self, event: str) -> str | None:
            return "product" if event.startswith("/p/") else "home" if event == "/" else None

    @fk.register("segment_rule", "paid_traffic")
    class PaidTraffic(fk.SegmentRule):
        name = "paid_traffic"
        columns = ("source",)

        def __call__(self, frame: pd.DataFrame) -> pd.Series:
            return frame["source"].isin(["ads", "social"]).map({True: "paid", False: "free"})

    try:
        frame = pd.DataFrame({"lead_id": [1, 1, 2, 2], "timestamp": [0, 60, 0, 30],
                              "event": ["/", "/p/1", "/", "/about"], "source": ["ads", "ads", "organic", "organic"]})
        log = fk.read_events(frame, segments=["paid_traffic"])
        assert list(log.segment_of_leads("paid_traffic")) == ["paid", "free"]
        fit = fk.fit_funnel(log, "url_pages", window=1.0, time_unit="hours", observed_until=pd.Timestamp(7200, unit="s"))
        moves = fit.transitions.set_index(["source", "target"])["count"].to_dict()
        assert moves == {("home", "product"): 1, ("home", "left"): 1, ("product", "left"): 1}
        with pytest.raises(ValueError, match="no event mapping is registered"):
            fk.fit_funnel(log, "no_such_mapping")
    finally:
        fk.unregister("event_mapping", "url_pages")
        fk.unregister("segment_rule", "paid_traffic")
