#pragma once
// The only place the bindings include pybind11 from, so every translation unit sees the same
// headers and options.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

namespace py = pybind11;
using namespace pybind11::literals;

namespace funnelkit::bindings {

// JSON values cross the boundary as text through Python's json module: metadata and
// parameters are small, and this keeps one exact definition of "JSON-compatible".
inline nlohmann::json to_json_value(const py::handle& value) {
  const auto text = py::module_::import("json").attr("dumps")(value, "allow_nan"_a = false).cast<std::string>();
  return nlohmann::json::parse(text);
}

inline py::object to_python(const nlohmann::json& value) {
  if (value.is_object() && value.empty()) return py::dict();  // the common case, kept cheap
  return py::module_::import("json").attr("loads")(value.dump());
}

void register_model(py::module_& m);
void register_markov(py::module_& m);

}  // namespace funnelkit::bindings
