// Bindings of the funnel report (funnelkit::events): encoded event columns in, per-step rows of
// leads and times out. Defaults, names and validation messages live in funnelkit/reports.py.
#include "pybind11.hpp"

#include <optional>
#include <tuple>

#include "funnelkit/events/funnel_report.hpp"

namespace funnelkit::bindings {
namespace {

using Int64s = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Int32s = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;
using StepArgs = std::tuple<std::vector<std::int32_t>, bool, std::optional<std::int64_t>>;
using ExclusionArgs = std::tuple<std::vector<std::int32_t>, std::size_t, std::size_t>;

events::StepOrder order_named(const std::string& name) {
  if (name == "ordered") return events::StepOrder::ordered;
  if (name == "strict") return events::StepOrder::strict;
  if (name == "any") return events::StepOrder::any;
  throw std::invalid_argument("order must be 'ordered', 'strict' or 'any', got '" + name + "'");
}

events::Anchor anchor_named(const std::string& name) {
  if (name == "first") return events::Anchor::first;
  if (name == "last") return events::Anchor::last;
  throw std::invalid_argument("anchor must be 'first' or 'last', got '" + name + "'");
}

}  // namespace

void register_reports(py::module_& m) {
  m.def(
      "funnel_report",
      [](const Int64s& lead_codes, const Int64s& times, const Int32s& event_codes, std::size_t lead_count,
         const std::vector<StepArgs>& steps, std::optional<std::int64_t> window, const std::string& order,
         const std::vector<ExclusionArgs>& exclusions, std::optional<std::int64_t> session_gap,
         const std::string& anchor, std::size_t threads, const py::object& progress) {
        const auto lead = column(lead_codes, "lead_codes");
        const auto time = column(times, "times");
        const auto event = column(event_codes, "event_codes");
        if (time.size() != lead.size() || event.size() != lead.size())
          throw std::invalid_argument("lead_codes, times and event_codes differ in length");
        events::FunnelSpec spec;
        for (const auto& [codes, optional, step_window] : steps)
          spec.steps.push_back({codes, optional, step_window.value_or(events::kNoLimit)});
        spec.window = window.value_or(events::kNoLimit);
        spec.order = order_named(order);
        for (const auto& [codes, from, to] : exclusions) spec.exclusions.push_back({codes, from, to});
        spec.session_gap = session_gap.value_or(events::kNoLimit);
        spec.anchor = anchor_named(anchor);
        const auto report = python_progress(progress);
        std::vector<events::StepLeads> rows;
        try {
          py::gil_scoped_release release;
          rows = events::funnel_report(lead, time, event, lead_count, spec, threads, report);
        } catch (const Cancelled&) {
          throw py::error_already_set();
        }
        py::list out;
        for (auto& row : rows)
          out.append(py::make_tuple(owned(std::move(row.leads)), owned(std::move(row.since_start)),
                                    owned(std::move(row.since_previous))));
        return out;
      },
      "lead_codes"_a, "times"_a, "event_codes"_a, "lead_count"_a, "steps"_a, "window"_a, "order"_a, "exclusions"_a,
      "session_gap"_a, "anchor"_a, "threads"_a, "progress"_a,
      "Per step, (lead codes that reached it, ns since the attempt's start, ns since its previous step); "
      "-1 where there is no time (internal: use funnelkit.funnel_report).");
}

}  // namespace funnelkit::bindings
