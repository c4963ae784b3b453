"""Analytics on every funnel shape: results on demand, a solver per strongly connected
component (each checked against dense NumPy), stage subsets and integer codes, threads,
progress and Ctrl-C."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import dense_chain, expected_outcomes, shaped_funnel

import funnelkit as fk


@settings(max_examples=24, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(20, 260),
    shape=st.sampled_from(["expander", "hub"]),
    method=st.sampled_from(["auto", "dense", "sparse_lu", "iterative"]),
    discount=st.sampled_from([1.0, 0.9]),
)
def test_page_level_shapes_match_numpy(seed: int, n: int, shape: str, method: str, discount: float) -> None:
    funnel = shaped_funnel(np.random.default_rng(seed), n, shape, discount)
    chain = dense_chain(funnel)
    ref = expected_outcomes(chain)
    analysis = funnel.analyze(method=method)
    table = analysis.stages().to_pandas()
    names = [name for name, t in zip(chain.names, chain.transient, strict=True) if t]
    for column, key in [
        ("success_probability", "success"),
        ("expected_steps", "steps"),
        ("expected_time", "time"),
        ("expected_value", "value"),
        ("expected_visits", "visits"),
        ("reached", "reach"),
    ]:
        np.testing.assert_allclose(table.loc[names, column], ref[key], rtol=1e-9, atol=1e-11, err_msg=column)
    np.testing.assert_allclose(table.loc[names, "time_sd"] ** 2, ref["time_var"], rtol=1e-8, atol=1e-9)
    absorption = analysis.absorption().to_pandas()
    np.testing.assert_allclose(absorption.loc[names].to_numpy(), ref["absorption"], rtol=1e-9, atol=1e-11)
    assert analysis.expected_value == pytest.approx(ref["entry_value"], rel=1e-9)
    report = analysis.solver_report().to_pandas()
    assert (report["max_residual"] <= 1e-13).all()
    if method != "auto":
        assert set(report["method"]) == {method}


def test_nothing_is_solved_until_asked() -> None:
    funnel = shaped_funnel(np.random.default_rng(1), 400, "expander")
    analysis = funnel.analyze()
    assert len(analysis.solver_report()) == 0
    analysis.success_probability
    first = analysis.solver_report().to_pandas()
    assert first["solves"].sum() == 1
    in_loops = analysis._engine.reach_cost(np.arange(400))
    assert 300 < in_loops < 400  # the others are on no loop: one division each
    analysis.reach(["p3", "p7", "p8"])
    cost = analysis._engine.reach_cost(np.array([3, 7, 8]))
    assert cost == 0  # kept
    after = analysis.solver_report().to_pandas()["solves"].sum()
    assert 1 + 1 + 1 <= after <= 1 + 1 + 3  # the visits from the entry, then one per stage in a loop
    analysis.reach(["p3"])
    assert analysis.solver_report().to_pandas()["solves"].sum() == after


def test_large_loop_component_is_solved_iteratively() -> None:
    funnel = shaped_funnel(np.random.default_rng(2), 3000, "expander")
    analysis = funnel.analyze()
    analysis.expected_value
    report = analysis.solver_report().to_pandas()
    assert list(report["method"]) == ["iterative"]
    assert report["size"].iloc[0] > 2500
    assert report["max_residual"].iloc[0] <= 1e-13
    assert "needs the reach of" in analysis._repr_html_()  # the display does not pay for every stage


def test_subsets_match_the_full_tables() -> None:
    funnel = shaped_funnel(np.random.default_rng(3), 300, "hub")
    full = funnel.analyze()
    some = funnel.analyze()
    stages = ["p5", "p100", "paid"]
    np.testing.assert_allclose(
        some.reach(stages).to_pandas()["reached"], full.stages().to_pandas().loc[stages, "reached"], rtol=1e-12
    )
    removal = some.removal_effects(["p5", "p100"]).to_pandas()
    everything = full.removal_effects().to_pandas()
    np.testing.assert_allclose(removal["conversions_lost"], everything.loc[removal.index, "conversions_lost"], rtol=1e-12)
    np.testing.assert_allclose(removal["value_lost"], everything.loc[removal.index, "value_lost"], rtol=1e-12)
    edges = [("p5", "paid"), ("p100", "lost")]
    picked = some.sensitivity(edges).to_pandas()
    table = full.sensitivity().to_pandas().set_index(["source", "target"])
    np.testing.assert_allclose(picked["d_success"], table.loc[edges, "d_success"], rtol=1e-12)
    assert list(zip(picked["source"], picked["target"], strict=True)) == edges


def test_integer_codes_work_wherever_names_do() -> None:
    analysis = fk.examples.shop_funnel().analyze()
    names = analysis.stage_names
    by_code = analysis.conversion(path=[0, 1, 2]).to_pandas()
    by_name = analysis.conversion(path=names[:3]).to_pandas()
    assert by_code.equals(by_name)
    assert analysis.reach([1]).to_pandas().index.tolist() == [names[1]]
    funnel = fk.examples.shop_funnel()
    assert funnel.most_likely_path(names.index("paid")) == funnel.most_likely_path("paid")
    with pytest.raises(IndexError):
        analysis.reach([len(names)])
    with pytest.raises(TypeError):
        analysis.reach([1.5])  # type: ignore[list-item]
    with pytest.raises(fk.UnknownStageError):
        analysis.reach(["nowhere"])
    with pytest.raises(fk.StructureError):
        analysis.removal_effects(["paid"])
    with pytest.raises(fk.UnknownStageError):
        analysis.sensitivity([("paid", "visit")])


def test_results_do_not_depend_on_threads() -> None:
    funnel = shaped_funnel(np.random.default_rng(4), 700, "expander")
    one = funnel.analyze(threads=1).stages().to_pandas()
    two = funnel.analyze(threads=2).stages().to_pandas()
    assert one.equals(two)


def test_missed_tolerance_falls_back_to_a_direct_solve() -> None:
    funnel = shaped_funnel(np.random.default_rng(5), 200, "expander")
    exact = funnel.analyze(method="dense")
    starved = funnel.analyze(method="iterative", max_iterations=2)
    assert starved.expected_time == pytest.approx(exact.expected_time, rel=1e-12)
    assert starved.solver_report().to_pandas()["fell_back"].all()


def test_options_are_checked() -> None:
    funnel = fk.examples.shop_funnel()
    for bad in [{"threads": 0}, {"method": "lu"}, {"tolerance": 0.0}, {"max_iterations": 0}]:
        with pytest.raises(ValueError):
            funnel.analyze(**bad)  # type: ignore[arg-type]


def test_ctrl_c_stops_per_stage_work_and_the_analysis_stays_usable() -> None:
    funnel = shaped_funnel(np.random.default_rng(6), 2500, "expander")
    analysis = funnel.analyze(threads=1)
    engine = analysis._engine
    codes = np.arange(2500)
    calls = []

    def interrupt(done: int, total: int) -> None:
        calls.append(done)
        signal.raise_signal(signal.SIGINT)  # what Ctrl-C does: Python's handler raises on the next check

    with pytest.raises(KeyboardInterrupt):
        engine.reach(codes, interrupt)
    assert len(calls) == 1
    assert 0 < calls[0] < 2500

    def fail(done: int, total: int) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        engine.reach(codes, fail)
    reach = analysis.reach(["p1", "p2"]).to_pandas()["reached"]
    assert ((reach >= 0) & (reach <= 1)).all()
