#pragma once
// One lead's exact discrete-event walk (journey, triggers, campaigns, orders) and the
// per-block totals it adds to. Internal to simulate_shop.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/next_step.hpp"
#include "funnelkit/scoring/funnel_score.hpp"
#include "funnelkit/simulate/shop.hpp"
#include "funnelkit/simulate/strategy.hpp"

namespace funnelkit::simulate {

/// The replicate's seed: every stream of replicate r derives from it.
[[nodiscard]] std::uint64_t replicate_seed(std::uint64_t seed, std::size_t replicate) noexcept;

/// Everything the walks share, prepared once: read-only while blocks run.
struct WalkSetup {
  WalkSetup(const markov::Chain& chain, const markov::NextStep& next_step, const Strategy& strategy,
            const Traffic& traffic, const Population& population, const ShopOptions& options, std::size_t bins,
            const scoring::FunnelScore* score);

  [[nodiscard]] std::size_t senders() const noexcept { return strategy.triggers.size() + strategy.campaigns.size(); }

  struct Send {
    double time;
    std::uint32_t campaign;
  };

  const markov::Chain& chain;
  const markov::NextStep& next_step;
  const Strategy& strategy;
  const Traffic& traffic;
  const Population& population;
  const ShopOptions& options;
  std::size_t bins;
  const scoring::FunnelScore* score;
  /// What the walk asks of a state on every entry, packed together.
  struct StateInfo {
    double value = 0.0;
    bool absorbing = false;
    bool success = false;
    bool purchase = false;  // value > 0
    bool excluded = false;  // gets no message
    std::uint32_t watch_begin = 0;  // Enter/Idle/Custom triggers it starts: watch_list[begin, end)
    std::uint32_t watch_end = 0;
  };
  std::vector<StateInfo> info;
  std::vector<std::uint32_t> watch_list;
  std::vector<double> entry_cumulative;
  std::size_t single_entry = markov::kNoState;  // the entry state when there is only one
  double per_bin = 1.0;                         // 1 / bin width
  std::size_t drop_state = markov::kNoState;    // entering it continues the stay (see enter)
  std::vector<std::uint32_t> purchase_triggers;
  std::vector<std::vector<std::uint8_t>> audience_states;  // per campaign, per state
  std::vector<std::uint64_t> sender_keys;                  // stream keys from the senders' names
  std::vector<double> control_share;                       // per sender
  std::vector<Send> sends;                                 // every campaign send, by time
  bool has_triggers = false;
  bool any_control = false;
  bool capped = false;
  bool quiet = false;
};

/// What a block of leads of one replicate added up to.
struct BlockTotals {
  std::vector<std::int64_t> arrivals;        // [bin, channel]
  std::vector<std::int64_t> entries;         // [bin, state]
  std::vector<std::int64_t> occupancy_diff;  // [bin, state]: +1 on entry, -1 on leaving
  std::vector<double> series;                // [bin, Series]
  std::vector<double> senders;               // [sender, SenderColumn]
  std::int64_t leads = 0;
  std::int64_t transitions = 0;
  std::int64_t messages = 0;
  std::int64_t stopped = 0;
  std::int64_t successes = 0;
  double time_to_success = 0.0;
  double total_value = 0.0;
  std::vector<LeadOutcome> leads_table;
  std::vector<StageEvent> stage_events;
  std::vector<MessageEvent> message_events;

  void add_to(ShopResult& result, std::size_t replicate) const;
};

/// Walks leads [begin, end) of `replicate`; `cell_offsets` holds the replicate's first lead of
/// every (day, channel) cell and the total at the end.
[[nodiscard]] BlockTotals walk_block(const WalkSetup& setup, std::size_t replicate, std::int64_t begin,
                                     std::int64_t end, std::span<const std::int64_t> cell_offsets);

/// Turns the summed occupancy differences into leads per state at each bin's end.
void finish_occupancy(ShopResult& result);

}  // namespace funnelkit::simulate
