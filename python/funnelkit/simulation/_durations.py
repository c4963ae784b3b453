"""Durations in the funnel's time unit: ``"20min"``, ``"24h"``, ``"3D"``, ``"90 days"``, a
:class:`datetime.timedelta` or :class:`pandas.Timedelta`, or a plain number already in the unit.

    >>> to_units("20min", "hours", "delay")
    0.3333333333333333
    >>> to_units("3D", "hours", "delay"), to_units(1.5, "hours", "delay")
    (72.0, 1.5)
    >>> day_length("hours"), day_length("days"), day_length("minutes")
    (24.0, 1.0, 1440.0)
"""

from __future__ import annotations

import datetime
import math
import numbers
from typing import TypeAlias

import numpy as np
import pandas as pd

from funnelkit.errors import StrategyError

__all__ = ["Duration", "day_length", "duration_json", "ns_per_unit", "to_units"]

#: What every delay, period and window of a strategy accepts.
Duration: TypeAlias = str | float | int | datetime.timedelta | pd.Timedelta | np.timedelta64


def ns_per_unit(time_unit: str) -> float:
    """Nanoseconds in one ``time_unit`` (seconds, minutes, hours, days or weeks)."""
    from funnelkit.datasets import _NS_PER_UNIT  # late: datasets imports the extension table

    value = _NS_PER_UNIT.get(str(time_unit).strip().lower())
    if value is None:
        raise ValueError(
            f"funnel time_unit {time_unit!r} is not a unit of time the simulation knows "
            "(seconds, minutes, hours, days, weeks)"
        )
    return value


def day_length(time_unit: str) -> float:
    """One day in ``time_unit`` (24.0 for hours, 1.0 for days, 1440.0 for minutes)."""
    return 86_400e9 / ns_per_unit(time_unit)


def to_units(value: Duration, time_unit: str, what: str) -> float:
    """``value`` as a number of ``time_unit``; numbers are taken as already in that unit.

    Strings are read by :class:`pandas.Timedelta` (``"20min"``, ``"24h"``, ``"3D"``, ``"2W"``,
    ``"90 days"``, ``"1h30min"``). ``math.inf`` (a number) means "never". Raises
    :class:`~funnelkit.StrategyError` (a ``ValueError``) naming ``what`` for a negative, NaN or
    unreadable value.
    """
    if isinstance(value, bool):
        raise StrategyError(f"{what}: expected a duration, got {value!r}", subject=what)
    if not isinstance(value, np.timedelta64) and isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str) and _is_plain_number(value):
        # pandas reads "90" as 90 nanoseconds: a text without a unit is almost always a slip
        raise StrategyError(f"{what}: {value!r} has no unit; write e.g. '{value.strip()}h' or '{value.strip()}D', "
                            "or pass a number (in the funnel's time unit)", subject=what)
    else:
        try:
            delta = pd.Timedelta(value)
        except (TypeError, ValueError) as error:
            raise StrategyError(
                f"{what}: {value!r} is not a duration (write e.g. '20min', '24h', '3D', a timedelta "
                "or a number in the funnel's time unit)",
                subject=what,
            ) from error
        if delta is pd.NaT:
            raise StrategyError(f"{what}: a duration cannot be NaT", subject=what)
        number = delta.value / ns_per_unit(time_unit)
    if math.isnan(number) or number < 0:
        raise StrategyError(f"{what}: {value!r} is negative or NaN; durations must be >= 0", subject=what)
    return number


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def duration_json(value: Duration) -> str | float:
    """``value`` as JSON keeps it: strings and numbers as given, timedeltas as pandas' text
    (``"0 days 00:20:00"``, which :func:`to_units` reads back exactly)."""
    if isinstance(value, bool):
        raise StrategyError(f"expected a duration, got {value!r}", subject="duration")
    if isinstance(value, str):
        return value
    if not isinstance(value, np.timedelta64) and isinstance(value, numbers.Real):
        return float(value)
    return str(pd.Timedelta(value))
