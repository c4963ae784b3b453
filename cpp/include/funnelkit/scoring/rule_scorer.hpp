#pragma once
/// \file Rule-based points, as in marketing-automation tools: transparent scoring a shop writes
/// down itself ("cart add in the last week: +5 each, at most 30"; "unsubscribed: -50").
///
/// Each rule reads one feature column and gives either fixed points when a condition holds
/// (x >= 1, x in [0, 3], ...) or points per unit of the feature (points x value, e.g. per
/// decayed cart add), optionally only where a condition holds. A rule's points are clipped to
/// [-cap, cap] when it has a cap; the lead's total, the sum over rules, is clipped to
/// [floor, cap] of the scorer. Points are not probabilities: they rank leads and explain why.
///
/// The contributions (what a lead's reasons are made of) are the points of each rule before
/// the total's floor and cap, so a marketer sees every rule that fired.
///
/// \code
///   RuleScorer scorer({RuleSpec{"carts", "cart_adds", RuleOp::greater_equal, 1.0, 0.0, 20.0},
///                      RuleSpec{"views", "page_views", RuleOp::always, 0.0, 0.0, 0.5, true, 10.0}});
///   scorer.score(features, out);  // features: cart_adds, page_views (scorer.feature_names())
/// \endcode

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/scoring/scorer.hpp"

namespace funnelkit::scoring {

/// The condition of a rule on its feature value x.
enum class RuleOp {
  always,         ///< no condition (per-unit rules only)
  less,           ///< x < value
  less_equal,     ///< x <= value
  greater,        ///< x > value
  greater_equal,  ///< x >= value
  equal,          ///< x == value (exact: meant for counts and flags)
  not_equal,      ///< x != value
  between,        ///< value <= x <= upper (both ends included)
};

/// The JSON spelling of an operator ("<", "<=", ..., "between"; "" for always).
[[nodiscard]] std::string_view rule_op_symbol(RuleOp op) noexcept;
/// The operator a JSON spelling names; throws FunnelError(ScorerFormat) for others.
[[nodiscard]] RuleOp parse_rule_op(std::string_view symbol, const std::string& rule_name);

/// One rule: a feature, a condition, points.
struct RuleSpec {
  std::string name;     ///< unique within a scorer: the reason shown to marketers
  std::string feature;  ///< the feature column the rule reads
  RuleOp op = RuleOp::always;
  double value = 0.0;     ///< the threshold (lower end for between)
  double upper = 0.0;     ///< upper end for between
  double points = 0.0;    ///< fixed points, or points per unit when per_unit
  bool per_unit = false;  ///< points x feature value (where the condition holds)
  std::optional<double> cap;  ///< the rule gives at most this many points either way (>= 0)

  /// True when x meets the condition.
  [[nodiscard]] bool matches(double x) const noexcept {
    switch (op) {
      case RuleOp::always: return true;
      case RuleOp::less: return x < value;
      case RuleOp::less_equal: return x <= value;
      case RuleOp::greater: return x > value;
      case RuleOp::greater_equal: return x >= value;
      case RuleOp::equal: return x == value;
      case RuleOp::not_equal: return x != value;
      case RuleOp::between: return value <= x && x <= upper;
    }
    return false;
  }

  /// The rule's points for feature value x.
  [[nodiscard]] double points_for(double x) const noexcept;
};

/// Rule points summed per lead, clipped to [floor, cap].
class RuleScorer final : public Scorer {
 public:
  /// Checks every rule (names unique and non-empty, finite numbers, caps >= 0, between with
  /// value <= upper, per-unit for conditionless rules) and floor <= cap; throws
  /// FunnelError(ScorerFormat) naming the rule at fault.
  explicit RuleScorer(std::vector<RuleSpec> rules, std::optional<double> floor = std::nullopt,
                      std::optional<double> cap = std::nullopt);

  /// Rebuilds a scorer from params(): {"rules": [{"name", "feature", "op", "value", "points",
  /// "per_unit", "cap"}], "floor", "cap"}; "value" is [lower, upper] for between, null for no
  /// condition.
  [[nodiscard]] static RuleScorer from_params(const nlohmann::json& params);

  [[nodiscard]] std::string type_name() const override { return "rules"; }
  [[nodiscard]] nlohmann::json params() const override;
  /// The distinct features the rules read, in order of first use.
  [[nodiscard]] std::vector<std::string> feature_names() const override { return features_; }
  /// Rule names: the columns of contributions().
  [[nodiscard]] std::vector<std::string> reason_names() const;
  [[nodiscard]] const std::vector<RuleSpec>& rules() const noexcept { return rules_; }
  [[nodiscard]] std::optional<double> floor() const noexcept { return floor_; }
  [[nodiscard]] std::optional<double> cap() const noexcept { return cap_; }

  /// One clipped total per row. Throws FunnelError(MissingFeature) when `features` has not one
  /// column per feature_names(), FeatureValue for NaN or infinite values.
  void score(const FeatureMatrix& features, std::span<double> out) const override;
  /// Points per row and rule, row-major (rows x rules()), before the total's floor and cap.
  void contributions(const FeatureMatrix& features, std::span<double> out) const override;

  /// score() over blocks of rows on up to `threads` threads (0: all cores); results do not
  /// depend on the thread count. `progress` sees rows done and may cancel.
  void score(const FeatureMatrix& features, std::span<double> out, std::size_t threads,
             const Progress& progress) const;
  /// contributions() over blocks of rows on up to `threads` threads.
  void contributions(const FeatureMatrix& features, std::span<double> out, std::size_t threads,
                     const Progress& progress) const;

 private:
  void check(const FeatureMatrix& features, std::size_t out_size, std::size_t per_row) const;
  void check_finite(const FeatureMatrix& features, std::size_t begin, std::size_t end) const;
  void score_rows(const FeatureMatrix& features, std::size_t begin, std::size_t end, std::span<double> out) const;
  void contribute_rows(const FeatureMatrix& features, std::size_t begin, std::size_t end,
                       std::span<double> out) const;

  std::vector<RuleSpec> rules_;
  std::vector<std::size_t> column_;  ///< per rule: its feature's column in FeatureMatrix
  std::vector<std::string> features_;
  std::optional<double> floor_;
  std::optional<double> cap_;
};

}  // namespace funnelkit::scoring
