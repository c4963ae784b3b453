"""``python -m funnelkit.demo`` prints consistent numbers (issue 6)."""

from __future__ import annotations

import re

import pytest

from funnelkit import demo


def test_demo_formats_counts_and_shares_consistently(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main(visitors=100_000)
    out = capsys.readouterr().out
    assert "with nurturing (20% warm leads, 10% convert): 3,000 buyers (+2,000, x3.0)" in out
    assert not re.search(r"\de[+-]\d", out), "no scientific notation"
    assert "NaN" not in out
    assert re.search(r"^visit\s+100\.00%.*\s100,000\s+73,000$", out, flags=re.M), "counts are integers"
