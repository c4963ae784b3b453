#include "funnelkit/simulate/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::simulate {
namespace {

[[noreturn]] void fail(const std::string& subject, const std::string& message) {
  throw FunnelError(ErrorKind::Strategy, subject + ": " + message, subject);
}

void check_probability(const std::string& subject, const char* what, double p) {
  if (!(p >= 0.0 && p <= 1.0)) fail(subject, std::string(what) + " must be in [0, 1], got " + std::to_string(p));
}

void check_states(const std::string& subject, const std::vector<std::size_t>& states, const markov::Chain& chain) {
  for (const auto s : states)
    if (s >= chain.size()) fail(subject, "state " + std::to_string(s) + " is not in the funnel");
}

void check_message(const std::string& subject, const Message& message, const markov::Chain& chain) {
  if (!(message.delay >= 0.0) || std::isinf(message.delay))
    fail(subject, "the delay must be >= 0 and finite, got " + std::to_string(message.delay));
  if (!(message.cost >= 0.0) || std::isinf(message.cost))
    fail(subject, "the cost per message must be >= 0 and finite, got " + std::to_string(message.cost));
  check_probability(subject, "the delivery probability", message.delivery);
  check_probability(subject, "the open probability", message.open);
  check_probability(subject, "the discount", message.discount);
  if (!(message.offer_valid > 0.0)) fail(subject, "offer_valid must be positive, got " + std::to_string(message.offer_valid));
  if (const auto* move = dynamic_cast<const MoveTo*>(message.effect.get()))
    check_states(subject, {move->target()}, chain);
}

void check_control(const std::string& subject, double share) {
  if (!(share >= 0.0 && share < 1.0))
    fail(subject, "the control-group share must be in [0, 1) (1 would leave nobody to message), got " +
                      std::to_string(share));
}

}  // namespace

MoveTo::MoveTo(std::size_t target, double probability) : target_(target), probability_(probability) {
  if (!(probability >= 0.0 && probability <= 1.0))
    throw FunnelError(ErrorKind::Strategy, "move probability must be in [0, 1], got " + std::to_string(probability));
}

std::size_t MoveTo::apply(const LeadContext&, std::span<double>, double u) const {
  return u < probability_ ? target_ : markov::kNoState;
}

OddsMultiplier::OddsMultiplier(double multiplier, std::vector<std::size_t> toward)
    : multiplier_(multiplier), toward_(std::move(toward)) {
  if (!(multiplier >= 0.0) || std::isinf(multiplier))
    throw FunnelError(ErrorKind::Strategy, "odds multiplier must be >= 0 and finite, got " + std::to_string(multiplier));
  std::sort(toward_.begin(), toward_.end());
}

std::size_t OddsMultiplier::apply(const LeadContext& lead, std::span<double> weights, double) const {
  if (weights.empty()) return markov::kNoState;
  const auto row = lead.chain->transitions(lead.state);
  const auto favoured = [&](std::size_t j) {
    const auto to = row[j].to;
    if (toward_.empty()) return lead.chain->kind(to) != model::StageKind::Failure;
    return std::binary_search(toward_.begin(), toward_.end(), to);
  };
  double inside = 0.0;
  double total = 0.0;
  for (std::size_t j = 0; j < weights.size(); ++j) {
    total += weights[j];
    if (favoured(j)) inside += weights[j];
  }
  if (!(total > 0.0) || inside <= 0.0 || inside >= total) return markov::kNoState;  // nothing to tilt
  const double p = inside / total;
  const double tilted = multiplier_ * p / (1.0 - p + multiplier_ * p);
  const double scale_in = tilted / p;
  const double scale_out = (1.0 - tilted) / (1.0 - p);
  for (std::size_t j = 0; j < weights.size(); ++j) weights[j] *= favoured(j) ? scale_in : scale_out;
  return markov::kNoState;
}

void validate(const Strategy& strategy, const markov::Chain& chain) {
  for (const auto& trigger : strategy.triggers) {
    const std::string subject = "trigger '" + trigger.name + "'";
    if (trigger.steps.empty()) fail(subject, "has no steps (messages)");
    check_states(subject, trigger.states, chain);
    if (trigger.condition == ConditionKind::Custom && !trigger.custom) fail(subject, "a custom condition needs its object");
    check_control(subject, trigger.control_share);
    if (trigger.max_starts < 1) fail(subject, "max_starts must be at least 1");
    for (std::size_t k = 0; k < trigger.steps.size(); ++k) {
      const std::string step = subject + " step " + std::to_string(k + 1);
      check_message(step, trigger.steps[k], chain);
      if (k > 0 && trigger.steps[k].delay < trigger.steps[k - 1].delay)
        fail(step, "the delay is shorter than the previous step's: steps count from the trigger's start");
    }
  }
  for (const auto& campaign : strategy.campaigns) {
    const std::string subject = "campaign '" + campaign.name + "'";
    check_message(subject, campaign.message, chain);
    check_states(subject, campaign.states, chain);
    check_control(subject, campaign.control_share);
    // No send time is fine: a campaign whose dates all fall after the horizon sends nothing.
    for (std::size_t k = 0; k < campaign.times.size(); ++k) {
      if (!std::isfinite(campaign.times[k])) fail(subject, "a send time is not finite");
      if (k > 0 && campaign.times[k] < campaign.times[k - 1]) fail(subject, "send times must be sorted");
    }
    const bool band = campaign.score_low != kNever || campaign.score_high != kNever;
    if (band && !(campaign.score_low >= 0.0 && campaign.score_low < campaign.score_high && campaign.score_high <= 1.0 + 1e-12))
      fail(subject, "the score band must satisfy 0 <= low < high <= 1");
    if (!campaign.everyone && !band && campaign.states.empty() && campaign.leads.empty())
      fail(subject, "has an empty audience (no stage, lead, layer or score band)");
    if (!std::is_sorted(campaign.leads.begin(), campaign.leads.end())) fail(subject, "audience leads must be sorted");
  }
  if (strategy.cap_messages < 1) fail("frequency cap", "at least one message per period must be allowed");
  if (!(strategy.cap_period > 0.0)) fail("frequency cap", "the period must be positive");
  if (!(strategy.day_length > 0.0) || std::isinf(strategy.day_length)) fail("day_length", "must be positive and finite");
  for (const double hour : {strategy.quiet_start, strategy.quiet_end})
    if (!(hour >= 0.0 && hour <= strategy.day_length)) fail("quiet hours", "must lie within the day");
  check_states("excluded stages", strategy.excluded_states, chain);
  if (!(strategy.attribution_window > 0.0)) fail("attribution_window", "must be positive");
}

}  // namespace funnelkit::simulate
