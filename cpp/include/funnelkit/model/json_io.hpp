#pragma once
/// \file The versioned JSON document of a funnel (schema in docs/json-format.md).
///
/// Reading is strict: unknown keys, wrong types and unknown versions are errors that name the
/// JSON path, because a typo such as "edgs" must not silently give an empty funnel.
/// Writing uses 17 significant digits, so a round trip reproduces every number exactly.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "funnelkit/model/extension.hpp"
#include "funnelkit/model/funnel.hpp"

namespace funnelkit::model {

inline constexpr std::string_view kFunnelFormat = "funnelkit.funnel";
inline constexpr int kFunnelSchemaVersion = 1;

/// `extensions` builds the types the engine does not know (Python extensions registered by
/// name), for every kind the document may name. Building is linear in the document's size.
[[nodiscard]] Funnel funnel_from_json(std::string_view text, const ExtensionFactories& extensions = {});
[[nodiscard]] Funnel funnel_from_json_value(const nlohmann::json& document, const ExtensionFactories& extensions = {});
[[nodiscard]] std::string funnel_to_json(const Funnel& funnel, int indent = 2);

/// {"type": "lognormal", "mu": 1.2, "sigma": 0.8}: the type plus its parameters, flat.
[[nodiscard]] DistributionPtr distribution_from_json(const nlohmann::json& value,
                                                     const ExtensionFactories& extensions = {},
                                                     const std::string& where = "distribution");
[[nodiscard]] nlohmann::json distribution_to_json(const Distribution& distribution);

}  // namespace funnelkit::model
