#pragma once
// The renewal system of the expected path on its grid, solved in the damped frequency domain
// (expected_path.cpp's engine; see expected_path.hpp for the method).

#include <complex>
#include <optional>
#include <cstddef>
#include <vector>

#include <unsupported/Eigen/FFT>

#include "funnelkit/forecast/expected_path.hpp"
#include "funnelkit/markov/chain.hpp"
#include "state_moves.hpp"

namespace funnelkit::forecast::detail {

using Complex = std::complex<double>;
using Spectrum = std::vector<Complex>;

/// The transform length: at least twice the horizon, with no prime factor above 5.
[[nodiscard]] std::size_t fft_size(std::size_t n);

/// FFTs of causal sequences damped by r^m, r^size = 1e-12.
class Transform {
 public:
  explicit Transform(std::size_t size);
  [[nodiscard]] Spectrum forward(const std::vector<double>& x);
  /// The first n values of the sequence with this (damped) spectrum.
  [[nodiscard]] std::vector<double> inverse(const Spectrum& x, std::size_t n);

 private:
  std::size_t size_;
  std::vector<double> damping_;
  std::vector<double> buffer_;
  Eigen::FFT<double> fft_;
};

/// What a solve gives per state on the grid (n steps; empty: nothing): the entries, and the
/// leads leaving (moves out, and leads taken from it by steps that leave from it); and per
/// path step, its messages.
struct Flows {
  std::vector<std::vector<double>> entries;
  std::vector<std::vector<double>> outflow;
  std::vector<std::vector<double>> sent;  ///< per path step: the messages it sends
};

class Renewal {
 public:
  /// `n` grid steps of width `h`; the options' steps change the states' kernels.
  Renewal(const markov::Chain& chain, const PathOptions& options, double h, std::size_t n);
  /// Expected entries and outflows for `inflow` (per state: leads entering from outside the
  /// chain's moves, per grid step; empty: none).
  [[nodiscard]] Flows solve(const std::vector<std::vector<double>>& inflow);
  /// The moves out of `state` and its steps' messages on the grid (kernels over the
  /// transform's length).
  [[nodiscard]] const StateFlows& moves_of(std::size_t state);
  /// The spectrum of x cut after step `last` (x[m] for m <= last, then nothing).
  [[nodiscard]] Spectrum spectrum_until(const std::vector<double>& x, std::size_t last);
  /// The first n steps of the convolution of a sequence with this spectrum and kernel k.
  [[nodiscard]] std::vector<double> convolve(const Spectrum& x, const std::vector<double>& k);

 private:
  const markov::Chain& chain_;
  const PathOptions& options_;
  double h_;
  std::size_t n_;
  std::size_t size_;
  Transform transform_;
  std::vector<std::vector<const PathStep*>> steps_of_;
  std::vector<std::vector<std::size_t>> components_;  // successors first
  // The kernels do not depend on the inflow: kept across solves when there will be several
  // (sends), else dropped after use (memory: states x moves x the transform's length).
  bool keep_kernels_;
  std::vector<std::optional<StateFlows>> kernels_;
};

}  // namespace funnelkit::forecast::detail
