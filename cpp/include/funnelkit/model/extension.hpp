#pragma once
/// \file One table of factories for the extension objects a document names by type.
///
/// Every kind of user-written component (today distributions; later features, scorers,
/// trigger effects) is an abstract engine interface whose built-ins the engine constructs
/// itself. Types it does not know (Python classes registered by name) are built by a factory
/// for that kind. Readers take one ExtensionFactories for the whole document and ask it by
/// kind, so a new kind adds a table entry, not a new callback parameter.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace funnelkit::model {

/// The JSON name of an extension kind, specialised next to each interface, e.g.
/// `template <> struct ExtensionKind<Distribution> { static constexpr std::string_view name = "distribution"; };`
template <class Interface>
struct ExtensionKind;

class ExtensionFactories {
 public:
  /// Builds an object of `type` from its parameters, or returns nullptr for an unknown type.
  template <class Interface>
  using Factory =
      std::function<std::shared_ptr<const Interface>(const std::string& type, const nlohmann::json& params)>;

  /// Sets (or replaces) the factory of Interface's kind.
  template <class Interface>
  ExtensionFactories& set(Factory<Interface> factory) {
    auto erased = [factory = std::move(factory)](const std::string& type, const nlohmann::json& params) {
      return std::shared_ptr<const void>(factory(type, params));
    };
    factories_[std::string(ExtensionKind<Interface>::name)] = std::move(erased);
    return *this;
  }

  /// The object built by the factory of Interface's kind; nullptr when there is no factory for
  /// the kind or it does not know `type`.
  template <class Interface>
  [[nodiscard]] std::shared_ptr<const Interface> make(const std::string& type, const nlohmann::json& params) const {
    const auto it = factories_.find(ExtensionKind<Interface>::name);
    if (it == factories_.end()) return nullptr;
    // set<Interface> is the only writer of this kind's entry, so the pointer has this type.
    return std::static_pointer_cast<const Interface>(it->second(type, params));
  }

  [[nodiscard]] bool has(std::string_view kind) const { return factories_.contains(kind); }

 private:
  using Erased = std::function<std::shared_ptr<const void>(const std::string&, const nlohmann::json&)>;
  std::map<std::string, Erased, std::less<>> factories_;
};

}  // namespace funnelkit::model
