#include "funnelkit/events/journeys.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include <boost/unordered/unordered_flat_map.hpp>

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

/// Walks one lead's time-ordered rows and adds its journeys to `out`.
class LeadWalker {
 public:
  LeadWalker(const JourneyRules& rules, std::size_t stage_count) : rules_(rules), entered_(stage_count, 0) {}

  /// `events` are the lead's mapped events in time order; `values` empty or one per event.
  void walk(std::span<const LeadEvent> events, std::span<const double> values, BlockCounts& out) {
    current_ = -1;
    std::int64_t last_time = 0;
    bool absorbed = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto s = events[i].code;
      if (absorbed) {
        ++out.events_ignored;
        continue;
      }
      ++out.events_used;
      const auto t = events[i].time;
      if (current_ >= 0 && (t - entry_time_ > rules_.window ||
                            (rules_.session_gap > 0 && t - last_time > rules_.session_gap))) {
        close_as_loss(out);
      }
      last_time = t;
      const auto su = static_cast<std::size_t>(s);
      if (s != current_ && entered_[su] && rules_.repeat_stage[su] >= 0) s = rules_.repeat_stage[su];
      if (!values.empty() && !std::isnan(values[i])) {
        out.value_sum[static_cast<std::size_t>(s)] += values[i];
        ++out.value_count[static_cast<std::size_t>(s)];
      }
      if (s == current_) continue;  // a repeat within the stay
      if (current_ < 0) {
        ++out.journeys;
        ++out.starts[static_cast<std::size_t>(s)];
      } else if (followed_up()) {
        ++out.entries[static_cast<std::size_t>(current_)];
        out.transition(current_, s, static_cast<double>(t - entry_time_) / rules_.nanoseconds_per_unit);
      } else {
        ++out.censored[static_cast<std::size_t>(current_)];
      }
      enter(s, t);
      if (rules_.absorbing[static_cast<std::size_t>(s)]) {
        current_ = -1;
        absorbed = true;
      }
    }
    if (current_ >= 0) {
      if (followed_up()) {
        close_as_loss(out);
      } else {
        ++out.censored[static_cast<std::size_t>(current_)];
      }
    }
    for (const auto s : touched_) entered_[s] = 0;
    touched_.clear();
  }

 private:
  [[nodiscard]] bool followed_up() const { return entry_time_ <= rules_.observed_until - rules_.window; }

  void close_as_loss(BlockCounts& out) {
    const auto s = static_cast<std::size_t>(current_);
    if (followed_up()) {
      ++out.entries[s];
      ++out.losses[s];
    } else {
      ++out.censored[s];
    }
    current_ = -1;
  }

  void enter(std::int32_t s, std::int64_t t) {
    current_ = s;
    entry_time_ = t;
    const auto su = static_cast<std::size_t>(s);
    if (!entered_[su]) {
      entered_[su] = 1;
      touched_.push_back(su);
    }
  }

  const JourneyRules& rules_;
  std::vector<std::uint8_t> entered_;  // stages this lead has entered (for repeat_stage)
  std::vector<std::size_t> touched_;
  std::int32_t current_ = -1;
  std::int64_t entry_time_ = 0;
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
        LeadWalker walker(rules, stage_count);
        const auto last = std::min(lead_count, (b + 1) * kLeadsPerBlock);
        for (std::size_t l = b * kLeadsPerBlock; l < last; ++l) walker.walk(groups.of(l), groups.payload_of(l), partial[b]);
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
