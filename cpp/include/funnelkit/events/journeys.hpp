#pragma once
/// \file Journeys through a funnel reconstructed from an event log, counted per transition.
///
/// A lead's mapped events, in time order, form journeys. Consecutive events of one stage are
/// one stay (repeats collapse); the first event of another stage is a transition, whose
/// duration runs from entering the first stage to entering the second. A lead *has left the
/// funnel* at a stage when no other stage follows within `window` of entering it: that stay
/// ends in a loss, and the lead's next event (if any) starts a new journey. Entering an
/// absorbing stage ends the journey, and the lead's later events are ignored.
///
/// The log is cut at `observed_until`. An entry's outcome is known for certain only once its
/// window has closed, and quick outcomes (transitions) are seen before slow ones (losses, known
/// only `window` later). So only entries whose window closed before the cut are counted
/// (followed up); later ones are counted as censored, whatever happened after them. Selecting
/// on entry time alone, not on the outcome, keeps the estimate unbiased.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "funnelkit/core/parallel.hpp"

namespace funnelkit::events {

struct JourneyRules {
  /// Nanoseconds: a stay with no other stage within this time of its entry ends in a loss.
  std::int64_t window = 0;
  /// Nanoseconds since the epoch: the log's cut.
  std::int64_t observed_until = 0;
  /// Nanoseconds, 0 for none: a longer gap between a lead's consecutive mapped events also ends
  /// the journey (a journey per session).
  std::int64_t session_gap = 0;
  /// Durations are reported in units of this many nanoseconds (3.6e12: hours).
  double nanoseconds_per_unit = 3.6e12;
  /// Per stage: where a lead's second and later entries into it go instead (-1: nowhere else),
  /// e.g. paid -> repeat.
  std::vector<std::int32_t> repeat_stage;
  /// Per stage: whether entering it ends the journey for good.
  std::vector<std::uint8_t> absorbing;
};

/// Counts of one log (or several, merged): additive over chunks that hold whole leads.
struct TransitionCounts {
  std::size_t stage_count = 0;
  std::vector<std::int64_t> starts;    ///< journeys that began at each stage
  std::vector<std::int64_t> entries;   ///< followed-up entries (window closed before the cut)
  std::vector<std::int64_t> censored;  ///< entries still open at the cut
  std::vector<std::int64_t> losses;    ///< followed-up entries that left the funnel
  std::vector<double> value_sum;       ///< order values of events mapped to each stage
  std::vector<std::int64_t> value_count;
  /// Followed-up transitions, sorted by (source, target).
  std::vector<std::int32_t> source;
  std::vector<std::int32_t> target;
  std::vector<std::int64_t> count;
  /// Durations of transition t: durations[duration_offsets[t] .. duration_offsets[t + 1]).
  std::vector<std::size_t> duration_offsets{0};
  std::vector<double> durations;
  std::int64_t events_used = 0;      ///< mapped events of the leads
  std::int64_t events_ignored = 0;   ///< mapped events after an absorbing stage
  std::int64_t journeys = 0;

  /// Adds another chunk's counts (chunks must not share leads).
  void merge(const TransitionCounts& other);
};

/// Counts journeys of every lead. `stage` holds a stage code per row (-1: unmapped, skipped);
/// `value` is empty or one order value per row (NaN: none). Work is split over lead blocks on
/// `threads` threads and merged in block order, so the result does not depend on the thread
/// count. Throws std::invalid_argument for mismatched lengths or codes out of range.
[[nodiscard]] TransitionCounts count_transitions(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                                                 std::span<const std::int32_t> stage, std::span<const double> value,
                                                 std::size_t lead_count, std::size_t stage_count,
                                                 const JourneyRules& rules, std::size_t threads = 0,
                                                 const Progress& progress = {});

}  // namespace funnelkit::events
