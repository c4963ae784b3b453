#include "funnelkit/model/json_io.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::model {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

[[noreturn]] void format_error(const std::string& where, const std::string& message) {
  throw FunnelError(ErrorKind::Format, where + ": " + message, where);
}

void only_keys(const Json& object, const std::string& where, std::initializer_list<std::string_view> keys) {
  for (const auto& [key, _] : object.items())
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) format_error(where, "unknown key '" + key + "'");
}

const Json& required(const Json& object, const std::string& where, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) format_error(where, std::string("missing key '") + key + "'");
  return *it;
}

std::string string_at(const Json& value, const std::string& where) {
  if (!value.is_string()) format_error(where, "must be a string");
  return value.get<std::string>();
}

double number_at(const Json& value, const std::string& where) {
  if (!value.is_number()) format_error(where, "must be a number");
  return value.get<double>();
}

Json object_at(const Json& value, const std::string& where) {
  if (!value.is_object()) format_error(where, "must be an object");
  return value;
}

Stage read_stage(const Json& value, const std::string& where, const ExtensionFactories& extensions) {
  if (!value.is_object()) format_error(where, "must be an object");
  only_keys(value, where, {"name", "kind", "value", "holding", "metadata"});
  Stage stage;
  stage.name = string_at(required(value, where, "name"), where + ".name");
  if (std::all_of(stage.name.begin(), stage.name.end(), [](unsigned char c) { return std::isspace(c) != 0; }))
    format_error(where + ".name", "a stage needs a non-empty name, not only whitespace");
  if (const auto it = value.find("kind"); it != value.end()) {
    try {
      stage.kind = stage_kind_from_string(string_at(*it, where + ".kind"));
    } catch (const FunnelError& e) {
      format_error(where + ".kind", e.what());
    }
  }
  if (const auto it = value.find("value"); it != value.end()) stage.value = number_at(*it, where + ".value");
  if (const auto it = value.find("holding"); it != value.end() && !it->is_null())
    stage.holding = distribution_from_json(*it, extensions, where + ".holding");
  if (const auto it = value.find("metadata"); it != value.end()) stage.metadata = object_at(*it, where + ".metadata");
  return stage;
}

Edge read_edge(const Json& value, const std::string& where, const ExtensionFactories& extensions) {
  if (!value.is_object()) format_error(where, "must be an object");
  only_keys(value, where, {"from", "to", "probability", "delay", "metadata"});
  Edge edge;
  edge.from = string_at(required(value, where, "from"), where + ".from");
  edge.to = string_at(required(value, where, "to"), where + ".to");
  edge.probability = number_at(required(value, where, "probability"), where + ".probability");
  if (const auto it = value.find("delay"); it != value.end() && !it->is_null())
    edge.delay = distribution_from_json(*it, extensions, where + ".delay");
  if (const auto it = value.find("metadata"); it != value.end()) edge.metadata = object_at(*it, where + ".metadata");
  return edge;
}

void read_entry(const Json& value, Funnel& funnel) {
  if (value.is_string()) {
    funnel.set_entry({{value.get<std::string>(), 1.0}});
    return;
  }
  if (!value.is_object()) format_error("entry", "must be a stage name or an object {stage: weight}");
  std::vector<std::pair<std::string, double>> weights;
  for (const auto& [name, weight] : value.items()) weights.emplace_back(name, number_at(weight, "entry." + name));
  funnel.set_entry(std::move(weights));
}

OrderedJson ordered(const Json& value) { return OrderedJson::parse(value.dump()); }

// "type" first, then the parameters: the order a person reads them in.
OrderedJson ordered_distribution(const Distribution& distribution) {
  OrderedJson out;
  out["type"] = distribution.type_name();
  const auto params = distribution.params();  // items() must not outlive the object it walks
  for (const auto& [key, value] : params.items()) out[key] = ordered(value);
  return out;
}

}  // namespace

DistributionPtr distribution_from_json(const Json& value, const ExtensionFactories& extensions,
                                       const std::string& where) {
  if (!value.is_object()) format_error(where, "must be an object such as {\"type\": \"exponential\", \"mean\": 2}");
  const auto type = string_at(required(value, where, "type"), where + ".type");
  Json params = value;
  params.erase("type");
  try {
    if (auto builtin = make_builtin_distribution(type, params, extensions)) return builtin;
    if (auto extension = extensions.make<Distribution>(type, params)) return extension;
  } catch (const FunnelError& e) {
    throw FunnelError(e.kind(), where + ": " + e.what(), where);
  }
  throw FunnelError(ErrorKind::UnknownDistribution,
                    where + ": unknown distribution type '" + type +
                        "' (built in: exponential, lognormal, weibull, gamma, fixed, empirical, truncated; "
                        "others must be registered with funnelkit.register_distribution)",
                    type);
}

Json distribution_to_json(const Distribution& distribution) {
  Json out = distribution.params();
  if (!out.is_object()) throw FunnelError(ErrorKind::Distribution, "params() of '" + distribution.type_name() + "' must be an object");
  out["type"] = distribution.type_name();
  return out;
}

Funnel funnel_from_json(std::string_view text, const ExtensionFactories& extensions) {
  Json document;
  try {
    document = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    throw FunnelError(ErrorKind::Format, std::string("malformed JSON: ") + e.what());
  }
  return funnel_from_json_value(document, extensions);
}

Funnel funnel_from_json_value(const Json& document, const ExtensionFactories& extensions) {
  if (!document.is_object()) format_error("document", "a funnel document must be a JSON object");
  const auto format = document.find("format");
  if (format == document.end() || !format->is_string() || format->get<std::string>() != kFunnelFormat)
    format_error("format", "not a funnel document (expected \"format\": \"" + std::string(kFunnelFormat) + "\")");
  const auto& version = required(document, "document", "version");
  if (!version.is_number_integer())
    format_error("version", "must be an integer");
  if (version.get<int>() != kFunnelSchemaVersion)
    throw FunnelError(ErrorKind::SchemaVersion,
                      "funnel schema version " + version.dump() + " is not supported (this funnelkit reads version " +
                          std::to_string(kFunnelSchemaVersion) + ")",
                      "version");
  only_keys(document, "document",
            {"format", "version", "name", "time_unit", "remainder", "drop_stage", "discount", "entry", "stages",
             "edges", "metadata"});

  Funnel funnel;
  if (const auto it = document.find("name"); it != document.end()) funnel.name = string_at(*it, "name");
  if (const auto it = document.find("time_unit"); it != document.end()) funnel.time_unit = string_at(*it, "time_unit");
  if (const auto it = document.find("remainder"); it != document.end()) {
    try {
      funnel.remainder = remainder_rule_from_string(string_at(*it, "remainder"));
    } catch (const FunnelError& e) {
      format_error("remainder", e.what());
    }
  }
  if (const auto it = document.find("drop_stage"); it != document.end()) funnel.drop_stage = string_at(*it, "drop_stage");
  if (const auto it = document.find("discount"); it != document.end()) funnel.discount = number_at(*it, "discount");
  if (const auto it = document.find("metadata"); it != document.end()) funnel.metadata = object_at(*it, "metadata");

  const auto& stages = required(document, "document", "stages");
  if (!stages.is_array()) format_error("stages", "must be a list");
  for (std::size_t i = 0; i < stages.size(); ++i)
    funnel.add_stage(read_stage(stages[i], "stages[" + std::to_string(i) + "]", extensions));
  if (const auto it = document.find("edges"); it != document.end()) {
    if (!it->is_array()) format_error("edges", "must be a list");
    for (std::size_t i = 0; i < it->size(); ++i)
      funnel.add_edge(read_edge((*it)[i], "edges[" + std::to_string(i) + "]", extensions));
  }
  if (const auto it = document.find("entry"); it != document.end()) read_entry(*it, funnel);
  return funnel;
}

std::string funnel_to_json(const Funnel& funnel, int indent) {
  OrderedJson doc;
  doc["format"] = kFunnelFormat;
  doc["version"] = kFunnelSchemaVersion;
  doc["name"] = funnel.name;
  doc["time_unit"] = funnel.time_unit;
  doc["remainder"] = to_string(funnel.remainder);
  doc["drop_stage"] = funnel.drop_stage;
  doc["discount"] = funnel.discount;
  if (funnel.entry().size() == 1 && funnel.entry().front().second == 1.0) {
    doc["entry"] = funnel.entry().front().first;
  } else if (!funnel.entry().empty()) {
    // Sorted by stage name, the order a JSON object comes back in, so round trips are exact.
    auto entry = funnel.entry();
    std::sort(entry.begin(), entry.end());
    OrderedJson weights = OrderedJson::object();
    for (const auto& [name, weight] : entry) weights[name] = weight;
    doc["entry"] = weights;
  }
  doc["stages"] = OrderedJson::array();
  for (const auto& stage : funnel.stages()) {
    OrderedJson s;
    s["name"] = stage.name;
    s["kind"] = to_string(stage.kind);
    s["value"] = stage.value;
    if (stage.holding) s["holding"] = ordered_distribution(*stage.holding);
    if (!stage.metadata.empty()) s["metadata"] = ordered(stage.metadata);
    doc["stages"].push_back(std::move(s));
  }
  doc["edges"] = OrderedJson::array();
  for (const auto& edge : funnel.edges()) {
    OrderedJson e;
    e["from"] = edge.from;
    e["to"] = edge.to;
    e["probability"] = edge.probability;
    if (edge.delay) e["delay"] = ordered_distribution(*edge.delay);
    if (!edge.metadata.empty()) e["metadata"] = ordered(edge.metadata);
    doc["edges"].push_back(std::move(e));
  }
  if (!funnel.metadata.empty()) doc["metadata"] = ordered(funnel.metadata);
  return doc.dump(indent);
}

}  // namespace funnelkit::model
