"""The ``funnelkit`` command line (also ``python -m funnelkit``).

``funnelkit score EVENTS --scorer PATH --output OUT`` scores every lead of an event log with
saved scorers and writes one row per lead, atomically (see :func:`funnelkit.score_leads`);
``funnelkit simulate FUNNEL --strategy must_have --visitors-per-day N --output OUT`` simulates a
shop with a trigger strategy, or compares strategies (``--compare none``; see
:func:`funnelkit.simulate` and :func:`funnelkit.compare_strategies`; its bad-input codes are 3 for
the funnel and 4 for a strategy); ``funnelkit version`` prints the version. Made for schedulers (cron, Airflow): errors are one
line on stderr (``funnelkit score: error: ...``), a one-line summary goes to stdout (unless
``--quiet``), and the exit status says what went wrong:

====  =====================================================================================
code  meaning
====  =====================================================================================
0     success
1     unexpected internal error (a traceback is shown: please report it)
2     usage error: unknown option, bad value, output folder missing, unreadable layers file
3     bad input data: events file missing or unreadable, a missing column, bad rows, empty log
4     bad scorer: file missing, malformed or of another version, features it needs missing, a
      funnel score's funnel lacking a stage the leads are in
130   interrupted (SIGINT/Ctrl-C or SIGTERM): the temporary file is removed, no partial output
====  =====================================================================================

>>> main(["version"])  # doctest: +ELLIPSIS
funnelkit ...
0
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
  4    bad scorer (file missing, malformed or of another version; features it needs missing;
       a funnel score whose funnel lacks a stage the leads are in)
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

    _add_simulate(commands)

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


def _guarded(prog: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Runs a subcommand with SIGTERM read as Ctrl-C: an interruption exits 130 (its output is
    written atomically, so nothing was), an unexpected error prints its traceback and exits 1."""

    def wrap(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(command)
        def run(arguments: argparse.Namespace) -> int:
            try:
                with _sigterm_as_interrupt():
                    return command(arguments)
            except KeyboardInterrupt:
                print(f"{prog}: interrupted; no output was written", file=sys.stderr)
                return EXIT_INTERRUPTED
            except Exception:  # an internal error: show everything, it is a bug to report
                traceback.print_exc()
                print(f"{prog}: error: unexpected internal error (the traceback above); please report it",
                      file=sys.stderr)
                return EXIT_INTERNAL

        return run

    return wrap


def _failure(prog: str) -> Callable[[int, str], int]:
    """``fail(code, message)``: prints ``prog: error: message`` to stderr and returns the exit code."""

    def fail(code: int, message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return code

    return fail


# -- funnelkit score --------------------------------------------------------------------------
@_guarded("funnelkit score")
def _score(arguments: argparse.Namespace) -> int:
    prog = "funnelkit score"
    fail = _failure(prog)

    import pandas as pd

    import funnelkit as fk
    from funnelkit.errors import (
        EventLogError,
        FeatureValueError,
        MissingFeatureError,
        ScorerFormatError,
        UnknownStageError,
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
    except (ScorerFormatError, MissingFeatureError, UnknownStageError) as error:
        # the scorer does not fit these leads: features it needs, stages its funnel lacks
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
    if not arguments.quiet:
        print(f"{prog}: {summary}")
    return EXIT_OK


# -- funnelkit simulate -----------------------------------------------------------------------
_SIMULATE_EXIT_CODES = """\
exit status:
  0    success
  1    unexpected internal error (traceback shown)
  2    usage error (bad option or value, output folder missing)
  3    bad funnel (file missing, malformed or invalid)
  4    bad strategy (file missing, malformed or of another version; a trigger naming a stage
       the funnel lacks)
  130  interrupted by SIGINT or SIGTERM (no partial output is left)
"""


def _add_simulate(commands: Any) -> None:
    simulate = commands.add_parser(
        "simulate", help="simulate a shop with a trigger strategy (and compare strategies)",
        description="Simulate a shop: visitors arrive, leads move through the funnel (a funnel JSON file), the "
                    "strategy sends its messages; many replicates. Prints the totals (or, with --compare, each "
                    "strategy against the first with paired 95% intervals) and writes the daily mean series, one "
                    "row per strategy and day (.csv or .parquet), or everything as a JSON document (.json). "
                    "STRATEGY is must_have (the five must-have triggers), none (no messages) or a strategy JSON "
                    "file. Output is written to a temporary file and renamed: nothing partial is left.",
        epilog=_SIMULATE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    simulate.add_argument("funnel", metavar="FUNNEL", help="funnel document (JSON), e.g. a saved fitted funnel")
    simulate.add_argument("--strategy", metavar="STRATEGY", default="must_have",
                          help="must_have, none or a strategy JSON file (default: must_have)")
    simulate.add_argument("--compare", metavar="STRATEGY", nargs="+", default=[],
                          help="compare --strategy (the baseline) with these, with common random numbers")
    simulate.add_argument("--visitors-per-day", metavar="N", type=_positive_number, required=True,
                          help="expected visitors per day")
    simulate.add_argument("--horizon", metavar="DURATION", default="90D", help="how long to simulate (default: 90D)")
    simulate.add_argument("--replicates", metavar="R", type=_positive, default=20, help="replicates (default: 20)")
    simulate.add_argument("--seed", metavar="SEED", type=_non_negative, default=0, help="random seed (default: 0)")
    simulate.add_argument("--start", metavar="DATE", help="first simulated day (default: 2026-01-05, a Monday)")
    simulate.add_argument("--margin", metavar="SHARE", type=float, default=0.3,
                          help="gross margin as a share of revenue (default: 0.3)")
    simulate.add_argument("--output", "-o", metavar="OUT", required=True, help="output file (.csv, .parquet, .json)")
    simulate.add_argument("--keep-leads", action="store_true",
                          help="also write one row per simulated lead to OUT_STEM.leads.(csv|parquet)")
    simulate.add_argument("--threads", metavar="N", type=_positive, help="threads (default: all cores)")
    simulate.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    simulate.set_defaults(run=_simulate)

    forecast = commands.add_parser(
        "forecast", help="forecast revenue, orders and profit per day, week or month",
        description="Forecast a shop: the exact expected-value path of the funnel (with the strategy's idle "
                    "move triggers) beside the simulation's mean and 5-95% band per period. Writes one row per "
                    "period (.csv or .parquet) or a JSON document (.json), atomically. STRATEGY is must_have, "
                    "none or a strategy JSON file.",
        epilog=_SIMULATE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    forecast.add_argument("funnel", metavar="FUNNEL", help="funnel document (JSON), e.g. a saved fitted funnel")
    forecast.add_argument("--strategy", metavar="STRATEGY", default="none",
                          help="must_have, none or a strategy JSON file (default: none)")
    forecast.add_argument("--visitors-per-day", metavar="N", type=_positive_number, required=True,
                          help="expected visitors per day")
    forecast.add_argument("--horizon", metavar="DURATION", default="90D", help="how far ahead (default: 90D)")
    forecast.add_argument("--freq", choices=["D", "W", "M"], default="W", help="periods: days, weeks or months")
    forecast.add_argument("--replicates", metavar="R", type=_non_negative, default=20,
                          help="simulated replicates for the band (0: the expected path only; default: 20)")
    forecast.add_argument("--seed", metavar="SEED", type=_non_negative, default=0, help="random seed (default: 0)")
    forecast.add_argument("--start", metavar="DATE", help="first day (default: 2026-01-05, a Monday)")
    forecast.add_argument("--warm-up", metavar="DURATION",
                          help="start the shop this many whole days before --start with the same traffic and "
                               "leave those days out, so the forecast starts from a running shop, not an empty "
                               "one (e.g. 60D; default: none)")
    forecast.add_argument("--margin", metavar="SHARE", type=float, default=0.3,
                          help="gross margin as a share of revenue (default: 0.3)")
    forecast.add_argument("--output", "-o", metavar="OUT", required=True, help="output file (.csv, .parquet, .json)")
    forecast.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    forecast.set_defaults(run=_forecast)


@_guarded("funnelkit simulate")
def _simulate(arguments: argparse.Namespace) -> int:
    prog = "funnelkit simulate"
    fail = _failure(prog)

    import pandas as pd

    import funnelkit as fk

    inputs = _shop_inputs(arguments)
    if isinstance(inputs, _Failure):
        return fail(inputs.code, inputs.message)
    output, suffix, economics, funnel = inputs
    specs = [arguments.strategy, *arguments.compare]
    strategies: dict[str, Any] = {}
    try:
        for spec in specs:
            name, strategy = _strategy_spec(spec)
            if name in strategies:
                return fail(EXIT_USAGE, f"the strategy {name!r} is given twice")
            strategies[name] = strategy
            if strategy is not None:
                strategy.validate(funnel)  # stages the funnel lacks, bad delays: a bad strategy
    except (OSError, ValueError, TypeError, KeyError) as error:  # FunnelError is a ValueError
        return fail(EXIT_BAD_SCORER, str(error))
    options: dict[str, Any] = {
        "horizon": arguments.horizon, "replicates": arguments.replicates, "seed": arguments.seed,
        "start": arguments.start, "economics": economics, "keep_leads": arguments.keep_leads,
        "threads": arguments.threads, "progress": not arguments.quiet}
    try:
        comparison = fk.compare_strategies(funnel, arguments.visitors_per_day, strategies,
                                           baseline=next(iter(strategies)), **options)
    except fk.StrategyError as error:
        return fail(EXIT_BAD_SCORER, str(error))
    except fk.FunnelError as error:
        return fail(EXIT_BAD_DATA, str(error))
    simulations = comparison.simulations
    written = _simulation_output(output, suffix, simulations, comparison if arguments.compare else None)
    if arguments.keep_leads:
        leads_suffix = ".parquet" if suffix in (".parquet", ".pq") else ".csv"
        leads = pd.concat({name: sim.leads for name, sim in simulations.items()}, names=["strategy"])
        _write_frame(output.with_name(f"{output.stem}.leads{leads_suffix}"), leads.reset_index(),
                     leads_suffix)
    if not arguments.quiet:
        first = next(iter(simulations.values()))
        counts = {key: sum(sim.counts[key] for sim in simulations.values()) for key in ("leads", "transitions",
                                                                                      "messages")}
        print(f"{prog}: {len(simulations)} strateg{'y' if len(simulations) == 1 else 'ies'}, {first.days} days, "
              f"{first.replicates} replicates; simulated {counts['leads']:,} leads, {counts['transitions']:,} "
              f"transitions, {counts['messages']:,} messages; wrote {written}")
        print(_summary_text(simulations, comparison if arguments.compare else None))
    return EXIT_OK


@dataclass(frozen=True)
class _Failure:
    code: int
    message: str


def _shop_inputs(arguments: argparse.Namespace) -> tuple[Path, str, Any, Any] | _Failure:
    """What `simulate` and `forecast` both read: --output, --horizon, --start, --margin and the
    funnel file, checked: (output, its suffix, the Economics, the Funnel), or what is wrong."""
    import pandas as pd

    import funnelkit as fk

    output = Path(arguments.output)
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ".json"):
        return _Failure(EXIT_USAGE, f"--output: name it .csv, .parquet or .json, got {output.name!r}")
    if not output.parent.is_dir():
        return _Failure(EXIT_USAGE, f"--output: the folder {str(output.parent)!r} does not exist")
    try:
        horizon = pd.Timedelta(arguments.horizon)
    except (TypeError, ValueError):
        return _Failure(EXIT_USAGE, f"--horizon: not a duration (e.g. 90D, 2W, 36h): {arguments.horizon!r}")
    if not any(c.isalpha() for c in arguments.horizon) or not horizon > pd.Timedelta(0):
        return _Failure(EXIT_USAGE, f"--horizon: a positive duration with a unit (e.g. 90D, 2W, 36h), got "
                                    f"{arguments.horizon!r}")
    if arguments.start is not None:
        try:
            pd.Timestamp(arguments.start)
        except (TypeError, ValueError):
            return _Failure(EXIT_USAGE, f"--start: not a date: {arguments.start!r}")
    try:
        economics = fk.Economics(margin=arguments.margin)
    except ValueError as error:
        return _Failure(EXIT_USAGE, f"--margin: {error}")
    funnel_path = Path(arguments.funnel)
    if not funnel_path.is_file():
        return _Failure(EXIT_BAD_DATA, f"no funnel file at {str(funnel_path)!r}")
    try:
        funnel = fk.Funnel.from_json(funnel_path)
    except (fk.FunnelError, OSError) as error:
        return _Failure(EXIT_BAD_DATA, f"cannot read the funnel {str(funnel_path)!r}: {error}")
    return output, suffix, economics, funnel


# -- funnelkit forecast -----------------------------------------------------------------------
@_guarded("funnelkit forecast")
def _forecast(arguments: argparse.Namespace) -> int:
    prog = "funnelkit forecast"
    fail = _failure(prog)

    import json
    import warnings

    import pandas as pd

    import funnelkit as fk
    from funnelkit.forecasting.forecast import forecast

    inputs = _shop_inputs(arguments)
    if isinstance(inputs, _Failure):
        return fail(inputs.code, inputs.message)
    output, suffix, economics, funnel = inputs
    warm_up = arguments.warm_up
    if warm_up is not None:
        try:
            length = pd.Timedelta(warm_up)
        except (TypeError, ValueError):
            length = None
        if (length is None or not any(c.isalpha() for c in warm_up) or length < pd.Timedelta(0)
                or length % pd.Timedelta(days=1) != pd.Timedelta(0)):
            return fail(EXIT_USAGE, f"--warm-up: a whole number of days with a unit (e.g. 60D, 8W), got {warm_up!r}")
    try:
        _, strategy = _strategy_spec(arguments.strategy)
        if strategy is not None:
            strategy.validate(funnel)
    except (OSError, ValueError, TypeError, KeyError) as error:
        return fail(EXIT_BAD_SCORER, str(error))
    try:
        with warnings.catch_warnings():  # what the path leaves out is reported below and in the output
            warnings.simplefilter("ignore", UserWarning)
            result = forecast(funnel, arguments.visitors_per_day, strategy, horizon=arguments.horizon,
                              start=arguments.start, economics=economics, freq=arguments.freq,
                              replicates=arguments.replicates, seed=arguments.seed, warm_up=warm_up,
                              progress=not arguments.quiet)
    except fk.StrategyError as error:
        return fail(EXIT_BAD_SCORER, str(error))
    except fk.FunnelError as error:
        return fail(EXIT_BAD_DATA, str(error))
    table = result.table.reset_index()
    if suffix == ".json":
        from funnelkit.scoring.base import write_atomically

        document = {"format": "funnelkit-forecast", "version": 1, "freq": arguments.freq,
                    "not_in_path": result.expected.attrs.get("not_in_path", []),
                    "periods": json.loads(table.to_json(orient="records", date_format="iso"))}
        write_atomically(output, json.dumps(document, indent=1).encode())
    else:
        _write_frame(output, table, suffix)
    if not arguments.quiet:
        totals = result.table.sum()
        print(f"{prog}: {len(table)} periods; revenue {totals['revenue_expected']:,.0f} expected"
              + (f", {totals['revenue_mean']:,.0f} simulated" if arguments.replicates else "")
              + f"; wrote {output}")
        left_out = result.expected.attrs.get("not_in_path", [])
        if left_out:
            print(f"{prog}: the expected path leaves out {', '.join(left_out)} (the simulated band has them)")
    return EXIT_OK


def _strategy_spec(spec: str) -> tuple[str, Any]:
    """``must_have``, ``none`` or a strategy JSON file -> (name, strategy)."""
    import funnelkit as fk

    if spec == "must_have":
        return spec, fk.strategies.must_have()
    if spec == "none":
        return spec, None
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"no strategy file at {spec!r} (or say must_have or none)")
    return path.stem, fk.Strategy.load(path)


def _summary_text(simulations: Any, comparison: Any) -> str:
    import pandas as pd

    if comparison is None:
        frame = next(iter(simulations.values())).summary()
    else:
        columns = ["buyers", "revenue", "profit", "incremental_profit", "incremental_profit_low",
                   "incremental_profit_high", "roi"]
        frame = comparison.table[columns]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        return str(frame.to_string(float_format=lambda x: f"{x:,.6g}"))


def _simulation_output(output: Path, suffix: str, simulations: Any, comparison: Any) -> str:
    """Writes the daily means (csv/parquet) or the JSON document; returns what was written."""
    import json

    import pandas as pd

    if suffix == ".json":
        document = {
            "format": "funnelkit-simulation", "version": 1,
            "strategies": {name: {
                "counts": sim.counts,
                "totals": _records(sim.totals),
                "triggers": _records(sim.triggers),
                "daily": json.loads(sim.daily.to_json(orient="split", date_format="iso")),
            } for name, sim in simulations.items()},
            "comparison": None if comparison is None else _records(comparison.table),
        }
        from funnelkit.scoring.base import write_atomically

        write_atomically(output, json.dumps(document, indent=1, allow_nan=True).encode())
        return str(output)
    frame = pd.concat({name: sim.daily for name, sim in simulations.items()}, names=["strategy", "date"])
    _write_frame(output, frame.reset_index(), suffix)
    return f"{len(frame):,} rows to {output}"


def _records(frame: Any) -> dict[str, dict[str, Any]]:
    import math

    def plain(value: Any) -> Any:
        value = value.item() if hasattr(value, "item") else value
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return {str(index): {str(k): plain(v) for k, v in row.items()} for index, row in frame.iterrows()}


def _write_frame(path: Path, frame: Any, suffix: str) -> None:
    from funnelkit.scoring.base import write_atomically

    if suffix in (".parquet", ".pq"):
        data: bytes = frame.to_parquet(index=False)
    else:
        data = frame.to_csv(index=False).encode()
    write_atomically(path, data)


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


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
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
