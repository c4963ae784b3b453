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

using Complex = std::complex<double>;
using Spectrum = std::vector<Complex>;

// Causal sequences are damped by r^m before their transforms, r^M = kAliasing: what a loop
// passes round past the transform's length M folds back only that much weakened, and undoing
// the damping over the first half (the horizon) amplifies round-off by at most kAliasing^-1/2.
constexpr double kAliasing = 1e-12;

// The transform length: at least twice the horizon, a power of two.
std::size_t fft_size(std::size_t n) {
  std::size_t size = 1;
  while (size < 2 * n) size *= 2;
  return size;
}

// p P(round(D / h) = m) for m = 0 .. size-1, for a move with this delay (none: instant).
std::vector<double> kernel(const markov::Transition& t, double h, std::size_t size) {
  std::vector<double> k(size, 0.0);
  if (t.delay == nullptr) {
    k[0] = t.probability;
    return k;
  }
  double below = 0.0;  // F at the lower edge of step m
  for (std::size_t m = 0; m < size; ++m) {
    const double above = t.delay->cdf((static_cast<double>(m) + 0.5) * h);
    k[m] = t.probability * std::max(0.0, above - below);
    below = above;
    if (below >= 1.0) break;
  }
  return k;
}

struct StateMove {
  std::size_t to;
  std::vector<double> kernel;  // per step since the entry
  std::size_t leaves;          // kOutside: the state itself
};

// The moves out of a state: its transitions, thinned by the idle-move steps that take leads
// away first, and those steps' moves (from the state while pending, from the drop state for
// leads who dropped out and are still idle there).
std::vector<StateMove> state_moves(const markov::Chain& chain, std::size_t state, double h, std::size_t size,
                                   const std::vector<IdleMove>& idle_moves) {
  constexpr std::size_t kOutside = static_cast<std::size_t>(-1);
  std::vector<StateMove> out;
  for (const auto& t : chain.transitions(state)) out.push_back({t.to, kernel(t, h, size), kOutside});
  std::vector<IdleMove> steps;
  for (const auto& move : idle_moves)
    if (move.state == state && move.probability > 0.0) steps.push_back(move);
  if (steps.empty() || out.empty()) return out;
  std::stable_sort(steps.begin(), steps.end(), [](const IdleMove& a, const IdleMove& b) { return a.delay < b.delay; });
  const std::size_t drop = chain.drop_state();
  // c(m): the chance no step has taken the lead by step m (steps strictly before m).
  std::vector<double> spared(size, 1.0);
  std::vector<std::size_t> at;
  for (const auto& step : steps) {
    const auto m = static_cast<std::size_t>(std::floor(step.delay / h + 0.5));
    at.push_back(m);
    for (std::size_t k = m + 1; k < size; ++k) spared[k] *= 1.0 - step.probability;
  }
  // Cumulative own moves by step m: real ones (not to the drop state) and drop-outs.
  std::vector<double> moved(size, 0.0), dropped(size, 0.0);
  for (const auto& move : out)
    for (std::size_t m = 0; m < size; ++m) (move.to == drop ? dropped : moved)[m] += move.kernel[m];
  for (std::size_t m = 1; m < size; ++m) {
    moved[m] += moved[m - 1];
    dropped[m] += dropped[m - 1];
  }
  for (auto& move : out)
    for (std::size_t m = 0; m < size; ++m) move.kernel[m] *= spared[m];
  double before = 1.0;  // the chance earlier steps spared the lead
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const std::size_t m = at[k];
    if (m < size) {
      const double taken = steps[k].probability * before;
      StateMove pending{steps[k].target, std::vector<double>(size, 0.0), kOutside};
      pending.kernel[m] = taken * std::max(0.0, 1.0 - moved[m] - dropped[m]);
      out.push_back(std::move(pending));
      if (drop != markov::kNoState && dropped[m] > 0.0) {
        StateMove back{steps[k].target, std::vector<double>(size, 0.0), drop};
        back.kernel[m] = taken * dropped[m];
        out.push_back(std::move(back));
      }
    }
    before *= 1.0 - steps[k].probability;
  }
  return out;
}

class Transform {
 public:
  explicit Transform(std::size_t size) : size_(size), damping_(size), buffer_(size) {
    const double log_r = std::log(kAliasing) / static_cast<double>(size);
    for (std::size_t m = 0; m < size; ++m) damping_[m] = std::exp(log_r * static_cast<double>(m));
  }

  [[nodiscard]] Spectrum forward(const std::vector<double>& x) {
    for (std::size_t m = 0; m < size_; ++m) buffer_[m] = m < x.size() ? x[m] * damping_[m] : 0.0;
    Spectrum out;
    fft_.fwd(out, buffer_);
    return out;
  }

  /// The first n values of the sequence with this (damped) spectrum.
  [[nodiscard]] std::vector<double> inverse(const Spectrum& x, std::size_t n) {
    fft_.inv(buffer_, x);
    std::vector<double> out(n);
    for (std::size_t m = 0; m < n; ++m) out[m] = buffer_[m] / damping_[m];
    return out;
  }

 private:
  std::size_t size_;
  std::vector<double> damping_;
  std::vector<double> buffer_;
  Eigen::FFT<double> fft_;
};

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

  const std::size_t size = fft_size(n);
  Transform transform(size);
  // Inflow spectra per state: arrivals spread evenly over their bin, to begin with.
  std::vector<Spectrum> inflow(states);
  double entry_total = 0.0;
  for (const double w : chain.entry()) entry_total += w;
  for (std::size_t s = 0; s < states; ++s) {
    const double share = chain.entry()[s] / entry_total;
    if (share <= 0.0) continue;
    std::vector<double> x(n);
    for (std::size_t m = 0; m < n; ++m)
      x[m] = share * arrivals[m / options.substeps] / static_cast<double>(options.substeps);
    inflow[s] = transform.forward(x);
  }
  const auto add = [size](Spectrum& target, const Spectrum& x) {
    if (target.empty()) target.assign(size, Complex{});
    for (std::size_t f = 0; f < size; ++f) target[f] += x[f];
  };

  std::vector<Spectrum> entries(states);
  std::vector<Spectrum> outflow(states);
  const markov::TransientStructure structure(chain);
  const auto& components = structure.components();
  constexpr std::size_t kOutside = static_cast<std::size_t>(-1);
  std::vector<std::size_t> position(states, kOutside);  // of a state in the current component
  // Components come successors first: walk them backwards, so every inflow is complete.
  for (auto c = components.rbegin(); c != components.rend(); ++c) {
    std::vector<std::size_t> members;
    for (const auto t : *c) members.push_back(structure.state(t));
    for (std::size_t i = 0; i < members.size(); ++i) position[members[i]] = i;
    struct Move {
      std::size_t from;  // member index
      std::size_t to;    // chain state
      Spectrum kernel;
      std::size_t leaves = kOutside;  // the state the moving leads leave (default: from)
    };
    std::vector<Move> moves;
    bool loop = false;
    for (std::size_t i = 0; i < members.size(); ++i) {
      for (auto& move : state_moves(chain, members[i], h, size, options.idle_moves)) {
        loop = loop || position[move.to] != kOutside;
        moves.push_back({i, move.to, transform.forward(move.kernel), move.leaves});
      }
    }
    // Entries of the members, frequency by frequency: E = X + K^T E, by Gauss-Seidel sweeps
    // (the damped system contracts: every loop can be left); without a loop E = X.
    std::vector<Spectrum> e(members.size());
    for (std::size_t i = 0; i < members.size(); ++i)
      e[i] = inflow[members[i]].empty() ? Spectrum(size) : inflow[members[i]];
    if (loop) {
      std::vector<std::vector<const Move*>> into(members.size());
      for (const auto& move : moves)
        if (const auto at = position[move.to]; at != kOutside) into[at].push_back(&move);
      std::vector<Complex> x(members.size());
      for (std::size_t f = 0; f < size; ++f) {
        for (std::size_t i = 0; i < members.size(); ++i) x[i] = e[i][f];  // the inflow
        std::vector<Complex> value = x;
        for (std::size_t sweep = 0;; ++sweep) {
          double change = 0.0;
          double scale = 0.0;
          for (std::size_t i = 0; i < members.size(); ++i) {
            Complex updated = x[i];
            for (const Move* move : into[i]) updated += move->kernel[f] * value[move->from];
            change = std::max(change, std::abs(updated - value[i]));
            scale = std::max(scale, std::abs(updated));
            value[i] = updated;
          }
          if (change <= 1e-15 * scale || scale == 0.0) break;
          if (sweep == 1'000'000) throw std::runtime_error("expected_path: a loop did not converge");
        }
        for (std::size_t i = 0; i < members.size(); ++i) e[i][f] = value[i];
      }
    }
    // Pass the entries on: to the outflow, and to the inflow of states outside.
    for (const auto& move : moves) {
      Spectrum flow(size);
      for (std::size_t f = 0; f < size; ++f) flow[f] = move.kernel[f] * e[move.from][f];
      add(outflow[move.leaves == kOutside ? members[move.from] : move.leaves], flow);
      if (position[move.to] == kOutside) add(inflow[move.to], flow);
    }
    for (std::size_t i = 0; i < members.size(); ++i) entries[members[i]] = std::move(e[i]);
    for (const auto s : members) position[s] = kOutside;
  }
  for (const auto s : chain.absorbing_states()) entries[s] = inflow[s];

  for (std::size_t s = 0; s < states; ++s) {
    if (entries[s].empty()) continue;
    const auto in = transform.inverse(entries[s], n);
    const auto out = outflow[s].empty() ? std::vector<double>(n, 0.0) : transform.inverse(outflow[s], n);
    double occupied = 0.0;
    for (std::size_t m = 0; m < n; ++m) {
      const std::size_t b = m / options.substeps;
      occupied += in[m] - out[m];
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
