#include "funnelkit/markov/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/SparseCore>
#include <Eigen/SparseLU>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::markov {
namespace {

using SparseMatrix = Eigen::SparseMatrix<double>;
using Lu = Eigen::SparseLU<SparseMatrix, Eigen::COLAMDOrdering<int>>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Transient states are numbered 0..m-1 in chain order for the linear algebra.
struct TransientIndex {
  std::vector<std::size_t> of_state;  // kNoState for absorbing states
  std::vector<std::size_t> absorbing_column;
  explicit TransientIndex(const Chain& chain)
      : of_state(chain.size(), kNoState), absorbing_column(chain.size(), kNoState) {
    for (std::size_t t = 0; t < chain.transient_states().size(); ++t) of_state[chain.transient_states()[t]] = t;
    for (std::size_t a = 0; a < chain.absorbing_states().size(); ++a)
      absorbing_column[chain.absorbing_states()[a]] = a;
  }
};

int to_int(std::size_t i) { return static_cast<int>(i); }
Eigen::Index to_index(std::size_t i) { return static_cast<Eigen::Index>(i); }

SparseMatrix identity_minus_q(const Chain& chain, const TransientIndex& index, double discount) {
  const auto m = chain.transient_states().size();
  std::vector<Eigen::Triplet<double>> triplets;
  for (std::size_t t = 0; t < m; ++t) {
    triplets.emplace_back(to_int(t), to_int(t), 1.0);
    for (const auto& tr : chain.transitions(chain.transient_states()[t]))
      if (const auto j = index.of_state[tr.to]; j != kNoState)
        triplets.emplace_back(to_int(t), to_int(j), -discount * tr.probability);
  }
  SparseMatrix a(to_index(m), to_index(m));
  a.setFromTriplets(triplets.begin(), triplets.end());
  a.makeCompressed();
  return a;
}

void factorize(Lu& lu, const SparseMatrix& a) {
  lu.analyzePattern(a);
  lu.factorize(a);
  if (lu.info() != Eigen::Success)
    throw FunnelError(ErrorKind::NoExit,
                      "the funnel's transient part is numerically singular: some loop is left with a probability "
                      "too small to represent; give it a larger exit probability");
}

// Per transient row: sum_j P_ij f(transition, j) with j's contribution split by the caller.
template <class F>
Eigen::VectorXd row_sum(const Chain& chain, F contribution) {
  const auto m = chain.transient_states().size();
  Eigen::VectorXd out = Eigen::VectorXd::Zero(to_index(m));
  for (std::size_t t = 0; t < m; ++t)
    for (const auto& tr : chain.transitions(chain.transient_states()[t])) out[to_index(t)] += tr.probability * contribution(tr);
  return out;
}

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

using Predecessors = std::vector<std::vector<std::size_t>>;

Predecessors predecessors_of(const Chain& chain) {
  Predecessors predecessors(chain.size());
  for (const auto i : chain.transient_states())
    for (const auto& tr : chain.transitions(i))
      if (tr.probability > 0.0) predecessors[tr.to].push_back(i);
  return predecessors;
}

// can_reach[state] for one target state: a backward search over positive transitions. Solves
// leave round-off (1e-17, of either sign) where a probability is exactly zero by structure;
// this says where.
std::vector<bool> can_reach(const Predecessors& predecessors, std::size_t target) {
  std::vector<bool> reached(predecessors.size(), false);
  std::vector<std::size_t> stack{target};
  reached[target] = true;
  while (!stack.empty()) {
    const auto v = stack.back();
    stack.pop_back();
    for (const auto u : predecessors[v])
      if (!reached[u]) {
        reached[u] = true;
        stack.push_back(u);
      }
  }
  return reached;
}

}  // namespace

namespace {

// Strongly connected components of the transient part, found once and reused for every
// discount factor: a return to a state never leaves its component.
struct Components {
  std::vector<std::vector<std::size_t>> members;  // transient indices per component
  Eigen::VectorXd self_loop;                       // P(i -> i) per transient index
};

Components components_of(const Chain& chain, const TransientIndex& index) {
  const auto m = chain.transient_states().size();
  Graph graph(m);
  Components out;
  out.self_loop = Eigen::VectorXd::Zero(to_index(m));
  for (std::size_t t = 0; t < m; ++t)
    for (const auto& tr : chain.transitions(chain.transient_states()[t])) {
      const auto j = index.of_state[tr.to];
      if (j == kNoState || tr.probability <= 0.0) continue;
      if (j == t) out.self_loop[to_index(t)] += tr.probability;
      else boost::add_edge(t, j, graph);
    }
  std::vector<std::size_t> component(m);
  const auto count = boost::strong_components(
      graph, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, graph)));
  out.members.resize(count);
  for (std::size_t t = 0; t < m; ++t) out.members[component[t]].push_back(t);
  return out;
}

Eigen::VectorXd diagonal_of(const Chain& chain, const TransientIndex& index, const Components& components,
                            double discount) {
  const auto m = chain.transient_states().size();
  Eigen::VectorXd diagonal(to_index(m));
  std::vector<std::size_t> local(m, kNoState);  // position inside the current component
  for (const auto& group : components.members) {
    if (group.size() == 1) {  // no return except through a self-loop
      const auto t = group.front();
      diagonal[to_index(t)] = 1.0 / (1.0 - discount * components.self_loop[to_index(t)]);
      continue;
    }
    // I - discount * Q restricted to the component; leaving it counts as never returning.
    const auto k = group.size();
    for (std::size_t i = 0; i < k; ++i) local[group[i]] = i;
    std::vector<Eigen::Triplet<double>> triplets;
    for (std::size_t i = 0; i < k; ++i) {
      triplets.emplace_back(to_int(i), to_int(i), 1.0);
      for (const auto& tr : chain.transitions(chain.transient_states()[group[i]]))
        if (const auto j = index.of_state[tr.to]; j != kNoState && local[j] != kNoState)
          triplets.emplace_back(to_int(i), to_int(local[j]), -discount * tr.probability);
    }
    for (const auto t : group) local[t] = kNoState;
    SparseMatrix block(to_index(k), to_index(k));
    block.setFromTriplets(triplets.begin(), triplets.end());
    if (k <= 48) {
      // FullPivLU: unblocked, so it stays clear of Eigen 3.4's blocked partial-pivoting path,
      // which UBSan flags (a reference bound to an empty block); at this size the cost is nil.
      const Eigen::MatrixXd inverse = Eigen::MatrixXd(block).fullPivLu().inverse();
      for (std::size_t i = 0; i < k; ++i) diagonal[to_index(group[i])] = inverse(to_index(i), to_index(i));
    } else {
      block.makeCompressed();
      Lu lu;
      factorize(lu, block);
      // Unit right-hand sides in blocks: one multi-column solve amortises the per-solve cost.
      constexpr std::size_t block_width = 128;
      for (std::size_t first = 0; first < k; first += block_width) {
        const auto width = std::min(block_width, k - first);
        Eigen::MatrixXd units = Eigen::MatrixXd::Zero(to_index(k), to_index(width));
        for (std::size_t c = 0; c < width; ++c) units(to_index(first + c), to_index(c)) = 1.0;
        const Eigen::MatrixXd columns = lu.solve(units);
        for (std::size_t c = 0; c < width; ++c)
          diagonal[to_index(group[first + c])] = columns(to_index(first + c), to_index(c));
      }
    }
  }
  return diagonal;
}

}  // namespace

Eigen::VectorXd visit_diagonal(const Chain& chain, double discount) {
  const TransientIndex index(chain);
  return diagonal_of(chain, index, components_of(chain, index), discount);
}

Analysis analyze(const Chain& chain) {
  const TransientIndex index(chain);
  const auto n = chain.size();
  const auto m = chain.transient_states().size();
  const auto n_absorbing = chain.absorbing_states().size();
  const double gamma = chain.discount();
  const auto& transient = chain.transient_states();

  Lu lu;
  const SparseMatrix a = identity_minus_q(chain, index, 1.0);
  factorize(lu, a);

  // One-step absorption matrix R (transient x absorbing) and the entry vector on transients.
  Eigen::MatrixXd r = Eigen::MatrixXd::Zero(to_index(m), to_index(n_absorbing));
  Eigen::VectorXd s = Eigen::VectorXd::Zero(to_index(m));
  for (std::size_t t = 0; t < m; ++t) {
    s[to_index(t)] = chain.entry()[transient[t]];
    for (const auto& tr : chain.transitions(transient[t]))
      if (const auto col = index.absorbing_column[tr.to]; col != kNoState) r(to_index(t), to_index(col)) += tr.probability;
  }
  Eigen::MatrixXd b = lu.solve(r);
  const auto predecessors = predecessors_of(chain);
  for (std::size_t c = 0; c < n_absorbing; ++c) {
    const auto reaches = can_reach(predecessors, chain.absorbing_states()[c]);
    for (std::size_t t = 0; t < m; ++t) {
      auto& probability = b(to_index(t), to_index(c));
      probability = reaches[transient[t]] ? std::clamp(probability, 0.0, 1.0) : 0.0;
    }
  }

  // Values seen from the far end of a transition: success probability, time, value of j.
  Eigen::VectorXd success_of(to_index(n));
  for (std::size_t j = 0; j < n; ++j) {
    if (chain.absorbing(j)) success_of[to_index(j)] = chain.kind(j) == model::StageKind::Success ? 1.0 : 0.0;
  }
  Eigen::VectorXd success_t = Eigen::VectorXd::Zero(to_index(m));
  for (std::size_t c = 0; c < n_absorbing; ++c)
    if (chain.kind(chain.absorbing_states()[c]) == model::StageKind::Success) success_t += b.col(to_index(c));
  for (std::size_t t = 0; t < m; ++t) success_of[to_index(transient[t])] = success_t[to_index(t)];

  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(to_index(m));
  const Eigen::VectorXd steps = lu.solve(ones);
  const Eigen::VectorXd steps_second = 2.0 * lu.solve(steps) - steps;  // E[K^2] = (2N - I) N 1

  const Eigen::VectorXd time = lu.solve(row_sum(chain, [](const Transition& tr) { return tr.delay_mean; }));
  auto time_of = [&](std::size_t j) { return chain.absorbing(j) ? 0.0 : time[to_index(index.of_state[j])]; };
  const Eigen::VectorXd time_second = lu.solve(row_sum(chain, [&](const Transition& tr) {
    return tr.delay_second_moment + 2.0 * tr.delay_mean * time_of(tr.to);
  }));
  const Eigen::VectorXd time_and_success =
      lu.solve(row_sum(chain, [&](const Transition& tr) { return tr.delay_mean * success_of[to_index(tr.to)]; }));
  const Eigen::VectorXd visits = lu.transpose().solve(s);

  // Values: v = (I - gamma Q)^-1 P r, v = 0 on absorbing states.
  Lu lu_discounted;
  const bool discounted = gamma < 1.0;
  if (discounted) factorize(lu_discounted, identity_minus_q(chain, index, gamma));
  const Eigen::VectorXd immediate = row_sum(chain, [&](const Transition& tr) { return chain.value(tr.to); });
  const Eigen::VectorXd value = discounted ? Eigen::VectorXd(lu_discounted.solve(immediate)) : Eigen::VectorXd(lu.solve(immediate));
  const Eigen::VectorXd visits_discounted = discounted ? Eigen::VectorXd(lu_discounted.transpose().solve(s)) : visits;
  auto value_of = [&](std::size_t j) { return chain.absorbing(j) ? 0.0 : value[to_index(index.of_state[j])]; };

  const Components components = components_of(chain, index);
  const Eigen::VectorXd diagonal = diagonal_of(chain, index, components, 1.0);
  const Eigen::VectorXd diagonal_discounted = discounted ? diagonal_of(chain, index, components, gamma) : diagonal;

  Analysis out;
  out.absorption = Eigen::MatrixXd::Zero(to_index(n), to_index(n_absorbing));
  out.success_probability = success_of;
  out.expected_steps = Eigen::VectorXd::Zero(to_index(n));
  out.steps_variance = Eigen::VectorXd::Zero(to_index(n));
  out.expected_time = Eigen::VectorXd::Zero(to_index(n));
  out.time_variance = Eigen::VectorXd::Zero(to_index(n));
  out.time_to_success = Eigen::VectorXd::Constant(to_index(n), kNaN);
  out.value = Eigen::VectorXd::Zero(to_index(n));
  out.expected_visits = Eigen::VectorXd::Zero(to_index(n));
  out.reach = Eigen::VectorXd::Zero(to_index(n));
  out.dropped = Eigen::VectorXd::Zero(to_index(n));
  out.removal_success = Eigen::VectorXd::Constant(to_index(n), kNaN);
  out.removal_value = Eigen::VectorXd::Constant(to_index(n), kNaN);

  for (std::size_t c = 0; c < n_absorbing; ++c) {
    const auto state = chain.absorbing_states()[c];
    out.absorption(to_index(state), to_index(c)) = 1.0;
    out.expected_visits[to_index(state)] = s.dot(b.col(to_index(c)));
    out.reach[to_index(state)] = out.expected_visits[to_index(state)];
    if (chain.kind(state) == model::StageKind::Success) out.time_to_success[to_index(state)] = 0.0;
  }
  for (std::size_t t = 0; t < m; ++t) {
    const auto state = to_index(transient[t]);
    const auto i = to_index(t);
    out.absorption.row(state) = b.row(i);
    out.expected_steps[state] = steps[i];
    out.steps_variance[state] = std::max(0.0, steps_second[i] - steps[i] * steps[i]);
    out.expected_time[state] = time[i];
    out.time_variance[state] = std::max(0.0, time_second[i] - time[i] * time[i]);
    if (success_t[i] > 0.0) out.time_to_success[state] = time_and_success[i] / success_t[i];
    out.value[state] = value[i];
    out.expected_visits[state] = visits[i];
    out.reach[state] = visits[i] / diagonal[i];
    double to_failure = 0.0;
    for (const auto& tr : chain.transitions(transient[t]))
      if (chain.kind(tr.to) == model::StageKind::Failure) to_failure += tr.probability;
    out.dropped[state] = visits[i] * to_failure;

    // Removing a stage sends every lead that would enter it to failure. By the strong Markov
    // property the loss is what happens from the first entry on (derivation in docs).
    out.removal_success[state] = out.reach[state] * success_t[i];
    const double r_k = chain.value(transient[t]);
    const double first_entry = visits_discounted[i] / diagonal_discounted[i];  // E[gamma^tau], tau >= 0
    out.removal_value[state] = s[i] * (r_k + value[i]) + (first_entry - s[i]) * (r_k + gamma * value[i]) / gamma;
  }

  for (std::size_t t = 0; t < m; ++t)
    for (const auto& tr : chain.transitions(transient[t])) {
      if (tr.edge == kNoState) continue;  // the remainder is not a parameter
      EdgeSensitivity e;
      e.edge = tr.edge;
      e.from = transient[t];
      e.to = tr.to;
      e.probability = tr.probability;
      e.d_success = visits[to_index(t)] * success_of[to_index(tr.to)];
      e.d_value = visits_discounted[to_index(t)] * (chain.value(tr.to) + gamma * value_of(tr.to));
      // The remainder takes up the change, and a drop-out spends the stage's holding time.
      e.d_time = visits[to_index(t)] * (tr.delay_mean + time_of(tr.to) - chain.holding_mean(transient[t]));
      out.edges.push_back(e);
    }

  out.success = s.dot(success_t);
  double entry_value = 0.0;
  for (std::size_t t = 0; t < m; ++t) entry_value += s[to_index(t)] * (chain.value(transient[t]) + value[to_index(t)]);
  out.value_per_entrant = entry_value;
  out.steps = s.dot(steps);
  out.steps_sd = std::sqrt(std::max(0.0, s.dot(steps_second) - out.steps * out.steps));
  out.time = s.dot(time);
  out.time_sd = std::sqrt(std::max(0.0, s.dot(time_second) - out.time * out.time));
  out.time_to_success_mean = out.success > 0.0 ? s.dot(time_and_success) / out.success : kNaN;
  return out;
}

}  // namespace funnelkit::markov
