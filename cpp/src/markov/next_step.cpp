#include "funnelkit/markov/next_step.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "funnelkit/core/parallel.hpp"

namespace funnelkit::markov {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Row = std::span<const Transition>;

// sum_j p_j S_j(s); each term written to out when given.
double weighted(Row row, double s, double* out) {
  double total = 0.0;
  for (std::size_t j = 0; j < row.size(); ++j) {
    const double w = row[j].probability * transition_survival(row[j], s);
    if (out != nullptr) out[j] = w;
    total += w;
  }
  return total;
}

void row_probabilities(Row row, double* out) {
  double total = 0.0;
  for (const auto& tr : row) total += tr.probability;
  for (std::size_t j = 0; j < row.size(); ++j) out[j] = row[j].probability / total;
}

void normalise(double* out, std::size_t n, double total) {
  for (std::size_t j = 0; j < n; ++j) out[j] /= total;
}

// The limit weights past every transition's support, written to out; returns s*, the last
// time at which some transition is still pending (see the header's conventions).
double terminal(Row row, double* out) {
  if (row.empty()) return 0.0;
  const auto total = [row](double s) { return weighted(row, s, nullptr); };
  // A time by which every transition is over: the latest end of support, else doubling.
  double hi = 0.0;
  double scale = 1.0;
  for (const auto& tr : row) {
    if (tr.delay == nullptr) continue;
    const double end = tr.delay->quantile(1.0);
    hi = std::isnan(end) ? kInf : std::max(hi, end);
    if (std::isfinite(tr.delay_mean)) scale = std::max(scale, tr.delay_mean);
  }
  if (!(hi > 0.0)) {  // only moves that take no time
    row_probabilities(row, out);
    return 0.0;
  }
  double lo = 0.0;  // total(0) > 0 by the t = 0 convention
  if (!std::isfinite(hi) || total(hi) > 0.0) {
    hi = scale;
    while (std::isfinite(hi) && total(hi) > 0.0) {
      lo = hi;
      hi *= 2.0;
    }
    if (!std::isfinite(hi)) {  // some delay never ends in floating point: its limit at the largest time tried
      normalise(out, row.size(), weighted(row, lo, out));
      return kInf;
    }
  }
  // Bisection down to adjacent doubles: total(lo) > 0 == total(hi).
  for (;;) {
    const double mid = lo + 0.5 * (hi - lo);
    if (!(mid > lo && mid < hi)) break;
    (total(mid) > 0.0 ? lo : hi) = mid;
  }
  if (lo <= 0.0) {
    row_probabilities(row, out);
  } else {
    normalise(out, row.size(), weighted(row, lo, out));
  }
  return lo;
}

void check_time(double t) {
  if (std::isnan(t) || t < 0.0)
    throw std::invalid_argument("the time already spent in a stage must be >= 0, got " + std::to_string(t));
}

// w(t) into out; `precomputed` holds the terminal weights, or is empty to compute them here.
void fill(Row row, double t, double* out, std::span<const double> precomputed) {
  if (row.empty()) return;
  if (t <= 0.0) {
    row_probabilities(row, out);
    return;
  }
  const double total = weighted(row, t, out);
  if (total > 0.0) {
    normalise(out, row.size(), total);
  } else if (!precomputed.empty()) {
    std::copy(precomputed.begin(), precomputed.end(), out);
  } else {
    (void)terminal(row, out);
  }
}

std::pair<std::size_t, double> draw(Row row, double t, const double* weights, Rng& rng) {
  double total = 0.0;
  for (std::size_t j = 0; j < row.size(); ++j) total += weights[j];
  const double target = rng.uniform01() * total;
  std::size_t chosen = row.size() - 1;
  double cumulative = 0.0;
  for (std::size_t j = 0; j < row.size(); ++j) {
    cumulative += weights[j];
    if (target < cumulative && weights[j] > 0.0) {
      chosen = j;
      break;
    }
  }
  while (weights[chosen] <= 0.0 && chosen > 0) --chosen;  // rounding at the top end
  const auto& tr = row[chosen];
  const double u = rng.uniform01();
  const double survival = transition_survival(tr, t);
  if (tr.delay == nullptr || !(survival > 0.0)) return {tr.to, 0.0};  // instant, or due now
  // T given T > t: S(T) = u S(t), inverted on the survival side.
  const double delay = tr.delay->inverse_survival(u * survival);
  return {tr.to, std::max(0.0, delay - std::max(t, 0.0))};
}

template <class Body>
auto with_buffer(std::size_t n, Body body) {
  std::array<double, 16> small{};
  std::vector<double> large;
  double* buffer = small.data();
  if (n > small.size()) {
    large.resize(n);
    buffer = large.data();
  }
  return body(buffer);
}

}  // namespace

double transition_survival(const Transition& transition, double t) {
  if (t <= 0.0) return 1.0;
  if (transition.delay == nullptr) return 0.0;
  const double s = transition.delay->survival(t);
  return std::isnan(s) ? 0.0 : std::clamp(s, 0.0, 1.0);
}

NextStep::NextStep(std::shared_ptr<const Chain> chain, std::size_t threads) : chain_(std::move(chain)) {
  if (!chain_) throw std::invalid_argument("NextStep needs a chain");
  const auto n = chain_->size();
  offsets_.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) offsets_[i + 1] = offsets_[i] + chain_->transitions(i).size();
  terminal_.assign(offsets_[n], 0.0);
  last_time_.assign(n, 0.0);
  const auto& transient = chain_->transient_states();
  parallel_for(transient.size(), threads, [&](std::size_t k) {
    const auto state = transient[k];
    last_time_[state] = terminal(chain_->transitions(state), terminal_.data() + offsets_[state]);
  });
}

void NextStep::check(std::size_t state, double t) const {
  if (state >= chain_->size())
    throw std::out_of_range("state " + std::to_string(state) + " out of range (the chain has " +
                            std::to_string(chain_->size()) + " states)");
  check_time(t);
}

std::span<const double> NextStep::terminal_weights(std::size_t state) const {
  if (state >= chain_->size()) throw std::out_of_range("state " + std::to_string(state) + " out of range");
  return {terminal_.data() + offsets_[state], offsets_[state + 1] - offsets_[state]};
}

void NextStep::weights(std::size_t state, double t, std::span<double> out) const {
  check(state, t);
  const auto row = chain_->transitions(state);
  if (out.size() != row.size())
    throw std::invalid_argument("weights: out has " + std::to_string(out.size()) + " entries, the row " +
                                std::to_string(row.size()));
  fill(row, t, out.data(), terminal_weights(state));
}

std::vector<double> NextStep::weights(std::size_t state, double t) const {
  check(state, t);
  std::vector<double> out(chain_->transitions(state).size());
  weights(state, t, out);
  return out;
}

std::pair<std::size_t, double> NextStep::sample_weighted(std::size_t state, double t,
                                                         std::span<const double> weights, Rng& rng) const {
  check(state, t);
  const auto row = chain_->transitions(state);
  if (row.empty()) return {state, 0.0};
  if (weights.size() != row.size()) throw std::invalid_argument("one weight per transition of the state is needed");
  return draw(row, t, weights.data(), rng);
}

std::pair<std::size_t, double> NextStep::sample(std::size_t state, double t, Rng& rng) const {
  check(state, t);
  const auto row = chain_->transitions(state);
  if (row.empty()) return {state, 0.0};
  return with_buffer(row.size(), [&](double* w) {
    fill(row, t, w, terminal_weights(state));
    return draw(row, t, w, rng);
  });
}

std::vector<double> next_step_probabilities(const Chain& chain, std::size_t state, double t) {
  if (state >= chain.size()) throw std::out_of_range("state " + std::to_string(state) + " out of range");
  check_time(t);
  const auto row = chain.transitions(state);
  std::vector<double> out(row.size());
  fill(row, t, out.data(), {});
  return out;
}

std::pair<std::size_t, double> sample_step_after(const Chain& chain, std::size_t state, double t, Rng& rng) {
  if (state >= chain.size()) throw std::out_of_range("state " + std::to_string(state) + " out of range");
  check_time(t);
  const auto row = chain.transitions(state);
  if (row.empty()) return {state, 0.0};
  return with_buffer(row.size(), [&](double* w) {
    fill(row, t, w, {});
    return draw(row, t, w, rng);
  });
}

}  // namespace funnelkit::markov
