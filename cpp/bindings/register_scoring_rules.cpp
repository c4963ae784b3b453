// Bindings of funnelkit::scoring::RuleScorer: rule points over a feature matrix.
#include "pybind11.hpp"

#include "funnelkit/scoring/rule_scorer.hpp"

namespace funnelkit::bindings {
namespace {

using scoring::FeatureMatrix;
using scoring::RuleScorer;

// A (rows x features) float64 matrix in column order, as funnelkit.scoring.feature_matrix makes
// it: each column is a contiguous view, so nothing is copied.
using Matrix = py::array_t<double, py::array::f_style | py::array::forcecast>;

FeatureMatrix feature_view(const Matrix& x) {
  if (x.ndim() != 2) throw std::invalid_argument("x must be a 2-D array (leads x features)");
  FeatureMatrix features;
  features.rows = static_cast<std::size_t>(x.shape(0));
  const auto cols = static_cast<std::size_t>(x.shape(1));
  features.columns.reserve(cols);
  for (std::size_t j = 0; j < cols; ++j) features.columns.emplace_back(x.data() + j * features.rows, features.rows);
  return features;
}

}  // namespace

void register_scoring_rules(py::module_& m) {
  py::class_<RuleScorer>(m, "RuleScorer")
      .def(py::init([](const py::object& params) { return RuleScorer::from_params(to_json_value(params)); }),
           "params"_a)
      .def_property_readonly("feature_names", &RuleScorer::feature_names)
      .def_property_readonly("reason_names", &RuleScorer::reason_names)
      .def("params", [](const RuleScorer& scorer) { return to_python(scorer.params()); })
      .def(
          "score",
          [](const RuleScorer& scorer, const Matrix& x, std::size_t threads) {
            const auto features = feature_view(x);
            py::array_t<double> out(static_cast<py::ssize_t>(features.rows));
            const std::span<double> values(out.mutable_data(), features.rows);
            const py::object none = py::none();
            const auto report = python_progress(none);
            run_cancellable([&] { scorer.score(features, values, threads, report); });
            return out;
          },
          "x"_a, "threads"_a)
      .def(
          "contributions",
          [](const RuleScorer& scorer, const Matrix& x, std::size_t threads) {
            const auto features = feature_view(x);
            const auto k = scorer.rules().size();
            py::array_t<double> out({static_cast<py::ssize_t>(features.rows), static_cast<py::ssize_t>(k)});
            const std::span<double> values(out.mutable_data(), features.rows * k);
            const py::object none = py::none();
            const auto report = python_progress(none);
            run_cancellable([&] { scorer.contributions(features, values, threads, report); });
            return out;
          },
          "x"_a, "threads"_a);
}

}  // namespace funnelkit::bindings
