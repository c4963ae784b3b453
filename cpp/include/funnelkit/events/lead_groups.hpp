#pragma once
/// \file An event table's rows grouped by lead, each lead's events in time order.
///
/// Every per-lead pass over an event log (journeys, funnel reports, later lead features) starts
/// here. Leads arrive as dense codes 0..lead_count-1 (what pandas.factorize or Arrow's
/// dictionary encoding make), so grouping is a counting sort: linear, no hashing. The events
/// are copied into the grouped order, packed with what the passes read, so that each lead's
/// walk reads contiguous memory instead of gathering rows from all over the input (on a log
/// in random order that gather costs about five times the walk itself).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "funnelkit/core/uninitialized.hpp"

namespace funnelkit::events {

/// One event in grouped order.
struct LeadEvent {
  std::int64_t time;  ///< nanoseconds
  std::uint32_t row;  ///< row number in the input
  std::int32_t code;  ///< the caller's code for the row (a stage, an event name)
};

struct LeadEvents {
  /// Lead l's events are events[offsets[l]] .. events[offsets[l + 1] - 1]; lead_count + 1 entries.
  std::vector<std::size_t> offsets;
  /// Grouped by lead; within a lead by time, ties in input order.
  UninitializedVector<LeadEvent> events;
  /// payload[row] of each event, in the same order (empty when no payload was given).
  UninitializedVector<double> payload;

  [[nodiscard]] std::size_t lead_count() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }
  [[nodiscard]] std::span<const LeadEvent> of(std::size_t lead) const noexcept {
    return {events.data() + offsets[lead], offsets[lead + 1] - offsets[lead]};
  }
  [[nodiscard]] std::span<const double> payload_of(std::size_t lead) const noexcept {
    if (payload.empty()) return {};
    return {payload.data() + offsets[lead], offsets[lead + 1] - offsets[lead]};
  }
};

/// Groups the rows whose code is >= 0 by lead and orders each lead's events by time, on up to
/// `threads` threads (0: all cores); rows with a negative code are left out. `payload` is empty
/// or one number per row, carried along. The result does not depend on the thread count.
/// Throws std::invalid_argument if the spans differ in length, a lead code is outside
/// [0, lead_count), or there are 2^32 rows or more.
[[nodiscard]] LeadEvents group_events(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                                      std::span<const std::int32_t> code, std::span<const double> payload,
                                      std::size_t lead_count, std::size_t threads = 0);

}  // namespace funnelkit::events
