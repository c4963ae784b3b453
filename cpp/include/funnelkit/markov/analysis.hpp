#pragma once
/// \file Exact analytics of a funnel as an absorbing Markov chain / Markov reward process,
/// computed on demand.
///
/// An Analysis is bound to a compiled chain and computes each quantity the first time it is
/// asked for, then keeps it: absorption probabilities, expected steps and time with their
/// variances, conditional time to success, stage values and visits cost a handful of solves of
/// I - Q (and of I - gamma Q when values are discounted); the probability of ever reaching a
/// stage, removal effects and edge sensitivities are computed only when asked, and only for the
/// stages or edges asked about. Solves go through markov::LinearSystem (a solver per strongly
/// connected component). Formulas and their derivations are in docs/analytics.md.
///
/// Every method may be called from several threads; results are computed once.

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include <Eigen/Dense>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/linear_system.hpp"

namespace funnelkit::markov {

/// Derivatives (from the entry) with respect to one edge probability, every other edge held
/// fixed and the row remainder (drop, which takes the stage's holding time) absorbing the change.
struct EdgeSensitivity {
  std::size_t edge = 0;  ///< index in Funnel::edges()
  std::size_t from = 0;  ///< chain state
  std::size_t to = 0;    ///< chain state
  double probability = 0.0;
  double d_success = 0.0;
  double d_value = 0.0;
  double d_time = 0.0;
};

/// What removing a stage costs a lead entering the funnel (Markov attribution).
struct RemovalEffect {
  std::size_t state = 0;
  double success_lost = 0.0;
  double value_lost = 0.0;
};

/// Numbers for a lead entering the funnel.
struct Summary {
  double success = 0.0;
  double value_per_entrant = 0.0;  ///< includes the value of the entry stage itself
  double steps = 0.0;
  double steps_sd = 0.0;
  double time = 0.0;
  double time_sd = 0.0;
  double time_to_success = 0.0;  ///< NaN when success is impossible
};

class Analysis {
 public:
  explicit Analysis(std::shared_ptr<const Chain> chain, SolverOptions options = {});

  [[nodiscard]] const Chain& chain() const noexcept { return *chain_; }
  [[nodiscard]] const SolverOptions& options() const noexcept { return options_; }

  // Per state, in chain order. Absorbing states: absorption is the identity row, steps and
  // time are 0, value is 0 (a stage's value is counted on the way in).
  [[nodiscard]] const Eigen::MatrixXd& absorption();          ///< n x absorbing: P(end in a | at state)
  [[nodiscard]] const Eigen::VectorXd& success_probability();  ///< P(end in a success stage | at state)
  [[nodiscard]] const Eigen::VectorXd& expected_steps();       ///< transitions until absorption
  [[nodiscard]] const Eigen::VectorXd& steps_variance();
  [[nodiscard]] const Eigen::VectorXd& expected_time();        ///< holding times and delays until absorption
  [[nodiscard]] const Eigen::VectorXd& time_variance();
  [[nodiscard]] const Eigen::VectorXd& time_to_success();      ///< E[time | success]; NaN where impossible
  [[nodiscard]] const Eigen::VectorXd& value();                ///< expected (discounted) value still to come
  /// From the entry: expected visits (transient) or P(ending there) (absorbing).
  [[nodiscard]] const Eigen::VectorXd& expected_visits();
  /// From the entry: P(the journey fails right after this state).
  [[nodiscard]] const Eigen::VectorXd& dropped();
  /// Numbers for a lead entering the funnel; each asks only for the solves it needs.
  [[nodiscard]] double success();
  [[nodiscard]] double value_per_entrant();
  [[nodiscard]] double steps();
  [[nodiscard]] double steps_sd();
  [[nodiscard]] double time();
  [[nodiscard]] double time_sd();
  [[nodiscard]] double time_to_success_mean();
  [[nodiscard]] Summary summary();

  /// P(ever visiting each state) from the entry. Absorbing and acyclic stages are cheap; a stage
  /// in a loop costs one solve of its component (see LinearSystem::inverse_diagonal).
  [[nodiscard]] std::vector<double> reach(std::span<const std::size_t> states, const Progress& progress = {});
  /// Column solves reach(states) still needs: what a progress bar counts.
  [[nodiscard]] std::size_t reach_cost(std::span<const std::size_t> states);
  /// Removal effects of the given transient states (absorbing states are not removable).
  [[nodiscard]] std::vector<RemovalEffect> removal_effects(std::span<const std::size_t> states,
                                                           const Progress& progress = {});
  /// Sensitivities of the given edges (indices into Funnel::edges()); every edge when empty.
  [[nodiscard]] std::vector<EdgeSensitivity> sensitivities(std::span<const std::size_t> edges = {});

  /// How each component with a cycle was solved, for I - Q and (if values are discounted)
  /// I - gamma Q; empty until something was solved.
  [[nodiscard]] std::vector<ComponentReport> solver_reports() const;

  /// Compressed lists of the states moving into each state with positive probability.
  struct Predecessors {
    std::vector<std::size_t> offsets;
    std::vector<std::size_t> states;
  };

 private:
  const Predecessors& predecessors();
  const LinearSystem& system();             // I - Q
  const LinearSystem& discounted_system();  // I - gamma Q (the same object when gamma == 1)
  Eigen::VectorXd solve(Eigen::VectorXd b, bool transposed = false);
  const Eigen::VectorXd& transient_success();  // b on transient indices
  const Eigen::VectorXd& transient_time();
  const Eigen::VectorXd& transient_value();
  const Eigen::VectorXd& transient_visits();             // z = N^T s
  const Eigen::VectorXd& transient_discounted_visits();  // G^T s
  /// diag(N) or diag(G) at transient indices, cached per index.
  std::vector<double> diagonal(std::span<const std::size_t> indices, bool discounted, const Progress& progress);
  [[nodiscard]] std::size_t transient_index(std::size_t state) const;
  Eigen::VectorXd to_states(const Eigen::VectorXd& transient, double absorbing_value) const;
  /// The value in `slot`, computed by `compute` on first use (under the analysis' lock).
  template <class T, class Compute>
  const T& cached(std::optional<T>& slot, Compute compute);
  /// Per transient state t: sum over its transitions of probability * contribution(transition).
  template <class Contribution>
  Eigen::VectorXd row_sums(Contribution contribution) const;

  std::shared_ptr<const Chain> chain_;
  SolverOptions options_;
  std::shared_ptr<const TransientStructure> structure_;
  Eigen::VectorXd entry_;  // s on transient indices
  mutable std::recursive_mutex mutex_;

  std::unique_ptr<LinearSystem> system_;
  std::unique_ptr<LinearSystem> discounted_system_;
  std::optional<Eigen::MatrixXd> transient_absorption_, absorption_;
  std::optional<Eigen::VectorXd> transient_success_, transient_time_, transient_value_, transient_visits_,
      transient_discounted_visits_, steps_, steps_second_, time_second_, time_and_success_;
  std::optional<Eigen::VectorXd> success_probability_, expected_steps_, steps_variance_, expected_time_,
      time_variance_, time_to_success_, value_, expected_visits_, dropped_;
  std::vector<double> diagonal_, discounted_diagonal_;  // NaN until computed
  std::optional<Predecessors> predecessors_;
};

/// diag((I - discount * Q)^-1) over the transient states, Q the chain's transient block: the
/// expected number of visits to a state starting there. Computed per strongly connected
/// component (a return to a state never leaves its component), so acyclic funnels cost O(n).
[[nodiscard]] Eigen::VectorXd visit_diagonal(const Chain& chain, double discount);

}  // namespace funnelkit::markov
