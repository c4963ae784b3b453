#pragma once
/// \file Holding-time distributions: how long a lead stays in a stage (or takes over an edge).
///
/// One abstract interface serves the analytics (mean, second moment), lead scoring (survival,
/// density) and simulation (quantile, sample). Built-ins are final classes on the fast path;
/// Python subclasses reach the engine through a pybind11 trampoline (see docs/architecture.md).

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/random.hpp"
#include "funnelkit/model/extension.hpp"

namespace funnelkit::model {

class Distribution {
 public:
  virtual ~Distribution() = default;

  /// Name used in JSON ("exponential", or the name a Python extension registered).
  [[nodiscard]] virtual std::string type_name() const = 0;
  /// Parameters as a JSON object; with type_name() it rebuilds the distribution exactly.
  [[nodiscard]] virtual nlohmann::json params() const = 0;

  [[nodiscard]] virtual double cdf(double t) const = 0;
  [[nodiscard]] virtual double survival(double t) const { return 1.0 - cdf(t); }
  [[nodiscard]] virtual double pdf(double t) const = 0;
  /// Inverse CDF for p in [0, 1].
  [[nodiscard]] virtual double quantile(double p) const = 0;
  /// Inverse survival: the t with survival(t) = q, for q in [0, 1] (SciPy's isf). The default
  /// is quantile(1 - q), which loses the far tail (q below ~1e-16 rounds to the upper end);
  /// built-ins invert the survival directly, so conditional draws deep in a tail stay exact.
  [[nodiscard]] virtual double inverse_survival(double q) const { return quantile(1.0 - q); }
  /// E[T]. The default integrates the quantile function numerically.
  [[nodiscard]] virtual double mean() const;
  /// E[T^2], needed for the variance of the time to convert. Default: numerical integration.
  [[nodiscard]] virtual double second_moment() const;
  /// One draw; the default is the inverse transform of one uniform, which keeps Python
  /// extensions reproducible because the random stream stays in C++.
  [[nodiscard]] virtual double sample(Rng& rng) const { return quantile(rng.uniform01()); }

  [[nodiscard]] double variance() const;
};

using DistributionPtr = std::shared_ptr<const Distribution>;

template <>
struct ExtensionKind<Distribution> {
  static constexpr std::string_view name = "distribution";
};

class Exponential final : public Distribution {
 public:
  explicit Exponential(double rate);
  std::string type_name() const override { return "exponential"; }
  nlohmann::json params() const override { return {{"rate", rate_}}; }
  double cdf(double t) const override;
  double survival(double t) const override;
  double pdf(double t) const override;
  double quantile(double p) const override;
  double inverse_survival(double q) const override;
  double mean() const override { return 1.0 / rate_; }
  double second_moment() const override { return 2.0 / (rate_ * rate_); }
  double sample(Rng& rng) const override;
  [[nodiscard]] double rate() const noexcept { return rate_; }

 private:
  double rate_;
};

/// log T ~ Normal(mu, sigma).
class LogNormal final : public Distribution {
 public:
  LogNormal(double mu, double sigma);
  std::string type_name() const override { return "lognormal"; }
  nlohmann::json params() const override { return {{"mu", mu_}, {"sigma", sigma_}}; }
  double cdf(double t) const override;
  double survival(double t) const override;
  double pdf(double t) const override;
  double quantile(double p) const override;
  double inverse_survival(double q) const override;
  double mean() const override;
  double second_moment() const override;
  [[nodiscard]] double mu() const noexcept { return mu_; }
  [[nodiscard]] double sigma() const noexcept { return sigma_; }

 private:
  double mu_;
  double sigma_;
};

/// S(t) = exp(-(t / scale)^shape).
class Weibull final : public Distribution {
 public:
  Weibull(double shape, double scale);
  std::string type_name() const override { return "weibull"; }
  nlohmann::json params() const override { return {{"shape", shape_}, {"scale", scale_}}; }
  double cdf(double t) const override;
  double survival(double t) const override;
  double pdf(double t) const override;
  double quantile(double p) const override;
  double inverse_survival(double q) const override;
  double mean() const override;
  double second_moment() const override;

 private:
  double shape_;
  double scale_;
};

/// Gamma with shape k and scale theta (Erlang delays when k is whole).
class Gamma final : public Distribution {
 public:
  Gamma(double shape, double scale);
  std::string type_name() const override { return "gamma"; }
  nlohmann::json params() const override { return {{"shape", shape_}, {"scale", scale_}}; }
  double cdf(double t) const override;
  double survival(double t) const override;
  double pdf(double t) const override;
  double quantile(double p) const override;
  double inverse_survival(double q) const override;
  double mean() const override { return shape_ * scale_; }
  double second_moment() const override { return shape_ * (shape_ + 1.0) * scale_ * scale_; }

 private:
  double shape_;
  double scale_;
};

/// A deterministic delay (e.g. "the reminder goes out after exactly 20 minutes").
class Fixed final : public Distribution {
 public:
  explicit Fixed(double value);
  std::string type_name() const override { return "fixed"; }
  nlohmann::json params() const override { return {{"value", value_}}; }
  double cdf(double t) const override { return t >= value_ ? 1.0 : 0.0; }
  /// The density of a point mass is not a function; 0 everywhere is returned.
  double pdf(double) const override { return 0.0; }
  double quantile(double p) const override;
  double mean() const override { return value_; }
  double second_moment() const override { return value_ * value_; }
  double sample(Rng&) const override { return value_; }

 private:
  double value_;
};

/// A quantile table: knots (p_k, t_k) with p from 0 to 1, linearly interpolated; i.e. the
/// distribution is a mixture of uniforms on [t_k, t_{k+1}] with weights p_{k+1} - p_k (a point
/// mass where t_k == t_{k+1}). Typically read off observed durations.
class Empirical final : public Distribution {
 public:
  Empirical(std::vector<double> probabilities, std::vector<double> values);
  std::string type_name() const override { return "empirical"; }
  nlohmann::json params() const override { return {{"p", probs_}, {"t", values_}}; }
  double cdf(double t) const override;
  double pdf(double t) const override;
  double quantile(double p) const override;
  double mean() const override;
  double second_moment() const override;

 private:
  std::vector<double> probs_;
  std::vector<double> values_;
};

/// A distribution conditioned on T <= upper: what a delay estimated from durations observed
/// within a window W really is (the fitter's maximum likelihood is truncated at W), so that a
/// lead idle for W or longer puts no weight on moves the window rules out.
/// cdf F(t) / F(U), quantile F^-1(p F(U)), density f(t) / F(U) on [0, U]. Moments are closed
/// forms for exponential and log-normal bases, integrated numerically otherwise.
class Truncated final : public Distribution {
 public:
  /// Throws FunnelError(Distribution) without a base, for an upper bound that is not positive
  /// and finite, or one below which the base has no probability (F(U) = 0).
  Truncated(DistributionPtr base, double upper);
  std::string type_name() const override { return "truncated"; }
  /// {"base": {"type": ..., **params}, "upper": U}: the base nests as a whole distribution.
  nlohmann::json params() const override;
  double cdf(double t) const override;
  double survival(double t) const override;
  double pdf(double t) const override;
  double quantile(double p) const override;
  double inverse_survival(double q) const override;
  double mean() const override;
  double second_moment() const override;
  [[nodiscard]] const DistributionPtr& base() const noexcept { return base_; }
  [[nodiscard]] double upper() const noexcept { return upper_; }

 private:
  DistributionPtr base_;
  double upper_;
  double mass_;           // F(U): the base's probability kept
  double tail_;           // S(U): the base's probability cut off
};

/// Builds a built-in distribution from its type name and parameters; returns nullptr when the
/// type is not built in (the caller may then ask a registered extension). `extensions` builds
/// nested distributions the engine does not know (the base of a "truncated").
/// Throws FunnelError(Distribution) on invalid or missing parameters.
[[nodiscard]] DistributionPtr make_builtin_distribution(const std::string& type,
                                                        const nlohmann::json& params,
                                                        const ExtensionFactories& extensions = {});

}  // namespace funnelkit::model
