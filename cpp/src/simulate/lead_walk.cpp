#include "lead_walk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <typeinfo>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::simulate {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint64_t kOrderDomain = 0x6f72646572735f32ULL;
constexpr std::uint64_t kControlDomain = 0x636f6e74726f6c33ULL;

// A uniform on (0, 1) from 64 random bits, as Rng::uniform01.
double uniform(std::uint64_t bits) noexcept { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// FNV-1a: a sender's streams follow its name, so adding or removing another trigger does not
// change this one's draws (common random numbers across strategies).
std::uint64_t name_key(std::string_view kind, std::string_view name) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : kind) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  hash = (hash ^ 0xffU) * 0x100000001b3ULL;
  for (const char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return mix(hash);
}

struct Pending {
  double due;
  double start;
  std::uint64_t stay;
  std::uint32_t trigger;
  std::uint32_t step;
  std::int64_t purchases;  // the lead's purchases when the trigger started
  bool counted;    // the start was counted (its first step came due with the condition holding)
  bool postponed;  // already moved out of quiet hours once
};

struct Window {
  double start;
  double end;
  std::uint32_t sender;
  bool control;
  bool converted;
};

struct Offer {
  double end;
  double share;
  std::uint32_t sender;
};

class LeadWalker {
 public:
  LeadWalker(const WalkSetup& setup, std::size_t replicate, BlockTotals& totals)
      : s_(setup),
        chain_(setup.chain),
        totals_(totals),
        replicate_(replicate),
        seed_(replicate_seed(setup.options.seed, replicate)),
        states_(setup.chain.size()),
        triggers_(setup.strategy.triggers.size()),
        starts_(triggers_, 0),
        responses_(setup.senders(), 0),
        control_(setup.senders(), 0) {}

  void walk(std::int64_t lead, std::span<const std::int64_t> cell_offsets) {
    reset(lead);
    const std::size_t population = s_.population.states.size();
    if (static_cast<std::size_t>(lead) < population) {
      place_population(static_cast<std::size_t>(lead));
    } else if (!arrive(cell_offsets)) {
      return;
    }
    ++totals_.leads;
    run();
    finish();
  }

 private:
  // ---- set-up of one lead ----
  void reset(std::int64_t lead) {
    lead_ = lead;
    journey_ = Rng(seed_, static_cast<std::uint64_t>(lead));
    order_ready_ = false;
    std::fill(starts_.begin(), starts_.end(), 0);
    std::fill(responses_.begin(), responses_.end(), 0);
    lead_key_ = mix(seed_ ^ mix(static_cast<std::uint64_t>(lead)));
    if (s_.any_control)
      for (std::size_t k = 0; k < control_.size(); ++k) control_[k] = draw_control(k);
    pending_.clear();
    windows_.clear();
    offers_.clear();
    send_times_.clear();
    has_state_ = false;
    stopped_ = false;
    tilt_stay_ = 0;
    next_time_ = kNever;
    stay_ = 0;
    moves_ = 0;
    purchases_ = 0;
    messages_ = 0;
    revenue_ = 0.0;
    discounts_ = 0.0;
    first_purchase_ = kNaN;
    last_purchase_ = kNaN;
    last_opened_ = -1;
    last_touch_ = -1;
    succeeded_ = false;
    channel_ = -1;
    arrival_ = 0.0;
    next_campaign_ = 0;
  }

  std::uint8_t draw_control(std::size_t sender) const {
    const double share = s_.control_share[sender];
    if (share <= 0.0) return 0;
    const std::uint64_t bits = mix(seed_ ^ kControlDomain ^ s_.sender_keys[sender] ^ mix(static_cast<std::uint64_t>(lead_)));
    return uniform(bits) < share ? 1 : 0;
  }

  void place_population(std::size_t index) {
    const std::size_t state = s_.population.states[index];
    const double spent = s_.population.time_in_state[index];
    arrival_ = 0.0;
    enter(state, -spent, false);
    if (!s_.info[state].absorbing) {  // the pending move, given the time already spent
      const auto [next, remaining] = s_.next_step.sample(state, spent, journey_);
      next_state_ = next;
      next_time_ = remaining;
    }
    next_campaign_ = first_send(0.0);
  }

  bool arrive(std::span<const std::int64_t> cell_offsets) {
    // Leads of a block are consecutive: the (day, channel) cursor only moves forward.
    const std::size_t channels = s_.traffic.channels;
    while (cell_offsets[cell_ + 1] <= lead_) {
      ++cell_;
      if (++cell_channel_ == channels) {
        cell_channel_ = 0;
        ++cell_day_;
      }
    }
    const double within = s_.traffic.exact_counts ? 0.0 : journey_.uniform01();
    arrival_ = (static_cast<double>(cell_day_) + within) * s_.traffic.day_length;
    if (!(arrival_ < s_.options.horizon)) return false;
    channel_ = static_cast<std::int32_t>(cell_channel_);
    ++totals_.arrivals[bin(arrival_) * channels + cell_channel_];
    std::size_t state = s_.single_entry;
    if (state == markov::kNoState) {
      const double u = journey_.uniform01() * s_.entry_cumulative.back();
      const auto entry = std::upper_bound(s_.entry_cumulative.begin(), s_.entry_cumulative.end(), u);
      state = std::min<std::size_t>(static_cast<std::size_t>(entry - s_.entry_cumulative.begin()), states_ - 1);
    }
    next_campaign_ = first_send(arrival_);
    enter(state, arrival_, true);
    return true;
  }

  std::size_t first_send(double from) const {
    const auto it = std::lower_bound(s_.sends.begin(), s_.sends.end(), from,
                                     [](const WalkSetup::Send& send, double t) { return send.time < t; });
    return static_cast<std::size_t>(it - s_.sends.begin());
  }

  // ---- the event loop ----
  void run() {
    const double horizon = s_.options.horizon;
    for (;;) {
      if (stopped_) return;
      if (pending_.empty() && next_campaign_ == s_.sends.size()) {  // only moves are left: the fast path
        if (!(next_time_ < horizon) || !take_move()) return;  // absorbed: next_time_ is kNever
        continue;
      }
      const double t_move = next_time_;
      std::size_t due = pending_.size();
      double t_message = kNever;
      for (std::size_t i = 0; i < pending_.size(); ++i)
        if (pending_[i].due < t_message) {
          t_message = pending_[i].due;
          due = i;
        }
      const double t_campaign = next_campaign_ < s_.sends.size() ? s_.sends[next_campaign_].time : kNever;
      const double t = std::min({t_move, t_message, t_campaign});
      if (!(t < horizon)) return;
      if (t_move <= t_message && t_move <= t_campaign) {  // a move at the same time as a message goes first
        if (!take_move()) return;
      } else if (t_message <= t_campaign) {
        const Pending step = pending_[due];
        pending_[due] = pending_.back();
        pending_.pop_back();
        trigger_step(step);
      } else {
        campaign_send(s_.sends[next_campaign_++]);
      }
    }
  }

  // The pending move happens; false when the lead has used up its transitions.
  bool take_move() {
    if (!count_move()) return false;
    enter(next_state_, next_time_, true);
    return true;
  }

  // One more move, unless the lead has used up max_transitions: then its walk is cut (a guard
  // against loops, e.g. an instant message effect that sets its own trigger off again).
  bool count_move() {
    if (stopped_) return false;
    if (moves_ >= s_.options.max_transitions) {
      stopped_ = true;
      ++totals_.stopped;
      return false;
    }
    ++moves_;
    ++totals_.transitions;
    return true;
  }

  void enter(std::size_t state, double t, bool counted) {
    const std::size_t b = bin(t);
    if (has_state_) --totals_.occupancy_diff[b * states_ + state_];
    // Dropping out is the model's "no further action", not an action: the stay it ends goes on
    // for idle triggers, which is how an abandoned cart gets its reminder after the lead left.
    if (!(has_state_ && state == s_.drop_state)) ++stay_;
    has_state_ = true;
    state_ = state;
    stay_start_ = t;
    ++totals_.occupancy_diff[b * states_ + state];
    if (counted) ++totals_.entries[b * states_ + state];
    const WalkSetup::StateInfo& info = s_.info[state];
    double order = kNaN;
    if (counted) {  // a population lead's stage was reached before the simulation
      totals_.total_value += info.value;
      if (info.purchase) order = purchase(t);
    }
    if (s_.options.keep_events)
      totals_.stage_events.push_back({static_cast<std::uint32_t>(replicate_), lead_, t, static_cast<std::int32_t>(state), order});
    if (info.absorbing) {
      next_time_ = kNever;
      if (!succeeded_ && info.success && counted) {
        succeeded_ = true;
        ++totals_.successes;
        totals_.time_to_success += t - arrival_;
      }
    } else if (counted) {  // a population lead's pending move is drawn by its caller
      const auto [next, delay] = chain_.sample_step(state, journey_);
      next_state_ = next;
      next_time_ = t + delay;
    }
    if (!s_.has_triggers) return;  // nothing below to do: the common case of no strategy
    // Idle steps of the stay just left can never be sent.
    std::erase_if(pending_, [&](const Pending& p) {
      return p.stay != stay_ && s_.strategy.triggers[p.trigger].condition == ConditionKind::Idle;
    });
    // A population lead's stay started before t = 0: its triggers start then too (steps due
    // before 0 are history), purchase triggers included when its stage is a purchase.
    for (auto w = info.watch_begin; w < info.watch_end; ++w) {
      const auto k = s_.watch_list[w];
      const Trigger& trigger = s_.strategy.triggers[k];
      if (trigger.condition != ConditionKind::Custom) {
        start_trigger(k, t);
        continue;
      }
      const double delay = trigger.custom->start(context(t));
      if (delay >= 0.0 && std::isfinite(delay)) start_trigger(k, t + delay);
    }
    if (info.purchase)
      for (const auto k : s_.purchase_triggers) start_trigger(k, t);
  }

  double purchase(double t) {
    const double factor = s_.options.order_value ? s_.options.order_value->sample(order_rng()) : 1.0;
    const double value = chain_.value(state_) * factor;
    const std::size_t b = bin(t);
    double* series = &totals_.series[b * kSeriesCount];
    ++purchases_;
    revenue_ += value;
    series[kPurchases] += 1.0;
    series[kRevenue] += value;
    if (std::isnan(first_purchase_)) {
      first_purchase_ = t;
      series[kBuyers] += 1.0;
      last_touch_ = last_opened_;
      if (last_opened_ >= 0) {
        sender(static_cast<std::size_t>(last_opened_))[kAttributed] += 1.0;
        sender(static_cast<std::size_t>(last_opened_))[kAttributedRevenue] += value;
      }
    }
    last_purchase_ = t;
    use_offer(t, value, series);
    for (auto& window : windows_) {
      // A window opens as its message goes out: an order the message itself causes counts.
      if (!(t >= window.start && t <= window.end)) continue;
      double* row = sender(window.sender);
      row[window.control ? kControlRevenue : kStartsRevenue] += value;
      if (!window.converted) {
        window.converted = true;
        row[window.control ? kControlConverted : kStartsConverted] += 1.0;
      }
    }
    std::erase_if(windows_, [t](const Window& w) { return w.end < t; });
    // Every step pending now belongs to a start before this purchase.
    std::erase_if(pending_, [&](const Pending& p) { return s_.strategy.triggers[p.trigger].stop_on_purchase; });
    return value;
  }

  // The most generous offer still valid is used up by the order.
  void use_offer(double t, double value, double* series) {
    std::erase_if(offers_, [t](const Offer& offer) { return offer.end < t; });
    if (offers_.empty()) return;
    const auto best = std::max_element(offers_.begin(), offers_.end(),
                                       [](const Offer& a, const Offer& b) { return a.share < b.share; });
    const double given = best->share * value;
    discounts_ += given;
    series[kDiscounts] += given;
    sender(best->sender)[kSenderDiscounts] += given;
    offers_.erase(best);
  }

  void start_trigger(std::uint32_t k, double start) {
    const auto& steps = s_.strategy.triggers[k].steps;
    for (std::uint32_t j = 0; j < steps.size(); ++j) {
      const double due = start + steps[j].delay;
      if (due >= 0.0) {  // a population lead's steps before t = 0 are history
        pending_.push_back({due, start, stay_, k, j, purchases_, false, false});
        return;
      }
    }
  }

  void trigger_step(Pending step) {
    const Trigger& trigger = s_.strategy.triggers[step.trigger];
    const double t = step.due;
    bool holds = !s_.info[state_].excluded;
    if (trigger.condition == ConditionKind::Idle) {
      if (step.stay != stay_) return;  // the lead moved: the trigger is over
      if (trigger.while_present && state_ == s_.drop_state) return;  // it left
    } else if (trigger.condition == ConditionKind::Custom && holds) {
      holds = trigger.custom->holds(context(t));
    }
    if (holds) {
      if (!step.postponed && s_.quiet && !trigger.steps[step.step].on_site && in_quiet_hours(t)) {
        step.due = quiet_end(t);
        step.postponed = true;
        sender(step.trigger)[kPostponed] += 1.0;
        pending_.push_back(step);
        return;
      }
      if (!step.counted) {
        if (starts_[step.trigger] >= trigger.max_starts) return;
        ++starts_[step.trigger];
        open_window(step.trigger, t);
        step.counted = true;
      }
      send(step.trigger, step.step, trigger.steps[step.step], t);
    }
    // The message itself may have moved the lead or led to a purchase: then no follow-up.
    if (trigger.condition == ConditionKind::Idle && step.stay != stay_) return;
    if (trigger.stop_on_purchase && purchases_ > step.purchases) return;
    if (step.step + 1 < trigger.steps.size()) {
      const double next = std::max(step.start + trigger.steps[step.step + 1].delay, t);
      pending_.push_back(
          {next, step.start, step.stay, step.trigger, step.step + 1, step.purchases, step.counted, false});
    }
  }

  void campaign_send(const WalkSetup::Send& due) {
    const Campaign& campaign = s_.strategy.campaigns[due.campaign];
    const auto k = static_cast<std::uint32_t>(triggers_ + due.campaign);
    if (s_.info[state_].excluded || !in_audience(campaign, due.campaign, due.time)) return;
    open_window(k, due.time);
    send(k, 0, campaign.message, due.time);
  }

  bool in_audience(const Campaign& campaign, std::size_t index, double t) const {
    if (campaign.everyone || s_.audience_states[index][state_]) return true;
    if (!campaign.leads.empty() && std::binary_search(campaign.leads.begin(), campaign.leads.end(), lead_)) return true;
    if (campaign.score_low != kNever || campaign.score_high != kNever) {
      const double p = s_.score->evaluate_one(static_cast<std::int64_t>(state_), t - stay_start_).purchase;
      return p >= campaign.score_low && p < campaign.score_high;
    }
    return false;
  }

  void open_window(std::uint32_t k, double t) {
    const bool control = control_[k] != 0;
    sender(k)[control ? kControlStarts : kStarts] += 1.0;
    windows_.push_back({t, t + s_.strategy.attribution_window, k, control, false});
  }

  void send(std::uint32_t k, std::uint32_t step, const Message& message, double t) {
    if (control_[k]) {
      log_message(t, k, step, MessageOutcome::Control);
      return;
    }
    const bool counted = s_.capped && !message.on_site;
    if (counted && over_cap(t)) {
      sender(k)[kCapped] += 1.0;
      log_message(t, k, step, MessageOutcome::Capped);
      return;
    }
    if (counted) send_times_.push_back(t);
    // Counter-based draws keyed by (lead, sender name, message number): a message's response
    // does not depend on other senders' messages (common random numbers across strategies).
    const std::uint64_t key = lead_key_ ^ s_.sender_keys[k] ^ (static_cast<std::uint64_t>(responses_[k]++) << 2);
    const double u_delivery = uniform(mix(key));
    const double u_open = uniform(mix(key ^ 1));
    const double u_effect = uniform(mix(key ^ 2));
    const bool delivered = u_delivery < message.delivery;
    const bool opened = delivered && u_open < message.open;
    double* series = &totals_.series[bin(t) * kSeriesCount];
    double* row = sender(k);
    ++messages_;
    ++totals_.messages;
    series[kMessages] += 1.0;
    series[kMessageCost] += message.cost;
    row[kSent] += 1.0;
    row[kSenderCost] += message.cost;
    if (delivered) {
      series[kDelivered] += 1.0;
      row[kSenderDelivered] += 1.0;
    }
    if (!opened) {
      log_message(t, k, step, delivered ? MessageOutcome::Delivered : MessageOutcome::Sent);
      return;
    }
    series[kOpened] += 1.0;
    row[kSenderOpened] += 1.0;
    log_message(t, k, step, MessageOutcome::Opened);
    last_opened_ = static_cast<std::int32_t>(k);
    if (message.discount > 0.0) offers_.push_back({t + message.offer_valid, message.discount, k});
    if (message.effect) respond(*message.effect, t, u_effect);
  }

  void respond(const TriggerEffect& effect, double t, double u) {
    std::size_t target = markov::kNoState;
    if (typeid(effect) == typeid(MoveTo)) {  // the commonest effect, without building a context
      const auto& move = static_cast<const MoveTo&>(effect);
      if (u < move.probability()) move_now(move.target(), t);
      return;
    }
    const LeadContext lead = context(t);
    if (effect.uses_weights() && !s_.info[state_].absorbing) {
      const double spent = t - stay_start_;
      const auto row = chain_.transitions(state_);
      base_.resize(row.size());
      s_.next_step.weights(state_, spent, base_);
      // Earlier effects of this stay hold for the rest of it: their tilt multiplies the law
      // given the time spent (p_j S_j(t) r_j), and a new effect builds on that.
      const bool tilted = tilt_stay_ == stay_ && tilt_.size() == row.size();
      weights_ = base_;
      if (tilted) {
        double total = 0.0;
        for (std::size_t j = 0; j < row.size(); ++j) total += weights_[j] *= tilt_[j];
        if (total > 0.0)
          for (double& w : weights_) w /= total;
      }
      before_ = weights_;
      target = effect.apply(lead, weights_, u);
      if (target == markov::kNoState && weights_ != before_) {
        for (const double w : weights_)
          if (!(w >= 0.0) || std::isinf(w))
            throw FunnelError(ErrorKind::Strategy, "a trigger effect returned a negative or non-finite weight");
        if (!tilted) tilt_.assign(row.size(), 1.0);
        for (std::size_t j = 0; j < row.size(); ++j)
          if (base_[j] > 0.0) tilt_[j] = weights_[j] / base_[j];
        tilt_stay_ = stay_;
        const auto [next, remaining] = s_.next_step.sample_weighted(state_, spent, weights_, journey_);
        next_state_ = next;
        next_time_ = t + remaining;
      }
    } else {
      target = effect.apply(lead, {}, u);
    }
    if (target == markov::kNoState) return;
    if (target >= states_) throw FunnelError(ErrorKind::Strategy, "a trigger effect moved a lead to no stage");
    move_now(target, t);
  }

  void move_now(std::size_t target, double t) {
    if (count_move()) enter(target, t, true);
  }

  bool over_cap(double t) {
    const double from = t - s_.strategy.cap_period;
    std::erase_if(send_times_, [from](double sent) { return sent <= from; });
    return static_cast<std::int64_t>(send_times_.size()) >= s_.strategy.cap_messages;
  }

  bool in_quiet_hours(double t) const {
    const double day = s_.strategy.day_length;
    const double clock = t - std::floor(t / day) * day;
    const double from = s_.strategy.quiet_start;
    const double to = s_.strategy.quiet_end;
    return from < to ? (clock >= from && clock < to) : (clock >= from || clock < to);
  }

  double quiet_end(double t) const {
    const double day = s_.strategy.day_length;
    const double midnight = std::floor(t / day) * day;
    const double clock = t - midnight;
    const bool wraps = s_.strategy.quiet_start > s_.strategy.quiet_end;
    return midnight + s_.strategy.quiet_end + (wraps && clock >= s_.strategy.quiet_start ? day : 0.0);
  }

  void log_message(double t, std::uint32_t k, std::uint32_t step, MessageOutcome outcome) {
    if (!s_.options.keep_events) return;
    totals_.message_events.push_back({static_cast<std::uint32_t>(replicate_), lead_, t, static_cast<std::int32_t>(k),
                                      static_cast<std::int32_t>(step), outcome});
  }

  void finish() {
    if (!s_.options.keep_leads) return;
    LeadOutcome outcome;
    outcome.replicate = static_cast<std::uint32_t>(replicate_);
    outcome.lead = lead_;
    outcome.channel = channel_;
    outcome.arrival = arrival_;
    outcome.final_state = static_cast<std::int32_t>(state_);
    outcome.purchases = static_cast<std::int32_t>(purchases_);
    outcome.revenue = revenue_;
    outcome.discounts = discounts_;
    outcome.first_purchase = first_purchase_;
    outcome.messages = static_cast<std::int32_t>(messages_);
    outcome.last_touch = last_touch_;
    for (std::size_t k = 0; k < std::min<std::size_t>(32, control_.size()); ++k)
      if (control_[k]) outcome.control |= static_cast<std::int32_t>(1U << k);
    totals_.leads_table.push_back(outcome);
  }

  // ---- helpers ----
  [[nodiscard]] std::size_t bin(double t) const {
    if (!(t > 0.0)) return 0;
    const auto b = static_cast<std::size_t>(t * s_.per_bin);
    return b < s_.bins ? b : s_.bins - 1;
  }
  double* sender(std::size_t k) { return &totals_.senders[k * kSenderCount]; }

  Rng& order_rng() {
    if (!order_ready_) {
      order_ = Rng(seed_ ^ kOrderDomain, static_cast<std::uint64_t>(lead_));
      order_ready_ = true;
    }
    return order_;
  }


  [[nodiscard]] LeadContext context(double t) const {
    LeadContext lead;
    lead.lead = lead_;
    lead.replicate = replicate_;
    lead.state = state_;
    lead.now = t;
    lead.stay_start = stay_start_;
    lead.arrival = arrival_;
    lead.channel = channel_;
    lead.purchases = purchases_;
    lead.revenue = revenue_;
    lead.last_purchase = last_purchase_;
    lead.messages = messages_;
    lead.chain = &chain_;
    return lead;
  }

  const WalkSetup& s_;
  const markov::Chain& chain_;
  BlockTotals& totals_;
  std::size_t replicate_;
  std::uint64_t seed_;
  std::size_t states_;
  std::size_t triggers_;
  // per lead
  std::int64_t lead_ = 0;
  Rng journey_{0};
  Rng order_{0};
  bool order_ready_ = false;
  std::vector<std::int64_t> starts_;
  std::uint64_t lead_key_ = 0;         // the lead's key for counter-based response draws
  std::vector<std::uint32_t> responses_;  // messages each sender has sent the lead
  std::vector<std::uint8_t> control_;
  std::vector<Pending> pending_;
  std::vector<Window> windows_;
  std::vector<Offer> offers_;
  std::vector<double> send_times_;
  std::vector<double> weights_;
  std::vector<double> before_;
  std::vector<double> base_;     // the untilted law of the pending move
  std::vector<double> tilt_;     // r_j: what the effects of stay tilt_stay_ multiplied it by
  std::uint64_t tilt_stay_ = 0;
  bool has_state_ = false;
  std::size_t state_ = 0;
  double stay_start_ = 0.0;
  std::uint64_t stay_ = 0;
  std::size_t next_state_ = 0;
  double next_time_ = kNever;
  std::size_t moves_ = 0;
  std::int64_t purchases_ = 0;
  std::int64_t messages_ = 0;
  double revenue_ = 0.0;
  double discounts_ = 0.0;
  double first_purchase_ = kNaN;
  double last_purchase_ = kNaN;
  std::int32_t last_opened_ = -1;
  std::int32_t last_touch_ = -1;
  bool succeeded_ = false;
  bool stopped_ = false;  // cut by max_transitions
  std::int32_t channel_ = -1;
  double arrival_ = 0.0;
  std::size_t next_campaign_ = 0;
  std::size_t cell_ = 0;  // traffic cell of the current lead (see arrive) and its day and channel
  std::size_t cell_day_ = 0;
  std::size_t cell_channel_ = 0;
};

}  // namespace

std::uint64_t replicate_seed(std::uint64_t seed, std::size_t replicate) noexcept {
  return mix(seed ^ mix(0x5265706c69636174ULL + static_cast<std::uint64_t>(replicate)));
}

WalkSetup::WalkSetup(const markov::Chain& chain_, const markov::NextStep& next_step_, const Strategy& strategy_,
                     const Traffic& traffic_, const Population& population_, const ShopOptions& options_,
                     std::size_t bins_, const scoring::FunnelScore* score_)
    : chain(chain_),
      next_step(next_step_),
      strategy(strategy_),
      traffic(traffic_),
      population(population_),
      options(options_),
      bins(bins_),
      score(score_) {
  const std::size_t n = chain.size();
  double sum = 0.0;
  for (const double w : chain.entry()) entry_cumulative.push_back(sum += w);
  for (std::size_t e = 0; e < chain.entry().size(); ++e)
    if (chain.entry()[e] == sum) single_entry = e;  // all the weight on one state: no draw
  per_bin = 1.0 / options.bin_width;
  drop_state = chain.drop_state();
  std::vector<std::vector<std::uint32_t>> watching(n);
  for (std::uint32_t k = 0; k < strategy.triggers.size(); ++k) {
    const Trigger& trigger = strategy.triggers[k];
    sender_keys.push_back(name_key("trigger", trigger.name));
    control_share.push_back(trigger.control_share);
    switch (trigger.condition) {
      case ConditionKind::Purchase: purchase_triggers.push_back(k); break;
      case ConditionKind::Custom:
      case ConditionKind::Enter:
      case ConditionKind::Idle:
        if (trigger.states.empty()) {
          for (std::size_t s = 0; s < n; ++s)
            if (chain.kind(s) != model::StageKind::Failure) watching[s].push_back(k);
        } else {
          for (const auto s : trigger.states) watching[s].push_back(k);
        }
        break;
    }
  }
  info.resize(n);
  for (std::size_t s = 0; s < n; ++s) {
    info[s].value = chain.value(s);
    info[s].absorbing = chain.absorbing(s);
    info[s].success = chain.kind(s) == model::StageKind::Success;
    info[s].purchase = chain.value(s) > 0.0;
    info[s].watch_begin = static_cast<std::uint32_t>(watch_list.size());
    watch_list.insert(watch_list.end(), watching[s].begin(), watching[s].end());
    info[s].watch_end = static_cast<std::uint32_t>(watch_list.size());
  }
  for (const auto s : strategy.excluded_states) info[s].excluded = true;
  for (std::uint32_t c = 0; c < strategy.campaigns.size(); ++c) {
    const Campaign& campaign = strategy.campaigns[c];
    sender_keys.push_back(name_key("campaign", campaign.name));
    control_share.push_back(campaign.control_share);
    auto& mask = audience_states.emplace_back(n, 0);
    for (const auto s : campaign.states) mask[s] = 1;
    for (const double t : campaign.times)
      if (t < options.horizon) sends.push_back({t, c});
  }
  std::stable_sort(sends.begin(), sends.end(), [](const Send& a, const Send& b) { return a.time < b.time; });
  has_triggers = !strategy.triggers.empty();
  any_control = std::any_of(control_share.begin(), control_share.end(), [](double share) { return share > 0.0; });
  capped = strategy.cap_messages != std::numeric_limits<std::int64_t>::max();
  quiet = strategy.quiet_start != strategy.quiet_end;
}

void BlockTotals::add_to(ShopResult& result, std::size_t replicate) const {
  const auto add = [](auto& target, std::size_t offset, const auto& source) {
    for (std::size_t i = 0; i < source.size(); ++i) target[offset + i] += source[i];
  };
  add(result.arrivals, replicate * arrivals.size(), arrivals);
  add(result.entries, replicate * entries.size(), entries);
  add(result.occupancy, replicate * occupancy_diff.size(), occupancy_diff);
  add(result.series, replicate * series.size(), series);
  add(result.senders_table, replicate * senders.size(), senders);
  result.leads += leads;
  result.transitions += transitions;
  result.messages += messages;
  result.stopped += stopped;
  result.successes += successes;
  result.time_to_success += time_to_success;
  result.total_value += total_value;
  result.leads_table.insert(result.leads_table.end(), leads_table.begin(), leads_table.end());
  result.stage_events.insert(result.stage_events.end(), stage_events.begin(), stage_events.end());
  result.message_events.insert(result.message_events.end(), message_events.begin(), message_events.end());
}

BlockTotals walk_block(const WalkSetup& setup, std::size_t replicate, std::int64_t begin, std::int64_t end,
                       std::span<const std::int64_t> cell_offsets) {
  BlockTotals totals;
  const std::size_t states = setup.chain.size();
  totals.arrivals.assign(setup.bins * setup.traffic.channels, 0);
  totals.entries.assign(setup.bins * states, 0);
  totals.occupancy_diff.assign(setup.bins * states, 0);
  totals.series.assign(setup.bins * kSeriesCount, 0.0);
  totals.senders.assign(setup.senders() * kSenderCount, 0.0);
  LeadWalker walker(setup, replicate, totals);
  for (std::int64_t lead = begin; lead < end; ++lead) walker.walk(lead, cell_offsets);
  return totals;
}

void finish_occupancy(ShopResult& result) {
  for (std::size_t r = 0; r < result.replicates; ++r)
    for (std::size_t s = 0; s < result.states; ++s) {
      std::int64_t running = 0;
      for (std::size_t b = 0; b < result.bins; ++b) {
        auto& cell = result.occupancy[(r * result.bins + b) * result.states + s];
        running += cell;
        cell = running;
      }
    }
}

}  // namespace funnelkit::simulate
