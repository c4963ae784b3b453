"""Training labels from the log itself: "did the lead purchase within H after the scoring time?"

Time is split at the scoring time ``at``: features see events at or before ``at`` only, labels
look at events in ``(at, at + horizon]`` only, so nothing a label is made of leaks into the
features. The log must reach ``at + horizon`` (its cut), or leads that would buy after the cut
would be labelled 0.

>>> import funnelkit as fk
>>> shop = fk.datasets.shop_events(2_000, days=30, seed=1)
>>> x, y = fk.training_set(shop.events, at="2026-01-15", horizon="7D")
>>> bool((x.index == y.index).all()), y.name, set(y.unique()) <= {0, 1}
(True, 'label', True)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from funnelkit.errors import LabelError
from funnelkit.events import EventLog, EventSource, _timestamp_ns, read_events
from funnelkit.scoring.features import _read, lead_features

__all__ = ["purchase_labels", "training_set"]


def purchase_labels(log: EventSource, at: object, horizon: object = "14D",
                    events: Sequence[str] | str = ("purchase",)) -> pd.Series:
    """1 for each lead with an event named in ``events`` in ``(at, at + horizon]``, else 0.

    The index is that of ``lead_features(log, at)``: the leads with an event at or before
    ``at``, in the same order. ``horizon`` is a Timedelta-like (``"14D"``) or a number of days.
    Raises :class:`~funnelkit.LabelError` when ``at + horizon`` is after the log's cut, or the
    log has none of the label events at all.

    >>> import funnelkit as fk
    >>> shop = fk.datasets.shop_events(1_000, days=30, seed=3)
    >>> y = fk.purchase_labels(shop.events, "2026-01-10", "10D")
    >>> y.name, y.dtype.name
    ('label', 'int64')
    """
    log = log if isinstance(log, EventLog) else read_events(log)
    at_ns = _timestamp_ns(at)
    end_ns = at_ns + _horizon_ns(horizon)
    if end_ns > log.observed_until:
        raise LabelError(
            f"at + horizon ({pd.Timestamp(end_ns)}) is after the log's cut ({log.end}): purchases after the cut "
            "are unknown, so labels would be wrong; choose an earlier at or a shorter horizon", subject="horizon")
    names = [events] if isinstance(events, str) else list(events)
    codes = log.events.get_indexer(names)
    if (codes < 0).all():
        raise LabelError(f"the log has no event named {', '.join(map(repr, names))} (its events: "
                         f"{list(map(str, log.events))[:12]})", subject=names[0] if names else None)
    present = np.zeros(log.n_leads, dtype=bool)
    present[log.lead_codes[log.times <= at_ns]] = True
    wanted = np.isin(log.event_codes, codes[codes >= 0])
    window = wanted & (log.times > at_ns) & (log.times <= end_ns)
    bought = np.zeros(log.n_leads, dtype=np.int64)
    bought[log.lead_codes[window]] = 1
    leads = np.flatnonzero(present)
    return pd.Series(bought[leads], index=pd.Index(log.leads[leads], name="lead_id"), name="label")


def training_set(log: EventSource, at: object, horizon: object = "14D",
                 **feature_kwargs: Any) -> tuple[pd.DataFrame, pd.Series]:
    """Features as of ``at`` (events at or before ``at`` only) and purchase labels over
    ``(at, at + horizon]``, on the same leads in the same order.

    ``feature_kwargs`` go to :func:`~funnelkit.lead_features` (and reading options to
    :func:`~funnelkit.read_events`); ``label_events`` (default ``("purchase",)``) names the
    events that count as a purchase. The log is read once.
    """
    label_events = feature_kwargs.pop("label_events", ("purchase",))
    accepted = set(inspect.signature(lead_features).parameters) - {"events", "at", "read_options"}
    options = {k: v for k, v in feature_kwargs.items() if k in accepted}
    read_options = {k: v for k, v in feature_kwargs.items() if k not in accepted}
    if not isinstance(log, EventLog):
        log, _, _, _ = _read(log, options.get("products", "product_id"), options.get("categories", "category"),
                             read_options)
    elif read_options:
        raise TypeError(f"unexpected arguments {sorted(read_options)} for an EventLog")
    labels = purchase_labels(log, at, horizon, label_events)  # checks the horizon first
    features = lead_features(log, at, **options)
    return features, labels.reindex(features.index)


def _horizon_ns(horizon: object) -> int:
    if isinstance(horizon, (int, float, np.integer, np.floating)) and not isinstance(horizon, bool):
        ns = float(horizon) * 86_400e9
    else:
        try:
            ns = float(pd.Timedelta(horizon).value)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"horizon must be a duration such as '14D' or a number of days, got {horizon!r}") from error
    if not (ns > 0 and math.isfinite(ns)):
        raise ValueError(f"horizon must be positive, got {horizon!r}")
    return int(ns)
