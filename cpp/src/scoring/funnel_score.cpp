#include "funnelkit/scoring/funnel_score.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::scoring {
namespace {

constexpr std::size_t kBlock = 4096;

[[noreturn]] void bad_value(const std::string& feature, const std::string& message) {
  throw FunnelError(ErrorKind::FeatureValue, "feature '" + feature + "': " + message, feature);
}

// Mixes per-target numbers with weights over a row.
FunnelLeadScore mix(std::span<const markov::Transition> row, std::span<const double> weights,
                    const std::vector<double>& success, const std::vector<double>& entering) {
  FunnelLeadScore out;
  for (std::size_t j = 0; j < row.size(); ++j) {
    out.purchase += weights[j] * success[row[j].to];
    out.revenue += weights[j] * entering[row[j].to];
  }
  out.purchase = std::clamp(out.purchase, 0.0, 1.0);
  return out;
}

std::vector<std::int64_t> codes_of(std::span<const double> column) {
  std::vector<std::int64_t> out(column.size());
  for (std::size_t i = 0; i < column.size(); ++i) {
    const double c = column[i];
    if (!(std::isfinite(c) && c == std::floor(c) && c >= -2.0 && c < 9.2e18))
      bad_value("stage", "row " + std::to_string(i) + " has stage code " + std::to_string(c) + ", not a whole number");
    out[i] = static_cast<std::int64_t>(c);
  }
  return out;
}

}  // namespace

FunnelScore::FunnelScore(std::shared_ptr<const markov::Chain> chain, std::shared_ptr<markov::Analysis> analysis,
                         nlohmann::json params, std::size_t threads)
    : chain_(std::move(chain)),
      analysis_(std::move(analysis)),
      params_(std::move(params)),
      threads_(threads),
      next_step_(chain_, threads) {
  if (!analysis_) throw std::invalid_argument("FunnelScore needs the chain's analysis");
  if (&analysis_->chain() != chain_.get())
    throw std::invalid_argument("FunnelScore: the analysis was made for another chain");
  const auto n = chain_->size();
  const auto& b = analysis_->success_probability();
  const auto& v = analysis_->value();
  success_.resize(n);
  entering_.resize(n);
  for (std::size_t j = 0; j < n; ++j) {
    const auto k = static_cast<Eigen::Index>(j);
    success_[j] = b[k];
    entering_[j] = chain_->value(j) + chain_->discount() * v[k];
  }
  start_.resize(n);
  terminal_.resize(n);
  std::vector<double> weights;
  for (std::size_t i = 0; i < n; ++i) {
    if (chain_->absorbing(i)) {
      const double p = chain_->kind(i) == model::StageKind::Success ? 1.0 : 0.0;
      start_[i] = terminal_[i] = {p, 0.0};
      continue;
    }
    const auto row = chain_->transitions(i);
    weights.resize(row.size());
    next_step_.weights(i, 0.0, weights);
    start_[i] = mix(row, weights, success_, entering_);
    terminal_[i] = mix(row, next_step_.terminal_weights(i), success_, entering_);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double e = chain_->entry()[i];
    if (e == 0.0) continue;
    fresh_.purchase += e * success_[i];
    fresh_.revenue += e * (chain_->value(i) + v[static_cast<Eigen::Index>(i)]);
  }
  fresh_.purchase = std::clamp(fresh_.purchase, 0.0, 1.0);
}

FunnelLeadScore FunnelScore::at_zero(std::int64_t state) const {
  if (state == kNotEntered) return fresh_;
  if (state == kLeft) return {};
  return start_[static_cast<std::size_t>(state)];
}

FunnelLeadScore FunnelScore::evaluate_one(std::int64_t state, double t) const {
  if (state < 0) return at_zero(state);
  const auto i = static_cast<std::size_t>(state);
  if (chain_->absorbing(i) || t <= 0.0) return start_[i];
  // One pass: the weights p_j S_j(t) need no normalising before the mixture.
  double total = 0.0;
  FunnelLeadScore sum;
  for (const auto& tr : chain_->transitions(i)) {
    const double w = tr.probability * markov::transition_survival(tr, t);
    total += w;
    sum.purchase += w * success_[tr.to];
    sum.revenue += w * entering_[tr.to];
  }
  if (!(total > 0.0)) return terminal_[i];
  return {std::clamp(sum.purchase / total, 0.0, 1.0), sum.revenue / total};
}

void FunnelScore::check(std::span<const std::int64_t> states, std::span<const double> times) const {
  if (states.size() != times.size())
    throw std::invalid_argument("stage codes and times need one entry per lead (" + std::to_string(states.size()) +
                                " and " + std::to_string(times.size()) + ")");
  const auto n = static_cast<std::int64_t>(chain_->size());
  for (std::size_t r = 0; r < states.size(); ++r) {
    const auto s = states[r];
    if (s < kLeft || s >= n)
      bad_value("stage", "row " + std::to_string(r) + " has stage code " + std::to_string(s) + ", but the funnel has " +
                             std::to_string(n) + " stages (-1: not entered, -2: left)");
    const double t = times[r];
    if (t < 0.0 || std::isinf(t))
      bad_value("time_in_stage", "row " + std::to_string(r) + " has time " + std::to_string(t) +
                                     " (must be finite and >= 0)");
    const bool matters = s >= 0 && !chain_->absorbing(static_cast<std::size_t>(s));
    if (std::isnan(t) && matters)
      bad_value("time_in_stage", "row " + std::to_string(r) + " is NaN in stage '" +
                                     chain_->name(static_cast<std::size_t>(s)) + "'");
  }
}

void FunnelScore::evaluate(std::span<const std::int64_t> states, std::span<const double> times,
                           std::span<double> purchase, std::span<double> revenue, const Progress& progress) const {
  check(states, times);
  if (purchase.size() != states.size() || revenue.size() != states.size())
    throw std::invalid_argument("evaluate: the outputs need one entry per lead");
  const auto blocks = (states.size() + kBlock - 1) / kBlock;
  parallel_for(
      blocks, threads_,
      [&](std::size_t block) {
        const auto end = std::min(states.size(), (block + 1) * kBlock);
        for (std::size_t r = block * kBlock; r < end; ++r) {
          const auto s = evaluate_one(states[r], times[r]);
          purchase[r] = s.purchase;
          revenue[r] = s.revenue;
        }
      },
      progress);
}

void FunnelScore::score(const FeatureMatrix& features, std::span<double> out) const {
  if (features.cols() != 2) throw std::invalid_argument("the funnel score reads 2 columns (stage, time_in_stage)");
  const auto states = codes_of(features.columns[0]);
  std::vector<double> revenue(features.rows);
  evaluate(states, features.columns[1], out, revenue);
}

void FunnelScore::contributions(const FeatureMatrix& features, std::span<double> out) const {
  if (features.cols() != 2) throw std::invalid_argument("the funnel score reads 2 columns (stage, time_in_stage)");
  if (out.size() != 2 * features.rows) throw std::invalid_argument("contributions: out needs rows x 2 entries");
  const auto states = codes_of(features.columns[0]);
  std::vector<double> purchase(features.rows);
  std::vector<double> revenue(features.rows);
  evaluate(states, features.columns[1], purchase, revenue);
  for (std::size_t r = 0; r < features.rows; ++r) {
    const double base = at_zero(states[r]).purchase;
    out[2 * r] = base;
    out[2 * r + 1] = purchase[r] - base;
  }
}

}  // namespace funnelkit::scoring
