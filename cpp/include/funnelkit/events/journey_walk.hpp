#pragma once
/// \file The journey rules applied to one lead's events: the single implementation that the
/// fitter (count_transitions) and lead features (a lead's current stage) both walk with.
///
/// The rules are those of docs/events.md: repeats of a stage collapse into one stay; a stay
/// with no other stage within `window` of its entry (or, with a session gap, followed by a
/// longer gap) ends in a loss and the next event starts a new journey; a lead's second and
/// later entries into a stage with a repeat stage enter that instead; entering an absorbing
/// stage ends the journey and every later event is ignored. The walker reports what happens to
/// an observer, which counts (the fitter) or keeps the final state (features).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "funnelkit/events/journeys.hpp"
#include "funnelkit/events/lead_groups.hpp"

namespace funnelkit::events {

/// Walks leads one at a time; holds per-stage scratch, so one walker per thread.
///
/// The observer is called with:
///  - `ignored()` for a mapped event after an absorbing stage;
///  - `used(i, stage)` for every other mapped event (index in `events`, stage after the repeat rule);
///  - `loss(stage, entry_time)` when a stay ends because the window or the session gap passed
///    before the next event (called before that event starts a new journey);
///  - `start(stage, time)` when a journey begins, `transition(from, to, entry_time, time)` for a
///    move to another stage;
///  - `absorbed(stage, time)` after entering an absorbing stage;
///  - `open_end(stage, entry_time, last_time)` when the events end during a stay.
class JourneyWalker {
 public:
  JourneyWalker(const JourneyRules& rules, std::size_t stage_count) : rules_(rules), entered_(stage_count, 0) {}

  /// `stage_of(event)` gives each event's stage code, or a negative code for events no stage
  /// maps (skipped: they never count as activity).
  template <class StageOf, class Observer>
  void walk(std::span<const LeadEvent> events, const StageOf& stage_of, Observer& observer) {
    std::int32_t current = -1;
    std::int64_t entry_time = 0, last_time = 0;
    bool absorbed = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
      std::int32_t s = stage_of(events[i]);
      if (s < 0) continue;
      if (absorbed) {
        observer.ignored();
        continue;
      }
      const auto t = events[i].time;
      if (current >= 0 &&
          (t - entry_time > rules_.window || (rules_.session_gap > 0 && t - last_time > rules_.session_gap))) {
        observer.loss(current, entry_time);
        current = -1;
      }
      last_time = t;
      const auto su = static_cast<std::size_t>(s);
      if (s != current && entered_[su] && rules_.repeat_stage[su] >= 0) s = rules_.repeat_stage[su];
      observer.used(i, s);
      if (s == current) continue;  // a repeat within the stay
      if (current < 0) {
        observer.start(s, t);
      } else {
        observer.transition(current, s, entry_time, t);
      }
      current = s;
      entry_time = t;
      const auto entered = static_cast<std::size_t>(s);
      if (!entered_[entered]) {
        entered_[entered] = 1;
        touched_.push_back(entered);
      }
      if (rules_.absorbing[entered]) {
        observer.absorbed(s, t);
        current = -1;
        absorbed = true;
      }
    }
    if (current >= 0) observer.open_end(current, entry_time, last_time);
    for (const auto s : touched_) entered_[s] = 0;
    touched_.clear();
  }

 private:
  const JourneyRules& rules_;
  std::vector<std::uint8_t> entered_;  // stages this lead has entered (for repeat_stage)
  std::vector<std::size_t> touched_;
};

}  // namespace funnelkit::events
