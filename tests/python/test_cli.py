"""The ``funnelkit`` command line: output, exit codes per failure kind, interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.cli import main


class Carts(fk.Scorer):
    @property
    def feature_names(self) -> list[str]:
        return ["cart_adds", "recency_days"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0] / (1.0 + x[:, 0]) * np.exp(-x[:, 1] / 7.0)

    def params(self) -> dict[str, Any]:
        return {}


class Broken(fk.Scorer):
    """Raises what ``error`` names when scoring: a bug, or Ctrl-C."""

    def __init__(self, error: str = "bug") -> None:
        self.error = error

    @property
    def feature_names(self) -> list[str]:
        return ["events"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        if self.error == "interrupt":
            raise KeyboardInterrupt
        raise ZeroDivisionError("a bug in the scorer")

    def params(self) -> dict[str, Any]:
        return {"error": self.error}


@pytest.fixture(autouse=True, scope="module")
def registered() -> Iterator[None]:
    fk.register("scorer", "test_cli_carts")(Carts)
    fk.register("scorer", "test_cli_broken")(Broken)
    try:
        yield
    finally:
        fk.unregister("scorer", "test_cli_carts")
        fk.unregister("scorer", "test_cli_broken")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    events = fk.datasets.shop_events(2_000, days=30, seed=5).events
    paths = {"csv": folder / "events.csv", "parquet": folder / "events.parquet", "scorer": folder / "carts.json",
             "empty": folder / "empty.csv", "nulls": folder / "nulls.csv", "garbage": folder / "garbage.parquet",
             "bad_json": folder / "bad.json", "old": folder / "old.json", "unknown": folder / "unknown.json",
             "needs": folder / "needs.json", "bug": folder / "bug.json", "interrupt": folder / "interrupt.json",
             "layers": folder / "layers.json", "bad_layers": folder / "bad_layers.json"}
    events.to_csv(paths["csv"], index=False)
    events.to_parquet(paths["parquet"], index=False)
    events.iloc[:0].to_csv(paths["empty"], index=False)
    nulls = events.copy()
    nulls.loc[nulls.index[::50], "lead_id"] = None
    nulls.to_csv(paths["nulls"], index=False)
    paths["garbage"].write_bytes(b"this is not parquet")
    Carts().save(paths["scorer"])
    paths["bad_json"].write_text('{"format": "funnelkit-scorer", ')
    document = Carts().to_dict()
    paths["old"].write_text(json.dumps({**document, "version": 99}))
    paths["unknown"].write_text(json.dumps({**document, "type": "nobody_registered_this"}))
    paths["needs"].write_text(json.dumps({**document, "features": ["cart_adds", "recency_days", "no_such_feature"]}))
    Broken("bug").save(paths["bug"])
    Broken("interrupt").save(paths["interrupt"])
    paths["layers"].write_text(json.dumps({"layers": [{"name": "hot", "top_share": 0.1}, {"name": "cold"}]}))
    paths["bad_layers"].write_text('[{"name": "hot", "top_share": 0.1}]')
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_score_writes_the_table_and_a_one_line_summary(files: dict[str, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "scores.parquet"
    code, out, err = run(capsys, "score", files["csv"], "--scorer", f"carts={files['scorer']}", "--output", output,
                         "--layers", files["layers"], "--at", "2026-01-25")
    assert code == 0, err
    assert out.count("\n") == 1 and out.startswith("funnelkit score: scored ")
    written = pd.read_parquet(output)
    expected = fk.score_leads(files["csv"], {"carts": Carts()}, at="2026-01-25", layers=files["layers"])
    pd.testing.assert_frame_equal(written, expected)
    assert set(written["layer"].astype(str)) == {"hot", "cold"}
    assert f"{len(written):,} leads" in out


def test_quiet_parts_csv_and_column_names(files: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    renamed = tmp_path / "renamed.parquet"
    pd.read_parquet(files["parquet"]).rename(columns={"lead_id": "who", "event": "what"}).to_parquet(renamed)
    output = tmp_path / "scores.csv"
    code, out, err = run(capsys, "score", renamed, "-s", files["scorer"], "-o", output, "--parts", "3",
                         "--lead", "who", "--event", "what", "--threads", "1", "--quiet")
    assert (code, out, err) == (0, "", "")
    written = pd.read_csv(output).sort_values("lead_id").reset_index(drop=True)
    expected = fk.score_leads(files["parquet"], Carts()).sort_values("lead_id").reset_index(drop=True)
    np.testing.assert_allclose(written["test_cli_carts_score"], expected["test_cli_carts_score"], rtol=1e-15)
    np.testing.assert_array_equal(written["lead_id"], expected["lead_id"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice"),
        (["score", "{csv}", "--output", "{out}"], "required: --scorer"),
        (["score", "{csv}", "-s", "{scorer}"], "required: --output"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{out}", "--parts", "0"], "--parts: must be a positive"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{out}", "--at", "not a time"], "--at: not a timestamp"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{tmp}/missing/out.parquet"], "does not exist"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{tmp}/out.txt"], "cannot tell the output format"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{out}", "--layers", "{tmp}/none.json"], "no layers file"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{out}", "--layers", "{bad_layers}"], "catch"),
        (["score", "{csv}", "-s", "{scorer}", "-o", "{out}", "--layers", "--layer-by", "x"], "layer_by='x'"),
        (["score", "{csv}", "-s", "a={scorer}", "-s", "{scorer}", "-o", "{out}"], "name all scorers"),
    ],
)
def test_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             argv: list[str], message: str) -> None:
    names = {**{k: str(v) for k, v in files.items()}, "out": str(tmp_path / "out.parquet"), "tmp": str(tmp_path)}
    code, out, err = run(capsys, *[a.format(**names) for a in argv])
    assert code == 2
    assert message in err and "error:" in err and err.count("\n") == 1 and out == ""
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    ("events", "extra", "message"),
    [
        ("{tmp}/missing.csv", [], "no event log file"),
        ("{csv}", ["--lead", "who"], "no column 'who'"),
        ("{empty}", [], "no rows"),
        ("{nulls}", [], "null lead"),
        ("{garbage}", [], "cannot read"),
    ],
)
def test_bad_input_data_exits_3(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                events: str, extra: list[str], message: str) -> None:
    names = {**{k: str(v) for k, v in files.items()}, "tmp": str(tmp_path)}
    output = tmp_path / "out.parquet"
    code, _, err = run(capsys, "score", events.format(**names), "-s", files["scorer"], "-o", output, *extra)
    assert code == 3, err
    assert err.startswith("funnelkit score: error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_skipping_bad_rows_succeeds(files: dict[str, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "score", files["nulls"], "-s", files["scorer"], "-o", tmp_path / "o.csv",
                       "--skip-bad-rows")
    assert code == 0, err


@pytest.mark.parametrize(
    ("scorer", "message"),
    [
        ("{tmp}/none.json", "no scorer file"),
        ("{bad_json}", "malformed"),
        ("{old}", "version 99"),
        ("{unknown}", "nobody_registered_this"),
        ("{needs}", "no_such_feature"),
    ],
)
def test_bad_scorers_exit_4(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            scorer: str, message: str) -> None:
    names = {**{k: str(v) for k, v in files.items()}, "tmp": str(tmp_path)}
    code, _, err = run(capsys, "score", files["csv"], "-s", scorer.format(**names), "-o", tmp_path / "o.parquet")
    assert code == 4, err
    assert err.startswith("funnelkit score: error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_features_at_scoring_time_exit_4(files: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    @fk.register("scorer", "test_cli_needs")
    class Needs(Carts):
        @property
        def feature_names(self) -> list[str]:
            return ["no_such_feature"]

    try:
        Needs().save(tmp_path / "needs.json")
        code, _, err = run(capsys, "score", files["csv"], "-s", tmp_path / "needs.json", "-o", tmp_path / "o.csv")
    finally:
        fk.unregister("scorer", "test_cli_needs")
    assert code == 4 and "no_such_feature" in err


def test_internal_errors_exit_1_with_a_traceback(files: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"previous")
    code, _, err = run(capsys, "score", files["csv"], "-s", files["bug"], "-o", output)
    assert code == 1
    assert "Traceback" in err and "ZeroDivisionError: a bug in the scorer" in err
    assert err.rstrip().splitlines()[-1].startswith("funnelkit score: error: unexpected internal error")
    assert output.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]


def test_interruption_exits_130_and_leaves_the_old_output(files: dict[str, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"previous")
    code, out, err = run(capsys, "score", files["csv"], "-s", files["interrupt"], "-o", output, "--parts", "2")
    assert code == 130 and "interrupted" in err and out == ""
    assert output.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "version")
    assert code == 0 and out == f"funnelkit {fk.__version__}\n"
    code, out, _ = run(capsys, "score", "--help")
    assert code == 0
    for status in ("0 ", "1 ", "2 ", "3 ", "4 ", "130"):
        assert f"\n  {status}" in out
    assert "--scorer" in out and "--parts" in out
    assert "130" in (fk.cli.__doc__ or "")


# -- a real process, a real signal ------------------------------------------------------------
_SLOW_JOB = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import funnelkit as fk

    marker = Path(sys.argv[1])

    @fk.register("scorer", "slow")
    class Slow(fk.Scorer):
        calls = 0
        @property
        def feature_names(self):
            return ["events"]
        def score_matrix(self, x):
            Slow.calls += 1
            if Slow.calls == 2:      # the first part is in the temporary file by now
                marker.write_text("scoring part 2")
                time.sleep(120)
            return x[:, 0]
        def params(self):
            return {}

    if sys.argv[2] == "save":
        Slow().save(sys.argv[3])
        sys.exit(0)
    from funnelkit.cli import main
    sys.exit(main(sys.argv[2:]))
""")


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "events.parquet"
    fk.datasets.shop_events(60_000, days=60, seed=9).events.to_parquet(path, index=False)
    return path


def _environment() -> dict[str, str]:
    package_root = str(Path(fk.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_exits_130_without_partial_output(big_log: Path, tmp_path: Path, signum: int) -> None:
    script = tmp_path / "job.py"
    script.write_text(_SLOW_JOB)
    work = tmp_path / "work"
    work.mkdir()
    marker, scorer, output = tmp_path / "marker", tmp_path / "slow.json", work / "scores.parquet"
    subprocess.run([sys.executable, script, marker, "save", scorer], check=True, env=_environment())
    output.write_bytes(b"previous")
    process = subprocess.Popen([sys.executable, script, marker, "score", big_log, "-s", scorer, "-o", output,
                                "--parts", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_environment())
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the job never reached its second part"
            time.sleep(0.05)
        temporary = [p.name for p in work.iterdir() if p.name != "scores.parquet"]
        assert len(temporary) == 1 and temporary[0].endswith(".tmp")  # mid-write: a first part is in it
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "interrupted" in err and out == ""
    assert output.read_bytes() == b"previous"
    assert [p.name for p in work.iterdir()] == ["scores.parquet"]


def test_python_dash_m_funnelkit_runs_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "funnelkit", "version"], capture_output=True, text=True,
                            env=_environment(), check=False)
    assert result.returncode == 0 and result.stdout == f"funnelkit {fk.__version__}\n"
    result = subprocess.run([sys.executable, "-m", "funnelkit", "score"], capture_output=True, text=True,
                            env=_environment(), check=False)
    assert result.returncode == 2 and result.stderr.startswith("funnelkit score: error:")
