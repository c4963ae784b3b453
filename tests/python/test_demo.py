"""``python -m funnelkit.demo`` prints consistent numbers (issues 6 and 9)."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from funnelkit import demo


@pytest.fixture(scope="module")
def out() -> str:
    """The demo's output, run once for the module's tests."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        demo.main(visitors=100_000)
    return buffer.getvalue()


def test_demo_formats_counts_and_shares_consistently(out: str) -> None:
    assert "with nurturing (20% warm leads, 10% convert): 3,000 buyers (+2,000, x3.0)" in out
    assert not re.search(r"\de[+-]\d", out), "no scientific notation"
    assert "NaN" not in out
    assert re.search(r"^visit\s+100\.00%.*\s100,000\s+73,000$", out, flags=re.M), "counts are integers"


def test_demo_simulates_the_must_have_strategy(out: str) -> None:
    section = out[out.index("== Trigger letters"):]
    rows = {}
    for metric in ("buyers", "revenue", "profit"):
        match = re.search(rf"^{metric}((?:\s+-?[\d,]+){{5}})$", section, flags=re.M)
        assert match, f"the {metric} row has five whole numbers"
        rows[metric] = [int(x.replace(",", "")) for x in match.group(1).split()]
    for metric, (without, with_, incremental, low, high) in rows.items():
        assert abs(with_ - without - incremental) <= 1, metric  # rounding only: paired means add up
        assert low <= incremental <= high, metric
    assert rows["buyers"][3] > 0, "the must-have letters bring buyers (the interval excludes 0)"
    work = re.search(r"^Simulated ([\d,]+) leads, ([\d,]+) transitions and ([\d,]+) messages", section, flags=re.M)
    assert work and all(int(x.replace(",", "")) > 0 for x in work.groups())


def test_demo_forecasts_the_next_quarter(out: str) -> None:
    section = out[out.index("== Forecast"):]
    weeks = re.findall(r"^week to \d{4}-\d\d-\d\d((?:\s+[\d,]+){4})$", section, flags=re.M)
    assert len(weeks) == 13, "a quarter of weeks, each with four whole numbers"
    for week in weeks:
        expected, mean, low, high = (int(x.replace(",", "")) for x in week.split())
        assert low <= mean <= high and expected > 0
    assert re.search(r"CAC [\d,]+\.\d\d .*ROI -?[\d.]+%", section)
    tornado = section[section.index("What moves"):].splitlines()[2:5]
    assert len(tornado) == 3 and all(re.search(r"[\d,]+$", row) for row in tornado), "the top 3 rows"
