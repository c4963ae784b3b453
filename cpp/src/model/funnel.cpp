#include "funnelkit/model/funnel.hpp"

#include <cmath>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::model {

std::string_view to_string(StageKind kind) noexcept {
  switch (kind) {
    case StageKind::Transient: return "transient";
    case StageKind::Success: return "success";
    case StageKind::Failure: return "failure";
  }
  return "transient";
}

StageKind stage_kind_from_string(std::string_view text) {
  if (text == "transient") return StageKind::Transient;
  if (text == "success") return StageKind::Success;
  if (text == "failure") return StageKind::Failure;
  throw FunnelError(ErrorKind::Format,
                    "unknown stage kind '" + std::string(text) + "' (use transient, success or failure)");
}

std::string_view to_string(RemainderRule rule) noexcept {
  return rule == RemainderRule::Drop ? "drop" : "strict";
}

RemainderRule remainder_rule_from_string(std::string_view text) {
  if (text == "drop") return RemainderRule::Drop;
  if (text == "strict") return RemainderRule::Strict;
  throw FunnelError(ErrorKind::Format, "unknown remainder rule '" + std::string(text) + "' (use drop or strict)");
}

std::string edge_label(std::string_view from, std::string_view to) {
  return std::string(from) + " -> " + std::string(to);
}

Funnel& Funnel::add_stage(Stage stage) {
  if (stage.name.empty()) throw FunnelError(ErrorKind::Format, "a stage needs a non-empty name");
  if (index_.contains(stage.name))
    throw FunnelError(ErrorKind::DuplicateStage, "stage '" + stage.name + "' is defined twice", stage.name);
  if (!std::isfinite(stage.value))
    throw FunnelError(ErrorKind::Structure, "stage '" + stage.name + "' has a non-finite value", stage.name);
  if (stage.absorbing() && stage.holding)
    throw FunnelError(ErrorKind::Structure,
                      "absorbing stage '" + stage.name + "' cannot have a holding time: nothing follows it",
                      stage.name);
  if (stage.metadata.is_null()) stage.metadata = nlohmann::json::object();
  if (!stage.metadata.is_object())
    throw FunnelError(ErrorKind::Format, "metadata of stage '" + stage.name + "' must be an object", stage.name);
  index_.emplace(stage.name, stages_.size());
  stages_.push_back(std::move(stage));
  return *this;
}

Funnel& Funnel::add_edge(Edge edge) {
  const auto label = edge_label(edge.from, edge.to);
  for (const auto* end : {&edge.from, &edge.to})
    if (!index_.contains(*end))
      throw FunnelError(ErrorKind::UnknownStage, "edge " + label + " refers to unknown stage '" + *end + "'", *end);
  if (!(edge.probability >= 0.0 && edge.probability <= 1.0))  // also rejects NaN
    throw FunnelError(ErrorKind::Probability,
                      "edge " + label + " has probability " + std::to_string(edge.probability) +
                          "; it must be a number in [0, 1]",
                      label);
  for (const auto& existing : edges_)
    if (existing.from == edge.from && existing.to == edge.to)
      throw FunnelError(ErrorKind::DuplicateEdge, "edge " + label + " is defined twice", label);
  if (edge.metadata.is_null()) edge.metadata = nlohmann::json::object();
  if (!edge.metadata.is_object())
    throw FunnelError(ErrorKind::Format, "metadata of edge " + label + " must be an object", label);
  edges_.push_back(std::move(edge));
  return *this;
}

void Funnel::set_entry(std::vector<std::pair<std::string, double>> weights) {
  for (const auto& [stage_name, weight] : weights) {
    (void)stage_index(stage_name);
    if (!(std::isfinite(weight) && weight >= 0.0))
      throw FunnelError(ErrorKind::Probability,
                        "entry weight of '" + stage_name + "' must be finite and >= 0", stage_name);
  }
  entry_ = std::move(weights);
}

Edge& Funnel::edge_between(std::string_view from, std::string_view to) {
  for (auto& edge : edges_)
    if (edge.from == from && edge.to == to) return edge;
  (void)stage_index(from);
  (void)stage_index(to);
  const auto label = edge_label(from, to);
  throw FunnelError(ErrorKind::UnknownStage, "there is no edge " + label, label);
}

void Funnel::set_probability(std::string_view from, std::string_view to, double probability) {
  auto& edge = edge_between(from, to);
  if (!(probability >= 0.0 && probability <= 1.0))
    throw FunnelError(ErrorKind::Probability, "edge " + edge_label(from, to) + " needs a probability in [0, 1]",
                      edge_label(from, to));
  edge.probability = probability;
}

void Funnel::set_value(std::string_view stage_name, double value) {
  const auto i = stage_index(stage_name);
  if (!std::isfinite(value))
    throw FunnelError(ErrorKind::Structure, "stage '" + std::string(stage_name) + "' needs a finite value",
                      std::string(stage_name));
  stages_[i].value = value;
}

std::optional<std::size_t> Funnel::find_stage(std::string_view stage_name) const {
  const auto it = index_.find(std::string(stage_name));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::size_t Funnel::stage_index(std::string_view stage_name) const {
  if (const auto i = find_stage(stage_name)) return *i;
  throw FunnelError(ErrorKind::UnknownStage, "unknown stage '" + std::string(stage_name) + "'",
                    std::string(stage_name));
}

}  // namespace funnelkit::model
