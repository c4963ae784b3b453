#pragma once
/// \file The most likely path through the funnel (Dijkstra on -log p with Boost.Graph).

#include <cstddef>
#include <vector>

#include "funnelkit/markov/chain.hpp"

namespace funnelkit::markov {

struct Path {
  std::vector<std::size_t> states;  ///< from an entry stage to the target, inclusive
  double probability = 0.0;         ///< entry weight times the product of edge probabilities
};

/// The single most probable sequence of stages from the entry to `target`; when `target` is
/// kNoState, to whichever success stage gives the most probable path. An empty path with
/// probability 0 means the target cannot be reached.
[[nodiscard]] Path most_likely_path(const Chain& chain, std::size_t target = kNoState);

}  // namespace funnelkit::markov
