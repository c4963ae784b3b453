#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/lead_features.hpp"

using namespace funnelkit::scoring;

namespace {

constexpr std::int64_t kMinute = 60'000'000'000;
constexpr std::int64_t kDay = 1440 * kMinute;
// Event codes of the hand-built logs, their roles and stages (visit, interest, cart, paid).
enum Event : std::int32_t { PageView, ProductView, AddToCart, Purchase, EmailOpen, Search, kEvents };
enum Stage : std::int32_t { Visit, Interest, Cart, Paid, kStages };
const std::vector<std::int8_t> kRoles{0, 1, 2, 4, 5, -1};
const std::vector<std::int32_t> kStagesOf{Visit, Interest, Cart, Paid, -1, -1};

struct Log {
  std::vector<std::int64_t> lead, time;
  std::vector<std::int32_t> event, product, category;
  std::vector<double> value;
  void add(std::int64_t l, std::int64_t t, std::int32_t e, double v = NAN, std::int32_t p = -1, std::int32_t c = -1) {
    lead.push_back(l);
    time.push_back(t);
    event.push_back(e);
    value.push_back(v);
    product.push_back(p);
    category.push_back(c);
  }
  EventColumns columns(std::size_t leads) const {
    EventColumns c;
    c.lead = lead;
    c.time = time;
    c.event = event;
    c.value = value;
    c.product = product;
    c.category = category;
    c.lead_count = leads;
    c.role_of_event = kRoles;
    c.stage_of_event = kStagesOf;
    c.event_names = {"page_view", "product_view", "add_to_cart", "purchase", "email_open", "search"};
    c.category_names = {"shoes", "hats", "bags"};
    return c;
  }
};

LeadFeatureOptions options(std::int64_t at, std::size_t threads = 1) {
  LeadFeatureOptions o;
  o.at = at;
  o.session_gap = 30 * kMinute;
  o.top_categories = 2;
  o.stage_count = kStages;
  o.journey.window = 7 * kDay;
  o.journey.repeat_stage.assign(kStages, -1);
  o.journey.absorbing.assign(kStages, 0);
  o.journey.absorbing[Paid] = 1;
  o.threads = threads;
  return o;
}

double feature(const LeadFeatureTable& t, const std::string& name, std::size_t row) {
  for (std::size_t c = 0; c < t.names.size(); ++c)
    if (t.names[c] == name) return t.values[c * t.rows() + row];
  ADD_FAILURE() << "no feature " << name;
  return NAN;
}

}  // namespace

TEST(LeadFeatures, HandBuiltLead) {
  Log log;
  // Lead 0: a session of 10 minutes, then a second one a day later with a cart and an order.
  log.add(0, 0, PageView);
  log.add(0, 4 * kMinute, ProductView, NAN, 7, 0);
  log.add(0, 10 * kMinute, ProductView, NAN, 8, 0);
  log.add(0, kDay, ProductView, NAN, 7, 1);
  log.add(0, kDay + 5 * kMinute, AddToCart, 30.0);
  log.add(0, kDay + 6 * kMinute, AddToCart);  // no value: counts 0
  log.add(0, kDay + 9 * kMinute, Purchase, 45.0);
  log.add(0, 2 * kDay, EmailOpen);  // not a visit
  log.add(0, 20 * kDay, Search);    // after `at`: ignored
  // Lead 1 only after `at`: no row. Lead 2: unmapped events only.
  log.add(1, 20 * kDay, PageView);
  log.add(2, 3 * kDay, Search);
  const auto at = 4 * kDay;
  const auto table = lead_features(log.columns(3), options(at));
  ASSERT_EQ(table.rows(), 2U);
  EXPECT_EQ(table.lead[0], 0);
  EXPECT_EQ(table.lead[1], 2);
  EXPECT_EQ(feature(table, "sessions", 0), 2.0);
  EXPECT_EQ(feature(table, "events", 0), 8.0);
  EXPECT_EQ(feature(table, "page_views", 0), 1.0);
  EXPECT_EQ(feature(table, "product_views", 0), 3.0);
  EXPECT_EQ(feature(table, "distinct_products", 0), 2.0);
  EXPECT_EQ(feature(table, "distinct_categories", 0), 2.0);
  EXPECT_EQ(feature(table, "cart_adds", 0), 2.0);
  EXPECT_EQ(feature(table, "cart_value", 0), 30.0);
  EXPECT_EQ(feature(table, "orders", 0), 1.0);
  EXPECT_EQ(feature(table, "revenue", 0), 45.0);
  EXPECT_EQ(feature(table, "avg_order_value", 0), 45.0);
  EXPECT_DOUBLE_EQ(feature(table, "time_on_site_min", 0), 19.0);
  EXPECT_DOUBLE_EQ(feature(table, "avg_session_min", 0), 9.5);
  EXPECT_DOUBLE_EQ(feature(table, "recency_days", 0), 2.0);
  EXPECT_DOUBLE_EQ(feature(table, "tenure_days", 0), 4.0);
  EXPECT_EQ(feature(table, "active_days", 0), 3.0);
  EXPECT_DOUBLE_EQ(feature(table, "frequency", 0), 2.0 / (4.0 / 7.0));
  EXPECT_EQ(feature(table, "email_opens", 0), 1.0);
  // Purchase is absorbing: the lead stays in paid, since the order.
  EXPECT_EQ(table.stage[0], Paid);
  EXPECT_DOUBLE_EQ(feature(table, "time_in_stage_days", 0), 3.0 - 9.0 / 1440.0);
  // Top categories: shoes (2 of 3 views), then hats.
  EXPECT_EQ(table.top_category[0], 0);
  EXPECT_EQ(table.top_category[table.rows() + 0], 1);
  EXPECT_DOUBLE_EQ(table.top_share[0], 2.0 / 3.0);
  // Lead 2 never entered a stage: "none" since its first event; no sessions but a search.
  EXPECT_EQ(table.stage[1], kStages + 1);
  EXPECT_DOUBLE_EQ(feature(table, "time_in_stage_days", 1), 1.0);
  EXPECT_EQ(feature(table, "sessions", 1), 1.0);
  EXPECT_EQ(table.top_category[1], -1);
  EXPECT_EQ(table.top_share[1], 0.0);
}

TEST(LeadFeatures, StageFollowsTheJourneyRules) {
  Log log;
  log.add(0, 0, PageView);
  log.add(0, kDay, ProductView);
  log.add(0, 2 * kDay, ProductView);  // a repeat: the stay in interest began at day 1
  // At day 5 the lead is in interest since day 1; at day 9 it has left (window 7 days) at day 8.
  auto t5 = lead_features(log.columns(1), options(5 * kDay));
  EXPECT_EQ(t5.stage[0], Interest);
  EXPECT_DOUBLE_EQ(feature(t5, "time_in_stage_days", 0), 4.0);
  auto t9 = lead_features(log.columns(1), options(9 * kDay));
  EXPECT_EQ(t9.stage[0], kStages);  // left
  EXPECT_DOUBLE_EQ(feature(t9, "time_in_stage_days", 0), 1.0);
  // With a journey gap of one hour the lead left an hour after its last event.
  auto gap = options(5 * kDay);
  gap.journey.session_gap = 60 * kMinute;
  auto tg = lead_features(log.columns(1), gap);
  EXPECT_EQ(tg.stage[0], kStages);
  EXPECT_DOUBLE_EQ(feature(tg, "time_in_stage_days", 0), 3.0 - 1.0 / 24.0);
}

TEST(LeadFeatures, DecayAndCountsAndBadHalfLife) {
  Log log;
  log.add(0, 0, ProductView);
  log.add(0, 2 * kDay, ProductView);
  auto o = options(4 * kDay);
  o.decay = {{ProductView, 2.0}};
  o.count_events = {ProductView, Search};
  const auto t = lead_features(log.columns(1), o);
  EXPECT_DOUBLE_EQ(t.values[21], 0.25 + 0.5);
  EXPECT_EQ(t.values[22], 2.0);
  EXPECT_EQ(t.values[23], 0.0);
  o.decay = {{ProductView, 0.0}};
  EXPECT_THROW((void)lead_features(log.columns(1), o), funnelkit::FunnelError);
}

TEST(LeadFeatures, BitIdenticalForAnyThreadCount) {
  std::mt19937_64 rng(7);
  Log log;
  const std::size_t leads = 20'000;
  for (std::size_t i = 0; i < 200'000; ++i) {
    const auto e = static_cast<std::int32_t>(rng() % kEvents);
    log.add(static_cast<std::int64_t>(rng() % leads), static_cast<std::int64_t>(rng() % (60 * kDay)), e,
            static_cast<double>(rng() % 100), static_cast<std::int32_t>(rng() % 50), static_cast<std::int32_t>(rng() % 3));
  }
  auto o = options(40 * kDay, 1);
  o.decay = {{AddToCart, 3.0}};
  const auto one = lead_features(log.columns(leads), o);
  for (const std::size_t threads : {2U, 3U, 8U}) {
    o.threads = threads;
    const auto many = lead_features(log.columns(leads), o);
    ASSERT_EQ(many.rows(), one.rows());
    EXPECT_EQ(std::memcmp(many.values.data(), one.values.data(), one.values.size() * sizeof(double)), 0);
    EXPECT_EQ(many.stage, one.stage);
    EXPECT_EQ(std::memcmp(many.top_share.data(), one.top_share.data(), one.top_share.size() * sizeof(double)), 0);
  }
}

TEST(LeadFeatures, RejectsBadInput) {
  Log log;
  log.add(0, 0, PageView);
  auto c = log.columns(1);
  const std::vector<std::int32_t> bad{kEvents};
  c.event = bad;
  EXPECT_THROW((void)lead_features(c, options(kDay)), std::invalid_argument);
  auto o = options(kDay);
  o.journey.window = 0;
  EXPECT_THROW((void)lead_features(log.columns(1), o), std::invalid_argument);
  // Nothing at or before `at`: no rows.
  EXPECT_EQ(lead_features(log.columns(1), options(-1)).rows(), 0U);
}
