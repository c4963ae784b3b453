#pragma once
// The moves out of one state on the path's grid: its transitions' kernels, changed by the
// trigger steps that reach leads idle in it (expected_path.cpp's building block).

#include <cstddef>
#include <vector>

#include "funnelkit/forecast/expected_path.hpp"
#include "funnelkit/markov/chain.hpp"

namespace funnelkit::forecast::detail {

inline constexpr std::size_t kSelf = static_cast<std::size_t>(-1);

struct StateMove {
  std::size_t to;
  std::vector<double> kernel;  // mass per grid step since the lead entered the state
  std::size_t leaves = kSelf;  // the state the moving leads leave (kSelf: the state itself)
};

/// Messages a step sends per grid step since the lead entered the state (to treated leads
/// still idle there, or dropped out from it).
struct StepMessages {
  const PathStep* step;
  std::vector<double> kernel;
};

struct StateFlows {
  std::vector<StateMove> moves;
  std::vector<StepMessages> messages;
};

/// p P((m - 1/2) h <= D < (m + 1/2) h) for m = 0 .. size-1 (no delay: all at m = 0).
[[nodiscard]] std::vector<double> kernel(const markov::Transition& t, double h, std::size_t size);

/// The moves out of `state`: its transitions, thinned and tilted by `steps` (those of this
/// state), and the steps' own moves; and the steps' messages. `treated[k]`: the treated share
/// of trigger k.
[[nodiscard]] StateFlows state_moves(const markov::Chain& chain, std::size_t state, double h,
                                                 std::size_t size, const std::vector<const PathStep*>& steps,
                                                 const std::vector<double>& treated);

}  // namespace funnelkit::forecast::detail
