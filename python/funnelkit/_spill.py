"""Event files larger than memory: split by lead into temporary Parquet parts, one pass.

Journey counts are additive over groups of whole leads, so a file can be fitted part by part
once every lead's events sit in one part. One streaming pass reads the file in record batches
(only the needed columns), sends each row to part ``hash(lead) % parts`` and tracks the last
timestamp (the log's default cut); then each part is read back and fitted on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def split_log(path: Path, read_options: Mapping[str, Any], extra_columns: Sequence[str], parts: int,
              directory: str) -> tuple[list[Path], pd.Timestamp]:
    """Splits an event file by lead (the columns read_events reads with ``read_options``, plus
    ``extra_columns``); returns the parts and the log's cut: ``read_options["observed_until"]``,
    else the last timestamp of the whole file."""
    from funnelkit.errors import EventLogError
    from funnelkit.events import _nanoseconds, _Problems

    if not path.exists():
        raise FileNotFoundError(f"no event log at {path}")
    lead, time = read_options.get("lead", "lead_id"), read_options.get("time", "timestamp")
    segments = read_options.get("segments", ())
    columns = [lead, time, read_options.get("event", "event"), read_options.get("value") or "value",
               *([segments] if isinstance(segments, str) else segments), *extra_columns]
    files, latest = split_by_lead(path, list(dict.fromkeys(columns)), lead, time, parts, directory)
    cut = read_options.get("observed_until")
    if cut is None:
        present = latest.dropna().reset_index(drop=True)
        if present.empty:
            raise EventLogError(f"{path}: the event log has no rows with a timestamp")
        stamps = _nanoseconds(present, time, read_options.get("time_unit", "s"), _Problems("raise", len(present)))
        cut = pd.Timestamp(int(stamps.max()), unit="ns")
    return files, pd.Timestamp(cut)


def split_by_lead(path: Path, columns: Sequence[str], lead: str, time: str, parts: int,
                  directory: str) -> tuple[list[Path], pd.Series]:
    """Writes up to ``parts`` Parquet files under ``directory``; returns them and each batch's
    largest time value (in the column's own type, for the default cut)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writers: list[pq.ParquetWriter | None] = [None] * parts
    files = [Path(directory) / f"part-{k:04d}.parquet" for k in range(parts)]
    latest: list[object] = []
    try:
        for batch in _batches(path, columns):
            frame = batch.to_pandas()
            part = pd.util.hash_array(frame[lead].to_numpy()) % np.uint64(parts)
            latest.append(frame[time].max())
            for k in np.unique(part):
                piece = pa.Table.from_pandas(frame[part == k], preserve_index=False)
                writer = writers[int(k)]
                if writer is None:
                    writer = writers[int(k)] = pq.ParquetWriter(files[int(k)], piece.schema)
                writer.write_table(piece.cast(writer.schema))
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
    written = [f for f, w in zip(files, writers, strict=True) if w is not None]
    return written, pd.Series(latest)


def _batches(path: Path, columns: Sequence[str]) -> Iterator[Any]:
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        import pyarrow.parquet as pq

        source = pq.ParquetFile(path)
        present = [c for c in columns if c in source.schema_arrow.names]
        yield from source.iter_batches(batch_size=1 << 20, columns=present)
    elif ".csv" in suffixes or ".tsv" in suffixes:
        import pyarrow.csv as pv

        from funnelkit.events import csv_header

        present = [c for c in csv_header(path) if c in columns]
        options = pv.ConvertOptions(include_columns=present)
        parse = pv.ParseOptions(delimiter="\t" if ".tsv" in suffixes else ",")
        yield from pv.open_csv(path, parse_options=parse, convert_options=options)
    else:
        raise ValueError(f"{path}: expected a .csv, .tsv or .parquet file")
