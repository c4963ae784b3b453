#include "funnelkit/forecast/expected_path.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <stdexcept>
#include <string>

#include <unsupported/Eigen/FFT>

#include "funnelkit/markov/linear_system.hpp"

namespace funnelkit::forecast {
namespace {

using Spectrum = std::vector<std::complex<double>>;

// The FFT size for causal convolutions truncated to n steps: no wrap-around below n.
std::size_t fft_size(std::size_t n) {
  std::size_t size = 1;
  while (size < 2 * n) size *= 2;
  return size;
}

// p P(round(D / h) = m) for m = 0 .. n-1, for a move with this delay (none: instant).
std::vector<double> kernel(const markov::Transition& t, double h, std::size_t n) {
  std::vector<double> k(n, 0.0);
  if (t.delay == nullptr) {
    k[0] = t.probability;
    return k;
  }
  double below = 0.0;  // F at the lower edge of step m
  for (std::size_t m = 0; m < n; ++m) {
    const double above = t.delay->cdf((static_cast<double>(m) + 0.5) * h);
    k[m] = t.probability * std::max(0.0, above - below);
    below = above;
    if (below >= 1.0) break;
  }
  return k;
}

class Convolver {
 public:
  explicit Convolver(std::size_t n) : n_(n), size_(fft_size(n)), buffer_(size_, 0.0) {}

  [[nodiscard]] Spectrum spectrum(const std::vector<double>& x) {
    std::fill(buffer_.begin(), buffer_.end(), 0.0);
    std::copy(x.begin(), x.end(), buffer_.begin());
    Spectrum out;
    fft_.fwd(out, buffer_);
    return out;
  }

  /// (x * k)[0..n), with x and k given by their spectra; valid until the next call.
  const std::vector<double>& convolve(const Spectrum& x, const Spectrum& k) {
    product_.resize(x.size());
    for (std::size_t f = 0; f < x.size(); ++f) product_[f] = x[f] * k[f];
    fft_.inv(buffer_, product_);
    return buffer_;
  }

 private:
  std::size_t n_;
  std::size_t size_;
  std::vector<double> buffer_;
  Spectrum product_;
  Eigen::FFT<double> fft_;
};

double total(const std::vector<double>& x) {
  double sum = 0.0;
  for (const double v : x) sum += std::abs(v);
  return sum;
}

}  // namespace

ExpectedPath expected_path(const markov::Chain& chain, std::span<const double> arrivals, const PathOptions& options) {
  if (!(options.bin_width > 0.0) || std::isinf(options.bin_width))
    throw std::invalid_argument("bin_width must be positive and finite");
  if (options.substeps == 0) throw std::invalid_argument("substeps must be at least 1");
  for (std::size_t b = 0; b < arrivals.size(); ++b)
    if (!(arrivals[b] >= 0.0) || std::isinf(arrivals[b]))
      throw std::invalid_argument("arrivals of bin " + std::to_string(b) + " must be >= 0 and finite");
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
  if (n == 0) return path;

  // Inflow per state on the fine grid: arrivals spread evenly over their bin.
  std::vector<std::vector<double>> inflow(states, std::vector<double>(n, 0.0));
  double entry_total = 0.0;
  for (const double w : chain.entry()) entry_total += w;
  for (std::size_t s = 0; s < states; ++s) {
    const double share = chain.entry()[s] / entry_total;
    if (share <= 0.0) continue;
    for (std::size_t b = 0; b < bins; ++b)
      for (std::size_t k = 0; k < options.substeps; ++k)
        inflow[s][b * options.substeps + k] = share * arrivals[b] / static_cast<double>(options.substeps);
  }

  Convolver convolver(n);
  std::vector<std::vector<double>> entries(states);
  std::vector<std::vector<double>> outflow(states, std::vector<double>(n, 0.0));
  const markov::TransientStructure structure(chain);
  const auto& components = structure.components();
  constexpr std::size_t kOutside = static_cast<std::size_t>(-1);
  std::vector<std::size_t> position(states, kOutside);  // of a state in the current component
  // Components come successors first: walk them backwards, so every inflow is complete.
  for (auto c = components.rbegin(); c != components.rend(); ++c) {
    std::vector<std::size_t> members;
    for (const auto t : *c) members.push_back(structure.state(t));
    for (std::size_t i = 0; i < members.size(); ++i) position[members[i]] = i;
    std::vector<std::vector<Spectrum>> kernels(members.size());
    for (std::size_t i = 0; i < members.size(); ++i)
      for (const auto& t : chain.transitions(members[i])) kernels[i].push_back(convolver.spectrum(kernel(t, h, n)));
    // Entries = inflow from outside + what the component passes round, to no mass left.
    std::vector<std::vector<double>> increment(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
      entries[members[i]] = inflow[members[i]];
      increment[i] = inflow[members[i]];
    }
    const double scale = [&] {
      double sum = 0.0;
      for (const auto& x : increment) sum += total(x);
      return sum;
    }();
    // Each round passes the last round's entries on: to states outside (their inflow, complete
    // once this component is done), to the outflow, and round the loop to the next round.
    for (std::size_t round = 0; scale > 0.0; ++round) {
      std::vector<std::vector<double>> next(members.size());
      double moved = 0.0;
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (total(increment[i]) == 0.0) continue;
        const Spectrum x = convolver.spectrum(increment[i]);
        const auto row = chain.transitions(members[i]);
        for (std::size_t j = 0; j < row.size(); ++j) {
          const auto& moves = convolver.convolve(x, kernels[i][j]);
          std::vector<double>* target = &inflow[row[j].to];
          if (const auto at = position[row[j].to]; at != kOutside) {
            if (next[at].empty()) next[at].assign(n, 0.0);
            target = &next[at];
          }
          auto& out = outflow[members[i]];
          for (std::size_t m = 0; m < n; ++m) {
            out[m] += moves[m];
            (*target)[m] += moves[m];
          }
        }
      }
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (next[i].empty()) next[i].assign(n, 0.0);
        for (std::size_t m = 0; m < n; ++m) entries[members[i]][m] += next[i][m];
        moved += total(next[i]);
      }
      increment = std::move(next);
      if (moved <= 1e-13 * scale) break;
      if (round == 100'000) throw std::runtime_error("expected_path: a loop did not drain");
    }
    for (const auto s : members) position[s] = kOutside;
  }
  for (const auto s : chain.absorbing_states()) entries[s] = inflow[s];

  for (std::size_t s = 0; s < states; ++s) {
    double occupied = 0.0;
    for (std::size_t m = 0; m < n; ++m) {
      const std::size_t b = m / options.substeps;
      const double in = entries[s].empty() ? 0.0 : std::max(0.0, entries[s][m]);  // FFT round-off
      occupied += in - outflow[s][m];
      path.entries[b * states + s] += in;
      if ((m + 1) % options.substeps == 0) path.occupancy[b * states + s] = std::max(0.0, occupied);
    }
  }
  for (std::size_t b = 0; b < bins; ++b)
    for (std::size_t s = 0; s < states; ++s) path.value[b] += path.entries[b * states + s] * chain.value(s);
  return path;
}

}  // namespace funnelkit::forecast
