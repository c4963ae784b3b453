#include "funnelkit/markov/paths.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>

namespace funnelkit::markov {

Path most_likely_path(const Chain& chain, std::size_t target) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                      boost::property<boost::edge_weight_t, double>>;
  const auto n = chain.size();
  const auto source = n;  // a super-source feeding the entry stages by their weights
  Graph graph(n + 1);
  for (std::size_t i = 0; i < n; ++i) {
    if (chain.entry()[i] > 0.0) boost::add_edge(source, i, -std::log(chain.entry()[i]), graph);
    for (const auto& tr : chain.transitions(i))
      if (tr.probability > 0.0 && tr.to != i) boost::add_edge(i, tr.to, -std::log(tr.probability), graph);
  }
  std::vector<double> distance(n + 1);
  std::vector<std::size_t> predecessor(n + 1);
  const auto index = boost::get(boost::vertex_index, graph);
  boost::dijkstra_shortest_paths(graph, source,
                                 boost::predecessor_map(boost::make_iterator_property_map(predecessor.begin(), index))
                                     .distance_map(boost::make_iterator_property_map(distance.begin(), index)));

  // Dijkstra leaves unreachable vertices at the largest double, not at infinity.
  const double unreachable = std::numeric_limits<double>::max();
  auto best = target;
  if (best == kNoState) {
    double shortest = unreachable;
    for (const auto a : chain.absorbing_states())
      if (chain.kind(a) == model::StageKind::Success && distance[a] < shortest) {
        shortest = distance[a];
        best = a;
      }
  }
  Path path;
  if (best == kNoState || distance[best] >= unreachable) return path;
  for (auto v = best; v != source; v = predecessor[v]) path.states.push_back(v);
  std::reverse(path.states.begin(), path.states.end());
  path.probability = std::exp(-distance[best]);
  return path;
}

}  // namespace funnelkit::markov
