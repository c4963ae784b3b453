// funnelkit._core: the compiled engine. Users import funnelkit, never this module.
#include "pybind11.hpp"

#include "funnelkit/core/errors.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "funnelkit's C++ engine (internal; use the funnelkit package)";

  // Engine errors become funnelkit.errors.<Kind> with the offending stage/edge as .subject.
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const funnelkit::FunnelError& error) {
      const auto errors = py::module_::import("funnelkit.errors");
      const py::object cls = errors.attr(funnelkit::error_class_name(error.kind()));
      py::object instance = cls(error.what());
      instance.attr("subject") = error.subject().empty() ? py::object(py::none()) : py::object(py::str(error.subject()));
      PyErr_SetObject(cls.ptr(), instance.ptr());
    }
  });

  funnelkit::bindings::register_model(m);
  funnelkit::bindings::register_markov(m);
  funnelkit::bindings::register_events(m);
  funnelkit::bindings::register_reports(m);
  funnelkit::bindings::register_scoring(m);
  funnelkit::bindings::register_scoring_features(m);
  funnelkit::bindings::register_scoring_logistic(m);
  funnelkit::bindings::register_scoring_funnel(m);
  funnelkit::bindings::register_scoring_rules(m);
  funnelkit::bindings::register_simulate(m);
  funnelkit::bindings::register_forecast(m);
}
