#include "funnelkit/markov/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::markov {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Index to_index(std::size_t i) { return static_cast<Index>(i); }

// Which states can reach any of `targets` along positive transitions (a backward search over
// the predecessor lists). Solves leave round-off (1e-17, of either sign) where a probability is
// exactly zero by structure; this says where, so such results are reported as exact zeros.
std::vector<bool> can_reach(const Analysis::Predecessors& predecessors, const std::vector<std::size_t>& targets) {
  std::vector<bool> reached(predecessors.offsets.size() - 1, false);
  std::vector<std::size_t> stack;
  for (const auto target : targets) {
    reached[target] = true;
    stack.push_back(target);
  }
  while (!stack.empty()) {
    const auto v = stack.back();
    stack.pop_back();
    for (auto p = predecessors.offsets[v]; p < predecessors.offsets[v + 1]; ++p)
      if (const auto u = predecessors.states[p]; !reached[u]) {
        reached[u] = true;
        stack.push_back(u);
      }
  }
  return reached;
}

std::vector<std::size_t> success_states(const Chain& chain) {
  std::vector<std::size_t> out;
  for (const auto a : chain.absorbing_states())
    if (chain.kind(a) == model::StageKind::Success) out.push_back(a);
  return out;
}

}  // namespace

Analysis::Analysis(std::shared_ptr<const Chain> chain, SolverOptions options)
    : chain_(std::move(chain)), options_(options), structure_(std::make_shared<TransientStructure>(*chain_)) {
  const auto m = structure_->size();
  entry_.resize(to_index(m));
  for (std::size_t t = 0; t < m; ++t) entry_[to_index(t)] = chain_->entry()[structure_->state(t)];
  diagonal_.assign(m, kNaN);
  discounted_diagonal_.assign(m, kNaN);
}

const Analysis::Predecessors& Analysis::predecessors() {
  if (!predecessors_) {
    Predecessors p;  // compressed rows: who moves into each state with positive probability
    p.offsets.assign(chain_->size() + 1, 0);
    for (const auto i : chain_->transient_states())
      for (const auto& tr : chain_->transitions(i))
        if (tr.probability > 0.0) ++p.offsets[tr.to + 1];
    for (std::size_t v = 0; v < chain_->size(); ++v) p.offsets[v + 1] += p.offsets[v];
    p.states.resize(p.offsets.back());
    auto next = p.offsets;
    for (const auto i : chain_->transient_states())
      for (const auto& tr : chain_->transitions(i))
        if (tr.probability > 0.0) p.states[next[tr.to]++] = i;
    predecessors_ = std::move(p);
  }
  return *predecessors_;
}

const LinearSystem& Analysis::system() {
  if (!system_) system_ = std::make_unique<LinearSystem>(structure_, 1.0, options_);
  return *system_;
}

const LinearSystem& Analysis::discounted_system() {
  if (chain_->discount() == 1.0) return system();
  if (!discounted_system_) discounted_system_ = std::make_unique<LinearSystem>(structure_, chain_->discount(), options_);
  return *discounted_system_;
}

VectorXd Analysis::solve(VectorXd b, bool transposed) {
  system().solve(b, transposed);
  return b;
}

std::size_t Analysis::transient_index(std::size_t state) const {
  if (state >= chain_->size()) throw std::out_of_range("state " + std::to_string(state) + " out of range");
  return structure_->index_of(state);
}

template <class Contribution>
VectorXd Analysis::row_sums(Contribution contribution) const {
  VectorXd out = VectorXd::Zero(to_index(structure_->size()));
  for (std::size_t t = 0; t < structure_->size(); ++t)
    for (const auto& tr : chain_->transitions(structure_->state(t))) out[to_index(t)] += tr.probability * contribution(tr);
  return out;
}

VectorXd Analysis::to_states(const VectorXd& transient, double absorbing_value) const {
  VectorXd out = VectorXd::Constant(to_index(chain_->size()), absorbing_value);
  for (std::size_t t = 0; t < structure_->size(); ++t) out[to_index(structure_->state(t))] = transient[to_index(t)];
  return out;
}

// ---- a handful of solves ----------------------------------------------------------------------
template <class T, class Compute>
const T& Analysis::cached(std::optional<T>& slot, Compute compute) {
  const std::lock_guard lock(mutex_);
  if (!slot) slot = compute();
  return *slot;
}

const VectorXd& Analysis::transient_success() {
  return cached(transient_success_, [&] {
    // b = N (R 1_success): one solve, whatever the number of absorbing stages.
    VectorXd b = solve(
        row_sums([&](const Transition& tr) { return chain_->kind(tr.to) == model::StageKind::Success ? 1.0 : 0.0; }));
    const auto possible = can_reach(predecessors(), success_states(*chain_));
    for (std::size_t t = 0; t < structure_->size(); ++t)
      b[to_index(t)] = possible[structure_->state(t)] ? std::clamp(b[to_index(t)], 0.0, 1.0) : 0.0;
    return b;
  });
}

const MatrixXd& Analysis::absorption() {
  return cached(absorption_, [&] {
    const auto& absorbing = chain_->absorbing_states();
    const auto m = structure_->size();
    std::vector<std::size_t> column(chain_->size(), kNoState);
    for (std::size_t a = 0; a < absorbing.size(); ++a) column[absorbing[a]] = a;
    MatrixXd r = MatrixXd::Zero(to_index(m), to_index(absorbing.size()));
    for (std::size_t t = 0; t < m; ++t)
      for (const auto& tr : chain_->transitions(structure_->state(t)))
        if (const auto c = column[tr.to]; c != kNoState) r(to_index(t), to_index(c)) += tr.probability;
    const MatrixXd b = system().solve_columns(std::move(r));
    MatrixXd out = MatrixXd::Zero(to_index(chain_->size()), to_index(absorbing.size()));
    for (std::size_t a = 0; a < absorbing.size(); ++a) {
      out(to_index(absorbing[a]), to_index(a)) = 1.0;
      const auto reaches = can_reach(predecessors(), {absorbing[a]});
      for (std::size_t t = 0; t < m; ++t)
        out(to_index(structure_->state(t)), to_index(a)) =
            reaches[structure_->state(t)] ? std::clamp(b(to_index(t), to_index(a)), 0.0, 1.0) : 0.0;
    }
    return out;
  });
}

const VectorXd& Analysis::success_probability() {
  return cached(success_probability_, [&] {
    VectorXd out = to_states(transient_success(), 0.0);
    for (const auto a : success_states(*chain_)) out[to_index(a)] = 1.0;
    return out;
  });
}

const VectorXd& Analysis::expected_steps() {
  const std::lock_guard lock(mutex_);
  if (!steps_) steps_ = solve(VectorXd::Ones(to_index(structure_->size())));
  if (!expected_steps_) expected_steps_ = to_states(*steps_, 0.0);
  return *expected_steps_;
}

const VectorXd& Analysis::steps_variance() {
  const std::lock_guard lock(mutex_);
  if (!steps_variance_) {
    (void)expected_steps();
    // E[K^2] = (2N - I) N 1
    steps_second_ = VectorXd(2.0 * solve(*steps_) - *steps_);
    const VectorXd variance = (*steps_second_ - steps_->cwiseProduct(*steps_)).cwiseMax(0.0);
    steps_variance_ = to_states(variance, 0.0);
  }
  return *steps_variance_;
}

const VectorXd& Analysis::transient_time() {
  return cached(transient_time_, [&] { return solve(row_sums([](const Transition& tr) { return tr.delay_mean; })); });
}

const VectorXd& Analysis::expected_time() {
  return cached(expected_time_, [&] { return to_states(transient_time(), 0.0); });
}

const VectorXd& Analysis::time_variance() {
  const std::lock_guard lock(mutex_);
  if (!time_variance_) {
    const auto& time = transient_time();
    time_second_ = solve(row_sums([&](const Transition& tr) {
      const auto j = structure_->index_of(tr.to);
      const double time_after = j == kNoState ? 0.0 : time[to_index(j)];
      return tr.delay_second_moment + 2.0 * tr.delay_mean * time_after;
    }));
    time_variance_ = to_states((*time_second_ - time.cwiseProduct(time)).cwiseMax(0.0), 0.0);
  }
  return *time_variance_;
}

const VectorXd& Analysis::time_to_success() {
  const std::lock_guard lock(mutex_);
  if (!time_to_success_) {
    const auto& success = success_probability();
    const auto m = structure_->size();
    time_and_success_ = solve(row_sums([&](const Transition& tr) { return tr.delay_mean * success[to_index(tr.to)]; }));
    VectorXd out = VectorXd::Constant(to_index(chain_->size()), kNaN);
    for (const auto a : success_states(*chain_)) out[to_index(a)] = 0.0;
    const auto& b = transient_success();
    for (std::size_t t = 0; t < m; ++t)
      if (b[to_index(t)] > 0.0) out[to_index(structure_->state(t))] = (*time_and_success_)[to_index(t)] / b[to_index(t)];
    time_to_success_ = std::move(out);
  }
  return *time_to_success_;
}

const VectorXd& Analysis::transient_value() {
  return cached(transient_value_, [&] {
    // v = (I - gamma Q)^-1 P r, r_j the value received on entering j.
    VectorXd immediate = row_sums([&](const Transition& tr) { return chain_->value(tr.to); });
    discounted_system().solve(immediate);
    return immediate;
  });
}

const VectorXd& Analysis::value() {
  return cached(value_, [&] { return to_states(transient_value(), 0.0); });
}

const VectorXd& Analysis::transient_visits() {
  return cached(transient_visits_, [&] { return solve(entry_, true); });
}

const VectorXd& Analysis::transient_discounted_visits() {
  const std::lock_guard lock(mutex_);
  if (chain_->discount() == 1.0) return transient_visits();
  if (!transient_discounted_visits_) {
    VectorXd z = entry_;
    discounted_system().solve(z, true);
    transient_discounted_visits_ = std::move(z);
  }
  return *transient_discounted_visits_;
}

const VectorXd& Analysis::expected_visits() {
  return cached(expected_visits_, [&] {
    // Absorbing states: P(ending there) = sum_t z_t R_ta, no further solve.
    const auto& z = transient_visits();
    VectorXd out = to_states(z, 0.0);
    for (std::size_t t = 0; t < structure_->size(); ++t)
      for (const auto& tr : chain_->transitions(structure_->state(t)))
        if (chain_->absorbing(tr.to)) out[to_index(tr.to)] += z[to_index(t)] * tr.probability;
    for (const auto a : chain_->absorbing_states()) out[to_index(a)] = std::clamp(out[to_index(a)], 0.0, 1.0);
    return out;
  });
}

const VectorXd& Analysis::dropped() {
  return cached(dropped_, [&] {
    const auto& z = transient_visits();
    VectorXd out = VectorXd::Zero(to_index(chain_->size()));
    for (std::size_t t = 0; t < structure_->size(); ++t) {
      double to_failure = 0.0;
      for (const auto& tr : chain_->transitions(structure_->state(t)))
        if (chain_->kind(tr.to) == model::StageKind::Failure) to_failure += tr.probability;
      out[to_index(structure_->state(t))] = z[to_index(t)] * to_failure;
    }
    return out;
  });
}

double Analysis::success() { return entry_.dot(transient_success()); }

double Analysis::value_per_entrant() {
  const std::lock_guard lock(mutex_);
  const auto& value = transient_value();
  double total = 0.0;
  for (std::size_t t = 0; t < structure_->size(); ++t)
    total += entry_[to_index(t)] * (chain_->value(structure_->state(t)) + value[to_index(t)]);
  return total;
}

double Analysis::steps() {
  const std::lock_guard lock(mutex_);
  (void)expected_steps();
  return entry_.dot(*steps_);
}

double Analysis::steps_sd() {
  const std::lock_guard lock(mutex_);
  (void)steps_variance();
  const double mean = steps();
  return std::sqrt(std::max(0.0, entry_.dot(*steps_second_) - mean * mean));
}

double Analysis::time() { return entry_.dot(transient_time()); }

double Analysis::time_sd() {
  const std::lock_guard lock(mutex_);
  (void)time_variance();
  const double mean = time();
  return std::sqrt(std::max(0.0, entry_.dot(*time_second_) - mean * mean));
}

double Analysis::time_to_success_mean() {
  const std::lock_guard lock(mutex_);
  (void)time_to_success();
  const double p = success();
  return p > 0.0 ? entry_.dot(*time_and_success_) / p : kNaN;
}

Summary Analysis::summary() {
  return {success(), value_per_entrant(), steps(), steps_sd(), time(), time_sd(), time_to_success_mean()};
}

// ---- per stage, on request --------------------------------------------------------------------
std::vector<double> Analysis::diagonal(std::span<const std::size_t> indices, bool discounted,
                                       const Progress& progress) {
  auto& cache = discounted && chain_->discount() != 1.0 ? discounted_diagonal_ : diagonal_;
  std::vector<std::size_t> missing;
  for (const auto t : indices)
    if (std::isnan(cache[t])) missing.push_back(t);
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  if (!missing.empty()) {
    const auto& linear = discounted ? discounted_system() : system();
    const auto values = linear.inverse_diagonal(missing, progress);
    for (std::size_t i = 0; i < missing.size(); ++i) cache[missing[i]] = values[i];
  }
  std::vector<double> out;
  out.reserve(indices.size());
  for (const auto t : indices) out.push_back(cache[t]);
  return out;
}

std::size_t Analysis::reach_cost(std::span<const std::size_t> states) {
  const std::lock_guard lock(mutex_);
  std::vector<std::size_t> missing;
  for (const auto state : states)
    if (const auto t = transient_index(state); t != kNoState && std::isnan(diagonal_[t])) missing.push_back(t);
  return system().diagonal_cost(missing);
}

std::vector<double> Analysis::reach(std::span<const std::size_t> states, const Progress& progress) {
  const std::lock_guard lock(mutex_);
  std::vector<std::size_t> transient;
  for (const auto state : states)
    if (const auto t = transient_index(state); t != kNoState) transient.push_back(t);
  const auto n_jj = diagonal(transient, false, progress);
  const auto& z = transient_visits();
  std::vector<double> out;
  out.reserve(states.size());
  std::size_t next = 0;
  for (const auto state : states) {
    const auto t = structure_->index_of(state);
    if (t == kNoState) {
      out.push_back(expected_visits()[to_index(state)]);
    } else {
      out.push_back(std::clamp(z[to_index(t)] / n_jj[next++], 0.0, 1.0));
    }
  }
  return out;
}

std::vector<RemovalEffect> Analysis::removal_effects(std::span<const std::size_t> states, const Progress& progress) {
  const std::lock_guard lock(mutex_);
  std::vector<std::size_t> transient;
  for (const auto state : states) {
    const auto t = transient_index(state);
    if (t == kNoState)
      throw FunnelError(ErrorKind::Structure,
                        "stage '" + chain_->name(state) + "' is absorbing: only transient stages can be removed",
                        chain_->name(state));
    transient.push_back(t);
  }
  const double gamma = chain_->discount();
  const auto reach_of = reach(states, progress);
  const auto g_kk = gamma == 1.0 ? diagonal(transient, false, {}) : diagonal(transient, true, progress);
  const auto& b = transient_success();
  const auto& v = transient_value();
  const auto& z_gamma = transient_discounted_visits();
  std::vector<RemovalEffect> out;
  for (std::size_t i = 0; i < transient.size(); ++i) {
    const auto t = to_index(transient[i]);
    // Removing stage k sends every lead about to enter it to failure. By the strong Markov
    // property the loss is what happens from the first entry on (derivation in docs).
    RemovalEffect effect;
    effect.state = states[i];
    effect.success_lost = reach_of[i] * b[t];
    const double r_k = chain_->value(states[i]);
    const double s_k = entry_[t];
    const double first_entry = z_gamma[t] / g_kk[i];  // E[gamma^tau], tau >= 0
    effect.value_lost = s_k * (r_k + v[t]) + (first_entry - s_k) * (r_k + gamma * v[t]) / gamma;
    out.push_back(effect);
  }
  return out;
}

std::vector<EdgeSensitivity> Analysis::sensitivities(std::span<const std::size_t> edges) {
  const std::lock_guard lock(mutex_);
  const auto& success = success_probability();
  const auto& time = expected_time();
  const auto& value = this->value();
  const auto& z = transient_visits();
  const auto& z_gamma = transient_discounted_visits();
  const double gamma = chain_->discount();
  std::vector<EdgeSensitivity> all;
  for (std::size_t t = 0; t < structure_->size(); ++t) {
    const auto state = structure_->state(t);
    for (const auto& tr : chain_->transitions(state)) {
      if (tr.edge == kNoState) continue;  // the remainder is not a parameter
      EdgeSensitivity e;
      e.edge = tr.edge;
      e.from = state;
      e.to = tr.to;
      e.probability = tr.probability;
      e.d_success = z[to_index(t)] * success[to_index(tr.to)];
      e.d_value = z_gamma[to_index(t)] * (chain_->value(tr.to) + gamma * value[to_index(tr.to)]);
      // The remainder takes up the change, and a drop-out spends the stage's holding time.
      e.d_time = z[to_index(t)] * (tr.delay_mean + time[to_index(tr.to)] - chain_->holding_mean(state));
      all.push_back(e);
    }
  }
  if (edges.empty()) return all;
  std::vector<std::size_t> position(chain_->edge_count(), kNoState);
  for (std::size_t i = 0; i < all.size(); ++i) position[all[i].edge] = i;
  std::vector<EdgeSensitivity> out;
  out.reserve(edges.size());
  for (const auto edge : edges) {
    if (edge >= position.size() || position[edge] == kNoState)
      throw std::out_of_range("edge " + std::to_string(edge) + " out of range");
    out.push_back(all[position[edge]]);
  }
  return out;
}

std::vector<ComponentReport> Analysis::solver_reports() const {
  const std::lock_guard lock(mutex_);
  std::vector<ComponentReport> out;
  if (system_) out = system_->reports();
  if (discounted_system_)
    for (const auto& report : discounted_system_->reports()) out.push_back(report);
  return out;
}

Eigen::VectorXd visit_diagonal(const Chain& chain, double discount) {
  const auto structure = std::make_shared<TransientStructure>(chain);
  const LinearSystem system(structure, discount, {});
  std::vector<std::size_t> all(structure->size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const auto values = system.inverse_diagonal(all);
  return Eigen::Map<const VectorXd>(values.data(), to_index(values.size()));
}

}  // namespace funnelkit::markov
