#include "funnelkit/model/funnel.hpp"

#include <algorithm>
#include <cctype>
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

namespace {

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

// Empty metadata is stored as null, which costs no allocation: most stages and edges have none.
void normalise_metadata(nlohmann::json& metadata, const std::string& owner, const std::string& subject) {
  if (metadata.is_object() && metadata.empty()) metadata = nullptr;
  if (!metadata.is_null() && !metadata.is_object())
    throw FunnelError(ErrorKind::Format, "metadata of " + owner + " must be an object", subject);
}

std::string row_prefix(std::optional<std::size_t> row) {
  return row ? "row " + std::to_string(*row) + ": " : std::string();
}

}  // namespace

Funnel& Funnel::add_stage(Stage stage) {
  if (stage.name.empty()) throw FunnelError(ErrorKind::Format, "a stage needs a non-empty name");
  if (blank(stage.name))
    throw FunnelError(ErrorKind::Format, "a stage needs a non-empty name, not only whitespace ('" + stage.name + "')");
  if (index_.contains(stage.name))
    throw FunnelError(ErrorKind::DuplicateStage, "stage '" + stage.name + "' is defined twice", stage.name);
  if (!std::isfinite(stage.value))
    throw FunnelError(ErrorKind::Structure, "stage '" + stage.name + "' has a non-finite value", stage.name);
  if (stage.absorbing() && stage.holding)
    throw FunnelError(ErrorKind::Structure,
                      "absorbing stage '" + stage.name + "' cannot have a holding time: nothing follows it",
                      stage.name);
  normalise_metadata(stage.metadata, "stage '" + stage.name + "'", stage.name);
  if (stages_.size() >= (std::size_t{1} << 32) - 1)  // edge_key packs two stage indices in 64 bits
    throw FunnelError(ErrorKind::Structure, "a funnel holds at most 2^32 - 1 stages");
  index_.emplace(stage.name, stages_.size());
  stages_.push_back(std::move(stage));
  return *this;
}

Funnel& Funnel::add_stages(std::vector<Stage> stages) {
  const auto before = stages_.size();
  stages_.reserve(before + stages.size());
  index_.reserve(before + stages.size());
  try {
    for (auto& stage : stages) add_stage(std::move(stage));
  } catch (...) {
    for (auto i = stages_.size(); i > before; --i) {
      index_.erase(stages_.back().name);
      stages_.pop_back();
    }
    throw;
  }
  return *this;
}

Funnel& Funnel::add_edge(Edge edge) {
  const auto end_index = [&](const std::string& end) {
    if (const auto i = find_stage(end)) return *i;
    throw FunnelError(ErrorKind::UnknownStage,
                      "edge " + edge_label(edge.from, edge.to) + " refers to unknown stage '" + end + "'", end);
  };
  const auto source = end_index(edge.from);
  const auto target = end_index(edge.to);
  append_edge(std::move(edge), source, target, std::nullopt);
  return *this;
}

Funnel& Funnel::add_edges(std::span<const std::int64_t> sources, std::span<const std::int64_t> targets,
                          std::span<const double> probabilities) {
  const auto rows = sources.size();
  if (targets.size() != rows || probabilities.size() != rows)
    throw FunnelError(ErrorKind::Format, "sources, targets and probabilities need one entry per row; got " +
                                             std::to_string(rows) + ", " + std::to_string(targets.size()) + " and " +
                                             std::to_string(probabilities.size()));
  const auto stage_at = [this](std::int64_t code, std::size_t row, const char* column) {
    if (code < 0 || static_cast<std::uint64_t>(code) >= stages_.size())
      throw FunnelError(ErrorKind::UnknownStage,
                        row_prefix(row) + "stage code " + std::to_string(code) + " in " + column +
                            " is not a stage (codes run from 0 to " + std::to_string(stages_.size()) + " - 1)",
                        std::string(column) + "[" + std::to_string(row) + "]");
    return static_cast<std::size_t>(code);
  };
  const auto before = edges_.size();
  edges_.reserve(before + rows);
  ends_.reserve(before + rows);
  edge_index_.reserve(before + rows);
  try {
    for (std::size_t row = 0; row < rows; ++row) {
      const auto source = stage_at(sources[row], row, "sources");
      const auto target = stage_at(targets[row], row, "targets");
      append_edge({stages_[source].name, stages_[target].name, probabilities[row], nullptr, {}}, source, target, row);
    }
  } catch (...) {
    truncate_edges(before);
    throw;
  }
  return *this;
}

void Funnel::append_edge(Edge edge, std::size_t source, std::size_t target, std::optional<std::size_t> row) {
  if (!(edge.probability >= 0.0 && edge.probability <= 1.0)) {  // also rejects NaN
    const auto label = edge_label(edge.from, edge.to);
    throw FunnelError(ErrorKind::Probability,
                      row_prefix(row) + "edge " + label + " has probability " + std::to_string(edge.probability) +
                          "; it must be a number in [0, 1]",
                      label);
  }
  if (!edge.metadata.is_null()) {
    const auto label = edge_label(edge.from, edge.to);
    normalise_metadata(edge.metadata, "edge " + label, label);
  }
  const auto key = edge_key(source, target);
  if (!edge_index_.try_emplace(key, edges_.size()).second) {
    const auto label = edge_label(edge.from, edge.to);
    throw FunnelError(ErrorKind::DuplicateEdge, row_prefix(row) + "edge " + label + " is defined twice", label);
  }
  try {
    edges_.push_back(std::move(edge));
    ends_.push_back({source, target});
  } catch (...) {
    edge_index_.erase(key);
    if (edges_.size() > ends_.size()) edges_.pop_back();
    throw;
  }
}

void Funnel::truncate_edges(std::size_t count) {
  for (auto i = count; i < ends_.size(); ++i) edge_index_.erase(edge_key(ends_[i].source, ends_[i].target));
  edges_.erase(edges_.begin() + static_cast<std::ptrdiff_t>(count), edges_.end());
  ends_.erase(ends_.begin() + static_cast<std::ptrdiff_t>(count), ends_.end());
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
  if (const auto e = find_edge(from, to)) return edges_[*e];
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
  const auto it = index_.find(stage_name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::size_t Funnel::stage_index(std::string_view stage_name) const {
  if (const auto i = find_stage(stage_name)) return *i;
  throw FunnelError(ErrorKind::UnknownStage, "unknown stage '" + std::string(stage_name) + "'",
                    std::string(stage_name));
}

std::optional<std::size_t> Funnel::find_edge(std::size_t source, std::size_t target) const {
  const auto it = edge_index_.find(edge_key(source, target));
  if (it == edge_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> Funnel::find_edge(std::string_view from, std::string_view to) const {
  const auto source = find_stage(from);
  const auto target = find_stage(to);
  if (!source || !target) return std::nullopt;
  return find_edge(*source, *target);
}

}  // namespace funnelkit::model
