"""The main job: build a typical shop funnel and print its analysis, learn a funnel from a
shop's event log and compare its segments, score the shop's leads and segment them,
simulate the shop with the must-have trigger letters and without them, then forecast its next
quarter with its unit economics and the inputs that move its profit most.

Run with ``python -m funnelkit.demo`` (or ``make demo`` from a checkout). Counts are printed as
whole numbers with thousands separators, shares and probabilities as percentages, money and
times with two decimals.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from funnelkit import datasets, examples
from funnelkit.events import read_events
from funnelkit.fit import fit_funnel
from funnelkit.forecasting import Base, forecast, sensitivity, unit_economics
from funnelkit.funnel import Funnel
from funnelkit.reports import funnel_report
from funnelkit.scoring import (
    FunnelScorer,
    LogisticRegression,
    assign_layers,
    compare_scorers,
    default_rule_scorer,
    layer_counts,
    lead_features,
    purchase_labels,
    score_leads,
    training_set,
)
from funnelkit.simulation import Channel, Economics, TrafficPlan, compare_strategies, templates

__all__ = ["main"]

Formatter = Callable[[object], str]


def _number(spec: str, suffix: str = "") -> Formatter:
    def format_(x: object) -> str:
        value = float(x)  # type: ignore[arg-type]  # pandas hands over numbers
        return "-" if math.isnan(value) else f"{value:{spec}}{suffix}"

    return format_


COUNT = _number(",.0f")  # 1,045
PERCENT = _number(".2%")  # 1.05%
DECIMAL = _number(",.2f")  # 16.70, 1,234.50
FINE = _number(".4f")  # 0.0261 (derivatives)


def _table(frame: pd.DataFrame, formats: Mapping[str, Formatter], **options: object) -> str:
    """The frame as text, each listed column with its format, other numbers as DECIMAL, NaN as -."""
    formatters = {
        column: formats.get(column, DECIMAL)
        for column in frame.columns
        if column in formats or pd.api.types.is_float_dtype(frame[column])
    }
    return str(frame.to_string(formatters=formatters, na_rep="-", **options))


def _summary_text(summary: pd.DataFrame) -> str:
    """The summary has one value column mixing probabilities, money, steps and hours."""
    rows = [
        (name, PERCENT(value) if "probability" in name or name.startswith("P(") else DECIMAL(value))
        for name, value in summary["value"].items()
    ]
    width = max(len(str(name)) for name, _ in rows)
    digits = max(len(text) for _, text in rows)
    return "\n".join(f"{name:<{width}}  {text:>{digits}}" for name, text in rows)


def main(visitors: int = 100_000) -> None:
    pd.set_option("display.width", 140)
    pd.set_option("display.max_columns", 12)

    print("== Lead nurturing: the seed arithmetic ==")
    base = examples.nurturing_funnel(nurture=False).analyze()
    nurtured = examples.nurturing_funnel().analyze()
    before = base.success_probability * visitors
    after = nurtured.success_probability * visitors
    print(f"{visitors:,} visitors, 1% buy at once:            {before:,.0f} buyers")
    gain = f"+{after - before:,.0f}, x{after / before:.1f}"
    print(f"with nurturing (20% warm leads, 10% convert): {after:,.0f} buyers ({gain})")
    print(
        f"revenue per visitor: {base.expected_value:.2f} -> {nurtured.expected_value:.2f}"
        f" (x{nurtured.expected_value / base.expected_value:.1f})\n"
    )

    shop = examples.shop_funnel()
    analysis = shop.analyze()
    print(f"== {shop.name}: {len(shop)} stages, times in {shop.time_unit} ==")
    print(_summary_text(analysis.summary().to_pandas()), "\n")
    shares = ["reached", "from_previous", "from_start", "dropped", "drop_rate"]
    conversion = analysis.conversion(visitors=visitors).to_pandas()
    print(f"Conversion of {visitors:,} visitors:")
    print(_table(conversion, {**dict.fromkeys(shares, PERCENT), "reached_count": COUNT, "dropped_count": COUNT}), "\n")
    print("Most likely path to a purchase:", shop.most_likely_path(), "\n")
    removal = analysis.removal_effects().to_pandas()
    print("What each stage is worth (removal effects; value_lost per visitor):")
    percent_columns = ["reached", "conversions_lost", "removal_effect", "attribution_share", "value_effect"]
    print(_table(removal, {**dict.fromkeys(percent_columns, PERCENT), "value_lost": DECIMAL}), "\n")
    sensitivity = analysis.sensitivity().to_pandas()
    top = sensitivity.sort_values("success_elasticity", ascending=False).head(5)
    print("Edges where a 1% improvement moves conversion most:")
    columns = ["source", "target", "probability", "d_success", "success_elasticity"]
    print(_table(top[columns], {"probability": PERCENT, "d_success": FINE}, index=False), "\n")

    lifecycle = examples.lifecycle_funnel()
    stages = lifecycle.analyze().stages().to_pandas()
    print(f"== {lifecycle.name} (loops, discount {lifecycle.discount}, times in {lifecycle.time_unit}) ==")
    print(_table(stages[["reached", "expected_visits", "expected_value", "expected_time"]], {"reached": PERCENT}))
    print()
    _learned_from_events()
    print()
    _lead_scoring()
    print()
    _trigger_simulation(shop)
    print()
    _forecast(shop)


def _learned_from_events(leads: int = 50_000) -> None:
    """Fit a funnel from a generated 90-day shop log, then compare mobile with desktop."""
    shop = datasets.shop_events(leads, seed=7)
    log = read_events(shop.events, segments=["device", "source"])
    print(f"== Learned from an event log: {len(log):,} events of {log.n_leads:,} leads, "
          f"{log.start:%Y-%m-%d} to {log.end:%Y-%m-%d} ==")
    steps = ["session_start", "product_view", "add_to_cart", "begin_checkout", "purchase"]
    report = funnel_report(log, steps, window="7D", progress=False).to_pandas()
    print("Funnel report (ordered steps within 7 days; conversion = reached / previous):")
    shown = ["step", "reached", "previous", "conversion", "overall", "median_time", "time_p90"]
    report[["median_time", "time_p90"]] = report[["median_time", "time_p90"]].apply(lambda c: c.dt.round("min"))
    report["previous"] = report["previous"].astype(float)  # the first step has none: shown as -
    print(_table(report[shown], {"reached": COUNT, "previous": COUNT, "conversion": PERCENT, "overall": PERCENT},
                 index=False), "\n")
    fit = fit_funnel(log, window="30D", progress=False)
    columns = ["source", "target", "count", "exposure", "probability", "lower", "upper", "delay", "median_duration"]
    print("Transitions (entries followed up for 30 days; 95% intervals; durations in hours):")
    print(_table(fit.transitions[columns], {"count": COUNT, "exposure": COUNT, "probability": PERCENT,
                                            "lower": PERCENT, "upper": PERCENT}, index=False))
    fitted = fit.funnel.analyze()
    print(f"fitted conversion {fitted.success_probability:.2%}, revenue per visitor {fitted.expected_value:.2f}\n")
    mobile = fit_funnel(log.where_segment("device", "mobile"), progress=False)
    desktop = fit_funnel(log.where_segment("device", "desktop"), progress=False)
    differences = desktop.compare(mobile, names=("desktop", "mobile")).query("significant").reset_index()
    print("Where mobile differs from desktop (two-proportion tests, Benjamini-Hochberg q < 5%):")
    shown = ["source", "target", "probability_desktop", "probability_mobile", "difference", "q_value"]
    print(_table(differences[shown], {"probability_desktop": PERCENT, "probability_mobile": PERCENT,
                                      "difference": PERCENT, "q_value": _q_value}, index=False))


def _lead_scoring(leads: int = 50_000) -> None:
    """Score a shop's leads three ways as of two weeks before the log ends, check the scores
    against who bought in those two weeks, segment the leads into layers, run the batch job."""
    shop = datasets.shop_events(leads, seed=11, returning=2.0, return_days=7)
    log = read_events(shop.events, segments=["product_id", "category"])
    at = log.end - pd.Timedelta("14D")
    print(f"== Lead scoring as of {at:%Y-%m-%d %H:%M}: who buys in the next 14 days? ==")
    funnel = FunnelScorer.from_fit(fit_funnel(log.period(log.start, at), progress=False))
    rules = default_rule_scorer()
    options = {**funnel.feature_options(), **rules.feature_options()}
    train, train_labels = training_set(log, at - pd.Timedelta("14D"), horizon="14D", **options)
    logistic = LogisticRegression(standardize=True).fit(train, train_labels)
    features = lead_features(log, at, **options)
    labels = purchase_labels(log, at, horizon="14D")
    print(f"{len(features):,} leads scored, {int(labels.sum()):,} of them buy within 14 days ({labels.mean():.2%}); "
          f"the logistic regression trained on {len(train):,} leads two weeks earlier")
    scorers = {"funnel model": funnel, "rule points": rules, "logistic regression": logistic}
    table = compare_scorers(scorers, labels, features=features)[["auc", "top_lift", "gain_at_20"]]
    print("Scores against what happened (AUC; buyers' rate in the top tenth / base rate; buyers in the top 20%):")
    print(_table(table, {"auc": FINE, "top_lift": _number(".1f", "x"), "gain_at_20": PERCENT}), "\n")
    idle = pd.DataFrame({"stage": pd.Categorical(["cart", "cart", "cart"]),
                         "time_in_stage_days": [10 / 1440, 1.0, 10.0]})
    chance = funnel.score(idle).tolist()
    print("Funnel model, a cart idle 10 minutes / 1 day / 10 days: P(purchase) = "
          + " / ".join(PERCENT(p) for p in chance))
    assigned = assign_layers(features, logistic)
    counts = layer_counts(assigned).to_pandas().iloc[::-1]
    print("Funnel layers (logistic scores; customers first, then the top 10% and the next 30% of the rest):")
    print(_table(counts, {"leads": COUNT, "share": PERCENT}))
    hottest = logistic.score(features).idxmax()
    print(f"Why lead {hottest} is the hottest: {assigned.loc[hottest, 'reasons']}\n")
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "events.parquet"
        shop.events.to_parquet(events)
        logistic.save(Path(folder) / "logistic.json")
        summary = score_leads(events, {"logistic": Path(folder) / "logistic.json"}, at=at,
                              output=Path(folder) / "scores.parquet", layers=True, progress=False)
        print(f"Batch job (fk.score_leads, or `funnelkit score`): {summary.leads:,} leads from {summary.rows:,} "
              f"events in {summary.seconds:.2f} s, written atomically to scores.parquet")


def _trigger_simulation(funnel: Funnel, visitors_per_day: int = 5_000, replicates: int = 20) -> None:
    """The must-have trigger strategy against no triggers on the shop funnel, 90 days, with
    common random numbers: incremental buyers, revenue and profit with 95% intervals."""
    strategies = {"no triggers": None, "must-have": templates.must_have()}
    started = time.perf_counter()
    comparison = compare_strategies(funnel, visitors_per_day, strategies, horizon="90D", replicates=replicates,
                                    seed=1, economics=Economics(margin=0.3, order_value_cv=0.5), progress=False)
    seconds = time.perf_counter() - started
    print(f"== Trigger letters: the must-have strategy against none, {visitors_per_day:,} visitors a day, 90 days, "
          f"{replicates} replicates ==")
    table = comparison.table
    increments = comparison.incremental(["buyers", "revenue", "profit"]).loc["must-have"]
    increments.columns = ["no triggers", "must-have", "incremental", "95% low", "95% high"]
    print("Per 90 days (mean of the replicates; the same visitors and journeys in both: paired differences):")
    print(_table(increments, dict.fromkeys(increments.columns, COUNT)))
    must_have = comparison["must-have"]
    spend = table.loc["must-have", "message_cost"] + table.loc["must-have", "discounts"]
    print(f"{must_have.triggers['sent'].sum():,.0f} letters sent, costing {spend:,.2f} with the discounts used; "
          f"incremental profit / that spend = {table.loc['must-have', 'roi']:.2f}")
    counts = [simulation.counts for simulation in comparison.simulations.values()]
    leads, transitions, messages = (sum(c[key] for c in counts) for key in ("leads", "transitions", "messages"))
    print(f"Simulated {leads:,} leads, {transitions:,} transitions and {messages:,} messages in {seconds:.2f} s "
          f"({transitions / seconds / 1e6:,.1f} million transitions per second)")


def _forecast(funnel: Funnel, replicates: int = 8) -> None:
    """Next quarter week by week with the must-have letters: the exact expected path beside the
    simulation's mean and 5%-95% band; the unit economics headline; the top of the tornado."""
    plan = TrafficPlan(3_000, channels=[Channel("search", share=0.5, cost_per_visitor=0.30),
                                        Channel("social", share=0.3, cost_per_visitor=0.15), Channel("direct", share=0.2)],
                       weekly=[1, 1, 1, 1, 1.1, 1.3, 1.2], growth=0.04)
    strategy = templates.must_have()
    economics = Economics(margin=0.35, order_value_cv=0.5)
    start, horizon = "2025-01-06", "91D"
    with warnings.catch_warnings():  # the path's note on the triggers it leaves out: printed below
        warnings.simplefilter("ignore")
        quarter = forecast(funnel, plan, strategy, horizon=horizon, start=start, economics=economics, freq="W",
                           replicates=replicates, seed=1, progress=False)
        tornado = sensitivity(Base(funnel, plan, strategy, economics), horizon=horizon, start=start)
    print(f"== Forecast: the next quarter ({horizon} from {start}) with the must-have letters, 3,000 visitors a day "
          f"(search ads 0.30, social 0.15 a visitor), +4% per 30 days, margin 35% ==")
    print(f"Revenue per week: the exact expected path and the simulation's mean and 5%-95% band ({replicates} "
          f"replicates); the path leaves out {', '.join(quarter.expected.attrs['not_in_path']) or 'nothing'}:")
    weeks = quarter.table[["revenue_expected", "revenue_mean", "revenue_low", "revenue_high"]]
    weeks.columns = ["expected path", "simulated mean", "5%", "95%"]
    weeks.index = pd.Index(list(weeks.index.strftime("week to %Y-%m-%d")))
    print(_table(weeks, dict.fromkeys(weeks.columns, COUNT)))
    assert quarter.simulation is not None  # replicates > 0
    ue = unit_economics(quarter.simulation)
    print(f"Unit economics (simulated quarter): {ue['buyers']:,.0f} buyers, revenue {ue['revenue']:,.0f}, "
          f"marketing cost {ue['marketing_cost']:,.0f}, profit {ue['profit']:,.0f}; "
          f"CAC {ue['cac']:,.2f} (marketing cost / new buyers), ROI {ue['roi']:.2%} "
          f"(profit / (cost of goods + marketing cost)), ROMI {ue['romi']:.2%}")
    top = tornado.ranked("profit").head(3)[["parameter", "base_value", "elasticity_profit", "change_profit_10pct"]]
    top.columns = ["parameter", "base value", "elasticity", "profit change for +10%"]
    print(f"What moves the quarter's profit most (elasticities on the expected path; base profit "
          f"{tornado.base['profit']:,.0f} before letters and discounts):")
    print(_table(top, {"base value": _number(",.4g"), "elasticity": DECIMAL, "profit change for +10%": COUNT},
                 index=False))


def _q_value(x: object) -> str:
    value = float(x)  # type: ignore[arg-type]  # pandas hands over numbers
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


if __name__ == "__main__":
    main()
