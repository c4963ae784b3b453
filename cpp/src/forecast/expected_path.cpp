#include "funnelkit/forecast/expected_path.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <stdexcept>
#include <string>

#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/strong_components.hpp>
#include <unsupported/Eigen/FFT>

#include "state_moves.hpp"

namespace funnelkit::forecast {
namespace {

using Complex = std::complex<double>;
using Spectrum = std::vector<Complex>;

// Causal sequences are damped by r^m before their transforms, r^M = kAliasing: what a loop
// passes round past the transform's length M folds back only that much weakened, and undoing
// the damping over the first half (the horizon) amplifies round-off by at most kAliasing^-1/2.
constexpr double kAliasing = 1e-12;

// The transform length: at least twice the horizon, with no prime factor above 5 (fast for
// Eigen's FFT, and up to 1.8x shorter than the next power of two).
std::size_t fft_size(std::size_t n) {
  for (std::size_t size = std::max<std::size_t>(2 * n, 1);; ++size) {
    std::size_t rest = size;
    for (const std::size_t p : {std::size_t{2}, std::size_t{3}, std::size_t{5}})
      while (rest % p == 0) rest /= p;
    if (rest == 1) return size;
  }
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

// The states' strongly connected components over the chain's moves and the steps' moves (a
// message can close a loop: a buyer brought back to browse), successors first (Tarjan numbers
// a component only after every component it reaches).
std::vector<std::vector<std::size_t>> flow_order(const markov::Chain& chain,
                                                 const std::vector<std::vector<const PathStep*>>& steps_of) {
  const std::size_t states = chain.size();
  std::vector<std::pair<std::size_t, std::size_t>> arcs;
  for (std::size_t s = 0; s < states; ++s) {
    for (const auto& t : chain.transitions(s))
      if (t.probability > 0.0) arcs.emplace_back(s, t.to);
    for (const auto* step : steps_of[s])
      if (step->target != markov::kNoState && step->reach > 0.0) arcs.emplace_back(s, step->target);
  }
  const boost::compressed_sparse_row_graph<boost::directedS> graph(boost::edges_are_unsorted_multi_pass, arcs.begin(),
                                                                   arcs.end(), states);
  std::vector<std::size_t> component(states);
  const auto count = boost::strong_components(
      graph, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, graph)));
  std::vector<std::vector<std::size_t>> members(count);
  for (std::size_t s = 0; s < states; ++s) members[component[s]].push_back(s);
  return members;
}

void check_steps(const markov::Chain& chain, const PathOptions& options) {
  const auto fail = [](std::size_t k, const std::string& what) {
    throw std::invalid_argument("path step " + std::to_string(k) + ": " + what);
  };
  const auto finite = [](double x) { return std::isfinite(x); };
  for (std::size_t k = 0; k < options.steps.size(); ++k) {
    const auto& step = options.steps[k];
    if (step.state >= chain.size()) fail(k, "its state is outside the chain");
    if (step.target != markov::kNoState && step.target >= chain.size()) fail(k, "its target is outside the chain");
    if (!(step.delay >= 0.0) || !finite(step.delay)) fail(k, "the delay must be >= 0 and finite");
    if (!(step.reach >= 0.0 && step.reach <= 1.0)) fail(k, "the reach must lie in [0, 1]");
    if (!(step.multiplier >= 0.0) || !finite(step.multiplier)) fail(k, "the multiplier must be >= 0 and finite");
    for (const auto s : step.toward)
      if (s >= chain.size()) fail(k, "a favoured state is outside the chain");
  }
  for (const double share : options.treated)
    if (!(share >= 0.0 && share <= 1.0)) throw std::invalid_argument("a treated share must lie in [0, 1]");
}

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
  std::vector<std::vector<const PathStep*>> steps_of(states);
  for (const auto& step : options.steps) steps_of[step.state].push_back(&step);
  const auto components = flow_order(chain, steps_of);
  constexpr std::size_t kOutside = detail::kSelf;
  std::vector<std::size_t> position(states, kOutside);  // of a state in the current component
  // Components come successors first: walk them backwards, so every inflow is complete.
  for (auto c = components.rbegin(); c != components.rend(); ++c) {
    const std::vector<std::size_t>& members = *c;
    for (std::size_t i = 0; i < members.size(); ++i) position[members[i]] = i;
    struct Move {
      std::size_t from;  // member index
      std::size_t to;    // chain state
      Spectrum kernel;
      std::size_t leaves = kOutside;  // the state the moving leads leave (default: from)
    };
    std::vector<Move> moves;
    bool loop = false;
    bool reached = false;
    for (const auto s : members) reached = reached || !inflow[s].empty();
    if (!reached) {  // nothing ever enters: nothing to pass on
      for (const auto s : members) position[s] = kOutside;
      continue;
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      for (auto& move : detail::state_moves(chain, members[i], h, size, steps_of[members[i]], options.treated)) {
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
      // The sequences are real, so their spectra are Hermitian: solve half, mirror the rest.
      std::vector<Complex> x(members.size());
      std::vector<Complex> value(members.size());
      for (std::size_t f = 0; f <= size / 2; ++f) {
        for (std::size_t i = 0; i < members.size(); ++i) x[i] = value[i] = e[i][f];  // the inflow
        for (std::size_t sweep = 0;; ++sweep) {
          double change = 0.0;  // squared moduli: no square roots in the sweep
          double scale = 0.0;
          for (std::size_t i = 0; i < members.size(); ++i) {
            Complex updated = x[i];
            for (const Move* move : into[i]) updated += move->kernel[f] * value[move->from];
            change = std::max(change, std::norm(updated - value[i]));
            scale = std::max(scale, std::norm(updated));
            value[i] = updated;
          }
          if (change <= 1e-30 * scale || scale == 0.0) break;
          if (sweep == 1'000'000) throw std::runtime_error("expected_path: a loop did not converge");
        }
        for (std::size_t i = 0; i < members.size(); ++i) {
          e[i][f] = value[i];
          if (f != 0 && 2 * f != size) e[i][size - f] = std::conj(value[i]);
        }
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
