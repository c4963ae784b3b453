"""What a simulation run returns: daily series with bands, totals, per-trigger effects, and
per-lead outcomes and event logs when asked for; and the comparison of strategies.

Everything is per *replicate* (one simulated run of the shop over the horizon) unless said
otherwise: ``daily`` is the mean over replicates, ``band`` its quantiles, ``totals`` the mean
and the 5%-95% percentiles of each replicate's total. See :func:`funnelkit.simulate`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit.simulation.economics import Economics

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Simulation", "StrategyComparison"]

#: Two-sided 95% normal quantile (uplift intervals).
_Z95 = 1.959963984540054
#: Lead ids in ``events``/``leads``/``messages``: replicate * LEAD_ID_STRIDE + the lead's index in its replicate.
LEAD_ID_STRIDE = 10**9
#: Message outcomes, by the engine's code.
MESSAGE_OUTCOMES = ("control", "capped", "sent", "delivered", "opened")
#: Engine series columns -> metric names (the same here).
_SERIES = ("purchases", "buyers", "revenue", "discounts", "messages", "delivered", "opened", "message_cost")
#: Run totals reported with every result (over all replicates).
_COUNTS = (("leads", "leads simulated"), ("transitions", "transitions"), ("messages", "messages simulated"))


@dataclass(frozen=True)
class _Run:
    """What the engine's arrays mean: names, clock and money (filled by ``simulate``)."""

    start: pd.Timestamp  # t = 0: midnight of the first day (tz-naive)
    time_unit: str
    ns_per_unit: float
    day_length: float  # one day (= one bin) in the funnel's unit
    horizon: float  # in the funnel's unit
    stage_names: tuple[str, ...]  # chain states (the funnel's stages, then a virtual drop state)
    drop_state: int | None
    channel_names: tuple[str, ...]
    cost_per_visitor: np.ndarray  # per channel
    sender_names: tuple[str, ...]  # triggers, then campaigns
    trigger_count: int
    economics: Economics
    seed: int
    strategy_name: str
    population_ids: pd.Index | None  # ids of the initial population (leads 0..P-1 of each replicate)


class Simulation:
    """The result of :func:`funnelkit.simulate`: a simulated shop over a horizon, many replicates.

    Attributes
    ----------
    daily:
        Mean over replicates per day (a DataFrame indexed by date): ``arrivals`` (and
        ``arrivals_<channel>`` with several channels), ``entered_<stage>`` (entries),
        ``in_<stage>`` (leads in the stage at the day's end), ``purchases``, ``buyers`` (first
        purchases), ``revenue``, ``discounts``, ``messages`` (sent), ``delivered``, ``opened``,
        ``message_cost``, ``traffic_cost``, ``margin`` and ``profit`` (see
        :class:`~funnelkit.simulation.economics.Economics`).
    totals:
        Per metric, the mean over replicates of each replicate's total over the horizon
        (``in_<stage>``: at the horizon's end), its standard deviation and a 90% interval
        (``low``/``high``: the 5% and 95% percentiles across replicates); plus ``leads``
        (population and arrivals), ``conversion`` (``buyers / leads``) and the run's work:
        ``leads simulated``, ``transitions``, ``messages simulated`` (per replicate; the whole
        run's in :attr:`counts`).
    triggers:
        One row per trigger and campaign (see :attr:`triggers`).
    leads, events, messages:
        Per-lead outcomes, the stage event log and the message log, when asked for.
    """

    __slots__ = ("_cache", "_raw", "_run")

    def __init__(self, raw: Mapping[str, Any], run: _Run) -> None:
        self._raw = raw
        self._run = run
        self._cache: dict[str, Any] = {}
        arrivals = np.asarray(raw["arrivals"])
        if arrivals.ndim != 3 or arrivals.shape[2] != len(run.channel_names):
            raise ValueError(f"arrivals must be [replicates, days, channels], got shape {arrivals.shape}")

    # -- shape -------------------------------------------------------------------------------
    @property
    def replicates(self) -> int:
        return int(np.asarray(self._raw["arrivals"]).shape[0])

    @property
    def days(self) -> int:
        return int(np.asarray(self._raw["arrivals"]).shape[1])

    @property
    def start(self) -> pd.Timestamp:
        """Midnight of the first simulated day (t = 0)."""
        return self._run.start

    @property
    def strategy_name(self) -> str:
        return self._run.strategy_name

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self._run.start + pd.to_timedelta(np.arange(self.days), unit="D"), name="date")

    @property
    def counts(self) -> dict[str, int]:
        """What the whole run simulated, over all replicates: ``replicates``, ``leads``,
        ``transitions``, ``messages`` and ``stopped`` (journeys cut by the transition guard)."""
        raw = self._raw
        return {"replicates": self.replicates, "leads": int(raw["leads"]), "transitions": int(raw["transitions"]),
                "messages": int(raw["messages"]), "stopped": int(raw.get("stopped", 0))}

    # -- series ------------------------------------------------------------------------------
    def metrics(self) -> list[str]:
        """The names of the daily metrics."""
        return list(self._per_replicate())

    def per_replicate(self, metric: str) -> pd.DataFrame:
        """One column per replicate, one row per day, for ``metric``."""
        values = self._metric(metric)
        return pd.DataFrame(values.T, index=self.dates, columns=pd.RangeIndex(self.replicates, name="replicate"))

    @property
    def daily(self) -> pd.DataFrame:
        """Mean over replicates per day (see the class' notes for the columns)."""
        if "daily" not in self._cache:
            series = self._per_replicate()
            self._cache["daily"] = pd.DataFrame({name: values.mean(axis=0) for name, values in series.items()},
                                                index=self.dates)
        frame: pd.DataFrame = self._cache["daily"]
        return frame.copy()

    def band(self, metric: str, q: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
        """Per day: the ``mean`` of ``metric`` over replicates and the quantiles ``low`` and
        ``high`` (``q``) of its replicate values."""
        low_q, high_q = _check_quantiles(q)
        values = self._metric(metric)
        return pd.DataFrame({"mean": values.mean(axis=0), "low": np.quantile(values, low_q, axis=0),
                             "high": np.quantile(values, high_q, axis=0)}, index=self.dates)

    @property
    def replicate_totals(self) -> pd.DataFrame:
        """One row per replicate, one column per metric: its total over the horizon
        (``in_<stage>``: at the end), ``leads`` and ``conversion``."""
        if "replicate_totals" not in self._cache:
            columns: dict[str, np.ndarray] = {}
            for name, values in self._per_replicate().items():
                columns[name] = values[:, -1].astype(np.float64) if name.startswith("in_") else values.sum(axis=1)
            population = 0 if self._run.population_ids is None else len(self._run.population_ids)
            leads = columns["arrivals"] + population
            columns["leads"] = leads
            with np.errstate(divide="ignore", invalid="ignore"):
                columns["conversion"] = np.where(leads > 0, columns["buyers"] / leads, np.nan)
            self._cache["replicate_totals"] = pd.DataFrame(columns, index=pd.RangeIndex(self.replicates,
                                                                                        name="replicate"))
        frame: pd.DataFrame = self._cache["replicate_totals"]
        return frame.copy()

    @property
    def totals(self) -> pd.DataFrame:
        """Per metric: ``mean``, ``sd``, ``low`` and ``high`` (5% and 95% percentiles across
        replicates) of the replicate totals, then the run's work per replicate."""
        totals = self.replicate_totals
        values = totals.to_numpy(dtype=np.float64)
        frame = pd.DataFrame({
            "mean": values.mean(axis=0),
            "sd": values.std(axis=0, ddof=1) if self.replicates > 1 else np.full(values.shape[1], np.nan),
            "low": np.quantile(values, 0.05, axis=0),
            "high": np.quantile(values, 0.95, axis=0),
        }, index=pd.Index(totals.columns, name="metric"))
        counts = self.counts
        work = pd.DataFrame({"mean": [counts[key] / self.replicates for key, _ in _COUNTS]},
                            index=pd.Index([label for _, label in _COUNTS], name="metric"))
        return pd.concat([frame, work.reindex(columns=frame.columns)])

    def to_pandas(self) -> pd.DataFrame:
        """The daily means (:attr:`daily`)."""
        return self.daily

    # -- senders -----------------------------------------------------------------------------
    @property
    def triggers(self) -> pd.DataFrame:
        """One row per trigger and campaign, numbers per replicate (means) unless a rate.

        Columns: ``kind`` (trigger or campaign); ``starts`` (the condition was met, or the lead
        was in the audience, for treated leads) and ``control_starts`` (the same for the
        control group, who get nothing); ``sent``, ``delivered``, ``opened``, ``open_rate``
        (opened / delivered), ``capped`` (dropped by the frequency cap), ``postponed`` (out of
        quiet hours); ``conversion_treated`` and ``conversion_control`` (share of starts
        followed by a purchase within the attribution window); ``uplift`` = treated rate -
        control rate with a 95% interval ``uplift_low``/``uplift_high`` (two-proportion normal
        approximation, unpooled variance, the counts of all replicates added together; NaN
        without a control group); ``incremental_purchases`` = uplift x treated starts (and its
        interval); ``incremental_revenue`` = (revenue per treated start - revenue per control
        start) x treated starts; ``attributed`` and ``attributed_revenue`` (first purchases
        whose last opened message came from this sender: last touch); ``cost`` (messages) and
        ``discounts`` (offers used); ``roi`` = (margin x incremental revenue - cost -
        discounts) / (cost + discounts).
        """
        if "triggers" not in self._cache:
            self._cache["triggers"] = self._sender_table()
        frame: pd.DataFrame = self._cache["triggers"]
        return frame.copy()

    def _sender_table(self) -> pd.DataFrame:
        run = self._run
        columns = list(self._raw["sender_columns"])
        table = np.asarray(self._raw["senders"], dtype=np.float64)
        if table.ndim != 3 or table.shape[1] != len(run.sender_names):
            raise ValueError(f"senders must be [replicates, senders, columns], got shape {table.shape}")
        pooled = table.sum(axis=0)  # [senders, columns]
        r = self.replicates

        def col(name: str) -> np.ndarray:
            values: np.ndarray = pooled[:, columns.index(name)]
            return values

        starts, control = col("starts"), col("control_starts")
        with np.errstate(divide="ignore", invalid="ignore"):
            p1 = np.where(starts > 0, col("starts_converted") / starts, np.nan)
            p0 = np.where(control > 0, col("control_converted") / control, np.nan)
            uplift = p1 - p0
            se = np.sqrt(p1 * (1 - p1) / starts + p0 * (1 - p0) / control)
            revenue_uplift = (np.where(starts > 0, col("starts_revenue") / starts, np.nan)
                              - np.where(control > 0, col("control_revenue") / control, np.nan))
            open_rate = np.where(col("delivered") > 0, col("opened") / col("delivered"), np.nan)
            per_start = starts / r
            incremental_revenue = revenue_uplift * per_start
            spend = (col("cost") + col("discounts")) / r
            roi = np.where(spend > 0, (run.economics.margin * incremental_revenue - spend) / spend, np.nan)
        kinds = ["trigger"] * run.trigger_count + ["campaign"] * (len(run.sender_names) - run.trigger_count)
        frame = pd.DataFrame({
            "kind": kinds,
            "starts": per_start,
            "control_starts": control / r,
            "sent": col("sent") / r,
            "delivered": col("delivered") / r,
            "opened": col("opened") / r,
            "open_rate": open_rate,
            "capped": col("capped") / r,
            "postponed": col("postponed") / r,
            "conversion_treated": p1,
            "conversion_control": p0,
            "uplift": uplift,
            "uplift_low": uplift - _Z95 * se,
            "uplift_high": uplift + _Z95 * se,
            "incremental_purchases": uplift * per_start,
            "incremental_purchases_low": (uplift - _Z95 * se) * per_start,
            "incremental_purchases_high": (uplift + _Z95 * se) * per_start,
            "incremental_revenue": incremental_revenue,
            "attributed": col("attributed") / r,
            "attributed_revenue": col("attributed_revenue") / r,
            "cost": col("cost") / r,
            "discounts": col("discounts") / r,
            "roi": roi,
        }, index=pd.Index(list(run.sender_names), name="sender"))
        return frame

    # -- kept tables -------------------------------------------------------------------------
    @property
    def leads(self) -> pd.DataFrame:
        """One row per simulated lead (``simulate(..., keep_leads=True)``), indexed by
        ``lead_id`` (``replicate * 10**9 + lead``, ``lead`` the lead's index in its replicate:
        the population first, then arrivals in time order): ``replicate``, ``lead``,
        ``population_id`` (the population's own id; with a population only), ``channel``
        ("population" for the initial population), ``arrival``, ``final_stage``,
        ``purchases``, ``revenue``, ``discounts``, ``first_purchase`` (NaT: none),
        ``time_to_purchase`` (from arrival, in the funnel's time unit), ``messages``,
        ``last_touch`` (the sender whose message the lead opened last before its first
        purchase: the trigger a converted lead last responded to) and ``control_<sender>``
        (in that sender's control group)."""
        if "leads" not in self._cache:
            self._cache["leads"] = self._leads_frame()
        frame: pd.DataFrame = self._cache["leads"]
        return frame.copy()

    def _leads_frame(self) -> pd.DataFrame:
        raw = self._raw.get("leads_table")
        if raw is None:
            raise ValueError("per-lead outcomes were not kept: simulate(..., keep_leads=True)")
        run = self._run
        replicate = np.asarray(raw["replicate"], dtype=np.int64)
        lead = np.asarray(raw["lead"], dtype=np.int64)
        channel = np.asarray(raw["channel"], dtype=np.int64)
        arrival = np.asarray(raw["arrival"], dtype=np.float64)
        first = np.asarray(raw["first_purchase"], dtype=np.float64)
        last_touch = np.asarray(raw["last_touch"], dtype=np.int64)
        control = np.asarray(raw["control"], dtype=np.int64)
        columns: dict[str, Any] = {"replicate": replicate, "lead": lead}
        population = run.population_ids
        if population is not None:
            ids = np.asarray(population, dtype=object)
            population_id = np.full(lead.size, None, dtype=object)
            inside = lead < len(ids)
            population_id[inside] = ids[lead[inside]]
            columns["population_id"] = population_id
        columns["channel"] = pd.Categorical.from_codes(
            np.where(channel < 0, len(run.channel_names), channel), [*run.channel_names, "population"])
        columns["arrival"] = self._timestamps(arrival)
        columns["final_stage"] = pd.Categorical.from_codes(np.asarray(raw["final_state"], dtype=np.int64),
                                                           list(run.stage_names))
        columns["purchases"] = np.asarray(raw["purchases"], dtype=np.int64)
        columns["revenue"] = np.asarray(raw["revenue"], dtype=np.float64)
        columns["discounts"] = np.asarray(raw["discounts"], dtype=np.float64)
        columns["first_purchase"] = self._timestamps(first)
        columns["time_to_purchase"] = first - arrival
        columns["messages"] = np.asarray(raw["messages"], dtype=np.int64)
        columns["last_touch"] = pd.Categorical.from_codes(last_touch, list(run.sender_names))
        for s, name in enumerate(run.sender_names[:32]):
            columns[f"control_{name}"] = (control >> s) & 1 == 1
        return pd.DataFrame(columns, index=pd.Index(replicate * LEAD_ID_STRIDE + lead, name="lead_id"))

    @property
    def events(self) -> pd.DataFrame:
        """The simulated stage events (``simulate(..., keep_events=True)``) in the format the
        event-log fitter reads: ``lead_id`` (int64: ``replicate * 10**9 + lead``, unique across
        replicates), ``timestamp`` (from :attr:`start`), ``event`` (the stage's name; the
        virtual drop stage is left out: the fitter infers leaving from silence) and ``value``
        (the order value on purchases, NaN otherwise), in (lead, time) order. So
        ``fk.fit_funnel(sim.events, {stage: stage for stage in stages})`` fits the funnel back."""
        if "events" not in self._cache:
            raw = self._raw.get("stage_events")
            if raw is None:
                raise ValueError("the event log was not kept: simulate(..., keep_events=True)")
            run = self._run
            state = np.asarray(raw["state"], dtype=np.int64)
            keep = state != (-1 if run.drop_state is None else run.drop_state)
            lead_id = (np.asarray(raw["replicate"], dtype=np.int64) * LEAD_ID_STRIDE
                       + np.asarray(raw["lead"], dtype=np.int64))[keep]
            self._cache["events"] = pd.DataFrame({
                "lead_id": lead_id,
                "timestamp": self._timestamps(np.asarray(raw["time"], dtype=np.float64)[keep]),
                "event": pd.Categorical.from_codes(state[keep], list(run.stage_names)).remove_unused_categories(),
                "value": np.asarray(raw["value"], dtype=np.float64)[keep],
            })
        frame: pd.DataFrame = self._cache["events"]
        return frame.copy()

    @property
    def messages(self) -> pd.DataFrame:
        """Every message decision (``simulate(..., keep_events=True)``): ``lead_id``,
        ``timestamp``, ``sender``, ``step`` (0-based), ``outcome`` (control: held back for
        the control group; capped: dropped by the frequency cap; sent; delivered; opened)."""
        if "messages" not in self._cache:
            raw = self._raw.get("message_events")
            if raw is None:
                raise ValueError("the message log was not kept: simulate(..., keep_events=True)")
            run = self._run
            self._cache["messages"] = pd.DataFrame({
                "lead_id": np.asarray(raw["replicate"], dtype=np.int64) * LEAD_ID_STRIDE
                + np.asarray(raw["lead"], dtype=np.int64),
                "timestamp": self._timestamps(np.asarray(raw["time"], dtype=np.float64)),
                "sender": pd.Categorical.from_codes(np.asarray(raw["sender"], dtype=np.int64),
                                                    list(run.sender_names)),
                "step": np.asarray(raw["step"], dtype=np.int64),
                "outcome": pd.Categorical.from_codes(np.asarray(raw["outcome"], dtype=np.int64),
                                                     list(MESSAGE_OUTCOMES)),
            })
        frame: pd.DataFrame = self._cache["messages"]
        return frame.copy()

    # -- display -----------------------------------------------------------------------------
    def plot(self, metric: str = "revenue", q: tuple[float, float] = (0.05, 0.95), ax: Axes | None = None) -> Axes:
        """The daily mean of ``metric`` with its quantile band across replicates (matplotlib)."""
        from funnelkit.plotting import _pyplot

        band = self.band(metric, q)
        if ax is None:
            _, ax = _pyplot().subplots(figsize=(8, 3.5))
        ax.fill_between(band.index, band["low"], band["high"], alpha=0.25, label=f"{q[0]:.0%}-{q[1]:.0%} of replicates")
        ax.plot(band.index, band["mean"], label="mean")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per day: {self._run.strategy_name} ({self.replicates} replicates)")
        ax.legend(loc="best")
        return ax

    def summary(self) -> pd.DataFrame:
        """The headline totals (mean and 90% interval)."""
        rows = ["leads", "buyers", "conversion", "purchases", "revenue", "messages", "message_cost", "discounts",
                "traffic_cost", "margin", "profit"]
        return self.totals.loc[rows, ["mean", "low", "high"]]

    def _title(self) -> str:
        counts = self.counts
        return (f"Simulation '{self._run.strategy_name}': {self.days} days from {self._run.start.date()}, "
                f"{self.replicates} replicates; simulated {counts['leads']:,} leads, "
                f"{counts['transitions']:,} transitions, {counts['messages']:,} messages")

    def __repr__(self) -> str:
        body = self.summary().to_string(float_format=lambda x: f"{x:,.6g}")
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        table = self.summary().to_html(float_format=lambda x: f"{x:,.6g}", border=0)
        parts = [f"<div><strong>{html.escape(self._title())}</strong>", table]
        if len(self._run.sender_names):
            triggers = self.triggers[["sent", "opened", "uplift", "incremental_purchases", "incremental_revenue",
                                      "cost", "discounts", "roi"]]
            parts.append(triggers.to_html(float_format=lambda x: f"{x:,.4g}", border=0))
        parts.append("</div>")
        return "".join(parts)

    # -- internals ---------------------------------------------------------------------------
    def _metric(self, metric: str) -> np.ndarray:
        series = self._per_replicate()
        if metric not in series:
            raise KeyError(f"no daily metric {metric!r}; the metrics are {list(series)}")
        return series[metric]

    def _per_replicate(self) -> dict[str, np.ndarray]:
        """metric -> float64[replicates, days]."""
        if "series" in self._cache:
            cached: dict[str, np.ndarray] = self._cache["series"]
            return cached
        raw, run = self._raw, self._run
        arrivals = np.asarray(raw["arrivals"], dtype=np.float64)
        entries = np.asarray(raw["entries"], dtype=np.float64)
        occupancy = np.asarray(raw["occupancy"], dtype=np.float64)
        series = np.asarray(raw["series"], dtype=np.float64)
        names = list(raw["series_columns"])
        out: dict[str, np.ndarray] = {"arrivals": arrivals.sum(axis=2)}
        if len(run.channel_names) > 1:
            for c, channel in enumerate(run.channel_names):
                out[f"arrivals_{channel}"] = arrivals[:, :, c]
        for s, stage in enumerate(run.stage_names):
            out[f"entered_{stage}"] = entries[:, :, s]
        for s, stage in enumerate(run.stage_names):
            out[f"in_{stage}"] = occupancy[:, :, s]
        for name in _SERIES:
            out[name] = series[:, :, names.index(name)]
        out["traffic_cost"] = arrivals @ np.asarray(run.cost_per_visitor, dtype=np.float64)
        economics = run.economics
        out["margin"] = economics.margin_of(out["revenue"], out["discounts"])
        out["profit"] = out["margin"] - out["traffic_cost"] - out["message_cost"]
        self._cache["series"] = out
        return out

    def _timestamps(self, times: np.ndarray) -> pd.DatetimeIndex | np.ndarray:
        """Clock times (funnel units from t = 0) as timestamps; NaN -> NaT."""
        ns = np.round(times * self._run.ns_per_unit)
        finite = np.isfinite(ns)
        values = np.where(finite, ns, 0).astype(np.int64) + self._run.start.value
        out = values.view("datetime64[ns]").copy()
        out[~finite] = np.datetime64("NaT")
        return out


class StrategyComparison:
    """Strategies simulated with common random numbers, compared with a baseline.

    ``table`` has one row per strategy: the mean replicate totals (``buyers``,
    ``purchases``, ``revenue``, ``messages``, ``message_cost``, ``discounts``, ``margin``,
    ``profit``) and, against the baseline, the mean paired difference of ``purchases``,
    ``buyers``, ``revenue`` and ``profit`` per replicate (``incremental_*``) with a 95% interval
    (``*_low``/``*_high``: mean +- t(0.975, R-1) x sd / sqrt(R) of the per-replicate
    differences, which common random numbers make small), and ``roi`` = incremental profit /
    (incremental message cost + incremental discounts). ``deltas`` holds the same paired
    statistics for every metric.
    """

    __slots__ = ("_baseline", "_simulations")

    def __init__(self, simulations: Mapping[str, Simulation], baseline: str) -> None:
        if baseline not in simulations:
            raise KeyError(f"the baseline {baseline!r} is not one of the strategies {list(simulations)}")
        self._simulations = dict(simulations)
        self._baseline = baseline

    @property
    def baseline(self) -> str:
        return self._baseline

    @property
    def simulations(self) -> dict[str, Simulation]:
        return dict(self._simulations)

    def __getitem__(self, name: str) -> Simulation:
        return self._simulations[name]

    @property
    def deltas(self) -> pd.DataFrame:
        """Paired differences with the baseline: one row per (strategy, metric), columns
        ``mean``, ``sd``, ``low``, ``high`` (95%, t-based over replicates)."""
        base = self._simulations[self._baseline].replicate_totals
        rows = []
        for name, simulation in self._simulations.items():
            if name == self._baseline:
                continue
            difference = simulation.replicate_totals - base
            for metric in difference.columns:
                rows.append((name, metric, *_paired(difference[metric].to_numpy(dtype=np.float64))))
        index_names = ["strategy", "metric"]
        if not rows:
            return pd.DataFrame(columns=["mean", "sd", "low", "high"],
                                index=pd.MultiIndex.from_tuples([], names=index_names))
        frame = pd.DataFrame(rows, columns=[*index_names, "mean", "sd", "low", "high"])
        return frame.set_index(index_names)

    @property
    def table(self) -> pd.DataFrame:
        """One row per strategy (see the class' notes)."""
        metrics = ["buyers", "purchases", "revenue", "messages", "message_cost", "discounts", "margin", "profit"]
        frame = pd.DataFrame({name: simulation.replicate_totals[metrics].mean(axis=0)
                              for name, simulation in self._simulations.items()}).T
        frame.index.name = "strategy"
        deltas = self.deltas
        for metric in ("purchases", "buyers", "revenue", "profit"):
            for column, suffix in (("mean", ""), ("low", "_low"), ("high", "_high")):
                frame[f"incremental_{metric}{suffix}"] = [
                    0.0 if name == self._baseline else deltas.loc[(name, metric), column] for name in frame.index]
        roi = []
        for name in frame.index:
            if name == self._baseline:
                roi.append(math.nan)
                continue
            spend = deltas.loc[(name, "message_cost"), "mean"] + deltas.loc[(name, "discounts"), "mean"]
            roi.append(deltas.loc[(name, "profit"), "mean"] / spend if spend > 0 else math.nan)
        frame["roi"] = roi
        return frame

    def to_pandas(self) -> pd.DataFrame:
        return self.table

    def plot(self, metric: str = "profit", ax: Axes | None = None) -> Axes:
        """Incremental ``metric`` per replicate against the baseline, with 95% intervals."""
        from funnelkit.plotting import _pyplot

        deltas = self.deltas
        names = [name for name in self._simulations if name != self._baseline]
        if ax is None:
            _, ax = _pyplot().subplots(figsize=(max(4.0, 1.4 * len(names) + 2), 3.5))
        means = np.array([deltas.loc[(name, metric), "mean"] for name in names], dtype=np.float64)
        lows = np.array([deltas.loc[(name, metric), "low"] for name in names], dtype=np.float64)
        highs = np.array([deltas.loc[(name, metric), "high"] for name in names], dtype=np.float64)
        ax.bar(names, means, yerr=np.vstack([means - lows, highs - means]), capsize=4, color="tab:blue", alpha=0.8)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"incremental {metric}")
        ax.set_title(f"{metric} vs '{self._baseline}' (95% intervals)")
        return ax

    def _title(self) -> str:
        first = next(iter(self._simulations.values()))
        return (f"Strategies against '{self._baseline}': {first.days} days, {first.replicates} replicates, "
                f"common random numbers")

    def __repr__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 30):
            body = self.table.to_string(float_format=lambda x: f"{x:,.6g}")
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        table = self.table.to_html(float_format=lambda x: f"{x:,.4g}", border=0)
        return f"<div><strong>{html.escape(self._title())}</strong>{table}</div>"


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile (``p`` in (0.5, 1)), exactly, from the Beta quantile:
    ``df / (df + T**2)`` is Beta(df / 2, 1 / 2)."""
    x = float(_core.beta_quantile(np.array([df / 2.0]), np.array([0.5]), np.array([2.0 * (1.0 - p)]))[0])
    return math.sqrt(df * (1.0 - x) / x)


def _paired(difference: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sd and 95% t-interval of per-replicate differences."""
    n = difference.size
    mean = float(difference.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(difference.std(ddof=1))
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def _check_quantiles(q: Sequence[float]) -> tuple[float, float]:
    if len(q) != 2 or not all(0.0 <= float(x) <= 1.0 for x in q) or float(q[0]) > float(q[1]):
        raise ValueError(f"q must be two quantiles (low, high) in [0, 1], low <= high, got {q!r}")
    return float(q[0]), float(q[1])
