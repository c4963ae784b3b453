"""The batch scoring job: events and saved scorers in, one row per lead out, written atomically.

:func:`score_leads` reads an event log, computes every lead's features as of the scoring time
once (with the options all scorers need), scores them with each scorer, optionally sorts them
into funnel layers with reasons, and returns the table or writes it to Parquet/CSV. The
``funnelkit score`` command (:mod:`funnelkit.cli`) is a thin wrapper around it.

>>> import funnelkit as fk
>>> @fk.register("scorer", "carts")
... class Carts(fk.Scorer):
...     feature_names = ["cart_adds"]
...     def score_matrix(self, x):
...         return (x[:, 0] > 0).astype(float)
...     def params(self):
...         return {}
>>> log = fk.datasets.shop_events(500, days=20, seed=3)
>>> table = fk.score_leads(log.events, Carts())
>>> list(table.columns)
['lead_id', 'carts_score', 'scored_at']
>>> fk.unregister("scorer", "carts")

**Atomic output.** The table is written to a temporary file in the target's folder and renamed
over the target only once complete (``os.replace``): readers see the old file or the new one,
never a part. A job that fails or is interrupted (Ctrl-C, SIGTERM through the command line)
removes its temporary file and leaves an existing output untouched.

**Logs larger than memory.** With ``parts=K`` a CSV/Parquet path is streamed once into ``K``
temporary Parquet parts by lead (hash), then scored one part at a time, each part's rows
appended to the output: memory holds about one part. Scores do not depend on ``K`` (every lead's
events are in one part and the scoring time is the whole log's); only the row order does. Layers
that take a top share of the scores rank all leads together: with layers, the scored parts are
parked in temporary Parquet files, the layers assigned once over every lead's score, then the
parts written.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
import time as _time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from funnelkit._progress import _tqdm
from funnelkit.errors import ScorerFormatError
from funnelkit.events import EventLog, EventSource, _utc_timestamp
from funnelkit.scoring._options import feature_columns, merge_feature_options, read_log
from funnelkit.scoring.base import Scorer
from funnelkit.scoring.features import lead_features
from funnelkit.scoring.layers import DEFAULT_LAYERS, Layer, assign_layers

__all__ = ["JobSummary", "load_scorers", "score_leads"]

ScorerSpec = Scorer | str | os.PathLike[str]
#: One scorer, several (named after their types) or name -> scorer.
Scorers = ScorerSpec | Sequence[ScorerSpec] | Mapping[str, ScorerSpec]
OutputFormat = Literal["parquet", "csv"]
_SUFFIXES: Mapping[str, OutputFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class JobSummary:
    """What a batch scoring job did (returned by :func:`score_leads` when it writes a file)."""

    #: Leads scored (rows written).
    leads: int
    #: Event rows read (after skipping bad rows with ``errors="skip"``).
    rows: int
    #: Wall time of the whole job.
    seconds: float
    #: The file written.
    output: Path
    #: "parquet" or "csv".
    format: str
    #: The scoring time: features are computed from events at or before it.
    scored_at: pd.Timestamp
    #: The scorers' names (column prefixes), in column order.
    scorers: tuple[str, ...]
    #: Leads per layer, in the layers' order (empty without layers).
    layers: Mapping[str, int] = field(default_factory=dict)
    #: Parts the log was split into (1 without ``parts``).
    parts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"leads": self.leads, "rows": self.rows, "seconds": self.seconds, "output": os.fspath(self.output),
                "format": self.format, "scored_at": self.scored_at.isoformat(), "scorers": list(self.scorers),
                "layers": dict(self.layers), "parts": self.parts}

    def __str__(self) -> str:
        layers = ", ".join(f"{name} {count:,}" for name, count in self.layers.items())
        return (f"scored {self.leads:,} leads from {self.rows:,} events with {', '.join(self.scorers)} as of "
                f"{self.scored_at:%Y-%m-%d %H:%M:%S} in {self.seconds:.1f} s -> {self.output}"
                + (f" (layers: {layers})" if layers else ""))

    def _repr_html_(self) -> str:
        return f"<p><strong>JobSummary</strong>: {html.escape(str(self))}</p>"


def load_scorers(scorers: Scorers) -> dict[str, Scorer]:
    """Name -> scorer from one scorer or a saved scorer's path, a list of them, or a mapping
    name -> either.

    Unnamed scorers are named after their type ("funnel", "rules", "logistic", the registered
    name of an extension), with ``_2``, ``_3``... for repeats. A missing or invalid file raises
    :class:`~funnelkit.ScorerFormatError`.
    """
    items: list[tuple[str | None, ScorerSpec]]
    if isinstance(scorers, Mapping):
        items = [(str(name), spec) for name, spec in scorers.items()]
    elif isinstance(scorers, (Scorer, str, os.PathLike)):
        items = [(None, scorers)]
    else:
        items = [(None, spec) for spec in scorers]
    if not items:
        raise ValueError("score_leads needs at least one scorer")
    named: dict[str, Scorer] = {}
    for name, spec in items:
        if isinstance(spec, Scorer):
            scorer = spec
        elif isinstance(spec, (str, os.PathLike)):
            try:
                scorer = Scorer.load(spec)
            except ScorerFormatError as error:
                if os.fspath(spec) in str(error):
                    raise
                raise ScorerFormatError(f"{os.fspath(spec)}: {error}", subject=error.subject) from error
        else:
            raise TypeError("a scorer must be a funnelkit Scorer or the path of a saved one, "
                            f"got {type(spec).__name__}")
        if name is None:
            name = _default_name(scorer)
            base, k = name, 2
            while name in named:
                name, k = f"{base}_{k}", k + 1
        elif not name or name in named:
            raise ValueError(f"scorer names must be distinct and non-empty, got {name!r} twice" if name else
                             "scorer names must be non-empty")
        named[name] = scorer
    return named


def score_leads(
    events: EventSource,
    scorers: Scorers,
    *,
    at: object = None,
    output: str | os.PathLike[str] | None = None,
    format: OutputFormat | None = None,
    layers: Any = None,
    layer_by: str | None = None,
    reasons: int = 3,
    read_options: Mapping[str, Any] | None = None,
    parts: int | None = None,
    threads: int | None = None,
    progress: bool | None = None,
) -> pd.DataFrame | JobSummary:
    """Score every lead of an event log: one row per lead with its scores (and layer, reasons).

    Parameters
    ----------
    events:
        An :class:`~funnelkit.EventLog` or what :func:`~funnelkit.read_events` reads (a
        DataFrame, a pyarrow Table, a CSV/Parquet path); ``read_options`` go to it
        (``lead=``, ``time=``, ``event=``, ``errors=``...).
    scorers:
        A :class:`~funnelkit.Scorer`, the path of a saved one (JSON), or a mapping name ->
        either; the names prefix the output columns (default: the scorer's type, see
        :func:`load_scorers`).
    at:
        The scoring time: features use events at or before it (default: the log's cut).
    output:
        Where to write the table (``.parquet``/``.pq`` or ``.csv``, or say ``format``); None
        returns it as a DataFrame.
    layers:
        None: no layers. True: the default layers; a path to a JSON file or the layer
        definition :func:`~funnelkit.assign_layers` takes: columns ``layer`` and ``reasons``
        from the scores of ``layer_by`` (default: the first scorer).
    reasons:
        How many top contributions each lead's reasons list.
    parts:
        Split a CSV/Parquet path into this many parts by lead and score one at a time (logs
        larger than memory).
    threads:
        Threads for feature extraction (default: all cores); results do not depend on it.
    progress:
        A progress bar over parts (and the engine's work); default: when stderr is a terminal.

    Returns
    -------
    The table (columns ``lead_id``, ``<name>_score`` per scorer, ``<name>_<column>`` for each
    scorer's extra outputs, ``layer`` and ``reasons`` with layers, ``scored_at``) when
    ``output`` is None, else a :class:`JobSummary` of the file written.
    """
    started = _time.perf_counter()
    named = load_scorers(scorers)
    if layer_by is not None and layer_by not in named:
        raise ValueError(f"layer_by={layer_by!r} is not one of the scorers {list(named)}")
    if not (isinstance(reasons, (int, np.integer)) and not isinstance(reasons, bool) and reasons >= 0):
        raise ValueError(f"reasons must be an integer >= 0, got {reasons!r}")
    layer_spec = _layer_spec(layers)
    job = _Job(named, layer_by or next(iter(named)), layer_spec, int(reasons), threads,
               progress if progress is not None else _stderr_is_terminal())
    target, kind = _output(output, format)
    options = dict(read_options or {})
    if parts is not None:
        if not (isinstance(parts, (int, np.integer)) and not isinstance(parts, bool) and parts >= 1):
            raise ValueError(f"parts must be a positive integer, got {parts!r}")
        if not isinstance(events, (str, os.PathLike)):
            raise TypeError("parts= needs the path of a CSV or Parquet event log")
        chunks = _parts(Path(events), int(parts), options, at, job)
    else:
        chunks = iter([_one(events, options, at, job)])
    if target is None:
        frames = list(chunks)
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    assert kind is not None
    leads = _write(chunks, target, kind)
    return JobSummary(leads=leads, rows=job.rows, seconds=_time.perf_counter() - started, output=target, format=kind,
                      scored_at=job.scored_at if job.scored_at is not None else pd.NaT, scorers=tuple(named),
                      layers={k: int(v) for k, v in job.layer_counts.items()}, parts=int(parts or 1))


# -- scoring ------------------------------------------------------------------------------
class _Job:
    """The job's settings and running totals."""

    def __init__(self, scorers: dict[str, Scorer], layer_by: str, layers: Any, reasons: int, threads: int | None,
                 progress: bool) -> None:
        self.scorers = scorers
        self.layer_by = layer_by
        self.layers = layers
        self.reasons = int(reasons)
        self.threads = threads
        self.progress = progress
        self.feature_options = merge_feature_options((f"scorer {name!r}", s.feature_options())
                                                     for name, s in scorers.items())
        self.rows = 0
        self.scored_at: pd.Timestamp | None = None
        self.layer_counts: pd.Series = pd.Series(dtype=np.int64)

    def read(self, source: EventSource, options: Mapping[str, Any]) -> EventLog:
        log = read_log(source, options, self.feature_options)
        self.rows += len(log) + sum(log.skipped.values())
        return log

    def features(self, log: EventLog, at: pd.Timestamp) -> pd.DataFrame:
        self.scored_at = at
        return lead_features(log, at, **{"progress": self.progress, **self.feature_options, "threads": self.threads})

    def score(self, log: EventLog, at: pd.Timestamp, *, defer_layers: bool = False) -> pd.DataFrame:
        """One row per lead: id, scores, extra outputs, layer and reasons, scoring time.

        With ``defer_layers`` the layer is left out (it depends on all parts' scores when
        layers take a top share) and columns ``__when_<i>`` hold each layer's feature
        condition instead, for :func:`_global_layers`."""
        features = self.features(log, at)
        columns: dict[str, Any] = {"lead_id": features.index.to_numpy()}
        for name, scorer in self.scorers.items():
            score, extra = scorer.score_all(features)
            columns[f"{name}_score"] = score.to_numpy()
            for column in extra.columns:
                columns[f"{name}_{column}"] = extra[column].to_numpy()
        if self.layers is not None:
            scorer = self.scorers[self.layer_by]
            contributions = scorer.contributions(features) if self.reasons else None
            if contributions is not None and contributions.shape[1] == 0:
                contributions = None
            scores = pd.Series(columns[f"{self.layer_by}_score"], index=features.index, name="score")
            if defer_layers:
                columns["reasons"] = assign_layers(features, scores, [Layer("all")], reasons=self.reasons,
                                                   contributions=contributions)["reasons"].to_numpy()
                for i, layer in enumerate(self.layer_list()[:-1]):
                    if layer.when is not None:
                        two = [Layer("in", when=layer.when), Layer("out")]
                        inside = assign_layers(features, scores, two, reasons=0)["layer"] == "in"
                        columns[f"__when_{i}"] = inside.to_numpy()
            else:
                assigned = assign_layers(features, scores, self.layer_list(), reasons=self.reasons,
                                         contributions=contributions)
                columns["layer"] = assigned["layer"].array
                columns["reasons"] = assigned["reasons"].to_numpy()
                self.count_layers(assigned["layer"])
        frame = pd.DataFrame(columns)
        frame["scored_at"] = at
        return frame

    def layer_list(self) -> list[Layer]:
        return list(DEFAULT_LAYERS if self.layers is True else self.layers)

    def count_layers(self, layer: pd.Series) -> None:
        counts = layer.value_counts(sort=False)
        self.layer_counts = counts if self.layer_counts.empty else self.layer_counts.add(counts, fill_value=0)

    def global_layers(self, scores: np.ndarray, when: Mapping[int, np.ndarray]) -> pd.Series:
        """The layer of every lead of every part at once: exact for layers that take a top share
        of all leads' scores. Feature conditions come precomputed, per layer."""
        layers = self.layer_list()
        resolved = []
        for i, layer in enumerate(layers[:-1]):
            condition = None if layer.when is None else (lambda frame, c=f"__when_{i}": frame[c].to_numpy())
            resolved.append(Layer(layer.name, min_score=layer.min_score, top_share=layer.top_share, when=condition))
        resolved.append(Layer(layers[-1].name))
        frame = pd.DataFrame({f"__when_{i}": mask for i, mask in when.items()}, index=pd.RangeIndex(len(scores)))
        layer = assign_layers(frame, scores, resolved, reasons=0)["layer"]
        self.count_layers(layer)
        return layer


def _one(events: EventSource, options: Mapping[str, Any], at: object, job: _Job) -> pd.DataFrame:
    log = job.read(events, options)
    return job.score(log, _scoring_time(at, log.end))


def _parts(path: Path, parts: int, options: Mapping[str, Any], at: object, job: _Job) -> Iterator[pd.DataFrame]:
    """Split the file by lead into ``parts`` (one streaming pass), then score part by part.

    Without layers each part is scored and handed to the writer before the next is read. With
    layers, whose top shares rank all leads together, each scored part is parked in a temporary
    Parquet file; the layers are then assigned once over every lead's score (a few bytes a
    lead), and the parked parts handed over with their layer column."""
    from funnelkit import _spill

    with tempfile.TemporaryDirectory(prefix="funnelkit-score-") as directory:
        files, cut = _spill.split_log(path, options, feature_columns(job.feature_options), parts, directory)
        scoring_time = _scoring_time(at, cut)
        per_part = {**options, "observed_until": cut}
        defer = job.layers is not None
        with _part_bar(len(files) * (2 if defer else 1), job.progress) as step:
            parked: list[Path] = []
            scores: list[np.ndarray] = []
            when: dict[int, list[np.ndarray]] = {}
            for k, file in enumerate(files):
                frame = job.score(job.read(file, per_part), scoring_time, defer_layers=defer)
                step()
                if not defer:
                    yield frame
                    continue
                scores.append(frame[f"{job.layer_by}_score"].to_numpy())
                for column in [c for c in frame.columns if c.startswith("__when_")]:
                    when.setdefault(int(column.removeprefix("__when_")), []).append(frame.pop(column).to_numpy())
                parked.append(Path(directory) / f"scored-{k:04d}.parquet")
                frame.to_parquet(parked[-1], index=False)
                file.unlink()
            if not defer:
                return
            layer = job.global_layers(np.concatenate(scores), {i: np.concatenate(m) for i, m in when.items()})
            start = 0
            for file in parked:
                frame = pd.read_parquet(file)
                frame.insert(frame.columns.get_loc("reasons"), "layer", layer.array[start:start + len(frame)])
                start += len(frame)
                yield frame
                step()


@contextmanager
def _part_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    """A tqdm bar over parts (shown when the work lasts); yields the function advancing it."""
    bar: Any = None

    def step() -> None:
        nonlocal bar
        if not enabled:
            return
        if bar is None:
            bar = _tqdm()(total=total, desc="scoring parts", unit="part", delay=0.5, leave=False)
        bar.update(1)

    try:
        yield step
    finally:
        if bar is not None:
            bar.close()


# -- output -------------------------------------------------------------------------------
def _output(output: str | os.PathLike[str] | None, format: str | None) -> tuple[Path | None, OutputFormat | None]:
    if output is None:
        if format is not None:
            raise ValueError("format= needs output=")
        return None, None
    target = Path(output)
    kind: OutputFormat | None
    if format is None:
        suffixes = [s.lower() for s in target.suffixes]
        kind = next((_SUFFIXES[s] for s in reversed(suffixes) if s in _SUFFIXES), None)
        if kind is None:
            raise ValueError(f"cannot tell the output format from {target.name!r}: name it .parquet or .csv, "
                             "or give the format (format='parquet' or 'csv'; --format on the command line)")
    elif format == "parquet":
        kind = "parquet"
    elif format == "csv":
        kind = "csv"
    else:
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    if not target.parent.is_dir():
        raise ValueError(f"the output folder {os.fspath(target.parent)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"the output {os.fspath(target)!r} is a folder; give a file name")
    return target, kind


def _write(frames: Iterator[pd.DataFrame], target: Path, kind: OutputFormat) -> int:
    """Writes the frames one after the other to a temporary file next to ``target``, then
    renames it over ``target``; on any exception (KeyboardInterrupt included) the temporary
    file is removed and ``target`` is left as it was. Returns the rows written."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    rows = 0
    try:
        with _writer(temporary, kind, target) as write:
            for frame in frames:
                write(frame)
                rows += len(frame)
        _fsync(temporary)
        os.replace(temporary, target)
    finally:
        close = getattr(frames, "close", None)
        if close is not None:  # a generator of parts: removes its temporary parts now
            close()
        temporary.unlink(missing_ok=True)
    return rows


@contextmanager
def _writer(path: Path, kind: OutputFormat, target: Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    if kind == "csv":
        compression = "gzip" if target.suffix.lower() == ".gz" else None
        state = {"header": True}

        def write_csv(frame: pd.DataFrame) -> None:
            frame.to_csv(path, mode="w" if state["header"] else "a", header=state["header"], index=False,
                         compression=compression)
            state["header"] = False

        with open(path, "wb"):
            pass  # an empty log still leaves a (header-less) file to rename
        yield write_csv
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None
    try:
        def write_parquet(frame: pd.DataFrame) -> None:
            nonlocal writer
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table.cast(writer.schema))

        yield write_parquet
    finally:
        if writer is not None:
            writer.close()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- helpers ------------------------------------------------------------------------------
def _default_name(scorer: Scorer) -> str:
    name = scorer.type_name()
    if name.startswith("unregistered:"):
        name = type(scorer).__name__.lower()
    return re.sub(r"\W+", "_", name).strip("_") or "scorer"


def _layer_spec(layers: Any) -> Any:
    """None (no layers), True (the default layers) or a list of layers; a path names a JSON
    file: a list of ``{"name": ..., "min_score"/"top_share"/"when": ...}`` objects, hottest
    first (or ``{"layers": [...]}``)."""
    if layers is None or layers is False:
        return None
    if layers is True:
        return True
    if not isinstance(layers, (str, os.PathLike)):
        return list(layers)
    path = Path(layers)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"no layers file at {os.fspath(path)!r}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the layers file {os.fspath(path)!r} is not readable JSON: {error}") from None
    items = document.get("layers") if isinstance(document, dict) else document
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"the layers file {os.fspath(path)!r} must hold a list of layer objects "
                         '(such as {"name": "hot", "top_share": 0.1})')
    try:
        return [Layer(**item) for item in items]
    except (TypeError, ValueError) as error:
        raise ValueError(f"the layers file {os.fspath(path)!r}: {error}") from None


def _scoring_time(at: object, cut: pd.Timestamp) -> pd.Timestamp:
    return cut if at is None else _utc_timestamp(at, "at")


def _stderr_is_terminal() -> bool:
    import sys

    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())

