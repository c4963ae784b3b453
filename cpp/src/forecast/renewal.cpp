#include "renewal.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "funnelkit/markov/linear_system.hpp"

namespace funnelkit::forecast::detail {
namespace {

// Causal sequences are damped by r^m before their transforms, r^M = kAliasing: what a loop
// passes round past the transform's length M folds back only that much weakened, and undoing
// the damping over the first half (the horizon) amplifies round-off by at most kAliasing^-1/2.
constexpr double kAliasing = 1e-12;

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
  return markov::components_successors_first(states, arcs);
}

}  // namespace

std::size_t fft_size(std::size_t n) {
  for (std::size_t size = std::max<std::size_t>(2 * n, 1);; ++size) {
    std::size_t rest = size;
    for (const std::size_t p : {std::size_t{2}, std::size_t{3}, std::size_t{5}})
      while (rest % p == 0) rest /= p;
    if (rest == 1) return size;
  }
}

Transform::Transform(std::size_t size) : size_(size), damping_(size), buffer_(size) {
  const double log_r = std::log(kAliasing) / static_cast<double>(size);
  for (std::size_t m = 0; m < size; ++m) damping_[m] = std::exp(log_r * static_cast<double>(m));
}

Spectrum Transform::forward(const std::vector<double>& x) {
  for (std::size_t m = 0; m < size_; ++m) buffer_[m] = m < x.size() ? x[m] * damping_[m] : 0.0;
  Spectrum out;
  fft_.fwd(out, buffer_);
  return out;
}

std::vector<double> Transform::inverse(const Spectrum& x, std::size_t n) {
  fft_.inv(buffer_, x);
  std::vector<double> out(n);
  for (std::size_t m = 0; m < n; ++m) out[m] = buffer_[m] / damping_[m];
  return out;
}

Renewal::Renewal(const markov::Chain& chain, const PathOptions& options, double h, std::size_t n)
    : chain_(chain),
      options_(options),
      h_(h),
      n_(n),
      size_(fft_size(n)),
      transform_(size_),
      steps_of_(chain.size()),
      keep_kernels_(!options.sends.empty()),
      kernels_(chain.size()) {
  for (const auto& step : options.steps) steps_of_[step.state].push_back(&step);
  components_ = flow_order(chain, steps_of_);
}

const StateFlows& Renewal::moves_of(std::size_t state) {
  auto& kept = kernels_[state];
  if (!kept) kept = state_moves(chain_, state, h_, size_, steps_of_[state], options_.treated);
  return *kept;
}

Spectrum Renewal::spectrum_until(const std::vector<double>& x, std::size_t last) {
  return transform_.forward({x.begin(), x.begin() + static_cast<std::ptrdiff_t>(std::min(last + 1, x.size()))});
}

std::vector<double> Renewal::convolve(const Spectrum& x, const std::vector<double>& k) {
  auto product = transform_.forward(k);
  for (std::size_t f = 0; f < size_; ++f) product[f] *= x[f];
  return transform_.inverse(product, n_);
}

Flows Renewal::solve(const std::vector<std::vector<double>>& inflow_steps) {
  const std::size_t states = chain_.size();
  const std::size_t size = size_;
  auto& transform = transform_;
  std::vector<Spectrum> inflow(states);
  for (std::size_t s = 0; s < states; ++s)
    if (!inflow_steps[s].empty()) inflow[s] = transform.forward(inflow_steps[s]);
  const auto add = [size](Spectrum& target, const Spectrum& x) {
    if (target.empty()) target.assign(size, Complex{});
    for (std::size_t f = 0; f < size; ++f) target[f] += x[f];
  };
  std::vector<Spectrum> entries(states);
  std::vector<Spectrum> sent(options_.steps.size());
  std::vector<Spectrum> outflow(states);
  const auto& components = components_;
  constexpr std::size_t kOutside = kSelf;
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
    std::vector<std::pair<std::size_t, const StepMessages*>> messages;  // member index, kernel
    for (std::size_t i = 0; i < members.size(); ++i) {
      const auto& state_flows = moves_of(members[i]);
      for (const auto& m : state_flows.messages) messages.emplace_back(i, &m);
      for (const auto& move : state_flows.moves) {
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
          if (change <= 1e-30 * scale || scale == 0.0) break;  // 1e-15 relative
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
    for (const auto& [i, m] : messages) {
      auto flow = transform.forward(m->kernel);
      for (std::size_t f = 0; f < size; ++f) flow[f] *= e[i][f];
      add(sent[static_cast<std::size_t>(m->step - options_.steps.data())], flow);
    }
    for (std::size_t i = 0; i < members.size(); ++i) entries[members[i]] = std::move(e[i]);
    for (const auto s : members) {
      position[s] = kOutside;
      if (!keep_kernels_) kernels_[s].reset();
    }
  }

  Flows flows{std::vector<std::vector<double>>(states), std::vector<std::vector<double>>(states),
              std::vector<std::vector<double>>(sent.size())};
  for (std::size_t k = 0; k < sent.size(); ++k)
    if (!sent[k].empty()) flows.sent[k] = transform.inverse(sent[k], n_);
  for (std::size_t s = 0; s < states; ++s) {
    if (!entries[s].empty()) flows.entries[s] = transform.inverse(entries[s], n_);
    if (!outflow[s].empty()) flows.outflow[s] = transform.inverse(outflow[s], n_);
  }
  return flows;
}

}  // namespace funnelkit::forecast::detail
