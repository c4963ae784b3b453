// Funnel report: hand-made event logs for every rule (order, windows, optional steps,
// exclusions, sessions, ties, anchors), thread-count independence and bad specs.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "funnelkit/events/funnel_report.hpp"

using namespace funnelkit::events;

namespace {

// Event codes used below. Times are plain integers (the engine reads them as ns).
constexpr std::int32_t A = 0, B = 1, C = 2, D = 3, X = 4, Y = 5;

struct Event {
  std::int64_t time;
  std::int32_t code;
};

FunnelStep step(std::vector<std::int32_t> events, bool optional = false, std::int64_t window = kNoLimit) {
  return {std::move(events), optional, window};
}

FunnelSpec spec_of(std::vector<FunnelStep> steps, std::int64_t window = kNoLimit) {
  FunnelSpec spec;
  spec.steps = std::move(steps);
  spec.window = window;
  return spec;
}

// One lead's outcome per step: -2 not reached, -1 reached without a time, else ns from the start.
struct Outcome {
  std::vector<std::int64_t> since_start;
  std::vector<std::int64_t> since_previous;
};

Outcome one_lead(const FunnelSpec& spec, const std::vector<Event>& events) {
  std::vector<std::int64_t> lead(events.size(), 0), time;
  std::vector<std::int32_t> code;
  for (const auto& e : events) {
    time.push_back(e.time);
    code.push_back(e.code);
  }
  const auto rows = funnel_report(lead, time, code, 1, spec, 1);
  Outcome out{std::vector<std::int64_t>(spec.steps.size(), -2), std::vector<std::int64_t>(spec.steps.size(), -2)};
  for (std::size_t s = 0; s < rows.size(); ++s) {
    if (rows[s].leads.empty()) continue;
    out.since_start[s] = rows[s].since_start[0];
    out.since_previous[s] = rows[s].since_previous[0];
  }
  return out;
}

using Times = std::vector<std::int64_t>;
constexpr std::int64_t no = -2;  // not reached

}  // namespace

TEST(FunnelReport, OrderedChainCountsEachStepOnceWithTimesFromTheStart) {
  const auto out = one_lead(spec_of({step({A}), step({B}), step({C})}), {{0, A}, {1, B}, {1, B}, {3, C}, {9, C}});
  EXPECT_EQ(out.since_start, (Times{0, 1, 3}));
  EXPECT_EQ(out.since_previous, (Times{-1, 1, 2}));
}

TEST(FunnelReport, OrderMattersAndOtherEventsMayComeBetween) {
  const auto spec = spec_of({step({A}), step({B}), step({C})});
  EXPECT_EQ(one_lead(spec, {{0, B}, {1, A}, {2, C}, {3, X}, {4, B}}).since_start, (Times{0, 3, no}));
}

TEST(FunnelReport, WindowRunsFromTheFirstStepAndTheLatestStartWins) {
  const auto spec = spec_of({step({A}), step({B}), step({C})}, 10);
  EXPECT_EQ(one_lead(spec, {{0, A}, {5, B}, {20, C}}).since_start, (Times{0, 5, no}));
  // A at 0 cannot reach C within 10; the later A at 15 can (anchor first takes it: the
  // earliest start that reaches the deepest step).
  EXPECT_EQ(one_lead(spec, {{0, A}, {6, B}, {15, A}, {16, B}, {20, C}}).since_start, (Times{0, 1, 5}));
  // Exactly the window is inside it.
  EXPECT_EQ(one_lead(spec, {{0, A}, {10, B}}).since_start, (Times{0, 10, no}));
}

TEST(FunnelReport, AnchorFirstAndLastPickDifferentAttempts) {
  auto spec = spec_of({step({A}), step({B}), step({C})}, 10);
  const std::vector<Event> log{{0, A}, {1, B}, {2, A}, {3, B}, {4, C}};
  EXPECT_EQ(one_lead(spec, log).since_start, (Times{0, 1, 4}));
  spec.anchor = Anchor::last;
  EXPECT_EQ(one_lead(spec, log).since_start, (Times{0, 1, 2}));
  EXPECT_EQ(one_lead(spec, log).since_previous, (Times{-1, 1, 1}));
}

TEST(FunnelReport, AnchorLastTakesTheEarliestEndOfTheLatestStart) {
  auto spec = spec_of({step({A}), step({B})}, 10);
  spec.anchor = Anchor::last;
  // Latest start reaching B: A at 4 (A at 9 has no B after it); its first B is at 5.
  EXPECT_EQ(one_lead(spec, {{0, A}, {4, A}, {5, B}, {7, B}, {9, A}}).since_start, (Times{0, 1}));
}

TEST(FunnelReport, StepWindowNeedsTheLatestLastEventNotOnlyTheLatestStart) {
  // C must follow B within 2. The chain A0-B1 and the chain A0-B5 share their start; only the
  // later B lets C at 6 in. Keeping one chain per start with its first B would miss it.
  const auto spec = spec_of({step({A}), step({B}), step({C}, false, 2)});
  const auto out = one_lead(spec, {{0, A}, {1, B}, {5, B}, {6, C}});
  EXPECT_EQ(out.since_start, (Times{0, 5, 6}));
  EXPECT_EQ(out.since_previous, (Times{-1, 5, 1}));
}

TEST(FunnelReport, StepWindowOnTheSecondStepSkipsAnEarlyStart) {
  // B within 2 of A: the first A cannot start a conversion, the second can.
  const auto spec = spec_of({step({A}), step({B}, false, 2)});
  EXPECT_EQ(one_lead(spec, {{0, A}, {4, A}, {5, B}}).since_start, (Times{0, 1}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {3, B}}).since_start, (Times{0, no}));
}

TEST(FunnelReport, AttemptTakesEachStepsEarliestEventThatStillLeadsToTheEnd) {
  // C within 1 of B: B at 1 is the earliest B but leads nowhere; the attempt goes through B at 4.
  const auto spec = spec_of({step({A}), step({B}), step({C}, false, 1)});
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, B}, {4, B}, {5, C}}).since_start, (Times{0, 4, 5}));
}

TEST(FunnelReport, OptionalStepsMayBeSkippedAndCountOnlyWhenMatched) {
  const auto spec = spec_of({step({A}), step({B}, true), step({C})});
  // skipped: C is reached, B is not
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, C}}).since_start, (Times{0, no, 1}));
  // matched before C: the attempt goes through it
  auto out = one_lead(spec, {{0, A}, {1, B}, {3, C}});
  EXPECT_EQ(out.since_start, (Times{0, 1, 3}));
  EXPECT_EQ(out.since_previous, (Times{-1, 1, 2}));
  // matched only after C: reached (A then B is a chain) but not part of the attempt to C
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, C}, {2, B}}).since_start, (Times{0, -1, 1}));
}

TEST(FunnelReport, StepWindowAfterAnOptionalStepRunsFromThePreviousMatchedStep) {
  // C within 2 of the previous matched step: from B when matched, else from A.
  const auto spec = spec_of({step({A}), step({B}, true), step({C}, false, 2)});
  EXPECT_EQ(one_lead(spec, {{0, A}, {3, C}}).since_start, (Times{0, no, no}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {2, C}}).since_start, (Times{0, no, 2}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {2, B}, {4, C}}).since_start, (Times{0, 2, 4}));
}

TEST(FunnelReport, ConsecutiveOptionalStepsAndAnOptionalLastStep) {
  const auto spec = spec_of({step({A}), step({B}, true), step({C}, true), step({D}, true)});
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, D}}).since_start, (Times{0, no, no, 1}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, C}, {2, B}}).since_start, (Times{0, -1, 1, no}));
}

TEST(FunnelReport, ExclusionEndsTheAttemptBetweenItsSteps) {
  auto spec = spec_of({step({A}), step({B}), step({C})});
  spec.exclusions = {{{X}, 0, 2}};
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, B}, {2, X}, {3, C}}).since_start, (Times{0, 1, no}));
  // after step 0's event the chain is inside the zone: it ends there, intermediate steps included
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, B}, {3, C}}).since_start, (Times{0, no, no}));
  // before the first step or after the last it does not matter; a fresh start after it counts
  EXPECT_EQ(one_lead(spec, {{0, X}, {1, A}, {2, B}, {3, C}, {4, X}}).since_start, (Times{0, 1, 2}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, A}, {3, B}, {4, C}}).since_start, (Times{0, 1, 2}));
}

TEST(FunnelReport, ExclusionBindsAnAttemptThatStopsInsideIt) {
  // The lead only reached B, inside the zone: A at 0 cannot be its start (X follows it), A at 2 is.
  auto spec = spec_of({step({A}), step({B}), step({C})});
  spec.exclusions = {{{X}, 0, 2}};
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, A}, {3, B}}).since_start, (Times{0, 1, no}));
  spec.anchor = Anchor::last;
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, A}, {3, B}}).since_start, (Times{0, 1, no}));
}

TEST(FunnelReport, ExclusionOnlyCoversItsOwnSteps) {
  auto spec = spec_of({step({A}), step({B}), step({C})});
  spec.exclusions = {{{X}, 1, 2}};
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, B}, {3, C}}).since_start, (Times{0, 2, 3}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, B}, {2, X}, {3, C}}).since_start, (Times{0, 1, no}));
}

TEST(FunnelReport, AnExcludedEventCanStillBeAStepAtTheZonesEnds) {
  // X is excluded between steps 0 and 2 but is also step 1's event: matched there it lies
  // strictly inside the zone, so that chain is out; B itself is fine.
  auto spec = spec_of({step({A}), step({B, X}), step({C})});
  spec.exclusions = {{{X}, 0, 2}};
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, C}}).since_start, (Times{0, no, no}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, B}, {2, C}}).since_start, (Times{0, 1, 2}));
  // As the zone's end event it is fine.
  auto end = spec_of({step({A}), step({B}), step({X})});
  end.exclusions = {{{X}, 0, 2}};
  EXPECT_EQ(one_lead(end, {{0, A}, {1, B}, {2, X}}).since_start, (Times{0, 1, 2}));
}

TEST(FunnelReport, StrictOrderNeedsConsecutiveEvents) {
  auto spec = spec_of({step({A}), step({B}), step({C})});
  spec.order = StepOrder::strict;
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, B}, {2, X}, {3, C}}).since_start, (Times{0, 1, no}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, X}, {2, A}, {3, B}, {4, C}}).since_start, (Times{0, 1, 2}));
  // skipping an optional step is allowed, skipping any other event is not
  auto optional = spec_of({step({A}), step({B}, true), step({C})});
  optional.order = StepOrder::strict;
  EXPECT_EQ(one_lead(optional, {{0, A}, {1, C}}).since_start, (Times{0, no, 1}));
  EXPECT_EQ(one_lead(optional, {{0, A}, {1, Y}, {2, C}}).since_start, (Times{0, no, no}));
}

TEST(FunnelReport, SessionGapBreaksChains) {
  auto spec = spec_of({step({A}), step({B}), step({C})});
  spec.session_gap = 5;
  EXPECT_EQ(one_lead(spec, {{0, A}, {4, B}, {10, C}}).since_start, (Times{0, 4, no}));
  // any event of the lead keeps the session alive, not only the steps' events
  EXPECT_EQ(one_lead(spec, {{0, A}, {4, B}, {8, Y}, {10, C}}).since_start, (Times{0, 4, 10}));
  EXPECT_EQ(one_lead(spec, {{0, A}, {4, B}, {10, A}, {11, B}, {12, C}}).since_start, (Times{0, 1, 2}));
}

TEST(FunnelReport, EqualTimestampsKeepInputOrder) {
  const auto spec = spec_of({step({A}), step({B})}, 10);
  EXPECT_EQ(one_lead(spec, {{5, A}, {5, B}}).since_start, (Times{0, 0}));
  EXPECT_EQ(one_lead(spec, {{5, B}, {5, A}}).since_start, (Times{0, no}));
  // one event never serves two steps of a chain
  const auto same = spec_of({step({A}), step({A})});
  EXPECT_EQ(one_lead(same, {{5, A}}).since_start, (Times{0, no}));
  EXPECT_EQ(one_lead(same, {{5, A}, {5, A}}).since_start, (Times{0, 0}));
}

TEST(FunnelReport, AStepMatchesAnyOfItsEvents) {
  const auto spec = spec_of({step({A, B}), step({C, D})});
  EXPECT_EQ(one_lead(spec, {{0, B}, {2, D}}).since_start, (Times{0, 2}));
}

TEST(FunnelReport, AnyOrderNeedsEveryStepInOneWindow) {
  auto spec = spec_of({step({A}), step({B}), step({C})}, 10);
  spec.order = StepOrder::any;
  // all three within 10, in any order; times from the attempt's first event to the event that
  // completes each step (with every step before it)
  auto out = one_lead(spec, {{0, C}, {3, B}, {5, A}});
  EXPECT_EQ(out.since_start, (Times{5, 5, 5}));
  EXPECT_EQ(out.since_previous, (Times{-1, 0, 0}));
  // C at 0 is too early for A at 11: the attempt starts at B (3) and covers A and B at 11
  EXPECT_EQ(one_lead(spec, {{0, C}, {3, B}, {11, A}}).since_start, (Times{8, 8, no}));
  // anchor first: the earliest event from which one window covers the deepest step
  out = one_lead(spec, {{0, A}, {1, B}, {20, A}, {21, C}, {22, B}});
  EXPECT_EQ(out.since_start, (Times{0, 2, 2}));
  // anchor last: the latest such event (C at 2: A at 5 and B at 6 complete it)
  spec.anchor = Anchor::last;
  EXPECT_EQ(one_lead(spec, {{0, A}, {1, B}, {2, C}, {5, A}, {6, B}}).since_start, (Times{3, 4, 4}));
}

TEST(FunnelReport, AnyOrderWithOptionalStepsAndSessions) {
  auto spec = spec_of({step({A}), step({B}, true), step({C})}, 10);
  spec.order = StepOrder::any;
  spec.session_gap = 3;
  EXPECT_EQ(one_lead(spec, {{0, C}, {1, A}}).since_start, (Times{1, no, 1}));
  EXPECT_EQ(one_lead(spec, {{0, C}, {5, A}}).since_start, (Times{0, no, no}));
}

TEST(FunnelReport, ManyLeadsOnManyThreadsGiveTheSameRows) {
  std::mt19937_64 rng(7);
  std::vector<std::int64_t> lead, time;
  std::vector<std::int32_t> code;
  constexpr std::size_t leads = 5000;
  for (std::size_t i = 0; i < 60000; ++i) {
    lead.push_back(static_cast<std::int64_t>(rng() % leads));
    time.push_back(static_cast<std::int64_t>(rng() % 1000));
    code.push_back(static_cast<std::int32_t>(rng() % 6));
  }
  auto spec = spec_of({step({A}), step({B, C}, true, 50), step({C}), step({D}, false, 100)}, 300);
  spec.exclusions = {{{X}, 2, 3}};
  spec.session_gap = 200;
  for (const auto anchor : {Anchor::first, Anchor::last}) {
    spec.anchor = anchor;
    const auto one = funnel_report(lead, time, code, leads, spec, 1);
    std::size_t calls = 0;
    const auto four = funnel_report(lead, time, code, leads, spec, 4, [&](std::size_t done, std::size_t total) {
      EXPECT_LE(done, total);
      ++calls;
      return true;
    });
    EXPECT_GT(calls, 0U);
    ASSERT_EQ(one.size(), four.size());
    for (std::size_t s = 0; s < one.size(); ++s) {
      EXPECT_EQ(one[s].leads, four[s].leads);
      EXPECT_EQ(one[s].since_start, four[s].since_start);
      EXPECT_EQ(one[s].since_previous, four[s].since_previous);
    }
    EXPECT_GT(one[3].leads.size(), 0U);
    EXPECT_LT(one[3].leads.size(), one[0].leads.size());
  }
}

TEST(FunnelReport, ProgressCanCancel) {
  std::vector<std::int64_t> lead(100000), time(100000, 0);
  std::vector<std::int32_t> code(100000, A);
  for (std::size_t i = 0; i < lead.size(); ++i) lead[i] = static_cast<std::int64_t>(i);
  const auto spec = spec_of({step({A}), step({B})});
  EXPECT_THROW((void)funnel_report(lead, time, code, lead.size(), spec, 2, [](std::size_t, std::size_t) { return false; }),
               funnelkit::Cancelled);
}

TEST(FunnelReport, ThirtyStepsStayLinear) {
  // 30 steps over 300,000 events: a search over chains would never finish.
  std::vector<FunnelStep> steps;
  for (std::int32_t s = 0; s < 30; ++s) steps.push_back(step({s % 10}, s % 7 == 3));
  std::vector<std::int64_t> lead, time;
  std::vector<std::int32_t> code;
  std::mt19937_64 rng(3);
  for (std::size_t i = 0; i < 300000; ++i) {
    lead.push_back(static_cast<std::int64_t>(i / 300));
    time.push_back(static_cast<std::int64_t>(i));
    code.push_back(static_cast<std::int32_t>(rng() % 10));
  }
  const auto rows = funnel_report(lead, time, code, 1000, spec_of(steps, 250), 2);
  ASSERT_EQ(rows.size(), 30U);
  EXPECT_EQ(rows[0].leads.size(), 1000U);
  for (std::size_t s = 1; s < rows.size(); ++s)
    if (!steps[s].optional) {
      std::size_t previous = s - 1;
      while (steps[previous].optional) --previous;
      EXPECT_LE(rows[s].leads.size(), rows[previous].leads.size());
    }
}

TEST(FunnelReport, BadSpecsAreRejectedWithTheirSubject) {
  const auto rejects = [](const FunnelSpec& spec, const char* fragment) {
    try {
      validate(spec);
      ADD_FAILURE() << "accepted a spec that should fail with '" << fragment << "'";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  rejects(spec_of({}), "no steps");
  rejects(spec_of({step({})}), "step 0 matches no event");
  rejects(spec_of({step({A}, true)}), "step 0 cannot be optional");
  rejects(spec_of({step({A}, false, 5)}), "step 0 has no previous step");
  rejects(spec_of({step({A}), step({B}, false, 0)}), "step 1: the window must be positive");
  rejects(spec_of({step({A})}, -1), "window must be positive");
  auto excl = spec_of({step({A}), step({B}, true), step({C})});
  excl.exclusions = {{{X}, 0, 1}};
  rejects(excl, "step 1 is optional");
  excl.exclusions = {{{X}, 2, 2}};
  rejects(excl, "from < to < 3");
  auto any = spec_of({step({A}), step({B}, false, 5)});
  any.order = StepOrder::any;
  rejects(any, "per-step windows");
  any = spec_of({step({A}), step({A, B})});
  any.order = StepOrder::any;
  rejects(any, "share event code 0");
  any = spec_of({step({A}), step({B})});
  any.order = StepOrder::any;
  any.exclusions = {{{X}, 0, 1}};
  rejects(any, "exclusions need an order");
}
