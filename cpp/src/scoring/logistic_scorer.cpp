// The fitted logistic model as a lead scorer: log-odds, probabilities and per-feature reasons.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/logistic.hpp"

namespace funnelkit::scoring {

namespace {

double sigmoid(double t) noexcept {
  if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

/// The level a categorical column's value names, or −1 for an unseen one.
std::ptrdiff_t level_of(double code, std::size_t levels) noexcept {
  if (!(code >= 0.0) || code >= static_cast<double>(levels) || code != std::floor(code)) return -1;
  return static_cast<std::ptrdiff_t>(code);
}

}  // namespace

LogisticScorer::LogisticScorer(std::vector<std::string> features, std::vector<std::size_t> levels,
                               std::vector<double> coefficients, double intercept, std::vector<double> means,
                               std::vector<double> scales)
    : features_(std::move(features)), levels_(std::move(levels)), coefficients_(std::move(coefficients)),
      intercept_(intercept), means_(std::move(means)), scales_(std::move(scales)) {
  if (levels_.size() != features_.size())
    throw FunnelError(ErrorKind::ScorerFormat, "logistic scorer: one level count per feature is needed", "levels");
  offset_.resize(features_.size());
  std::size_t width = 0;
  for (std::size_t j = 0; j < features_.size(); ++j) {
    offset_[j] = width;
    width += levels_[j] == 0 ? 1 : levels_[j];
  }
  if (coefficients_.size() != width || means_.size() != width || scales_.size() != width)
    throw FunnelError(ErrorKind::ScorerFormat,
                      "logistic scorer: the features need " + std::to_string(width) +
                          " coefficients, means and scales; the parameters hold " + std::to_string(coefficients_.size()) +
                          ", " + std::to_string(means_.size()) + " and " + std::to_string(scales_.size()),
                      "coefficients");
  if (!std::isfinite(intercept_))
    throw FunnelError(ErrorKind::ScorerFormat, "logistic scorer: the intercept is not finite", "intercept");
  for (std::size_t k = 0; k < width; ++k)
    if (!std::isfinite(coefficients_[k]) || !std::isfinite(means_[k]))
      throw FunnelError(ErrorKind::ScorerFormat, "logistic scorer: non-finite coefficient or mean", "coefficients");
  centre_.assign(features_.size(), 0.0);
  baseline_ = intercept_;
  for (std::size_t j = 0; j < features_.size(); ++j) {
    const std::size_t count = levels_[j] == 0 ? 1 : levels_[j];
    for (std::size_t k = 0; k < count; ++k) centre_[j] += coefficients_[offset_[j] + k] * means_[offset_[j] + k];
    baseline_ += centre_[j];
  }
}

LogisticScorer LogisticScorer::from_params(const nlohmann::json& params) {
  try {
    return LogisticScorer(params.at("features").get<std::vector<std::string>>(),
                          params.at("levels").get<std::vector<std::size_t>>(),
                          params.at("coefficients").get<std::vector<double>>(), params.at("intercept").get<double>(),
                          params.at("means").get<std::vector<double>>(), params.at("scales").get<std::vector<double>>());
  } catch (const nlohmann::json::exception& error) {
    throw FunnelError(ErrorKind::ScorerFormat, std::string("logistic scorer parameters: ") + error.what(), "params");
  }
}

nlohmann::json LogisticScorer::params() const {
  return {{"features", features_}, {"levels", levels_},  {"coefficients", coefficients_},
          {"intercept", intercept_}, {"means", means_}, {"scales", scales_}};
}

void LogisticScorer::check(const FeatureMatrix& features) const {
  if (features.cols() != features_.size())
    throw FunnelError(ErrorKind::MissingFeature,
                      "the logistic scorer reads " + std::to_string(features_.size()) + " features, given " +
                          std::to_string(features.cols()));
  for (std::size_t j = 0; j < features_.size(); ++j)
    if (features.columns[j].size() < features.rows)
      throw std::invalid_argument("feature column " + features_[j] + " is shorter than the rows");
}

void LogisticScorer::decision(const FeatureMatrix& features, std::span<double> out) const {
  check(features);
  const std::size_t n = features.rows;
  if (out.size() != n) throw std::invalid_argument("the output needs one entry per row");
  std::fill(out.begin(), out.end(), intercept_);
  for (std::size_t j = 0; j < features_.size(); ++j) {
    const double* column = features.columns[j].data();
    if (levels_[j] == 0) {
      const double w = coefficients_[offset_[j]];
      if (w == 0.0) continue;
      for (std::size_t i = 0; i < n; ++i) out[i] += w * column[i];
    } else {
      const double* w = coefficients_.data() + offset_[j];
      for (std::size_t i = 0; i < n; ++i) {
        const auto level = level_of(column[i], levels_[j]);
        if (level >= 0) out[i] += w[level];
      }
    }
  }
}

void LogisticScorer::score(const FeatureMatrix& features, std::span<double> out) const {
  decision(features, out);
  for (double& v : out) v = sigmoid(v);
}

void LogisticScorer::contributions(const FeatureMatrix& features, std::span<double> out) const {
  check(features);
  const std::size_t n = features.rows;
  const std::size_t f = features_.size();
  if (out.size() != n * f) throw std::invalid_argument("the output needs rows x features entries");
  for (std::size_t j = 0; j < f; ++j) {
    const double* column = features.columns[j].data();
    if (levels_[j] == 0) {
      const double w = coefficients_[offset_[j]];
      const double mean = means_[offset_[j]];
      for (std::size_t i = 0; i < n; ++i) out[i * f + j] = w * (column[i] - mean);
    } else {
      const double* w = coefficients_.data() + offset_[j];
      for (std::size_t i = 0; i < n; ++i) {
        const auto level = level_of(column[i], levels_[j]);
        out[i * f + j] = (level >= 0 ? w[level] : 0.0) - centre_[j];
      }
    }
  }
}

}  // namespace funnelkit::scoring
