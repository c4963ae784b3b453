"""The main job: build a typical shop funnel and print its analysis.

Run with ``python -m funnelkit.demo`` (or ``make demo`` from a checkout).
"""

from __future__ import annotations

import pandas as pd

from funnelkit import examples


def main(visitors: int = 100_000) -> None:
    pd.set_option("display.width", 140)
    pd.set_option("display.max_columns", 12)
    pd.set_option("display.float_format", lambda x: f"{x:,.4g}")

    print("== Lead nurturing: the seed arithmetic ==")
    base = examples.nurturing_funnel(nurture=False).analyze()
    nurtured = examples.nurturing_funnel().analyze()
    print(f"{visitors:,} visitors, 1% buy at once:          {base.success_probability * visitors:,.0f} buyers")
    print(f"+ 20% warm leads, 10% of them nurtured:  {nurtured.success_probability * visitors:,.0f} buyers")
    print(f"revenue x{nurtured.expected_value / base.expected_value:.1f}\n")

    shop = examples.shop_funnel()
    analysis = shop.analyze()
    print(f"== {shop.name}: {len(shop)} stages, times in {shop.time_unit} ==")
    print(analysis.summary().to_pandas(), "\n")
    print(analysis.conversion(visitors=visitors).to_pandas(), "\n")
    print("Most likely path to a purchase:", shop.most_likely_path(), "\n")
    print(analysis.removal_effects().to_pandas(), "\n")
    top = analysis.sensitivity().to_pandas().sort_values("success_elasticity", ascending=False).head(5)
    print("Edges where a 1% improvement moves conversion most:")
    print(
        top[["source", "target", "probability", "d_success", "success_elasticity"]].to_string(index=False),
        "\n",
    )

    lifecycle = examples.lifecycle_funnel()
    after = lifecycle.analyze()
    print(f"== {lifecycle.name} (loops, discount {lifecycle.discount}) ==")
    print(after.stages().to_pandas()[["reached", "expected_visits", "expected_value", "expected_time"]])


if __name__ == "__main__":
    main()
