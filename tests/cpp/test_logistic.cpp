#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/logistic.hpp"

using namespace funnelkit;
using namespace funnelkit::scoring;

namespace {

double sigmoid(double t) { return 1.0 / (1.0 + std::exp(-t)); }
double logit(double p) { return std::log(p / (1.0 - p)); }

/// Random correlated features and labels drawn from a known logistic model.
struct Data {
  std::vector<std::vector<double>> columns;
  std::vector<double> y;
  std::vector<double> weights;

  [[nodiscard]] FeatureMatrix matrix() const {
    FeatureMatrix x;
    x.rows = y.size();
    for (const auto& c : columns) x.columns.emplace_back(c);
    return x;
  }
};

Data logistic_data(std::size_t n, std::size_t p, double intercept, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  Data d;
  d.columns.assign(p, std::vector<double>(n));
  d.y.resize(n);
  d.weights.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double common = normal(rng);
    double eta = intercept;
    for (std::size_t j = 0; j < p; ++j) {
      d.columns[j][i] = 0.6 * common + normal(rng) + 0.1 * static_cast<double>(j);
      eta += (j % 2 == 0 ? 0.8 : -0.5) * d.columns[j][i] / static_cast<double>(j + 1);
    }
    d.y[i] = uniform(rng) < sigmoid(eta) ? 1.0 : 0.0;
    d.weights[i] = 0.5 + uniform(rng);
  }
  return d;
}

/// Gradient of the sklearn objective C Σ s ℓ + (1−ρ)/2 ‖w‖² (without the L1 part).
std::vector<double> smooth_gradient(const Data& d, const LogisticFit& fit, double C, double l1_ratio,
                                    bool weighted) {
  const std::size_t p = d.columns.size();
  std::vector<double> g(p + 1, 0.0);
  for (std::size_t i = 0; i < d.y.size(); ++i) {
    double eta = fit.intercept;
    for (std::size_t j = 0; j < p; ++j) eta += fit.coefficients[j] * d.columns[j][i];
    const double r = (weighted ? d.weights[i] : 1.0) * (sigmoid(eta) - d.y[i]);
    for (std::size_t j = 0; j < p; ++j) g[j] += C * r * d.columns[j][i];
    g[p] += C * r;
  }
  for (std::size_t j = 0; j < p; ++j) g[j] += (1.0 - l1_ratio) * fit.coefficients[j];
  return g;
}

}  // namespace

TEST(Logistic, UnpenalisedBinaryFeatureIsTheLogOddsOfEachGroup) {
  // Closed form: with one 0/1 feature and no penalty, the MLE reproduces each group's rate.
  Data d;
  d.columns.assign(1, {});
  const int groups[2][2] = {{30, 70}, {45, 15}};  // (positives, negatives) for x = 0 and x = 1
  for (int x = 0; x < 2; ++x)
    for (int label = 0; label < 2; ++label)
      for (int k = 0; k < groups[x][1 - label]; ++k) {
        d.columns[0].push_back(x);
        d.y.push_back(label);
      }
  LogisticOptions options;
  options.C = std::numeric_limits<double>::infinity();
  const auto fit = fit_logistic(d.matrix(), d.y, {}, options);
  EXPECT_TRUE(fit.converged);
  EXPECT_NEAR(fit.intercept, logit(0.3), 1e-10);
  EXPECT_NEAR(fit.coefficients[0], logit(0.75) - logit(0.3), 1e-10);
}

TEST(Logistic, L2GradientVanishesAtTheOptimum) {
  const auto d = logistic_data(3000, 5, -1.0, 1);
  for (const double C : {0.01, 1.0, 100.0}) {
    LogisticOptions options;
    options.C = C;
    options.tol = 1e-11;
    const auto fit = fit_logistic(d.matrix(), d.y, d.weights, options);
    ASSERT_TRUE(fit.converged);
    // tol bounds the gradient of the objective divided by C Σ s.
    double total = 0.0;
    for (const double w : d.weights) total += w;
    const auto g = smooth_gradient(d, fit, C, 0.0, true);
    for (const double v : g) EXPECT_LE(std::abs(v), options.tol * C * total) << "C=" << C;
    // The objective there is the smallest around: nudging any coefficient raises it.
    const auto x = d.matrix();
    const double best = logistic_objective(x, d.y, d.weights, fit.coefficients, fit.intercept, C, 0.0);
    EXPECT_NEAR(best, fit.objective, 1e-9 * std::abs(best));
    auto moved = fit.coefficients;
    moved[2] += 1e-3;
    EXPECT_GT(logistic_objective(x, d.y, d.weights, moved, fit.intercept, C, 0.0), best);
  }
}

TEST(Logistic, L1AndElasticNetSatisfyTheKktConditions) {
  const auto d = logistic_data(2000, 8, 0.5, 2);
  for (const double ratio : {1.0, 0.5}) {
    LogisticOptions options;
    options.C = 0.02;
    options.l1_ratio = ratio;
    options.tol = 1e-10;
    const auto fit = fit_logistic(d.matrix(), d.y, {}, options);
    ASSERT_TRUE(fit.converged);
    const auto g = smooth_gradient(d, fit, options.C, ratio, false);
    std::size_t zeros = 0;
    for (std::size_t j = 0; j < 8; ++j) {
      if (fit.coefficients[j] == 0.0) {
        ++zeros;
        EXPECT_LE(std::abs(g[j]), ratio + 1e-6);  // 0 is in the subdifferential
      } else {
        EXPECT_NEAR(g[j], -ratio * (fit.coefficients[j] > 0 ? 1.0 : -1.0), 1e-6);
      }
    }
    EXPECT_NEAR(g[8], 0.0, 1e-6);  // the intercept is not penalised
    if (ratio == 1.0) {
      EXPECT_GT(zeros, 0u) << "a strong L1 penalty should zero some coefficients";
    }
  }
}

TEST(Logistic, LbfgsAndNewtonAgree) {
  const auto d = logistic_data(3000, 6, -2.0, 3);
  LogisticOptions options;
  options.C = 0.5;
  options.tol = 1e-10;
  options.max_iter = 1000;
  options.solver = LogisticSolver::Newton;
  const auto newton = fit_logistic(d.matrix(), d.y, {}, options);
  options.solver = LogisticSolver::Lbfgs;
  const auto lbfgs = fit_logistic(d.matrix(), d.y, {}, options);
  ASSERT_TRUE(lbfgs.converged);
  EXPECT_EQ(lbfgs.solver, LogisticSolver::Lbfgs);
  for (std::size_t j = 0; j < 6; ++j) EXPECT_NEAR(newton.coefficients[j], lbfgs.coefficients[j], 1e-7);
  EXPECT_NEAR(newton.intercept, lbfgs.intercept, 1e-7);
}

TEST(Logistic, ResultIsBitIdenticalForAnyThreadCount) {
  const auto d = logistic_data(50000, 7, -3.0, 4);  // many row blocks
  LogisticOptions options;
  options.l1_ratio = 0.3;
  options.C = 0.1;
  options.threads = 1;
  const auto one = fit_logistic(d.matrix(), d.y, d.weights, options);
  for (const std::size_t threads : {2u, 3u, 8u}) {
    options.threads = threads;
    const auto many = fit_logistic(d.matrix(), d.y, d.weights, options);
    EXPECT_EQ(one.coefficients, many.coefficients);
    EXPECT_EQ(one.intercept, many.intercept);
    EXPECT_EQ(one.iterations, many.iterations);
  }
}

TEST(Logistic, ClassWeightsActAsSampleWeights) {
  const auto d = logistic_data(2000, 3, -2.5, 5);
  LogisticOptions options;
  options.balanced = true;
  const auto balanced = fit_logistic(d.matrix(), d.y, {}, options);
  double positives = 0;
  for (const double v : d.y) positives += v;
  const double n = static_cast<double>(d.y.size());
  EXPECT_NEAR(balanced.class_weight[1], n / (2 * positives), 1e-12);
  std::vector<double> weights(d.y.size());
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = balanced.class_weight[d.y[i] == 1.0 ? 1 : 0];
  LogisticOptions plain;
  const auto weighted = fit_logistic(d.matrix(), d.y, weights, plain);
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(balanced.coefficients[j], weighted.coefficients[j], 1e-10);
}

TEST(Logistic, StandardisedFitPenalisesScaledCoefficients) {
  auto d = logistic_data(2000, 3, 0.0, 6);
  for (double& v : d.columns[1]) v = 1000.0 * v + 5000.0;  // other units
  d.columns.push_back(std::vector<double>(d.y.size(), 7.0));  // constant
  LogisticOptions options;
  options.standardize = true;
  options.C = 0.05;
  const auto fit = fit_logistic(d.matrix(), d.y, {}, options);
  ASSERT_TRUE(fit.converged);
  EXPECT_EQ(fit.coefficients[3], 0.0);
  EXPECT_EQ(fit.scales[3], 1.0);
  // Standardising by hand and fitting plainly gives the same model.
  Data z = d;
  z.columns.pop_back();
  for (std::size_t j = 0; j < 3; ++j)
    for (double& v : z.columns[j]) v = (v - fit.means[j]) / fit.scales[j];
  LogisticOptions plain;
  plain.C = 0.05;
  const auto reference = fit_logistic(z.matrix(), z.y, {}, plain);
  double intercept = reference.intercept;
  for (std::size_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(fit.coefficients[j] * fit.scales[j], reference.coefficients[j], 1e-7);
    intercept -= reference.coefficients[j] * fit.means[j] / fit.scales[j];
  }
  EXPECT_NEAR(fit.intercept, intercept, 1e-6);
}

TEST(Logistic, BadInputIsRejected) {
  const auto d = logistic_data(100, 2, 0.0, 7);
  LogisticOptions options;
  std::vector<double> ones(100, 1.0);
  try {
    (void)fit_logistic(d.matrix(), ones, {}, options);
    FAIL() << "one class accepted";
  } catch (const FunnelError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Label);
  }
  std::vector<double> three = d.y;
  three[4] = 2.0;
  EXPECT_THROW((void)fit_logistic(d.matrix(), three, {}, options), FunnelError);
  EXPECT_THROW((void)fit_logistic(d.matrix(), std::span<const double>(d.y).first(50), {}, options), FunnelError);
  Data bad = d;
  bad.columns[1][3] = std::numeric_limits<double>::quiet_NaN();
  try {
    (void)fit_logistic(bad.matrix(), bad.y, {}, options);
    FAIL() << "NaN accepted";
  } catch (const FunnelError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::FeatureValue);
    EXPECT_EQ(error.subject(), "1");
  }
  options.solver = LogisticSolver::Lbfgs;
  options.l1_ratio = 1.0;
  EXPECT_THROW((void)fit_logistic(d.matrix(), d.y, {}, options), std::invalid_argument);
}

TEST(Logistic, NotConvergingIsReportedNotThrown) {
  const auto d = logistic_data(2000, 4, 0.0, 8);
  LogisticOptions options;
  options.max_iter = 1;
  options.solver = LogisticSolver::Lbfgs;
  const auto fit = fit_logistic(d.matrix(), d.y, {}, options);
  EXPECT_FALSE(fit.converged);
  EXPECT_EQ(fit.iterations, 1u);
  EXPECT_GT(fit.gradient_norm, options.tol);
}

TEST(LogisticScorer, ScoresContributionsAndParameters) {
  // Features: a numeric one and a categorical one with three levels.
  const LogisticScorer scorer({"visits", "stage"}, {0, 3}, {0.5, -1.0, 0.0, 2.0}, -1.0, {2.0, 0.5, 0.3, 0.2},
                              {1.0, 1.0, 1.0, 1.0});
  const std::vector<double> visits{0.0, 4.0, 2.0};
  const std::vector<double> stage{2.0, 0.0, -1.0};  // the last is an unseen level
  FeatureMatrix x;
  x.rows = 3;
  x.columns = {visits, stage};
  std::vector<double> score(3);
  std::vector<double> decision(3);
  scorer.score(x, score);
  scorer.decision(x, decision);
  EXPECT_DOUBLE_EQ(decision[0], -1.0 + 0.0 + 2.0);
  EXPECT_DOUBLE_EQ(decision[1], -1.0 + 2.0 - 1.0);
  EXPECT_DOUBLE_EQ(decision[2], -1.0 + 1.0);
  EXPECT_DOUBLE_EQ(score[0], sigmoid(1.0));
  std::vector<double> contributions(6);
  scorer.contributions(x, contributions);
  const double centre = 0.5 * -1.0 + 0.2 * 2.0;
  EXPECT_DOUBLE_EQ(scorer.baseline(), -1.0 + 0.5 * 2.0 + centre);
  EXPECT_DOUBLE_EQ(contributions[0], 0.5 * (0.0 - 2.0));
  EXPECT_DOUBLE_EQ(contributions[1], 2.0 - centre);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(contributions[2 * i] + contributions[2 * i + 1] + scorer.baseline(), decision[i], 1e-12);

  const auto copy = LogisticScorer::from_params(scorer.params());
  std::vector<double> again(3);
  copy.score(x, again);
  EXPECT_EQ(again, score);
  auto broken = scorer.params();
  broken["coefficients"] = std::vector<double>{1.0};
  EXPECT_THROW((void)LogisticScorer::from_params(broken), FunnelError);
}
