from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import pytest

import funnelkit as fk


def test_funnel_chart_draws_one_bar_per_stage() -> None:
    f = fk.examples.shop_funnel()
    ax = f.plot(visitors=10_000)
    bars = ax.patches
    report = f.analyze().conversion(visitors=10_000).to_pandas()
    assert len(bars) == len(report)
    widths = sorted((b.get_width() for b in bars), reverse=True)
    assert widths[0] == pytest.approx(10_000)
    assert [t.get_text().split(":")[0] for t in ax.texts] == list(report.index)
    plt.close("all")


def test_chart_of_shares_on_given_axes() -> None:
    _, ax = plt.subplots()
    returned = fk.examples.nurturing_funnel().analyze().conversion().plot(ax=ax)
    assert returned is ax
    assert "100.00%" in ax.texts[0].get_text()
    plt.close("all")


def test_clear_message_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"funnelkit\[plot\]"):
        fk.examples.shop_funnel().plot()
    # everything else works without it
    assert fk.examples.shop_funnel().analyze().success_probability > 0
