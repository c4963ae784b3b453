// Leads walked through a compiled funnel: agreement with the exact analysis, thread-count
// independence, the horizon and time bins, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "funnels.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/simulate/journeys.hpp"

using namespace funnelkit;
using simulate::JourneyOptions;
using simulate::JourneyTotals;

namespace {

JourneyTotals walk(const markov::Chain& chain, std::size_t leads, JourneyOptions options, std::size_t threads = 0) {
  const std::vector<double> arrivals(leads, 0.0);
  return simulate::simulate_journeys(chain, arrivals, options, threads);
}

}  // namespace

TEST(SimulateJourneys, AgreesWithTheExactAnalysis) {
  // visit -> cart 0.2, cart -> paid 0.3 (value 50), exponential holding times of means 0.5 and 2.
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  markov::Analysis exact(std::make_shared<markov::Chain>(chain));
  const std::size_t n = 200'000;
  const auto totals = walk(chain, n, {.seed = 7});
  EXPECT_EQ(totals.leads, static_cast<std::int64_t>(n));
  EXPECT_EQ(totals.successes + totals.failures, totals.leads);  // no horizon: every journey ends
  const double p = exact.success();
  const double share = static_cast<double>(totals.successes) / static_cast<double>(n);
  EXPECT_NEAR(share, p, 4.0 * std::sqrt(p * (1 - p) / static_cast<double>(n)));  // 4 standard deviations
  // Value per lead: 50 per success, so its standard error is 50 times the share's.
  EXPECT_NEAR(totals.total_value / static_cast<double>(n), exact.value_per_entrant(),
              4.0 * 50.0 * std::sqrt(p * (1 - p) / static_cast<double>(n)));
  // Time to success given success: the two holding times, variance 0.5^2 + 2^2.
  const double mean_time = totals.time_to_success / static_cast<double>(totals.successes);
  EXPECT_NEAR(mean_time, exact.time_to_success_mean(), 4.0 * std::sqrt(4.25 / static_cast<double>(totals.successes)));
}

TEST(SimulateJourneys, VisitsInLoopsAgreeWithTheExpectedVisits) {
  auto funnel = fixtures::loop_funnel();
  funnel.discount = 1.0;
  const auto chain = markov::Chain::compile(funnel);
  markov::Analysis exact(std::make_shared<markov::Chain>(chain));
  const std::size_t n = 100'000;
  const auto totals = walk(chain, n, {.seed = 3});
  const double p = exact.success();
  EXPECT_NEAR(static_cast<double>(totals.successes) / static_cast<double>(n), p,
              4.0 * std::sqrt(p * (1 - p) / static_cast<double>(n)));
  const auto& visits = exact.expected_visits();
  for (const std::size_t s : chain.transient_states()) {
    const double simulated = static_cast<double>(totals.entries[s]) / static_cast<double>(n);
    EXPECT_NEAR(simulated, visits[static_cast<Eigen::Index>(s)], 0.03 * visits[static_cast<Eigen::Index>(s)])
        << chain.name(s);  // visits per lead have a standard error well under 1% here
  }
}

TEST(SimulateJourneys, TotalsDoNotDependOnTheThreadCount) {
  const auto chain = markov::Chain::compile(fixtures::loop_funnel());
  std::vector<double> arrivals(30'001);
  for (std::size_t i = 0; i < arrivals.size(); ++i) arrivals[i] = 0.001 * static_cast<double>(i % 9973);
  const JourneyOptions options{.horizon = 8.0, .bin_width = 0.5, .seed = 11};
  const auto one = simulate::simulate_journeys(chain, arrivals, options, 1);
  for (const std::size_t threads : {2ul, 5ul}) {
    const auto many = simulate::simulate_journeys(chain, arrivals, options, threads);
    EXPECT_EQ(many.entries, one.entries);
    EXPECT_EQ(many.arrivals, one.arrivals);
    EXPECT_EQ(many.value, one.value);  // bit for bit: blocks are merged in a fixed order
    EXPECT_EQ(many.transitions, one.transitions);
    EXPECT_EQ(many.time_to_success, one.time_to_success);
  }
}

TEST(SimulateJourneys, TheHorizonCutsJourneysAndBinsCoverIt) {
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  std::vector<double> arrivals;
  for (int i = 0; i < 12'000; ++i) arrivals.push_back(0.001 * i);  // 0 .. 12: the last 2 after the horizon
  const auto totals = simulate::simulate_journeys(chain, arrivals, {.horizon = 10.0, .bin_width = 1.0, .seed = 1});
  EXPECT_EQ(totals.bins, 10u);
  EXPECT_EQ(totals.leads, 10'000);
  for (const auto count : totals.arrivals) EXPECT_EQ(count, 1'000);
  EXPECT_EQ(totals.successes + totals.failures + totals.open + totals.stopped, totals.leads);
  EXPECT_GT(totals.open, 0);  // leads arriving late are still on their way at the horizon
  std::int64_t entries = 0;
  for (const auto count : totals.entries) entries += count;
  EXPECT_EQ(entries, totals.leads + totals.transitions);  // every lead enters once, then once per move
}

TEST(SimulateJourneys, BadInputIsRefused) {
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  const std::vector<double> negative{1.0, -0.5};
  EXPECT_THROW((void)simulate::simulate_journeys(chain, negative, {}), std::invalid_argument);
  const std::vector<double> nan{std::nan("")};
  EXPECT_THROW((void)simulate::simulate_journeys(chain, nan, {}), std::invalid_argument);
  const std::vector<double> fine{0.0};
  EXPECT_THROW((void)simulate::simulate_journeys(chain, fine, {.bin_width = 0.0}), std::invalid_argument);
  EXPECT_THROW((void)simulate::simulate_journeys(chain, fine, {.horizon = 0.0}), std::invalid_argument);
}
