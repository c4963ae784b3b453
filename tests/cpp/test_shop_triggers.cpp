// Trigger and campaign semantics, one test per documented rule (strategy.hpp): when steps are
// due, what a move at the same instant does, follow-ups and purchases, quiet hours, caps,
// control groups, effects against closed forms, campaigns, discounts and attribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/simulate/shop.hpp"

using namespace funnelkit;
using namespace funnelkit::simulate;

namespace {

constexpr double kMinute = 1.0 / 60.0;

// browse (Fixed 10 h) -> cart 0.5; cart (Fixed 48 h or exponential) -> checkout 0.3;
// checkout (Fixed 1 h) -> paid (100). The rest drops out.
model::Funnel test_funnel(bool memoryless_cart = false) {
  using model::StageKind;
  model::Funnel f;
  model::DistributionPtr cart_time = std::make_shared<model::Fixed>(48.0);
  if (memoryless_cart) cart_time = std::make_shared<model::Exponential>(1.0 / 48.0);
  f.add_stage({"browse", StageKind::Transient, 0.0, std::make_shared<model::Fixed>(10.0), {}});
  f.add_stage({"cart", StageKind::Transient, 0.0, cart_time, {}});
  f.add_stage({"checkout", StageKind::Transient, 0.0, std::make_shared<model::Fixed>(1.0), {}});
  f.add_stage({"paid", StageKind::Success, 100.0, nullptr, {}});
  f.add_edge({"browse", "cart", 0.5, nullptr, {}});
  f.add_edge({"cart", "checkout", 0.3, nullptr, {}});
  f.add_edge({"checkout", "paid", 1.0, nullptr, {}});
  return f;
}

struct Run {
  std::shared_ptr<const markov::Chain> chain;
  ShopResult result;

  [[nodiscard]] double sender(std::size_t k, SenderColumn column) const {
    double total = 0.0;
    for (std::size_t r = 0; r < result.replicates; ++r)
      total += result.senders_table[(r * result.senders + k) * kSenderCount + column];
    return total;
  }
  [[nodiscard]] double entries(const char* stage) const {
    const auto s = chain->state_index(stage);
    double total = 0.0;
    for (std::size_t i = s; i < result.entries.size(); i += result.states) total += static_cast<double>(result.entries[i]);
    return total;
  }
  [[nodiscard]] std::vector<double> message_times(MessageOutcome outcome) const {
    std::vector<double> times;
    for (const auto& m : result.message_events)
      if (m.outcome == outcome) times.push_back(m.time);
    std::sort(times.begin(), times.end());
    return times;
  }
};

Run run_strategy(const Strategy& strategy, double leads, ShopOptions options = {}, bool memoryless_cart = false,
             std::size_t threads = 0, const Population& population = {}) {
  auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(test_funnel(memoryless_cart)));
  if (options.horizon == 0.0) options.horizon = 24.0 * 30;
  options.keep_events = true;
  options.keep_leads = true;
  const Traffic cohort{.days = 1, .channels = 1, .expected = {leads}, .day_length = 24.0, .exact_counts = true};
  return {chain, simulate_shop(chain, strategy, cohort, population, options, nullptr, threads)};
}

Message message(double delay, TriggerEffectPtr effect = nullptr, double open = 1.0) {
  Message m;
  m.delay = delay;
  m.cost = 0.5;
  m.open = open;
  m.effect = std::move(effect);
  return m;
}

Trigger trigger(const char* name, ConditionKind condition, std::vector<std::size_t> states, std::vector<Message> steps) {
  Trigger t;
  t.name = name;
  t.condition = condition;
  t.states = std::move(states);
  t.steps = std::move(steps);
  return t;
}

constexpr std::size_t kBrowse = 0, kCart = 1, kCheckout = 2, kPaid = 3;

}  // namespace

TEST(ShopTriggers, IdleStepsAreSentAtTheirExactDelaysWhileTheLeadIsStillThere) {
  Strategy s;
  s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart}, {message(20 * kMinute), message(24.0)}));
  const auto run = run_strategy(s, 2000);
  const double carts = run.entries("cart");
  EXPECT_GT(carts, 800);
  EXPECT_EQ(run.sender(0, kSent), 2 * carts);  // a 48-hour stay outlasts both steps
  EXPECT_EQ(run.sender(0, kStarts), carts);
  const auto times = run.message_times(MessageOutcome::Opened);
  // Carts are entered at 10 h exactly: steps at 10 h 20 min and at 34 h, to the nanosecond.
  EXPECT_DOUBLE_EQ(times.front(), 10.0 + 20 * kMinute);
  EXPECT_DOUBLE_EQ(times.back(), 34.0);
  EXPECT_EQ(std::count(times.begin(), times.end(), 34.0), static_cast<std::ptrdiff_t>(carts));
}

TEST(ShopTriggers, AMoveAtTheSameInstantAsAStepGoesFirst) {
  Strategy s;  // browse lasts exactly 10 hours
  s.triggers.push_back(trigger("at 10 h", ConditionKind::Idle, {kBrowse}, {message(10.0)}));
  s.triggers.push_back(trigger("just before", ConditionKind::Idle, {kBrowse}, {message(10.0 - 1e-9)}));
  const auto run = run_strategy(s, 500);
  // Leads moving on to the cart acted "at" that moment: nothing; those dropping out did not act.
  const double dropped = 500 - run.entries("cart");
  EXPECT_EQ(run.sender(0, kSent), dropped);
  EXPECT_EQ(run.sender(0, kStarts), dropped);
  EXPECT_EQ(run.sender(1, kSent), 500);
}

TEST(ShopTriggers, DroppingOutDoesNotEndAnIdleStay) {
  // The abandoned cart: a reminder a day after the cart reaches the leads who left it (the
  // remainder) as well as those still deciding, and a move effect brings them back.
  Strategy s;
  s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart},
                               {message(24.0, std::make_shared<MoveTo>(kCheckout, 1.0))}));
  const auto run = run_strategy(s, 4000, {.seed = 5}, true);
  const double carts = run.entries("cart");
  const double early = run.sender(0, kStarts);
  // Reached: every cart but those that went on to checkout within the day, 0.3 (1 - e^(-1/2)).
  const double gone = 0.3 * (1 - std::exp(-0.5));
  EXPECT_NEAR(early / carts, 1 - gone, 4.0 * std::sqrt(gone * (1 - gone) / carts));
  EXPECT_EQ(run.sender(0, kStartsConverted), early);  // all of them were brought back
}

TEST(ShopTriggers, FollowUpsStopOnceTheLeadPurchased) {
  Strategy s;  // entry at 0; buyers pay at 10 + 48 + 1 = 59 h
  s.triggers.push_back(trigger("welcome", ConditionKind::Enter, {kBrowse}, {message(0.0), message(100.0)}));
  const auto run = run_strategy(s, 3000);
  const double buyers = run.entries("paid");
  EXPECT_GT(buyers, 300);
  EXPECT_EQ(run.sender(0, kSent), 3000 + (3000 - buyers));
  Strategy keep = s;
  keep.triggers[0].stop_on_purchase = false;
  EXPECT_EQ(run_strategy(keep, 3000).sender(0, kSent), 6000);
}

TEST(ShopTriggers, PurchaseTriggersCountFromEachPurchase) {
  Strategy s;
  s.triggers.push_back(trigger("review", ConditionKind::Purchase, {}, {message(72.0)}));
  const auto run = run_strategy(s, 3000);
  const auto times = run.message_times(MessageOutcome::Opened);
  ASSERT_FALSE(times.empty());
  EXPECT_EQ(static_cast<double>(times.size()), run.entries("paid"));
  EXPECT_DOUBLE_EQ(times.front(), 59.0 + 72.0);
  EXPECT_DOUBLE_EQ(times.back(), 59.0 + 72.0);
}

TEST(ShopTriggers, MoveToSendsTheLeadOnAtOnce) {
  Strategy s;
  s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart},
                               {message(1.0, std::make_shared<MoveTo>(kCheckout, 1.0))}));
  const auto run = run_strategy(s, 2000);
  EXPECT_EQ(run.entries("paid"), run.entries("cart"));  // every cart moved to checkout at 11 h
  for (const auto& e : run.result.stage_events) {
    if (e.state == static_cast<std::int32_t>(kPaid)) {
      EXPECT_DOUBLE_EQ(e.time, 12.0);
    }
  }
}

TEST(ShopTriggers, AnOddsMultiplierMatchesItsClosedForm) {
  // A memoryless cart keeps the row's 0.3 at any time, so odds x3 give 3*0.3/(0.7 + 0.9), and
  // a 40% open rate mixes that with the untouched 0.3.
  for (const double open : {1.0, 0.4}) {
    Strategy s;
    s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart},
                                 {message(1.0, std::make_shared<OddsMultiplier>(3.0, std::vector<std::size_t>{}), open)}));
    const auto run = run_strategy(s, 200'000, {.seed = 4}, true);
    // Reached after an hour: the carts still deciding (1 - q) and those that dropped out (0.7 q),
    // q = 1 - e^(-1/48); only the first can still buy, and the odds act on them alone.
    const double reached = run.sender(0, kStarts);
    const double q = 1 - std::exp(-1.0 / 48.0);
    const double boosted = 0.9 / 1.6;
    const double expected = (1 - q) * (open * boosted + (1 - open) * 0.3) / (1 - 0.3 * q);
    const double converted = run.sender(0, kStartsConverted);
    EXPECT_NEAR(converted / reached, expected, 4.0 * std::sqrt(expected * (1 - expected) / reached)) << open;
  }
}

TEST(ShopTriggers, ControlLeadsAreCountedButGetNothing) {
  Strategy s;
  s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart},
                               {message(1.0, std::make_shared<MoveTo>(kCheckout, 1.0))}));
  s.triggers[0].control_share = 0.25;
  const auto run = run_strategy(s, 40'000, {.seed = 9});
  const double treated = run.sender(0, kStarts);
  const double control = run.sender(0, kControlStarts);
  const double all = treated + control;
  EXPECT_NEAR(control / all, 0.25, 4.0 * std::sqrt(0.25 * 0.75 / all));
  EXPECT_EQ(run.sender(0, kSent), treated);
  EXPECT_EQ(run.sender(0, kStartsConverted), treated);  // every treated cart was moved on
  EXPECT_NEAR(run.sender(0, kControlConverted) / control, 0.3, 4.0 * std::sqrt(0.21 / control));
  EXPECT_EQ(run.message_times(MessageOutcome::Control).size(), static_cast<std::size_t>(control));
}

TEST(ShopTriggers, QuietHoursPostponeAndTheConditionIsCheckedAgain) {
  Strategy s;
  s.quiet_start = 22.0;  // 22:00 to 08:00, across midnight
  s.quiet_end = 8.0;
  s.triggers.push_back(trigger("late", ConditionKind::Enter, {kBrowse}, {message(23.0)}));
  s.triggers.push_back(trigger("idle", ConditionKind::Idle, {kBrowse}, {message(9.5 - 8.0)}));  // 1:30, still idle
  s.triggers.push_back(trigger("gone", ConditionKind::Idle, {kBrowse}, {message(5.0)}));
  Strategy quiet_early = s;
  const auto run = run_strategy(s, 300);
  auto times = run.message_times(MessageOutcome::Opened);
  EXPECT_EQ(run.sender(0, kPostponed), 300);
  EXPECT_EQ(std::count(times.begin(), times.end(), 32.0), 300);  // 23:00 -> 08:00 the next day
  EXPECT_EQ(run.sender(1, kPostponed), 300);                      // 01:30 -> 08:00
  EXPECT_EQ(run.sender(1, kSent), 300);                           // browse lasts until 10:00
  EXPECT_EQ(run.sender(2, kSent), 300);
  quiet_early.quiet_start = 1.0;  // 01:00 to 11:00: browse is over by then
  quiet_early.quiet_end = 11.0;
  const auto moved = run_strategy(quiet_early, 300);
  EXPECT_EQ(moved.sender(1, kPostponed), 300);
  EXPECT_EQ(moved.sender(1, kSent), 300 - moved.entries("cart"));  // only those who dropped out are idle
}

TEST(ShopTriggers, WhilePresentStepsStopWhenTheLeadDropsOut) {
  Strategy s;  // at 10 h half the leads go on to the cart, the others drop out
  s.triggers.push_back(trigger("left too", ConditionKind::Idle, {kBrowse}, {message(11.0)}));
  s.triggers.push_back(trigger("on the page", ConditionKind::Idle, {kBrowse}, {message(11.0)}));
  s.triggers[1].while_present = true;
  s.triggers.push_back(trigger("still there", ConditionKind::Idle, {kBrowse}, {message(9.0)}));
  s.triggers[2].while_present = true;
  const auto run = run_strategy(s, 1000);
  EXPECT_EQ(run.sender(0, kSent), 1000 - run.entries("cart"));
  EXPECT_EQ(run.sender(1, kSent), 0);
  EXPECT_EQ(run.sender(2, kSent), 1000);
}

TEST(ShopTriggers, OnSiteMessagesIgnoreQuietHoursAndTheCap) {
  Strategy s;
  s.quiet_start = 0.0;  // quiet until 09:00
  s.quiet_end = 9.0;
  s.cap_messages = 1;
  s.cap_period = 24.0;
  auto popup = message(1.0);
  popup.on_site = true;
  s.triggers.push_back(trigger("popup", ConditionKind::Enter, {kBrowse}, {popup}));
  s.triggers.push_back(trigger("letter", ConditionKind::Enter, {kBrowse}, {message(2.0)}));
  const auto run = run_strategy(s, 200);
  EXPECT_EQ(run.sender(0, kSent), 200);
  EXPECT_EQ(run.sender(0, kPostponed), 0);
  EXPECT_EQ(run.sender(1, kPostponed), 200);  // 02:00 -> 09:00
  EXPECT_EQ(run.sender(1, kSent), 200);       // the popup did not use up the cap
  for (const auto& m : run.result.message_events) {
    if (m.sender == 0) {
      EXPECT_DOUBLE_EQ(m.time, 1.0);
    }
  }
}

TEST(ShopTriggers, TheFrequencyCapDropsMessagesOverIt) {
  Strategy s;
  s.cap_messages = 2;
  s.cap_period = 24.0;
  s.triggers.push_back(trigger("burst", ConditionKind::Enter, {kBrowse}, {message(0.0), message(1.0), message(2.0)}));
  s.triggers.push_back(trigger("later", ConditionKind::Enter, {kBrowse}, {message(25.0)}));
  s.triggers[0].stop_on_purchase = false;
  const auto run = run_strategy(s, 100);
  EXPECT_EQ(run.sender(0, kSent), 200);
  EXPECT_EQ(run.sender(0, kCapped), 100);
  EXPECT_EQ(run.sender(1, kSent), 100);  // a day after the first, the window has room again
}

TEST(ShopTriggers, CampaignsReachTheirAudienceAtTheirTimes) {
  const auto chain = markov::Chain::compile(test_funnel());
  Strategy s;
  Campaign browsing;
  browsing.name = "browsing at 5 h";
  browsing.times = {5.0, 20.0};
  browsing.states = {kBrowse};
  browsing.message = message(0.0);
  Campaign carts;
  carts.name = "carts";
  carts.times = {20.0};
  carts.states = {kCart};
  carts.message = message(0.0);
  carts.message.discount = 0.1;
  carts.message.effect = std::make_shared<MoveTo>(kCheckout, 1.0);
  s.campaigns = {browsing, carts};
  const auto run = run_strategy(s, 1000);
  EXPECT_EQ(run.sender(0, kSent), 1000);  // at 5 h everyone browses; at 20 h nobody does
  EXPECT_EQ(run.sender(1, kSent), run.entries("cart"));
  EXPECT_EQ(run.entries("paid"), run.entries("cart"));
  // Every order used the 10% offer.
  double revenue = 0.0, discounts = 0.0;
  for (std::size_t b = 0; b < run.result.bins; ++b) {
    revenue += run.result.series[b * kSeriesCount + kRevenue];
    discounts += run.result.series[b * kSeriesCount + kDiscounts];
  }
  EXPECT_DOUBLE_EQ(discounts, 0.1 * revenue);
  EXPECT_DOUBLE_EQ(run.sender(1, kSenderDiscounts), discounts);
  EXPECT_EQ(run.sender(1, kAttributed), run.entries("paid"));  // last touch: the cart campaign
  for (const auto& lead : run.result.leads_table) {
    if (lead.purchases > 0) {
      EXPECT_EQ(lead.last_touch, 1);
    }
  }
}

TEST(ShopTriggers, CampaignsCanTargetPopulationLeadsByIndex) {
  Population population;
  population.states = {kCart, kCart, kBrowse, kCart};
  population.time_in_state = {1.0, 2.0, 0.5, 3.0};
  Strategy s;
  Campaign listed;
  listed.name = "listed";
  listed.times = {1.0};
  listed.leads = {1, 3};
  listed.message = message(0.0);
  s.campaigns = {listed};
  const auto run = run_strategy(s, 0, {}, false, 0, population);
  EXPECT_EQ(run.sender(0, kSent), 2);
  for (const auto& m : run.result.message_events) EXPECT_TRUE(m.lead == 1 || m.lead == 3);
}

TEST(ShopTriggers, AMessageNobodyOpensChangesNoJourney) {
  // Common random numbers: message responses draw from their own streams.
  Strategy s;
  s.triggers.push_back(trigger("unopened", ConditionKind::Idle, {kCart},
                               {message(1.0, std::make_shared<MoveTo>(kCheckout, 1.0), 0.0)}));
  const auto with = run_strategy(s, 5000, {.seed = 3}, true);
  const auto without = run_strategy({}, 5000, {.seed = 3}, true);
  EXPECT_EQ(with.result.entries, without.result.entries);
  EXPECT_GT(with.sender(0, kSent), 0);
}

TEST(ShopTriggers, TriggerResultsDoNotDependOnTheThreadCount) {
  Strategy s;
  s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart},
                               {message(1.0, std::make_shared<OddsMultiplier>(2.0, std::vector<std::size_t>{}), 0.4)}));
  s.triggers[0].control_share = 0.1;
  const auto one = run_strategy(s, 20'000, {.seed = 8, .replicates = 2, .order_value = std::make_shared<model::LogNormal>(-0.125, 0.5)}, true, 1);
  const auto two = run_strategy(s, 20'000, {.seed = 8, .replicates = 2, .order_value = std::make_shared<model::LogNormal>(-0.125, 0.5)}, true, 3);
  EXPECT_EQ(one.result.series, two.result.series);
  EXPECT_EQ(one.result.senders_table, two.result.senders_table);
  EXPECT_EQ(one.result.entries, two.result.entries);
}

TEST(ShopTriggers, InvalidStrategiesNameTheTriggerAtFault) {
  const auto expect_error = [](const Strategy& s, const char* part) {
    const auto chain = markov::Chain::compile(test_funnel());
    try {
      validate(s, chain);
      ADD_FAILURE() << "no error for " << part;
    } catch (const FunnelError& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Strategy);
      EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << error.what();
    }
  };
  Strategy s;
  s.triggers.push_back(trigger("cart", ConditionKind::Idle, {kCart}, {message(1.0)}));
  auto bad = s;
  bad.triggers[0].states = {42};
  expect_error(bad, "trigger 'cart'");
  bad = s;
  bad.triggers[0].steps[0].delay = -1.0;
  expect_error(bad, "delay");
  bad = s;
  bad.triggers[0].steps[0].open = 1.5;
  expect_error(bad, "open probability");
  bad = s;
  bad.triggers[0].control_share = 1.0;
  expect_error(bad, "control-group share");
  bad = s;
  bad.triggers[0].steps = {message(5.0), message(1.0)};
  expect_error(bad, "step 2");
  bad = s;
  bad.triggers[0].steps[0].discount = 2.0;
  expect_error(bad, "discount");
  EXPECT_THROW(MoveTo(kCart, -0.1), FunnelError);
  EXPECT_THROW(OddsMultiplier(-1.0, {}), FunnelError);
}

TEST(ShopTriggers, AnInstantLoopOfMessagesIsCutByMaxTransitions) {
  Strategy s;  // entering the cart moves the lead to the cart again at once, for ever
  s.triggers.push_back(trigger("loop", ConditionKind::Enter, {kCart},
                               {message(0.0, std::make_shared<MoveTo>(kCart, 1.0))}));
  s.triggers[0].stop_on_purchase = false;
  const auto run = run_strategy(s, 200, {.max_transitions = 50});
  std::int64_t looping = 0;  // every lead that reached the cart is stuck there at t = 10 h
  for (const auto& lead : run.result.leads_table) looping += lead.final_state == static_cast<std::int32_t>(kCart);
  EXPECT_GT(looping, 0);
  EXPECT_EQ(run.result.stopped, looping);
  EXPECT_LE(run.result.transitions, 200 * 50);
}

TEST(ShopTriggers, AnOrderTheMessageCausesCountsAsItsConversion) {
  Strategy s;  // opened: straight to paid, at the send time
  s.triggers.push_back(trigger("buy now", ConditionKind::Idle, {kCart},
                               {message(1.0, std::make_shared<MoveTo>(kPaid, 1.0))}));
  s.triggers[0].control_share = 0.5;
  const auto run = run_strategy(s, 4000, {.seed = 2});
  EXPECT_EQ(run.sender(0, kStartsConverted), run.sender(0, kStarts));
  EXPECT_LT(run.sender(0, kControlConverted), run.sender(0, kControlStarts));
}

namespace {

// Starts at once on every entry it is asked about, and records which states those were.
class RecordingCondition final : public TriggerCondition {
 public:
  std::string type_name() const override { return "recording"; }
  nlohmann::json params() const override { return nlohmann::json::object(); }
  double start(const LeadContext& lead) const override {
    seen.push_back(lead.state);
    return 0.0;
  }
  mutable std::vector<std::size_t> seen;  // one thread only in this test
};

}  // namespace

TEST(ShopTriggers, CustomConditionsAreAskedOnlyAboutTheStagesTheyWatch) {
  auto condition = std::make_shared<RecordingCondition>();
  Strategy s;
  s.triggers.push_back(trigger("custom", ConditionKind::Custom, {kCart}, {message(0.0)}));
  s.triggers[0].custom = condition;
  const auto run = run_strategy(s, 300, {}, false, 1);
  ASSERT_FALSE(condition->seen.empty());
  for (const auto state : condition->seen) EXPECT_EQ(state, kCart);
  EXPECT_EQ(static_cast<double>(condition->seen.size()), run.entries("cart"));
}

TEST(ShopTriggers, AFrequencyCapWithoutAPeriodCountsForEver) {
  Strategy s;
  s.cap_messages = 1;  // cap_period stays infinite: one message per lead, ever
  s.triggers.push_back(trigger("twice", ConditionKind::Enter, {kBrowse}, {message(0.0), message(100.0)}));
  s.triggers[0].stop_on_purchase = false;
  const auto run = run_strategy(s, 100);
  EXPECT_EQ(run.sender(0, kSent), 100);
  EXPECT_EQ(run.sender(0, kCapped), 100);
}

TEST(ShopTriggers, OddsEffectsOfOneStayCompound) {
  // A cart nobody leaves for a long while: two opened letters, each odds x3, give odds x9:
  // 9 * 0.3 / (0.7 + 2.7); one letter gives 3 * 0.3 / (0.7 + 0.9).
  using model::StageKind;
  model::Funnel f;
  f.add_stage({"cart", StageKind::Transient, 0.0, std::make_shared<model::Exponential>(1e-6), {}});
  f.add_stage({"paid", StageKind::Success, 10.0, nullptr, {}});
  f.add_edge({"cart", "paid", 0.3, nullptr, {}});
  auto chain = std::make_shared<const markov::Chain>(markov::Chain::compile(f));
  const auto odds = std::make_shared<OddsMultiplier>(3.0, std::vector<std::size_t>{});
  const Traffic cohort{.days = 1, .channels = 1, .expected = {100'000}, .day_length = 24.0, .exact_counts = true};
  for (const int letters : {1, 2}) {
    Strategy s;
    std::vector<Message> steps{message(1.0, odds)};
    if (letters == 2) steps.push_back(message(2.0, odds));
    s.triggers.push_back(trigger("letters", ConditionKind::Enter, {0}, steps));
    s.triggers[0].stop_on_purchase = false;
    const auto r = simulate_shop(chain, s, cohort, {}, {.horizon = 1e12, .bin_width = 1e12, .seed = 5}, nullptr);
    const double m = letters == 2 ? 9.0 : 3.0;
    const double expected = m * 0.3 / (0.7 + m * 0.3);
    EXPECT_NEAR(static_cast<double>(r.successes) / 1e5, expected, 4.0 * std::sqrt(expected * (1 - expected) / 1e5))
        << letters;
  }
}

TEST(ShopTriggers, PopulationLeadsStartTriggersOfTheirCurrentStage) {
  Population population;
  population.states = {kPaid, kPaid};
  population.time_in_state = {10.0, 100.0};  // bought 10 h and 100 h before t = 0
  Strategy s;
  s.triggers.push_back(trigger("review", ConditionKind::Purchase, {}, {message(72.0)}));
  const auto run = run_strategy(s, 0, {}, false, 0, population);
  EXPECT_EQ(run.sender(0, kSent), 1);  // due at 62 h for the first; the second's was at -28 h
  EXPECT_EQ(run.result.successes, 0);  // already there: not a conversion of this simulation
  EXPECT_EQ(run.result.total_value, 0.0);
}
