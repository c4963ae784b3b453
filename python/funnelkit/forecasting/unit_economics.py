"""Unit economics of a shop, the way marketers define them, from a simulation or plain totals.

:func:`unit_economics` turns a :class:`~funnelkit.simulation.results.Simulation` (its replicate
totals, per-channel traffic and per-sender message costs), a
:class:`~funnelkit.forecasting.forecast.Forecast` (its simulation over the forecast's days) or a
mapping of totals into one tidy
table, every metric with its formula; :func:`decompose` splits a change in revenue (or profit)
between two of them into the part due to each factor of the sales-volume identity

    revenue = visitors * conversion * average order value * orders per buyer

(``conversion = buyers / visitors``, ``average order value = revenue / orders``, ``orders per
buyer = orders / buyers``: the product telescopes to the revenue exactly), with margin on top:
``profit = margin rate * revenue - discounts - traffic cost - message cost``.

Costs, defined once (the table's ``formula`` column repeats them):

* ``marketing_cost`` = traffic cost + message cost: the money paid out to win and work the
  visitors. Discounts are *not* in it: a discount is a lower price, so it comes out of the
  margin (``gross_profit``), as in :class:`~funnelkit.simulation.economics.Economics`.
* ``cac`` = marketing cost / new buyers: a blended, fully loaded CAC. All traffic and all
  messages of the period go in (retention letters included: the simulation does not tell
  acquisition spend from retention spend), divided by the buyers whose first purchase falls in
  the period.
* ``cpa_order``, ``cpa_lead`` = marketing cost / orders (or / leads): cost per target action.
* ``romi`` = (gross profit - marketing cost) / marketing cost = profit / marketing cost.
* ``roi`` = profit / (cost of goods + marketing cost), cost of goods = (1 - margin rate) *
  revenue: the return on all the money put in, goods included.
* ``payback_orders`` = CAC / gross profit per order: how many average orders' gross profit
  earn the acquisition cost back; ``payback_days`` = CAC / (gross profit per buyer per day of
  the period): the days of an average buyer's gross-profit flow, as observed over the period,
  that earn it back (a crude figure: buyers won late in the period had less time to buy again).
  Both are infinite when the gross profit is not positive (never paid back).

>>> from funnelkit.forecasting.unit_economics import decompose, unit_economics
>>> base = unit_economics({"visitors": 10_000, "buyers": 200, "orders": 240, "revenue": 14_400.0,
...                        "traffic_cost": 2_000.0, "margin_rate": 0.4})
>>> base["conversion"], base["average_order_value"], base["orders_per_buyer"], base["cac"]
(0.02, 60.0, 1.2, 10.0)
>>> better = unit_economics({"visitors": 10_000, "buyers": 250, "orders": 300, "revenue": 18_000.0,
...                          "traffic_cost": 2_000.0, "margin_rate": 0.4})
>>> decompose(base, better)["contribution"].round(6).to_dict()
{'visitors': 0.0, 'conversion': 3600.0, 'average_order_value': 0.0, 'orders_per_buyer': 0.0}
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelkit.analysis import Path
from funnelkit.errors import ForecastError
from funnelkit.simulation.economics import Economics
from funnelkit.simulation.results import Simulation

if TYPE_CHECKING:
    from funnelkit.forecasting.forecast import Forecast
    from funnelkit.funnel import Funnel

__all__ = ["FACTORS", "PERIODS", "UnitEconomics", "decompose", "unit_economics"]

#: The factors of the sales-volume identity, in order: their product is the revenue.
FACTORS = ("visitors", "conversion", "average_order_value", "orders_per_buyer")
#: ``per`` -> days in one period (None: the whole horizon). A month is 365.25 / 12 days.
PERIODS: dict[str, float | None] = {"total": None, "day": 1.0, "week": 7.0, "month": 365.25 / 12.0}
#: Keys a mapping source may hold: required, then optional (amounts default to 0).
_REQUIRED = ("visitors", "buyers", "orders", "revenue")
_OPTIONAL = ("leads", "discounts", "traffic_cost", "message_cost", "margin_rate", "days", "stages")
#: Quantiles of the replicate interval.
_Q = (0.05, 0.95)


@dataclass(frozen=True, eq=False)  # a DataFrame field: identity, not elementwise, equality
class UnitEconomics:
    """Unit economics of one shop over one period: a tidy table and the totals behind it.

    Attributes
    ----------
    table:
        One row per metric (the index, ``metric``): ``value``; ``low`` and ``high``, the 5% and
        95% percentiles of the metric computed replicate by replicate (a simulation source; NaN
        for plain totals); ``formula``; ``unit`` (``/day``, ``/week``, ``/month`` on counts and
        amounts with ``per`` other than ``"total"``). ``value`` is computed from the mean
        replicate totals: the mean for counts and amounts, the pooled ratio (ratio of means)
        for rates, so the sales-volume identity holds exactly between the values.
    totals:
        The inputs per period: ``visitors``, ``buyers``, ``orders``, ``revenue``,
        ``discounts``, ``traffic_cost``, ``message_cost`` and ``leads`` (NaN when unknown).
    margin_rate:
        Share of revenue kept before discounts (the economics' ``margin``).
    per:
        ``"total"`` (the whole period), ``"day"``, ``"week"`` or ``"month"``.
    days:
        The period's length in days (None when a mapping source does not say).
    replicates:
        How many simulated replicates the intervals come from (None for plain totals).
    """

    table: pd.DataFrame
    totals: Mapping[str, float]
    margin_rate: float
    per: str = "total"
    days: float | None = None
    replicates: int | None = None
    source: str = field(default="totals")

    def __getitem__(self, metric: str) -> float:
        """The ``value`` of ``metric``."""
        if metric not in self.table.index:
            raise KeyError(f"no metric {metric!r}; the metrics are {list(self.table.index)}")
        return float(self.table.at[metric, "value"])

    @property
    def metrics(self) -> list[str]:
        return list(self.table.index)

    @property
    def factors(self) -> dict[str, float]:
        """The sales-volume factors (:data:`FACTORS`) -> value; their product is the revenue."""
        return {name: self[name] for name in FACTORS}

    def to_pandas(self) -> pd.DataFrame:
        """The table with ``metric`` as a column (a copy)."""
        return self.table.reset_index()

    def to_dict(self) -> dict[str, float]:
        """metric -> value."""
        return {str(k): float(v) for k, v in self.table["value"].items()}

    def _title(self) -> str:
        where = (f"simulation, {self.replicates} replicates (5%-95% across replicates)" if self.replicates
                 else "totals")
        length = "" if self.days is None else f" over {self.days:g} days"
        return f"Unit economics per {self.per}{length}: {where}; margin rate {self.margin_rate:g}"

    def __repr__(self) -> str:
        columns = ["value", "low", "high", "unit"] if self.replicates else ["value", "unit"]
        with pd.option_context("display.width", 160, "display.max_rows", 500):
            body = self.table[columns].to_string(float_format=lambda x: f"{x:,.6g}")
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        columns = ["value", "low", "high", "unit", "formula"] if self.replicates else ["value", "unit", "formula"]
        table = self.table[columns].to_html(float_format=lambda x: f"{x:,.4g}", border=0)
        return f"<div><strong>{html.escape(self._title())}</strong>{table}</div>"


def unit_economics(
    source: Simulation | Forecast | Mapping[str, Any],
    *,
    economics: Economics | None = None,
    per: str = "total",
    lead_stage: str | None = None,
    steps: Sequence[str] | Path | None = None,
) -> UnitEconomics:
    """The unit economics of a simulated shop or of plain totals, each metric with its formula.

    Parameters
    ----------
    source:
        A :class:`~funnelkit.simulation.results.Simulation` (``fk.simulate``'s result): values
        from its mean replicate totals, intervals from the replicates; ``visitors`` are its
        ``leads`` (arrivals plus any initial population: everyone who could buy), ``buyers``
        its first purchases, ``orders`` its purchases. Or a
        :class:`~funnelkit.forecasting.forecast.Forecast` made with ``replicates`` > 0: its
        simulation over the forecast's days (with a ``warm_up``, the days before the forecast's
        start are left out: ``visitors`` are then the forecast days' arrivals, ``buyers`` the
        first purchases in those days, whenever the buyer arrived, and there are no
        ``message_cost[<sender>]`` rows, the simulation counting those over the whole run; its
        ``triggers`` table has them). Or a mapping of totals: ``visitors``,
        ``buyers``, ``orders``, ``revenue`` (required); ``leads``, ``discounts``,
        ``traffic_cost``, ``message_cost`` (default 0), ``margin_rate``, ``days`` (needed for
        ``per`` other than ``"total"`` and for ``payback_days``) and ``stages`` (stage ->
        entries, in funnel order, for the step conversions).
    economics:
        The margin rate (:class:`~funnelkit.simulation.economics.Economics`). Default: the
        simulation's own, or the mapping's ``margin_rate``, or ``Economics()`` (30%). With a
        simulation, another ``margin`` re-prices the margin (it does not change what was
        simulated) but another ``order_value_cv`` is refused; with a mapping, it must agree with
        a ``margin_rate`` given there.
    per:
        ``"total"`` (the whole period), or counts and amounts per ``"day"``, ``"week"`` or
        ``"month"`` (365.25 / 12 days); rates do not change.
    lead_stage:
        The stage whose entries count as leads (for ``cpa_lead``); default ``"lead"`` when the
        simulated funnel has such a stage. Re-entries through loops count as actions.
    steps:
        The stages of the main path, in order, for the step conversions (entries into a stage /
        entries into the one before): names, or a :class:`~funnelkit.analysis.Path` such as
        ``funnel.most_likely_path()``. Default: with a forecast, its funnel's most likely path
        to a success stage (``visit -> ... -> paid``); with a simulation or totals, which do
        not carry the funnel, all the stages in the funnel's order (a step *into* a failure
        stage, such as ``step[paid->unsubscribed]``, may then appear: give the path to leave
        it out).

    Returns
    -------
    UnitEconomics

    Raises
    ------
    ForecastError
        Negative or non-finite counts or amounts, zero visitors, more buyers than visitors,
        fewer orders than buyers, an unknown key, ``per`` or stage, economics that do not
        match the source; ``subject`` names the field.

    Examples
    --------
    >>> ue = unit_economics({"visitors": 5_000, "buyers": 100, "orders": 100, "revenue": 5_000.0,
    ...                      "traffic_cost": 1_000.0, "margin_rate": 0.5, "days": 10}, per="day")
    >>> ue["revenue"], ue["cac"], ue["romi"], ue["payback_orders"]
    (500.0, 10.0, 1.5, 0.4)
    """
    if per not in PERIODS:
        raise ForecastError(f"unit_economics: per must be one of {list(PERIODS)}, got {per!r}", subject="per")
    if economics is not None and not isinstance(economics, Economics):
        raise TypeError(f"economics must be a funnelkit Economics, got {type(economics).__name__}")
    from funnelkit.forecasting.forecast import Forecast

    if isinstance(source, Forecast):
        if source.simulation is None:
            raise ForecastError("unit_economics: the forecast was made with replicates=0 (the expected path "
                                "only); forecast again with replicates > 0 for its unit economics",
                                subject="replicates")
        return _from_simulation(source.simulation, economics, per, lead_stage, steps,
                                skip_days=source.warm_up_days, funnel=source.funnel)
    if isinstance(source, Simulation):
        return _from_simulation(source, economics, per, lead_stage, steps)
    if isinstance(source, Mapping):
        return _from_mapping(source, economics, per, lead_stage, steps)
    raise TypeError(f"source must be a funnelkit Simulation, Forecast or a mapping of totals, got "
                    f"{type(source).__name__}")


# -- sources ---------------------------------------------------------------------------------
def _from_mapping(source: Mapping[str, Any], economics: Economics | None, per: str, lead_stage: str | None,
                  steps: Sequence[str] | Path | None) -> UnitEconomics:
    unknown = [key for key in source if key not in _REQUIRED + _OPTIONAL]
    if unknown:
        raise ForecastError(f"unit_economics: unknown total {unknown[0]!r}; the totals are "
                            f"{list(_REQUIRED + _OPTIONAL)}", subject=str(unknown[0]))
    for key in _REQUIRED:
        if key not in source:
            raise ForecastError(f"unit_economics: the totals need {key!r}", subject=key)
    totals = {key: _amount(source, key) for key in ("visitors", "buyers", "orders", "revenue", "discounts",
                                                     "traffic_cost", "message_cost")}
    totals["leads"] = _amount(source, "leads") if source.get("leads") is not None else math.nan
    margin = _margin_rate(source, economics)
    days = None if source.get("days") is None else _amount(source, "days")
    if days is not None and days <= 0:
        raise ForecastError(f"unit_economics: days must be > 0, got {days!r}", subject="days")
    stages = source.get("stages") or {}
    if not isinstance(stages, Mapping):
        raise ForecastError("unit_economics: stages must map stage -> entries", subject="stages")
    entries = {str(stage): _amount(stages, stage, f"stages[{stage}]") for stage in stages}
    if lead_stage is not None:
        if lead_stage not in entries:
            raise ForecastError(f"unit_economics: lead_stage {lead_stage!r} is not in the totals' stages",
                                subject=lead_stage)
        if math.isnan(totals["leads"]):
            totals["leads"] = entries[lead_stage]
    _check_counts(totals)
    scale = _scale(per, days)
    point = {key: np.array([value * scale]) for key, value in totals.items()}
    stage_arrays = {stage: np.array([value * scale]) for stage, value in entries.items()}
    rows = _metrics(point, margin, days, per, stage_arrays, _steps(list(entries), steps))
    table = _table(rows, None)
    return UnitEconomics(table, {k: float(v[0]) for k, v in point.items()}, margin, per, days, None, "totals")


def _from_simulation(sim: Simulation, economics: Economics | None, per: str, lead_stage: str | None,
                     steps: Sequence[str] | Path | None, *, skip_days: int = 0,
                     funnel: Funnel | None = None) -> UnitEconomics:
    run = sim._run
    own = run.economics
    if economics is not None and economics.order_value_cv != own.order_value_cv:
        raise ForecastError(
            f"unit_economics: economics.order_value_cv {economics.order_value_cv!r} does not match the simulation's "
            f"{own.order_value_cv!r}: the spread of order values is part of what was simulated; simulate again",
            subject="economics.order_value_cv")
    margin = float((economics or own).margin)
    stage_names = [name for s, name in enumerate(run.stage_names) if s != run.drop_state]
    if lead_stage is None and "lead" in stage_names:
        lead_stage = "lead"
    if lead_stage is not None and lead_stage not in stage_names:
        raise ForecastError(f"unit_economics: lead_stage {lead_stage!r} is not a stage of the simulated funnel "
                            f"{stage_names}", subject=lead_stage)
    if skip_days:  # the totals over the days from ``skip_days`` on (in_<stage> columns are not used)
        series = {name: values[:, skip_days:] for name, values in sim._per_replicate().items()
                  if not name.startswith("in_")}
        rt = pd.DataFrame({name: values.sum(axis=1) for name, values in series.items()})
        rt["leads"] = rt["arrivals"]
    else:
        rt = sim.replicate_totals
    days = float(sim.days - skip_days)
    scale = _scale(per, days)
    if steps is None and funnel is not None:
        main = funnel.most_likely_path()
        steps = main if len(main.stages) >= 2 else None

    def column(name: str) -> np.ndarray:
        values: np.ndarray = rt[name].to_numpy(dtype=np.float64) * scale
        return values

    per_rep = {"visitors": column("leads"), "buyers": column("buyers"), "orders": column("purchases"),
               "revenue": column("revenue"), "discounts": column("discounts"),
               "traffic_cost": column("traffic_cost"), "message_cost": column("message_cost"),
               "leads": column(f"entered_{lead_stage}") if lead_stage else np.full(len(rt), math.nan)}
    stage_rep = {stage: column(f"entered_{stage}") for stage in stage_names}
    point = {key: np.array([values.mean()]) for key, values in per_rep.items()}
    if point["visitors"][0] <= 0:
        raise ForecastError("unit_economics: the simulation has no visitors (no traffic and no population)",
                            subject="visitors")
    stage_point = {stage: np.array([values.mean()]) for stage, values in stage_rep.items()}
    chosen = _steps(stage_names, steps)
    extra: list[tuple[str, np.ndarray, np.ndarray | None, str, str]] = []
    unit_suffix = "" if per == "total" else f"/{per}"
    if len(run.channel_names) > 1:
        for c, channel in enumerate(run.channel_names):
            values = column(f"arrivals_{channel}") * float(run.cost_per_visitor[c])
            extra.append((f"traffic_cost[{channel}]", np.array([values.mean()]), values,
                          f"visitors from {channel} * its cost per visitor", "money" + unit_suffix))
    if len(run.sender_names) and not skip_days:
        senders = sim.triggers
        for sender in senders.index:
            cost = float(senders.at[sender, "cost"]) * scale
            extra.append((f"message_cost[{sender}]", np.array([cost]), None,
                          f"cost of the messages {sender} sent (mean per replicate)", "money" + unit_suffix))
    point_rows = _metrics(point, margin, days, per, stage_point, chosen)
    rep_rows = _metrics(per_rep, margin, days, per, stage_rep, chosen)
    rows: list[tuple[str, np.ndarray, np.ndarray | None, str, str]] = [
        (name, value, reps, formula, unit)
        for (name, value, formula, unit), (_, reps, _, _) in zip(point_rows, rep_rows, strict=True)]
    position = next(i for i, row in enumerate(rows) if row[0] == "marketing_cost")
    rows[position:position] = extra
    table = _table([(n, v, f, u) for n, v, _, f, u in rows], [r for _, _, r, _, _ in rows])
    return UnitEconomics(table, {k: float(v[0]) for k, v in point.items()}, margin, per, days, sim.replicates,
                         "simulation")


# -- the metrics -----------------------------------------------------------------------------
def _metrics(t: Mapping[str, np.ndarray], m: float, days: float | None, per: str, stages: Mapping[str, np.ndarray],
             steps: Sequence[str]) -> list[tuple[str, np.ndarray, str, str]]:
    """(metric, values, formula, unit) rows computed elementwise over ``t``'s arrays."""
    s = "" if per == "total" else f"/{per}"
    visitors, buyers, orders, revenue = t["visitors"], t["buyers"], t["orders"], t["revenue"]
    discounts, traffic, messages, leads = t["discounts"], t["traffic_cost"], t["message_cost"], t["leads"]
    gross_profit = m * revenue - discounts
    marketing = traffic + messages
    profit = gross_profit - marketing
    cac = _div(marketing, buyers)
    rows: list[tuple[str, np.ndarray, str, str]] = [
        ("visitors", visitors, "potential buyers: arrivals plus leads in the funnel at the start", "visitors" + s),
    ]
    has_leads = not bool(np.all(np.isnan(leads)))
    if has_leads:
        rows.append(("leads", leads, "entries into the lead stage", "leads" + s))
    rows += [
        ("buyers", buyers, "new buyers: first purchases in the period", "buyers" + s),
        ("orders", orders, "purchases (transactions)", "orders" + s),
    ]
    for stage in stages:
        rows.append((f"reach[{stage}]", _div(stages[stage], visitors), f"entries into {stage} / visitors", "share"))
    for a, b in itertools.pairwise(steps):
        rows.append((f"step[{a}->{b}]", _div(stages[b], stages[a]), f"entries into {b} / entries into {a}",
                     "share"))
    rows += [
        ("conversion", _div(buyers, visitors), "buyers / visitors", "share"),
        ("average_order_value", _div(revenue, orders), "revenue / orders", "money/order"),
        ("orders_per_buyer", _div(orders, buyers), "orders / buyers", "orders/buyer"),
        ("revenue", revenue, "visitors * conversion * average_order_value * orders_per_buyer "
                             "(sum of order values before discounts)", "money" + s),
        ("revenue_per_visitor", _div(revenue, visitors), "revenue / visitors", "money/visitor"),
        ("margin_rate", np.full_like(revenue, m), "share of revenue kept before discounts (economics.margin)",
         "share"),
        ("discounts", discounts, "order value given away on offers", "money" + s),
        ("discount_rate", _div(discounts, revenue), "discounts / revenue", "share"),
        ("gross_profit", gross_profit, "margin_rate * revenue - discounts", "money" + s),
        ("gross_margin", _div(gross_profit, revenue), "gross_profit / revenue", "share"),
        ("traffic_cost", traffic, "Σ visitors per channel * cost per visitor", "money" + s),
        ("message_cost", messages, "Σ cost of the messages sent", "money" + s),
        ("marketing_cost", marketing, "traffic_cost + message_cost (discounts are in gross_profit)", "money" + s),
        ("profit", profit, "gross_profit - marketing_cost = margin_rate * revenue - discounts - traffic_cost "
                           "- message_cost", "money" + s),
        ("cost_per_visitor", _div(traffic, visitors), "traffic_cost / visitors", "money/visitor"),
        ("cac", cac, "marketing_cost / buyers (blended: all traffic and messages, per new buyer)", "money/buyer"),
    ]
    if has_leads:
        rows.append(("cpa_lead", _div(marketing, leads), "marketing_cost / leads", "money/lead"))
    rows += [
        ("cpa_order", _div(marketing, orders), "marketing_cost / orders", "money/order"),
        ("gross_profit_per_buyer", _div(gross_profit, buyers), "gross_profit / buyers", "money/buyer"),
        ("romi", _div(profit, marketing), "(gross_profit - marketing_cost) / marketing_cost", "ratio"),
        ("roi", _div(profit, (1.0 - m) * revenue + marketing),
         "profit / ((1 - margin_rate) * revenue + marketing_cost): return on goods and marketing", "ratio"),
        ("payback_orders", _payback(cac, _div(gross_profit, orders)),
         "cac / (gross_profit / orders); inf when gross_profit <= 0", "orders"),
    ]
    if days is not None:
        # gross_profit / buyers is per buyer over the whole period whatever ``per`` (both scale alike).
        per_day = _div(gross_profit, buyers) / days
        rows.append(("payback_days", _payback(cac, per_day),
                     "cac / (gross_profit / buyers / days); inf when gross_profit <= 0", "days"))
    return rows


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b elementwise; NaN where b is 0."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    out = np.full(a.shape, math.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _payback(cost: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """cost / gain where the gain is positive, inf where it is not (never paid back), NaN where
    either is unknown."""
    out = np.full(np.shape(gain), math.inf)
    positive = gain > 0
    np.divide(cost, gain, out=out, where=positive)
    out[np.isnan(gain) | np.isnan(cost)] = math.nan
    return out


def _table(rows: Sequence[tuple[str, np.ndarray, str, str]], replicates: Sequence[np.ndarray | None] | None
           ) -> pd.DataFrame:
    low, high = [], []
    for i in range(len(rows)):
        values = None if replicates is None else replicates[i]
        lo, hi = _interval(values)
        low.append(lo)
        high.append(hi)
    return pd.DataFrame({
        "value": [float(values[0]) for _, values, _, _ in rows],
        "low": low,
        "high": high,
        "formula": [formula for _, _, formula, _ in rows],
        "unit": [unit for _, _, _, unit in rows],
    }, index=pd.Index([name for name, _, _, _ in rows], name="metric"))


def _interval(values: np.ndarray | None) -> tuple[float, float]:
    """5% and 95% percentiles of the replicates' values, NaN ones left out (linear
    interpolation; the nearest rank when some are infinite, where interpolation is undefined)."""
    if values is None:
        return math.nan, math.nan
    known = values[~np.isnan(values)]
    if known.size == 0:
        return math.nan, math.nan
    if np.all(np.isfinite(known)):
        return float(np.quantile(known, _Q[0])), float(np.quantile(known, _Q[1]))
    return float(np.quantile(known, _Q[0], method="nearest")), float(np.quantile(known, _Q[1], method="nearest"))


def _amount(source: Mapping[str, Any], key: str, name: str | None = None) -> float:
    """A finite number >= 0 from ``source[key]`` (missing or None: 0)."""
    name = name or key
    raw = source.get(key)
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ForecastError(f"unit_economics: {name} must be a number, got {raw!r}", subject=name) from None
    if not math.isfinite(value) or value < 0:
        raise ForecastError(f"unit_economics: {name} must be a finite number >= 0, got {raw!r}", subject=name)
    return value


def _margin_rate(source: Mapping[str, Any], economics: Economics | None) -> float:
    given = source.get("margin_rate")
    if given is None:
        return float((economics or Economics()).margin)
    rate = _amount(source, "margin_rate")
    if rate > 1:
        raise ForecastError(f"unit_economics: margin_rate must be a share in [0, 1], got {given!r}",
                            subject="margin_rate")
    if economics is not None and not math.isclose(economics.margin, rate, rel_tol=1e-12, abs_tol=1e-15):
        raise ForecastError(f"unit_economics: the totals' margin_rate {rate!r} does not match economics.margin "
                            f"{economics.margin!r}; give one of them", subject="margin_rate")
    return rate


def _check_counts(totals: Mapping[str, float]) -> None:
    if totals["visitors"] <= 0:
        raise ForecastError("unit_economics: visitors must be > 0 (conversion is buyers / visitors)",
                            subject="visitors")
    if totals["buyers"] > totals["visitors"]:
        raise ForecastError(f"unit_economics: more buyers ({totals['buyers']:g}) than visitors "
                            f"({totals['visitors']:g})", subject="buyers")
    if totals["orders"] < totals["buyers"]:
        raise ForecastError(f"unit_economics: fewer orders ({totals['orders']:g}) than buyers "
                            f"({totals['buyers']:g}): every buyer placed an order", subject="orders")
    if totals["orders"] == 0 and totals["revenue"] > 0:
        raise ForecastError("unit_economics: revenue without orders", subject="revenue")


def _scale(per: str, days: float | None) -> float:
    """Multiplier from totals over ``days`` to amounts per period."""
    length = PERIODS[per]
    if length is None:
        return 1.0
    if days is None:
        raise ForecastError(f"unit_economics: per={per!r} needs the period's length: give 'days' in the totals",
                            subject="days")
    return length / days


def _steps(stages: Sequence[str], steps: Sequence[str] | Path | None) -> list[str]:
    if steps is None:
        return list(stages)
    chosen = [str(stage) for stage in (steps.stages if isinstance(steps, Path) else steps)]
    for stage in chosen:
        if stage not in stages:
            raise ForecastError(f"unit_economics: step {stage!r} is not one of the stages {list(stages)}",
                                subject=stage)
    return chosen


# -- decomposition ---------------------------------------------------------------------------
def decompose(base: UnitEconomics, other: UnitEconomics, *, target: str = "revenue") -> pd.DataFrame:
    """Split the change in revenue (or profit) from ``base`` to ``other`` into the part due to
    each factor, exactly and whatever the order of the factors.

    Method: the Shapley value of the factors. Revenue is the product
    ``visitors * conversion * average_order_value * orders_per_buyer`` (:data:`FACTORS`);
    the part of factor i is the average, over the n! orders in which the factors can be
    switched from their base to their other value one at a time, of the change in the product
    when i is switched; computed as
    ``Σ_S |S|! (n - |S| - 1)! / n! * (f(S | {i}) - f(S))`` over the sets S of the other factors,
    f(S) being the product with the factors in S at their other value and the rest at base.
    The factors are taken as exact ratios of the totals behind them (``buyers / visitors``...),
    so their product is the revenue exactly, and the parts are computed in exact rational
    arithmetic: they add up to the total change exactly, and each is rounded to a float once
    (so the float parts add up to it within a few units in the last place). Unlike the log-mean
    Divisia index it needs no logarithms, so a factor may be 0 (the margin rate). With two
    factors changing it is the familiar midpoint rule: the part of x in ``x·y`` is ``Δx * (y_base + y_other) / 2``.

    ``target="profit"``: profit = ``margin_rate * revenue - discounts - traffic_cost -
    message_cost``; the product gains a fifth factor, ``margin_rate``, shared the same way, and
    each cost's part is minus its change.

    Parameters
    ----------
    base, other:
        Two :class:`UnitEconomics` with the same ``per``.
    target:
        ``"revenue"`` or ``"profit"``.

    Returns
    -------
    pandas.DataFrame
        One row per factor (index ``factor``): ``base``, ``other``, ``contribution`` (the part
        of the change due to it; the column sums to the total change) and ``share``
        (contribution / total change; NaN when the total change is 0). ``attrs`` holds
        ``target``, ``base_total``, ``other_total`` and ``total_change``.

    Examples
    --------
    >>> a = unit_economics({"visitors": 1000, "buyers": 20, "orders": 20, "revenue": 1000.0})
    >>> b = unit_economics({"visitors": 1200, "buyers": 30, "orders": 30, "revenue": 1500.0})
    >>> parts = decompose(a, b)
    >>> parts["contribution"].round(9).tolist()     # visitors, conversion: the midpoint rule
    [225.0, 275.0, 0.0, 0.0]
    >>> parts.attrs["total_change"]
    500.0
    """
    for name, ue in (("base", base), ("other", other)):
        if not isinstance(ue, UnitEconomics):
            raise TypeError(f"decompose: {name} must be a UnitEconomics, got {type(ue).__name__}")
    if target not in ("revenue", "profit"):
        raise ForecastError(f"decompose: target must be 'revenue' or 'profit', got {target!r}", subject="target")
    if base.per != other.per:
        raise ForecastError(f"decompose: base is per {base.per!r} but other per {other.per!r}", subject="per")
    names = list(FACTORS) + (["margin_rate"] if target == "profit" else [])
    costs = ["discounts", "traffic_cost", "message_cost"] if target == "profit" else []
    exact = [_exact_factors(ue, which, target) for which, ue in (("base", base), ("other", other))]
    values = {name: (base[name], other[name]) for name in names + costs}
    parts = _shapley([exact[0][n] for n in names], [exact[1][n] for n in names])
    contributions = [float(p) for p in parts] + [float(-(exact[1][c] - exact[0][c])) for c in costs]
    totals = [math.prod(e[n] for n in names) - sum((e[c] for c in costs), Fraction(0)) for e in exact]
    change = float(totals[1] - totals[0])
    frame = pd.DataFrame({
        "base": [values[n][0] for n in names + costs],
        "other": [values[n][1] for n in names + costs],
        "contribution": contributions,
        "share": [c / change if change != 0 else math.nan for c in contributions],
    }, index=pd.Index(names + costs, name="factor"))
    frame.attrs.update(target=target, base_total=float(totals[0]), other_total=float(totals[1]),
                       total_change=change)
    return frame


def _exact_factors(ue: UnitEconomics, which: str, target: str) -> dict[str, Fraction]:
    """The factors as exact ratios of the totals behind them, so that their product is the
    revenue exactly (not only up to the rounding of each factor)."""
    t = ue.totals
    for name in ("buyers", "orders"):
        if not t[name] > 0:
            raise ForecastError(f"decompose: {which} has {t[name]:g} {name}: the sales-volume identity needs "
                                "buyers > 0 and orders > 0", subject=name)
    visitors, buyers, orders, revenue = (Fraction(t[k]) for k in ("visitors", "buyers", "orders", "revenue"))
    out = {"visitors": visitors, "conversion": buyers / visitors, "average_order_value": revenue / orders,
           "orders_per_buyer": orders / buyers}
    if target == "profit":
        out["margin_rate"] = Fraction(ue.margin_rate)
        out.update({k: Fraction(t[k]) for k in ("discounts", "traffic_cost", "message_cost")})
    return out


def _shapley(base: Sequence[Fraction], other: Sequence[Fraction]) -> list[Fraction]:
    """Shapley parts of the change of ``Π factors`` from ``base`` to ``other`` (exact)."""
    n = len(base)
    parts = []
    for i in range(n):
        rest = [j for j in range(n) if j != i]
        total = Fraction(0)
        for size in range(n):
            weight = Fraction(math.factorial(size) * math.factorial(n - size - 1), math.factorial(n))
            for chosen in itertools.combinations(rest, size):
                product = math.prod((other[j] if j in chosen else base[j]) for j in rest)
                total += weight * product * (other[i] - base[i])
        parts.append(total)
    return parts
