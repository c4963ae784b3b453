#include "funnelkit/simulate/shop.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <limits>
#include <string>
#include <utility>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/core/random.hpp"
#include "lead_walk.hpp"
#include "poisson.hpp"

namespace funnelkit::simulate {
namespace {

constexpr std::size_t kBlockLeads = 2048;
constexpr std::uint64_t kTrafficDomain = 0x7261666669635f31ULL;

[[noreturn]] void fail(const std::string& subject, const std::string& message) {
  throw FunnelError(ErrorKind::Strategy, subject + ": " + message, subject);
}

std::size_t bin_count(const ShopOptions& options) {
  if (!(options.horizon > 0.0) || std::isinf(options.horizon)) fail("horizon", "must be positive and finite");
  if (!(options.bin_width > 0.0) || std::isinf(options.bin_width)) fail("bin_width", "must be positive and finite");
  const double bins = std::ceil(options.horizon / options.bin_width);
  if (bins > 1e6) fail("bin_width", "more than a million time bins: widen the bins");
  return static_cast<std::size_t>(bins);
}

void check_inputs(const markov::Chain& chain, const Traffic& traffic, const Population& population,
                  const ShopOptions& options) {
  if (traffic.channels == 0) fail("traffic", "needs at least one channel");
  if (traffic.expected.size() != traffic.days * traffic.channels) fail("traffic", "expects days x channels numbers");
  if (!(traffic.day_length > 0.0) || std::isinf(traffic.day_length)) fail("traffic", "day_length must be positive");
  for (std::size_t i = 0; i < traffic.expected.size(); ++i)
    if (!(traffic.expected[i] >= 0.0) || std::isinf(traffic.expected[i]) || traffic.expected[i] > 1e12)
      fail("traffic", "visitors of day " + std::to_string(i / traffic.channels) + " must be >= 0 and finite, got " +
                          std::to_string(traffic.expected[i]));
  if (population.states.size() != population.time_in_state.size())
    fail("population", "needs one time in stage per lead");
  for (std::size_t i = 0; i < population.states.size(); ++i) {
    if (population.states[i] >= chain.size()) fail("population", "lead " + std::to_string(i) + " is in no stage");
    if (!(population.time_in_state[i] >= 0.0) || std::isinf(population.time_in_state[i]))
      fail("population", "lead " + std::to_string(i) + " has a negative, infinite or NaN time in stage");
  }
  if (options.replicates == 0) fail("replicates", "must be at least 1");
}

// Lead counts per (replicate, day, channel), and where each replicate's cells start.
struct Arrivals {
  std::vector<std::int64_t> counts;        // [replicate, day, channel]
  std::vector<std::int64_t> cell_offsets;  // [replicate, day * channels + 1]: first lead of each cell
  std::vector<std::int64_t> leads;         // per replicate, population included
};

Arrivals draw_arrivals(const Traffic& traffic, const ShopOptions& options, std::size_t population) {
  Arrivals arrivals;
  const std::size_t cells = traffic.days * traffic.channels;
  arrivals.counts.resize(options.replicates * cells);
  arrivals.cell_offsets.resize(options.replicates * (cells + 1));
  for (std::size_t r = 0; r < options.replicates; ++r) {
    std::int64_t total = static_cast<std::int64_t>(population);
    for (std::size_t cell = 0; cell < cells; ++cell) {
      const double mean = traffic.expected[cell];
      std::int64_t n = 0;
      if (traffic.exact_counts) {
        n = static_cast<std::int64_t>(std::llround(mean));
      } else {
        Rng rng(replicate_seed(options.seed, r) ^ kTrafficDomain, cell);
        n = poisson(mean, rng);
      }
      arrivals.counts[r * cells + cell] = n;
      arrivals.cell_offsets[r * (cells + 1) + cell] = total;
      total += n;
    }
    arrivals.cell_offsets[r * (cells + 1) + cells] = total;
    arrivals.leads.push_back(total);
  }
  return arrivals;
}

struct WorkItem {
  std::size_t replicate;
  std::int64_t begin;
  std::int64_t end;
};

}  // namespace

ShopResult simulate_shop(std::shared_ptr<const markov::Chain> chain, const Strategy& strategy, const Traffic& traffic,
                         const Population& population, const ShopOptions& options,
                         std::shared_ptr<const scoring::FunnelScore> score, std::size_t threads,
                         const Progress& progress) {
  if (!chain) throw std::invalid_argument("simulate_shop needs a chain");
  validate(strategy, *chain);
  check_inputs(*chain, traffic, population, options);
  const std::size_t bins = bin_count(options);
  const bool needs_score = std::any_of(strategy.campaigns.begin(), strategy.campaigns.end(), [](const Campaign& c) {
    return c.score_low != kNever || c.score_high != kNever;
  });
  if (needs_score && !score) fail("campaign", "a score-band audience needs the funnel score");

  const markov::NextStep next_step(chain, threads);
  const WalkSetup setup(*chain, next_step, strategy, traffic, population, options, bins, score.get());
  const Arrivals arrivals = draw_arrivals(traffic, options, population.states.size());

  std::vector<WorkItem> items;
  for (std::size_t r = 0; r < options.replicates; ++r)
    for (std::int64_t begin = 0; begin < arrivals.leads[r]; begin += static_cast<std::int64_t>(kBlockLeads))
      items.push_back({r, begin, std::min(arrivals.leads[r], begin + static_cast<std::int64_t>(kBlockLeads))});

  ShopResult result;
  result.replicates = options.replicates;
  result.bins = bins;
  result.states = chain->size();
  result.channels = traffic.channels;
  result.senders = setup.senders();
  result.arrivals.assign(options.replicates * bins * traffic.channels, 0);
  result.entries.assign(options.replicates * bins * chain->size(), 0);
  result.occupancy.assign(options.replicates * bins * chain->size(), 0);
  result.series.assign(options.replicates * bins * kSeriesCount, 0.0);
  result.senders_table.assign(options.replicates * setup.senders() * kSenderCount, 0.0);

  // Items are claimed in order and each is added to the result as soon as the ones before it
  // are: the same floating-point sums whatever the thread count, with memory for a block per
  // thread only. Progress (and Ctrl-C) is checked between chunks of items.
  const std::size_t workers = resolve_threads(threads);
  const std::size_t chunk = std::max<std::size_t>(workers * 32, 64);
  const std::size_t cells = traffic.days * traffic.channels;
  std::mutex mutex;
  std::condition_variable turn;
  std::size_t merged = 0;
  bool failed = false;
  for (std::size_t first = 0; first < items.size(); first += chunk) {
    const std::size_t last = std::min(items.size(), first + chunk);
    parallel_for(last - first, threads, [&](std::size_t k) {
      const WorkItem& item = items[first + k];
      const std::span<const std::int64_t> offsets(arrivals.cell_offsets.data() + item.replicate * (cells + 1), cells + 1);
      BlockTotals totals;
      try {
        totals = walk_block(setup, item.replicate, item.begin, item.end, offsets);
      } catch (...) {
        const std::lock_guard lock(mutex);
        failed = true;  // the items waiting for this one give up
        turn.notify_all();
        throw;
      }
      std::unique_lock lock(mutex);
      turn.wait(lock, [&] { return merged == first + k || failed; });
      if (failed) return;
      totals.add_to(result, item.replicate);
      ++merged;
      turn.notify_all();
    }, {}, last - first);
    if (progress && !progress(last, items.size())) throw Cancelled();
  }
  finish_occupancy(result);
  return result;
}

}  // namespace funnelkit::simulate
