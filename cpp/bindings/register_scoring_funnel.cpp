// Bindings of the funnel-model score (funnelkit::scoring::FunnelScore) and of the next-step
// law it mixes over (funnelkit::markov::NextStep). Defaults and documentation live in
// python/funnelkit/scoring/funnel_scorer.py.
#include "pybind11.hpp"

#include <cstdint>
#include <memory>
#include <vector>

#include "funnelkit/core/random.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnelkit/markov/next_step.hpp"
#include "funnelkit/scoring/funnel_score.hpp"

namespace funnelkit::bindings {
namespace {

using markov::Chain;
using markov::NextStep;
using scoring::FunnelScore;

std::size_t checked_state(const Chain& chain, std::int64_t state) {
  if (state < 0 || static_cast<std::size_t>(state) >= chain.size())
    throw py::index_error("state " + std::to_string(state) + " out of range (the funnel has " +
                          std::to_string(chain.size()) + " states)");
  return static_cast<std::size_t>(state);
}

// `size` independent draws of (next state, remaining time) after t in `state`, one stream.
py::tuple sample_after(const NextStep& next, std::int64_t state, double t, std::size_t size, std::uint64_t seed) {
  const auto s = checked_state(next.chain(), state);
  (void)next.weights(s, t);  // argument errors before any work
  std::vector<std::int64_t> targets(size);
  std::vector<double> remaining(size);
  Rng rng(seed);
  run_interruptibly(size, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const auto [to, dt] = next.sample(s, t, rng);
      targets[i] = static_cast<std::int64_t>(to);
      remaining[i] = dt;
    }
  });
  return py::make_tuple(owned(std::move(targets)), owned(std::move(remaining)));
}

py::tuple evaluate(const FunnelScore& score, const Column<std::int64_t>& states, const Column<double>& times) {
  const auto state_column = column(states, "states");
  const auto time_column = column(times, "times");
  std::vector<double> purchase(state_column.size());
  std::vector<double> revenue(state_column.size());
  const py::object no_bar = py::none();
  run_cancellable([&] { score.evaluate(state_column, time_column, purchase, revenue, python_progress(no_bar)); });
  return py::make_tuple(owned(std::move(purchase)), owned(std::move(revenue)));
}

}  // namespace

void register_scoring_funnel(py::module_& m) {
  py::class_<NextStep, std::shared_ptr<NextStep>>(
      m, "NextStep", "The next-step law of a chain's states given the time already spent there (internal).")
      .def(py::init([](std::shared_ptr<const Chain> chain, std::size_t threads) {
             return run_cancellable([&] { return std::make_shared<NextStep>(std::move(chain), threads); });
           }),
           "chain"_a, "threads"_a)
      .def(
          "weights",
          [](const NextStep& next, std::int64_t state, double t) {
            const auto s = checked_state(next.chain(), state);
            return to_array(next.weights(s, t));
          },
          "state"_a, "t"_a)
      .def(
          "terminal_weights",
          [](const NextStep& next, std::int64_t state) {
            const auto w = next.terminal_weights(checked_state(next.chain(), state));
            return to_array(std::vector<double>(w.begin(), w.end()));
          },
          "state"_a)
      .def(
          "last_time",
          [](const NextStep& next, std::int64_t state) { return next.last_time(checked_state(next.chain(), state)); },
          "state"_a)
      .def(
          "targets",
          [](const NextStep& next, std::int64_t state) {
            std::vector<std::int64_t> out;
            for (const auto& tr : next.chain().transitions(checked_state(next.chain(), state)))
              out.push_back(static_cast<std::int64_t>(tr.to));
            return to_array(out);
          },
          "state"_a)
      .def(
          "survivals",
          [](const NextStep& next, std::int64_t state, double t) {
            std::vector<double> out;
            for (const auto& tr : next.chain().transitions(checked_state(next.chain(), state)))
              out.push_back(markov::transition_survival(tr, t));
            return to_array(out);
          },
          "state"_a, "t"_a)
      .def("sample", &sample_after, "state"_a, "t"_a, "size"_a, "seed"_a);

  py::class_<FunnelScore, std::shared_ptr<FunnelScore>>(m, "FunnelScore",
                                                        "The funnel-model lead score (internal: use FunnelScorer).")
      .def(py::init([](std::shared_ptr<const Chain> chain, std::shared_ptr<markov::Analysis> analysis,
                       const py::object& params, std::size_t threads) {
             auto json = to_json_value(params);
             return run_cancellable([&] {
               return std::make_shared<FunnelScore>(std::move(chain), std::move(analysis), std::move(json), threads);
             });
           }),
           "chain"_a, "analysis"_a, "params"_a, "threads"_a)
      .def("evaluate", &evaluate, "states"_a, "times"_a)
      .def(
          "contributions",
          [](const FunnelScore& score, const Column<double>& states, const Column<double>& times) {
            scoring::FeatureMatrix features;
            features.columns = {column(states, "states"), column(times, "times")};
            features.rows = features.columns[0].size();
            if (features.columns[1].size() != features.rows)
              throw std::invalid_argument("states and times need one entry per lead");
            py::array_t<double> out({static_cast<py::ssize_t>(features.rows), py::ssize_t{2}});
            std::span<double> view(out.mutable_data(), 2 * features.rows);
            run_cancellable([&] { score.contributions(features, view); });
            return out;
          },
          "states"_a, "times"_a)
      .def_property_readonly("success", [](const FunnelScore& s) { return to_array(s.success()); })
      .def_property_readonly("entering_value", [](const FunnelScore& s) { return to_array(s.entering_value()); })
      .def_property_readonly("fresh_arrival",
                             [](const FunnelScore& s) {
                               const auto f = s.fresh_arrival();
                               return py::make_tuple(f.purchase, f.revenue);
                             })
      .def_property_readonly("feature_names", &FunnelScore::feature_names)
      .def("params", [](const FunnelScore& s) { return to_python(s.params()); });
}

}  // namespace funnelkit::bindings
