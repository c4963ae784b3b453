// Bindings of the learned scorer: the logistic regression fit and the fitted scorer.
#include "pybind11.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "funnelkit/scoring/logistic.hpp"

namespace funnelkit::bindings {
namespace {

using scoring::FeatureMatrix;
using scoring::LogisticScorer;

// Rows scored per block (each block on one thread, no shared state).
constexpr std::size_t score_block_rows = std::size_t{1} << 15;

// A list of 1-D float64 arrays (pandas columns, views where possible) as a FeatureMatrix.
FeatureMatrix feature_columns(const std::vector<Column<double>>& arrays, std::size_t rows) {
  FeatureMatrix x;
  x.rows = rows;
  x.columns.reserve(arrays.size());
  for (std::size_t j = 0; j < arrays.size(); ++j) {
    const auto span = column(arrays[j], "feature column");
    if (span.size() != rows)
      throw std::invalid_argument("feature column " + std::to_string(j) + " has " + std::to_string(span.size()) +
                                  " rows, expected " + std::to_string(rows));
    x.columns.push_back(span);
  }
  return x;
}

std::size_t row_count(const std::vector<Column<double>>& arrays, std::size_t fallback) {
  return arrays.empty() ? fallback : static_cast<std::size_t>(arrays.front().size());
}

scoring::LogisticSolver parse_solver(const std::string& name) {
  if (name == "auto") return scoring::LogisticSolver::Auto;
  if (name == "newton") return scoring::LogisticSolver::Newton;
  if (name == "lbfgs") return scoring::LogisticSolver::Lbfgs;
  throw std::invalid_argument("unknown solver '" + name + "' (expected auto, newton or lbfgs)");
}

// Runs `work(block view, begin, rows)` over the engine's row blocks without the GIL.
template <class Work>
void over_blocks(const FeatureMatrix& x, std::size_t threads, Work&& work) {
  const py::object none = py::none();
  const auto report = python_progress(none);
  run_cancellable([&] { scoring::for_row_blocks(x, threads, score_block_rows, report, work); });
}

}  // namespace

void register_scoring_logistic(py::module_& m) {
  m.def(
      "fit_logistic",
      [](const std::vector<Column<double>>& columns, const Column<double>& y,
         const std::optional<Column<double>>& sample_weight, double C, double l1_ratio, bool fit_intercept,
         bool standardize, const std::string& solver, std::size_t max_iter, double tol,
         std::pair<double, double> class_weight, bool balanced, std::size_t threads) {
        const auto labels = column(y, "y");
        const auto x = feature_columns(columns, labels.size());
        const auto weights = sample_weight ? column(*sample_weight, "sample_weight") : std::span<const double>{};
        scoring::LogisticOptions options;
        options.C = C;
        options.l1_ratio = l1_ratio;
        options.fit_intercept = fit_intercept;
        options.standardize = standardize;
        options.solver = parse_solver(solver);
        options.max_iter = max_iter;
        options.tol = tol;
        options.class_weight[0] = class_weight.first;
        options.class_weight[1] = class_weight.second;
        options.balanced = balanced;
        options.threads = threads;
        const py::object none = py::none();
        const auto report = python_progress(none);
        auto fit = run_cancellable([&] { return scoring::fit_logistic(x, labels, weights, options, report); });
        return py::dict("coefficients"_a = owned(std::move(fit.coefficients)), "intercept"_a = fit.intercept,
                        "means"_a = owned(std::move(fit.means)), "scales"_a = owned(std::move(fit.scales)),
                        "iterations"_a = fit.iterations, "converged"_a = fit.converged,
                        "gradient_norm"_a = fit.gradient_norm, "objective"_a = fit.objective,
                        "solver"_a = scoring::solver_name(fit.solver),
                        "class_weight"_a = py::make_tuple(fit.class_weight[0], fit.class_weight[1]));
      },
      "columns"_a, "y"_a, "sample_weight"_a, "C"_a, "l1_ratio"_a, "fit_intercept"_a, "standardize"_a, "solver"_a,
      "max_iter"_a, "tol"_a, "class_weight"_a, "balanced"_a, "threads"_a);

  py::class_<LogisticScorer>(m, "LogisticScorer")
      .def(py::init<std::vector<std::string>, std::vector<std::size_t>, std::vector<double>, double,
                    std::vector<double>, std::vector<double>>(),
           "features"_a, "levels"_a, "coefficients"_a, "intercept"_a, "means"_a, "scales"_a)
      .def_static("from_params",
                  [](const py::dict& params) { return LogisticScorer::from_params(to_json_value(params)); },
                  "params"_a)
      .def("params", [](const LogisticScorer& s) { return to_python(s.params()); })
      .def_property_readonly("feature_names", &LogisticScorer::feature_names)
      .def_property_readonly("baseline", &LogisticScorer::baseline)
      .def_property_readonly("intercept", &LogisticScorer::intercept)
      .def_property_readonly("coefficients", [](const LogisticScorer& s) { return to_array(s.coefficients()); })
      .def(
          "decision",
          [](const LogisticScorer& s, const std::vector<Column<double>>& columns, std::size_t rows,
             std::size_t threads) {
            const auto x = feature_columns(columns, row_count(columns, rows));
            std::vector<double> out(x.rows);
            over_blocks(x, threads, [&](const FeatureMatrix& view, std::size_t begin, std::size_t n) {
              s.decision(view, std::span<double>(out).subspan(begin, n));
            });
            return owned(std::move(out));
          },
          "columns"_a, "rows"_a, "threads"_a)
      .def(
          "score",
          [](const LogisticScorer& s, const std::vector<Column<double>>& columns, std::size_t rows,
             std::size_t threads) {
            const auto x = feature_columns(columns, row_count(columns, rows));
            std::vector<double> out(x.rows);
            over_blocks(x, threads, [&](const FeatureMatrix& view, std::size_t begin, std::size_t n) {
              s.score(view, std::span<double>(out).subspan(begin, n));
            });
            return owned(std::move(out));
          },
          "columns"_a, "rows"_a, "threads"_a)
      .def(
          "contributions",
          [](const LogisticScorer& s, const std::vector<Column<double>>& columns, std::size_t rows,
             std::size_t threads) {
            const auto x = feature_columns(columns, row_count(columns, rows));
            const std::size_t f = x.cols();
            std::vector<double> out(x.rows * f);
            over_blocks(x, threads, [&](const FeatureMatrix& view, std::size_t begin, std::size_t n) {
              s.contributions(view, std::span<double>(out).subspan(begin * f, n * f));
            });
            auto flat = owned(std::move(out));
            return flat.reshape({static_cast<py::ssize_t>(x.rows), static_cast<py::ssize_t>(f)});
          },
          "columns"_a, "rows"_a, "threads"_a);
}

}  // namespace funnelkit::bindings
