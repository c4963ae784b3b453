// The shop simulation without triggers against the exact analysis; reproducibility whatever
// the thread count; traffic, horizon and bins; the initial population; bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "funnels.hpp"
#include "funnelkit/core/errors.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/simulate/shop.hpp"

using namespace funnelkit;
using namespace funnelkit::simulate;

namespace {

Traffic cohort(double leads, double day_length = 24.0) {
  return {.days = 1, .channels = 1, .expected = {leads}, .day_length = day_length, .exact_counts = true};
}

ShopResult run(const model::Funnel& funnel, const Strategy& strategy, const Traffic& traffic, ShopOptions options,
               std::size_t threads = 0, const Population& population = {}) {
  auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(funnel));
  return simulate_shop(chain, strategy, traffic, population, options, nullptr, threads);
}

std::int64_t sum(const std::vector<std::int64_t>& values) { return std::accumulate(values.begin(), values.end(), std::int64_t{0}); }

}  // namespace

TEST(SimulateShop, WithoutTriggersAgreesWithTheExactAnalysis) {
  // visit -> cart 0.2, cart -> paid 0.3 (value 50), exponential holding times of means 0.5 and 2.
  const auto funnel = fixtures::linear_funnel();
  markov::Analysis exact(std::make_shared<markov::Chain>(markov::Chain::compile(funnel)));
  const double n = 200'000;
  const auto r = run(funnel, {}, cohort(n, 1e6), {.horizon = 1e6, .bin_width = 1e6, .seed = 7});
  EXPECT_EQ(r.leads, static_cast<std::int64_t>(n));
  const double p = exact.success();
  const double se = std::sqrt(p * (1 - p) / n);
  EXPECT_NEAR(static_cast<double>(r.successes) / n, p, 4.0 * se);  // 4 standard errors
  EXPECT_NEAR(r.total_value / n, exact.value_per_entrant(), 4.0 * 50.0 * se);
  const double revenue = r.series[kRevenue];
  EXPECT_DOUBLE_EQ(revenue, r.total_value);  // without an order-value law the order is the stage value
  const double mean_time = r.time_to_success / static_cast<double>(r.successes);
  EXPECT_NEAR(mean_time, exact.time_to_success_mean(), 4.0 * std::sqrt(4.25 / static_cast<double>(r.successes)));
}

TEST(SimulateShop, VisitsInLoopsAgreeWithTheExpectedVisits) {
  auto funnel = fixtures::loop_funnel();
  funnel.discount = 1.0;
  const auto chain = markov::Chain::compile(funnel);
  markov::Analysis exact(std::make_shared<markov::Chain>(chain));
  const double n = 100'000;
  const auto r = run(funnel, {}, cohort(n, 1e6), {.horizon = 1e6, .bin_width = 1e6, .seed = 3});
  const double p = exact.success();
  EXPECT_NEAR(static_cast<double>(r.successes) / n, p, 4.0 * std::sqrt(p * (1 - p) / n));
  for (const std::size_t s : chain.transient_states()) {
    const double visits = exact.expected_visits()[static_cast<Eigen::Index>(s)];
    EXPECT_NEAR(static_cast<double>(r.entries[s]) / n, visits, 0.03 * visits) << chain.name(s);
  }
  // Purchases are entries into the valued stages (visit 1, buy 40, loyal 10).
  double purchases = 0;
  for (std::size_t s = 0; s < chain.size(); ++s)
    if (chain.value(s) > 0.0) purchases += static_cast<double>(r.entries[s]);
  EXPECT_DOUBLE_EQ(r.series[kPurchases], purchases);
}

TEST(SimulateShop, ResultsDoNotDependOnTheThreadCount) {
  const auto funnel = fixtures::loop_funnel();
  const Traffic traffic{.days = 10, .channels = 2, .expected = std::vector<double>(20, 700.0), .day_length = 1.0};
  const ShopOptions options{.horizon = 8.0, .bin_width = 0.5, .seed = 11, .replicates = 3,
                            .order_value = std::make_shared<model::LogNormal>(-0.18, 0.6)};
  const auto one = run(funnel, {}, traffic, options, 1);
  for (const std::size_t threads : {2ul, 5ul}) {
    const auto many = run(funnel, {}, traffic, options, threads);
    EXPECT_EQ(many.entries, one.entries);
    EXPECT_EQ(many.arrivals, one.arrivals);
    EXPECT_EQ(many.occupancy, one.occupancy);
    EXPECT_EQ(many.series, one.series);  // bit for bit: blocks merge in a fixed order
    EXPECT_EQ(many.transitions, one.transitions);
    EXPECT_EQ(many.time_to_success, one.time_to_success);
  }
  const auto other = run(funnel, {}, traffic, {.horizon = 8.0, .bin_width = 0.5, .seed = 12, .replicates = 3}, 2);
  EXPECT_NE(other.entries, one.entries);
}

TEST(SimulateShop, TrafficIsPoissonPerDayAndChannelWithinTheHorizon) {
  const auto funnel = fixtures::linear_funnel();
  const Traffic traffic{.days = 30, .channels = 2, .expected = [] {
                          std::vector<double> e;
                          for (int d = 0; d < 30; ++d) e.insert(e.end(), {400.0, 25.0});  // PTRS and inversion
                          return e;
                        }(), .day_length = 24.0};
  const auto r = run(funnel, {}, traffic, {.horizon = 24.0 * 20, .bin_width = 24.0, .seed = 5, .replicates = 40});
  EXPECT_EQ(r.bins, 20u);
  // 20 days are inside the horizon: per replicate Poisson(8000) and Poisson(500) arrivals.
  for (std::size_t c = 0; c < 2; ++c) {
    double total = 0.0;
    double square = 0.0;
    for (std::size_t rep = 0; rep < 40; ++rep) {
      double count = 0.0;
      for (std::size_t b = 0; b < 20; ++b) count += static_cast<double>(r.arrivals[(rep * 20 + b) * 2 + c]);
      total += count;
      square += count * count;
    }
    const double mean = total / 40.0;
    const double expected = c == 0 ? 8000.0 : 500.0;
    EXPECT_NEAR(mean, expected, 4.0 * std::sqrt(expected / 40.0));
    const double variance = (square - 40.0 * mean * mean) / 39.0;
    EXPECT_NEAR(variance / expected, 1.0, 0.6);  // Poisson: variance = mean (chi-square, 39 df)
  }
  EXPECT_EQ(sum(r.entries), r.leads + r.transitions);  // every lead enters once, then once per move
}

TEST(SimulateShop, OccupancyCountsLeadsStillInAStageAtEachBinsEnd) {
  // Fixed 3-hour stays: a cohort at t = 0 is in visit during [0, 3), in cart from 3 on.
  model::Funnel f;
  f.add_stage({"visit", model::StageKind::Transient, 0.0, std::make_shared<model::Fixed>(3.0), {}});
  f.add_stage({"cart", model::StageKind::Transient, 0.0, std::make_shared<model::Fixed>(3.0), {}});
  f.add_stage({"paid", model::StageKind::Success, 10.0, nullptr, {}});
  f.add_edge({"visit", "cart", 1.0, nullptr, {}});
  f.add_edge({"cart", "paid", 1.0, nullptr, {}});
  const auto r = run(f, {}, cohort(100), {.horizon = 8.0, .bin_width = 2.0});
  // Bins end at 2, 4, 6, 8; a stay [t_in, t_out) counts at a bin's end when t_in < end <= t_out
  // (the count just before the closing instant): rows are bins, columns visit, cart, paid.
  const std::vector<std::int64_t> expected{100, 0, 0, 0, 100, 0, 0, 100, 0, 0, 0, 100};
  EXPECT_EQ(r.occupancy, expected);
  EXPECT_EQ(r.series[3 * kSeriesCount + kRevenue], 1000.0);  // paid at t = 6: the bin [6, 8)
}

TEST(SimulateShop, APopulationContinuesFromItsStageAndTimeSpent) {
  // Cart holding Exponential(0.5): memoryless, so leads 10 hours into the cart still buy with
  // the row's 0.3; a funnel with Fixed(1) delay instead moves them at once.
  const auto funnel = fixtures::linear_funnel();
  const auto chain = markov::Chain::compile(funnel);
  Population population;
  population.states.assign(50'000, chain.state_index("cart"));
  population.time_in_state.assign(50'000, 10.0);
  const Traffic none{.days = 1, .channels = 1, .expected = {0.0}};
  const auto r = run(funnel, {}, none, {.horizon = 1e4, .bin_width = 1e4, .seed = 2}, 0, population);
  EXPECT_EQ(r.leads, 50'000);
  EXPECT_EQ(r.entries[chain.state_index("cart")], 0);  // already there: not a new entry
  EXPECT_NEAR(static_cast<double>(r.successes) / 5e4, 0.3, 4.0 * std::sqrt(0.21 / 5e4));
}

TEST(SimulateShop, BadInputIsRefusedWithAStrategyError) {
  const auto funnel = fixtures::linear_funnel();
  const auto expect_error = [&](const Traffic& traffic, const ShopOptions& options, const Population& population = {}) {
    try {
      (void)run(funnel, {}, traffic, options, 1, population);
      ADD_FAILURE() << "no error";
    } catch (const FunnelError& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Strategy) << error.what();
    }
  };
  expect_error(cohort(10), {.horizon = 0.0});
  expect_error(cohort(10), {.horizon = std::nan("")});
  expect_error(cohort(10), {.horizon = 10.0, .bin_width = -1.0});
  expect_error(cohort(10), {.horizon = 10.0, .replicates = 0});
  expect_error({.days = 1, .channels = 1, .expected = {-5.0}}, {.horizon = 10.0});
  expect_error({.days = 1, .channels = 1, .expected = {std::nan("")}}, {.horizon = 10.0});
  expect_error({.days = 2, .channels = 1, .expected = {1.0}}, {.horizon = 10.0});
  expect_error(cohort(10), {.horizon = 10.0}, {.states = {7}, .time_in_state = {0.0}});
  expect_error(cohort(10), {.horizon = 10.0}, {.states = {0}, .time_in_state = {-1.0}});
}
