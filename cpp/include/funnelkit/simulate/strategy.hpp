#pragma once
/// \file Trigger strategies as the engine runs them: behavioural triggers, scheduled campaigns
/// and the rules that hold messages back.
///
/// Everything here is plain data resolved to the chain's state indices (the Python layer
/// parses JSON, units and stage names). Times are in the funnel's time unit on the
/// simulation clock: t = 0 is midnight at the start of day 0.
///
/// Delay semantics (tested one by one in tests/cpp/test_shop_triggers.cpp):
/// * A trigger *starts* at a time t0 given by its condition; step k is *due* at t0 + delay_k.
/// * Idle(stages): t0 is the entry into one of the stages; step k is sent only if the lead has
///   made no move since, at t0 + delay_k. Dropping out (a move to the funnel's drop state, the
///   row remainder) is not a move here: it is the model's "never acts again", so a lead who
///   left its cart stays idle in it, and "the abandoned-cart reminder 20 minutes after the
///   last action" is idle("cart") with a 20-minute step, reaching both the leads still
///   deciding and those who left. A move at exactly t0 + delay_k happens first (the lead acted
///   "at" that moment: nothing is sent). An odds effect acts on leads still deciding; a lead
///   who dropped out can be brought back by a move effect. With while_present, dropping out
///   ends the stay like any move (on-site messages).
/// * Enter(stages): t0 is the entry; steps are sent wherever the lead is by then.
/// * Purchase: t0 is every entry into a purchase state (a state with a positive value).
/// * Custom: t0 = entry (into a watched state) + the delay the condition returns; each step
///   also asks holds().
/// * Population leads (already in a state at t = 0, since -time_in_state) start the triggers of
///   that state then, purchase triggers too when it is a purchase state; earlier steps are history.
/// * stop_on_purchase: steps due after a purchase made since the condition was met are not sent
///   ("only if step 1 did not convert").
/// * Odds effects of one stay compound; a lead's walk is cut after max_transitions moves,
///   message effects included (a loop of instant messages cannot run for ever).
/// * A step due inside the quiet hours [quiet_start, quiet_end) of its day is postponed to
///   quiet_end and its condition is checked again then. A step over the frequency cap is
///   dropped, not postponed. On-site messages are exempt from both. Leads in excluded states
///   get nothing.
/// * Control leads (drawn once per lead and trigger) are counted where a message would have
///   been sent, and get nothing.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/markov/chain.hpp"

namespace funnelkit::simulate {

inline constexpr double kNever = std::numeric_limits<double>::infinity();

/// What a custom condition or effect sees of a lead; valid during the call only.
struct LeadContext {
  std::int64_t lead = 0;        ///< index in the replicate: the population first, then arrivals
  std::size_t replicate = 0;
  std::size_t state = 0;        ///< chain state the lead is in
  double now = 0.0;             ///< simulation clock
  double stay_start = 0.0;      ///< when the lead entered `state`
  double arrival = 0.0;         ///< when the lead arrived (0 for the population)
  std::int64_t channel = -1;    ///< traffic channel, -1 for the initial population
  std::int64_t purchases = 0;
  double revenue = 0.0;
  double last_purchase = std::numeric_limits<double>::quiet_NaN();
  std::int64_t messages = 0;    ///< messages sent to the lead so far
  const markov::Chain* chain = nullptr;
};

/// A trigger condition written outside the engine (extension kind "trigger_condition").
class TriggerCondition {
 public:
  virtual ~TriggerCondition() = default;
  [[nodiscard]] virtual std::string type_name() const = 0;
  [[nodiscard]] virtual nlohmann::json params() const = 0;
  /// Asked on every entry into a state (lead.now == lead.stay_start): the delay after which
  /// the trigger starts, or NaN / infinity / a negative number for "not this time".
  [[nodiscard]] virtual double start(const LeadContext& lead) const = 0;
  /// Asked when a step is due: false skips it. The default keeps every step.
  [[nodiscard]] virtual bool holds(const LeadContext& /*lead*/) const { return true; }
};

/// What an opened message does (extension kind "trigger_effect"). The built-ins MoveTo and
/// OddsMultiplier are final classes the engine calls directly.
class TriggerEffect {
 public:
  virtual ~TriggerEffect() = default;
  [[nodiscard]] virtual std::string type_name() const = 0;
  [[nodiscard]] virtual nlohmann::json params() const = 0;
  /// `weights` holds the chance of each of the lead's pending transitions
  /// (chain.transitions(lead.state)) given its time in the state; empty in an absorbing state.
  /// Rewrite them to change where the lead goes next (the engine renormalises them and redraws
  /// the move and its remaining time from the delays' laws given the time already spent), or
  /// return a state to move the lead to now. `u` is a uniform draw on (0, 1) for the effect's
  /// own chance. Return markov::kNoState to stay.
  [[nodiscard]] virtual std::size_t apply(const LeadContext& lead, std::span<double> weights, double u) const = 0;
  /// Whether apply() reads or rewrites the weights (the engine computes them only then).
  [[nodiscard]] virtual bool uses_weights() const { return true; }
};

using TriggerConditionPtr = std::shared_ptr<const TriggerCondition>;
using TriggerEffectPtr = std::shared_ptr<const TriggerEffect>;

/// With probability `probability`, the lead moves to `target` now (from any state: a lead that
/// reached an end stage can be brought back, e.g. recommendations leading to a repeat order).
class MoveTo final : public TriggerEffect {
 public:
  MoveTo(std::size_t target, double probability);
  std::string type_name() const override { return "move"; }
  nlohmann::json params() const override { return {{"target", target_}, {"probability", probability_}}; }
  std::size_t apply(const LeadContext& lead, std::span<double> weights, double u) const override;
  bool uses_weights() const override { return false; }
  [[nodiscard]] std::size_t target() const noexcept { return target_; }
  [[nodiscard]] double probability() const noexcept { return probability_; }

 private:
  std::size_t target_;
  double probability_;
};

/// Multiplies the odds of the lead's next move going to one of `toward` (empty: any state
/// that is not a failure state) by `multiplier`, for the rest of this stay: with P the chance
/// of the set, P' = m P / (1 - P + m P), spread within the set and outside it in proportion.
class OddsMultiplier final : public TriggerEffect {
 public:
  OddsMultiplier(double multiplier, std::vector<std::size_t> toward);
  std::string type_name() const override { return "odds"; }
  nlohmann::json params() const override { return {{"multiplier", multiplier_}, {"toward", toward_}}; }
  std::size_t apply(const LeadContext& lead, std::span<double> weights, double u) const override;

 private:
  double multiplier_;
  std::vector<std::size_t> toward_;  // sorted
};

/// One message: how it reaches the lead and what it costs.
struct Message {
  double delay = 0.0;        ///< after the trigger's start (triggers) or 0 (campaigns)
  std::string channel = "email";
  double cost = 0.0;         ///< per message sent
  double delivery = 1.0;     ///< P(delivered)
  double open = 1.0;         ///< P(opened | delivered)
  TriggerEffectPtr effect;   ///< when opened; none: the message only costs
  double discount = 0.0;     ///< share of the order value given away on a purchase using the offer
  double offer_valid = kNever;  ///< a purchase within this long after the open uses the offer
  /// Shown on the site (a popup, a chat invitation) rather than sent: quiet hours and the
  /// frequency cap do not apply to it, and it does not count toward the cap.
  bool on_site = false;
};

enum class ConditionKind { Enter, Idle, Purchase, Custom };

struct Trigger {
  std::string name;
  ConditionKind condition = ConditionKind::Idle;
  /// States the condition watches (Enter, Idle, Custom: a custom condition is asked only on
  /// entries into them); empty means every state that is not a failure state.
  std::vector<std::size_t> states;
  TriggerConditionPtr custom;   ///< for ConditionKind::Custom
  std::vector<Message> steps;   ///< delays not decreasing
  bool stop_on_purchase = true;
  /// Idle only: steps go out only while the lead is still in the stage; dropping out ends the
  /// stay (an on-site popup reaches visitors on the page, not those who left).
  bool while_present = false;
  double control_share = 0.0;   ///< in [0, 1)
  std::int64_t max_starts = std::numeric_limits<std::int64_t>::max();  ///< per lead
};

/// A one-off or recurring send to an audience at given times.
struct Campaign {
  std::string name;
  std::vector<double> times;              ///< sorted send times
  Message message;                        ///< its delay is ignored
  std::vector<std::size_t> states;        ///< audience: leads in these states (with the others: or)
  std::vector<std::int64_t> leads;        ///< audience: these population leads (sorted)
  double score_low = kNever;              ///< audience: funnel score P(purchase) in [low, high)
  double score_high = kNever;             ///  (both kNever: no score band)
  bool everyone = false;                  ///< audience: every lead in the funnel
  double control_share = 0.0;
};

struct Strategy {
  std::vector<Trigger> triggers;
  std::vector<Campaign> campaigns;
  std::int64_t cap_messages = std::numeric_limits<std::int64_t>::max();  ///< per lead per cap_period
  double cap_period = kNever;
  double quiet_start = 0.0;  ///< time of day; quiet_start == quiet_end: no quiet hours
  double quiet_end = 0.0;
  double day_length = 24.0;  ///< a day in the funnel's time unit
  std::vector<std::size_t> excluded_states;  ///< leads here get no message (e.g. unsubscribed)
  /// A purchase within this long after a trigger's start counts as its conversion (uplift).
  double attribution_window = kNever;

  [[nodiscard]] bool empty() const noexcept { return triggers.empty() && campaigns.empty(); }
};

/// Throws FunnelError naming the trigger or campaign: states outside the chain, negative or
/// NaN delays, decreasing step delays, probabilities outside [0, 1], a control share of 1,
/// negative costs, a discount outside [0, 1], bad quiet hours or caps.
void validate(const Strategy& strategy, const markov::Chain& chain);

}  // namespace funnelkit::simulate
