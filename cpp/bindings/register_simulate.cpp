// Bindings of funnelkit::simulate (internal for now: the Python API comes with the triggers).
#include "pybind11.hpp"

#include <memory>
#include <utility>

#include "funnelkit/simulate/journeys.hpp"

namespace funnelkit::bindings {

void register_simulate(py::module_& m) {
  m.def(
      "simulate_journeys",
      [](const std::shared_ptr<markov::Chain>& chain, const Column<double>& arrivals, double horizon,
         double bin_width, std::uint64_t seed, std::size_t max_transitions, std::size_t threads,
         const py::object& progress) {
        const auto times = column(arrivals, "arrivals");
        const simulate::JourneyOptions options{
            .horizon = horizon, .bin_width = bin_width, .seed = seed, .max_transitions = max_transitions};
        const auto report = python_progress(progress);
        auto totals =
            run_cancellable([&] { return simulate::simulate_journeys(*chain, times, options, threads, report); });
        const auto bins = static_cast<py::ssize_t>(totals.bins);
        const auto entries = owned(std::move(totals.entries)).reshape({bins, static_cast<py::ssize_t>(totals.states)});
        return py::dict("arrivals"_a = owned(std::move(totals.arrivals)), "entries"_a = entries,
                        "value"_a = owned(std::move(totals.value)), "leads"_a = totals.leads,
                        "transitions"_a = totals.transitions, "successes"_a = totals.successes,
                        "failures"_a = totals.failures, "open"_a = totals.open, "stopped"_a = totals.stopped,
                        "time_to_success"_a = totals.time_to_success, "total_value"_a = totals.total_value);
      },
      "chain"_a, "arrivals"_a, "horizon"_a, "bin_width"_a, "seed"_a, "max_transitions"_a, "threads"_a,
      "progress"_a);
}

}  // namespace funnelkit::bindings
