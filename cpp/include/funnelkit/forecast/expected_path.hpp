#pragma once
/// \file The expected-value path of a shop: how many leads are expected to enter each stage in
/// each time bin, given the expected arrivals per bin (roadmap step 5, revenue forecasts).
///
/// The entries form a renewal system: E_j(t) = A_j(t) + sum_i sum_{i->j} p_ij (f_ij * E_i)(t), with
/// f_ij the transition's delay density; the trigger steps a lead meets while idle in a state change
/// that state's kernels (src/forecast/state_moves.cpp). It is solved on a fine grid of step h (a
/// bin cut into `substeps`): an entry is placed at the middle of its step and a delay d moves it
/// round(d / h) steps on, so the kernel of a transition is p_ij P((m - 1/2) h <= D < (m + 1/2) h)
/// for m steps (exact masses; times snapped to the grid, at most h/2 per move). Arrivals are spread
/// evenly over their bin. The system is solved in the frequency domain: sequences are damped by r^m
/// before their FFTs (so that what a loop passes round beyond the transform's length folds back
/// weakened by 1e-12), components of the states (over the chain's moves and the steps' moves) are
/// taken in flow order, and a loop's entries are found frequency by frequency by Gauss-Seidel
/// sweeps of E = X + K^T E (the damped system contracts, since every loop can be left).
/// Only half the frequencies are solved (real sequences have Hermitian spectra), and the transform
/// length has no prime factor above 5. Timings: docs/forecast.md, "Performance".

#include <cstddef>
#include <span>
#include <vector>

#include "funnelkit/markov/chain.hpp"

namespace funnelkit::forecast {

/// A message step the path follows exactly: `delay` after a lead enters `state`, if it has
/// made no move since (dropping out is no move, as in the simulation's idle triggers; a buyer
/// on an end stage makes none), the message reaches it with chance `reach` (delivery x open,
/// x the effect's own chance for a move). A move at the same moment comes first. Either a move
/// (`target`: the lead goes there, from the state or, having dropped out, from the drop state)
/// or an odds tilt (`target` kNoState: the odds of the pending move going to `toward`, empty:
/// to any state that is not a failure state, are multiplied by `multiplier` for the rest of
/// the stay, as simulate::OddsMultiplier does; nothing in an end state).
struct PathStep {
  std::size_t state = 0;
  double delay = 0.0;
  std::size_t trigger = 0;  ///< index into PathOptions::treated: one treatment draw per lead and trigger
  double reach = 0.0;
  std::size_t target = markov::kNoState;
  double multiplier = 1.0;
  std::vector<std::size_t> toward = {};
};

/// A scheduled send the path follows (a campaign's MoveTo message): at `time` (from the path's
/// start) every lead in one of `states` goes to `target` with chance `reach` (treated share x
/// delivery x open x the move's chance). Its pending moves are cancelled, the path's own steps
/// included. Exact when no lead in those states can be waiting for a step that brings it back
/// from the drop state (expected_path refuses such a send).
struct PathSend {
  double time = 0.0;
  std::vector<std::size_t> states = {};
  std::size_t target = 0;
  double reach = 0.0;  ///< 0: a message that only costs
  double share = 1.0;  ///< the treated share: the send's messages go to share x the leads present
};

struct PathOptions {
  double bin_width = 24.0;    ///< in the funnel's time unit
  std::size_t substeps = 24;  ///< fine steps per bin
  std::vector<PathStep> steps = {};
  /// Per trigger: the share of leads treated (1 - its control share); a trigger without an
  /// entry treats everyone. Control leads get none of the trigger's messages.
  std::vector<double> treated = {};
  std::vector<PathSend> sends = {};
  /// Each bin's arrivals come at its start (a cohort, as TrafficPlan.cohort simulates them)
  /// rather than spread evenly over it.
  bool arrivals_at_start = false;
};

struct ExpectedPath {
  std::size_t bins = 0;
  std::size_t states = 0;
  std::vector<double> entries;    ///< [bin, state]: expected entries
  std::vector<double> occupancy;  ///< [bin, state]: expected leads in the state at the bin's end
  std::vector<double> value;      ///< [bin]: expected stage values received (Σ entries x value)
  std::vector<double> messages;   ///< [bin, step then send]: expected messages sent
};

/// `arrivals[b]`: expected leads arriving in bin b (entering by the chain's entry weights).
/// Throws std::invalid_argument for negative or non-finite arrivals, a bin width that is not
/// positive and finite, zero substeps, a step or send naming a state that does not exist, or a
/// send reaching leads who may wait for a step from the drop state. A trigger index without a
/// treated share treats everyone.
[[nodiscard]] ExpectedPath expected_path(const markov::Chain& chain, std::span<const double> arrivals,
                                         const PathOptions& options);

}  // namespace funnelkit::forecast
