// Rule points: each operator, per-unit rules, caps, the total's floor and cap, contributions,
// JSON parameters, bad rules and bad features, thread-count independence.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/rule_scorer.hpp"

using namespace funnelkit::scoring;
using funnelkit::ErrorKind;
using funnelkit::FunnelError;

namespace {

RuleSpec condition(const char* name, const char* feature, RuleOp op, double value, double points) {
  RuleSpec rule;
  rule.name = name;
  rule.feature = feature;
  rule.op = op;
  rule.value = value;
  rule.points = points;
  return rule;
}

RuleSpec per_unit(const char* name, const char* feature, double points, std::optional<double> cap = std::nullopt) {
  RuleSpec rule;
  rule.name = name;
  rule.feature = feature;
  rule.points = points;
  rule.per_unit = true;
  rule.cap = cap;
  return rule;
}

FeatureMatrix view(const std::vector<std::vector<double>>& columns) {
  FeatureMatrix m;
  m.rows = columns.empty() ? 0 : columns[0].size();
  for (const auto& c : columns) m.columns.emplace_back(c.data(), c.size());
  return m;
}

std::vector<double> scores(const RuleScorer& scorer, const std::vector<std::vector<double>>& columns) {
  const auto m = view(columns);
  std::vector<double> out(m.rows);
  scorer.score(m, out);
  return out;
}

ErrorKind kind_of(auto&& call) {
  try {
    call();
  } catch (const FunnelError& error) {
    return error.kind();
  }
  ADD_FAILURE() << "no FunnelError thrown";
  return ErrorKind::Format;
}

}  // namespace

TEST(RuleScorer, EachOperator) {
  const std::vector<double> x = {0.0, 1.0, 2.0, 3.0};
  const std::vector<std::pair<RuleOp, std::vector<double>>> cases = {
      {RuleOp::less, {1, 0, 0, 0}},          {RuleOp::less_equal, {1, 1, 0, 0}}, {RuleOp::greater, {0, 0, 1, 1}},
      {RuleOp::greater_equal, {0, 1, 1, 1}}, {RuleOp::equal, {0, 1, 0, 0}},      {RuleOp::not_equal, {1, 0, 1, 1}},
  };
  for (const auto& [op, expected] : cases) {
    const RuleScorer scorer({condition("r", "x", op, 1.0, 1.0)});
    EXPECT_EQ(scores(scorer, {x}), expected) << rule_op_symbol(op);
  }
  auto between = condition("b", "x", RuleOp::between, 1.0, 7.0);
  between.upper = 2.0;
  EXPECT_EQ(scores(RuleScorer({between}), {x}), (std::vector<double>{0, 7, 7, 0}));
}

TEST(RuleScorer, PerUnitCapsAndNegativeRules) {
  // 5 points per cart add, at most 12; -50 when unsubscribed; 0.5 per view from 2 views on.
  auto views = per_unit("views", "page_views", 0.5);
  views.op = RuleOp::greater_equal;
  views.value = 2.0;
  const RuleScorer scorer({per_unit("carts", "cart_adds", 5.0, 12.0),
                           condition("unsub", "unsubscribes", RuleOp::greater_equal, 1.0, -50.0), views});
  EXPECT_EQ(scorer.feature_names(), (std::vector<std::string>{"cart_adds", "unsubscribes", "page_views"}));
  const std::vector<std::vector<double>> columns = {{0.0, 1.5, 4.0}, {0.0, 1.0, 0.0}, {1.0, 2.0, 10.0}};
  EXPECT_EQ(scores(scorer, columns), (std::vector<double>{0.0, 7.5 - 50.0 + 1.0, 12.0 + 5.0}));
  // A negative per-unit rule is capped in magnitude.
  const RuleScorer penalty({per_unit("bounces", "bounces", -4.0, 10.0)});
  EXPECT_EQ(scores(penalty, {{1.0, 5.0}}), (std::vector<double>{-4.0, -10.0}));
}

TEST(RuleScorer, TotalFloorAndCapButContributionsUnclipped) {
  const RuleScorer scorer({per_unit("a", "x", 10.0), per_unit("b", "y", -10.0)}, 0.0, 25.0);
  const std::vector<std::vector<double>> columns = {{1.0, 5.0, 0.0}, {0.0, 0.0, 3.0}};
  EXPECT_EQ(scores(scorer, columns), (std::vector<double>{10.0, 25.0, 0.0}));
  const auto m = view(columns);
  std::vector<double> c(6);
  scorer.contributions(m, c);
  EXPECT_EQ(c, (std::vector<double>{10.0, -0.0, 50.0, -0.0, 0.0, -30.0}));
  EXPECT_EQ(scorer.reason_names(), (std::vector<std::string>{"a", "b"}));
}

TEST(RuleScorer, ParamsRoundTrip) {
  auto between = condition("recent", "recency_days", RuleOp::between, 0.0, 10.0);
  between.upper = 3.0;
  const RuleScorer scorer({per_unit("carts", "cart_adds", 5.0, 30.0), between}, -10.0, std::nullopt);
  const auto params = scorer.params();
  EXPECT_EQ(params["rules"][1]["op"], "between");
  EXPECT_EQ(params["rules"][1]["value"], nlohmann::json::array({0.0, 3.0}));
  EXPECT_TRUE(params["rules"][0]["value"].is_null());
  EXPECT_TRUE(params["cap"].is_null());
  const auto again = RuleScorer::from_params(params);
  EXPECT_EQ(again.params(), params);
  const std::vector<std::vector<double>> columns = {{0.0, 2.0, 9.0}, {1.0, 4.0, 2.5}};
  EXPECT_EQ(scores(again, columns), scores(scorer, columns));
}

TEST(RuleScorer, BadRulesNameTheRule) {
  auto nan_points = condition("nan", "x", RuleOp::less, 1.0, std::numeric_limits<double>::quiet_NaN());
  try {
    const RuleScorer scorer({nan_points});
    FAIL();
  } catch (const FunnelError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::ScorerFormat);
    EXPECT_EQ(error.subject(), "nan");
    EXPECT_NE(std::string(error.what()).find("points"), std::string::npos);
  }
  auto reversed = condition("rev", "x", RuleOp::between, 3.0, 1.0);
  reversed.upper = 1.0;
  EXPECT_EQ(kind_of([&] { const RuleScorer s({reversed}); }), ErrorKind::ScorerFormat);
  EXPECT_EQ(kind_of([&] { const RuleScorer s({per_unit("a", "x", 1.0, -1.0)}); }), ErrorKind::ScorerFormat);
  EXPECT_EQ(kind_of([&] { const RuleScorer s({per_unit("a", "x", 1.0), per_unit("a", "y", 1.0)}); }),
            ErrorKind::ScorerFormat);
  auto no_condition = per_unit("a", "x", 1.0);
  no_condition.per_unit = false;
  EXPECT_EQ(kind_of([&] { const RuleScorer s({no_condition}); }), ErrorKind::ScorerFormat);
  EXPECT_EQ(kind_of([&] { const RuleScorer s({}, 5.0, 1.0); }), ErrorKind::ScorerFormat);
  const nlohmann::json bad_op = {
      {"rules", {{{"name", "q"}, {"feature", "x"}, {"op", "=>"}, {"value", 1}, {"points", 1}}}}};
  try {
    (void)RuleScorer::from_params(bad_op);
    FAIL();
  } catch (const FunnelError& error) {
    EXPECT_EQ(error.subject(), "q");
    EXPECT_NE(std::string(error.what()).find("unknown op '=>'"), std::string::npos);
  }
}

TEST(RuleScorer, BadFeatures) {
  const RuleScorer scorer({per_unit("a", "x", 1.0), per_unit("b", "y", 1.0)});
  const std::vector<double> x = {1.0, 2.0};
  std::vector<double> out(2);
  FeatureMatrix one;
  one.rows = 2;
  one.columns = {std::span<const double>(x)};
  EXPECT_EQ(kind_of([&] { scorer.score(one, out); }), ErrorKind::MissingFeature);
  const std::vector<double> y = {1.0, std::numeric_limits<double>::infinity()};
  try {
    scorer.score(view({x, y}), out);
    FAIL();
  } catch (const FunnelError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::FeatureValue);
    EXPECT_EQ(error.subject(), "y");
  }
}

TEST(RuleScorer, SameResultsOnAnyThreadCount) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0.0, 10.0);
  const std::size_t n = 50'000;
  std::vector<std::vector<double>> columns(3, std::vector<double>(n));
  for (auto& c : columns)
    for (auto& v : c) v = std::floor(u(rng) * 4.0) / 4.0;
  auto ranged = condition("mid", "z", RuleOp::between, 2.0, 3.3);
  ranged.upper = 6.0;
  const RuleScorer scorer({per_unit("a", "x", 0.7, 5.0), condition("b", "y", RuleOp::greater, 4.5, 2.1), ranged,
                           per_unit("d", "x", -0.3)},
                          -1.0, 8.0);
  const auto m = view(columns);
  std::vector<double> one(n), many(n), c1(n * 4), c8(n * 4);
  scorer.score(m, one, 1, {});
  scorer.score(m, many, 8, {});
  EXPECT_EQ(one, many);
  scorer.contributions(m, c1, 1, {});
  scorer.contributions(m, c8, 8, {});
  EXPECT_EQ(c1, c8);
  const std::vector<std::size_t> column_of = {0, 1, 2, 0};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t r = 0; r < 4; ++r) ASSERT_EQ(c1[4 * i + r], scorer.rules()[r].points_for(columns[column_of[r]][i]));
    const double total = ((c1[4 * i] + c1[4 * i + 1]) + c1[4 * i + 2]) + c1[4 * i + 3];
    ASSERT_EQ(one[i], std::clamp(total, -1.0, 8.0));
  }
}

// The engine's generic path (scoring::score_in_blocks) scores any Scorer block by block; the
// result equals one call over all rows for any block size and thread count.
TEST(ScoreInBlocks, EqualsOneCallForAnyBlockSizeAndThreadCount) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> uniform(0.0, 5.0);
  std::vector<std::vector<double>> columns(2, std::vector<double>(10'007));
  for (auto& column : columns)
    for (auto& x : column) x = std::floor(uniform(rng));
  const RuleScorer scorer({condition("a >= 2", "a", RuleOp::greater_equal, 2.0, 10.0), per_unit("per b", "b", 1.5, 6.0)});
  const auto features = view(columns);
  std::vector<double> whole(features.rows);
  scorer.score(features, whole);
  for (const std::size_t block : {1ul, 7ul, 4096ul, 100'000ul}) {
    for (const std::size_t threads : {1ul, 2ul, 5ul}) {
      std::vector<double> blocks(features.rows, -1.0);
      score_in_blocks(scorer, features, blocks, threads, {}, block);
      EXPECT_EQ(blocks, whole) << "block " << block << ", threads " << threads;
    }
  }
  std::vector<double> short_output(features.rows - 1);
  EXPECT_THROW(score_in_blocks(scorer, features, short_output), FunnelError);
}
