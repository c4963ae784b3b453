// Bindings of funnelkit::markov: the compiled chain, the analytics and the most likely path.
#include "pybind11.hpp"

#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/paths.hpp"

#include <map>

namespace funnelkit::bindings {
namespace {

using markov::Chain;

std::vector<std::size_t> state_codes(const Chain& chain, const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& codes) {
  std::vector<std::size_t> out;
  out.reserve(static_cast<std::size_t>(codes.size()));
  for (py::ssize_t i = 0; i < codes.size(); ++i) {
    const auto code = codes.data()[i];
    if (code < 0 || static_cast<std::size_t>(code) >= chain.size())
      throw py::index_error("stage code " + std::to_string(code) + " out of range (the funnel has " +
                            std::to_string(chain.size()) + " states)");
    out.push_back(static_cast<std::size_t>(code));
  }
  return out;
}

// The engine method Python asked for by name, from the table of those it may ask for.
template <class Getter>
Getter getter_named(const std::map<std::string, Getter>& getters, const std::string& name, const char* what) {
  const auto it = getters.find(name);
  if (it == getters.end()) throw py::key_error(std::string("no ") + what + " '" + name + "'");
  return it->second;
}

py::dict report_to_dict(const Chain& chain, const markov::ComponentReport& r) {
  return py::dict("first_stage"_a = chain.name(r.first_state), "size"_a = r.size, "nonzeros"_a = r.nonzeros,
                  "discount"_a = r.discount, "method"_a = std::string(markov::to_string(r.method)),
                  "factor_nonzeros"_a = r.factor_nonzeros, "solves"_a = r.solves, "max_iterations"_a = r.max_iterations,
                  "max_residual"_a = r.max_residual, "fell_back"_a = r.fell_back,
                  "diagonal_method"_a = r.diagonal_method);
}

}  // namespace

void register_markov(py::module_& m) {
  py::class_<Chain, std::shared_ptr<Chain>>(m, "Chain", "A validated funnel compiled into a Markov chain (internal).")
      .def(py::init([](const model::Funnel& funnel) { return std::make_shared<Chain>(Chain::compile(funnel)); }), "funnel"_a)
      .def_property_readonly("names", &Chain::names)
      .def_property_readonly("kinds",
                             [](const Chain& c) {
                               std::vector<std::string> kinds;
                               for (std::size_t i = 0; i < c.size(); ++i) kinds.emplace_back(model::to_string(c.kind(i)));
                               return kinds;
                             })
      .def_property_readonly("values",
                             [](const Chain& c) {
                               std::vector<double> values;
                               for (std::size_t i = 0; i < c.size(); ++i) values.push_back(c.value(i));
                               return values;
                             })
      .def_property_readonly("entry", &Chain::entry)
      .def_property_readonly("discount", &Chain::discount)
      .def_property_readonly("absorbing_states", &Chain::absorbing_states)
      .def_property_readonly("transient_states", &Chain::transient_states)
      .def_property_readonly("drop_state",
                             [](const Chain& c) -> py::object {
                               if (c.drop_state() == markov::kNoState) return py::none();
                               return py::int_(c.drop_state());
                             })
      .def("__len__", &Chain::size)
      .def("state_index", &Chain::state_index, "name"_a, "Index of a state by name (UnknownStageError otherwise).")
      .def("transition_triplets",
           [](const Chain& c) {
             // (rows, cols, probabilities) of the full transition matrix, absorbing rows excluded.
             std::vector<std::int64_t> rows;
             std::vector<std::int64_t> cols;
             std::vector<double> probabilities;
             for (const auto i : c.transient_states())
               for (const auto& tr : c.transitions(i)) {
                 rows.push_back(static_cast<std::int64_t>(i));
                 cols.push_back(static_cast<std::int64_t>(tr.to));
                 probabilities.push_back(tr.probability);
               }
             return py::make_tuple(py::array_t<std::int64_t>(static_cast<py::ssize_t>(rows.size()), rows.data()),
                                   py::array_t<std::int64_t>(static_cast<py::ssize_t>(cols.size()), cols.data()),
                                   py::array_t<double>(static_cast<py::ssize_t>(probabilities.size()), probabilities.data()));
           })
      .def(
          "sample_steps",
          [](const Chain& c, std::size_t state, std::size_t size, std::uint64_t seed) {
            // `size` independent one-step draws from `state`: next state and time spent.
            if (state >= c.size()) throw py::index_error("state out of range");
            py::array_t<std::int64_t> next(static_cast<py::ssize_t>(size));
            py::array_t<double> time(static_cast<py::ssize_t>(size));
            auto* next_data = next.mutable_data();
            auto* time_data = time.mutable_data();
            Rng rng(seed);
            run_interruptibly(size, [&](std::size_t begin, std::size_t end) {
              for (std::size_t i = begin; i < end; ++i) {
                const auto [to, dt] = c.sample_step(state, rng);
                next_data[i] = static_cast<std::int64_t>(to);
                time_data[i] = dt;
              }
            });
            return py::make_tuple(next, time);
          },
          "state"_a, "size"_a, "seed"_a);

  using markov::Analysis;
  py::class_<Analysis, std::shared_ptr<Analysis>>(m, "Analysis",
                                                   "The engine's lazy analysis of a chain (internal: use FunnelAnalysis).")
      .def(py::init([](std::shared_ptr<Chain> chain, std::size_t threads, double tolerance, std::size_t max_iterations,
                       const std::string& method) {
             markov::SolverOptions options;
             options.threads = threads;
             options.tolerance = tolerance;
             options.max_iterations = max_iterations;
             options.method = markov::solve_method_from_string(method);
             return std::make_shared<Analysis>(std::move(chain), options);
           }),
           "chain"_a, "threads"_a, "tolerance"_a, "max_iterations"_a, "method"_a)
      .def(
          "scalar",
          [](Analysis& a, const std::string& name) {
            using Getter = double (Analysis::*)();
            static const std::map<std::string, Getter> getters{{"success", &Analysis::success},
                                                               {"value_per_entrant", &Analysis::value_per_entrant},
                                                               {"steps", &Analysis::steps},
                                                               {"steps_sd", &Analysis::steps_sd},
                                                               {"time", &Analysis::time},
                                                               {"time_sd", &Analysis::time_sd},
                                                               {"time_to_success", &Analysis::time_to_success_mean}};
            const auto get = getter_named(getters, name, "summary number");
            return run_cancellable([&] { return (a.*get)(); });
          },
          "name"_a)
      .def("absorption", [](Analysis& a) { return run_cancellable([&] { return Eigen::MatrixXd(a.absorption()); }); })
      .def(
          "vector",
          [](Analysis& a, const std::string& name) {
            using Getter = const Eigen::VectorXd& (Analysis::*)();
            static const std::map<std::string, Getter> getters{
                {"success_probability", &Analysis::success_probability},
                {"expected_steps", &Analysis::expected_steps},
                {"steps_variance", &Analysis::steps_variance},
                {"expected_time", &Analysis::expected_time},
                {"time_variance", &Analysis::time_variance},
                {"time_to_success", &Analysis::time_to_success},
                {"value", &Analysis::value},
                {"expected_visits", &Analysis::expected_visits},
                {"dropped", &Analysis::dropped}};
            const auto get = getter_named(getters, name, "per-stage quantity");
            return run_cancellable([&] { return Eigen::VectorXd((a.*get)()); });
          },
          "name"_a)
      .def(
          "reach",
          [](Analysis& a, const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& states,
             const py::object& progress) {
            const auto codes = state_codes(a.chain(), states);
            const auto report = python_progress(progress);
            return to_array(run_cancellable([&] { return a.reach(codes, report); }));
          },
          "states"_a, "progress"_a)
      .def(
          "reach_cost",
          [](Analysis& a, const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& states) {
            const auto codes = state_codes(a.chain(), states);
            return run_cancellable([&] { return a.reach_cost(codes); });
          },
          "states"_a)
      .def(
          "removal_effects",
          [](Analysis& a, const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& states,
             const py::object& progress) {
            const auto codes = state_codes(a.chain(), states);
            const auto report = python_progress(progress);
            const auto effects = run_cancellable([&] { return a.removal_effects(codes, report); });
            std::vector<double> success, value;
            for (const auto& e : effects) {
              success.push_back(e.success_lost);
              value.push_back(e.value_lost);
            }
            return py::make_tuple(to_array(success), to_array(value));
          },
          "states"_a, "progress"_a)
      .def(
          "sensitivities",
          [](Analysis& a, const py::object& edges) {
            std::vector<std::size_t> wanted;
            if (!edges.is_none())
              for (const auto e : edges.cast<std::vector<std::int64_t>>()) {
                if (e < 0) throw py::index_error("edge index out of range");
                wanted.push_back(static_cast<std::size_t>(e));
              }
            const auto result = run_cancellable([&] { return a.sensitivities(wanted); });
            std::vector<std::int64_t> edge, source, target;
            std::vector<double> probability, d_success, d_value, d_time;
            for (const auto& e : result) {
              edge.push_back(static_cast<std::int64_t>(e.edge));
              source.push_back(static_cast<std::int64_t>(e.from));
              target.push_back(static_cast<std::int64_t>(e.to));
              probability.push_back(e.probability);
              d_success.push_back(e.d_success);
              d_value.push_back(e.d_value);
              d_time.push_back(e.d_time);
            }
            return py::dict("edge"_a = to_array(edge), "source"_a = to_array(source), "target"_a = to_array(target),
                            "probability"_a = to_array(probability), "d_success"_a = to_array(d_success),
                            "d_value"_a = to_array(d_value), "d_time"_a = to_array(d_time));
          },
          "edges"_a)
      .def("solver_report", [](const Analysis& a) {
        py::list out;
        for (const auto& r : a.solver_reports()) out.append(report_to_dict(a.chain(), r));
        return out;
      });

  m.def(
      "most_likely_path",
      [](const Chain& chain, const py::object& target) {
        auto state = markov::kNoState;
        if (py::isinstance<py::int_>(target) && !py::isinstance<py::bool_>(target)) {
          const auto code = target.cast<std::int64_t>();
          if (code < 0 || static_cast<std::size_t>(code) >= chain.size())
            throw py::index_error("stage code " + std::to_string(code) + " out of range");
          state = static_cast<std::size_t>(code);
        } else if (!target.is_none()) {
          state = chain.state_index(target.cast<std::string>());
        }
        markov::Path path;
        {
          py::gil_scoped_release release;
          path = markov::most_likely_path(chain, state);
        }
        std::vector<std::string> names;
        for (const auto s : path.states) names.push_back(chain.name(s));
        return py::make_tuple(names, path.probability);
      },
      "chain"_a, "target"_a);
}

}  // namespace funnelkit::bindings
