// The expected-value path: exact placement with fixed delays, conservation of leads, the
// expected visits of a loop funnel, and agreement with the simulation's mean.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "funnels.hpp"
#include "funnelkit/forecast/expected_path.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/simulate/shop.hpp"

using namespace funnelkit;

TEST(ExpectedPath, FixedDelaysLandInTheirBins) {
  // visit (Fixed 30 h) -> paid 0.4: leads arriving on day 0 pay on day 1 (arrival + 30 h).
  model::Funnel f;
  f.add_stage({"visit", model::StageKind::Transient, 0.0, std::make_shared<model::Fixed>(30.0), {}});
  f.add_stage({"paid", model::StageKind::Success, 50.0, nullptr, {}});
  f.add_edge({"visit", "paid", 0.4, nullptr, {}});
  const auto chain = markov::Chain::compile(f);
  const std::vector<double> arrivals{1000.0, 0.0, 0.0};
  const auto path = forecast::expected_path(chain, arrivals, {.bin_width = 24.0, .substeps = 24});
  const auto paid = chain.state_index("paid");
  const auto visit = chain.state_index("visit");
  EXPECT_NEAR(path.entries[0 * path.states + visit], 1000.0, 1e-6);
  EXPECT_NEAR(path.entries[0 * path.states + paid], 0.0, 1e-6);
  // Arrivals spread over day 0; +30 h puts them in [30, 54): 18/24 on day 1, 6/24 on day 2.
  EXPECT_NEAR(path.entries[1 * path.states + paid], 400.0 * 18.0 / 24.0, 1e-6);
  EXPECT_NEAR(path.entries[2 * path.states + paid], 400.0 * 6.0 / 24.0, 1e-6);
  EXPECT_NEAR(path.value[1], 50.0 * 300.0, 1e-4);
  EXPECT_NEAR(path.occupancy[0 * path.states + visit], 1000.0, 1e-6);  // nobody has left by 24 h
  EXPECT_NEAR(path.occupancy[2 * path.states + visit], 0.0, 1e-6);
}

TEST(ExpectedPath, LoopsGiveTheExpectedVisits) {
  auto funnel = fixtures::loop_funnel();
  funnel.discount = 1.0;
  const auto chain = markov::Chain::compile(funnel);
  markov::Analysis exact(std::make_shared<markov::Chain>(chain));
  // One cohort, a horizon long enough for every journey to end.
  std::vector<double> arrivals(400, 0.0);
  arrivals[0] = 1.0;
  const auto path = forecast::expected_path(chain, arrivals, {.bin_width = 1.0, .substeps = 8});
  for (const std::size_t s : chain.transient_states()) {
    double visits = 0.0;
    for (std::size_t b = 0; b < path.bins; ++b) visits += path.entries[b * path.states + s];
    EXPECT_NEAR(visits, exact.expected_visits()[static_cast<Eigen::Index>(s)], 1e-9) << chain.name(s);
  }
  double ended = 0.0;
  for (const std::size_t s : chain.absorbing_states())
    for (std::size_t b = 0; b < path.bins; ++b) ended += path.entries[b * path.states + s];
  EXPECT_NEAR(ended, 1.0, 1e-9);  // every lead ends somewhere
}

TEST(ExpectedPath, LeadsAreConservedAtEveryBinsEnd) {
  const auto chain = markov::Chain::compile(fixtures::loop_funnel());
  const std::vector<double> arrivals(30, 100.0);
  const auto path = forecast::expected_path(chain, arrivals, {.bin_width = 1.0, .substeps = 16});
  double arrived = 0.0;
  for (std::size_t b = 0; b < path.bins; ++b) {
    arrived += arrivals[b];
    double present = 0.0;
    for (std::size_t s = 0; s < path.states; ++s) present += path.occupancy[b * path.states + s];
    EXPECT_NEAR(present, arrived, 1e-6 * arrived) << b;  // absorbed leads stay where they ended
  }
}

TEST(ExpectedPath, AgreesWithTheSimulationsMean) {
  // Daily traffic through the linear funnel (exponential holdings of means 0.5 and 2 days):
  // the mean of 40 simulated replicates against the path, day by day, within 4.5 standard
  // errors (Poisson arrivals: the variance of a day's count is at most a few times its mean).
  const auto funnel = fixtures::linear_funnel();
  auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(funnel));
  const std::size_t days = 20;
  const std::vector<double> arrivals(days, 2000.0);
  const auto path = forecast::expected_path(*chain, arrivals, {.bin_width = 1.0, .substeps = 96});
  simulate::Traffic traffic{.days = days, .channels = 1, .expected = arrivals, .day_length = 1.0};
  const std::size_t replicates = 40;
  const auto sim = simulate::simulate_shop(chain, {}, traffic, {},
                                           {.horizon = static_cast<double>(days), .bin_width = 1.0, .seed = 3,
                                            .replicates = replicates});
  for (std::size_t s = 0; s < chain->size(); ++s) {
    for (std::size_t b = 0; b < days; ++b) {
      double sum = 0.0, square = 0.0;
      for (std::size_t r = 0; r < replicates; ++r) {
        const auto x = static_cast<double>(sim.entries[(r * days + b) * chain->size() + s]);
        sum += x;
        square += x * x;
      }
      const double mean = sum / static_cast<double>(replicates);
      const double variance = std::max(1.0, (square - sum * mean) / static_cast<double>(replicates - 1));
      EXPECT_NEAR(mean, path.entries[b * path.states + s], 4.5 * std::sqrt(variance / static_cast<double>(replicates)))
          << chain->name(s) << " day " << b;
    }
  }
}

TEST(ExpectedPath, BadInputIsRefused) {
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  const std::vector<double> negative{1.0, -2.0};
  EXPECT_THROW((void)forecast::expected_path(chain, negative, {}), std::invalid_argument);
  const std::vector<double> fine{1.0};
  EXPECT_THROW((void)forecast::expected_path(chain, fine, {.bin_width = 0.0}), std::invalid_argument);
  EXPECT_THROW((void)forecast::expected_path(chain, fine, {.bin_width = 1.0, .substeps = 0}), std::invalid_argument);
}

TEST(ExpectedPath, IdleMoveTriggersAgreeWithTheSimulation) {
  // linear funnel: cart (exponential, mean 2 days) -> paid 0.3, the rest drops out. An idle
  // trigger on the cart: after half a day 40% are moved to paid, after 3 days another 25% (of
  // the leads still idle, including those who dropped out).
  const auto funnel = fixtures::linear_funnel();
  auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(funnel));
  const auto cart = chain->state_index("cart");
  const auto paid = chain->state_index("paid");
  const std::size_t days = 15;
  const std::vector<double> arrivals(days, 3000.0);
  forecast::PathOptions options{.bin_width = 1.0, .substeps = 96};
  options.idle_moves = {{cart, 0.5, paid, 0.4}, {cart, 3.0, paid, 0.25}};
  const auto path = forecast::expected_path(*chain, arrivals, options);

  simulate::Strategy strategy;
  simulate::Trigger trigger;
  trigger.name = "cart";
  trigger.condition = simulate::ConditionKind::Idle;
  trigger.states = {cart};
  for (const auto& [delay, p] : {std::pair{0.5, 0.4}, std::pair{3.0, 0.25}}) {
    simulate::Message m;
    m.delay = delay;
    m.effect = std::make_shared<simulate::MoveTo>(paid, p);
    trigger.steps.push_back(m);
  }
  strategy.triggers = {trigger};
  simulate::Traffic traffic{.days = days, .channels = 1, .expected = arrivals, .day_length = 1.0};
  const std::size_t replicates = 40;
  const auto sim = simulate::simulate_shop(chain, strategy, traffic, {},
                                           {.horizon = static_cast<double>(days), .bin_width = 1.0, .seed = 9,
                                            .replicates = replicates});
  for (const std::size_t s : {cart, paid, chain->drop_state()}) {
    for (std::size_t b = 0; b < days; ++b) {
      double sum = 0.0, square = 0.0;
      for (std::size_t r = 0; r < replicates; ++r) {
        const auto x = static_cast<double>(sim.entries[(r * days + b) * chain->size() + s]);
        sum += x;
        square += x * x;
      }
      const double mean = sum / static_cast<double>(replicates);
      const double variance = std::max(1.0, (square - sum * mean) / static_cast<double>(replicates - 1));
      EXPECT_NEAR(mean, path.entries[b * path.states + s], 4.5 * std::sqrt(variance / static_cast<double>(replicates)))
          << chain->name(s) << " day " << b;
    }
  }
  // Leads are conserved: the ones brought back from the drop state leave it.
  double present = 0.0;
  for (std::size_t s = 0; s < path.states; ++s) present += path.occupancy[(days - 1) * path.states + s];
  EXPECT_NEAR(present, 3000.0 * static_cast<double>(days), 1e-6 * 3000.0 * static_cast<double>(days));
}
