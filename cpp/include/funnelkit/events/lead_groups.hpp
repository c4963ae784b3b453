#pragma once
/// \file An event table's rows grouped by lead, each lead's rows in time order.
///
/// Every per-lead pass over an event log (journeys, funnel reports, later lead features) starts
/// here. Leads arrive as dense codes 0..lead_count-1 (what pandas.factorize or Arrow's
/// dictionary encoding make), so grouping is a counting sort: linear, no hashing.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace funnelkit::events {

struct LeadGroups {
  /// Lead l's rows are rows[offsets[l]] .. rows[offsets[l + 1] - 1]; offsets has lead_count + 1 entries.
  std::vector<std::size_t> offsets;
  /// Row numbers of the input, grouped by lead; within a lead by time, ties in input order.
  std::vector<std::uint32_t> rows;

  [[nodiscard]] std::size_t lead_count() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }
  [[nodiscard]] std::span<const std::uint32_t> of(std::size_t lead) const noexcept {
    return {rows.data() + offsets[lead], offsets[lead + 1] - offsets[lead]};
  }
};

/// Groups rows by lead code and orders each lead's rows by time, on up to `threads` threads
/// (0: all cores). The result does not depend on the thread count. Throws std::invalid_argument
/// if the spans differ in length, a code is outside [0, lead_count), or there are 2^32 rows or more.
[[nodiscard]] LeadGroups group_by_lead(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                                       std::size_t lead_count, std::size_t threads = 0);

}  // namespace funnelkit::events
