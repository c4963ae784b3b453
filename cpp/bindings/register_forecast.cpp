// Bindings of funnelkit::forecast (internal: the Python API is funnelkit.forecast).
#include "pybind11.hpp"

#include <tuple>
#include <utility>
#include <vector>

#include "funnelkit/forecast/expected_path.hpp"

namespace funnelkit::bindings {

void register_forecast(py::module_& m) {
  m.def(
      "expected_path",
      [](const markov::Chain& chain, const Column<double>& arrivals, double bin_width, std::size_t substeps,
         const std::vector<std::tuple<std::size_t, double, std::size_t, double>>& idle_moves) {
        const auto values = column(arrivals, "arrivals");
        forecast::PathOptions options{.bin_width = bin_width, .substeps = substeps};
        for (const auto& [state, delay, target, probability] : idle_moves) {
          if (state >= chain.size() || target >= chain.size())
            throw std::invalid_argument("an idle move names a state outside the chain");
          if (!(delay >= 0.0) || !(probability >= 0.0 && probability <= 1.0))
            throw std::invalid_argument("an idle move needs a delay >= 0 and a probability in [0, 1]");
          options.idle_moves.push_back({state, delay, target, probability});
        }
        auto path = [&] {
          py::gil_scoped_release release;
          return forecast::expected_path(chain, values, options);
        }();
        const auto bins = static_cast<py::ssize_t>(path.bins);
        const auto states = static_cast<py::ssize_t>(path.states);
        return py::dict("entries"_a = owned(std::move(path.entries)).reshape({bins, states}),
                        "occupancy"_a = owned(std::move(path.occupancy)).reshape({bins, states}),
                        "value"_a = owned(std::move(path.value)));
      },
      "chain"_a, "arrivals"_a, "bin_width"_a, "substeps"_a, "idle_moves"_a = py::list());
}

}  // namespace funnelkit::bindings
