"""``funnelkit simulate``: outputs (CSV, Parquet, JSON, per-lead file), the summary, and the
exit codes for bad options, a bad funnel, a bad strategy and an interruption."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.cli import EXIT_BAD_DATA, EXIT_BAD_SCORER, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, main


@pytest.fixture
def funnel_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.json"
    fk.examples.shop_funnel().to_json(path)
    return path


def run(funnel: Path, output: Path, *extra: str) -> int:
    return main(["simulate", str(funnel), "--visitors-per-day", "300", "--horizon", "10D", "--replicates", "3",
                 "--output", str(output), "--quiet", *extra])


def test_compare_writes_daily_series_per_strategy_and_prints_the_comparison(
        funnel_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "daily.csv"
    code = main(["simulate", str(funnel_file), "--strategy", "must_have", "--compare", "none", "--visitors-per-day",
                 "300", "--horizon", "10D", "--replicates", "3", "--output", str(output)])
    assert code == EXIT_OK
    frame = pd.read_csv(output)
    assert set(frame["strategy"]) == {"must_have", "none"} and len(frame) == 20
    assert {"date", "arrivals", "revenue", "messages", "profit"} <= set(frame.columns)
    # common random numbers: the same arrivals under both strategies
    by = frame.set_index(["strategy", "date"])["arrivals"]
    pd.testing.assert_series_equal(by.loc["must_have"], by.loc["none"])
    out = capsys.readouterr().out
    assert "incremental_profit" in out and "none" in out and "transitions" in out


def test_json_and_parquet_outputs_and_the_leads_file(funnel_file: Path, tmp_path: Path) -> None:
    document_path = tmp_path / "run.json"
    assert run(funnel_file, document_path, "--strategy", "none", "--seed", "3") == EXIT_OK
    document = json.loads(document_path.read_text())
    assert document["format"] == "funnelkit-simulation" and document["version"] == 1
    none = document["strategies"]["none"]
    assert none["counts"]["replicates"] == 3 and none["totals"]["revenue"]["mean"] > 0
    assert document["comparison"] is None

    parquet = tmp_path / "run.parquet"
    assert run(funnel_file, parquet, "--keep-leads") == EXIT_OK
    assert len(pd.read_parquet(parquet)) == 10
    leads = pd.read_parquet(tmp_path / "run.leads.parquet")
    assert set(leads["strategy"]) == {"must_have"} and len(leads) > 1000


def test_a_saved_strategy_file_is_read(funnel_file: Path, tmp_path: Path) -> None:
    strategy = tmp_path / "carts.json"
    fk.strategies.must_have().save(strategy)
    output = tmp_path / "out.csv"
    assert run(funnel_file, output, "--strategy", str(strategy), "--compare", "must_have") == EXIT_OK
    frame = pd.read_csv(output)
    assert set(frame["strategy"]) == {"carts", "must_have"}
    # the same strategy twice: identical series
    by = frame.set_index(["strategy", "date"])
    pd.testing.assert_frame_equal(by.loc["carts"], by.loc["must_have"])


def test_exit_codes(funnel_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out.csv"
    assert run(tmp_path / "missing.json", output) == EXIT_BAD_DATA
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert run(broken, output) == EXIT_BAD_DATA
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**fk.strategies.must_have().to_dict(), "version": 99}))
    assert run(funnel_file, output, "--strategy", str(other)) == EXIT_BAD_SCORER
    assert run(funnel_file, output, "--strategy", str(tmp_path / "nowhere.json")) == EXIT_BAD_SCORER
    tiny = tmp_path / "tiny.json"
    fk.examples.nurturing_funnel().to_json(tiny)  # no "cart" stage for the must-have triggers
    assert run(tiny, output, "--strategy", "must_have") == EXIT_BAD_SCORER
    assert run(funnel_file, output, "--horizon", "soon") == EXIT_USAGE
    assert run(funnel_file, tmp_path / "no" / "out.csv") == EXIT_USAGE
    assert run(funnel_file, tmp_path / "out.txt") == EXIT_USAGE
    assert main(["simulate", str(funnel_file), "--output", str(output)]) == EXIT_USAGE  # no traffic
    assert not output.exists()
    errors = capsys.readouterr().err
    assert "funnelkit simulate: error:" in errors and "99" in errors


def test_an_interrupted_run_leaves_no_output(funnel_file: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(fk, "compare_strategies", interrupted)
    output = tmp_path / "out.csv"
    assert run(funnel_file, output) == EXIT_INTERRUPTED
    assert list(tmp_path.iterdir()) == [funnel_file]


@pytest.mark.parametrize("horizon", ["90", "0D", "-3D"])
def test_a_horizon_without_a_unit_or_not_positive_is_a_usage_error(
        funnel_file: Path, tmp_path: Path, horizon: str, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out.csv"
    assert main(["simulate", str(funnel_file), "--strategy", "none", "--visitors-per-day", "10",
                 f"--horizon={horizon}", "--output", str(output), "--quiet"]) == EXIT_USAGE
    assert "--horizon" in capsys.readouterr().err and not output.exists()


def test_forecast_writes_periods_and_checks_its_input(funnel_file: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "forecast.csv"
    assert main(["forecast", str(funnel_file), "--visitors-per-day", "300", "--horizon", "28D", "--freq", "W",
                 "--replicates", "3", "--output", str(output)]) == EXIT_OK
    table = pd.read_csv(output)
    assert len(table) == 4 and {"revenue_expected", "revenue_mean", "revenue_low"} <= set(table.columns)
    assert "4 periods" in capsys.readouterr().out
    document = tmp_path / "forecast.json"
    assert main(["forecast", str(funnel_file), "--visitors-per-day", "300", "--horizon", "14D", "--freq", "D",
                 "--replicates", "0", "--strategy", "must_have", "--output", str(document), "--quiet"]) == EXIT_OK
    saved = json.loads(document.read_text())
    assert saved["format"] == "funnelkit-forecast" and len(saved["periods"]) == 14
    assert saved["not_in_path"] == []  # the path follows every must-have trigger
    assert main(["forecast", str(funnel_file), "--visitors-per-day", "300", "--horizon", "0D",
                 "--output", str(tmp_path / "x.csv"), "--quiet"]) == EXIT_USAGE
