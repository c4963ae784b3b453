// The expected-value path: exact placement with fixed delays, conservation of leads, the
// expected visits of a loop funnel, and agreement with the simulation's mean.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
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

TEST(ExpectedPath, BadInputIsRefused) {
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  const std::vector<double> negative{1.0, -2.0};
  EXPECT_THROW((void)forecast::expected_path(chain, negative, {}), std::invalid_argument);
  const std::vector<double> fine{1.0};
  EXPECT_THROW((void)forecast::expected_path(chain, fine, {.bin_width = 0.0}), std::invalid_argument);
  EXPECT_THROW((void)forecast::expected_path(chain, fine, {.bin_width = 1.0, .substeps = 0}), std::invalid_argument);
}

namespace {

simulate::Message message(double delay, simulate::TriggerEffectPtr effect, double delivery = 1.0, double open = 1.0) {
  simulate::Message m;
  m.delay = delay;
  m.effect = std::move(effect);
  m.delivery = delivery;
  m.open = open;
  return m;
}

simulate::Trigger make_trigger(std::string name, simulate::ConditionKind condition, std::vector<std::size_t> states) {
  simulate::Trigger t;
  t.name = std::move(name);
  t.condition = condition;
  t.states = std::move(states);
  return t;
}

// The simulation's mean daily entries of every state agree with the path within 4.5 standard
// errors, and the path conserves its leads.
void expect_path_matches_simulation(const std::shared_ptr<const markov::Chain>& chain, const simulate::Strategy& strategy,
                                    const forecast::PathOptions& options, std::size_t days, double per_day,
                                    std::size_t replicates, std::uint64_t seed) {
  const std::vector<double> arrivals(days, per_day);
  const auto path = forecast::expected_path(*chain, arrivals, options);
  simulate::Traffic traffic{.days = days, .channels = 1, .expected = arrivals, .day_length = options.bin_width};
  const auto sim = simulate::simulate_shop(chain, strategy, traffic, {},
                                           {.horizon = static_cast<double>(days) * options.bin_width,
                                            .bin_width = options.bin_width, .seed = seed, .replicates = replicates});
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
  // Messages sent per bin, every step and send together.
  const std::size_t columns = options.steps.size() + options.sends.size();
  for (std::size_t b = 0; b < days; ++b) {
    double sum = 0.0, square = 0.0;
    for (std::size_t r = 0; r < replicates; ++r) {
      const double x = sim.series[(r * days + b) * simulate::kSeriesCount + simulate::kMessages];
      sum += x;
      square += x * x;
    }
    const double mean = sum / static_cast<double>(replicates);
    const double variance = std::max(1.0, (square - sum * mean) / static_cast<double>(replicates - 1));
    double expected = 0.0;
    for (std::size_t k = 0; k < columns; ++k) expected += path.messages[b * columns + k];
    EXPECT_NEAR(mean, expected, 4.5 * std::sqrt(variance / static_cast<double>(replicates))) << "messages day " << b;
  }
  double present = 0.0;  // leads brought back from the drop state or an end state leave it
  for (std::size_t s = 0; s < path.states; ++s) present += path.occupancy[(days - 1) * path.states + s];
  EXPECT_NEAR(present, per_day * static_cast<double>(days), 1e-6 * per_day * static_cast<double>(days));
}

// visit -> cart; cart -> paid (log-normal delay) or, by the stage's holding time, to checkout
// (a non-failure rival) and the drop-out: the tilt's chances given the time spent matter.
std::shared_ptr<const markov::Chain> branching_chain() {
  using model::StageKind;
  model::Funnel f;
  f.add_stage({"visit", StageKind::Transient, 0.0, std::make_shared<model::Exponential>(2.0), {}});
  f.add_stage({"cart", StageKind::Transient, 0.0, std::make_shared<model::Exponential>(0.7), {}});
  f.add_stage({"wishlist", StageKind::Success, 0.0, nullptr, {}});
  f.add_stage({"paid", StageKind::Success, 50.0, nullptr, {}});
  f.add_edge({"visit", "cart", 0.4, nullptr, {}});
  f.add_edge({"cart", "paid", 0.3, std::make_shared<model::LogNormal>(0.3, 0.8), {}});
  f.add_edge({"cart", "wishlist", 0.2, nullptr, {}});
  return std::make_shared<const markov::Chain>(markov::Chain::compile(f));
}

}  // namespace

TEST(ExpectedPath, AgreesWithTheSimulationsMean) {
  // Daily traffic through the linear funnel (exponential holdings of means 0.5 and 2 days):
  // the mean of 40 simulated replicates against the path, day by day, within 4.5 standard
  // errors (Poisson arrivals: the variance of a day's count is at most a few times its mean).
  const auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(fixtures::linear_funnel()));
  expect_path_matches_simulation(chain, {}, {.bin_width = 1.0, .substeps = 96}, 20, 2000.0, 40, 3);
}

TEST(ExpectedPath, IdleMoveStepsAgreeWithTheSimulation) {
  // cart (exponential) -> paid 0.3, the rest drops out. An idle trigger on the cart: after
  // half a day 40% are moved to paid, after 3 days another 25% (of the leads still idle,
  // including those who dropped out).
  const auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(fixtures::linear_funnel()));
  const auto cart = chain->state_index("cart");
  const auto paid = chain->state_index("paid");
  forecast::PathOptions options{.bin_width = 1.0, .substeps = 96};
  options.steps = {{.state = cart, .delay = 0.5, .reach = 0.4, .target = paid},
                   {.state = cart, .delay = 3.0, .reach = 0.25, .target = paid}};
  auto trigger = make_trigger("cart", simulate::ConditionKind::Idle, {cart});
  trigger.steps = {message(0.5, std::make_shared<simulate::MoveTo>(paid, 0.4)),
                   message(3.0, std::make_shared<simulate::MoveTo>(paid, 0.25))};
  simulate::Strategy strategy;
  strategy.triggers = {trigger};
  expect_path_matches_simulation(chain, strategy, options, 15, 3000.0, 40, 9);
}

TEST(ExpectedPath, OddsStepsAndControlGroupsAgreeWithTheSimulation) {
  // Two tilts of one trigger compound (x3 toward paid, then x2 toward any non-failure state);
  // a second trigger with a 30% control group moves leads twice: control leads get neither.
  const auto chain = branching_chain();
  const auto cart = chain->state_index("cart");
  const auto paid = chain->state_index("paid");
  forecast::PathOptions options{.bin_width = 1.0, .substeps = 96, .treated = {1.0, 0.7}};
  options.steps = {{.state = cart, .delay = 0.25, .trigger = 0, .reach = 0.8 * 0.5, .multiplier = 3.0, .toward = {paid}},
                   {.state = cart, .delay = 1.0, .trigger = 0, .reach = 0.6, .multiplier = 2.0},
                   {.state = cart, .delay = 0.5, .trigger = 1, .reach = 0.3, .target = paid},
                   {.state = cart, .delay = 2.0, .trigger = 1, .reach = 0.5, .target = paid}};
  auto tilt = make_trigger("tilt", simulate::ConditionKind::Idle, {cart});
  tilt.steps = {message(0.25, std::make_shared<simulate::OddsMultiplier>(3.0, std::vector<std::size_t>{paid}), 0.8, 0.5),
                message(1.0, std::make_shared<simulate::OddsMultiplier>(2.0, std::vector<std::size_t>{}), 1.0, 0.6)};
  auto move = make_trigger("move", simulate::ConditionKind::Idle, {cart});
  move.control_share = 0.3;
  move.steps = {message(0.5, std::make_shared<simulate::MoveTo>(paid, 0.3)),
                message(2.0, std::make_shared<simulate::MoveTo>(paid, 0.5))};
  simulate::Strategy strategy;
  strategy.triggers = {tilt, move};
  expect_path_matches_simulation(chain, strategy, options, 12, 4000.0, 40, 5);

  // The tilts raise the purchases, and a control group of everyone is no trigger at all.
  const std::vector<double> arrivals(12, 4000.0);
  const auto purchases = [&](const forecast::PathOptions& o) {
    const auto path = forecast::expected_path(*chain, arrivals, o);
    double total = 0.0;
    for (std::size_t b = 0; b < path.bins; ++b) total += path.entries[b * path.states + paid];
    return total;
  };
  forecast::PathOptions untreated = options;
  untreated.treated = {0.0, 0.0};
  EXPECT_NEAR(purchases(untreated), purchases({.bin_width = 1.0, .substeps = 96}), 1e-9 * purchases(untreated));
  forecast::PathOptions tilts_only = untreated;
  tilts_only.treated = {1.0, 0.0};
  EXPECT_GT(purchases(tilts_only), purchases(untreated) * 1.05);
}

TEST(ExpectedPath, StepsOnAnEndStageBringBuyersBack) {
  // A purchase trigger as a step on the (end) purchase stage: 2 days after paying, half of the
  // buyers go back to the cart, a loop the chain itself does not have.
  const auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(fixtures::linear_funnel()));
  const auto cart = chain->state_index("cart");
  const auto paid = chain->state_index("paid");
  forecast::PathOptions options{.bin_width = 1.0, .substeps = 48};
  options.steps = {{.state = paid, .delay = 2.0, .reach = 0.5, .target = cart}};
  auto again = make_trigger("again", simulate::ConditionKind::Purchase, {});
  again.steps = {message(2.0, std::make_shared<simulate::MoveTo>(cart, 0.5))};
  simulate::Strategy strategy;
  strategy.triggers = {again};
  expect_path_matches_simulation(chain, strategy, options, 20, 5000.0, 40, 3);
}

TEST(ExpectedPath, CampaignSendsAgreeWithTheSimulation) {
  // Sends to the leads in "visit" (mid-stay: their pending moves are cancelled) and in "paid"
  // (an end stage, with an idle step pending: cancelled too, as a move ends the stay).
  const auto chain = branching_chain();
  const auto visit = chain->state_index("visit");
  const auto cart = chain->state_index("cart");
  const auto paid = chain->state_index("paid");
  forecast::PathOptions options{.bin_width = 1.0, .substeps = 48};
  options.steps = {{.state = paid, .delay = 4.0, .trigger = 0, .reach = 0.5, .target = cart}};
  options.sends = {{.time = 3.25, .states = {visit}, .target = cart, .reach = 0.3},
                   {.time = 6.0, .states = {visit, paid}, .target = cart, .reach = 0.2},
                   {.time = 9.5, .states = {visit}, .target = paid, .reach = 0.1}};
  simulate::Strategy strategy;
  auto again = make_trigger("again", simulate::ConditionKind::Idle, {paid});
  again.steps = {message(4.0, std::make_shared<simulate::MoveTo>(cart, 0.5))};
  strategy.triggers = {again};
  for (const auto& send : options.sends) {
    simulate::Campaign campaign;
    campaign.name = "send at " + std::to_string(send.time);
    campaign.times = {send.time};
    campaign.states = send.states;
    campaign.message = message(0.0, std::make_shared<simulate::MoveTo>(send.target, send.reach));
    strategy.campaigns.push_back(campaign);
  }
  expect_path_matches_simulation(chain, strategy, options, 14, 4000.0, 40, 21);
}

TEST(ExpectedPath, RefusesSendsToLeadsWaitingForAStepFromTheDropState) {
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  const auto cart = chain.state_index("cart");
  const auto paid = chain.state_index("paid");
  const std::vector<double> arrivals(5, 100.0);
  forecast::PathOptions options{.bin_width = 1.0, .substeps = 4};
  options.steps = {{.state = cart, .delay = 1.0, .reach = 0.5, .target = paid}};
  options.sends = {{.time = 2.0, .states = {cart}, .target = paid, .reach = 0.5}};
  EXPECT_THROW((void)forecast::expected_path(chain, arrivals, options), std::invalid_argument);
  options.sends = {{.time = 2.0, .states = {chain.drop_state()}, .target = paid, .reach = 0.5}};
  EXPECT_THROW((void)forecast::expected_path(chain, arrivals, options), std::invalid_argument);
}

TEST(ExpectedPath, StepsReachLeadsWhoseMoveIsBeyondTheHorizon) {
  // A message 7 days after entering a stage held 90 days on average: of a cohort of 1,000,
  // those still there (P(D > 7 days)) and those who dropped out (80% of the others) get it,
  // whatever the horizon (moves later than the transform's length count).
  model::Funnel f;
  f.add_stage({"dormant", model::StageKind::Transient, 0.0, std::make_shared<model::Exponential>(1.0 / 90.0), {}});
  f.add_stage({"back", model::StageKind::Success, 10.0, nullptr, {}});
  f.add_edge({"dormant", "back", 0.2, nullptr, {}});
  const auto chain = markov::Chain::compile(f);
  const auto dormant = chain.state_index("dormant");
  const auto messages = [&](std::size_t bins) {
    std::vector<double> arrivals(bins, 0.0);
    arrivals[0] = 1000.0;
    forecast::PathOptions options{.bin_width = 1.0, .substeps = 24, .arrivals_at_start = true};
    options.steps = {{.state = dormant, .delay = 7.0, .reach = 0.0, .target = markov::kNoState}};
    const auto path = forecast::expected_path(chain, arrivals, options);
    return path.messages;
  };
  const auto month = messages(30);
  const auto season = messages(120);
  double total = 0.0;
  for (std::size_t b = 0; b < 30; ++b) {
    EXPECT_NEAR(month[b], season[b], 1e-9 * 1000.0) << "day " << b;
    total += month[b];
  }
  // The grid places the message at step round(7 days / h) and the entry at step 0: S = P(D >= 7 d + h/2).
  const double still = std::exp(-(7.0 + 0.5 / 24.0) / 90.0);
  EXPECT_NEAR(total, 1000.0 * (still + 0.8 * (1.0 - still)), 1e-6 * 1000.0);
}

TEST(ExpectedPath, RefusesStepsOutsideTheChain) {
  const auto chain = markov::Chain::compile(fixtures::linear_funnel());
  const std::vector<double> arrivals(3, 1.0);
  forecast::PathOptions options;
  options.steps = {{.state = 99, .delay = 1.0, .reach = 0.5, .target = 0}};
  EXPECT_THROW((void)forecast::expected_path(chain, arrivals, options), std::invalid_argument);
  options.steps = {{.state = 0, .delay = -1.0, .reach = 0.5, .target = 1}};
  EXPECT_THROW((void)forecast::expected_path(chain, arrivals, options), std::invalid_argument);
  options.steps = {{.state = 0, .delay = 1.0, .reach = 1.5, .target = 1}};
  EXPECT_THROW((void)forecast::expected_path(chain, arrivals, options), std::invalid_argument);
  options.steps = {};
  options.treated = {2.0};
  EXPECT_THROW((void)forecast::expected_path(chain, arrivals, options), std::invalid_argument);
}
