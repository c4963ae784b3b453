// Bindings of funnelkit::simulate: the strategy structs the Python layer fills in, the
// trigger extension kinds (trampolines), and simulate_shop returning NumPy arrays.
#include "pybind11.hpp"

#include <memory>
#include <string>
#include <utility>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/simulate/shop.hpp"
#include "funnelkit/simulate/strategy.hpp"

namespace funnelkit::bindings {
namespace {

using namespace funnelkit::simulate;

// A Python trigger condition (kind "trigger_condition"): called with the GIL on each stage
// entry of every lead (start) and each due step (holds), so it is slow; documented.
class PyTriggerCondition : public PyExtension<TriggerCondition> {
 public:
  double start(const LeadContext& lead) const override {
    py::gil_scoped_acquire gil;
    const py::object delay = self().attr("start")(lead);
    return delay.is_none() ? kNever : delay.cast<double>();
  }
  bool holds(const LeadContext& lead) const override {
    py::gil_scoped_acquire gil;
    return self().attr("holds")(lead).cast<bool>();
  }
};

// A Python trigger effect (kind "trigger_effect"): gets the weights as a writable NumPy view
// and returns None, a stage name or a state index.
class PyTriggerEffect : public PyExtension<TriggerEffect> {
 public:
  std::size_t apply(const LeadContext& lead, std::span<double> weights, double u) const override {
    py::gil_scoped_acquire gil;
    const py::array_t<double> view(static_cast<py::ssize_t>(weights.size()), weights.data(), py::none());
    const py::object target = self().attr("apply")(lead, view, u);
    if (target.is_none()) return markov::kNoState;
    if (py::isinstance<py::str>(target)) return lead.chain->state_index(target.cast<std::string>());
    return target.cast<std::size_t>();
  }
  bool uses_weights() const override {
    py::gil_scoped_acquire gil;
    const py::object flag = py::getattr(self(), "uses_weights", py::bool_(true));
    return (PyCallable_Check(flag.ptr()) != 0 ? flag() : flag).cast<bool>();
  }
};

template <class Row, class Field>
auto field_column(const std::vector<Row>& rows, Field Row::*field) {
  using T = std::remove_cvref_t<decltype(std::declval<Row>().*field)>;
  std::vector<T> out(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) out[i] = rows[i].*field;
  return owned(std::move(out));
}

py::dict result_to_python(ShopResult&& r, const Strategy& strategy, bool keep_leads, bool keep_events) {
  const std::size_t senders = r.senders;
  py::dict out("arrivals"_a = shaped(std::move(r.arrivals), {r.replicates, r.bins, r.channels}),
               "entries"_a = shaped(std::move(r.entries), {r.replicates, r.bins, r.states}),
               "occupancy"_a = shaped(std::move(r.occupancy), {r.replicates, r.bins, r.states}),
               "series"_a = shaped(std::move(r.series), {r.replicates, r.bins, std::size_t{kSeriesCount}}),
               "senders"_a = shaped(std::move(r.senders_table), {r.replicates, senders, std::size_t{kSenderCount}}),
               "leads"_a = r.leads, "transitions"_a = r.transitions, "messages"_a = r.messages,
               "stopped"_a = r.stopped, "successes"_a = r.successes, "time_to_success"_a = r.time_to_success,
               "total_value"_a = r.total_value);
  out["series_columns"] = py::make_tuple("purchases", "buyers", "revenue", "discounts", "messages", "delivered",
                                         "opened", "message_cost");
  out["sender_columns"] =
      py::make_tuple("starts", "control_starts", "starts_converted", "control_converted", "starts_revenue",
                     "control_revenue", "sent", "delivered", "opened", "capped", "postponed", "cost", "discounts",
                     "attributed", "attributed_revenue");
  py::list names;
  for (const auto& trigger : strategy.triggers) names.append(trigger.name);
  for (const auto& campaign : strategy.campaigns) names.append(campaign.name);
  out["sender_names"] = names;
  out["leads_table"] = py::none();
  out["stage_events"] = py::none();
  out["message_events"] = py::none();
  if (keep_leads) {
    const auto& t = r.leads_table;
    out["leads_table"] = py::dict(
        "replicate"_a = field_column(t, &LeadOutcome::replicate), "lead"_a = field_column(t, &LeadOutcome::lead),
        "channel"_a = field_column(t, &LeadOutcome::channel), "arrival"_a = field_column(t, &LeadOutcome::arrival),
        "final_state"_a = field_column(t, &LeadOutcome::final_state),
        "purchases"_a = field_column(t, &LeadOutcome::purchases), "revenue"_a = field_column(t, &LeadOutcome::revenue),
        "discounts"_a = field_column(t, &LeadOutcome::discounts),
        "first_purchase"_a = field_column(t, &LeadOutcome::first_purchase),
        "messages"_a = field_column(t, &LeadOutcome::messages),
        "last_touch"_a = field_column(t, &LeadOutcome::last_touch), "control"_a = field_column(t, &LeadOutcome::control));
  }
  if (keep_events) {
    const auto& e = r.stage_events;
    out["stage_events"] = py::dict(
        "replicate"_a = field_column(e, &StageEvent::replicate), "lead"_a = field_column(e, &StageEvent::lead),
        "time"_a = field_column(e, &StageEvent::time), "state"_a = field_column(e, &StageEvent::state),
        "value"_a = field_column(e, &StageEvent::value));
    const auto& m = r.message_events;
    std::vector<std::int8_t> outcome(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) outcome[i] = static_cast<std::int8_t>(m[i].outcome);
    out["message_events"] = py::dict(
        "replicate"_a = field_column(m, &MessageEvent::replicate), "lead"_a = field_column(m, &MessageEvent::lead),
        "time"_a = field_column(m, &MessageEvent::time), "sender"_a = field_column(m, &MessageEvent::sender),
        "step"_a = field_column(m, &MessageEvent::step), "outcome"_a = owned(std::move(outcome)));
  }
  return out;
}

TriggerEffectPtr effect_of(const std::shared_ptr<TriggerEffect>& effect) { return effect; }

}  // namespace

void register_simulate(py::module_& m) {
  py::class_<LeadContext>(m, "LeadContext", "What a Python trigger condition or effect sees of a lead (read-only).")
      .def_readonly("lead", &LeadContext::lead)
      .def_readonly("replicate", &LeadContext::replicate)
      .def_readonly("state", &LeadContext::state)
      .def_property_readonly("stage", [](const LeadContext& c) { return c.chain->name(c.state); })
      .def_readonly("now", &LeadContext::now)
      .def_readonly("stay_start", &LeadContext::stay_start)
      .def_property_readonly("time_in_stage", [](const LeadContext& c) { return c.now - c.stay_start; })
      .def_readonly("arrival", &LeadContext::arrival)
      .def_readonly("channel", &LeadContext::channel)
      .def_readonly("purchases", &LeadContext::purchases)
      .def_readonly("revenue", &LeadContext::revenue)
      .def_readonly("last_purchase", &LeadContext::last_purchase)
      .def_readonly("messages", &LeadContext::messages);

  py::classh<TriggerCondition, PyTriggerCondition>(m, "TriggerCondition", "Engine base of trigger conditions.")
      .def(py::init<>())
      .def("holds", [](const TriggerCondition& c, const LeadContext& lead) { return c.TriggerCondition::holds(lead); },
           "lead"_a);
  py::classh<TriggerEffect, PyTriggerEffect>(m, "TriggerEffect", "Engine base of trigger effects.").def(py::init<>());
  py::classh<MoveTo, TriggerEffect>(m, "MoveTo", "Engine move effect (internal: use fk.MoveTo).")
      .def(py::init<std::size_t, double>(), "target"_a, "probability"_a)
      .def_property_readonly("target", &MoveTo::target)
      .def_property_readonly("probability", &MoveTo::probability)
      .def("type_name", &MoveTo::type_name)
      .def("params", [](const MoveTo& e) { return to_python(e.params()); });
  py::classh<OddsMultiplier, TriggerEffect>(m, "OddsMultiplier", "Engine odds effect (internal: use fk.OddsMultiplier).")
      .def(py::init<double, std::vector<std::size_t>>(), "multiplier"_a, "toward"_a)
      .def("type_name", &OddsMultiplier::type_name)
      .def("params", [](const OddsMultiplier& e) { return to_python(e.params()); });

  py::enum_<ConditionKind>(m, "ConditionKind")
      .value("Enter", ConditionKind::Enter)
      .value("Idle", ConditionKind::Idle)
      .value("Purchase", ConditionKind::Purchase)
      .value("Custom", ConditionKind::Custom);

  py::class_<Message>(m, "Message", "One message of a trigger or campaign (internal).")
      .def(py::init<>())
      .def_readwrite("delay", &Message::delay)
      .def_readwrite("channel", &Message::channel)
      .def_readwrite("cost", &Message::cost)
      .def_readwrite("delivery", &Message::delivery)
      .def_readwrite("open", &Message::open)
      .def_property(
          "effect", [](const Message& msg) { return std::const_pointer_cast<TriggerEffect>(msg.effect); },
          [](Message& msg, const std::shared_ptr<TriggerEffect>& effect) { msg.effect = effect_of(effect); })
      .def_readwrite("discount", &Message::discount)
      .def_readwrite("offer_valid", &Message::offer_valid)
      .def_readwrite("on_site", &Message::on_site);

  py::class_<Trigger>(m, "Trigger", "A behavioural trigger (internal).")
      .def(py::init<>())
      .def_readwrite("name", &Trigger::name)
      .def_readwrite("condition", &Trigger::condition)
      .def_readwrite("states", &Trigger::states)
      .def_property(
          "custom", [](const Trigger& t) { return std::const_pointer_cast<TriggerCondition>(t.custom); },
          [](Trigger& t, const std::shared_ptr<TriggerCondition>& custom) { t.custom = custom; })
      .def_readwrite("steps", &Trigger::steps)
      .def_readwrite("stop_on_purchase", &Trigger::stop_on_purchase)
      .def_readwrite("while_present", &Trigger::while_present)
      .def_readwrite("control_share", &Trigger::control_share)
      .def_readwrite("max_starts", &Trigger::max_starts);

  py::class_<Campaign>(m, "Campaign", "A scheduled campaign (internal).")
      .def(py::init<>())
      .def_readwrite("name", &Campaign::name)
      .def_readwrite("times", &Campaign::times)
      .def_readwrite("message", &Campaign::message)
      .def_readwrite("states", &Campaign::states)
      .def_readwrite("leads", &Campaign::leads)
      .def_readwrite("score_low", &Campaign::score_low)
      .def_readwrite("score_high", &Campaign::score_high)
      .def_readwrite("everyone", &Campaign::everyone)
      .def_readwrite("control_share", &Campaign::control_share);

  py::class_<Strategy>(m, "Strategy", "A trigger strategy resolved to the chain (internal).")
      .def(py::init<>())
      .def_readwrite("triggers", &Strategy::triggers)
      .def_readwrite("campaigns", &Strategy::campaigns)
      .def_readwrite("cap_messages", &Strategy::cap_messages)
      .def_readwrite("cap_period", &Strategy::cap_period)
      .def_readwrite("quiet_start", &Strategy::quiet_start)
      .def_readwrite("quiet_end", &Strategy::quiet_end)
      .def_readwrite("day_length", &Strategy::day_length)
      .def_readwrite("excluded_states", &Strategy::excluded_states)
      .def_readwrite("attribution_window", &Strategy::attribution_window);

  m.def(
      "validate_strategy", [](const Strategy& strategy, const markov::Chain& chain) { validate(strategy, chain); },
      "strategy"_a, "chain"_a);

  m.def(
      "simulate_shop",
      [](const std::shared_ptr<markov::Chain>& chain, const Strategy& strategy,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& expected, double day_length,
         bool exact_counts, const Column<std::int64_t>& population_states, const Column<double>& population_times,
         double horizon, double bin_width, std::uint64_t seed, std::size_t replicates, std::size_t max_transitions,
         const std::shared_ptr<model::Distribution>& order_value, bool keep_leads, bool keep_events,
         const std::shared_ptr<scoring::FunnelScore>& score, std::size_t threads, const py::object& progress) {
        if (expected.ndim() != 2) throw std::invalid_argument("expected traffic must be a days x channels array");
        Traffic traffic;
        traffic.days = static_cast<std::size_t>(expected.shape(0));
        traffic.channels = static_cast<std::size_t>(expected.shape(1));
        traffic.expected.assign(expected.data(), expected.data() + expected.size());
        traffic.day_length = day_length;
        traffic.exact_counts = exact_counts;
        Population population;
        for (const auto s : column(population_states, "population_states")) {
          if (s < 0) throw FunnelError(ErrorKind::Strategy, "population: a stage code is negative", "population");
          population.states.push_back(static_cast<std::size_t>(s));
        }
        const auto times = column(population_times, "population_times");
        population.time_in_state.assign(times.begin(), times.end());
        ShopOptions options;
        options.horizon = horizon;
        options.bin_width = bin_width;
        options.seed = seed;
        options.replicates = replicates;
        options.max_transitions = max_transitions;
        options.order_value = order_value;
        options.keep_leads = keep_leads;
        options.keep_events = keep_events;
        const auto report = python_progress(progress);
        auto result = run_cancellable([&] {
          return simulate_shop(chain, strategy, traffic, population, options, score, threads, report);
        });
        return result_to_python(std::move(result), strategy, keep_leads, keep_events);
      },
      "chain"_a, "strategy"_a, "expected_traffic"_a, "day_length"_a, "exact_counts"_a, "population_states"_a,
      "population_times"_a, "horizon"_a, "bin_width"_a, "seed"_a, "replicates"_a, "max_transitions"_a,
      "order_value"_a, "keep_leads"_a, "keep_events"_a, "score"_a, "threads"_a, "progress"_a);
}

}  // namespace funnelkit::bindings
