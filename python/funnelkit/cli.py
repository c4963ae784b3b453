"""The ``funnelkit`` command line (also ``python -m funnelkit``).

``funnelkit score EVENTS --scorer PATH --output OUT`` scores every lead of an event log with
saved scorers and writes one row per lead, atomically (see :func:`funnelkit.score_leads`);
``funnelkit version`` prints the version. Made for schedulers (cron, Airflow): errors are one
line on stderr (``funnelkit score: error: ...``), a one-line summary goes to stdout (unless
``--quiet``), and the exit status says what went wrong:

====  =====================================================================================
code  meaning
====  =====================================================================================
0     success
1     unexpected internal error (a traceback is shown: please report it)
2     usage error: unknown option, bad value, output folder missing, unreadable layers file
3     bad input data: events file missing or unreadable, a missing column, bad rows, empty log
4     bad scorer: file missing, malformed or of another version, features it needs missing
130   interrupted (SIGINT/Ctrl-C or SIGTERM): the temporary file is removed, no partial output
====  =====================================================================================

>>> main(["version"])  # doctest: +ELLIPSIS
funnelkit ...
0
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

__all__ = ["EXIT_BAD_DATA", "EXIT_BAD_SCORER", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_DATA = 3
EXIT_BAD_SCORER = 4
EXIT_INTERRUPTED = 130

_EXIT_CODES = """\
exit status:
  0    success
  1    unexpected internal error (traceback shown)
  2    usage error (bad option or value, output folder missing, bad layers file)
  3    bad input data (events file missing/unreadable, missing column, bad rows, empty log)
  4    bad scorer (file missing, malformed or of another version; features it needs missing)
  130  interrupted by SIGINT or SIGTERM (no partial output is left)
"""


class _UsageError(Exception):
    """Raised by the parser instead of exiting, so that main() returns the code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message}")


def _build_parser() -> _Parser:
    parser = _Parser(prog="funnelkit", description="Sales funnels as Markov chains: command-line tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    score = commands.add_parser(
        "score", help="score every lead of an event log with saved scorers",
        description="Score every lead of an event log (CSV or Parquet) with one or more saved scorers (JSON) and "
                    "write one row per lead (lead_id, <name>_score..., layer, reasons, scored_at) to Parquet or "
                    "CSV. The output is written to a temporary file and renamed: an interrupted or failed job "
                    "leaves no partial file and an existing output untouched.",
        epilog=_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    score.add_argument("events", metavar="EVENTS", help="event log: a .csv (optionally compressed) or .parquet file")
    score.add_argument("--scorer", "-s", metavar="[NAME=]PATH", action="append", required=True,
                       help="a saved scorer (JSON); repeat for several; NAME prefixes its columns "
                            "(default: the scorer's type)")
    score.add_argument("--output", "-o", metavar="OUT", required=True, help="output file (.parquet or .csv)")
    score.add_argument("--format", choices=("parquet", "csv"), help="output format (default: from OUT's suffix)")
    score.add_argument("--at", metavar="TIME", help="scoring time: use events at or before it (default: the log's "
                                                     "last event)")
    score.add_argument("--layers", metavar="LAYERS", nargs="?", const=True, default=None,
                       help="add layer and reasons columns: the default layers, or those of a JSON file")
    score.add_argument("--layer-by", metavar="NAME", help="the scorer whose scores set the layers (default: the first)")
    score.add_argument("--reasons", metavar="N", type=_non_negative, default=3,
                       help="reasons listed per lead with --layers (default: 3)")
    score.add_argument("--parts", metavar="K", type=_positive, help="split the log by lead into K parts scored one "
                                                                   "at a time (logs larger than memory)")
    score.add_argument("--threads", metavar="N", type=_positive, help="threads (default: all cores)")
    columns = score.add_argument_group("event log columns")
    columns.add_argument("--lead", metavar="COL", default="lead_id", help="lead id column (default: lead_id)")
    columns.add_argument("--time", metavar="COL", default="timestamp", help="timestamp column (default: timestamp)")
    columns.add_argument("--event", metavar="COL", default="event", help="event name column (default: event)")
    columns.add_argument("--value", metavar="COL", default="value", help="order value column (default: value)")
    columns.add_argument("--time-unit", default="s", choices=("s", "ms", "us", "ns"),
                         help="unit of numeric timestamps (default: s)")
    columns.add_argument("--skip-bad-rows", action="store_true",
                         help="drop rows with a null lead, event or time instead of failing (exit 3)")
    score.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")
    score.set_defaults(run=_score)

    version = commands.add_parser("version", help="print funnelkit's version")
    version.set_defaults(run=_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = _build_parser()
    try:
        arguments = parser.parse_args(argv)
    except _UsageError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as done:  # --help
        return int(done.code or 0) if isinstance(done.code, int) else EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = arguments.run
    return run(arguments)


# -- funnelkit version ------------------------------------------------------------------------
def _version(arguments: argparse.Namespace) -> int:
    import funnelkit

    print(f"funnelkit {funnelkit.__version__}")
    return EXIT_OK


# -- funnelkit score --------------------------------------------------------------------------
def _score(arguments: argparse.Namespace) -> int:
    prog = "funnelkit score"

    def fail(code: int, message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return code

    try:
        with _sigterm_as_interrupt():
            import pandas as pd

            import funnelkit as fk
            from funnelkit.errors import (
                EventLogError,
                FeatureValueError,
                MissingFeatureError,
                ScorerFormatError,
            )
            from funnelkit.scoring.job import load_scorers

            try:
                scorers = _scorer_paths(arguments.scorer)
            except ValueError as error:
                return fail(EXIT_USAGE, str(error))
            if arguments.at is not None:
                try:
                    pd.Timestamp(arguments.at)
                except (TypeError, ValueError):
                    return fail(EXIT_USAGE, f"--at: not a timestamp: {arguments.at!r}")
            events = Path(arguments.events)
            if not events.is_file():
                return fail(EXIT_BAD_DATA, f"no event log file at {str(events)!r}")
            output = Path(arguments.output)
            if not output.parent.is_dir():
                return fail(EXIT_USAGE, f"--output: the folder {str(output.parent)!r} does not exist")
            read_options: dict[str, Any] = {"lead": arguments.lead, "time": arguments.time, "event": arguments.event,
                                            "value": arguments.value, "time_unit": arguments.time_unit}
            if arguments.skip_bad_rows:
                read_options["errors"] = "skip"
            try:
                loaded = load_scorers(scorers)
            except ScorerFormatError as error:
                return fail(EXIT_BAD_SCORER, str(error))
            try:
                summary = fk.score_leads(
                    events, loaded, at=arguments.at, output=output, format=arguments.format,
                    layers=arguments.layers, layer_by=arguments.layer_by, reasons=arguments.reasons,
                    read_options=read_options, parts=arguments.parts, threads=arguments.threads,
                    progress=False if arguments.quiet else None)
            except (ScorerFormatError, MissingFeatureError) as error:
                return fail(EXIT_BAD_SCORER, str(error))
            except (EventLogError, FeatureValueError) as error:
                return fail(EXIT_BAD_DATA, str(error))
            except (FileNotFoundError, PermissionError, IsADirectoryError) as error:
                return fail(EXIT_BAD_DATA, f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
            except ValueError as error:
                if type(error).__module__.startswith("pyarrow"):  # ArrowInvalid: a file that does not parse
                    return fail(EXIT_BAD_DATA, f"cannot read {str(events)!r}: {error}")
                if isinstance(error, fk.FunnelError):
                    return fail(EXIT_BAD_DATA, str(error))
                return fail(EXIT_USAGE, str(error))
            except OSError as error:
                if type(error).__module__.startswith("pyarrow"):
                    return fail(EXIT_BAD_DATA, f"cannot read {str(events)!r}: {error}")
                raise
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; no output was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # an internal error: show everything, it is a bug to report
        traceback.print_exc()
        print(f"{prog}: error: unexpected internal error (the traceback above); please report it", file=sys.stderr)
        return EXIT_INTERNAL
    if not arguments.quiet:
        print(f"{prog}: {summary}")
    return EXIT_OK


def _scorer_paths(specs: Sequence[str]) -> dict[str, str] | list[str]:
    """``--scorer PATH`` or ``--scorer NAME=PATH``: named when any is, else in order."""
    named: dict[str, str] = {}
    unnamed: list[str] = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if sep and name.isidentifier():
            if name in named:
                raise ValueError(f"--scorer: the name {name!r} is given twice")
            named[name] = path
        else:
            unnamed.append(spec)
    if named and unnamed:
        raise ValueError("--scorer: name all scorers (NAME=PATH) or none")
    return named or unnamed


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (what schedulers send to stop a task) raises KeyboardInterrupt like Ctrl-C, so
    the job's clean-up runs the same way for both."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
