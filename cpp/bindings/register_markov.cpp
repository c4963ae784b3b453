// Bindings of funnelkit::markov: the compiled chain, the analytics and the most likely path.
#include "pybind11.hpp"

#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/paths.hpp"

namespace funnelkit::bindings {
namespace {

using markov::Chain;

py::dict analysis_to_dict(markov::Analysis&& a) {
  const auto count = a.edges.size();
  py::array_t<std::int64_t> edge(static_cast<py::ssize_t>(count));
  py::array_t<double> d_success(static_cast<py::ssize_t>(count));
  py::array_t<double> d_value(static_cast<py::ssize_t>(count));
  py::array_t<double> d_time(static_cast<py::ssize_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    const auto k = static_cast<py::ssize_t>(i);
    edge.mutable_at(k) = static_cast<std::int64_t>(a.edges[i].edge);
    d_success.mutable_at(k) = a.edges[i].d_success;
    d_value.mutable_at(k) = a.edges[i].d_value;
    d_time.mutable_at(k) = a.edges[i].d_time;
  }
  return py::dict("absorption"_a = std::move(a.absorption), "success_probability"_a = std::move(a.success_probability),
                  "expected_steps"_a = std::move(a.expected_steps), "steps_variance"_a = std::move(a.steps_variance),
                  "expected_time"_a = std::move(a.expected_time), "time_variance"_a = std::move(a.time_variance),
                  "time_to_success"_a = std::move(a.time_to_success), "value"_a = std::move(a.value),
                  "expected_visits"_a = std::move(a.expected_visits), "reach"_a = std::move(a.reach),
                  "dropped"_a = std::move(a.dropped), "removal_success"_a = std::move(a.removal_success),
                  "removal_value"_a = std::move(a.removal_value), "edge_index"_a = edge, "d_success"_a = d_success,
                  "d_value"_a = d_value, "d_time"_a = d_time, "success"_a = a.success,
                  "value_per_entrant"_a = a.value_per_entrant, "steps"_a = a.steps, "steps_sd"_a = a.steps_sd,
                  "time"_a = a.time, "time_sd"_a = a.time_sd, "time_to_success_mean"_a = a.time_to_success_mean);
}

}  // namespace

void register_markov(py::module_& m) {
  py::class_<Chain>(m, "Chain", "A validated funnel compiled into a Markov chain (internal).")
      .def(py::init([](const model::Funnel& funnel) { return Chain::compile(funnel); }), "funnel"_a)
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

  m.def(
      "analyze",
      [](const Chain& chain) {
        markov::Analysis result;
        {
          py::gil_scoped_release release;
          result = markov::analyze(chain);
        }
        return analysis_to_dict(std::move(result));
      },
      "chain"_a);

  m.def(
      "most_likely_path",
      [](const Chain& chain, const py::object& target) {
        const auto state = target.is_none() ? markov::kNoState : chain.state_index(target.cast<std::string>());
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
