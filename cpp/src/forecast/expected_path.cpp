#include "funnelkit/forecast/expected_path.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "renewal.hpp"

namespace funnelkit::forecast {
namespace {

void check_steps(const markov::Chain& chain, const PathOptions& options) {
  const auto fail = [](const char* kind, std::size_t k, const std::string& what) {
    throw std::invalid_argument(std::string(kind) + " " + std::to_string(k) + ": " + what);
  };
  const auto outside = [&chain](std::size_t s) { return s >= chain.size(); };
  const auto share = [](double x) { return x >= 0.0 && x <= 1.0; };  // a chance
  for (std::size_t k = 0; k < options.steps.size(); ++k) {
    const auto& step = options.steps[k];
    if (outside(step.state)) fail("path step", k, "its state is outside the chain");
    if (step.target != markov::kNoState && outside(step.target)) fail("path step", k, "its target is outside the chain");
    if (!(step.delay >= 0.0) || !std::isfinite(step.delay)) fail("path step", k, "the delay must be >= 0 and finite");
    if (!share(step.reach)) fail("path step", k, "the reach must lie in [0, 1]");
    if (!(step.multiplier >= 0.0) || !std::isfinite(step.multiplier))
      fail("path step", k, "the multiplier must be >= 0 and finite");
    if (std::any_of(step.toward.begin(), step.toward.end(), outside))
      fail("path step", k, "a favoured state is outside the chain");
  }
  for (std::size_t k = 0; k < options.sends.size(); ++k) {
    const auto& send = options.sends[k];
    if (outside(send.target)) fail("send", k, "its target is outside the chain");
    if (!std::isfinite(send.time)) fail("send", k, "its time must be finite");
    if (!share(send.reach)) fail("send", k, "the reach must lie in [0, 1]");
    if (!share(send.share)) fail("send", k, "the share must lie in [0, 1]");
    if (std::any_of(send.states.begin(), send.states.end(), outside))
      fail("send", k, "an audience state is outside the chain");
  }
  if (!std::all_of(options.treated.begin(), options.treated.end(), share))
    throw std::invalid_argument("a treated share must lie in [0, 1]");
}

// A send moves the leads present in its audience at its time: they enter the target, leave the
// state, and every move they had pending there is cancelled (taken back from where it would
// have entered). `cancelled[s][j]`: what earlier sends took from state s's move j.
class Sends {
 public:
  Sends(const markov::Chain& chain, const PathOptions& options, detail::Renewal& renewal, std::size_t n, double h)
      : chain_(chain), renewal_(renewal), n_(n), h_(h), steps_(options.steps.data()), cancelled_(chain.size()),
        dropping_(chain.size(), false) {
    for (std::size_t s = 0; s < chain.size(); ++s)
      for (const auto& t : chain.transitions(s)) dropping_[s] = dropping_[s] || (t.to == chain.drop_state() && t.probability > 0.0);
    // Leads who dropped out wait in the drop state for the steps of the state they left.
    for (const auto& step : options.steps) waiting_in_drop_ = waiting_in_drop_ || dropping_[step.state];
  }

  /// Adds the send's flows to `inflow` and `extra_out`, given the flows solved so far.
  /// Returns the send's messages (to its treated share of the leads present).
  double apply(const PathSend& send, const detail::Flows& flows, std::vector<std::vector<double>>& inflow,
               std::vector<std::vector<double>>& extra_out, std::vector<std::vector<double>>& extra_sent) {
    // Entries at step m sit at (m + 1/2) h: the send sees those with (m + 1/2) h <= time, and
    // its leads enter the target in the next step.
    const double position = std::floor(send.time / h_ - 0.5);
    if (position < 0.0 || position >= static_cast<double>(n_)) return 0.0;  // nobody yet, or past the end
    const auto last = static_cast<std::size_t>(position);
    const bool moves_leads = send.reach > 0.0 && last + 1 < n_;
    std::vector<std::size_t> audience = send.states;
    std::sort(audience.begin(), audience.end());
    audience.erase(std::unique(audience.begin(), audience.end()), audience.end());
    double messages = 0.0;
    for (const auto s : audience) {
      if (flows.entries[s].empty()) continue;
      double present = 0.0;
      for (std::size_t m = 0; m <= last; ++m)
        present += flows.entries[s][m] - at(flows.outflow[s], m) - at(extra_out[s], m);
      present = std::max(0.0, present);
      messages += send.share * present;
      if (!moves_leads) continue;  // a message that only costs
      if (s == chain_.drop_state() && waiting_in_drop_) refuse(s);
      add(inflow, send.target, last + 1, send.reach * present);
      add(extra_out, s, last + 1, send.reach * present);
      const auto& flows_of = renewal_.moves_of(s);
      const auto& moves = flows_of.moves;
      // Leads who dropped out from s still get its steps' messages: not the moved leads'.
      if (!flows_of.messages.empty() && dropping_[s]) refuse(s);
      auto& taken = cancelled_[s];
      taken.resize(moves.size() + flows_of.messages.size());
      const auto before = renewal_.spectrum_until(flows.entries[s], last);  // the entries that see the send
      const auto cancel = [&](std::size_t j, const std::vector<double>& kernel, auto&& take) {
        const auto pending = renewal_.convolve(before, kernel);
        if (taken[j].empty()) taken[j].assign(n_, 0.0);
        for (std::size_t m = last + 1; m < n_; ++m) {
          const double cut = send.reach * (pending[m] - taken[j][m]);
          taken[j][m] += cut;
          take(m, cut);
        }
      };
      for (std::size_t j = 0; j < moves.size(); ++j) {
        if (moves[j].leaves != detail::kSelf) refuse(s);
        cancel(j, moves[j].kernel, [&](std::size_t m, double cut) {
          add(inflow, moves[j].to, m, -cut);
          add(extra_out, s, m, -cut);
        });
      }
      for (std::size_t k = 0; k < flows_of.messages.size(); ++k) {
        const auto step = static_cast<std::size_t>(flows_of.messages[k].step - steps_);
        cancel(moves.size() + k, flows_of.messages[k].kernel, [&](std::size_t m, double cut) { add(extra_sent, step, m, -cut); });
      }
    }
    return messages;
  }

 private:
  [[noreturn]] void refuse(std::size_t s) const {
    throw std::invalid_argument("expected_path: a send reaches '" + chain_.name(s) +
                                "', whose leads may wait for a step from the drop state");
  }
  static double at(const std::vector<double>& x, std::size_t m) { return x.empty() ? 0.0 : x[m]; }
  void add(std::vector<std::vector<double>>& flows, std::size_t s, std::size_t m, double amount) const {
    if (flows[s].empty()) flows[s].assign(n_, 0.0);
    flows[s][m] += amount;
  }

  const markov::Chain& chain_;
  detail::Renewal& renewal_;
  std::size_t n_;
  double h_;
  const PathStep* steps_;
  std::vector<std::vector<std::vector<double>>> cancelled_;
  std::vector<bool> dropping_;  // has a move to the drop state
  bool waiting_in_drop_ = false;
};

}  // namespace

ExpectedPath expected_path(const markov::Chain& chain, std::span<const double> arrivals, const PathOptions& options) {
  if (!(options.bin_width > 0.0) || std::isinf(options.bin_width))
    throw std::invalid_argument("bin_width must be positive and finite");
  if (options.substeps == 0) throw std::invalid_argument("substeps must be at least 1");
  for (std::size_t b = 0; b < arrivals.size(); ++b)
    if (!(arrivals[b] >= 0.0) || std::isinf(arrivals[b]))
      throw std::invalid_argument("arrivals of bin " + std::to_string(b) + " must be >= 0 and finite");
  check_steps(chain, options);
  const std::size_t states = chain.size();
  const std::size_t bins = arrivals.size();
  const std::size_t n = bins * options.substeps;
  const double h = options.bin_width / static_cast<double>(options.substeps);
  ExpectedPath path;
  path.bins = bins;
  path.states = states;
  path.entries.assign(bins * states, 0.0);
  path.occupancy.assign(bins * states, 0.0);
  path.value.assign(bins, 0.0);
  path.messages.assign(bins * (options.steps.size() + options.sends.size()), 0.0);
  if (n == 0) return path;

  // Arrivals spread evenly over their bin (or at its start), by the chain's entry weights.
  std::vector<std::vector<double>> inflow(states);
  double entry_total = 0.0;
  for (const double w : chain.entry()) entry_total += w;
  for (std::size_t s = 0; s < states; ++s) {
    const double share = chain.entry()[s] / entry_total;
    if (share <= 0.0) continue;
    inflow[s].assign(n, 0.0);
    for (std::size_t b = 0; b < bins; ++b) {
      const double leads = share * arrivals[b];
      if (options.arrivals_at_start) {
        inflow[s][b * options.substeps] = leads;
        continue;
      }
      for (std::size_t i = 0; i < options.substeps; ++i)
        inflow[s][b * options.substeps + i] = leads / static_cast<double>(options.substeps);
    }
  }
  detail::Renewal renewal(chain, options, h, n);
  auto flows = renewal.solve(inflow);
  // Sends in time order, each from the flows with the earlier ones: the system is linear, so
  // a send's flows are new inflow (and outflow) for the next solve.
  std::vector<std::vector<double>> extra_out(states);
  std::vector<const PathSend*> sends;
  for (const auto& send : options.sends) sends.push_back(&send);
  std::stable_sort(sends.begin(), sends.end(), [](const PathSend* a, const PathSend* b) { return a->time < b->time; });
  Sends apply(chain, options, renewal, n, h);
  std::vector<std::vector<double>> extra_sent(options.steps.size());
  const std::size_t columns = options.steps.size() + options.sends.size();
  for (const auto* send : sends) {
    const double messages = apply.apply(*send, flows, inflow, extra_out, extra_sent);
    const auto k = static_cast<std::size_t>(send - options.sends.data());
    const double bin = std::floor(send->time / options.bin_width);
    if (bin >= 0.0 && bin < static_cast<double>(bins))
      path.messages[static_cast<std::size_t>(bin) * columns + options.steps.size() + k] += messages;
    if (send->reach > 0.0 && messages > 0.0) flows = renewal.solve(inflow);
  }
  for (std::size_t k = 0; k < options.steps.size(); ++k)
    for (std::size_t m = 0; m < n; ++m) {
      double sent = flows.sent[k].empty() ? 0.0 : flows.sent[k][m];
      if (!extra_sent[k].empty()) sent += extra_sent[k][m];
      path.messages[(m / options.substeps) * columns + k] += sent;
    }
  for (auto& x : path.messages) x = std::max(0.0, x);  // round-off of the transforms

  for (std::size_t s = 0; s < states; ++s) {
    if (flows.entries[s].empty()) continue;
    const auto& in = flows.entries[s];
    double occupied = 0.0;
    for (std::size_t m = 0; m < n; ++m) {
      const std::size_t b = m / options.substeps;
      double out = flows.outflow[s].empty() ? 0.0 : flows.outflow[s][m];
      if (!extra_out[s].empty()) out += extra_out[s][m];
      occupied += in[m] - out;
      path.entries[b * states + s] += in[m];
      if ((m + 1) % options.substeps == 0) path.occupancy[b * states + s] = occupied;
    }
  }
  for (std::size_t b = 0; b < bins; ++b)
    for (std::size_t s = 0; s < states; ++s) {
      // Round-off of the transforms: a little below zero is zero.
      auto& entered = path.entries[b * states + s];
      auto& present = path.occupancy[b * states + s];
      if (entered < 0.0) entered = 0.0;
      if (present < 0.0) present = 0.0;
      path.value[b] += entered * chain.value(s);
    }
  return path;
}

}  // namespace funnelkit::forecast
