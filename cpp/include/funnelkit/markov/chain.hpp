#pragma once
/// \file A validated funnel frozen into a Markov chain, prepared once for every consumer.
///
/// States are the funnel's stages in declaration order, plus a virtual failure state for the
/// drop stage when remainders need one and no stage carries its name. Each transient state owns
/// a compressed row of transitions with cumulative probabilities (for O(log k) sampling) and the
/// first two moments of its delay (for the analytics), so nothing is looked up by name or
/// recomputed on a hot path.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "funnelkit/core/random.hpp"
#include "funnelkit/model/funnel.hpp"

namespace funnelkit::markov {

inline constexpr std::size_t kNoState = std::numeric_limits<std::size_t>::max();

struct Transition {
  std::size_t to = 0;
  double probability = 0.0;
  double cumulative = 0.0;  ///< sum of probabilities of this and the earlier transitions of the row
  const model::Distribution* delay = nullptr;  ///< the edge's delay, else the stage's holding time
  double delay_mean = 0.0;
  double delay_second_moment = 0.0;
  double exponential_rate = 0.0;  ///< the delay's rate when it is exponential (drawn inline), else 0
  std::size_t edge = kNoState;  ///< index in Funnel::edges(); kNoState for the remainder to drop
};

class Chain {
 public:
  /// Validates the funnel (model::validate) and builds the chain.
  [[nodiscard]] static Chain compile(const model::Funnel& funnel);

  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  [[nodiscard]] const std::string& name(std::size_t state) const { return names_[state]; }
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
  [[nodiscard]] model::StageKind kind(std::size_t state) const { return kinds_[state]; }
  [[nodiscard]] bool absorbing(std::size_t state) const { return kinds_[state] != model::StageKind::Transient; }
  [[nodiscard]] double value(std::size_t state) const { return values_[state]; }
  [[nodiscard]] double discount() const noexcept { return discount_; }
  /// Mean of the stage's own holding time (0 without one): the time of a drop-out from it.
  [[nodiscard]] double holding_mean(std::size_t state) const { return holding_means_[state]; }
  /// Entry distribution over states (sums to 1).
  [[nodiscard]] const std::vector<double>& entry() const noexcept { return entry_; }
  /// State receiving row remainders; kNoState when no row has one.
  [[nodiscard]] std::size_t drop_state() const noexcept { return drop_state_; }
  [[nodiscard]] bool has_virtual_drop() const noexcept { return virtual_drop_; }
  /// Index of a state by name (hashed); throws UnknownStageError naming it.
  [[nodiscard]] std::size_t state_index(std::string_view name) const;
  /// Number of edges of the funnel the chain was compiled from.
  [[nodiscard]] std::size_t edge_count() const noexcept { return edge_count_; }

  [[nodiscard]] std::span<const Transition> transitions(std::size_t state) const {
    return {transitions_.data() + row_offsets_[state], row_offsets_[state + 1] - row_offsets_[state]};
  }
  [[nodiscard]] const std::vector<std::size_t>& transient_states() const noexcept { return transient_; }
  [[nodiscard]] const std::vector<std::size_t>& absorbing_states() const noexcept { return absorbing_; }

  /// Next state for a uniform u in (0, 1): the inverse-CDF draw over the row.
  [[nodiscard]] std::size_t sample_next(std::size_t state, double u) const;
  /// Next state and the time spent before moving there (0 without a delay distribution).
  /// Inline: simulations spend much of their time here.
  [[nodiscard]] std::pair<std::size_t, double> sample_step(std::size_t state, Rng& rng) const {
    const auto row = transitions(state);
    if (row.empty()) return {state, 0.0};
    const double target = rng.uniform01() * row.back().cumulative;
    // The first transition whose cumulative probability exceeds the target: a linear scan for
    // the usual short rows, a binary search for hubs.
    std::size_t j = 0;
    if (row.size() <= 8) {
      while (j + 1 < row.size() && !(target < row[j].cumulative)) ++j;
    } else {
      const auto it = std::upper_bound(row.begin(), row.end(), target,
                                       [](double x, const Transition& t) { return x < t.cumulative; });
      j = std::min(static_cast<std::size_t>(it - row.begin()), row.size() - 1);
    }
    const Transition& chosen = row[j];
    // The commonest delay is drawn here (as Exponential::sample does), not by a virtual call.
    if (chosen.exponential_rate > 0.0) return {chosen.to, -std::log(rng.uniform01()) / chosen.exponential_rate};
    return {chosen.to, chosen.delay ? chosen.delay->sample(rng) : 0.0};
  }

 private:
  std::vector<std::string> names_;
  std::vector<model::StageKind> kinds_;
  std::vector<double> values_;
  std::vector<double> holding_means_;
  std::vector<double> entry_;
  std::vector<std::size_t> row_offsets_;
  std::vector<Transition> transitions_;
  std::vector<std::size_t> transient_;
  std::vector<std::size_t> absorbing_;
  std::vector<model::DistributionPtr> keep_alive_;
  std::shared_ptr<std::mutex> index_mutex_ = std::make_shared<std::mutex>();  // copies may share it
  mutable std::unordered_map<std::string, std::size_t> index_;
  std::size_t edge_count_ = 0;
  std::size_t drop_state_ = kNoState;
  bool virtual_drop_ = false;
  double discount_ = 1.0;
};

}  // namespace funnelkit::markov
