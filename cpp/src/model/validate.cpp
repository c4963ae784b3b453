#include <cmath>
#include <utility>
#include <vector>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/pending/queue.hpp>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/model/funnel.hpp"

namespace funnelkit::model {
namespace {

// Compressed rows, built from one edge list in linear time: no allocation per stage.
using ReverseGraph = boost::compressed_sparse_row_graph<boost::directedS>;

std::vector<double> row_sums(const Funnel& funnel) {
  std::vector<double> sums(funnel.stages().size(), 0.0);
  for (std::size_t e = 0; e < funnel.edges().size(); ++e) sums[funnel.source_index(e)] += funnel.edges()[e].probability;
  return sums;
}

void check_entry(const Funnel& funnel) {
  double total = 0.0;
  for (const auto& [name, weight] : funnel.entry()) {
    total += weight;
    if (funnel.stage(name).absorbing())
      throw FunnelError(ErrorKind::Structure, "entry stage '" + name + "' is absorbing; leads must enter a transient stage", name);
  }
  if (!funnel.entry().empty() && !(total > 0.0))
    throw FunnelError(ErrorKind::Probability, "entry weights must not all be zero");
  if (funnel.entry().empty() && funnel.stages().front().absorbing())
    throw FunnelError(ErrorKind::Structure,
                      "the first stage '" + funnel.stages().front().name +
                          "' is the default entry but is absorbing; set an entry stage",
                      funnel.stages().front().name);
}

// Every transient stage must be able to reach an absorbing stage: search backwards from the
// absorbing stages (and from the drop stage, which every row with a remainder feeds).
void check_every_stage_can_finish(const Funnel& funnel, const std::vector<double>& sums) {
  const auto n = funnel.stages().size();
  const auto drop = n;  // one extra vertex for the (possibly virtual) drop stage
  std::vector<std::pair<std::size_t, std::size_t>> arcs;
  arcs.reserve(funnel.edges().size() + n);
  for (std::size_t e = 0; e < funnel.edges().size(); ++e)
    if (funnel.edges()[e].probability > 0.0) arcs.emplace_back(funnel.target_index(e), funnel.source_index(e));
  for (std::size_t i = 0; i < n; ++i)
    if (!funnel.stages()[i].absorbing() && sums[i] < 1.0 - kProbabilityTolerance) arcs.emplace_back(drop, i);
  const ReverseGraph reverse(boost::edges_are_unsorted_multi_pass, arcs.begin(), arcs.end(), n + 1);

  std::vector<boost::default_color_type> colors(n + 1, boost::white_color);
  auto color_map = boost::make_iterator_property_map(colors.begin(), boost::get(boost::vertex_index, reverse));
  std::vector<std::size_t> sources{drop};
  for (std::size_t i = 0; i < n; ++i)
    if (funnel.stages()[i].absorbing()) sources.push_back(i);
  boost::queue<std::size_t> queue;
  boost::breadth_first_search(reverse, sources.begin(), sources.end(), queue, boost::default_bfs_visitor{}, color_map);

  std::string stuck;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (colors[i] != boost::white_color) continue;
    if (count++ < 5) stuck += (stuck.empty() ? "'" : ", '") + funnel.stages()[i].name + "'";
  }
  if (count > 0) {
    const auto first = stuck.substr(1, stuck.find('\'', 1) - 1);
    throw FunnelError(ErrorKind::NoExit,
                      std::to_string(count) + " stage(s) can never finish: " + stuck + (count > 5 ? ", ..." : "") +
                          ". No path from them reaches an absorbing stage; add an exit (e.g. a churn edge), let "
                          "the row sum stay below 1 so the remainder drops out, or mark the stage absorbing",
                      first);
  }
}

}  // namespace

void validate(const Funnel& funnel) {
  if (funnel.stages().empty()) throw FunnelError(ErrorKind::EmptyFunnel, "the funnel has no stages");
  if (!(funnel.discount > 0.0 && funnel.discount <= 1.0))
    throw FunnelError(ErrorKind::Structure, "discount must be in (0, 1], got " + std::to_string(funnel.discount));
  if (const auto drop = funnel.find_stage(funnel.drop_stage);
      drop && funnel.stages()[*drop].kind != StageKind::Failure)
    throw FunnelError(ErrorKind::Structure,
                      "the drop stage '" + funnel.drop_stage + "' exists but is not a failure stage", funnel.drop_stage);
  check_entry(funnel);

  std::vector<bool> has_edge(funnel.stages().size(), false);
  for (std::size_t e = 0; e < funnel.edges().size(); ++e) {
    const auto source = funnel.source_index(e);
    if (funnel.stages()[source].absorbing()) {
      const auto& edge = funnel.edges()[e];
      throw FunnelError(ErrorKind::Structure,
                        "edge " + edge_label(edge.from, edge.to) + " leaves absorbing stage '" + edge.from +
                            "'; make the stage transient if leads can go on (a loop funnel)",
                        edge_label(edge.from, edge.to));
    }
    has_edge[source] = true;
  }

  const auto sums = row_sums(funnel);
  for (std::size_t i = 0; i < funnel.stages().size(); ++i) {
    const auto& stage = funnel.stages()[i];
    if (stage.absorbing()) continue;
    if (!has_edge[i])
      throw FunnelError(ErrorKind::NoExit,
                        "transient stage '" + stage.name +
                            "' has no outgoing edge (a dead end); add edges or mark it success/failure",
                        stage.name);
    if (sums[i] > 1.0 + kProbabilityTolerance)
      throw FunnelError(ErrorKind::RowSum,
                        "outgoing probabilities of stage '" + stage.name + "' sum to " + std::to_string(sums[i]) +
                            " > 1",
                        stage.name);
    if (funnel.remainder == RemainderRule::Strict && sums[i] < 1.0 - kProbabilityTolerance)
      throw FunnelError(ErrorKind::RowSum,
                        "outgoing probabilities of stage '" + stage.name + "' sum to " + std::to_string(sums[i]) +
                            " < 1 and the remainder rule is strict",
                        stage.name);
  }
  check_every_stage_can_finish(funnel, sums);
}

}  // namespace funnelkit::model
