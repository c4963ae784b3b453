// Built-in distributions against closed forms and against their own numerical integrals.
#include <cmath>
#include <memory>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/model/distribution.hpp"

using namespace funnelkit;
using namespace funnelkit::model;

namespace {

std::vector<DistributionPtr> all_builtins() {
  return {std::make_shared<Exponential>(0.5),
          std::make_shared<LogNormal>(1.0, 0.6),
          std::make_shared<Weibull>(1.7, 3.0),
          std::make_shared<Weibull>(0.6, 2.0),
          std::make_shared<Gamma>(2.5, 1.5),
          std::make_shared<Empirical>(std::vector<double>{0.0, 0.3, 0.9, 1.0}, std::vector<double>{0.0, 1.0, 4.0, 10.0})};
}

// Midpoint rule for integral_0^inf f(t) dt after t = u / (1 - u).
template <class F>
double integrate_half_line(F f) {
  const int n = 200000;
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    const double u = (i + 0.5) / n;
    const double t = u / (1.0 - u);
    total += f(t) / ((1.0 - u) * (1.0 - u)) / n;
  }
  return total;
}

}  // namespace

TEST(Distribution, QuantileInvertsCdf) {
  for (const auto& d : all_builtins())
    for (double p : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99}) EXPECT_NEAR(d->cdf(d->quantile(p)), p, 1e-9) << d->type_name();
}

TEST(Distribution, SurvivalIsOneMinusCdf) {
  for (const auto& d : all_builtins())
    for (double t : {0.0, 0.3, 1.0, 2.5, 7.0, 30.0}) EXPECT_NEAR(d->survival(t) + d->cdf(t), 1.0, 1e-12) << d->type_name();
}

TEST(Distribution, DensityIntegratesToCdf) {
  for (const auto& d : all_builtins()) {
    // integral of pdf over [0, x] by a fine midpoint rule equals cdf(x)
    const double x = d->quantile(0.8);
    const int n = 200000;
    double total = 0.0;
    for (int i = 0; i < n; ++i) total += d->pdf((i + 0.5) * x / n) * x / n;
    // 1e-3: the Weibull with shape < 1 has an (integrable) infinite density at 0
    EXPECT_NEAR(total, d->cdf(x), 1e-3) << d->type_name();
  }
}

TEST(Distribution, MomentsMatchSurvivalIntegrals) {
  // E[T] = int S(t) dt and E[T^2] = int 2 t S(t) dt, independent of the closed forms.
  for (const auto& d : all_builtins()) {
    const double mean = integrate_half_line([&](double t) { return d->survival(t); });
    const double second = integrate_half_line([&](double t) { return 2.0 * t * d->survival(t); });
    EXPECT_NEAR(d->mean(), mean, 1e-4 * std::max(1.0, mean)) << d->type_name();
    EXPECT_NEAR(d->second_moment(), second, 2e-3 * std::max(1.0, second)) << d->type_name();
  }
}

TEST(Distribution, ClosedForms) {
  EXPECT_DOUBLE_EQ(Exponential(0.25).mean(), 4.0);
  EXPECT_NEAR(LogNormal(0.0, 1.0).quantile(0.5), 1.0, 1e-14);
  EXPECT_NEAR(LogNormal(0.0, 1.0).cdf(std::exp(1.6448536269514722)), 0.95, 1e-12);
  EXPECT_NEAR(Weibull(1.0, 2.0).mean(), 2.0, 1e-14);  // shape 1 is exponential
  EXPECT_NEAR(Gamma(1.0, 3.0).cdf(2.0), Exponential(1.0 / 3.0).cdf(2.0), 1e-14);
  EXPECT_NEAR(Gamma(3.0, 2.0).variance(), 12.0, 1e-12);
  EXPECT_DOUBLE_EQ(Fixed(5.0).quantile(0.3), 5.0);
  EXPECT_DOUBLE_EQ(Fixed(5.0).cdf(4.999), 0.0);
  EXPECT_DOUBLE_EQ(Fixed(5.0).cdf(5.0), 1.0);
}

TEST(Distribution, EmpiricalPointMassAndInterpolation) {
  // 30% at exactly 0 (instant movers), then uniform on [0, 10]
  const Empirical d({0.0, 0.3, 0.3 + 1e-12, 1.0}, {0.0, 0.0, 0.0, 10.0});
  EXPECT_NEAR(d.cdf(0.0), 0.3, 1e-9);
  EXPECT_NEAR(d.cdf(5.0), 0.65, 1e-9);
  EXPECT_NEAR(d.quantile(0.65), 5.0, 1e-9);
  EXPECT_NEAR(d.mean(), 0.7 * 5.0, 1e-9);
}

TEST(Distribution, SamplesMatchMeanAndAreReproducible) {
  for (const auto& d : all_builtins()) {
    Rng a(42), b(42);
    double total = 0.0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      const double x = d->sample(a);
      EXPECT_EQ(x, d->sample(b));
      total += x;
    }
    const double se = std::sqrt(d->variance() / n);
    EXPECT_NEAR(total / n, d->mean(), 5.0 * se) << d->type_name();
  }
}

TEST(Distribution, DefaultMomentsIntegrateTheQuantile) {
  // A distribution that only knows its quantile uses the base class's numerical moments.
  struct QuantileOnly final : Distribution {
    std::string type_name() const override { return "quantile_only"; }
    nlohmann::json params() const override { return nlohmann::json::object(); }
    double cdf(double t) const override { return t <= 0 ? 0.0 : -std::expm1(-t); }
    double pdf(double t) const override { return t < 0 ? 0.0 : std::exp(-t); }
    double quantile(double p) const override { return -std::log1p(-p); }
  };
  QuantileOnly d;
  EXPECT_NEAR(d.mean(), 1.0, 1e-9);
  EXPECT_NEAR(d.second_moment(), 2.0, 1e-8);
}

TEST(Distribution, RejectsBadParameters) {
  EXPECT_THROW(Exponential(0.0), FunnelError);
  EXPECT_THROW(Exponential(-1.0), FunnelError);
  EXPECT_THROW(Exponential(std::nan("")), FunnelError);
  EXPECT_THROW(LogNormal(0.0, 0.0), FunnelError);
  EXPECT_THROW(Weibull(1.0, -2.0), FunnelError);
  EXPECT_THROW(Gamma(std::numeric_limits<double>::infinity(), 1.0), FunnelError);
  EXPECT_THROW(Fixed(-1.0), FunnelError);
  EXPECT_THROW(Empirical({0.0, 0.5}, {1.0, 2.0}), FunnelError);              // does not end at 1
  EXPECT_THROW(Empirical({0.0, 0.5, 1.0}, {3.0, 2.0, 4.0}), FunnelError);    // t decreasing
  EXPECT_THROW((void)Exponential(1.0).quantile(1.5), FunnelError);
  try {
    (void)make_builtin_distribution("weibull", {{"shape", 1.0}});
    FAIL() << "missing scale accepted";
  } catch (const FunnelError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Distribution);
    EXPECT_NE(std::string(e.what()).find("scale"), std::string::npos);
  }
  EXPECT_EQ(make_builtin_distribution("no_such_type", nlohmann::json::object()), nullptr);
}
