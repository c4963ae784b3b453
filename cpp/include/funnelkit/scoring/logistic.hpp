#pragma once
/// \file Regularised binary logistic regression: the learned lead scorer.
///
/// The fit minimises exactly scikit-learn's objective for LogisticRegression (1.9), so that
/// coefficients agree with it on the same data and penalty:
///
///     C · Σ_i s_i · ℓ_i(w, b)  +  (1 − ρ)/2 · ‖w‖²  +  ρ · ‖w‖₁
///
/// with ℓ_i the log loss of row i, s_i = sample weight × class weight, ρ the L1 ratio and C the
/// inverse penalty strength (C = ∞: no penalty). The intercept b is never penalised (as with
/// scikit-learn's lbfgs, newton and saga solvers; liblinear differs). Internally the objective
/// is divided by C · Σ s_i, so the tolerance is on the gradient of the weighted *mean* loss plus
/// penalty, as scikit-learn's lbfgs `tol` is, and does not grow with the number of rows.
///
/// Rows are cut into fixed blocks (their size depends on the data's shape only); each block's
/// gradient and Hessian are computed on whichever thread and summed in block order, so the
/// fit is bit-identical for any thread count.

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/scoring/scorer.hpp"

namespace funnelkit::scoring {

enum class LogisticSolver {
  Auto,    ///< Newton for up to 1000 columns (any penalty), L-BFGS above that for pure L2
  Newton,  ///< (proximal) Newton: IRLS steps solved by LDLT (L2) or coordinate descent (L1 part)
  Lbfgs,   ///< limited-memory BFGS, L2 or no penalty only
};

[[nodiscard]] const char* solver_name(LogisticSolver solver) noexcept;

struct LogisticOptions {
  /// Inverse penalty strength; infinity fits without a penalty.
  double C = 1.0;
  /// ρ in [0, 1]: 0 is L2 (ridge), 1 is L1 (lasso), between is the elastic net.
  double l1_ratio = 0.0;
  bool fit_intercept = true;
  /// Fit on standardised columns ((x − mean) / population std) and fold the scaling back into
  /// the coefficients: the penalty then treats all features alike whatever their units.
  /// Constant columns get a zero coefficient.
  bool standardize = false;
  LogisticSolver solver = LogisticSolver::Auto;
  std::size_t max_iter = 100;
  /// Convergence: the largest entry of the (minimum-norm sub)gradient of the normalised
  /// objective is at most tol.
  double tol = 1e-8;
  /// Weights of class 0 and class 1 (multiplying sample weights), unless `balanced`.
  double class_weight[2] = {1.0, 1.0};
  /// scikit-learn's "balanced": class c weighs Σ s / (2 · Σ_{y=c} s) (s: the sample weights).
  bool balanced = false;
  std::size_t threads = 0;  ///< 0: all cores
};

struct LogisticFit {
  std::vector<double> coefficients;  ///< one per column, on the columns' own scale
  double intercept = 0.0;
  std::vector<double> means;   ///< unweighted column means of the training data
  std::vector<double> scales;  ///< population standard deviations used (1 without standardize)
  std::size_t iterations = 0;
  bool converged = false;
  double gradient_norm = 0.0;  ///< final max-abs (sub)gradient of the normalised objective
  double objective = 0.0;      ///< final value of the sklearn objective (not normalised)
  LogisticSolver solver = LogisticSolver::Auto;  ///< the solver actually used
  double class_weight[2] = {1.0, 1.0};           ///< class weights actually used
};

/// Fits the model to `x` (rows x columns) and 0/1 labels `y`; `sample_weight` is empty (all 1)
/// or one non-negative weight per row. Throws FunnelError(Label) for labels not 0/1, of one
/// class or of another length, FunnelError(FeatureValue) for NaN/inf features (naming the
/// column by index), std::invalid_argument for bad options or weights. `progress` is called
/// between blocks of rows (cancellation); the fit does not throw when it does not converge:
/// it reports converged = false.
[[nodiscard]] LogisticFit fit_logistic(const FeatureMatrix& x, std::span<const double> y,
                                       std::span<const double> sample_weight, const LogisticOptions& options,
                                       const Progress& progress = {});

/// The sklearn objective of (coefficients, intercept) on the data (for tests and reports).
[[nodiscard]] double logistic_objective(const FeatureMatrix& x, std::span<const double> y,
                                        std::span<const double> weights, std::span<const double> coefficients,
                                        double intercept, double C, double l1_ratio);

/// A fitted logistic model as a lead scorer: score = sigmoid(b + Σ w_j x_j). A feature is
/// either numeric (one coefficient) or categorical with k levels: its column then holds level
/// codes 0..k−1 (anything else, e.g. −1, is an unseen level and adds nothing) and it owns k
/// consecutive coefficients (one-hot, no level dropped). Contributions are in log-odds
/// relative to the training data's average lead: w_j (x_j − mean_j) for a numeric feature,
/// w_code − Σ_k share_k w_k for a categorical one; they sum to logit(score) − baseline().
class LogisticScorer final : public Scorer {
 public:
  LogisticScorer(std::vector<std::string> features, std::vector<std::size_t> levels, std::vector<double> coefficients,
                 double intercept, std::vector<double> means, std::vector<double> scales);

  /// Rebuilds a scorer from params() (throws FunnelError(ScorerFormat) on a malformed object).
  [[nodiscard]] static LogisticScorer from_params(const nlohmann::json& params);

  [[nodiscard]] std::string type_name() const override { return "logistic"; }
  [[nodiscard]] nlohmann::json params() const override;
  [[nodiscard]] std::vector<std::string> feature_names() const override { return features_; }
  void score(const FeatureMatrix& features, std::span<double> out) const override;
  void contributions(const FeatureMatrix& features, std::span<double> out) const override;

  /// The log-odds b + Σ w_j x_j per row (scikit-learn's decision_function).
  void decision(const FeatureMatrix& features, std::span<double> out) const;
  /// The log-odds of the training data's average lead (contributions are relative to it).
  [[nodiscard]] double baseline() const noexcept { return baseline_; }

  [[nodiscard]] const std::vector<double>& coefficients() const noexcept { return coefficients_; }
  [[nodiscard]] double intercept() const noexcept { return intercept_; }
  [[nodiscard]] const std::vector<std::size_t>& levels() const noexcept { return levels_; }

 private:
  void check(const FeatureMatrix& features) const;

  std::vector<std::string> features_;
  std::vector<std::size_t> levels_;  ///< 0: numeric, k: categorical with k levels
  std::vector<std::size_t> offset_;  ///< first coefficient of each feature
  std::vector<double> coefficients_;
  double intercept_ = 0.0;
  std::vector<double> means_;   ///< per coefficient: column mean or level share
  std::vector<double> scales_;  ///< per coefficient, informational (standardisation used)
  std::vector<double> centre_;  ///< per feature: Σ w mean over its coefficients
  double baseline_ = 0.0;
};

}  // namespace funnelkit::scoring
