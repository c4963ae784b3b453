#include "funnelkit/markov/chain.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::markov {

Chain Chain::compile(const model::Funnel& funnel) {
  model::validate(funnel);
  Chain chain;
  const auto& stages = funnel.stages();
  const auto n = stages.size();
  for (const auto& stage : stages) {
    chain.names_.push_back(stage.name);
    chain.kinds_.push_back(stage.kind);
    chain.values_.push_back(stage.value);
    chain.holding_means_.push_back(stage.holding ? stage.holding->mean() : 0.0);
  }
  chain.discount_ = funnel.discount;

  // Group edges by source, keeping declaration order within a row (a counting sort).
  const auto m = funnel.edges().size();
  std::vector<std::size_t> row_start(n + 1, 0), by_source(m);
  for (std::size_t e = 0; e < m; ++e) ++row_start[funnel.source_index(e) + 1];
  for (std::size_t i = 0; i < n; ++i) row_start[i + 1] += row_start[i];
  {
    auto next = row_start;
    for (std::size_t e = 0; e < m; ++e) by_source[next[funnel.source_index(e)]++] = e;
  }
  const auto row = [&](std::size_t i) {
    return std::span<const std::size_t>(by_source.data() + row_start[i], row_start[i + 1] - row_start[i]);
  };

  std::vector<double> remainder(n, 0.0);
  bool needs_drop = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (stages[i].absorbing()) continue;
    double sum = 0.0;
    for (const auto e : row(i)) sum += funnel.edges()[e].probability;
    if (sum < 1.0 - model::kProbabilityTolerance) {
      remainder[i] = 1.0 - sum;
      needs_drop = true;
    }
  }
  if (needs_drop) {
    if (const auto existing = funnel.find_stage(funnel.drop_stage)) {
      chain.drop_state_ = *existing;
    } else {
      chain.drop_state_ = n;
      chain.virtual_drop_ = true;
      chain.names_.push_back(funnel.drop_stage);
      chain.kinds_.push_back(model::StageKind::Failure);
      chain.values_.push_back(0.0);
      chain.holding_means_.push_back(0.0);
    }
  }

  auto moments = [&chain](const model::DistributionPtr& d, Transition& t) {
    if (!d) return;
    chain.keep_alive_.push_back(d);
    t.delay = d.get();
    t.delay_mean = d->mean();
    t.delay_second_moment = d->second_moment();
    if (const auto* exponential = dynamic_cast<const model::Exponential*>(d.get())) t.exponential_rate = exponential->rate();
  };
  chain.row_offsets_.push_back(0);
  for (std::size_t i = 0; i < chain.size(); ++i) {
    double cumulative = 0.0;
    if (i < n && !stages[i].absorbing()) {
      for (const auto e : row(i)) {
        const auto& edge = funnel.edges()[e];
        Transition t;
        t.to = funnel.target_index(e);
        t.probability = edge.probability;
        t.edge = e;
        moments(edge.delay ? edge.delay : stages[i].holding, t);
        cumulative += t.probability;
        t.cumulative = cumulative;
        chain.transitions_.push_back(t);
      }
      if (remainder[i] > 0.0) {
        Transition t;
        t.to = chain.drop_state_;
        t.probability = remainder[i];
        moments(stages[i].holding, t);
        cumulative += t.probability;
        t.cumulative = cumulative;
        chain.transitions_.push_back(t);
      }
    }
    chain.row_offsets_.push_back(chain.transitions_.size());
    (chain.absorbing(i) ? chain.absorbing_ : chain.transient_).push_back(i);
  }

  chain.edge_count_ = funnel.edges().size();
  chain.entry_.assign(chain.size(), 0.0);
  if (funnel.entry().empty()) {
    chain.entry_[0] = 1.0;
  } else {
    double total = 0.0;
    for (const auto& [name, weight] : funnel.entry()) total += weight;
    for (const auto& [name, weight] : funnel.entry()) chain.entry_[funnel.stage_index(name)] += weight / total;
  }
  return chain;
}

std::size_t Chain::state_index(std::string_view name) const {
  // Built on first use: most consumers address states by index.
  const std::lock_guard lock(*index_mutex_);
  if (index_.empty()) {
    index_.reserve(size());
    for (std::size_t i = 0; i < size(); ++i) index_.emplace(names_[i], i);
  }
  const auto it = index_.find(std::string(name));
  if (it == index_.end())
    throw FunnelError(ErrorKind::UnknownStage, "unknown stage '" + std::string(name) + "'", std::string(name));
  return it->second;
}

std::size_t Chain::sample_next(std::size_t state, double u) const {
  const auto row = transitions(state);
  if (row.empty()) return state;  // absorbing
  const double target = u * row.back().cumulative;
  const auto it = std::upper_bound(row.begin(), row.end(), target,
                                   [](double x, const Transition& t) { return x < t.cumulative; });
  return it == row.end() ? row.back().to : it->to;
}


}  // namespace funnelkit::markov
