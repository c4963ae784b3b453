#pragma once
/// \file The funnel-model lead score: P(purchase) and expected revenue of a lead from its
/// stage and how long it has been idle there, exactly from the fitted funnel (no training).
///
/// A lead in transient state i idle for t has not taken any of i's transitions yet, so its
/// next step follows the conditional law w_j(t) of markov::NextStep, and
///
///     P(purchase)      = sum_j w_j(t) b_j
///     expected revenue = sum_j w_j(t) (r_j + gamma v_j)
///
/// with b_j the success probability and v_j the expected (discounted) value still to come from
/// j (markov::Analysis), r_j the value received on entering j and gamma the funnel's
/// per-transition discount. The value of the stage the lead is in was received on the way in
/// and is not counted again; at t = 0 the revenue is v_i and P is b_i. An absorbing state
/// scores 1 (success) or 0 and no further revenue. Leads not yet in the funnel score as a fresh
/// arrival: sum_i e_i b_i and sum_i e_i (r_i + v_i) over the entry distribution e (the
/// analysis' success and value per entrant).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/next_step.hpp"
#include "funnelkit/scoring/scorer.hpp"

namespace funnelkit::scoring {

/// Stage codes beside the chain's states (0 .. size - 1).
inline constexpr std::int64_t kNotEntered = -1;  ///< not yet in the funnel: scores as a fresh arrival
inline constexpr std::int64_t kLeft = -2;        ///< left a funnel that has no stage for it: 0 and 0

/// P(purchase) and expected revenue of one lead.
struct FunnelLeadScore {
  double purchase = 0.0;
  double revenue = 0.0;
};

class FunnelScore final : public Scorer {
 public:
  /// Solves what the score needs (success probabilities and values) once, here. `params` is
  /// what params() returns: the engine does not rebuild scorers from documents, so the Python
  /// layer (fk.FunnelScorer) keeps the funnel's document and mapping options itself.
  /// `threads` (0: all cores) never changes a result.
  FunnelScore(std::shared_ptr<const markov::Chain> chain, std::shared_ptr<markov::Analysis> analysis,
              nlohmann::json params = nlohmann::json::object(), std::size_t threads = 0);

  [[nodiscard]] std::string type_name() const override { return "funnel"; }
  [[nodiscard]] nlohmann::json params() const override { return params_; }
  /// Column 0: the stage code (a chain state, kNotEntered or kLeft, as a whole number);
  /// column 1: the time idle in that stage, in the funnel's time unit.
  [[nodiscard]] std::vector<std::string> feature_names() const override { return {"stage", "time_in_stage"}; }
  /// P(purchase) per row.
  void score(const FeatureMatrix& features, std::span<double> out) const override;
  /// Two reasons per row: the stage's own score at t = 0 ("stage") and what the idle time
  /// changed ("time_in_stage", usually negative); they sum to the score.
  void contributions(const FeatureMatrix& features, std::span<double> out) const override;

  /// Both numbers for every lead, over `threads` in blocks (progress between blocks).
  /// Throws FunnelError(FeatureValue) naming the first bad row: a code that is no state, a
  /// negative or infinite time, or NaN where the time matters (a transient stage).
  void evaluate(std::span<const std::int64_t> states, std::span<const double> times, std::span<double> purchase,
                std::span<double> revenue, const Progress& progress = {}) const;
  /// One lead, unchecked (see evaluate for what is valid).
  [[nodiscard]] FunnelLeadScore evaluate_one(std::int64_t state, double t) const;

  [[nodiscard]] const markov::Chain& chain() const noexcept { return *chain_; }
  [[nodiscard]] const markov::NextStep& next_step() const noexcept { return next_step_; }
  /// b_j per state.
  [[nodiscard]] const std::vector<double>& success() const noexcept { return success_; }
  /// r_j + gamma v_j per state: what entering j is worth from the step before.
  [[nodiscard]] const std::vector<double>& entering_value() const noexcept { return entering_; }
  [[nodiscard]] FunnelLeadScore fresh_arrival() const noexcept { return fresh_; }

 private:
  void check(std::span<const std::int64_t> states, std::span<const double> times) const;
  [[nodiscard]] FunnelLeadScore at_zero(std::int64_t state) const;

  std::shared_ptr<const markov::Chain> chain_;
  std::shared_ptr<markov::Analysis> analysis_;
  nlohmann::json params_;
  std::size_t threads_;
  markov::NextStep next_step_;
  std::vector<double> success_;
  std::vector<double> entering_;
  std::vector<FunnelLeadScore> start_;     // per state at t = 0
  std::vector<FunnelLeadScore> terminal_;  // per state past every transition's support
  FunnelLeadScore fresh_;
};

}  // namespace funnelkit::scoring
