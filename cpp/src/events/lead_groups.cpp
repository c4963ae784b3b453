#include "funnelkit/events/lead_groups.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "funnelkit/core/parallel.hpp"

namespace funnelkit::events {

LeadEvents group_events(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                        std::span<const std::int32_t> code, std::span<const double> payload, std::size_t lead_count,
                        std::size_t threads) {
  if (lead.size() != time.size() || lead.size() != code.size() || (!payload.empty() && payload.size() != lead.size())) {
    throw std::invalid_argument("group_events: columns differ in length");
  }
  if (lead.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("group_events: at most 4,294,967,294 events per call; fit in chunks of whole leads");
  }
  // Each part owns a range of leads and scans every row: reads are sequential, the counting
  // and the random writes of the scatter are split, and no per-thread histograms are merged.
  const std::size_t parts = std::min<std::size_t>(resolve_threads(threads), std::max<std::size_t>(1, lead_count));
  const auto first_lead = [&](std::size_t part) { return lead_count * part / parts; };
  LeadEvents grouped;
  grouped.offsets.assign(lead_count + 1, 0);
  parallel_for(parts, parts, [&](std::size_t part) {
    const std::size_t first = first_lead(part), last = first_lead(part + 1);
    for (std::size_t row = 0; row < lead.size(); ++row) {
      const auto l = static_cast<std::uint64_t>(lead[row]);  // negative codes wrap to huge
      if (l >= lead_count) {
        if (part == 0) {
          throw std::invalid_argument("group_events: lead code " + std::to_string(lead[row]) + " at row " +
                                      std::to_string(row) + " is outside [0, " + std::to_string(lead_count) + ")");
        }
        continue;
      }
      if (l >= first && l < last && code[row] >= 0) ++grouped.offsets[l + 1];
    }
  });
  for (std::size_t l = 0; l < lead_count; ++l) grouped.offsets[l + 1] += grouped.offsets[l];
  grouped.events.resize(grouped.offsets.back());
  if (!payload.empty()) grouped.payload.resize(grouped.offsets.back());

  // Scatter in input order (so a stable order of ties is input order).
  parallel_for(parts, parts, [&](std::size_t part) {
    const std::size_t first = first_lead(part), last = first_lead(part + 1);
    std::vector<std::size_t> cursor(grouped.offsets.begin() + static_cast<std::ptrdiff_t>(first),
                                    grouped.offsets.begin() + static_cast<std::ptrdiff_t>(last));
    for (std::size_t row = 0; row < lead.size(); ++row) {
      const auto l = static_cast<std::size_t>(lead[row]);
      if (l < first || l >= last || code[row] < 0) continue;
      const auto at = cursor[l - first]++;
      grouped.events[at] = {time[row], static_cast<std::uint32_t>(row), code[row]};
      if (!payload.empty()) grouped.payload[at] = payload[row];
    }
  });

  // Logs usually arrive in time order: check before sorting, one lead block per work item.
  constexpr std::size_t kLeadsPerItem = 4096;
  const std::size_t items = (lead_count + kLeadsPerItem - 1) / kLeadsPerItem;
  const auto earlier = [](const LeadEvent& a, const LeadEvent& b) { return a.time < b.time || (a.time == b.time && a.row < b.row); };
  parallel_for(items, threads, [&](std::size_t item) {
    const std::size_t last = std::min(lead_count, (item + 1) * kLeadsPerItem);
    std::vector<std::pair<LeadEvent, double>> scratch;
    for (std::size_t l = item * kLeadsPerItem; l < last; ++l) {
      const auto begin = static_cast<std::ptrdiff_t>(grouped.offsets[l]), end = static_cast<std::ptrdiff_t>(grouped.offsets[l + 1]);
      auto events = grouped.events.begin();
      if (std::is_sorted(events + begin, events + end, earlier)) continue;
      if (grouped.payload.empty()) {
        std::sort(events + begin, events + end, earlier);
        continue;
      }
      scratch.clear();  // sort the payload along
      for (auto i = begin; i < end; ++i) scratch.emplace_back(events[i], grouped.payload[static_cast<std::size_t>(i)]);
      std::sort(scratch.begin(), scratch.end(), [&](const auto& a, const auto& b) { return earlier(a.first, b.first); });
      for (auto i = begin; i < end; ++i) {
        events[i] = scratch[static_cast<std::size_t>(i - begin)].first;
        grouped.payload[static_cast<std::size_t>(i)] = scratch[static_cast<std::size_t>(i - begin)].second;
      }
    }
  });
  return grouped;
}

}  // namespace funnelkit::events
