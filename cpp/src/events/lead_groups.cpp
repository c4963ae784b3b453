#include "funnelkit/events/lead_groups.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "funnelkit/core/parallel.hpp"

namespace funnelkit::events {

LeadGroups group_by_lead(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                         std::size_t lead_count, std::size_t threads) {
  if (lead.size() != time.size()) {
    throw std::invalid_argument("group_by_lead: lead and time columns differ in length");
  }
  if (lead.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("group_by_lead: at most 4,294,967,294 events per call; fit in chunks of whole leads");
  }
  LeadGroups groups;
  groups.offsets.assign(lead_count + 1, 0);
  for (std::size_t row = 0; row < lead.size(); ++row) {
    const auto code = lead[row];
    if (code < 0 || static_cast<std::uint64_t>(code) >= lead_count) {
      throw std::invalid_argument("group_by_lead: lead code " + std::to_string(code) + " at row " +
                                  std::to_string(row) + " is outside [0, " + std::to_string(lead_count) + ")");
    }
    ++groups.offsets[static_cast<std::size_t>(code) + 1];
  }
  for (std::size_t l = 0; l < lead_count; ++l) groups.offsets[l + 1] += groups.offsets[l];

  // Scatter in input order, so rows with equal times stay in input order after a stable sort.
  groups.rows.resize(lead.size());
  std::vector<std::size_t> cursor(groups.offsets.begin(), groups.offsets.end() - 1);
  for (std::size_t row = 0; row < lead.size(); ++row) {
    groups.rows[cursor[static_cast<std::size_t>(lead[row])]++] = static_cast<std::uint32_t>(row);
  }
  cursor = {};

  // Logs usually arrive in time order: check before sorting, one lead block per work item.
  constexpr std::size_t kLeadsPerItem = 4096;
  const std::size_t items = (lead_count + kLeadsPerItem - 1) / kLeadsPerItem;
  const auto by_time = [&](std::uint32_t a, std::uint32_t b) { return time[a] < time[b]; };
  parallel_for(items, threads, [&](std::size_t item) {
    const std::size_t first = item * kLeadsPerItem;
    const std::size_t last = std::min(lead_count, first + kLeadsPerItem);
    for (std::size_t l = first; l < last; ++l) {
      auto begin = groups.rows.begin() + static_cast<std::ptrdiff_t>(groups.offsets[l]);
      auto end = groups.rows.begin() + static_cast<std::ptrdiff_t>(groups.offsets[l + 1]);
      if (!std::is_sorted(begin, end, by_time)) std::stable_sort(begin, end, by_time);
    }
  });
  return groups;
}

}  // namespace funnelkit::events
