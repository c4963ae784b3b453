#include "funnelkit/events/duration_fit.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <stdexcept>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/beta.hpp>

namespace funnelkit::events {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double normal_quantile(double p) { return boost::math::quantile(boost::math::normal_distribution<double>(), p); }

/// log Phi(z), accurate in the lower tail too.
double log_normal_cdf(double z) {
  if (z < -5.0) return std::log(0.5 * std::erfc(-z / std::numbers::sqrt2));
  return std::log1p(-0.5 * std::erfc(z / std::numbers::sqrt2));
}

/// Nelder-Mead on two parameters: small, derivative-free, enough for a smooth log-likelihood.
std::array<double, 2> maximise(const std::function<double(const std::array<double, 2>&)>& f, std::array<double, 2> start,
                               double step) {
  std::array<std::array<double, 2>, 3> x{start, {start[0] + step, start[1]}, {start[0], start[1] + step}};
  std::array<double, 3> v{};
  for (std::size_t i = 0; i < 3; ++i) v[i] = -f(x[i]);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::array<std::size_t, 3> order{0, 1, 2};
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    const auto best = order[0], middle = order[1], worst = order[2];
    if (std::abs(v[worst] - v[best]) < 1e-12 * (1.0 + std::abs(v[best])) &&
        std::abs(x[worst][0] - x[best][0]) + std::abs(x[worst][1] - x[best][1]) < 1e-10)
      break;
    const std::array<double, 2> centre{(x[best][0] + x[middle][0]) / 2, (x[best][1] + x[middle][1]) / 2};
    const auto along = [&](double t) {
      return std::array<double, 2>{centre[0] + t * (x[worst][0] - centre[0]), centre[1] + t * (x[worst][1] - centre[1])};
    };
    const auto reflected = along(-1.0);
    const double vr = -f(reflected);
    if (vr < v[best]) {
      const auto expanded = along(-2.0);
      const double ve = -f(expanded);
      if (ve < vr) {
        x[worst] = expanded, v[worst] = ve;
      } else {
        x[worst] = reflected, v[worst] = vr;
      }
    } else if (vr < v[middle]) {
      x[worst] = reflected, v[worst] = vr;
    } else {
      const auto contracted = along(vr < v[worst] ? -0.5 : 0.5);
      const double vc = -f(contracted);
      if (vc < std::min(vr, v[worst])) {
        x[worst] = contracted, v[worst] = vc;
      } else {  // shrink towards the best point
        for (const auto i : {middle, worst}) {
          x[i] = {x[best][0] + (x[i][0] - x[best][0]) / 2, x[best][1] + (x[i][1] - x[best][1]) / 2};
          v[i] = -f(x[i]);
        }
      }
    }
  }
  const auto best = static_cast<std::size_t>(std::min_element(v.begin(), v.end()) - v.begin());
  return x[best];
}

/// Inverse of the negative Hessian of f at x (central differences): the Wald covariance.
std::array<double, 4> wald_covariance(const std::function<double(const std::array<double, 2>&)>& f,
                                      const std::array<double, 2>& x) {
  const double h = 1e-4;
  const auto at = [&](double d0, double d1) { return f({x[0] + d0, x[1] + d1}); };
  const double f0 = at(0, 0);
  const double a = -(at(h, 0) - 2 * f0 + at(-h, 0)) / (h * h);
  const double d = -(at(0, h) - 2 * f0 + at(0, -h)) / (h * h);
  const double b = -(at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h);
  const double det = a * d - b * b;
  if (!(det > 0) || !(a > 0)) return {kInf, 0, 0, kInf};
  return {d / det, -b / det, -b / det, a / det};
}

void check(std::span<const double> durations, double truncation, double level) {
  if (!(level > 0 && level < 1)) throw std::invalid_argument("duration fit: level must be in (0, 1)");
  if (!(truncation > 0)) throw std::invalid_argument("duration fit: the truncation point must be positive");
  for (const double d : durations) {
    if (!(d >= 0) || d > truncation) throw std::invalid_argument("duration fit: durations must lie in [0, truncation]");
  }
}

}  // namespace

DurationFit fit_exponential(std::span<const double> durations, double truncation, double level) {
  check(durations, truncation, level);
  DurationFit fit;
  fit.family = "exponential";
  fit.sample_size = durations.size();
  if (durations.empty()) return fit;
  const double n = static_cast<double>(durations.size());
  double sum = 0;
  for (const double d : durations) sum += d;
  const double average = sum / n;
  if (!(average > 0)) return fit;
  // log-likelihood in theta = log(mean), truncated at W: -n theta - S / m - n log(1 - exp(-W / m)).
  const auto loglik = [&](double theta) {
    const double m = std::exp(theta);
    double value = -n * theta - sum / m;
    if (std::isfinite(truncation)) value -= n * std::log(-std::expm1(-truncation / m));
    return value;
  };
  double theta = std::log(average);
  if (std::isfinite(truncation)) {
    // The score is zero where average = m - W / (exp(W / m) - 1), increasing in m from 0 to W / 2.
    if (average >= truncation / 2) return fit;  // no maximum: durations look uniform on [0, W]
    const auto mean_below = [&](double m) { return m - truncation / std::expm1(truncation / m); };
    double lo = std::log(average) - 1.0, hi = std::log(average);
    while (mean_below(std::exp(hi)) < average) hi += 1.0;
    while (mean_below(std::exp(lo)) > average) lo -= 1.0;
    for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
      const double mid = (lo + hi) / 2;
      (mean_below(std::exp(mid)) < average ? lo : hi) = mid;
    }
    theta = (lo + hi) / 2;
  }
  const double h = 1e-4;
  const double information = -(loglik(theta + h) - 2 * loglik(theta) + loglik(theta - h)) / (h * h);
  const double se = information > 0 ? 1 / std::sqrt(information) : kInf;
  const double z = normal_quantile(0.5 + level / 2);
  fit.params = {std::exp(theta)};
  fit.lower = {std::exp(theta - z * se)};
  fit.upper = {std::exp(theta + z * se)};
  fit.log_likelihood = loglik(theta);
  fit.aic = 2.0 - 2.0 * fit.log_likelihood;
  fit.available = true;
  return fit;
}

DurationFit fit_lognormal(std::span<const double> durations, double truncation, double level) {
  check(durations, truncation, level);
  DurationFit fit;
  fit.family = "lognormal";
  fit.sample_size = durations.size();
  if (durations.size() < 2) return fit;
  double s1 = 0, s2 = 0;  // sums of log durations and of their squares: sufficient statistics
  for (const double d : durations) {
    if (!(d > 0)) return fit;
    const double x = std::log(d);
    s1 += x;
    s2 += x * x;
  }
  const double n = static_cast<double>(durations.size());
  const double log_w = std::log(truncation);
  // log-likelihood in (mu, log sigma), truncated at W.
  const auto loglik = [&](const std::array<double, 2>& p) {
    const double mu = p[0], sigma = std::exp(p[1]);
    const double squares = s2 - 2 * mu * s1 + n * mu * mu;
    double value = -n * p[1] - squares / (2 * sigma * sigma) - s1 - n * 0.5 * std::log(2 * std::numbers::pi);
    if (std::isfinite(truncation)) value -= n * log_normal_cdf((log_w - mu) / sigma);
    return value;
  };
  const double mu0 = s1 / n;
  const double var0 = std::max(s2 / n - mu0 * mu0, 1e-24);
  if (var0 <= 1e-24) return fit;  // all durations equal: no spread to fit
  std::array<double, 2> best{mu0, 0.5 * std::log(var0)};
  if (std::isfinite(truncation)) best = maximise(loglik, best, 0.1);
  const auto covariance = wald_covariance(loglik, best);
  const double z = normal_quantile(0.5 + level / 2);
  const double se_mu = std::sqrt(covariance[0]), se_log_sigma = std::sqrt(covariance[3]);
  fit.params = {best[0], std::exp(best[1])};
  fit.lower = {best[0] - z * se_mu, std::exp(best[1] - z * se_log_sigma)};
  fit.upper = {best[0] + z * se_mu, std::exp(best[1] + z * se_log_sigma)};
  fit.log_likelihood = loglik(best);
  fit.aic = 4.0 - 2.0 * fit.log_likelihood;
  fit.available = std::isfinite(fit.log_likelihood);
  return fit;
}

double beta_quantile(double a, double b, double p) {
  if (!(a > 0 && b > 0 && p >= 0 && p <= 1)) throw std::invalid_argument("beta_quantile: needs a, b > 0 and p in [0, 1]");
  return boost::math::ibeta_inv(a, b, p);
}

}  // namespace funnelkit::events
