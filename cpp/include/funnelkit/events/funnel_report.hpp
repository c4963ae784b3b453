#pragma once
/// \file The funnel report of product-analytics tools (Mixpanel, Amplitude, PostHog): which
/// leads reached each of a list of ordered steps within a conversion window, and how long
/// their conversion took.
///
/// The unit is the lead: each lead counts at most once per step. A lead reaches step k when its
/// events, in log order (time, ties in input order), hold a *chain* e_0 < e_1 < ... < e_k, e_i
/// matching step i, that obeys every rule of the spec (docs/reports.md states them all). Its
/// *counted attempt* is one chain to the deepest step it reached, chosen by the anchor; the
/// times to convert come from that chain, so a lead's times are consistent across steps.
///
/// Cost: O(events x steps) per pass, at most two passes per lead (plus one per lead for
/// anchor-dependent times), split over leads on threads. No search over chains: for each step
/// the engine keeps only the partial chains that no other one beats (latest start, latest last
/// event), in monotone queues.
///
/// \code
///   FunnelSpec spec;
///   spec.steps = {{{view}}, {{cart}}, {{purchase}}};
///   spec.window = 7LL * 24 * 3600 * 1'000'000'000;  // 7 days in ns
///   const auto rows = funnel_report(lead, time, event, lead_count, spec);
///   rows[2].leads.size();  // leads that purchased within 7 days of a view, after a cart
/// \endcode

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "funnelkit/core/parallel.hpp"

namespace funnelkit::events {

/// A duration that never limits anything (no window, no session gap).
inline constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

/// How a chain's events relate to each other.
enum class StepOrder {
  ordered,  ///< steps in order, other events allowed in between
  strict,   ///< steps in order, consecutive among the lead's events
  any,      ///< every step's event within one window, in any order
};

/// Which attempt a lead's times to convert come from, among its chains to its deepest step.
enum class Anchor {
  first,  ///< the one starting earliest (in log order)
  last,   ///< the one starting latest: time from the last step-0 event before converting
};

struct FunnelStep {
  /// Event codes that match the step (any one of them).
  std::vector<std::int32_t> events;
  /// A chain may skip the step; a lead counts at it only if a chain matched it.
  bool optional = false;
  /// Longest time (ns) from the chain's previous matched step; the first step has none.
  std::int64_t window = kNoLimit;
};

/// No event of `events` may occur after the chain's event for step `from` and before its event
/// for step `to` (both required steps, from < to): a chain inside the zone ends at such an
/// event, and one that would match it to a step inside the zone does not count. A chain that
/// stops inside the zone (at k < to) may hold none after e_from up to and including e_k.
struct FunnelExclusion {
  std::vector<std::int32_t> events;
  std::size_t from = 0;
  std::size_t to = 0;
};

struct FunnelSpec {
  std::vector<FunnelStep> steps;
  /// Longest time (ns) from the chain's first event to its last.
  std::int64_t window = kNoLimit;
  StepOrder order = StepOrder::ordered;
  std::vector<FunnelExclusion> exclusions;
  /// Longest time (ns) between consecutive events of the lead inside a chain's span.
  std::int64_t session_gap = kNoLimit;
  Anchor anchor = Anchor::first;
};

/// The leads that reached one step, ascending by lead code, with their counted attempt's times.
struct StepLeads {
  std::vector<std::int64_t> leads;
  /// ns from the attempt's start; -1 where the attempt skipped this (optional) step.
  std::vector<std::int64_t> since_start;
  /// ns from the attempt's previous step (see docs/reports.md); -1 at step 0 or where skipped.
  std::vector<std::int64_t> since_previous;
};

/// Throws std::invalid_argument naming the step or exclusion at fault: no steps, a step with no
/// events or a negative code, an optional or windowed first step, a window or gap <= 0, an
/// exclusion that is not between two required steps, or, in `any` order, per-step windows,
/// exclusions or two steps sharing an event.
void validate(const FunnelSpec& spec);

/// The funnel report's rows: per step, the leads that reached it. `lead` holds dense codes in
/// [0, lead_count), `time` ns since the epoch, `event` event codes (>= 0). Runs on up to
/// `threads` threads (0: all cores); `progress` is called with (leads done, leads) and may
/// cancel (funnelkit::Cancelled). The result does not depend on the thread count.
[[nodiscard]] std::vector<StepLeads> funnel_report(std::span<const std::int64_t> lead,
                                                   std::span<const std::int64_t> time,
                                                   std::span<const std::int32_t> event, std::size_t lead_count,
                                                   const FunnelSpec& spec, std::size_t threads = 0,
                                                   const Progress& progress = {});

}  // namespace funnelkit::events
