"""Small result objects: a table that becomes a DataFrame and shows itself in a notebook."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TableResult"]


class TableResult:
    """A named table of results.

    ``to_pandas()`` gives a DataFrame (a copy you may change), ``to_dict()`` plain Python
    data, and a notebook displays the table with its title. ``result["column"]`` is a NumPy
    array.
    """

    __slots__ = ("_frame", "_note", "_title")

    def __init__(self, title: str, frame: pd.DataFrame, note: str = "") -> None:
        self._title = title
        self._frame = frame
        self._note = note

    @property
    def title(self) -> str:
        return self._title

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self._frame.columns]

    def to_pandas(self) -> pd.DataFrame:
        return self._frame.copy()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{row label: {column: value}}`` with plain Python numbers."""
        return {
            str(index): {str(k): _plain(v) for k, v in row.items()}
            for index, row in self._frame.to_dict(orient="index").items()
        }

    def __getitem__(self, column: str) -> np.ndarray:
        values: np.ndarray = self._frame[column].to_numpy()
        return values

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self._frame.to_string(float_format=lambda x: f"{x:.6g}")
        note = f"\n{self._note}" if self._note else ""
        return f"{self._title}\n{body}{note}"

    def _repr_html_(self) -> str:
        table = self._frame.to_html(float_format=lambda x: f"{x:.6g}", border=0)
        note = f"<p><small>{html.escape(self._note)}</small></p>" if self._note else ""
        return f"<div><strong>{html.escape(self._title)}</strong>{table}{note}</div>"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
