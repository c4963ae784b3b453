#include "funnelkit/events/journeys.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include <boost/unordered/unordered_flat_map.hpp>

#include "funnelkit/events/journey_walk.hpp"
#include "funnelkit/events/lead_groups.hpp"

namespace funnelkit::events {
namespace {

/// What one block of leads contributes; blocks are merged in order.
struct BlockCounts {
  std::vector<std::int64_t> starts, entries, censored, losses, value_count;
  std::vector<double> value_sum;
  boost::unordered_flat_map<std::uint64_t, std::size_t> transition_of;  // (source << 32 | target) -> slot
  std::vector<std::uint64_t> keys;
  std::vector<std::vector<double>> durations;  // per slot
  std::int64_t events_used = 0, events_ignored = 0, journeys = 0;

  explicit BlockCounts(std::size_t stages)
      : starts(stages), entries(stages), censored(stages), losses(stages), value_count(stages), value_sum(stages) {}

  void transition(std::int32_t source, std::int32_t target, double duration) {
    const auto key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(source)) << 32) |
                     static_cast<std::uint32_t>(target);
    auto [it, inserted] = transition_of.try_emplace(key, keys.size());
    if (inserted) {
      keys.push_back(key);
      durations.emplace_back();
    }
    durations[it->second].push_back(duration);
  }
};

/// Counts one block's journeys: the observer of the shared journey walk (journey_walk.hpp).
class Counter {
 public:
  Counter(const JourneyRules& rules, BlockCounts& out) : rules_(rules), out_(out) {}

  void set_values(std::span<const double> values) { values_ = values; }
  void ignored() { ++out_.events_ignored; }
  void used(std::size_t i, std::int32_t s) {
    ++out_.events_used;
    if (!values_.empty() && !std::isnan(values_[i])) {
      out_.value_sum[static_cast<std::size_t>(s)] += values_[i];
      ++out_.value_count[static_cast<std::size_t>(s)];
    }
  }
  void loss(std::int32_t s, std::int64_t entry_time) {
    const auto su = static_cast<std::size_t>(s);
    if (followed_up(entry_time)) {
      ++out_.entries[su];
      ++out_.losses[su];
    } else {
      ++out_.censored[su];
    }
  }
  void start(std::int32_t s, std::int64_t /*time*/) {
    ++out_.journeys;
    ++out_.starts[static_cast<std::size_t>(s)];
  }
  void transition(std::int32_t from, std::int32_t to, std::int64_t entry_time, std::int64_t time) {
    if (followed_up(entry_time)) {
      ++out_.entries[static_cast<std::size_t>(from)];
      out_.transition(from, to, static_cast<double>(time - entry_time) / rules_.nanoseconds_per_unit);
    } else {
      ++out_.censored[static_cast<std::size_t>(from)];
    }
  }
  void absorbed(std::int32_t /*s*/, std::int64_t /*time*/) {}
  void open_end(std::int32_t s, std::int64_t entry_time, std::int64_t /*last_time*/) { loss(s, entry_time); }

 private:
  /// Whether an entry's window closed before the cut (its outcome is known).
  [[nodiscard]] bool followed_up(std::int64_t entry_time) const {
    return entry_time <= rules_.observed_until - rules_.window;
  }

  const JourneyRules& rules_;
  BlockCounts& out_;
  std::span<const double> values_;
};

void add(std::vector<std::int64_t>& into, const std::vector<std::int64_t>& from) {
  for (std::size_t i = 0; i < into.size(); ++i) into[i] += from[i];
}

}  // namespace

void TransitionCounts::merge(const TransitionCounts& other) {
  if (other.stage_count != stage_count) throw std::invalid_argument("merge: counts over different stages");
  add(starts, other.starts);
  add(entries, other.entries);
  add(censored, other.censored);
  add(losses, other.losses);
  add(value_count, other.value_count);
  for (std::size_t i = 0; i < value_sum.size(); ++i) value_sum[i] += other.value_sum[i];
  events_used += other.events_used;
  events_ignored += other.events_ignored;
  journeys += other.journeys;

  // Merge two sorted transition lists; durations keep chunk order.
  TransitionCounts merged;
  std::size_t a = 0, b = 0;
  const auto key = [](const TransitionCounts& c, std::size_t i) { return std::pair{c.source[i], c.target[i]}; };
  const auto take = [&merged](const TransitionCounts& c, std::size_t i) {
    merged.durations.insert(merged.durations.end(), c.durations.begin() + static_cast<std::ptrdiff_t>(c.duration_offsets[i]),
                            c.durations.begin() + static_cast<std::ptrdiff_t>(c.duration_offsets[i + 1]));
  };
  while (a < source.size() || b < other.source.size()) {
    const bool from_this = b == other.source.size() || (a < source.size() && key(*this, a) <= key(other, b));
    const bool both = a < source.size() && b < other.source.size() && key(*this, a) == key(other, b);
    const auto& c = from_this ? *this : other;
    const auto i = from_this ? a : b;
    merged.source.push_back(c.source[i]);
    merged.target.push_back(c.target[i]);
    merged.count.push_back(c.count[i] + (both ? other.count[b] : 0));
    take(c, i);
    if (both) take(other, b);
    merged.duration_offsets.push_back(merged.durations.size());
    if (from_this) ++a;
    if (!from_this || both) ++b;
  }
  source = std::move(merged.source);
  target = std::move(merged.target);
  count = std::move(merged.count);
  duration_offsets = std::move(merged.duration_offsets);
  durations = std::move(merged.durations);
}

TransitionCounts count_transitions(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                                   std::span<const std::int32_t> stage, std::span<const double> value,
                                   std::size_t lead_count, std::size_t stage_count, const JourneyRules& rules,
                                   std::size_t threads, const Progress& progress) {
  if (stage.size() != lead.size() || (!value.empty() && value.size() != lead.size())) {
    throw std::invalid_argument("count_transitions: columns differ in length");
  }
  if (rules.repeat_stage.size() != stage_count || rules.absorbing.size() != stage_count) {
    throw std::invalid_argument("count_transitions: repeat_stage and absorbing need one entry per stage");
  }
  if (rules.window <= 0) throw std::invalid_argument("count_transitions: the window must be positive");
  for (std::size_t row = 0; row < stage.size(); ++row) {
    if (stage[row] >= static_cast<std::int64_t>(stage_count)) {
      throw std::invalid_argument("count_transitions: stage code " + std::to_string(stage[row]) + " at row " +
                                  std::to_string(row) + " is out of range");
    }
  }
  const auto groups = group_events(lead, time, stage, value, lead_count, threads);

  constexpr std::size_t kLeadsPerBlock = 1 << 14;
  const std::size_t blocks = (lead_count + kLeadsPerBlock - 1) / kLeadsPerBlock;
  std::vector<BlockCounts> partial;
  partial.reserve(blocks);
  for (std::size_t b = 0; b < blocks; ++b) partial.emplace_back(stage_count);
  parallel_for(
      blocks, threads,
      [&](std::size_t b) {
        JourneyWalker walker(rules, stage_count);
        Counter counter(rules, partial[b]);
        const auto stage_of = [](const LeadEvent& event) { return event.code; };
        const auto last = std::min(lead_count, (b + 1) * kLeadsPerBlock);
        for (std::size_t l = b * kLeadsPerBlock; l < last; ++l) {
          counter.set_values(groups.payload_of(l));
          walker.walk(groups.of(l), stage_of, counter);
        }
      },
      progress, std::max<std::size_t>(1, blocks / 50));

  TransitionCounts total;
  total.stage_count = stage_count;
  for (auto* v : {&total.starts, &total.entries, &total.censored, &total.losses, &total.value_count}) v->assign(stage_count, 0);
  total.value_sum.assign(stage_count, 0.0);
  boost::unordered_flat_map<std::uint64_t, std::size_t> slot_of;
  std::vector<std::uint64_t> keys;
  for (const auto& block : partial) {
    add(total.starts, block.starts);
    add(total.entries, block.entries);
    add(total.censored, block.censored);
    add(total.losses, block.losses);
    add(total.value_count, block.value_count);
    for (std::size_t s = 0; s < stage_count; ++s) total.value_sum[s] += block.value_sum[s];
    total.events_used += block.events_used;
    total.events_ignored += block.events_ignored;
    total.journeys += block.journeys;
    for (const auto key : block.keys) {
      if (slot_of.try_emplace(key, keys.size()).second) keys.push_back(key);
    }
  }
  // Transitions sorted by (source, target); durations concatenated in block order.
  std::vector<std::size_t> order(keys.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return keys[x] < keys[y]; });
  std::vector<std::size_t> sorted_position(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) sorted_position[order[i]] = i;
  std::vector<std::size_t> sizes(keys.size(), 0);
  for (const auto& block : partial) {
    for (std::size_t k = 0; k < block.keys.size(); ++k) sizes[sorted_position[slot_of[block.keys[k]]]] += block.durations[k].size();
  }
  total.duration_offsets.assign(keys.size() + 1, 0);
  for (std::size_t i = 0; i < keys.size(); ++i) total.duration_offsets[i + 1] = total.duration_offsets[i] + sizes[i];
  total.durations.resize(total.duration_offsets.back());
  std::vector<std::size_t> cursor(total.duration_offsets.begin(), total.duration_offsets.end() - 1);
  for (auto& block : partial) {
    for (std::size_t k = 0; k < block.keys.size(); ++k) {
      const auto i = sorted_position[slot_of[block.keys[k]]];
      std::copy(block.durations[k].begin(), block.durations[k].end(),
                total.durations.begin() + static_cast<std::ptrdiff_t>(cursor[i]));
      cursor[i] += block.durations[k].size();
    }
    block = BlockCounts(0);  // free as we go
  }
  total.source.resize(keys.size());
  total.target.resize(keys.size());
  total.count.resize(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto key = keys[order[i]];
    total.source[i] = static_cast<std::int32_t>(key >> 32);
    total.target[i] = static_cast<std::int32_t>(key & 0xffffffffU);
    total.count[i] = static_cast<std::int64_t>(total.duration_offsets[i + 1] - total.duration_offsets[i]);
  }
  return total;
}

}  // namespace funnelkit::events
