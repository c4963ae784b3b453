// Bindings of funnelkit::events: journeys counted from encoded event columns, duration fits.
#include "pybind11.hpp"

#include <utility>

#include "funnelkit/events/duration_fit.hpp"
#include "funnelkit/events/encode.hpp"
#include "funnelkit/events/journeys.hpp"

namespace funnelkit::bindings {
namespace {

using events::TransitionCounts;

py::dict fit_to_dict(const events::DurationFit& fit) {
  return py::dict("family"_a = fit.family, "params"_a = fit.params, "lower"_a = fit.lower, "upper"_a = fit.upper,
                  "log_likelihood"_a = fit.log_likelihood, "aic"_a = fit.aic, "n"_a = fit.sample_size,
                  "available"_a = fit.available);
}

}  // namespace

void register_events(py::module_& m) {
  py::class_<TransitionCounts>(m, "TransitionCounts")
      .def_readonly("stage_count", &TransitionCounts::stage_count)
      .def_property_readonly("starts", [](const TransitionCounts& c) { return to_array(c.starts); })
      .def_property_readonly("entries", [](const TransitionCounts& c) { return to_array(c.entries); })
      .def_property_readonly("censored", [](const TransitionCounts& c) { return to_array(c.censored); })
      .def_property_readonly("losses", [](const TransitionCounts& c) { return to_array(c.losses); })
      .def_property_readonly("value_sum", [](const TransitionCounts& c) { return to_array(c.value_sum); })
      .def_property_readonly("value_count", [](const TransitionCounts& c) { return to_array(c.value_count); })
      .def_property_readonly("source", [](const TransitionCounts& c) { return to_array(c.source); })
      .def_property_readonly("target", [](const TransitionCounts& c) { return to_array(c.target); })
      .def_property_readonly("count", [](const TransitionCounts& c) { return to_array(c.count); })
      .def_property_readonly("duration_offsets", [](const TransitionCounts& c) { return to_array(c.duration_offsets); })
      // A read-only view of the engine's buffer (tens of millions of durations: no copy), kept
      // alive by the counts object.
      .def_property_readonly("durations",
                             [](const py::object& self) {
                               const auto& c = self.cast<const TransitionCounts&>();
                               py::array_t<double> view(static_cast<py::ssize_t>(c.durations.size()),
                                                        c.durations.data(), self);
                               py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
                               return view;
                             })
      .def_readonly("events_used", &TransitionCounts::events_used)
      .def_readonly("events_ignored", &TransitionCounts::events_ignored)
      .def_readonly("journeys", &TransitionCounts::journeys)
      .def("merge", &TransitionCounts::merge, "other"_a, py::call_guard<py::gil_scoped_release>());

  m.def(
      "count_transitions",
      [](const Column<std::int64_t>& lead, const Column<std::int64_t>& time, const Column<std::int32_t>& stage,
         const std::optional<Column<double>>& value, std::size_t lead_count, std::size_t stage_count,
         std::int64_t window, std::int64_t observed_until, std::int64_t session_gap, double nanoseconds_per_unit,
         std::vector<std::int32_t> repeat_stage, std::vector<std::uint8_t> absorbing, std::size_t threads,
         const py::object& progress) {
        events::JourneyRules rules{window, observed_until, session_gap, nanoseconds_per_unit, std::move(repeat_stage),
                                   std::move(absorbing)};
        const auto values = value ? column(*value, "value") : std::span<const double>{};
        const auto report = python_progress(progress);
        return run_cancellable([&] {
          return events::count_transitions(column(lead, "lead"), column(time, "time"), column(stage, "stage"), values, lead_count, stage_count, rules,
                                           threads, report);
        });
      },
      "lead"_a, "time"_a, "stage"_a, "value"_a, "lead_count"_a, "stage_count"_a, "window"_a, "observed_until"_a,
      "session_gap"_a, "nanoseconds_per_unit"_a, "repeat_stage"_a, "absorbing"_a, "threads"_a, "progress"_a);

  m.def(
      "fit_durations",
      [](const Column<double>& durations, double truncation, double level) {
        const auto d = column(durations, "durations");
        std::pair<events::DurationFit, events::DurationFit> fits;
        {
          py::gil_scoped_release release;
          fits = {events::fit_exponential(d, truncation, level), events::fit_lognormal(d, truncation, level)};
        }
        return py::make_tuple(fit_to_dict(fits.first), fit_to_dict(fits.second));
      },
      "durations"_a, "truncation"_a, "level"_a);

  m.def(
      "encode_ids",
      [](const Column<std::int64_t>& ids) {
        events::EncodedIds encoded;
        {
          py::gil_scoped_release release;
          encoded = events::encode_ids(column(ids, "ids"));
        }
        return py::make_tuple(owned(std::move(encoded.codes)), owned(std::move(encoded.uniques)));
      },
      "ids"_a);

  m.def("beta_quantile", py::vectorize(events::beta_quantile), "a"_a, "b"_a, "p"_a);
}

}  // namespace funnelkit::bindings
