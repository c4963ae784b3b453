// The next-step law after time t in a state (markov/next_step) and the Truncated distribution,
// against SciPy reference values (quoted with the call that produced them), closed forms and
// Monte Carlo.
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/core/random.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/next_step.hpp"
#include "funnelkit/model/distribution.hpp"
#include "funnelkit/model/json_io.hpp"

using namespace funnelkit;
using namespace funnelkit::markov;
using model::DistributionPtr;

namespace {

DistributionPtr exponential(double rate) { return std::make_shared<model::Exponential>(rate); }
DistributionPtr lognormal(double mu, double sigma) { return std::make_shared<model::LogNormal>(mu, sigma); }
DistributionPtr weibull(double shape, double scale) { return std::make_shared<model::Weibull>(shape, scale); }
DistributionPtr fixed(double value) { return std::make_shared<model::Fixed>(value); }
DistributionPtr truncated(DistributionPtr base, double upper) {
  return std::make_shared<model::Truncated>(std::move(base), upper);
}

// A "cart" stage whose edges carry the given (target, probability, delay); targets are
// absorbing stages named after them, created on first use. The holding time covers the rest.
struct Edge {
  const char* to;
  double probability;
  DistributionPtr delay;
};
std::shared_ptr<const Chain> row_chain(const std::vector<Edge>& edges, DistributionPtr holding = nullptr) {
  model::Funnel f;
  f.add_stage({"cart", model::StageKind::Transient, 0.0, std::move(holding), {}});
  for (const auto& e : edges) {
    if (!f.find_stage(e.to)) f.add_stage({e.to, model::StageKind::Success, 0.0, nullptr, {}});
    f.add_edge({"cart", e.to, e.probability, e.delay, {}});
  }
  return std::make_shared<Chain>(Chain::compile(f));
}

// The cart row of the SciPy references: paid 0.4 LogNormal(1, 0.7), browse 0.35
// Weibull(1.5, 10), left 0.25 Fixed(8).
std::shared_ptr<const Chain> reference_chain() {
  return row_chain({{"paid", 0.4, lognormal(1.0, 0.7)}, {"browse", 0.35, weibull(1.5, 10.0)}, {"left", 0.25, fixed(8.0)}});
}

}  // namespace

// ---------------------------------------------------------------- Truncated
TEST(Truncated, MatchesScipyForAnExponentialBase) {
  // scipy.stats.truncexpon(b=1.5, scale=2): Exponential(rate 0.5) truncated at 3.
  const model::Truncated d(exponential(0.5), 3.0);
  EXPECT_NEAR(d.cdf(1.0), 0.506480391055654, 1e-14);
  EXPECT_NEAR(d.survival(2.0), 0.1863237232258476, 1e-14);
  EXPECT_NEAR(d.quantile(0.3), 0.53069589754388, 1e-13);
  EXPECT_NEAR(d.mean(), 1.1383492496333953, 1e-13);
  EXPECT_NEAR(d.second_moment(), 1.9684447474337674, 1e-13);
  EXPECT_EQ(d.cdf(3.0), 1.0);
  EXPECT_EQ(d.survival(3.0), 0.0);
  EXPECT_EQ(d.survival(10.0), 0.0);
  EXPECT_EQ(d.pdf(3.5), 0.0);
  EXPECT_EQ(d.quantile(1.0), 3.0);
  EXPECT_NEAR(d.inverse_survival(0.1863237232258476), 2.0, 1e-12);
  // The density integrates to 1 over [0, U] (trapezoid, fine grid).
  double mass = 0.0;
  const int n = 30000;
  for (int k = 0; k < n; ++k) mass += 0.5 * (d.pdf(3.0 * k / n) + d.pdf(3.0 * (k + 1) / n)) * 3.0 / n;
  EXPECT_NEAR(mass, 1.0, 1e-8);
}

TEST(Truncated, MatchesScipyForLogNormalAndWeibullBases) {
  // LogNormal(1, 0.7) = scipy.stats.lognorm(s=0.7, scale=e) truncated at 4; moments by
  // scipy.integrate.quad of t^k pdf over [0, 4] / cdf(4).
  const model::Truncated l(lognormal(1.0, 0.7), 4.0);
  EXPECT_NEAR(l.mean(), 2.159279093499866, 1e-12);
  EXPECT_NEAR(l.second_moment(), 5.4993855679281545, 1e-12);
  EXPECT_NEAR(l.survival(2.0), 0.5340742760175881, 1e-14);
  // Weibull(1.5, 10) truncated at 12: moments come from the numerical default.
  const model::Truncated w(weibull(1.5, 10.0), 12.0);
  EXPECT_NEAR(w.mean(), 6.026135823850982, 1e-9);
  EXPECT_NEAR(w.second_moment(), 46.205084407258774, 1e-8);
  // A small rate x upper takes the quadrature path: close to a uniform on [0, U].
  const model::Truncated flat(exponential(1e-4), 2.0);
  EXPECT_NEAR(flat.mean(), 1.0, 1e-3);
  EXPECT_NEAR(flat.second_moment(), 4.0 / 3.0, 1e-3);
}

TEST(Truncated, RoundTripsThroughJsonNestedInAFunnel) {
  const auto d = truncated(lognormal(0.3, 1.2), 720.0);
  const auto json = model::distribution_to_json(*d);
  EXPECT_EQ(json["type"], "truncated");
  EXPECT_EQ(json["base"]["type"], "lognormal");
  EXPECT_EQ(json["upper"], 720.0);
  const auto back = model::distribution_from_json(json);
  EXPECT_EQ(back->type_name(), "truncated");
  EXPECT_EQ(back->params(), d->params());
  EXPECT_EQ(back->cdf(5.0), d->cdf(5.0));

  model::Funnel f;
  f.add_stage({"cart", model::StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"paid", model::StageKind::Success, 10.0, nullptr, {}});
  f.add_edge({"cart", "paid", 0.5, truncated(truncated(exponential(0.1), 50.0), 20.0), {}});
  const auto text = model::funnel_to_json(f);
  const auto read = model::funnel_from_json(text);
  EXPECT_EQ(model::funnel_to_json(read), text);
  EXPECT_EQ(read.edges()[0].delay->params()["base"]["base"]["rate"], 0.1);
}

TEST(Truncated, RejectsBadArguments) {
  EXPECT_THROW(model::Truncated(nullptr, 1.0), FunnelError);
  EXPECT_THROW(model::Truncated(exponential(1.0), 0.0), FunnelError);
  EXPECT_THROW(model::Truncated(exponential(1.0), std::numeric_limits<double>::infinity()), FunnelError);
  EXPECT_THROW(model::Truncated(fixed(5.0), 1.0), FunnelError);  // nothing below the bound
  try {
    (void)model::distribution_from_json(nlohmann::json::parse(R"({"type": "truncated", "base": {"type": "nope"}, "upper": 1})"));
    FAIL() << "an unknown nested type must throw";
  } catch (const FunnelError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::UnknownDistribution);
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
  EXPECT_THROW((void)model::distribution_from_json(nlohmann::json::parse(R"({"type": "truncated", "upper": 1})")),
               FunnelError);
}

TEST(InverseSurvival, StaysExactDeepInTheTail) {
  // scipy.stats.lognorm(s=0.7, scale=e).isf(1e-20), weibull_min(c=1.5, scale=10).isf(1e-20).
  EXPECT_NEAR(model::LogNormal(1.0, 0.7).inverse_survival(1e-20), 1778.7000417593486, 1e-9);
  EXPECT_NEAR(model::Weibull(1.5, 10.0).inverse_survival(1e-20), 128.4784996189214, 1e-10);
  EXPECT_NEAR(model::Exponential(0.5).inverse_survival(1e-20), 2.0 * 20.0 * std::log(10.0), 1e-11);
  const model::Gamma g(2.0, 3.0);
  EXPECT_NEAR(g.survival(g.inverse_survival(1e-15)), 1e-15, 1e-27);
}

// ---------------------------------------------------------------- next step
TEST(NextStep, AtTimeZeroGivesTheRowProbabilities) {
  const auto chain = row_chain({{"paid", 0.3, fixed(0.0)}, {"browse", 0.5, lognormal(0.0, 1.0)}});
  const NextStep next(chain);
  const auto w = next.weights(0, 0.0);
  ASSERT_EQ(w.size(), 3u);  // the remainder (0.2) goes to the virtual drop state
  EXPECT_NEAR(w[0], 0.3, 1e-15);
  EXPECT_NEAR(w[1], 0.5, 1e-15);
  EXPECT_NEAR(w[2], 0.2, 1e-15);
  EXPECT_EQ(next_step_probabilities(*chain, 0, 0.0), w);
}

TEST(NextStep, MatchesScipySurvivalWeights) {
  // p_j S_j(t) normalised, with S_j from scipy.stats (see reference_chain).
  const auto chain = reference_chain();
  const NextStep next(chain);
  const std::vector<std::pair<double, std::vector<double>>> cases = {
      {1.0, {0.38537540939502596, 0.353794864152143, 0.26082972645283103}},
      {3.0, {0.24510589983651915, 0.4098568312049269, 0.34503726895855397}},
      {7.5, {0.06364765290559908, 0.3954882835094118, 0.5408640635849892}},
  };
  for (const auto& [t, expected] : cases) {
    const auto w = next.weights(0, t);
    for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(w[j], expected[j], 1e-14) << "t = " << t << ", j = " << j;
    EXPECT_EQ(next_step_probabilities(*chain, 0, t), w);
  }
}

TEST(NextStep, ExponentialHoldingIsMemoryless) {
  // Edges without their own delay share the stage's exponential holding time: whatever the
  // time already spent, the next step keeps the row's law, and the remaining time is the same
  // exponential (mean 4).
  const auto chain = row_chain({{"paid", 0.25, nullptr}, {"browse", 0.45, nullptr}}, exponential(0.25));
  const NextStep next(chain);
  for (const double t : {0.0, 0.3, 7.0, 60.0, 500.0}) {
    const auto w = next.weights(0, t);
    EXPECT_NEAR(w[0], 0.25, 1e-12);
    EXPECT_NEAR(w[1], 0.45, 1e-12);
    EXPECT_NEAR(w[2], 0.30, 1e-12);
  }
  Rng rng(7);
  const int n = 200000;
  double sum = 0.0, sum_sq = 0.0;
  int over_8 = 0;
  for (int k = 0; k < n; ++k) {
    const double dt = next.sample(0, 50.0, rng).second;
    sum += dt;
    sum_sq += dt * dt;
    over_8 += dt > 8.0;
  }
  // Mean 4 with sd 4 / sqrt(n) ~ 0.009: 5 sd; P(> 8) = e^-2 with sd ~ 0.0008.
  EXPECT_NEAR(sum / n, 4.0, 0.045);
  EXPECT_NEAR(sum_sq / n, 32.0, 0.8);
  EXPECT_NEAR(static_cast<double>(over_8) / n, std::exp(-2.0), 0.004);
}

TEST(NextStep, FixedDelaysDropOutOnceTheyArePassed) {
  const auto chain = row_chain({{"paid", 0.3, fixed(2.0)}, {"browse", 0.7, fixed(5.0)}});
  const NextStep next(chain);
  EXPECT_NEAR(next.weights(0, 1.0)[0], 0.3, 1e-15);
  EXPECT_EQ(next.weights(0, 3.0), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(next.weights(0, 5.0), (std::vector<double>{0.0, 1.0}));  // past both: the one ending last
  EXPECT_EQ(next.weights(0, 1e9), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(next.last_time(0), std::nextafter(5.0, 0.0));
  Rng rng(3);
  const auto [to, remaining] = next.sample(0, 3.5, rng);
  EXPECT_EQ(chain->name(to), "browse");
  EXPECT_NEAR(remaining, 1.5, 1e-15);
  const auto [late_to, late_remaining] = next.sample(0, 9.0, rng);
  EXPECT_EQ(chain->name(late_to), "browse");
  EXPECT_EQ(late_remaining, 0.0);  // past the support: due now
}

TEST(NextStep, PastTheWindowAFittedLeadHasLeft) {
  // What fit_funnel builds: delays truncated at W = 720 and the loss edge Fixed(W). At and
  // after W every survival is 0; the limit from the left puts the lead on the loss edge,
  // whose atom at W outlasts the vanishing truncated densities.
  const double W = 720.0;
  const auto chain = row_chain({{"paid", 0.3, truncated(exponential(0.05), W)},
                                {"browse", 0.2, truncated(lognormal(3.0, 2.0), W)},
                                {"left", 0.5, fixed(W)}});
  const NextStep next(chain);
  const auto before = next.weights(0, W - 1.0);
  EXPECT_GT(before[1], 0.0);
  for (const double t : {W, W + 1e-9, 2 * W, std::numeric_limits<double>::infinity()}) {
    const auto w = next.weights(0, t);
    EXPECT_NEAR(w[0], 0.0, 1e-12) << t;
    EXPECT_NEAR(w[1], 0.0, 1e-12) << t;
    EXPECT_NEAR(w[2], 1.0, 1e-12) << t;
  }
  // Two atoms at the same end share in proportion to p.
  const auto atoms = row_chain({{"paid", 0.1, fixed(W)}, {"left", 0.3, fixed(W)}});
  const auto w = NextStep(atoms).weights(0, 2 * W);
  EXPECT_NEAR(w[0], 0.25, 1e-15);
  EXPECT_NEAR(w[1], 0.75, 1e-15);
  EXPECT_EQ(w[2], 0.0);  // the remainder, without a holding time, took no time: long over
}

TEST(NextStep, BeyondFloatingPointTheHeavierTailWins) {
  // S = e^-t and e^-2t both underflow at t = 2000; the limit of the weights is all on the slower.
  const auto chain = row_chain({{"paid", 0.9, exponential(2.0)}, {"browse", 0.1, exponential(1.0)}});
  const NextStep next(chain);
  const auto w = next.weights(0, 2000.0);
  EXPECT_EQ(w[0], 0.0);
  EXPECT_EQ(w[1], 1.0);
  EXPECT_GT(next.last_time(0), 700.0);
  EXPECT_EQ(next_step_probabilities(*chain, 0, 2000.0), w);
}

TEST(NextStep, InstantMovesAreOverAfterTimeZero) {
  const auto only_instant = row_chain({{"paid", 0.4, nullptr}, {"browse", 0.6, nullptr}});
  EXPECT_EQ(NextStep(only_instant).weights(0, 2.0), (std::vector<double>{0.4, 0.6}));
  EXPECT_EQ(NextStep(only_instant).last_time(0), 0.0);
  const auto mixed = row_chain({{"paid", 0.5, nullptr}, {"browse", 0.5, exponential(1.0)}});
  EXPECT_EQ(NextStep(mixed).weights(0, 0.5), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(NextStep(mixed).weights(0, 0.0), (std::vector<double>{0.5, 0.5}));
}

TEST(NextStep, MonteCarloAgreesWithTheWeightsAndTheConditionalSurvival) {
  // 400k draws after t = 3 from the reference row: each transition's frequency within 0.004
  // of its weight (> 5 sd), and per transition P(remaining > s) within 0.01 of
  // S(t + s) / S(t) (the conditional survival).
  const auto chain = reference_chain();
  const NextStep next(chain);
  const double t = 3.0;
  const auto w = next.weights(0, t);
  const int n = 400000;
  const std::vector<double> offsets = {0.5, 2.0, 6.0};
  std::vector<int> chosen(3, 0);
  std::vector<std::vector<int>> beyond(3, std::vector<int>(offsets.size(), 0));
  Rng rng(2024);
  const auto row = chain->transitions(0);
  for (int k = 0; k < n; ++k) {
    const auto [to, remaining] = next.sample(0, t, rng);
    std::size_t j = 0;
    while (row[j].to != to) ++j;
    ++chosen[j];
    for (std::size_t m = 0; m < offsets.size(); ++m) beyond[j][m] += remaining > offsets[m];
    if (j == 2) {
      EXPECT_NEAR(remaining, 5.0, 1e-12);  // Fixed(8): exactly what is left
    }
  }
  for (std::size_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(static_cast<double>(chosen[j]) / n, w[j], 0.004) << j;
    const double s_t = row[j].delay->survival(t);
    for (std::size_t m = 0; m < offsets.size(); ++m) {
      const double expected = row[j].delay->survival(t + offsets[m]) / s_t;
      EXPECT_NEAR(static_cast<double>(beyond[j][m]) / chosen[j], expected, 0.01) << j << " " << offsets[m];
    }
  }
  // The free function draws the same stream.
  Rng a(5), b(5);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(next.sample(0, t, a), sample_step_after(*chain, 0, t, b));
}

TEST(NextStep, RejectsBadArgumentsAndKeepsAbsorbingStatesPut) {
  const auto chain = reference_chain();
  const NextStep next(chain);
  EXPECT_THROW((void)next.weights(0, std::nan("")), std::invalid_argument);
  EXPECT_THROW((void)next.weights(0, -1.0), std::invalid_argument);
  EXPECT_THROW((void)next.weights(9, 1.0), std::out_of_range);
  EXPECT_THROW((void)next_step_probabilities(*chain, 0, -0.5), std::invalid_argument);
  const auto paid = chain->state_index("paid");
  EXPECT_TRUE(next.weights(paid, 3.0).empty());
  Rng rng(1);
  EXPECT_EQ(next.sample(paid, 3.0, rng), std::make_pair(paid, 0.0));
}

TEST(NextStep, PreparationDoesNotDependOnThreads) {
  const auto chain = row_chain({{"paid", 0.3, truncated(exponential(0.05), 100.0)},
                                {"browse", 0.2, truncated(lognormal(3.0, 2.0), 100.0)},
                                {"left", 0.5, fixed(100.0)}});
  const NextStep one(chain, 1);
  const NextStep four(chain, 4);
  const auto a = one.terminal_weights(0);
  const auto b = four.terminal_weights(0);
  EXPECT_EQ(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
  EXPECT_EQ(one.last_time(0), four.last_time(0));
}
