#include "funnelkit/scoring/rule_scorer.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::scoring {
namespace {

/// Rows per block handed to a thread: large enough to amortise the scheduling, small enough
/// that a block's columns stay in cache while every rule reads them.
constexpr std::size_t kBlockRows = 4096;

[[noreturn]] void bad_rule(const std::string& name, const std::string& problem) {
  throw FunnelError(ErrorKind::ScorerFormat, "rule '" + name + "': " + problem, name);
}

double json_number(const nlohmann::json& rule, const char* key, const std::string& name) {
  const auto it = rule.find(key);
  if (it == rule.end() || !it->is_number()) bad_rule(name, std::string("'") + key + "' must be a number");
  return it->get<double>();
}

std::optional<double> json_optional_number(const nlohmann::json& object, const char* key, const std::string& name) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) bad_rule(name, std::string("'") + key + "' must be a number or null");
  return it->get<double>();
}

// Calls sink(i, points of `rule` for row i) for rows [begin, end), with the operator, the
// per-unit choice and the cap resolved outside the loop so that it vectorises. Gives exactly
// RuleSpec::points_for, which the reference tests compare against.
template <class Match, class Sink>
void rule_points(const RuleSpec& rule, std::span<const double> column, std::size_t begin, std::size_t end, Match match,
                 Sink sink) {
  const double low = rule.cap ? -*rule.cap : -HUGE_VAL;
  const double high = rule.cap ? *rule.cap : HUGE_VAL;
  if (rule.per_unit) {
    const double points = rule.points;
    for (std::size_t i = begin; i < end; ++i) {
      const double x = column[i];
      sink(i, match(x) ? std::clamp(points * x, low, high) : 0.0);
    }
  } else {
    const double fixed = std::clamp(rule.points, low, high);
    for (std::size_t i = begin; i < end; ++i) sink(i, match(column[i]) ? fixed : 0.0);
  }
}

template <class Sink>
void for_rule(const RuleSpec& rule, std::span<const double> column, std::size_t begin, std::size_t end, Sink sink) {
  const double v = rule.value;
  const double u = rule.upper;
  switch (rule.op) {
    case RuleOp::always: return rule_points(rule, column, begin, end, [](double) { return true; }, sink);
    case RuleOp::less: return rule_points(rule, column, begin, end, [v](double x) { return x < v; }, sink);
    case RuleOp::less_equal: return rule_points(rule, column, begin, end, [v](double x) { return x <= v; }, sink);
    case RuleOp::greater: return rule_points(rule, column, begin, end, [v](double x) { return x > v; }, sink);
    case RuleOp::greater_equal: return rule_points(rule, column, begin, end, [v](double x) { return x >= v; }, sink);
    case RuleOp::equal: return rule_points(rule, column, begin, end, [v](double x) { return x == v; }, sink);
    case RuleOp::not_equal: return rule_points(rule, column, begin, end, [v](double x) { return x != v; }, sink);
    case RuleOp::between:
      return rule_points(rule, column, begin, end, [v, u](double x) { return v <= x && x <= u; }, sink);
  }
}

}  // namespace

std::string_view rule_op_symbol(RuleOp op) noexcept {
  switch (op) {
    case RuleOp::always: return "";
    case RuleOp::less: return "<";
    case RuleOp::less_equal: return "<=";
    case RuleOp::greater: return ">";
    case RuleOp::greater_equal: return ">=";
    case RuleOp::equal: return "==";
    case RuleOp::not_equal: return "!=";
    case RuleOp::between: return "between";
  }
  return "";
}

RuleOp parse_rule_op(std::string_view symbol, const std::string& rule_name) {
  for (const auto op : {RuleOp::less, RuleOp::less_equal, RuleOp::greater, RuleOp::greater_equal, RuleOp::equal,
                        RuleOp::not_equal, RuleOp::between}) {
    if (symbol == rule_op_symbol(op)) return op;
  }
  bad_rule(rule_name, "unknown op '" + std::string(symbol) + "' (expected <, <=, >, >=, ==, != or between)");
}

double RuleSpec::points_for(double x) const noexcept {
  if (!matches(x)) return 0.0;
  const double p = per_unit ? points * x : points;
  return cap ? std::clamp(p, -*cap, *cap) : p;
}

RuleScorer::RuleScorer(std::vector<RuleSpec> rules, std::optional<double> floor, std::optional<double> cap)
    : rules_(std::move(rules)), floor_(floor), cap_(cap) {
  std::unordered_set<std::string> names;
  for (std::size_t r = 0; r < rules_.size(); ++r) {
    const auto& rule = rules_[r];
    const auto label = rule.name.empty() ? std::string("#") + std::to_string(r) : rule.name;
    if (rule.name.empty()) bad_rule(label, "a rule needs a name");
    if (!names.insert(rule.name).second) bad_rule(label, "two rules have this name; names must be unique");
    if (rule.feature.empty()) bad_rule(label, "a rule needs a feature");
    if (!std::isfinite(rule.points)) bad_rule(label, "points must be finite");
    if (!std::isfinite(rule.value) || !std::isfinite(rule.upper)) bad_rule(label, "the value must be finite");
    if (rule.op == RuleOp::between && rule.value > rule.upper) {
      bad_rule(label, "between needs lower <= upper");
    }
    if (rule.op == RuleOp::always && !rule.per_unit) {
      bad_rule(label, "a rule without a condition must give points per unit");
    }
    if (rule.cap && !(std::isfinite(*rule.cap) && *rule.cap >= 0.0)) bad_rule(label, "cap must be finite and >= 0");
    const auto found = std::find(features_.begin(), features_.end(), rule.feature);
    column_.push_back(static_cast<std::size_t>(found - features_.begin()));
    if (found == features_.end()) features_.push_back(rule.feature);
  }
  if (floor_ && !std::isfinite(*floor_)) throw FunnelError(ErrorKind::ScorerFormat, "floor must be finite", "floor");
  if (cap_ && !std::isfinite(*cap_)) throw FunnelError(ErrorKind::ScorerFormat, "cap must be finite", "cap");
  if (floor_ && cap_ && *floor_ > *cap_) {
    throw FunnelError(ErrorKind::ScorerFormat, "floor must not exceed cap", "floor");
  }
}

RuleScorer RuleScorer::from_params(const nlohmann::json& params) {
  if (!params.is_object() || !params.contains("rules") || !params["rules"].is_array()) {
    throw FunnelError(ErrorKind::ScorerFormat, "rule scorer parameters need a 'rules' array", "rules");
  }
  std::vector<RuleSpec> rules;
  for (std::size_t r = 0; r < params["rules"].size(); ++r) {
    const auto& item = params["rules"][r];
    std::string name = std::string("#") + std::to_string(r);
    if (!item.is_object()) bad_rule(name, "a rule must be a JSON object");
    if (item.contains("name") && item["name"].is_string()) name = item["name"].get<std::string>();
    RuleSpec rule;
    rule.name = name;
    if (!item.contains("feature") || !item["feature"].is_string()) bad_rule(name, "'feature' must be a string");
    rule.feature = item["feature"].get<std::string>();
    rule.points = json_number(item, "points", name);
    if (item.contains("per_unit")) {
      if (!item["per_unit"].is_boolean()) bad_rule(name, "'per_unit' must be true or false");
      rule.per_unit = item["per_unit"].get<bool>();
    }
    rule.cap = json_optional_number(item, "cap", name);
    const auto value = item.find("value");
    const auto op = item.find("op");
    if (value == item.end() || value->is_null()) {
      rule.op = RuleOp::always;
    } else {
      if (op == item.end() || !op->is_string()) bad_rule(name, "'op' must be a string");
      rule.op = parse_rule_op(op->get<std::string>(), name);
      if (rule.op == RuleOp::between) {
        if (!value->is_array() || value->size() != 2 || !(*value)[0].is_number() || !(*value)[1].is_number()) {
          bad_rule(name, "between needs 'value' as [lower, upper]");
        }
        rule.value = (*value)[0].get<double>();
        rule.upper = (*value)[1].get<double>();
      } else {
        if (!value->is_number()) bad_rule(name, "'value' must be a number");
        rule.value = value->get<double>();
      }
    }
    rules.push_back(std::move(rule));
  }
  return RuleScorer(std::move(rules), json_optional_number(params, "floor", "floor"),
                    json_optional_number(params, "cap", "cap"));
}

nlohmann::json RuleScorer::params() const {
  auto rules = nlohmann::json::array();
  for (const auto& rule : rules_) {
    nlohmann::json item = {{"name", rule.name}, {"feature", rule.feature}, {"points", rule.points},
                           {"per_unit", rule.per_unit}};
    if (rule.op == RuleOp::always) {
      item["op"] = nullptr;
      item["value"] = nullptr;
    } else {
      item["op"] = rule_op_symbol(rule.op);
      item["value"] = rule.op == RuleOp::between ? nlohmann::json::array({rule.value, rule.upper})
                                                  : nlohmann::json(rule.value);
    }
    item["cap"] = rule.cap ? nlohmann::json(*rule.cap) : nlohmann::json(nullptr);
    rules.push_back(std::move(item));
  }
  return {{"rules", std::move(rules)},
          {"floor", floor_ ? nlohmann::json(*floor_) : nlohmann::json(nullptr)},
          {"cap", cap_ ? nlohmann::json(*cap_) : nlohmann::json(nullptr)}};
}

std::vector<std::string> RuleScorer::reason_names() const {
  std::vector<std::string> names;
  names.reserve(rules_.size());
  for (const auto& rule : rules_) names.push_back(rule.name);
  return names;
}

void RuleScorer::check(const FeatureMatrix& features, std::size_t out_size, std::size_t per_row) const {
  if (features.cols() != features_.size()) {
    std::string names;
    for (const auto& name : features_) names += (names.empty() ? "'" : ", '") + name + "'";
    const auto subject = features.cols() < features_.size() ? features_[features.cols()] : std::string();
    throw FunnelError(ErrorKind::MissingFeature,
                      std::string("the rule scorer reads ") + std::to_string(features_.size()) +
                          " feature column(s) (" + names + ") but got " + std::to_string(features.cols()),
                      subject);
  }
  for (std::size_t j = 0; j < features_.size(); ++j) {
    if (features.columns[j].size() != features.rows) {
      throw std::invalid_argument("feature '" + features_[j] + "' has " + std::to_string(features.columns[j].size()) +
                                  " rows, expected " + std::to_string(features.rows));
    }
  }
  if (out_size != features.rows * per_row) {
    throw std::invalid_argument(std::string("output holds ") + std::to_string(out_size) + " values, expected " +
                                std::to_string(features.rows * per_row));
  }
}

void RuleScorer::check_finite(const FeatureMatrix& features, std::size_t begin, std::size_t end) const {
  for (std::size_t j = 0; j < features_.size(); ++j) {
    const auto column = features.columns[j];
    bool finite = true;
    for (std::size_t i = begin; i < end; ++i) finite &= std::isfinite(column[i]);
    if (finite) continue;
    for (std::size_t i = begin; i < end; ++i) {
      if (!std::isfinite(column[i])) {
        throw FunnelError(ErrorKind::FeatureValue,
                          "feature '" + features_[j] + "' has a NaN or infinite value (row " + std::to_string(i) + ")",
                          features_[j]);
      }
    }
  }
}

void RuleScorer::score_rows(const FeatureMatrix& features, std::size_t begin, std::size_t end,
                            std::span<double> out) const {
  check_finite(features, begin, end);
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(begin), out.begin() + static_cast<std::ptrdiff_t>(end), 0.0);
  // Rule by rule over the block's rows: each row's sum runs in rule order, whatever the block.
  for (std::size_t r = 0; r < rules_.size(); ++r) {
    const auto& rule = rules_[r];
    const auto column = features.columns[column_[r]];
    for_rule(rule, column, begin, end, [out](std::size_t i, double p) { out[i] += p; });
  }
  const double low = floor_.value_or(-HUGE_VAL);
  const double high = cap_.value_or(HUGE_VAL);
  for (std::size_t i = begin; i < end; ++i) out[i] = std::clamp(out[i], low, high);
}

void RuleScorer::contribute_rows(const FeatureMatrix& features, std::size_t begin, std::size_t end,
                                 std::span<double> out) const {
  check_finite(features, begin, end);
  const auto k = rules_.size();
  for (std::size_t r = 0; r < k; ++r) {
    const auto& rule = rules_[r];
    const auto column = features.columns[column_[r]];
    for_rule(rule, column, begin, end, [out, k, r](std::size_t i, double p) { out[i * k + r] = p; });
  }
}

void RuleScorer::score(const FeatureMatrix& features, std::span<double> out) const {
  score(features, out, 1, {});
}

void RuleScorer::contributions(const FeatureMatrix& features, std::span<double> out) const {
  contributions(features, out, 1, {});
}

void RuleScorer::score(const FeatureMatrix& features, std::span<double> out, std::size_t threads,
                       const Progress& progress) const {
  check(features, out.size(), 1);
  const auto blocks = (features.rows + kBlockRows - 1) / kBlockRows;
  parallel_for(
      blocks, threads,
      [&](std::size_t b) {
        score_rows(features, b * kBlockRows, std::min(features.rows, (b + 1) * kBlockRows), out);
      },
      progress);
}

void RuleScorer::contributions(const FeatureMatrix& features, std::span<double> out, std::size_t threads,
                               const Progress& progress) const {
  check(features, out.size(), rules_.size());
  const auto blocks = (features.rows + kBlockRows - 1) / kBlockRows;
  parallel_for(
      blocks, threads,
      [&](std::size_t b) {
        contribute_rows(features, b * kBlockRows, std::min(features.rows, (b + 1) * kBlockRows), out);
      },
      progress);
}

}  // namespace funnelkit::scoring
