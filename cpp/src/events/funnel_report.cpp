#include "funnelkit/events/funnel_report.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "funnelkit/events/lead_groups.hpp"

namespace funnelkit::events {
namespace {

// Durations are unsigned: the time between two int64 stamps taken in order is exact as an
// unsigned difference over the whole int64 range, where a signed one could overflow.
using Ns = std::uint64_t;
constexpr Ns kUnlimited = std::numeric_limits<Ns>::max();
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

Ns duration(std::int64_t ns) { return ns == kNoLimit ? kUnlimited : static_cast<Ns>(ns); }
Ns between(std::int64_t earlier, std::int64_t later) { return static_cast<Ns>(later) - static_cast<Ns>(earlier); }

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("funnel report: " + message); }

// A link lets a chain go straight from step `lower` to step `upper` (every step between them
// is optional). Its window is the upper step's own: the time from the previous matched step.
struct Link {
  std::uint32_t lower;
  std::uint32_t upper;
  Ns window;
};

// An exclusion and the links whose partial chains its events end.
struct Zone {
  std::uint32_t from;
  std::uint32_t to;
  std::vector<std::uint32_t> links;
};

// Compressed rows: row r is values[begin[r] .. begin[r + 1]).
struct Rows {
  std::vector<std::uint32_t> begin{0};
  std::vector<std::uint32_t> values;

  [[nodiscard]] std::span<const std::uint32_t> of(std::int32_t row) const noexcept {
    const auto r = static_cast<std::size_t>(row);
    if (row < 0 || r + 1 >= begin.size()) return {};
    return {values.data() + begin[r], begin[r + 1] - begin[r]};
  }
};

Rows rows_from(std::vector<std::vector<std::uint32_t>> lists) {
  Rows rows;
  for (auto& list : lists) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    rows.values.insert(rows.values.end(), list.begin(), list.end());
    rows.begin.push_back(static_cast<std::uint32_t>(rows.values.size()));
  }
  return rows;
}

// The spec laid out for per-event lookups.
struct Compiled {
  std::uint32_t steps = 0;
  std::vector<std::uint8_t> optional;
  std::vector<std::uint32_t> previous_required;  // per step > 0
  std::vector<Link> links;
  Rows links_down;  // per step: the links whose upper step it is
  Rows links_up;    // per step: the links whose lower step it is
  std::vector<Zone> zones;
  Rows step_events;  // per event code: the steps it matches, ascending
  Rows zone_events;  // per event code: the exclusions it belongs to
  Ns window = kUnlimited;
  Ns session_gap = kUnlimited;
  StepOrder order = StepOrder::ordered;
  Anchor anchor = Anchor::first;
};

Compiled compile(const FunnelSpec& spec) {
  Compiled f;
  f.steps = static_cast<std::uint32_t>(spec.steps.size());
  f.window = duration(spec.window);
  f.session_gap = duration(spec.session_gap);
  f.order = spec.order;
  f.anchor = spec.anchor;
  std::int32_t codes = 0;
  for (const auto& step : spec.steps)
    for (const auto code : step.events) codes = std::max(codes, code + 1);
  for (const auto& exclusion : spec.exclusions)
    for (const auto code : exclusion.events) codes = std::max(codes, code + 1);

  std::vector<std::vector<std::uint32_t>> by_code(static_cast<std::size_t>(codes));
  std::uint32_t last_required = 0;
  f.previous_required.assign(f.steps, kNone);
  for (std::uint32_t s = 0; s < f.steps; ++s) {
    f.optional.push_back(spec.steps[s].optional ? 1 : 0);
    if (s > 0) f.previous_required[s] = last_required;
    if (!spec.steps[s].optional) last_required = s;
    for (const auto code : spec.steps[s].events) by_code[static_cast<std::size_t>(code)].push_back(s);
  }
  f.step_events = rows_from(std::move(by_code));

  std::vector<std::vector<std::uint32_t>> down(f.steps), up(f.steps);
  for (std::uint32_t lower = 0; lower + 1 < f.steps; ++lower) {
    for (std::uint32_t upper = lower + 1; upper < f.steps; ++upper) {
      const auto id = static_cast<std::uint32_t>(f.links.size());
      f.links.push_back({lower, upper, duration(spec.steps[upper].window)});
      down[upper].push_back(id);
      up[lower].push_back(id);
      if (!spec.steps[upper].optional) break;
    }
  }
  f.links_down = rows_from(std::move(down));
  f.links_up = rows_from(std::move(up));

  by_code.assign(static_cast<std::size_t>(codes), {});
  for (const auto& exclusion : spec.exclusions) {
    Zone zone{static_cast<std::uint32_t>(exclusion.from), static_cast<std::uint32_t>(exclusion.to), {}};
    // A chain whose last matched step is in [from, to) has matched `from` and not yet `to`.
    for (std::uint32_t id = 0; id < f.links.size(); ++id)
      if (f.links[id].lower >= zone.from && f.links[id].upper <= zone.to) zone.links.push_back(id);
    for (const auto code : exclusion.events)
      by_code[static_cast<std::size_t>(code)].push_back(static_cast<std::uint32_t>(f.zones.size()));
    f.zones.push_back(std::move(zone));
  }
  f.zone_events = rows_from(std::move(by_code));
  return f;
}

// One pass of the chain search over a lead's events, forward (log order) or backward.
struct Pass {
  bool reverse = false;
  std::uint32_t last_step = 0;       // steps above it are ignored
  std::uint32_t first = 0;           // the range of sequence indices to visit: [first, end)
  std::uint32_t end = 0;
  std::uint32_t only_start = kNone;  // when set, the one sequence index that may start chains
  bool keep_nodes = false;           // record chain ends with back-pointers
};

// A chain end: where (lead-local position), at which step, and the end it extended.
struct Node {
  std::uint32_t position;
  std::uint32_t step;
  std::uint32_t parent;
};

// The chain search: a dynamic programme over one lead's events. For each link it keeps the
// partial chains that could still be extended across it and that no other beats, i.e. none
// with a start at least as late and a last event at least as late (in the pass's order). They
// sit in a monotone queue: starts decreasing, last events increasing, so the front is the best
// chain whose last event is still within the link's window, and every chain enters and leaves
// a queue once. Backward passes are the same search on the reversed sequence.
class ChainSearch {
 public:
  explicit ChainSearch(const Compiled& f) : f_(f), queues_(f.links.size()) {}

  // Calls on_node(step, sequence index, start sequence index, node id) for each chain end made.
  template <class OnNode>
  void run(std::span<const std::int64_t> t, std::span<const std::int32_t> code, const Pass& pass, OnNode&& on_node) {
    clear_queues();
    nodes_.clear();
    const auto n = static_cast<std::uint32_t>(t.size());
    const auto position = [&](std::uint32_t k) { return pass.reverse ? n - 1 - k : k; };
    const auto elapsed = [&](std::uint32_t a, std::uint32_t b) {  // from sequence index a to b >= a
      return pass.reverse ? between(t[position(b)], t[position(a)]) : between(t[position(a)], t[position(b)]);
    };
    const std::uint32_t start_step = pass.reverse ? pass.last_step : 0;
    for (std::uint32_t k = pass.first; k < pass.end; ++k) {
      const auto at = position(k);
      if (k > pass.first && f_.session_gap != kUnlimited && elapsed(k - 1, k) > f_.session_gap) clear_queues();
      // Read every extension first and record them after, so one event serves one step per chain.
      made_.clear();
      for (const auto step : f_.step_events.of(code[at])) {
        if (step > pass.last_step) break;
        if (step == start_step) {
          if (pass.only_start == kNone || pass.only_start == k) made_.push_back({step, k, kNone});
          continue;
        }
        if (const auto best = best_into(step, k, pass, elapsed)) made_.push_back({step, best->start, best->node});
      }
      if (f_.order == StepOrder::strict) clear_queues();  // only the previous event's chains go on
      for (const auto z : f_.zone_events.of(code[at])) {
        // A zone reaching past last_step still binds: a chain stopping inside it may hold no
        // excluded event after its step `from` (links above last_step are simply unused).
        const Zone& zone = f_.zones[z];
        for (const auto id : zone.links) queues_[id].clear();
        // This event lies strictly between the steps of a chain that matches it to a step inside.
        std::erase_if(made_, [&](const Made& m) { return zone.from < m.step && m.step < zone.to; });
      }
      for (const auto& m : made_) {
        auto id = kNone;
        if (pass.keep_nodes) {
          id = static_cast<std::uint32_t>(nodes_.size());
          nodes_.push_back({at, m.step, m.parent});
        }
        on_node(m.step, k, m.start, id);
        for (const auto link : pass.reverse ? f_.links_down.of(static_cast<std::int32_t>(m.step))
                                            : f_.links_up.of(static_cast<std::int32_t>(m.step))) {
          if (!pass.reverse && f_.links[link].upper > pass.last_step) continue;
          queues_[link].push({m.start, k, id});
        }
      }
    }
  }

  [[nodiscard]] const Node& node(std::uint32_t id) const { return nodes_[id]; }

 private:
  struct Entry {
    std::uint32_t start;  // sequence indices
    std::uint32_t last;
    std::uint32_t node;
  };
  struct Made {
    std::uint32_t step;
    std::uint32_t start;
    std::uint32_t parent;
  };
  struct Queue {
    std::vector<Entry> items;
    std::size_t head = 0;

    [[nodiscard]] bool empty() const noexcept { return head == items.size(); }
    void clear() noexcept {
      items.clear();
      head = 0;
    }
    void push(const Entry& e) {  // drops the chains the new one beats
      while (!empty() && items.back().start <= e.start) items.pop_back();
      items.push_back(e);
    }
  };

  // The best chain that can be extended into `step` by the event at sequence index k: the
  // latest start, then the latest last event, then the origin step latest in the pass's order.
  template <class Elapsed>
  const Entry* best_into(std::uint32_t step, std::uint32_t k, const Pass& pass, const Elapsed& elapsed) {
    const Entry* best = nullptr;
    std::uint32_t best_origin = 0;
    for (const auto id : pass.reverse ? f_.links_up.of(static_cast<std::int32_t>(step))
                                      : f_.links_down.of(static_cast<std::int32_t>(step))) {
      const Link& link = f_.links[id];
      const auto origin = pass.reverse ? link.upper : link.lower;
      if (origin > pass.last_step) continue;
      Queue& q = queues_[id];
      while (!q.empty() && elapsed(q.items[q.head].last, k) > link.window) ++q.head;  // out of the link's window for good
      if (q.empty()) continue;
      const Entry& front = q.items[q.head];
      if (elapsed(front.start, k) > f_.window) {  // the latest start is too old: every start is
        q.clear();
        continue;
      }
      const bool later_origin = pass.reverse ? origin < best_origin : origin > best_origin;
      if (best == nullptr || front.start > best->start ||
          (front.start == best->start && (front.last > best->last || (front.last == best->last && later_origin)))) {
        best = &front;
        best_origin = origin;
      }
    }
    return best;
  }

  void clear_queues() noexcept {
    for (auto& q : queues_) q.clear();
  }

  const Compiled& f_;
  std::vector<Queue> queues_;
  std::vector<Node> nodes_;
  std::vector<Made> made_;
};

// What one lead did, step by step.
struct LeadOutcome {
  std::vector<std::uint8_t> reached;
  std::vector<std::int64_t> since_start;
  std::vector<std::int64_t> since_previous;

  void reset(std::size_t steps) {
    reached.assign(steps, 0);
    since_start.assign(steps, -1);
    since_previous.assign(steps, -1);
  }
};

// Per work item: the search state and the lead's events gathered in log order.
class LeadMatcher {
 public:
  explicit LeadMatcher(const Compiled& f) : f_(f), search_(f) {}

  const LeadOutcome& match(std::span<const LeadEvent> events) {
    t_.resize(events.size());
    code_.resize(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      t_[i] = events[i].time;
      code_[i] = events[i].code;
    }
    out_.reset(f_.steps);
    if (f_.order == StepOrder::any) {
      match_any();
    } else {
      match_ordered();
    }
    return out_;
  }

 private:
  // Pass 1 (forward) finds every step reached and, per step, the latest start of a chain to it
  // with the first end reaching that start. The counted attempt is then traced by a backward
  // pass, whose back-pointers give each step's earliest event that still leads to the end.
  void match_ordered() {
    const auto n = static_cast<std::uint32_t>(t_.size());
    best_start_.assign(f_.steps, kNone);
    best_end_.assign(f_.steps, kNone);
    search_.run(t_, code_, Pass{false, f_.steps - 1, 0, n, kNone, false},
                [&](std::uint32_t step, std::uint32_t k, std::uint32_t start, std::uint32_t) {
                  out_.reached[step] = 1;
                  if (best_start_[step] == kNone || start > best_start_[step]) {
                    best_start_[step] = start;
                    best_end_[step] = k;
                  }
                });
    std::uint32_t deepest = kNone;
    for (std::uint32_t s = 0; s < f_.steps; ++s)
      if (out_.reached[s] != 0) deepest = s;
    if (deepest == kNone) return;
    if (deepest == 0) {
      out_.since_start[0] = 0;
      return;
    }
    // Backward over steps 0..deepest: anchor first takes the last step-0 end the pass makes (the
    // earliest start); anchor last starts the pass only at the end found above.
    Pass back{true, deepest, 0, n, kNone, true};
    std::uint32_t start_position = kNone;
    if (f_.anchor == Anchor::last) {
      start_position = best_start_[deepest];
      back.first = n - 1 - best_end_[deepest];
      back.end = n - start_position;
      back.only_start = back.first;
    }
    std::uint32_t final_node = kNone;
    search_.run(t_, code_, back, [&](std::uint32_t step, std::uint32_t k, std::uint32_t, std::uint32_t id) {
      if (step == 0 && (start_position == kNone || n - 1 - k == start_position)) final_node = id;
    });
    if (final_node == kNone) throw std::logic_error("funnel report: the backward pass lost the counted attempt");
    const auto origin = t_[search_.node(final_node).position];
    std::uint32_t previous = kNone;
    for (auto id = final_node; id != kNone; id = search_.node(id).parent) {
      const Node& node = search_.node(id);
      out_.since_start[node.step] = static_cast<std::int64_t>(between(origin, t_[node.position]));
      if (previous != kNone) {
        out_.since_previous[node.step] = static_cast<std::int64_t>(between(t_[previous], t_[node.position]));
      }
      previous = node.position;
    }
  }

  // any order: windows of at most `window` (inside one session) that hold an event of the
  // step and of every required step before it. Step event sets are disjoint here.
  void match_any() {
    const auto n = t_.size();
    count_.assign(f_.steps, 0);
    const auto gap = [&](std::size_t q) { return q > 0 && between(t_[q - 1], t_[q]) > f_.session_gap; };
    std::size_t left = 0;
    for (std::size_t q = 0; q < n; ++q) {  // windows ending at each event
      if (gap(q)) {
        for (; left < q; ++left) add(left, false);
      }
      for (; between(t_[left], t_[q]) > f_.window; ++left) add(left, false);
      if (!add(q, true)) continue;
      for (std::uint32_t s = 0; s < f_.steps; ++s) {
        if (count_[s] > 0) {
          out_.reached[s] = 1;
        } else if (f_.optional[s] == 0) {
          break;
        }
      }
    }
    std::uint32_t deepest = kNone;
    for (std::uint32_t s = 0; s < f_.steps; ++s)
      if (out_.reached[s] != 0) deepest = s;
    if (deepest == kNone) return;

    // The attempt starts at the first (last) event of a step <= deepest whose window, from it
    // on, covers the deepest step and every required step before it.
    std::fill(count_.begin(), count_.end(), 0);
    const auto needed = [&](std::uint32_t s) { return s == deepest || (s < deepest && f_.optional[s] == 0); };
    std::uint32_t needed_steps = 0, covered = 0;
    for (std::uint32_t s = 0; s <= deepest; ++s) if (needed(s)) ++needed_steps;
    const auto count = [&](std::size_t q, bool in) {
      for (const auto s : f_.step_events.of(code_[q])) {
        if (s > deepest) break;
        if (in) {
          if (count_[s]++ == 0 && needed(s)) ++covered;
        } else {
          if (--count_[s] == 0 && needed(s)) --covered;
        }
      }
    };
    const auto in_window = [&](std::size_t s, std::size_t r) { return between(t_[s], t_[r]) <= f_.window && !gap(r); };
    std::size_t start = n, right = 0;
    for (std::size_t s = 0; s < n; ++s) {
      if (right == s) count(right++, true);  // a new session starts at s
      while (right < n && in_window(s, right)) count(right++, true);
      const auto steps = f_.step_events.of(code_[s]);
      if (!steps.empty() && steps.front() <= deepest && covered == needed_steps) {
        start = s;
        if (f_.anchor == Anchor::first) break;
      }
      count(s, false);
    }
    // Each step's time: the first event at which the attempt covers it and the required steps before.
    std::fill(count_.begin(), count_.end(), 0);
    std::vector<std::size_t>& at = cover_at_;
    at.assign(f_.steps, n);
    for (std::size_t q = start; q < n && (q == start || in_window(start, q)); ++q) {
      for (const auto s : f_.step_events.of(code_[q])) count_[s] += 1;
      for (std::uint32_t s = 0; s <= deepest; ++s) {
        if (count_[s] > 0) {
          if (at[s] == n) at[s] = q;
        } else if (f_.optional[s] == 0) {
          break;
        }
      }
    }
    for (std::uint32_t s = 0; s <= deepest; ++s) {
      if (at[s] == n) continue;
      out_.since_start[s] = static_cast<std::int64_t>(between(t_[start], t_[at[s]]));
      if (s > 0) {
        out_.since_previous[s] = static_cast<std::int64_t>(between(t_[at[f_.previous_required[s]]], t_[at[s]]));
      }
    }
  }

  // Adds (or removes) event q's steps to the window counts; false if it matches no step.
  bool add(std::size_t q, bool in) {
    const auto steps = f_.step_events.of(code_[q]);
    for (const auto s : steps) {
      if (in) {
        ++count_[s];
      } else {
        --count_[s];
      }
    }
    return !steps.empty();
  }

  const Compiled& f_;
  ChainSearch search_;
  LeadOutcome out_;
  std::vector<std::int64_t> t_;
  std::vector<std::int32_t> code_;
  std::vector<std::uint32_t> best_start_, best_end_;
  std::vector<std::size_t> count_;
  std::vector<std::size_t> cover_at_;
};

}  // namespace

void validate(const FunnelSpec& spec) {
  const auto& steps = spec.steps;
  if (steps.empty()) fail("no steps");
  if (steps.size() >= kNone / 2) fail("too many steps");
  if (spec.window <= 0) fail("the window must be positive");
  if (spec.session_gap <= 0) fail("the session gap must be positive");
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const auto name = "step " + std::to_string(s);
    if (steps[s].events.empty()) fail(name + " matches no event");
    for (const auto code : steps[s].events)
      if (code < 0) fail(name + ": negative event code " + std::to_string(code));
    if (steps[s].window <= 0) fail(name + ": the window must be positive");
  }
  if (steps[0].optional) fail("step 0 cannot be optional: every chain starts there");
  if (steps[0].window != kNoLimit) fail("step 0 has no previous step, so no window of its own");
  for (std::size_t x = 0; x < spec.exclusions.size(); ++x) {
    const auto& e = spec.exclusions[x];
    const auto name = "exclusion " + std::to_string(x);
    if (e.events.empty()) fail(name + " names no event");
    for (const auto code : e.events)
      if (code < 0) fail(name + ": negative event code " + std::to_string(code));
    if (!(e.from < e.to && e.to < steps.size()))
      fail(name + ": needs steps from < to < " + std::to_string(steps.size()) + ", got " + std::to_string(e.from) +
           " and " + std::to_string(e.to));
    for (const auto s : {e.from, e.to})
      if (steps[s].optional) fail(name + ": step " + std::to_string(s) + " is optional; exclusions run between required steps");
  }
  if (spec.order == StepOrder::any) {
    if (!spec.exclusions.empty()) fail("exclusions need an order: not available with order 'any'");
    std::unordered_map<std::int32_t, std::size_t> owner;
    for (std::size_t s = 0; s < steps.size(); ++s) {
      if (steps[s].window != kNoLimit) fail("step " + std::to_string(s) + ": per-step windows need an order: not available with order 'any'");
      for (const auto code : steps[s].events) {
        const auto [it, fresh] = owner.emplace(code, s);
        if (!fresh && it->second != s)
          fail("steps " + std::to_string(it->second) + " and " + std::to_string(s) + " share event code " +
               std::to_string(code) + "; with order 'any' each event belongs to one step");
      }
    }
  }
}

std::vector<StepLeads> funnel_report(std::span<const std::int64_t> lead, std::span<const std::int64_t> time,
                                     std::span<const std::int32_t> event, std::size_t lead_count,
                                     const FunnelSpec& spec, std::size_t threads, const Progress& progress) {
  validate(spec);
  if (event.size() != lead.size()) fail("the lead and event columns differ in length");
  const auto f = compile(spec);
  const auto groups = group_events(lead, time, event, {}, lead_count, threads);

  // Fixed blocks of leads, each with its own output, concatenated in order: the result does not
  // depend on which thread ran which block.
  constexpr std::size_t kLeadsPerItem = 1024;
  const auto items = (lead_count + kLeadsPerItem - 1) / kLeadsPerItem;
  std::vector<std::vector<StepLeads>> parts(items, std::vector<StepLeads>(f.steps));
  Progress leads_done;
  if (progress) {
    leads_done = [&](std::size_t done, std::size_t) {
      return progress(std::min(lead_count, done * kLeadsPerItem), lead_count);
    };
  }
  parallel_for(
      items, threads,
      [&](std::size_t item) {
        LeadMatcher matcher(f);
        auto& out = parts[item];
        const auto last = std::min(lead_count, (item + 1) * kLeadsPerItem);
        for (auto l = item * kLeadsPerItem; l < last; ++l) {
          const auto& outcome = matcher.match(groups.of(l));
          for (std::uint32_t s = 0; s < f.steps; ++s) {
            if (outcome.reached[s] == 0) continue;
            out[s].leads.push_back(static_cast<std::int64_t>(l));
            out[s].since_start.push_back(outcome.since_start[s]);
            out[s].since_previous.push_back(outcome.since_previous[s]);
          }
        }
      },
      leads_done);

  std::vector<StepLeads> result(f.steps);
  for (std::uint32_t s = 0; s < f.steps; ++s) {
    std::size_t size = 0;
    for (const auto& part : parts) size += part[s].leads.size();
    auto& r = result[s];
    r.leads.reserve(size);
    r.since_start.reserve(size);
    r.since_previous.reserve(size);
    for (auto& part : parts) {
      r.leads.insert(r.leads.end(), part[s].leads.begin(), part[s].leads.end());
      r.since_start.insert(r.since_start.end(), part[s].since_start.begin(), part[s].since_start.end());
      r.since_previous.insert(r.since_previous.end(), part[s].since_previous.begin(), part[s].since_previous.end());
      part[s] = {};
    }
  }
  return result;
}

}  // namespace funnelkit::events
