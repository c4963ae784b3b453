#include "state_moves.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace funnelkit::forecast::detail {
namespace {

// Leads of one state that share a history: which triggers treat them and which tilts they
// opened. From the step `since` of their last tilt on, their pending moves follow the kernels
// times `factor` (per transition), and a share `spared` has not been taken by a move step.
struct Group {
  double weight = 1.0;
  std::vector<char> treated;  // per trigger of this state
  double spared = 1.0;
  std::vector<double> factor;
  double dropped_before = 0.0;  // drop-outs through `since`
  double drop_base = 0.0;       // the current factors' drop-out mass through `since`
};

// More groups than this means a state with a dozen odds steps or control groups: far beyond
// any strategy.
constexpr std::size_t kMaxGroups = 4096;

[[noreturn]] void too_many_groups(const markov::Chain& chain, std::size_t state) {
  throw std::invalid_argument("expected_path: more than 12 odds steps and control groups on state '" +
                              chain.name(state) + "'");
}

}  // namespace

std::vector<double> kernel(const markov::Transition& t, double h, std::size_t size) {
  std::vector<double> k(size, 0.0);
  if (t.delay == nullptr) {
    k[0] = t.probability;
    return k;
  }
  double below = 0.0;  // F at the lower edge of step m
  for (std::size_t m = 0; m < size; ++m) {
    const double above = t.delay->cdf((static_cast<double>(m) + 0.5) * h);
    k[m] = t.probability * std::max(0.0, above - below);
    below = above;
    if (below >= 1.0) break;
  }
  return k;
}

StateFlows state_moves(const markov::Chain& chain, std::size_t state, double h, std::size_t size,
                                   const std::vector<const PathStep*>& steps, const std::vector<double>& treated) {
  const auto row = chain.transitions(state);
  std::vector<std::vector<double>> base;  // k_j
  for (const auto& t : row) base.push_back(kernel(t, h, size));
  StateFlows flows;
  auto& out = flows.moves;
  if (steps.empty()) {
    for (std::size_t j = 0; j < row.size(); ++j) out.push_back({row[j].to, std::move(base[j])});
    return flows;
  }
  const std::size_t drop = chain.drop_state();
  const std::size_t n = row.size();
  // Cumulative kernels K_j[m], and what remains after step m: R_j(m) = K_j[end] - K_j[m].
  std::vector<std::vector<double>> cumulative = base;
  for (auto& c : cumulative)
    for (std::size_t m = 1; m < size; ++m) c[m] += c[m - 1];
  // Mass beyond the grid's end still waits: a lead whose move is far off is present.
  const auto remaining = [&](std::size_t j, std::size_t m) { return row[j].probability - cumulative[j][m]; };
  const auto drop_mass = [&](const std::vector<double>& factor, std::size_t m) {
    double mass = 0.0;
    for (std::size_t j = 0; j < n; ++j)
      if (row[j].to == drop) mass += factor[j] * cumulative[j][m];
    return mass;
  };
  const auto favoured = [&](const PathStep& step, std::size_t to) {
    if (step.toward.empty()) return chain.kind(to) != model::StageKind::Failure;
    return std::find(step.toward.begin(), step.toward.end(), to) != step.toward.end();
  };

  std::vector<const PathStep*> order = steps;
  std::stable_sort(order.begin(), order.end(), [](const PathStep* a, const PathStep* b) { return a->delay < b->delay; });
  std::vector<std::size_t> triggers;  // of this state, in first-seen order
  for (const auto* step : order)
    if (std::find(triggers.begin(), triggers.end(), step->trigger) == triggers.end()) triggers.push_back(step->trigger);
  std::vector<Group> groups{{1.0, std::vector<char>(triggers.size(), 1), 1.0, std::vector<double>(n, 1.0)}};
  for (std::size_t t = 0; t < triggers.size(); ++t) {
    const double share = triggers[t] < treated.size() ? treated[triggers[t]] : 1.0;
    if (share >= 1.0) continue;
    const std::size_t count = groups.size();
    for (std::size_t g = 0; g < count; ++g) {
      Group control = groups[g];
      control.weight *= 1.0 - share;
      control.treated[t] = 0;
      groups[g].weight *= share;
      groups.push_back(std::move(control));
    }
    if (groups.size() > kMaxGroups) too_many_groups(chain, state);
  }

  std::vector<std::vector<double>> kernels(n, std::vector<double>(size, 0.0));
  std::size_t from = 0;  // first step not yet written
  const auto write_until = [&](std::size_t last) {  // moves at steps from..last follow the groups now
    for (std::size_t j = 0; j < n; ++j) {
      double coefficient = 0.0;
      for (const auto& g : groups) coefficient += g.weight * g.spared * g.factor[j];
      for (std::size_t m = from; m <= last && m < size; ++m) kernels[j][m] = coefficient * base[j][m];
    }
    from = last + 1;
  };
  const auto add_move = [&](std::size_t to, std::size_t leaves, std::size_t m, double mass) {
    auto it = std::find_if(out.begin(), out.end(), [&](const StateMove& x) { return x.to == to && x.leaves == leaves; });
    if (it == out.end()) it = out.insert(out.end(), {to, std::vector<double>(size, 0.0), leaves});
    it->kernel[m] += mass;
  };

  for (const auto* step : order) {
    const double position = std::floor(step->delay / h + 0.5);
    if (position >= static_cast<double>(size)) break;
    const auto m = static_cast<std::size_t>(position);
    const bool move = step->target != markov::kNoState;
    const bool tilt = !move && step->multiplier != 1.0 && n > 0;  // an end state has no pending move
    write_until(m);
    auto& sent = flows.messages.emplace_back(StepMessages{step, std::vector<double>(size, 0.0)}).kernel;
    const auto local = static_cast<std::size_t>(std::find(triggers.begin(), triggers.end(), step->trigger) - triggers.begin());
    const std::size_t count = groups.size();
    for (std::size_t gi = 0; gi < count; ++gi) {
      Group& g = groups[gi];
      if (!g.treated[local]) continue;
      double present = n == 0 ? 1.0 : 0.0;
      for (std::size_t j = 0; j < n; ++j) present += g.factor[j] * remaining(j, m);
      const double dropped = g.dropped_before + drop_mass(g.factor, m) - g.drop_base;
      sent[m] += g.weight * g.spared * (std::max(0.0, present) + (drop != markov::kNoState ? dropped : 0.0));
      if (move) {
        const double taken = g.weight * g.spared * step->reach;
        add_move(step->target, kSelf, m, taken * std::max(0.0, present));
        if (drop != markov::kNoState && dropped > 0.0) add_move(step->target, drop, m, taken * dropped);
        g.spared *= 1.0 - step->reach;
        continue;
      }
      if (!tilt) continue;
      // An opened tilt: the pending move's chances given the time spent, r_j / present, get
      // their odds multiplied; the factors follow (g'_j = g_j x scale_j keeps the mass present).
      double inside = 0.0;
      for (std::size_t j = 0; j < n; ++j)
        if (favoured(*step, row[j].to)) inside += g.factor[j] * remaining(j, m);
      if (!(present > 0.0) || inside <= 0.0 || inside >= present) continue;  // nothing to tilt
      const double p = inside / present;
      const double tilted = step->multiplier * p / (1.0 - p + step->multiplier * p);
      Group opened = g;
      opened.weight *= step->reach;
      g.weight *= 1.0 - step->reach;
      opened.dropped_before = dropped;
      for (std::size_t j = 0; j < n; ++j)
        opened.factor[j] *= favoured(*step, row[j].to) ? tilted / p : (1.0 - tilted) / (1.0 - p);
      opened.drop_base = drop_mass(opened.factor, m);
      groups.push_back(std::move(opened));
      if (groups.size() > kMaxGroups) too_many_groups(chain, state);
    }
  }
  write_until(size - 1);
  for (std::size_t j = 0; j < n; ++j) out.push_back({row[j].to, std::move(kernels[j])});
  return flows;
}

}  // namespace funnelkit::forecast::detail
