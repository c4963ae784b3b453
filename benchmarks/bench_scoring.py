"""Lead scoring end to end, funnelkit against the pandas + scikit-learn way, in the same run.

Both contenders do the same job on a shop's event log (``fk.datasets.shop_events`` with
``returning=2.0, return_days=7``: leads come back about a week later, so some leads seen
before a cut buy after it), starting from the log as a pandas DataFrame in memory:

1. features of every lead as of the training cut t1 = end - 2h (h = 14 days), labels "bought
   in (t1, t1 + h]";
2. a logistic regression (L2, C = 1, standardised features) trained on them;
3. features as of the scoring cut t2 = end - h, scores for every lead, and the ROC AUC
   against "bought in (t2, t2 + h]".

    funnelkit      fk.read_events, fk.training_set, fk.LogisticRegression(standardize=True)
                   .fit, fk.lead_features, .score, fk.evaluate
    pandas+sklearn boolean filter on time, sort by lead and time, sessions by the 30-minute
                   gap (diff + cumsum), groupby aggregations and a crosstab of event counts,
                   nunique products; labels by groupby; sklearn Pipeline(StandardScaler,
                   LogisticRegression(lbfgs)); sklearn.metrics.roc_auc_score

Both read the same twelve features (sessions, events, page views, product views, distinct
products, cart adds, checkouts, orders, revenue, recency, tenure, time on site), defined as
funnelkit documents them (sessions and time on site from on-site events, not the newsletter's
opens and clicks; distinct products among product views); the script checks on the first
size that the two feature tables agree (1e-9), and their AUCs must agree within 0.005 (the
script says so when they do not). A third row, "funnelkit, all
features", trains on every numeric feature funnelkit computes (stage and time in stage
included), for what the richer feature set gains.

Each contender runs in a forked worker that loads the DataFrame first, then resets its peak
RSS and runs the job --runs times (best time counts); "peak RSS" is the worker's high-water
mark over the job. Ratios are pandas+sklearn time / funnelkit time: higher means funnelkit is
faster. funnelkit uses every usable core; pandas computes on one and scikit-learn's lbfgs uses
NumPy's BLAS threads.

    python benchmarks/bench_scoring.py                  # 1M and 10M events, a few minutes
    python benchmarks/bench_scoring.py --sizes 1M       # quick
    python benchmarks/bench_scoring.py --large          # adds 30M events
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from workers import capped, cpu_model, status_kib, usable_cores

import funnelkit as fk

EVENTS_PER_LEAD = 6.0  # what shop_events(returning=2.0, return_days=7) produces on average
HORIZON = pd.Timedelta(days=14)
SESSION_GAP = pd.Timedelta(minutes=30)
COMMON = ["sessions", "events", "page_views", "product_views", "distinct_products", "cart_adds", "checkouts",
          "orders", "revenue", "recency_days", "tenure_days", "time_on_site_min"]
ROLE_EVENTS = {"page_views": "page_view", "product_views": "product_view", "cart_adds": "add_to_cart",
               "checkouts": "begin_checkout", "orders": "purchase"}
GIB = 1024**3


# -- the two ways ----------------------------------------------------------------------------
def cuts(frame: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = frame["timestamp"].max()
    return end - 2 * HORIZON, end - HORIZON


def pandas_features(frame: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """The twelve features as a pandas user writes them."""
    seen = frame.loc[frame["timestamp"] <= at, ["lead_id", "timestamp", "event", "value", "product_id"]]
    seen = seen.sort_values(["lead_id", "timestamp"], kind="stable")
    # Sessions are on-site activity: the newsletter's opens and clicks are not visits.
    site = seen[~seen["event"].isin(["email_open", "email_click"])]
    lead = site["lead_id"].to_numpy()
    gap = site["timestamp"].diff()
    new_session = (gap > SESSION_GAP) | np.r_[True, lead[1:] != lead[:-1]]
    site = site.assign(session=new_session.cumsum())
    per_session = site.groupby("session").agg(lead_id=("lead_id", "first"), first=("timestamp", "min"),
                                              last=("timestamp", "max"))
    per_session["length"] = (per_session["last"] - per_session["first"]).dt.total_seconds() / 60
    sessions = per_session.groupby("lead_id").agg(sessions=("length", "size"), time_on_site_min=("length", "sum"))
    grouped = seen.groupby("lead_id")
    base = grouped.agg(events=("event", "size"), first=("timestamp", "min"), last=("timestamp", "max"))
    viewed = seen[seen["event"] == "product_view"].groupby("lead_id")["product_id"].nunique()
    counts = pd.crosstab(seen["lead_id"], seen["event"].astype(str))
    out = base.join(sessions).fillna({"sessions": 0, "time_on_site_min": 0.0})
    out["distinct_products"] = viewed.reindex(out.index, fill_value=0)
    for column, event in ROLE_EVENTS.items():
        out[column] = counts[event] if event in counts else 0
    orders = seen[seen["event"] == "purchase"]
    out["revenue"] = orders.groupby("lead_id")["value"].sum().reindex(out.index, fill_value=0.0)
    out["recency_days"] = (at - out["last"]).dt.total_seconds() / 86400
    out["tenure_days"] = (at - out["first"]).dt.total_seconds() / 86400
    return out[COMMON].astype(float)


def pandas_labels(frame: pd.DataFrame, leads: pd.Index, at: pd.Timestamp) -> np.ndarray:
    window = frame[(frame["timestamp"] > at) & (frame["timestamp"] <= at + HORIZON) & (frame["event"] == "purchase")]
    return leads.isin(window["lead_id"].unique()).astype(int)


def run_pandas(frame: pd.DataFrame) -> dict[str, Any]:
    t1, t2 = cuts(frame)
    train = pandas_features(frame, t1)
    model = make_pipeline(StandardScaler(), SkLogisticRegression(C=1.0, max_iter=1000))
    model.fit(train.to_numpy(), pandas_labels(frame, train.index, t1))
    test = pandas_features(frame, t2)
    scores = model.predict_proba(test.to_numpy())[:, 1]
    return {"auc": float(roc_auc_score(pandas_labels(frame, test.index, t2), scores)), "leads": len(test)}


def run_funnelkit(frame: pd.DataFrame, columns: list[str] | None) -> dict[str, Any]:
    t1, t2 = cuts(frame)
    log = fk.read_events(frame, segments=["product_id", "category"] if "category" in frame else ["product_id"])
    train, labels = fk.training_set(log, t1, horizon=HORIZON)
    model = fk.LogisticRegression(C=1.0, standardize=True)
    model.fit(train if columns is None else train[columns], labels)
    test = fk.lead_features(log, t2)
    scores = model.score(test)
    truth = fk.purchase_labels(log, t2, horizon=HORIZON)
    return {"auc": fk.evaluate(truth, scores).auc, "leads": len(test)}


CONTENDERS: dict[str, Callable[[pd.DataFrame], dict[str, Any]]] = {
    "funnelkit": lambda frame: run_funnelkit(frame, COMMON),
    "pandas+sklearn": run_pandas,
    "funnelkit, all features": lambda frame: run_funnelkit(frame, None),
}


def feature_difference(path: Path) -> float:
    """Largest difference between the two feature tables at the training cut (both sides must
    compute the same numbers for the AUCs to be comparable)."""
    frame = pd.read_parquet(path)
    t1, _ = cuts(frame)
    ours = fk.lead_features(fk.read_events(frame, segments=["product_id", "category"]), t1)[COMMON]
    theirs = pandas_features(frame, t1).loc[ours.index]
    return float(np.abs(ours.to_numpy(dtype=float) - theirs.to_numpy(dtype=float)).max())


# -- measuring -------------------------------------------------------------------------------
def make_log(n_leads: int, seed: int, path: Path) -> dict[str, int]:
    frame = fk.datasets.shop_events(n_leads, seed=seed, returning=2.0, return_days=7).events
    partial = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), partial)
    partial.rename(path)
    facts = {"events": len(frame), "leads": int(frame["lead_id"].nunique())}
    path.with_suffix(".json").write_text(json.dumps(facts))
    return facts


def dataset(target: int, args: argparse.Namespace) -> tuple[Path, dict[str, int]]:
    n_leads = max(1, round(target / EVENTS_PER_LEAD))
    path = args.cache / f"scoring-shop-{n_leads}-seed{args.seed}-{fk.__version__}.parquet"
    if not (path.exists() and path.with_suffix(".json").exists()):
        args.cache.mkdir(parents=True, exist_ok=True)
        status, value, _ = capped(lambda: make_log(n_leads, args.seed, path), math.inf)
        if status != "ok":
            raise SystemExit(f"could not generate the log of {target:,} events: {status} {value or ''}")
    return path, json.loads(path.with_suffix(".json").read_text())


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def measure(tool: str, path: Path, runs: int) -> dict[str, Any]:
    frame = pd.read_parquet(path)
    gc.collect()
    _reset_peak()
    times, result = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        result = CONTENDERS[tool](frame)
        times.append(time.perf_counter() - started)
    return {**result, "seconds": min(times), "peak": status_kib("VmHWM") * 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated event counts (default 1M,10M)")
    parser.add_argument("--large", action="store_true", help="also 30M events")
    parser.add_argument("--runs", type=int, default=2, help="runs per contender, the best counts (default 2)")
    parser.add_argument("--cap", type=float, default=900.0, help="stop a worker after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".cache")
    args = parser.parse_args()
    sizes = [int(float(s.lower().rstrip("m")) * 1_000_000) if s.lower().endswith("m") else int(s)
             for s in args.sizes.split(",")] + ([30_000_000] if args.large else [])
    print(f"{cpu_model()}, {usable_cores()} usable cores; Python {platform.python_version()}, funnelkit "
          f"{fk.__version__}, pandas {pd.__version__}, NumPy {np.__version__}, scikit-learn {sklearn.__version__}")
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    header = ["events", "leads", "contender", "seconds", "leads/s", "peak RSS", "AUC", "× funnelkit"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for number, target in enumerate(sizes):
        path, facts = dataset(target, args)
        if number == 0:
            status, difference, _ = capped(lambda path=path: feature_difference(path), args.cap)
            if status != "ok" or not difference <= 1e-9:
                raise SystemExit(f"the two feature tables differ ({status}, largest difference {difference})")
        rows: dict[str, dict[str, Any]] = {}
        for tool in CONTENDERS:
            status, value, _ = capped(lambda tool=tool, path=path: measure(tool, path, args.runs), args.cap)
            rows[tool] = value if status == "ok" else {"note": f"{status} {value or ''}".strip()}
        ours = rows["funnelkit"].get("seconds", math.nan)
        for tool, r in rows.items():
            if "note" in r:
                cells = [r["note"], "", "", "", ""]
            else:
                ratio = r["seconds"] / ours if tool == "pandas+sklearn" else math.nan
                cells = [f"{r['seconds']:.2f}", f"{r['leads'] / r['seconds']:,.0f}", f"{r['peak'] / GIB:.2f} GiB",
                         f"{r['auc']:.4f}", f"{ratio:.1f}×" if ratio == ratio else ""]
            print(f"| {facts['events']:,} | {facts['leads']:,} | {tool} | " + " | ".join(cells) + " |")
        a, b = rows["funnelkit"].get("auc"), rows["pandas+sklearn"].get("auc")
        if a is not None and b is not None and abs(a - b) > 0.005:
            print(f"AUCs differ by {abs(a - b):.4f} (> 0.005) at {facts['events']:,} events")
    print(f"\nload average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
