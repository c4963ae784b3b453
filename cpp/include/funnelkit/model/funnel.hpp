#pragma once
/// \file The funnel model: stages, edges and the rules that turn them into a Markov chain.
///
/// A Funnel is what the user describes (and what JSON stores): stages with a kind, a value and
/// an optional holding time; edges with a probability and an optional delay. The row remainder
/// rule decides what happens to the probability mass a stage's edges leave unassigned.
/// Analytics never read a Funnel directly: markov::Chain::compile validates and freezes it.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <nlohmann/json.hpp>

#include "funnelkit/model/distribution.hpp"

namespace funnelkit::model {

enum class StageKind {
  Transient,  ///< a lead stays a while, then moves on
  Success,    ///< absorbing and counted as a conversion (e.g. "paid")
  Failure,    ///< absorbing and counted as lost (e.g. "unsubscribed")
};

[[nodiscard]] std::string_view to_string(StageKind kind) noexcept;
/// Throws FunnelError(Format) for anything but "transient", "success", "failure".
[[nodiscard]] StageKind stage_kind_from_string(std::string_view text);

/// What happens to 1 - (sum of a transient stage's edge probabilities).
enum class RemainderRule {
  Drop,    ///< it is the probability of leaving the funnel: it goes to the drop stage
  Strict,  ///< every transient row must sum to 1 (within 1e-9); otherwise RowSumError
};

[[nodiscard]] std::string_view to_string(RemainderRule rule) noexcept;
[[nodiscard]] RemainderRule remainder_rule_from_string(std::string_view text);

struct Stage {
  std::string name;
  StageKind kind = StageKind::Transient;
  /// Value received each time a lead enters the stage (e.g. average order value at "paid").
  double value = 0.0;
  /// Time spent in the stage before moving on; the default for edges without their own delay.
  /// Empty means the stage is passed instantly.
  DistributionPtr holding;
  /// A JSON object, or null (the default) for none: most stages have none, and a null costs
  /// no allocation. An empty object is stored as null; readers treat both as "{}".
  nlohmann::json metadata;

  [[nodiscard]] bool absorbing() const noexcept { return kind != StageKind::Transient; }
};

struct Edge {
  std::string from;
  std::string to;
  double probability = 0.0;
  /// Time to take this transition, given it is the one taken; overrides the stage's holding
  /// time. Different delays per edge are what make "time idle" informative for scoring.
  DistributionPtr delay;
  /// A JSON object, or null (the default) for none, as for Stage::metadata.
  nlohmann::json metadata;
};

/// Tolerance on probability sums (rows, entry weights).
inline constexpr double kProbabilityTolerance = 1e-9;

class Funnel {
 public:
  std::string name = "funnel";
  /// Unit of all holding times and delays (a label: "hours", "days"...).
  std::string time_unit = "hours";
  RemainderRule remainder = RemainderRule::Drop;
  /// Where remainders go. If no stage has this name, the chain adds a virtual failure stage.
  std::string drop_stage = "dropped";
  /// Per-transition discount factor in (0, 1] applied to values (for loop funnels).
  double discount = 1.0;
  nlohmann::json metadata = nlohmann::json::object();

  /// Adds a stage; throws FormatError for an empty or blank name, DuplicateStageError, or
  /// StructureError for a non-finite value or a holding time on an absorbing stage.
  Funnel& add_stage(Stage stage);
  /// Adds stages in order; on an error nothing is added (the error names the stage).
  Funnel& add_stages(std::vector<Stage> stages);
  /// Adds an edge in O(1); throws UnknownStageError, DuplicateEdgeError or ProbabilityError.
  Funnel& add_edge(Edge edge);
  /// Adds one edge per row: sources[i] -> targets[i] with probabilities[i], the stages given
  /// by their index in stages() (codes, as pandas.factorize makes them). Linear time, no
  /// delays or metadata. Errors start with "row i: " (i counted from 0) and name the edge;
  /// on an error nothing is added.
  Funnel& add_edges(std::span<const std::int64_t> sources, std::span<const std::int64_t> targets,
                    std::span<const double> probabilities);

  /// Entry stages with weights (normalised on use). Empty means "the first stage".
  void set_entry(std::vector<std::pair<std::string, double>> weights);
  [[nodiscard]] const std::vector<std::pair<std::string, double>>& entry() const noexcept { return entry_; }

  void set_probability(std::string_view from, std::string_view to, double probability);
  void set_value(std::string_view stage, double value);

  [[nodiscard]] const std::vector<Stage>& stages() const noexcept { return stages_; }
  [[nodiscard]] const std::vector<Edge>& edges() const noexcept { return edges_; }
  [[nodiscard]] std::optional<std::size_t> find_stage(std::string_view stage_name) const;
  /// Index of a stage; throws UnknownStageError naming it.
  [[nodiscard]] std::size_t stage_index(std::string_view stage_name) const;
  [[nodiscard]] const Stage& stage(std::string_view stage_name) const { return stages_[stage_index(stage_name)]; }

  /// Index in stages() of edges()[edge].from and .to: what validation and the chain compiler
  /// use instead of looking names up again.
  [[nodiscard]] std::size_t source_index(std::size_t edge) const { return ends_[edge].source; }
  [[nodiscard]] std::size_t target_index(std::size_t edge) const { return ends_[edge].target; }
  /// Index in edges() of the edge between two stages (by index or by name), in O(1).
  [[nodiscard]] std::optional<std::size_t> find_edge(std::size_t source, std::size_t target) const;
  [[nodiscard]] std::optional<std::size_t> find_edge(std::string_view from, std::string_view to) const;

 private:
  struct EdgeEnds {
    std::size_t source;
    std::size_t target;
  };
  // Heterogeneous lookup: find_stage(string_view) hashes the view without building a string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
  };

  static std::uint64_t edge_key(std::size_t source, std::size_t target) noexcept {
    return (static_cast<std::uint64_t>(source) << 32) | static_cast<std::uint64_t>(target);
  }
  /// Checks an edge between existing stages and appends it; `row` (bulk adds) prefixes errors.
  void append_edge(Edge edge, std::size_t source, std::size_t target, std::optional<std::size_t> row);
  void truncate_edges(std::size_t count);
  Edge& edge_between(std::string_view from, std::string_view to);

  std::vector<Stage> stages_;
  std::vector<Edge> edges_;
  std::vector<EdgeEnds> ends_;  // parallel to edges_
  std::vector<std::pair<std::string, double>> entry_;
  boost::unordered_flat_map<std::string, std::size_t, NameHash, std::equal_to<>> index_;
  // (source index << 32 | target index) -> edge index; stage indices stay below 2^32.
  boost::unordered_flat_map<std::uint64_t, std::size_t> edge_index_;
};

/// Checks everything analytics rely on; throws a FunnelError naming the first problem:
/// no stages, bad entry, edges out of absorbing stages, row sums, dead ends and stages that can
/// never reach an absorbing stage (Boost.Graph reachability), bad discount.
void validate(const Funnel& funnel);

/// "a -> b", the subject used in errors about an edge.
[[nodiscard]] std::string edge_label(std::string_view from, std::string_view to);

}  // namespace funnelkit::model
