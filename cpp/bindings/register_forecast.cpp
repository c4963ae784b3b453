// Bindings of funnelkit::forecast (internal: the Python API is funnelkit.forecasting).
#include "pybind11.hpp"

#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "funnelkit/forecast/expected_path.hpp"

namespace funnelkit::bindings {
namespace {
// (state, delay, trigger, reach, target or -1 for an odds step, multiplier, toward)
using PathStepTuple = std::tuple<std::size_t, double, std::size_t, double, std::int64_t, double, std::vector<std::size_t>>;
// (time, audience states, target, reach, treated share)
using PathSendTuple = std::tuple<double, std::vector<std::size_t>, std::size_t, double, double>;
}  // namespace

void register_forecast(py::module_& m) {
  m.def(
      "expected_path",
      [](const markov::Chain& chain, const Column<double>& arrivals, double bin_width, std::size_t substeps,
         const std::vector<PathStepTuple>& steps, const std::vector<double>& treated,
         const std::vector<PathSendTuple>& sends, bool arrivals_at_start) {
        const auto values = column(arrivals, "arrivals");
        forecast::PathOptions options{.bin_width = bin_width, .substeps = substeps, .treated = treated,
                                      .arrivals_at_start = arrivals_at_start};
        for (const auto& [state, delay, trigger, reach, target, multiplier, toward] : steps)
          options.steps.push_back({state, delay, trigger, reach, target < 0 ? markov::kNoState : static_cast<std::size_t>(target),
                                   multiplier, toward});
        for (const auto& [time, states, target, reach, share] : sends)
          options.sends.push_back({time, states, target, reach, share});
        auto path = [&] {
          py::gil_scoped_release release;
          return forecast::expected_path(chain, values, options);
        }();
        const std::size_t columns = options.steps.size() + options.sends.size();
        return py::dict("entries"_a = shaped(std::move(path.entries), {path.bins, path.states}),
                        "occupancy"_a = shaped(std::move(path.occupancy), {path.bins, path.states}),
                        "value"_a = owned(std::move(path.value)),
                        "messages"_a = shaped(std::move(path.messages), {path.bins, columns}));
      },
      "chain"_a, "arrivals"_a, "bin_width"_a, "substeps"_a, "steps"_a = py::list(), "treated"_a = py::list(), "sends"_a = py::list(), "arrivals_at_start"_a = false);
}

}  // namespace funnelkit::bindings
