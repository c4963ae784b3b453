#include "funnelkit/simulate/journeys.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "funnelkit/core/random.hpp"

namespace funnelkit::simulate {
namespace {

constexpr std::size_t kBlockLeads = 4096;

JourneyTotals empty_totals(std::size_t states, std::size_t bins) {
  JourneyTotals totals;
  totals.states = states;
  totals.bins = bins;
  totals.arrivals.assign(bins, 0);
  totals.entries.assign(bins * states, 0);
  totals.value.assign(bins, 0.0);
  return totals;
}

std::size_t bin_count(const JourneyOptions& options) {
  if (!(options.bin_width > 0.0)) throw std::invalid_argument("bin_width must be positive");
  if (!(options.horizon > 0.0)) throw std::invalid_argument("horizon must be positive");
  if (std::isinf(options.horizon) || std::isinf(options.bin_width)) return 1;
  const double bins = std::ceil(options.horizon / options.bin_width);
  if (bins > 1e7) throw std::invalid_argument("more than 10 million time bins: widen bin_width");
  return static_cast<std::size_t>(bins);
}

// The entry state for a uniform u: the inverse CDF of the chain's entry weights.
std::size_t entry_state(const std::vector<double>& cumulative, double u) {
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u * cumulative.back());
  return static_cast<std::size_t>(std::min<std::ptrdiff_t>(it - cumulative.begin(),
                                                           static_cast<std::ptrdiff_t>(cumulative.size()) - 1));
}

}  // namespace

void JourneyTotals::merge(const JourneyTotals& other) {
  if (other.states != states || other.bins != bins) throw std::invalid_argument("merging totals of another shape");
  for (std::size_t b = 0; b < bins; ++b) {
    arrivals[b] += other.arrivals[b];
    value[b] += other.value[b];
  }
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i] += other.entries[i];
  leads += other.leads;
  transitions += other.transitions;
  successes += other.successes;
  failures += other.failures;
  open += other.open;
  stopped += other.stopped;
  time_to_success += other.time_to_success;
  total_value += other.total_value;
}

JourneyTotals simulate_journeys(const markov::Chain& chain, std::span<const double> arrivals,
                                const JourneyOptions& options, std::size_t threads, const Progress& progress) {
  const std::size_t bins = bin_count(options);
  for (std::size_t i = 0; i < arrivals.size(); ++i)
    if (!(arrivals[i] >= 0.0) || std::isinf(arrivals[i]))
      throw std::invalid_argument("arrival time " + std::to_string(i) + " is negative, infinite or NaN");
  std::vector<double> cumulative(chain.entry().size());
  double sum = 0.0;
  for (std::size_t s = 0; s < cumulative.size(); ++s) cumulative[s] = sum += chain.entry()[s];
  const std::size_t states = chain.size();
  const bool binned = bins > 1;
  const auto bin_of = [&](double t) {
    return binned ? std::min(bins - 1, static_cast<std::size_t>(t / options.bin_width)) : std::size_t{0};
  };

  const std::size_t blocks = (arrivals.size() + kBlockLeads - 1) / kBlockLeads;
  std::vector<JourneyTotals> partial(blocks);
  parallel_for(
      blocks, threads,
      [&](std::size_t block) {
        JourneyTotals totals = empty_totals(states, bins);
        const std::size_t end = std::min(arrivals.size(), (block + 1) * kBlockLeads);
        for (std::size_t lead = block * kBlockLeads; lead < end; ++lead) {
          const double arrival = arrivals[lead];
          if (arrival >= options.horizon) continue;
          Rng rng(options.seed, lead);
          ++totals.leads;
          ++totals.arrivals[bin_of(arrival)];
          std::size_t state = entry_state(cumulative, rng.uniform01());
          double t = arrival;
          for (std::size_t step = 0;; ++step) {
            const std::size_t bin = bin_of(t);
            ++totals.entries[bin * states + state];
            totals.value[bin] += chain.value(state);
            totals.total_value += chain.value(state);
            if (chain.absorbing(state)) {
              if (chain.kind(state) == model::StageKind::Success) {
                ++totals.successes;
                totals.time_to_success += t - arrival;
              } else {
                ++totals.failures;
              }
              break;
            }
            if (step == options.max_transitions) {
              ++totals.stopped;
              break;
            }
            const auto [next, delay] = chain.sample_step(state, rng);
            if (t + delay >= options.horizon) {
              ++totals.open;
              break;
            }
            ++totals.transitions;
            t += delay;
            state = next;
          }
        }
        partial[block] = std::move(totals);
      },
      progress, 1);
  JourneyTotals result = empty_totals(states, bins);
  for (const auto& totals : partial) result.merge(totals);  // block order: thread-count independent
  return result;
}

}  // namespace funnelkit::simulate
