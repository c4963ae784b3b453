#pragma once
/// \file The funnel model: stages, edges and the rules that turn them into a Markov chain.
///
/// A Funnel is what the user describes (and what JSON stores): stages with a kind, a value and
/// an optional holding time; edges with a probability and an optional delay. The row remainder
/// rule decides what happens to the probability mass a stage's edges leave unassigned.
/// Analytics never read a Funnel directly: markov::Chain::compile validates and freezes it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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
  nlohmann::json metadata = nlohmann::json::object();

  [[nodiscard]] bool absorbing() const noexcept { return kind != StageKind::Transient; }
};

struct Edge {
  std::string from;
  std::string to;
  double probability = 0.0;
  /// Time to take this transition, given it is the one taken; overrides the stage's holding
  /// time. Different delays per edge are what make "time idle" informative for scoring.
  DistributionPtr delay;
  nlohmann::json metadata = nlohmann::json::object();
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

  /// Adds a stage; throws DuplicateStageError, or DistributionError/StructureError for a
  /// non-finite value or a holding time on an absorbing stage.
  Funnel& add_stage(Stage stage);
  /// Adds an edge; throws UnknownStageError, DuplicateEdgeError or ProbabilityError.
  Funnel& add_edge(Edge edge);

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

 private:
  Edge& edge_between(std::string_view from, std::string_view to);

  std::vector<Stage> stages_;
  std::vector<Edge> edges_;
  std::vector<std::pair<std::string, double>> entry_;
  std::unordered_map<std::string, std::size_t> index_;
};

/// Checks everything analytics rely on; throws a FunnelError naming the first problem:
/// no stages, bad entry, edges out of absorbing stages, row sums, dead ends and stages that can
/// never reach an absorbing stage (Boost.Graph reachability), bad discount.
void validate(const Funnel& funnel);

/// "a -> b", the subject used in errors about an edge.
[[nodiscard]] std::string edge_label(std::string_view from, std::string_view to);

}  // namespace funnelkit::model
