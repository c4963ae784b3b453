// Bindings of funnelkit::forecast (internal: the Python API is funnelkit.forecast).
#include "pybind11.hpp"

#include <utility>

#include "funnelkit/forecast/expected_path.hpp"

namespace funnelkit::bindings {

void register_forecast(py::module_& m) {
  m.def(
      "expected_path",
      [](const markov::Chain& chain, const Column<double>& arrivals, double bin_width, std::size_t substeps) {
        const auto values = column(arrivals, "arrivals");
        auto path = [&] {
          py::gil_scoped_release release;
          return forecast::expected_path(chain, values, {.bin_width = bin_width, .substeps = substeps});
        }();
        const auto bins = static_cast<py::ssize_t>(path.bins);
        const auto states = static_cast<py::ssize_t>(path.states);
        return py::dict("entries"_a = owned(std::move(path.entries)).reshape({bins, states}),
                        "occupancy"_a = owned(std::move(path.occupancy)).reshape({bins, states}),
                        "value"_a = owned(std::move(path.value)));
      },
      "chain"_a, "arrivals"_a, "bin_width"_a, "substeps"_a);
}

}  // namespace funnelkit::bindings
