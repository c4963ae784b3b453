// Bindings of funnelkit::scoring::RuleScorer: rule points over a feature matrix.
#include "feature_matrix.hpp"

#include "funnelkit/scoring/rule_scorer.hpp"

namespace funnelkit::bindings {

using scoring::RuleScorer;

void register_scoring_rules(py::module_& m) {
  py::class_<RuleScorer>(m, "RuleScorer")
      .def(py::init([](const py::object& params) { return RuleScorer::from_params(to_json_value(params)); }),
           "params"_a)
      .def_property_readonly("feature_names", &RuleScorer::feature_names)
      .def_property_readonly("reason_names", &RuleScorer::reason_names)
      .def("params", [](const RuleScorer& scorer) { return to_python(scorer.params()); })
      .def(
          "score",
          [](const RuleScorer& scorer, const FeatureArray& x, std::size_t threads) {
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
          [](const RuleScorer& scorer, const FeatureArray& x, std::size_t threads) {
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
