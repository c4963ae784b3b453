// The funnel-model lead score against the analysis at t = 0 and a brute-force Monte Carlo of
// the chain conditioned on the lead still being in its stage after t.
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/core/random.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/scoring/funnel_score.hpp"

using namespace funnelkit;
using namespace funnelkit::markov;
using scoring::FunnelScore;

namespace {

// A shop with per-edge delays (so the idle time tells something), loops, a remainder with a
// holding time, values and a discount.
model::Funnel shop() {
  using model::StageKind;
  model::Funnel f;
  f.add_stage({"visit", StageKind::Transient, 0.0, std::make_shared<model::Weibull>(1.5, 3.0), {}});
  f.add_stage({"cart", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"checkout", StageKind::Transient, 2.0, nullptr, {}});
  f.add_stage({"paid", StageKind::Success, 60.0, nullptr, {}});
  f.add_stage({"lost", StageKind::Failure, 0.0, nullptr, {}});
  f.add_edge({"visit", "cart", 0.3, std::make_shared<model::LogNormal>(0.0, 1.0), {}});
  f.add_edge({"visit", "lost", 0.5, std::make_shared<model::Fixed>(5.0), {}});
  f.add_edge({"cart", "checkout", 0.5, std::make_shared<model::Exponential>(2.0), {}});
  f.add_edge({"cart", "visit", 0.2, std::make_shared<model::Weibull>(0.7, 10.0), {}});
  f.add_edge({"cart", "lost", 0.3, std::make_shared<model::Fixed>(4.0), {}});
  f.add_edge({"checkout", "paid", 0.7, std::make_shared<model::Gamma>(2.0, 0.5), {}});
  f.add_edge({"checkout", "cart", 0.3, std::make_shared<model::LogNormal>(1.0, 0.5), {}});
  f.discount = 0.9;
  return f;
}

struct Fixture {
  std::shared_ptr<const Chain> chain = std::make_shared<Chain>(Chain::compile(shop()));
  std::shared_ptr<Analysis> analysis = std::make_shared<Analysis>(chain);
};

// Mean success and discounted revenue of `n` journeys from `state` that are still there at t:
// the first step drawn by rejection (the delay must outlast t), the rest as the chain runs.
std::pair<double, double> monte_carlo(const Chain& chain, std::size_t state, double t, int n, std::uint64_t seed) {
  Rng rng(seed);
  double successes = 0.0, revenue = 0.0;
  for (int k = 0; k < n;) {
    const auto [first, delay] = chain.sample_step(state, rng);
    if (!(delay > t)) continue;  // this lead would have moved on already
    ++k;
    double weight = 1.0;
    auto s = first;
    revenue += chain.value(s);
    while (!chain.absorbing(s)) {
      s = chain.sample_step(s, rng).first;
      weight *= chain.discount();
      revenue += weight * chain.value(s);
    }
    successes += chain.kind(s) == model::StageKind::Success;
  }
  return {successes / n, revenue / n};
}

}  // namespace

TEST(FunnelScore, AtTimeZeroItIsTheAnalysis) {
  Fixture fx;
  const FunnelScore score(fx.chain, fx.analysis);
  const auto& b = fx.analysis->success_probability();
  const auto& v = fx.analysis->value();
  for (std::size_t i = 0; i < fx.chain->size(); ++i) {
    const auto s = score.evaluate_one(static_cast<std::int64_t>(i), 0.0);
    EXPECT_NEAR(s.purchase, b[static_cast<Eigen::Index>(i)], 1e-12) << fx.chain->name(i);
    EXPECT_NEAR(s.revenue, v[static_cast<Eigen::Index>(i)], 1e-10) << fx.chain->name(i);
    if (fx.chain->absorbing(i)) continue;
    // sum_j p_j b_j = b_i: the mixture over the row is the analysis' own recursion.
    double mixed = 0.0;
    for (const auto& tr : fx.chain->transitions(i)) mixed += tr.probability * b[static_cast<Eigen::Index>(tr.to)];
    EXPECT_NEAR(mixed, b[static_cast<Eigen::Index>(i)], 1e-12);
  }
  EXPECT_EQ(score.evaluate_one(static_cast<std::int64_t>(fx.chain->state_index("paid")), 5.0).purchase, 1.0);
  EXPECT_EQ(score.evaluate_one(static_cast<std::int64_t>(fx.chain->state_index("paid")), 5.0).revenue, 0.0);
  EXPECT_EQ(score.evaluate_one(static_cast<std::int64_t>(fx.chain->state_index("lost")), 5.0).purchase, 0.0);
  EXPECT_NEAR(score.evaluate_one(scoring::kNotEntered, 0.0).purchase, fx.analysis->success(), 1e-12);
  EXPECT_NEAR(score.evaluate_one(scoring::kNotEntered, 0.0).revenue, fx.analysis->value_per_entrant(), 1e-10);
  EXPECT_EQ(score.evaluate_one(scoring::kLeft, 3.0).purchase, 0.0);
}

TEST(FunnelScore, AgreesWithAMonteCarloOfTheChainGivenTheLeadIsStillThere) {
  // 100k journeys per case: P within 0.008 (5 sd of a proportion), revenue within 0.6 (the
  // revenue of a journey is at most ~60 + 2 / (1 - 0.9), sd below 32: 0.6 is > 5 sd).
  Fixture fx;
  const FunnelScore score(fx.chain, fx.analysis);
  const std::vector<std::pair<const char*, double>> cases = {
      {"visit", 0.5}, {"visit", 3.0}, {"cart", 0.0}, {"cart", 1.0}, {"cart", 3.5}, {"checkout", 1.5}};
  std::uint64_t seed = 11;
  for (const auto& [name, t] : cases) {
    const auto state = fx.chain->state_index(name);
    const auto [p, r] = monte_carlo(*fx.chain, state, t, 100000, ++seed);
    const auto s = score.evaluate_one(static_cast<std::int64_t>(state), t);
    EXPECT_NEAR(s.purchase, p, 0.008) << name << " idle " << t;
    EXPECT_NEAR(s.revenue, r, 0.6) << name << " idle " << t;
  }
  // The idle time matters: a cart idle past its fast checkout edge scores lower.
  const auto cart = static_cast<std::int64_t>(fx.chain->state_index("cart"));
  EXPECT_GT(score.evaluate_one(cart, 0.1).purchase, score.evaluate_one(cart, 3.0).purchase);
  // Far past every delay (every survival underflows): the limit weights apply.
  EXPECT_TRUE(std::isfinite(score.evaluate_one(cart, 1e6).purchase));
}

TEST(FunnelScore, VectorisedResultsDoNotDependOnThreads) {
  Fixture fx;
  const FunnelScore one(fx.chain, fx.analysis, {}, 1);
  const FunnelScore three(fx.chain, fx.analysis, {}, 3);
  const std::size_t n = 50000;
  std::vector<std::int64_t> states(n);
  std::vector<double> times(n);
  Rng rng(4);
  for (std::size_t i = 0; i < n; ++i) {
    states[i] = static_cast<std::int64_t>(rng() % (fx.chain->size() + 2)) - 2;
    times[i] = 10.0 * rng.uniform01();
  }
  std::vector<double> p1(n), r1(n), p3(n), r3(n);
  one.evaluate(states, times, p1, r1);
  three.evaluate(states, times, p3, r3);
  EXPECT_EQ(p1, p3);
  EXPECT_EQ(r1, r3);
  for (std::size_t i = 0; i < n; i += 997) {
    const auto s = one.evaluate_one(states[i], times[i]);
    EXPECT_EQ(s.purchase, p1[i]);
    EXPECT_EQ(s.revenue, r1[i]);
  }
}

TEST(FunnelScore, ImplementsTheScorerInterfaceWithStageAndIdleReasons) {
  Fixture fx;
  const FunnelScore score(fx.chain, fx.analysis, {{"funnel", "doc"}});
  const scoring::Scorer& scorer = score;
  EXPECT_EQ(scorer.type_name(), "funnel");
  EXPECT_EQ(scorer.params()["funnel"], "doc");
  EXPECT_EQ(scorer.feature_names(), (std::vector<std::string>{"stage", "time_in_stage"}));
  const std::vector<double> codes = {1.0, 1.0, -1.0, 3.0};
  const std::vector<double> times = {0.0, 2.0, std::nan(""), 7.0};
  scoring::FeatureMatrix x{codes.size(), {codes, times}};
  std::vector<double> out(4), reasons(8);
  scorer.score(x, out);
  scorer.contributions(x, reasons);
  for (std::size_t r = 0; r < 4; ++r) EXPECT_NEAR(reasons[2 * r] + reasons[2 * r + 1], out[r], 1e-15);
  EXPECT_EQ(reasons[1], 0.0);  // t = 0: all of it is the stage
  EXPECT_LT(reasons[3], 0.0);  // a cart idle for 2 has lost its chance of a quick checkout
  EXPECT_EQ(out[3], 1.0);      // paid
}

TEST(FunnelScore, RejectsBadRowsNamingThem) {
  Fixture fx;
  const FunnelScore score(fx.chain, fx.analysis);
  const auto fails = [&](std::vector<std::int64_t> states, std::vector<double> times, const char* fragment) {
    std::vector<double> p(states.size()), r(states.size());
    try {
      score.evaluate(states, times, p, r);
      ADD_FAILURE() << "expected an error mentioning " << fragment;
    } catch (const FunnelError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::FeatureValue);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  fails({0, 1}, {1.0, std::nan("")}, "row 1 is NaN in stage 'cart'");
  fails({0}, {-1.0}, "time");
  fails({0}, {std::numeric_limits<double>::infinity()}, "time");
  fails({0, 9}, {1.0, 1.0}, "stage code 9");
  fails({-3}, {1.0}, "stage code -3");
  const std::vector<double> half = {0.5};
  const std::vector<double> one = {1.0};
  std::vector<double> out(1);
  EXPECT_THROW(score.score(scoring::FeatureMatrix{1, {half, one}}, out), FunnelError);
  // NaN is fine where the time does not matter: not entered, left, absorbing stages.
  std::vector<std::int64_t> states = {-1, -2, 3, 4};
  std::vector<double> times(4, std::nan("")), p(4), r(4);
  score.evaluate(states, times, p, r);
  EXPECT_EQ(p[2], 1.0);
}
