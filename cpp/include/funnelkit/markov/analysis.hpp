#pragma once
/// \file Exact analytics of a funnel as an absorbing Markov chain / Markov reward process.
///
/// Everything comes from one sparse LU factorisation of I - Q (and one of I - gamma Q when
/// values are discounted): absorption probabilities, reach and visits from the entry, expected
/// steps and time with their variances, conditional time to success, stage values, removal
/// effects and the derivatives of conversion, value and time with respect to every edge.
/// Formulas and their derivations are in docs/analytics.md.

#include <cstddef>
#include <vector>

#include <Eigen/Dense>

#include "funnelkit/markov/chain.hpp"

namespace funnelkit::markov {

/// Derivatives (from the entry) with respect to one edge probability, every other edge held
/// fixed and the row remainder (drop, which takes the stage's holding time) absorbing the change.
struct EdgeSensitivity {
  std::size_t edge = 0;  ///< index in Funnel::edges()
  std::size_t from = 0;
  std::size_t to = 0;
  double probability = 0.0;
  double d_success = 0.0;
  double d_value = 0.0;
  double d_time = 0.0;
};

struct Analysis {
  // Per state (chain order). Absorbing states: absorption is the identity row, steps and time
  // are 0, value is 0 (its entry value is counted on the way in).
  Eigen::MatrixXd absorption;          ///< n x absorbing: P(end in a | at state)
  Eigen::VectorXd success_probability; ///< P(end in any success stage | at state)
  Eigen::VectorXd expected_steps;      ///< transitions until absorption
  Eigen::VectorXd steps_variance;
  Eigen::VectorXd expected_time;       ///< time until absorption (holding times and delays)
  Eigen::VectorXd time_variance;
  Eigen::VectorXd time_to_success;     ///< E[time | ends in success]; NaN where success is impossible
  Eigen::VectorXd value;               ///< expected (discounted) value still to come
  // Per state, for a lead entering the funnel.
  Eigen::VectorXd expected_visits;     ///< transient: expected visits; absorbing: P(ending there)
  Eigen::VectorXd reach;               ///< P(ever visiting the state)
  Eigen::VectorXd dropped;             ///< P(the journey fails right after this state)
  Eigen::VectorXd removal_success;     ///< success probability lost if the state were removed
  Eigen::VectorXd removal_value;       ///< expected value lost if the state were removed
  std::vector<EdgeSensitivity> edges;
  // Summaries for a lead entering the funnel.
  double success = 0.0;
  double value_per_entrant = 0.0;  ///< includes the value of the entry stage itself
  double steps = 0.0;
  double steps_sd = 0.0;
  double time = 0.0;
  double time_sd = 0.0;
  double time_to_success_mean = 0.0;  ///< NaN when success is impossible
};

[[nodiscard]] Analysis analyze(const Chain& chain);

/// diag((I - discount * Q)^-1) over the transient states, Q the chain's transient block: the
/// expected number of visits to a state starting there. Computed per strongly connected
/// component (a return to a state never leaves its component), so acyclic funnels cost O(n).
[[nodiscard]] Eigen::VectorXd visit_diagonal(const Chain& chain, double discount);

}  // namespace funnelkit::markov
