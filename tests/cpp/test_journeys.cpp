#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "funnelkit/events/duration_fit.hpp"
#include "funnelkit/events/journeys.hpp"
#include "funnelkit/events/lead_groups.hpp"

using namespace funnelkit::events;

namespace {

constexpr std::int64_t kHour = 3'600'000'000'000;
enum Stage : std::int32_t { Visit, Interest, Cart, Paid, Repeat, kStages };

struct Log {
  std::vector<std::int64_t> lead, time;
  std::vector<std::int32_t> stage;
  void add(std::int64_t l, double hours, std::int32_t s) {
    lead.push_back(l);
    time.push_back(static_cast<std::int64_t>(hours * static_cast<double>(kHour)));
    stage.push_back(s);
  }
};

JourneyRules rules(double window_hours, double observed_hours) {
  JourneyRules r;
  r.window = static_cast<std::int64_t>(window_hours * static_cast<double>(kHour));
  r.observed_until = static_cast<std::int64_t>(observed_hours * static_cast<double>(kHour));
  r.repeat_stage.assign(kStages, -1);
  r.absorbing.assign(kStages, 0);
  r.absorbing[Paid] = 1;
  return r;
}

TransitionCounts count(const Log& log, const JourneyRules& r, std::size_t leads, std::size_t threads = 1) {
  return count_transitions(log.lead, log.time, log.stage, {}, leads, kStages, r, threads);
}

std::int64_t transitions(const TransitionCounts& c, std::int32_t from, std::int32_t to) {
  for (std::size_t i = 0; i < c.source.size(); ++i)
    if (c.source[i] == from && c.target[i] == to) return c.count[i];
  return 0;
}

}  // namespace

TEST(Journeys, GroupsByLeadInTimeOrderKeepingTiesInInputOrder) {
  const std::vector<std::int64_t> lead{1, 0, 1, 0, 1, 1};
  const std::vector<std::int64_t> time{5, 3, 1, 3, 5, 0};
  const std::vector<std::int32_t> code{0, 1, 2, 3, 4, -1};  // the last row is left out
  const std::vector<double> payload{0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
  for (std::size_t threads = 1; threads <= 3; ++threads) {
    const auto grouped = group_events(lead, time, code, payload, 2, threads);
    const auto rows = [&](std::size_t l) {
      std::vector<std::uint32_t> out;
      for (const auto& e : grouped.of(l)) out.push_back(e.row);
      return out;
    };
    EXPECT_EQ(rows(0), (std::vector<std::uint32_t>{1, 3}));
    EXPECT_EQ(rows(1), (std::vector<std::uint32_t>{2, 0, 4}));
    EXPECT_EQ(std::vector<double>(grouped.payload_of(1).begin(), grouped.payload_of(1).end()), (std::vector<double>{2.5, 0.5, 4.5}));
  }
  EXPECT_THROW((void)group_events(lead, time, code, {}, 1), std::invalid_argument);
}

TEST(Journeys, CountsTransitionsWithDurationsFromStageEntry) {
  Log log;
  log.add(0, 0.0, Visit);
  log.add(0, 0.5, Visit);  // a repeat: same stay
  log.add(0, 1.0, Cart);
  log.add(0, 3.0, Paid);
  log.add(0, 5.0, Visit);  // after an absorbing stage: ignored
  const auto c = count(log, rules(24, 100), 1);
  EXPECT_EQ(transitions(c, Visit, Cart), 1);
  EXPECT_EQ(transitions(c, Cart, Paid), 1);
  EXPECT_EQ(c.starts[Visit], 1);
  EXPECT_EQ(c.entries[Visit], 1);
  EXPECT_EQ(c.entries[Cart], 1);
  EXPECT_EQ(c.events_ignored, 1);
  ASSERT_EQ(c.durations.size(), 2U);
  EXPECT_DOUBLE_EQ(c.durations[0], 1.0);  // visit -> cart (sorted by source, target), from the first visit
  EXPECT_DOUBLE_EQ(c.durations[1], 2.0);  // cart -> paid
}

TEST(Journeys, NoOtherStageWithinTheWindowIsALossAndTheNextEventStartsAJourney) {
  Log log;
  log.add(0, 0.0, Visit);
  log.add(0, 20.0, Visit);     // a repeat inside the window does not extend it
  log.add(0, 30.0, Interest);  // 30 h after entering visit: visit was left
  const auto c = count(log, rules(24, 100), 1);
  EXPECT_EQ(c.losses[Visit], 1);
  EXPECT_EQ(transitions(c, Visit, Interest), 0);
  EXPECT_EQ(c.starts[Interest], 1);
  EXPECT_EQ(c.losses[Interest], 1);  // its window closed at 54 h < 100 h
  EXPECT_EQ(c.journeys, 2);
}

TEST(Journeys, EntriesWhoseWindowIsStillOpenAtTheCutAreCensoredWhateverFollows) {
  Log log;
  log.add(0, 80.0, Visit);
  log.add(0, 81.0, Cart);  // seen, but visit's window (80 + 24 h) closes after the cut
  log.add(1, 90.0, Visit);  // no outcome yet
  log.add(2, 10.0, Visit);  // window closed: a loss
  const auto c = count(log, rules(24, 100), 3);
  EXPECT_EQ(c.censored[Visit], 2);
  EXPECT_EQ(c.censored[Cart], 1);
  EXPECT_EQ(c.entries[Visit], 1);
  EXPECT_EQ(c.losses[Visit], 1);
  EXPECT_EQ(transitions(c, Visit, Cart), 0);
}

TEST(Journeys, RepeatedEntriesGoToTheRepeatStage) {
  Log log;
  log.add(0, 0.0, Visit);
  log.add(0, 1.0, Paid);
  log.add(0, 50.0, Visit);
  log.add(0, 51.0, Paid);
  auto r = rules(100, 1000);
  r.absorbing[Paid] = 0;
  r.repeat_stage[Paid] = Repeat;
  const auto c = count(log, r, 1);
  EXPECT_EQ(transitions(c, Visit, Paid), 1);
  EXPECT_EQ(transitions(c, Paid, Visit), 1);
  EXPECT_EQ(transitions(c, Visit, Repeat), 1);
}

TEST(Journeys, SessionGapEndsAJourney) {
  Log log;
  log.add(0, 0.0, Visit);
  log.add(0, 5.0, Cart);
  auto r = rules(24, 100);
  r.session_gap = kHour;
  const auto c = count(log, r, 1);
  EXPECT_EQ(c.losses[Visit], 1);
  EXPECT_EQ(c.starts[Cart], 1);
}

TEST(Journeys, ResultsDoNotDependOnThreadsAndChunksMerge) {
  std::mt19937_64 rng(7);
  Log log;
  const std::size_t leads = 40'000;
  for (int i = 0; i < 200'000; ++i) {
    log.add(static_cast<std::int64_t>(rng() % leads), static_cast<double>(rng() % 1000) / 7.0,
            static_cast<std::int32_t>(rng() % kStages));
  }
  const auto r = rules(24, 150);
  const auto one = count(log, r, leads, 1);
  const auto two = count(log, r, leads, 2);
  EXPECT_EQ(one.source, two.source);
  EXPECT_EQ(one.count, two.count);
  EXPECT_EQ(one.durations, two.durations);
  EXPECT_EQ(one.losses, two.losses);
  // Leads below and above 20,000 as two chunks: merged counts equal the whole.
  Log low, high;
  for (std::size_t i = 0; i < log.lead.size(); ++i) {
    auto& part = log.lead[i] < 20'000 ? low : high;
    part.lead.push_back(log.lead[i]);
    part.time.push_back(log.time[i]);
    part.stage.push_back(log.stage[i]);
  }
  auto merged = count(low, r, leads);
  merged.merge(count(high, r, leads));
  EXPECT_EQ(merged.source, one.source);
  EXPECT_EQ(merged.count, one.count);
  EXPECT_EQ(merged.entries, one.entries);
  EXPECT_EQ(merged.censored, one.censored);
  auto sorted = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v; };
  EXPECT_EQ(sorted(merged.durations), sorted(one.durations));
}

TEST(DurationFit, UntruncatedFitsAreTheClosedForms) {
  const std::vector<double> d{0.5, 1.0, 2.0, 4.0, 8.0};
  const auto inf = std::numeric_limits<double>::infinity();
  const auto e = fit_exponential(d, inf, 0.95);
  EXPECT_NEAR(e.params[0], 3.1, 1e-12);
  EXPECT_LT(e.lower[0], 3.1);
  EXPECT_GT(e.upper[0], 3.1);
  const auto l = fit_lognormal(d, inf, 0.95);
  double mu = 0, ss = 0;
  for (const double x : d) mu += std::log(x) / 5;
  for (const double x : d) ss += (std::log(x) - mu) * (std::log(x) - mu) / 5;
  EXPECT_NEAR(l.params[0], mu, 1e-12);
  EXPECT_NEAR(l.params[1], std::sqrt(ss), 1e-12);
  EXPECT_FALSE(fit_lognormal(std::vector<double>{0.0, 1.0}, inf, 0.95).available);
}

TEST(DurationFit, TruncatedFitsRecoverTheParameters) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> exponential(1.0 / 10.0);  // mean 10
  std::lognormal_distribution<double> lognormal(2.0, 0.8);
  std::vector<double> e, l;
  while (e.size() < 50'000) {
    const double x = exponential(rng);
    if (x <= 12.0) e.push_back(x);  // truncation near the mean: a naive average is far off
  }
  while (l.size() < 50'000) {
    const double x = lognormal(rng);
    if (x <= 10.0) l.push_back(x);
  }
  const auto fe = fit_exponential(e, 12.0, 0.999);
  EXPECT_LT(fe.lower[0], 10.0);
  EXPECT_GT(fe.upper[0], 10.0);
  EXPECT_NEAR(fe.params[0], 10.0, 0.5);
  const auto fl = fit_lognormal(l, 10.0, 0.999);
  EXPECT_LT(fl.lower[0], 2.0);
  EXPECT_GT(fl.upper[0], 2.0);
  EXPECT_LT(fl.lower[1], 0.8);
  EXPECT_GT(fl.upper[1], 0.8);
  EXPECT_GT(fl.log_likelihood, fit_lognormal(l, std::numeric_limits<double>::infinity(), 0.95).log_likelihood - 1e9);
}

TEST(DurationFit, BetaQuantileMatchesKnownValues) {
  EXPECT_NEAR(beta_quantile(1, 1, 0.3), 0.3, 1e-14);
  EXPECT_NEAR(beta_quantile(2, 1, 0.25), 0.5, 1e-14);  // cdf x^2
  EXPECT_THROW((void)beta_quantile(0, 1, 0.5), std::invalid_argument);
}

#include "funnelkit/events/encode.hpp"

TEST(Encode, SparseIdsGetDenseCodesInOrderOfFirstAppearance) {
  std::vector<std::int64_t> ids{42, -7, 42, 1LL << 40, -7, 0};
  for (std::int64_t i = 0; i < 5000; ++i) ids.push_back(i * 7919);  // forces the table to grow
  const auto encoded = encode_ids(ids);
  EXPECT_EQ(std::vector<std::int64_t>(encoded.codes.begin(), encoded.codes.begin() + 6),
            (std::vector<std::int64_t>{0, 1, 0, 2, 1, 3}));
  ASSERT_EQ(encoded.uniques.size(), 4U + 4999U);  // 0 appears twice (once as 0 * 7919)
  for (std::size_t row = 0; row < ids.size(); ++row) EXPECT_EQ(encoded.uniques[static_cast<std::size_t>(encoded.codes[row])], ids[row]);
}

TEST(Encode, CompactRangesAndSparseIdsGetTheSameCodes) {
  std::vector<std::int64_t> dense, sparse;
  for (std::int64_t i = 0; i < 20000; ++i) {
    dense.push_back((i * 37) % 5003 * 2 + 1000);  // every other id of a compact range
    sparse.push_back(((i * 37) % 5003) * (std::int64_t{1} << 40) - (std::int64_t{1} << 62));
  }
  const auto a = encode_ids(dense), b = encode_ids(sparse);
  EXPECT_TRUE(std::equal(a.codes.begin(), a.codes.end(), b.codes.begin(), b.codes.end()));
  std::vector<std::int64_t> many;  // enough rows for several parts
  for (std::int64_t i = 0; i < 3'000'000; ++i) many.push_back((i * 7919) % 1'000'003);
  const auto one = encode_ids(many, 1), three = encode_ids(many, 3);
  EXPECT_TRUE(std::equal(one.codes.begin(), one.codes.end(), three.codes.begin(), three.codes.end()));
  EXPECT_EQ(one.uniques, three.uniques);
  EXPECT_EQ(one.uniques[0], 0);
  EXPECT_EQ(one.uniques[1], 7919);
  ASSERT_EQ(a.uniques.size(), 5003U);
  for (std::size_t row = 0; row < dense.size(); ++row) EXPECT_EQ(a.uniques[static_cast<std::size_t>(a.codes[row])], dense[row]);
  EXPECT_TRUE(encode_ids({}).codes.empty());
}
