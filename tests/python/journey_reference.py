"""An independent, plain-Python statement of the journey rules (fit.py's module docs), for
checking the engine on small random logs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Counts:
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    entries: Counter[str] = field(default_factory=Counter)
    losses: Counter[str] = field(default_factory=Counter)
    censored: Counter[str] = field(default_factory=Counter)
    starts: Counter[str] = field(default_factory=Counter)


def count_journeys(rows: list[tuple[object, float, str | None]], window: float, cut: float,
                   absorbing: set[str], repeat: dict[str, str] | None = None) -> Counts:
    """rows: (lead, time, stage or None). Ties in time keep input order."""
    repeat = repeat or {}
    out = Counts()
    by_lead: dict[object, list[tuple[float, int, str]]] = {}
    for position, (lead, time, stage) in enumerate(rows):
        if stage is not None:
            by_lead.setdefault(lead, []).append((time, position, stage))
    for events in by_lead.values():
        events.sort()
        current: str | None = None
        entered_at = 0.0
        seen: set[str] = set()

        def close(stage: str, entry: float) -> None:
            if entry + window <= cut:
                out.entries[stage] += 1
                out.losses[stage] += 1
            else:
                out.censored[stage] += 1

        for time, _, stage in events:
            if current is not None and time - entered_at > window:
                close(current, entered_at)
                current = None
            if stage != current and stage in seen and stage in repeat:
                stage = repeat[stage]
            if stage == current:
                continue
            if current is None:
                out.starts[stage] += 1
            elif entered_at + window <= cut:
                out.entries[current] += 1
                out.transitions[(current, stage)] += 1
            else:
                out.censored[current] += 1
            current, entered_at = stage, time
            seen.add(stage)
            if stage in absorbing:
                current = None
                break
        if current is not None:
            close(current, entered_at)
    return out
