// Bindings of funnelkit::model: distributions (with the Python extension trampoline), the
// funnel and its JSON document. Defaults and documentation live in the Python layer.
#include "pybind11.hpp"

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/model/distribution.hpp"
#include "funnelkit/model/funnel.hpp"
#include "funnelkit/model/json_io.hpp"

namespace funnelkit::bindings {
namespace {

using model::Distribution;
using model::DistributionPtr;

// Lets a Python subclass of funnelkit.Distribution stand wherever a built-in goes. Every call
// from the engine takes the GIL (pybind11's override machinery does it), which is the speed
// cost documented for Python extensions.
class PyDistribution : public Distribution, public py::trampoline_self_life_support {
 public:
  using Distribution::Distribution;
  std::string type_name() const override {
    // Registration gives the class its name; an unregistered class still describes itself
    // (for repr and comparisons), but funnelkit refuses to save it.
    py::gil_scoped_acquire gil;
    if (const py::function override = py::get_override(static_cast<const Distribution*>(this), "type_name"))
      return override().cast<std::string>();
    return "unregistered:" + py::type::of(py::cast(this)).attr("__qualname__").cast<std::string>();
  }
  nlohmann::json params() const override {
    py::gil_scoped_acquire gil;
    const py::function override = py::get_override(static_cast<const Distribution*>(this), "params");
    if (!override) return nlohmann::json::object();
    return to_json_value(override());
  }
  double cdf(double t) const override { PYBIND11_OVERRIDE_PURE(double, Distribution, cdf, t); }
  double survival(double t) const override { PYBIND11_OVERRIDE(double, Distribution, survival, t); }
  double pdf(double t) const override { PYBIND11_OVERRIDE_PURE(double, Distribution, pdf, t); }
  double quantile(double p) const override { PYBIND11_OVERRIDE_PURE(double, Distribution, quantile, p); }
  double inverse_survival(double q) const override { PYBIND11_OVERRIDE(double, Distribution, inverse_survival, q); }
  double mean() const override { PYBIND11_OVERRIDE(double, Distribution, mean, ); }
  double second_moment() const override { PYBIND11_OVERRIDE(double, Distribution, second_moment, ); }
};

DistributionPtr to_const(const std::shared_ptr<Distribution>& d) { return d; }
py::object as_python(const DistributionPtr& d) {
  if (!d) return py::none();
  return py::cast(std::const_pointer_cast<Distribution>(d));
}

py::array_t<double> sample(const Distribution& d, std::size_t size, std::uint64_t seed) {
  py::array_t<double> out(static_cast<py::ssize_t>(size));
  auto* result = out.mutable_data();
  Rng rng(seed);
  run_interruptibly(size, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) result[i] = d.sample(rng);
  });
  return out;
}

// One Python resolver, resolve(kind, type, params), serves every extension kind: each kind's
// factory asks it and casts the result to the kind's engine interface.
template <class Interface>
void add_python_factory(model::ExtensionFactories& factories, const py::object& resolve) {
  factories.set<Interface>(
      [resolve](const std::string& type, const nlohmann::json& params) -> std::shared_ptr<const Interface> {
        py::gil_scoped_acquire gil;
        const py::object result = resolve(std::string(model::ExtensionKind<Interface>::name), type, to_python(params));
        if (result.is_none()) return nullptr;
        return result.cast<std::shared_ptr<Interface>>();
      });
}

model::ExtensionFactories factories_from(const py::object& resolve) {
  model::ExtensionFactories factories;
  if (resolve.is_none()) return factories;
  add_python_factory<Distribution>(factories, resolve);  // a new kind adds one line here
  return factories;
}

// Metadata crosses as a dict (or None); none at all, the common case, skips the json module.
nlohmann::json metadata_from(const py::handle& value) {
  if (value.is_none() || (py::isinstance<py::dict>(value) && py::len(value) == 0)) return {};
  return to_json_value(value);
}

py::object metadata_to_python(const nlohmann::json& value) { return value.is_null() ? py::dict() : to_python(value); }

py::dict stage_to_dict(const model::Stage& stage) {
  return py::dict("name"_a = stage.name, "kind"_a = std::string(model::to_string(stage.kind)), "value"_a = stage.value,
                  "holding"_a = as_python(stage.holding), "metadata"_a = metadata_to_python(stage.metadata));
}

py::dict edge_to_dict(const model::Edge& edge) {
  return py::dict("source"_a = edge.from, "target"_a = edge.to, "probability"_a = edge.probability,
                  "delay"_a = as_python(edge.delay), "metadata"_a = metadata_to_python(edge.metadata));
}

void add_stages(model::Funnel& f, const std::vector<std::string>& names, const std::vector<std::string>& kinds,
                const py::array_t<double, py::array::c_style | py::array::forcecast>& values) {
  const auto value_column = column(values, "values");
  if (kinds.size() != names.size() || value_column.size() != names.size())
    throw std::invalid_argument("names, kinds and values need one entry per stage");
  py::gil_scoped_release release;
  std::vector<model::Stage> stages(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    stages[i].name = names[i];
    stages[i].kind = model::stage_kind_from_string(kinds[i]);
    stages[i].value = value_column[i];
  }
  f.add_stages(std::move(stages));
}

using Codes = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Numbers = py::array_t<double, py::array::c_style | py::array::forcecast>;

void add_edges(model::Funnel& f, const Codes& sources, const Codes& targets, const Numbers& probabilities) {
  const auto source_column = column(sources, "sources");
  const auto target_column = column(targets, "targets");
  const auto probability_column = column(probabilities, "probabilities");
  if (target_column.size() != source_column.size() || probability_column.size() != source_column.size())
    throw std::invalid_argument("sources, targets and probabilities must have the same length");
  py::gil_scoped_release release;
  f.add_edges(source_column, target_column, probability_column);
}

// (owner, distribution) for each holding time and delay: what saving checks, without building
// a dict per stage and edge.
py::list distributions(const model::Funnel& f) {
  py::list out;
  for (const auto& stage : f.stages())
    if (stage.holding) out.append(py::make_tuple("stage '" + stage.name + "'", as_python(stage.holding)));
  for (const auto& edge : f.edges())
    if (edge.delay) out.append(py::make_tuple("edge " + model::edge_label(edge.from, edge.to), as_python(edge.delay)));
  return out;
}

}  // namespace

void register_model(py::module_& m) {
  py::classh<Distribution, PyDistribution>(m, "Distribution", R"doc(Base of every holding-time or delay distribution.

Subclass it in Python and implement ``cdf``, ``pdf``, ``quantile`` and ``params`` (plus
``mean`` and ``second_moment`` when known; otherwise they are integrated numerically from the
quantile function); register the class with ``funnelkit.register_distribution(name)`` to save
funnels that use it. ``cdf``, ``survival``, ``pdf`` and ``quantile`` of the built-ins accept
numbers or arrays; ``sample(size, seed)`` draws reproducibly.)doc")
      .def(py::init<>())
      .def("type_name", &Distribution::type_name)
      .def("params", [](const Distribution& d) { return to_python(d.params()); })
      // Scalars in, scalars out; arrays in, arrays of the same shape out.
      .def("cdf", py::vectorize(&Distribution::cdf), "t"_a)
      .def("survival", py::vectorize(&Distribution::survival), "t"_a)
      .def("pdf", py::vectorize(&Distribution::pdf), "t"_a)
      .def("quantile", py::vectorize(&Distribution::quantile), "p"_a)
      .def("inverse_survival", py::vectorize(&Distribution::inverse_survival), "q"_a)
      .def("mean", &Distribution::mean)
      .def("second_moment", &Distribution::second_moment)
      .def("variance", &Distribution::variance)
      .def("sample", &sample, "size"_a, "seed"_a)
      .def("to_json", [](const Distribution& d) { return model::distribution_to_json(d).dump(); })
      .def("__repr__",
           [](const Distribution& d) {
             std::string text = d.type_name() + "(";
             bool first = true;
             const auto params = d.params();
             for (const auto& [key, value] : params.items()) {
               text += (first ? "" : ", ") + key + "=" + value.dump();
               first = false;
             }
             return text + ")";
           })
      .def("__eq__",
           [](const Distribution& a, const py::object& other) {
             if (!py::isinstance<Distribution>(other)) return false;
             const auto& b = other.cast<const Distribution&>();
             return a.type_name() == b.type_name() && a.params() == b.params();
           })
      .def("__hash__", [](const Distribution& d) { return py::hash(py::str(model::distribution_to_json(d).dump())); })
      .def("__reduce__", [](const Distribution& d) {
        const auto rebuild = py::module_::import("funnelkit.distributions").attr("from_json");
        return py::make_tuple(rebuild, py::make_tuple(model::distribution_to_json(d).dump()));
      });

  py::classh<model::Exponential, Distribution>(m, "Exponential", R"doc(Exponential(rate=None, mean=None): memoryless waiting time; give the rate or the mean.

>>> Exponential(mean=24.0).rate
0.041666666666666664)doc")
      .def(py::init([](const py::object& rate, const py::object& mean) {
             // Analysts think in mean times, rates come from fitted models: accept either.
             nlohmann::json params = nlohmann::json::object();
             if (!rate.is_none()) params["rate"] = rate.cast<double>();
             if (!mean.is_none()) params["mean"] = mean.cast<double>();
             const auto d = model::make_builtin_distribution("exponential", params);
             return model::Exponential(*std::static_pointer_cast<const model::Exponential>(d));
           }),
           "rate"_a = py::none(), "mean"_a = py::none())
      .def_property_readonly("rate", &model::Exponential::rate);
  py::classh<model::LogNormal, Distribution>(m, "LogNormal", R"doc(LogNormal(mu, sigma): log T ~ Normal(mu, sigma); the median is exp(mu).

See also ``funnelkit.lognormal_from_median``.)doc").def(py::init<double, double>(), "mu"_a, "sigma"_a);
  py::classh<model::Weibull, Distribution>(m, "Weibull", R"doc(Weibull(shape, scale): S(t) = exp(-(t/scale)^shape); shape < 1 means the longer a lead
waits, the less likely it moves (typical of cooling interest).)doc").def(py::init<double, double>(), "shape"_a, "scale"_a);
  py::classh<model::Gamma, Distribution>(m, "Gamma", R"doc(Gamma(shape, scale): mean shape*scale; a whole shape gives an Erlang (a chain of steps).)doc").def(py::init<double, double>(), "shape"_a, "scale"_a);
  py::classh<model::Fixed, Distribution>(m, "Fixed", R"doc(Fixed(value): a deterministic delay, e.g. a reminder sent exactly 20 minutes later.

>>> Fixed(20 / 60).mean()
0.3333333333333333)doc").def(py::init<double>(), "value"_a);
  py::classh<model::Empirical, Distribution>(m, "Empirical", R"doc(Empirical(p, t): a quantile table, linear between knots; p runs from 0 to 1.

>>> Empirical(p=[0.0, 0.5, 1.0], t=[0.0, 2.0, 10.0]).quantile(0.75)
6.0)doc")
      .def(py::init<std::vector<double>, std::vector<double>>(), "p"_a, "t"_a);
  py::classh<model::Truncated, Distribution>(m, "Truncated", R"doc(Truncated(base, upper): ``base`` conditioned on T <= upper.

A delay estimated from durations seen within a window W is the fitted law truncated at W;
``fit_funnel`` wraps its exponential and log-normal delays this way.

>>> d = Truncated(Exponential(mean=24.0), 72.0)
>>> round(float(d.cdf(72.0)), 6), round(float(d.survival(24.0)), 4)
(1.0, 0.3348))doc")
      .def(py::init([](const std::shared_ptr<Distribution>& base, double upper) {
             return model::Truncated(to_const(base), upper);
           }),
           "base"_a, "upper"_a)
      .def_property_readonly("base", [](const model::Truncated& d) { return as_python(d.base()); })
      .def_property_readonly("upper", &model::Truncated::upper);

  m.def(
      "distribution_from_json",
      [](const std::string& text, const py::object& resolve) {
        nlohmann::json value;
        try {
          value = nlohmann::json::parse(text);
        } catch (const nlohmann::json::parse_error& e) {
          throw FunnelError(ErrorKind::Format, std::string("malformed JSON: ") + e.what());
        }
        return as_python(model::distribution_from_json(value, factories_from(resolve)));
      },
      "text"_a, "resolve"_a);

  py::class_<model::Funnel>(m, "Funnel", "The engine's funnel model (internal: use funnelkit.Funnel).")
      .def(py::init<>())
      .def_readwrite("name", &model::Funnel::name)
      .def_readwrite("time_unit", &model::Funnel::time_unit)
      .def_readwrite("drop_stage", &model::Funnel::drop_stage)
      .def_readwrite("discount", &model::Funnel::discount)
      .def_property(
          "remainder", [](const model::Funnel& f) { return std::string(model::to_string(f.remainder)); },
          [](model::Funnel& f, const std::string& rule) { f.remainder = model::remainder_rule_from_string(rule); })
      .def_property(
          "metadata", [](const model::Funnel& f) { return to_python(f.metadata); },
          [](model::Funnel& f, const py::object& value) {
            auto json = to_json_value(value);
            if (!json.is_object()) throw FunnelError(ErrorKind::Format, "funnel metadata must be a dict");
            f.metadata = std::move(json);
          })
      .def(
          "add_stage",
          [](model::Funnel& f, const std::string& name, const std::string& kind, double value,
             const std::shared_ptr<Distribution>& holding, const py::object& metadata) {
            f.add_stage({name, model::stage_kind_from_string(kind), value, to_const(holding), metadata_from(metadata)});
          },
          "name"_a, "kind"_a, "value"_a, "holding"_a, "metadata"_a)
      .def("add_stages", &add_stages, "names"_a, "kinds"_a, "values"_a)
      .def(
          "add_edge",
          [](model::Funnel& f, const std::string& source, const std::string& target, double probability,
             const std::shared_ptr<Distribution>& delay, const py::object& metadata) {
            f.add_edge({source, target, probability, to_const(delay), metadata_from(metadata)});
          },
          "source"_a, "target"_a, "probability"_a, "delay"_a, "metadata"_a)
      .def("add_edges", &add_edges, "sources"_a, "targets"_a, "probabilities"_a)
      .def("set_entry", &model::Funnel::set_entry, "weights"_a)
      .def_property_readonly("entry", &model::Funnel::entry)
      .def("set_probability", &model::Funnel::set_probability, "source"_a, "target"_a, "probability"_a)
      .def("set_value", &model::Funnel::set_value, "stage"_a, "value"_a)
      .def("__len__", [](const model::Funnel& f) { return f.stages().size(); })
      .def("edge_count", [](const model::Funnel& f) { return f.edges().size(); })
      .def("has_stage", [](const model::Funnel& f, std::string_view name) { return f.find_stage(name).has_value(); },
           "name"_a)
      .def("stage_names",
           [](const model::Funnel& f) {
             py::list out(f.stages().size());
             for (std::size_t i = 0; i < f.stages().size(); ++i) out[i] = py::str(f.stages()[i].name);
             return out;
           })
      .def("distributions", &distributions)
      .def("stages", [](const model::Funnel& f) {
        py::list out;
        for (const auto& s : f.stages()) out.append(stage_to_dict(s));
        return out;
      })
      .def("edges", [](const model::Funnel& f) {
        py::list out;
        for (const auto& e : f.edges()) out.append(edge_to_dict(e));
        return out;
      })
      .def("edge_list",
           [](const model::Funnel& f) {
             // (source, target, probability) only: what reports need, without metadata.
             std::vector<std::tuple<std::string, std::string, double>> out;
             out.reserve(f.edges().size());
             for (const auto& e : f.edges()) out.emplace_back(e.from, e.to, e.probability);
             return out;
           })
      .def("validate", [](const model::Funnel& f) { model::validate(f); })
      .def("to_json", &model::funnel_to_json, "indent"_a)
      .def_static(
          "from_json",
          [](const std::string& text, const py::object& resolve) {
            return model::funnel_from_json(text, factories_from(resolve));
          },
          "text"_a, "resolve"_a)
      .def("copy", [](const model::Funnel& f) { return model::Funnel(f); });
}

}  // namespace funnelkit::bindings
