#pragma once
/// \file Maximum-likelihood fits of observed durations, and the interval helpers of a fit.
///
/// A transition is only seen when it happens within the conversion window W, so its observed
/// durations are a sample truncated at W: the likelihoods divide by the probability of a
/// duration below W (F(W)). With W far beyond every duration this changes nothing; with W near
/// them it removes the bias towards short durations that an untruncated fit would have.

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace funnelkit::events {

struct DurationFit {
  std::string family;          ///< "exponential" or "lognormal"
  std::vector<double> params;  ///< exponential: {mean}; lognormal: {mu, sigma} (of log duration)
  std::vector<double> lower;   ///< Wald intervals at the requested level (on the log scale for
  std::vector<double> upper;   ///< the mean and sigma, so they stay positive)
  double log_likelihood = -std::numeric_limits<double>::infinity();
  double aic = std::numeric_limits<double>::infinity();  ///< 2 * parameters - 2 * log-likelihood
  std::size_t sample_size = 0;
  bool available = false;  ///< false without data (or, for the log-normal, with durations <= 0)
};

/// Exponential durations truncated at `truncation` (infinity: none).
[[nodiscard]] DurationFit fit_exponential(std::span<const double> durations, double truncation, double level);
/// Log-normal durations truncated at `truncation` (infinity: none); needs every duration > 0.
[[nodiscard]] DurationFit fit_lognormal(std::span<const double> durations, double truncation, double level);

/// The `p` quantile of a Beta(a, b) distribution (a, b > 0).
[[nodiscard]] double beta_quantile(double a, double b, double p);

}  // namespace funnelkit::events
