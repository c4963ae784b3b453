#pragma once
/// \file Leads walked through a compiled funnel in continuous time: the core of the shop
/// simulation (roadmap step 4; triggers and the traffic plan build on it).
///
/// Every lead arrives at its own time, enters by the chain's entry weights and moves on with
/// Chain::sample_step: the next stage by the row's probabilities, then the transition's delay
/// drawn exactly (no time steps, so 20-minute and 3-month delays live side by side). A lead
/// draws only from its own stream Rng(seed, lead), and leads are cut into fixed blocks whose
/// totals are merged in block order, so a seed gives bit-identical totals on any number of
/// threads. Totals are aggregated per time bin as the walk goes: memory does not grow with the
/// number of leads.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/markov/chain.hpp"

namespace funnelkit::simulate {

struct JourneyOptions {
  /// Events at or after this time (in the funnel's time unit) are not simulated: the lead is
  /// still on its way when the horizon ends. Infinity walks every journey to its end.
  double horizon = std::numeric_limits<double>::infinity();
  /// Width of the time bins the totals are kept in (say, 24 for days in hours); the bins cover
  /// [0, horizon). With an infinite horizon there is one bin.
  double bin_width = std::numeric_limits<double>::infinity();
  std::uint64_t seed = 0;
  /// A journey still going after this many transitions is stopped and counted in `stopped`
  /// (a guard against loops with a tiny exit probability).
  std::size_t max_transitions = 100'000;
};

/// What the walks produced: additive over groups of leads.
struct JourneyTotals {
  std::size_t states = 0;
  std::size_t bins = 0;
  std::vector<std::int64_t> arrivals;  ///< per bin
  std::vector<std::int64_t> entries;   ///< per bin and state, row-major (bin * states + state)
  std::vector<double> value;           ///< per bin: stage values received
  std::int64_t leads = 0;
  std::int64_t transitions = 0;
  std::int64_t successes = 0;  ///< journeys that reached a success stage before the horizon
  std::int64_t failures = 0;
  std::int64_t open = 0;     ///< journeys still going at the horizon
  std::int64_t stopped = 0;  ///< journeys cut by max_transitions
  double time_to_success = 0.0;  ///< sum over successes of (success time - arrival)
  double total_value = 0.0;

  void merge(const JourneyTotals& other);
};

/// Walks one journey per arrival time (times >= 0 in the funnel's unit; lead i uses stream i)
/// on up to `threads` threads. Throws std::invalid_argument for a negative or NaN arrival time
/// or a non-positive bin width.
[[nodiscard]] JourneyTotals simulate_journeys(const markov::Chain& chain, std::span<const double> arrivals,
                                              const JourneyOptions& options, std::size_t threads = 0,
                                              const Progress& progress = {});

}  // namespace funnelkit::simulate
