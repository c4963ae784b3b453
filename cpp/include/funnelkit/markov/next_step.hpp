#pragma once
/// \file Where a lead goes next, and when, given how long it has already stayed in its state.
///
/// A lead that entered state i and is still there after t has not taken any of the row's
/// transitions yet, so each transition j is weighted by the chance its delay outlasts t:
///
///     w_j(t) = p_j S_j(t) / sum_k p_k S_k(t),
///
/// with S_j the survival of the transition's delay (the edge's delay, else the stage's holding
/// time). This is what lead scoring mixes success probabilities with, and what a simulation
/// needs when a trigger arrives in the middle of a stay.
///
/// Conventions, so that every t has an answer:
/// * t = 0: the lead has just arrived and nothing is learnt; w_j = p_j (the row), even for
///   delays with an atom at 0.
/// * A transition without any delay distribution takes no time: S(t) = 0 for t > 0.
/// * Past every transition's support (S_j(t) = 0 for all j) the weights are the limit from
///   the left at the last time some transition could still be pending: w_j = lim p_j S_j(s) /
///   sum_k p_k S_k(s) for s rising to s* = sup {s : sum_k p_k S_k(s) > 0}. It is evaluated at
///   the largest double below s* (found once per state by bisection), which gives the exact
///   limit in the cases that matter: an atom at the end wins over a density vanishing there
///   (a fitted loss edge Fixed(W) over delays truncated at W: past W the lead has left),
///   several atoms at one end share in proportion to p_j, and among unbounded delays whose
///   survivals underflow the heaviest tail wins. When no such time exists (every transition
///   takes no time) the weights are the row's probabilities.

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "funnelkit/core/random.hpp"
#include "funnelkit/markov/chain.hpp"

namespace funnelkit::markov {

/// P(the transition's delay exceeds t): its delay's survival, 0 for t > 0 without a delay
/// (it takes no time), 1 for t <= 0.
[[nodiscard]] double transition_survival(const Transition& transition, double t);

/// The next-step law of every state of one chain, with the past-the-support weights of each
/// transient state computed once. Immutable after construction: share it between threads.
class NextStep {
 public:
  /// `threads` (0: all cores) only speeds up the per-state preparation; results do not
  /// depend on it.
  explicit NextStep(std::shared_ptr<const Chain> chain, std::size_t threads = 0);

  [[nodiscard]] const Chain& chain() const noexcept { return *chain_; }

  /// Writes w_j(t) over chain().transitions(state) into `out` (that row's length; nothing for
  /// an absorbing state). Throws std::invalid_argument for a NaN or negative t (t = +inf is
  /// past every support) and std::out_of_range for a state outside the chain.
  void weights(std::size_t state, double t, std::span<double> out) const;
  [[nodiscard]] std::vector<double> weights(std::size_t state, double t) const;

  /// The weights past every transition's support (see the file comment).
  [[nodiscard]] std::span<const double> terminal_weights(std::size_t state) const;
  /// s*: beyond it no transition of the state is pending and terminal_weights() apply
  /// (+inf when some delay never ends in floating point; 0 for a row of instant moves).
  [[nodiscard]] double last_time(std::size_t state) const { return last_time_[state]; }

  /// Next state and the time *remaining* until the move, for a lead that has spent t in
  /// `state`: the transition drawn from w(t), then its delay T from the law of T - t given
  /// T > t (inverse transform: T = S^-1(u S(t)), which stays exact deep in a tail). Past every
  /// support the move is due now (remaining time 0); an absorbing state returns (state, 0).
  [[nodiscard]] std::pair<std::size_t, double> sample(std::size_t state, double t, Rng& rng) const;
  /// As sample(), with the transition drawn from `weights` (over the state's row, not
  /// necessarily normalised) instead of w(t): how a simulation redraws a lead's move after a
  /// message changed its odds. The remaining time keeps the chosen delay's law given T > t.
  [[nodiscard]] std::pair<std::size_t, double> sample_weighted(std::size_t state, double t,
                                                               std::span<const double> weights, Rng& rng) const;

 private:
  void check(std::size_t state, double t) const;

  std::shared_ptr<const Chain> chain_;
  std::vector<std::size_t> offsets_;  // per state, into terminal_
  std::vector<double> terminal_;
  std::vector<double> last_time_;
};

/// w_j(t) over chain.transitions(state) (see NextStep; prepares only `state`).
[[nodiscard]] std::vector<double> next_step_probabilities(const Chain& chain, std::size_t state, double t);

/// One draw of (next state, remaining time) for a lead that has spent t in `state` (see
/// NextStep::sample; prepares only `state`, so build a NextStep for many draws).
[[nodiscard]] std::pair<std::size_t, double> sample_step_after(const Chain& chain, std::size_t state, double t,
                                                               Rng& rng);

}  // namespace funnelkit::markov
