#pragma once
// The only place the bindings include pybind11 from, so every translation unit sees the same
// headers and options.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstddef>

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

// Runs body(begin, end) over [0, total) in chunks without the GIL, checking for Ctrl-C between
// chunks so that long loops stay interruptible (KeyboardInterrupt in Python).
template <class Body>
void run_interruptibly(std::size_t total, Body&& body) {
  constexpr std::size_t chunk = std::size_t{1} << 16;
  for (std::size_t begin = 0; begin < total; begin += chunk) {
    const auto end = std::min(total, begin + chunk);
    {
      py::gil_scoped_release release;
      body(begin, end);
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

void register_model(py::module_& m);
void register_markov(py::module_& m);
void register_reports(py::module_& m);

}  // namespace funnelkit::bindings
