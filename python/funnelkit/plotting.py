"""Plots (matplotlib is optional: ``pip install funnelkit[plot]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from funnelkit.analysis import ConversionReport

__all__ = ["funnel_chart"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - exercised by test_without_matplotlib
        raise ImportError(
            "plotting needs matplotlib: pip install 'funnelkit[plot]' (or pip install matplotlib)"
        ) from error
    return plt


def funnel_chart(report: ConversionReport, ax: Axes | None = None) -> Axes:
    """The familiar funnel: one centred bar per stage, as wide as the share (or count) of
    leads reaching it, labelled with that figure and the step conversion."""
    frame = report.to_pandas()
    use_counts = "reached_count" in frame
    widths = frame["reached_count" if use_counts else "reached"].to_numpy(dtype=float)
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(7, 0.6 * len(frame) + 1.2))
    y = np.arange(len(frame))[::-1]
    colors = _pyplot().get_cmap("Blues")(np.linspace(0.85, 0.45, len(frame)))
    ax.barh(y, widths, left=-widths / 2, color=colors, height=0.8)
    for yi, width, (stage, row) in zip(y, widths, frame.iterrows(), strict=True):
        figure = f"{width:,.0f}" if use_counts else f"{row['reached']:.2%}"
        step = "" if np.isnan(row["from_previous"]) else f"  (step {row['from_previous']:.1%})"
        ax.text(0, yi, f"{stage}: {figure}{step}", ha="center", va="center", fontsize=9)
    ax.set_yticks([])
    ax.set_xticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(report.title)
    return ax
