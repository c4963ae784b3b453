"""A tqdm bar for long engine work: shown only if the work lasts, fed by the engine's callback."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Report = Callable[[int, int], None]


def _tqdm() -> Any:
    """tqdm's notebook bar where Jupyter widgets are installed, its text bar otherwise (tqdm.auto
    would warn in a notebook without them)."""
    if importlib.util.find_spec("ipywidgets") is None:
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


def with_progress(run: Callable[[Report | None], T], *, enabled: bool, desc: str, unit: str) -> T:
    """Calls ``run(report)``; the engine calls ``report(done, total)`` between chunks of work,
    which is also where Ctrl-C stops it (whether or not a bar is shown)."""
    if not enabled:
        return run(None)
    bar: Any = None

    def report(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = _tqdm()(total=total, desc=desc, unit=unit, delay=0.5, leave=False)
        bar.update(done - bar.n)

    try:
        return run(report)
    finally:
        if bar is not None:
            bar.close()
