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
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/parallel.hpp"

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

// Converts a Python progress callable into the engine's Progress: called with the GIL between
// chunks of work; Ctrl-C (or an exception in the callable) stops the work. The Python error
// stays set, and run_cancellable raises it once the engine has unwound. The callable is held
// by pointer: the Progress is copied without the GIL, which a py::object copy would need.
inline Progress python_progress(const py::object& callback) {
  const py::object* call = &callback;
  return [call](std::size_t done, std::size_t total) {
    py::gil_scoped_acquire gil;
    if (!call->is_none()) {
      try {
        (*call)(done, total);
      } catch (py::error_already_set& error) {
        error.restore();
        return false;
      }
    }
    return PyErr_CheckSignals() == 0;
  };
}

// Runs engine work without the GIL; a cancelled run re-raises the pending Python error.
template <class Work>
auto run_cancellable(Work&& work) {
  try {
    py::gil_scoped_release release;
    return work();
  } catch (const Cancelled&) {
    throw py::error_already_set();
  }
}

// The trampoline base of every Python extension kind with a type name and parameters (scorers,
// lead features, trigger conditions and effects): the engine asks for them with the GIL held,
// and the Python object is reached through the engine object it backs.
template <class Interface>
class PyExtension : public Interface, public py::trampoline_self_life_support {
 public:
  using Interface::Interface;

  std::string type_name() const override {
    py::gil_scoped_acquire gil;
    return self().attr("type_name")().template cast<std::string>();
  }
  nlohmann::json params() const override {
    py::gil_scoped_acquire gil;
    return to_json_value(self().attr("params")());
  }

 protected:
  // Call with the GIL held.
  py::object self() const { return py::cast(static_cast<const Interface*>(this)); }
};

// A NumPy argument as a contiguous array of T (converted if it is not one).
template <class T>
using Column = py::array_t<T, py::array::c_style | py::array::forcecast>;

// A one-dimensional NumPy argument as a span; `name` goes into the error for other shapes.
template <class T>
std::span<const T> column(const Column<T>& array, const char* name) {
  if (array.ndim() != 1) throw std::invalid_argument(std::string(name) + " must be a 1-D array");
  return {array.data(), static_cast<std::size_t>(array.shape(0))};
}

// A copy of a vector as a NumPy array (for small results; large ones go through owned()).
template <class T>
py::array_t<T> to_array(const std::vector<T>& values) {
  return py::array_t<T>(static_cast<py::ssize_t>(values.size()), values.data());
}

// Hands a vector's buffer to NumPy without a copy: the array owns it through a capsule.
template <class Vector, class Stored = std::remove_cvref_t<Vector>>
py::array_t<typename Stored::value_type> owned(Vector&& values) {
  auto* heap = new Stored(std::forward<Vector>(values));
  const py::capsule owner(heap, [](void* p) { delete static_cast<Stored*>(p); });
  return py::array_t<typename Stored::value_type>(static_cast<py::ssize_t>(heap->size()), heap->data(), owner);
}

// owned() with a shape (row-major), e.g. {replicates, bins, states}.
template <class T>
py::array_t<T> shaped(std::vector<T>&& values, std::initializer_list<std::size_t> shape) {
  std::vector<py::ssize_t> dims;
  for (const auto d : shape) dims.push_back(static_cast<py::ssize_t>(d));
  return owned(std::move(values)).reshape(dims);
}

void register_model(py::module_& m);
void register_events(py::module_& m);
void register_markov(py::module_& m);
void register_reports(py::module_& m);
void register_scoring(py::module_& m);
void register_scoring_features(py::module_& m);
void register_scoring_logistic(py::module_& m);
void register_scoring_funnel(py::module_& m);
void register_scoring_rules(py::module_& m);
void register_simulate(py::module_& m);
void register_forecast(py::module_& m);

}  // namespace funnelkit::bindings
