#include "funnelkit/model/distribution.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/model/json_io.hpp"

namespace funnelkit::model {
namespace {

// Boost computes double functions in long double by default, several times slower; draws go
// through these on the simulation's hot path and double precision is what we return anyway.
using DoublePolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void require(bool ok, const std::string& type, const std::string& message) {
  if (!ok) throw FunnelError(ErrorKind::Distribution, type + ": " + message, type);
}

bool positive_finite(double x) { return std::isfinite(x) && x > 0.0; }

// On every draw: the message is built only when it is needed.
void check_probability(double p, const char* type) {
  if (!(std::isnan(p) || (p >= 0.0 && p <= 1.0)))
    require(false, type, "quantile needs a probability in [0, 1], got " + std::to_string(p));
}

// Integral of f(quantile(p)) over p in (0, 1) by tanh-sinh quadrature, which copes with the
// singularity at p = 1 that every unbounded distribution has there. Only used for Python
// extensions that do not provide their own moments; nodes stop where 1 - p reaches ~1e-14.
template <class F>
double integrate_quantile(const Distribution& d, F f) {
  constexpr double step = 1.0 / 32.0;
  constexpr int half_width = 96;  // t in [-3, 3]
  double total = 0.0;
  for (int k = -half_width; k <= half_width; ++k) {
    const double t = k * step;
    const double u = 0.5 * std::numbers::pi * std::sinh(t);
    const double cosh_u = std::cosh(u);
    const double weight = 0.25 * std::numbers::pi * std::cosh(t) / (cosh_u * cosh_u);
    total += weight * f(d.quantile(0.5 * (1.0 + std::tanh(u)))) * step;
  }
  return total;
}

double standard_normal_cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

}  // namespace

double Distribution::mean() const {
  return integrate_quantile(*this, [](double t) { return t; });
}

double Distribution::second_moment() const {
  return integrate_quantile(*this, [](double t) { return t * t; });
}

double Distribution::variance() const {
  const double m = mean();
  return std::max(0.0, second_moment() - m * m);
}

// ---------------------------------------------------------------- Exponential
Exponential::Exponential(double rate) : rate_(rate) {
  require(positive_finite(rate), "exponential", "rate must be positive and finite, got " + std::to_string(rate));
}
double Exponential::cdf(double t) const { return t <= 0.0 ? (std::isnan(t) ? kNaN : 0.0) : -std::expm1(-rate_ * t); }
double Exponential::survival(double t) const { return t <= 0.0 ? (std::isnan(t) ? kNaN : 1.0) : std::exp(-rate_ * t); }
double Exponential::pdf(double t) const { return t < 0.0 ? 0.0 : rate_ * std::exp(-rate_ * t); }
double Exponential::quantile(double p) const {
  check_probability(p, "exponential");
  return -std::log1p(-p) / rate_;
}
double Exponential::inverse_survival(double q) const {
  check_probability(q, "exponential");
  return -std::log(q) / rate_;
}
double Exponential::sample(Rng& rng) const { return -std::log(rng.uniform01()) / rate_; }

// ---------------------------------------------------------------- LogNormal
LogNormal::LogNormal(double mu, double sigma) : mu_(mu), sigma_(sigma) {
  require(std::isfinite(mu), "lognormal", "mu must be finite, got " + std::to_string(mu));
  require(positive_finite(sigma), "lognormal", "sigma must be positive and finite, got " + std::to_string(sigma));
}
double LogNormal::cdf(double t) const {
  if (std::isnan(t)) return kNaN;
  return t <= 0.0 ? 0.0 : standard_normal_cdf((std::log(t) - mu_) / sigma_);
}
double LogNormal::survival(double t) const {
  if (std::isnan(t)) return kNaN;
  return t <= 0.0 ? 1.0 : standard_normal_cdf(-(std::log(t) - mu_) / sigma_);
}
double LogNormal::pdf(double t) const {
  if (!(t > 0.0)) return std::isnan(t) ? kNaN : 0.0;
  const double z = (std::log(t) - mu_) / sigma_;
  return std::exp(-0.5 * z * z) / (t * sigma_ * std::sqrt(2.0 * std::numbers::pi));
}
double LogNormal::quantile(double p) const {
  check_probability(p, "lognormal");
  if (std::isnan(p)) return kNaN;
  if (p <= 0.0) return 0.0;
  if (p >= 1.0) return kInf;
  const double z = -std::numbers::sqrt2 * boost::math::erfc_inv(2.0 * p, DoublePolicy());
  return std::exp(mu_ + sigma_ * z);
}
double LogNormal::inverse_survival(double q) const {
  check_probability(q, "lognormal");
  if (std::isnan(q)) return kNaN;
  if (q <= 0.0) return kInf;
  if (q >= 1.0) return 0.0;
  return std::exp(mu_ + sigma_ * std::numbers::sqrt2 * boost::math::erfc_inv(2.0 * q, DoublePolicy()));
}
double LogNormal::mean() const { return std::exp(mu_ + 0.5 * sigma_ * sigma_); }
double LogNormal::second_moment() const { return std::exp(2.0 * mu_ + 2.0 * sigma_ * sigma_); }

// ---------------------------------------------------------------- Weibull
Weibull::Weibull(double shape, double scale) : shape_(shape), scale_(scale) {
  require(positive_finite(shape), "weibull", "shape must be positive and finite, got " + std::to_string(shape));
  require(positive_finite(scale), "weibull", "scale must be positive and finite, got " + std::to_string(scale));
}
double Weibull::cdf(double t) const {
  if (std::isnan(t)) return kNaN;
  return t <= 0.0 ? 0.0 : -std::expm1(-std::pow(t / scale_, shape_));
}
double Weibull::survival(double t) const {
  if (std::isnan(t)) return kNaN;
  return t <= 0.0 ? 1.0 : std::exp(-std::pow(t / scale_, shape_));
}
double Weibull::pdf(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t < 0.0) return 0.0;
  if (t == 0.0) return shape_ < 1.0 ? kInf : (shape_ == 1.0 ? 1.0 / scale_ : 0.0);
  const double x = t / scale_;
  return shape_ / scale_ * std::pow(x, shape_ - 1.0) * std::exp(-std::pow(x, shape_));
}
double Weibull::quantile(double p) const {
  check_probability(p, "weibull");
  return scale_ * std::pow(-std::log1p(-p), 1.0 / shape_);
}
double Weibull::inverse_survival(double q) const {
  check_probability(q, "weibull");
  return scale_ * std::pow(-std::log(q), 1.0 / shape_);
}
double Weibull::mean() const { return scale_ * std::tgamma(1.0 + 1.0 / shape_); }
double Weibull::second_moment() const { return scale_ * scale_ * std::tgamma(1.0 + 2.0 / shape_); }

// ---------------------------------------------------------------- Gamma
Gamma::Gamma(double shape, double scale) : shape_(shape), scale_(scale) {
  require(positive_finite(shape), "gamma", "shape must be positive and finite, got " + std::to_string(shape));
  require(positive_finite(scale), "gamma", "scale must be positive and finite, got " + std::to_string(scale));
}
double Gamma::cdf(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t <= 0.0) return 0.0;
  if (std::isinf(t)) return 1.0;
  return boost::math::gamma_p(shape_, t / scale_);
}
double Gamma::survival(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t <= 0.0) return 1.0;
  if (std::isinf(t)) return 0.0;
  return boost::math::gamma_q(shape_, t / scale_);
}
double Gamma::pdf(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t < 0.0 || std::isinf(t)) return 0.0;
  if (t == 0.0) return shape_ < 1.0 ? kInf : (shape_ == 1.0 ? 1.0 / scale_ : 0.0);
  return boost::math::gamma_p_derivative(shape_, t / scale_) / scale_;
}
double Gamma::quantile(double p) const {
  check_probability(p, "gamma");
  if (std::isnan(p)) return kNaN;
  if (p <= 0.0) return 0.0;
  if (p >= 1.0) return kInf;
  return scale_ * boost::math::gamma_p_inv(shape_, p);
}

double Gamma::inverse_survival(double q) const {
  check_probability(q, "gamma");
  if (std::isnan(q)) return kNaN;
  if (q <= 0.0) return kInf;
  if (q >= 1.0) return 0.0;
  return scale_ * boost::math::gamma_q_inv(shape_, q);
}

// ---------------------------------------------------------------- Fixed
Fixed::Fixed(double value) : value_(value) {
  require(std::isfinite(value) && value >= 0.0, "fixed",
          "value must be finite and >= 0, got " + std::to_string(value));
}
double Fixed::quantile(double p) const {
  check_probability(p, "fixed");
  return std::isnan(p) ? kNaN : value_;
}

// ---------------------------------------------------------------- Empirical
Empirical::Empirical(std::vector<double> probabilities, std::vector<double> values)
    : probs_(std::move(probabilities)), values_(std::move(values)) {
  require(probs_.size() == values_.size(), "empirical", "p and t must have the same length");
  require(probs_.size() >= 2, "empirical", "needs at least two knots (p = 0 and p = 1)");
  require(probs_.front() == 0.0 && probs_.back() == 1.0, "empirical",
          "the quantile table must start at p = 0 and end at p = 1");
  for (std::size_t k = 0; k < probs_.size(); ++k) {
    require(std::isfinite(probs_[k]) && std::isfinite(values_[k]), "empirical", "p and t must be finite");
    require(values_[k] >= 0.0, "empirical", "durations t must be >= 0");
    if (k > 0) {
      require(probs_[k] > probs_[k - 1], "empirical", "p must be strictly increasing");
      require(values_[k] >= values_[k - 1], "empirical", "t must be non-decreasing");
    }
  }
}
double Empirical::cdf(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t < values_.front()) return 0.0;
  if (t >= values_.back()) return 1.0;
  // Last knot with value <= t; a flat run (point mass) is passed entirely.
  const auto it = std::upper_bound(values_.begin(), values_.end(), t);
  const auto k = static_cast<std::size_t>(it - values_.begin()) - 1;
  const double span = values_[k + 1] - values_[k];
  return probs_[k] + (probs_[k + 1] - probs_[k]) * (t - values_[k]) / span;
}
double Empirical::pdf(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t < values_.front() || t >= values_.back()) return 0.0;
  const auto it = std::upper_bound(values_.begin(), values_.end(), t);
  const auto k = static_cast<std::size_t>(it - values_.begin()) - 1;
  return (probs_[k + 1] - probs_[k]) / (values_[k + 1] - values_[k]);
}
double Empirical::quantile(double p) const {
  check_probability(p, "empirical");
  if (std::isnan(p)) return kNaN;
  const auto it = std::upper_bound(probs_.begin(), probs_.end(), p);
  if (it == probs_.end()) return values_.back();
  const auto k = static_cast<std::size_t>(it - probs_.begin()) - 1;
  const double w = (p - probs_[k]) / (probs_[k + 1] - probs_[k]);
  return values_[k] + w * (values_[k + 1] - values_[k]);
}
double Empirical::mean() const {
  double total = 0.0;
  for (std::size_t k = 0; k + 1 < probs_.size(); ++k)
    total += (probs_[k + 1] - probs_[k]) * 0.5 * (values_[k] + values_[k + 1]);
  return total;
}
double Empirical::second_moment() const {
  double total = 0.0;
  for (std::size_t k = 0; k + 1 < probs_.size(); ++k) {
    const double a = values_[k];
    const double b = values_[k + 1];
    total += (probs_[k + 1] - probs_[k]) * (a * a + a * b + b * b) / 3.0;
  }
  return total;
}

// ---------------------------------------------------------------- Truncated
Truncated::Truncated(DistributionPtr base, double upper) : base_(std::move(base)), upper_(upper) {
  require(base_ != nullptr, "truncated", "needs a base distribution");
  require(positive_finite(upper), "truncated", "upper must be positive and finite, got " + std::to_string(upper));
  mass_ = base_->cdf(upper);
  tail_ = base_->survival(upper);
  require(std::isfinite(mass_) && mass_ > 0.0, "truncated",
          "the base " + base_->type_name() + " has no probability below upper = " + std::to_string(upper));
  mass_ = std::min(mass_, 1.0);
  tail_ = std::clamp(tail_, 0.0, 1.0);
}
nlohmann::json Truncated::params() const { return {{"base", distribution_to_json(*base_)}, {"upper", upper_}}; }
double Truncated::cdf(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t >= upper_) return 1.0;
  return std::clamp(base_->cdf(t) / mass_, 0.0, 1.0);
}
double Truncated::survival(double t) const {
  if (std::isnan(t)) return kNaN;
  if (t >= upper_) return 0.0;
  // (F(U) - F(t)) / F(U), from whichever side of the base keeps the digits: its cdf when
  // little is kept, its survival when the cut-off tail is small.
  const double kept = mass_ < 0.5 ? mass_ - base_->cdf(t) : base_->survival(t) - tail_;
  return std::clamp(kept / mass_, 0.0, 1.0);
}
double Truncated::pdf(double t) const {
  if (std::isnan(t)) return kNaN;
  return t > upper_ ? 0.0 : base_->pdf(t) / mass_;
}
double Truncated::quantile(double p) const {
  check_probability(p, "truncated");
  if (std::isnan(p)) return kNaN;
  if (p >= 1.0) return upper_;
  return std::min(base_->quantile(p * mass_), upper_);
}
double Truncated::inverse_survival(double q) const {
  check_probability(q, "truncated");
  if (std::isnan(q)) return kNaN;
  if (q <= 0.0) return upper_;
  if (mass_ < 0.5) return std::min(base_->quantile(mass_ * (1.0 - q)), upper_);
  return std::min(base_->inverse_survival(std::min(1.0, q * mass_ + tail_)), upper_);
}
double Truncated::mean() const {
  if (const auto* e = dynamic_cast<const Exponential*>(base_.get())) {
    // E[T | T <= U] = (1 - x / (e^x - 1)) / rate with x = rate U; below x = 0.1 the
    // difference cancels and the quadrature of the quantile is the more accurate.
    const double x = e->rate() * upper_;
    if (x >= 0.1) return (1.0 - x / std::expm1(x)) / e->rate();
  } else if (const auto* l = dynamic_cast<const LogNormal*>(base_.get())) {
    // E[T; T <= U] = exp(mu + sigma^2 / 2) Phi((log U - mu - sigma^2) / sigma).
    const double s2 = l->sigma() * l->sigma();
    const double z = (std::log(upper_) - l->mu() - s2) / l->sigma();
    if (mass_ > 1e-300) return std::min(upper_, std::exp(l->mu() + 0.5 * s2) * standard_normal_cdf(z) / mass_);
  }
  return Distribution::mean();
}
double Truncated::second_moment() const {
  if (const auto* e = dynamic_cast<const Exponential*>(base_.get())) {
    // E[T^2 | T <= U] = (2 - e^-x (x^2 + 2x + 2)) / (rate^2 (1 - e^-x)), x = rate U.
    const double x = e->rate() * upper_;
    if (x >= 0.1)
      return (2.0 - std::exp(-x) * (x * x + 2.0 * x + 2.0)) / (-std::expm1(-x) * e->rate() * e->rate());
  } else if (const auto* l = dynamic_cast<const LogNormal*>(base_.get())) {
    // E[T^2; T <= U] = exp(2 mu + 2 sigma^2) Phi((log U - mu - 2 sigma^2) / sigma).
    const double s2 = l->sigma() * l->sigma();
    const double z = (std::log(upper_) - l->mu() - 2.0 * s2) / l->sigma();
    if (mass_ > 1e-300)
      return std::min(upper_ * upper_, std::exp(2.0 * l->mu() + 2.0 * s2) * standard_normal_cdf(z) / mass_);
  }
  return Distribution::second_moment();
}

// ---------------------------------------------------------------- factory
namespace {

double number(const nlohmann::json& params, const std::string& type, const char* key) {
  const auto it = params.find(key);
  require(it != params.end(), type, std::string("missing parameter '") + key + "'");
  require(it->is_number(), type, std::string("parameter '") + key + "' must be a number");
  return it->get<double>();
}

std::vector<double> numbers(const nlohmann::json& params, const std::string& type, const char* key) {
  const auto it = params.find(key);
  require(it != params.end() && it->is_array(), type, std::string("parameter '") + key + "' must be a list of numbers");
  std::vector<double> out;
  for (const auto& v : *it) {
    require(v.is_number(), type, std::string("parameter '") + key + "' must be a list of numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

void only_keys(const nlohmann::json& params, const std::string& type, std::initializer_list<const char*> keys) {
  for (const auto& [key, _] : params.items()) {
    const bool known = std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
    require(known, type, "unknown parameter '" + key + "'");
  }
}

}  // namespace

DistributionPtr make_builtin_distribution(const std::string& type, const nlohmann::json& params,
                                          const ExtensionFactories& extensions) {
  require(params.is_object(), type, "parameters must be a JSON object");
  if (type == "exponential") {
    // Either the rate or the mean (the friendlier figure for analysts), not both.
    only_keys(params, type, {"rate", "mean"});
    const bool has_rate = params.contains("rate");
    require(has_rate != params.contains("mean"), type, "give exactly one of 'rate' or 'mean'");
    if (has_rate) return std::make_shared<Exponential>(number(params, type, "rate"));
    const double m = number(params, type, "mean");
    require(positive_finite(m), type, "mean must be positive and finite, got " + std::to_string(m));
    return std::make_shared<Exponential>(1.0 / m);
  }
  if (type == "lognormal") {
    only_keys(params, type, {"mu", "sigma"});
    return std::make_shared<LogNormal>(number(params, type, "mu"), number(params, type, "sigma"));
  }
  if (type == "weibull") {
    only_keys(params, type, {"shape", "scale"});
    return std::make_shared<Weibull>(number(params, type, "shape"), number(params, type, "scale"));
  }
  if (type == "gamma") {
    only_keys(params, type, {"shape", "scale"});
    return std::make_shared<Gamma>(number(params, type, "shape"), number(params, type, "scale"));
  }
  if (type == "fixed") {
    only_keys(params, type, {"value"});
    return std::make_shared<Fixed>(number(params, type, "value"));
  }
  if (type == "empirical") {
    only_keys(params, type, {"p", "t"});
    return std::make_shared<Empirical>(numbers(params, type, "p"), numbers(params, type, "t"));
  }
  if (type == "truncated") {
    only_keys(params, type, {"base", "upper"});
    const auto base = params.find("base");
    require(base != params.end(), type, "missing parameter 'base'");
    return std::make_shared<Truncated>(distribution_from_json(*base, extensions, "base"), number(params, type, "upper"));
  }
  return nullptr;
}

}  // namespace funnelkit::model
