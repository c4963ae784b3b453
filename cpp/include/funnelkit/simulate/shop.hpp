#pragma once
/// \file The shop simulation: traffic arrives, leads move through the compiled funnel in
/// continuous time, triggers and campaigns fire at their exact times, orders are drawn.
///
/// Each lead is simulated on its own, as a small exact discrete-event loop: its next move
/// (drawn from the chain's row, the delay drawn from its law) competes with its due messages
/// and campaign sends; whichever comes first happens. An opened message may move the lead or
/// reweight its pending move, which is then redrawn from the law given the time already spent
/// in the stage (markov::NextStep), so no time is discretised at any scale.
///
/// Random numbers are counter-based: every lead draws its journey from Rng(seed', lead) and its
/// order values from a stream of its own; message responses and control-group draws are hashes
/// of (lead, the sender's name, the message's number), where seed' mixes the seed and the
/// replicate. The same seed therefore gives bit-identical results
/// on any number of threads, and two strategies run with one seed share their traffic and
/// every lead's journey until a message changes it (common random numbers). Leads are cut into
/// fixed blocks whose totals are merged in block order.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/next_step.hpp"
#include "funnelkit/model/distribution.hpp"
#include "funnelkit/scoring/funnel_score.hpp"
#include "funnelkit/simulate/strategy.hpp"

namespace funnelkit::simulate {

/// Expected visitors per day and channel (growth and seasonality already applied); each
/// replicate draws Poisson counts per (day, channel) and spreads them uniformly over the day.
struct Traffic {
  std::size_t days = 0;
  std::size_t channels = 1;
  std::vector<double> expected = {};  ///< days * channels, row-major
  /// Arrivals of day d fall in [d, d + 1) * day_length.
  double day_length = 24.0;
  /// Exactly this many leads per (day, channel) instead of Poisson draws (cohort studies).
  bool exact_counts = false;
};

/// Leads already in the funnel at t = 0 (e.g. today's scored leads): their state and how long
/// they have been in it.
struct Population {
  std::vector<std::size_t> states = {};
  std::vector<double> time_in_state = {};
};

struct ShopOptions {
  double horizon = 0.0;     ///< nothing at or after it is simulated (> 0, finite)
  double bin_width = 24.0;  ///< the time series' bin (a day in the funnel's unit)
  std::uint64_t seed = 0;
  std::size_t replicates = 1;
  std::size_t max_transitions = 100'000;  ///< per lead: a guard against endless loops
  /// Multiplier of the purchase state's value, mean 1 (null: the value itself), e.g. a
  /// log-normal for order values spread around the average order value.
  model::DistributionPtr order_value = nullptr;
  bool keep_leads = false;
  bool keep_events = false;
};

/// Per-bin series, per replicate: index [(replicate * bins + bin) * width + column].
enum Series : std::size_t {
  kPurchases,     ///< entries into purchase states
  kBuyers,        ///< first purchases
  kRevenue,       ///< order values before discounts
  kDiscounts,     ///< given away on offers used
  kMessages,      ///< sent
  kDelivered,
  kOpened,
  kMessageCost,
  kSeriesCount
};

/// Per sender (triggers, then campaigns) per replicate: index [(replicate * senders + sender) * kSenderCount + column].
enum SenderColumn : std::size_t {
  kStarts,             ///< condition met (trigger) or in the audience (campaign), treated leads
  kControlStarts,      ///< the same for control leads
  kStartsConverted,    ///< treated starts followed by a purchase within the attribution window
  kControlConverted,
  kStartsRevenue,      ///< order values (before discounts) within the window after treated starts
  kControlRevenue,
  kSent,
  kSenderDelivered,
  kSenderOpened,
  kCapped,             ///< dropped by the frequency cap
  kPostponed,          ///< moved out of quiet hours
  kSenderCost,
  kSenderDiscounts,
  kAttributed,         ///< first purchases whose last opened message came from this sender
  kAttributedRevenue,
  kSenderCount
};

struct LeadOutcome {
  std::uint32_t replicate = 0;
  std::int64_t lead = 0;
  std::int32_t channel = -1;
  double arrival = 0.0;
  std::int32_t final_state = 0;
  std::int32_t purchases = 0;
  double revenue = 0.0;
  double discounts = 0.0;
  double first_purchase = 0.0;  ///< NaN without one
  std::int32_t messages = 0;
  std::int32_t last_touch = -1;  ///< sender opened last before the first purchase; -1: none
  std::int32_t control = 0;      ///< bit s: the lead is in sender s's control group (s < 32)
};

struct StageEvent {
  std::uint32_t replicate = 0;
  std::int64_t lead = 0;
  double time = 0.0;
  std::int32_t state = 0;
  double value = 0.0;  ///< order value on a purchase, NaN otherwise
};

enum class MessageOutcome : std::int8_t { Control, Capped, Sent, Delivered, Opened };

struct MessageEvent {
  std::uint32_t replicate = 0;
  std::int64_t lead = 0;
  double time = 0.0;
  std::int32_t sender = 0;
  std::int32_t step = 0;
  MessageOutcome outcome = MessageOutcome::Sent;
};

struct ShopResult {
  std::size_t replicates = 0;
  std::size_t bins = 0;
  std::size_t states = 0;
  std::size_t channels = 0;
  std::size_t senders = 0;
  std::vector<std::int64_t> arrivals;  ///< [replicate, bin, channel]
  std::vector<std::int64_t> entries;   ///< [replicate, bin, state]
  std::vector<std::int64_t> occupancy; ///< [replicate, bin, state]: leads in the state at the bin's end
  std::vector<double> series;          ///< [replicate, bin, Series]
  std::vector<double> senders_table;   ///< [replicate, sender, SenderColumn]
  // Run totals over all replicates (what was simulated).
  std::int64_t leads = 0;
  std::int64_t transitions = 0;
  std::int64_t messages = 0;
  std::int64_t stopped = 0;            ///< journeys cut by max_transitions
  std::int64_t successes = 0;          ///< journeys that reached a success state
  double time_to_success = 0.0;        ///< summed over successes, from arrival
  double total_value = 0.0;            ///< stage values received (before order-value draws)
  std::vector<LeadOutcome> leads_table;    ///< when keep_leads, ordered by (replicate, lead)
  std::vector<StageEvent> stage_events;    ///< when keep_events, ordered by (replicate, lead, time)
  std::vector<MessageEvent> message_events;
};

/// Runs the simulation. `score` (may be null) is needed only by campaigns with a score band.
/// Throws FunnelError for an invalid strategy, traffic, population or options, Cancelled when
/// progress asks to stop.
[[nodiscard]] ShopResult simulate_shop(std::shared_ptr<const markov::Chain> chain, const Strategy& strategy,
                                       const Traffic& traffic, const Population& population,
                                       const ShopOptions& options,
                                       std::shared_ptr<const scoring::FunnelScore> score = nullptr,
                                       std::size_t threads = 0, const Progress& progress = {});

}  // namespace funnelkit::simulate
