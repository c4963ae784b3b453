#pragma once
// Poisson draws from one of our own streams, so that a seed gives the same traffic on every
// platform (std::poisson_distribution's algorithm is the library's choice).

#include <cmath>
#include <cstdint>

#include "funnelkit/core/random.hpp"

namespace funnelkit::simulate {

/// Inversion for small means; Hörmann's transformed rejection (PTRS, 1993) from 10 on.
inline std::int64_t poisson(double mean, Rng& rng) {
  if (mean <= 0.0) return 0;
  if (mean < 10.0) {
    const double u = rng.uniform01();
    double p = std::exp(-mean);
    double cumulative = p;
    std::int64_t k = 0;
    while (u > cumulative && k < 1000) {
      ++k;
      p *= mean / static_cast<double>(k);
      cumulative += p;
    }
    return k;
  }
  const double root = std::sqrt(mean);
  const double log_mean = std::log(mean);
  const double b = 0.931 + 2.53 * root;
  const double a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
  const double v_r = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    const double u = rng.uniform01() - 0.5;
    const double v = rng.uniform01();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= v_r) return static_cast<std::int64_t>(k);
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <= -mean + k * log_mean - std::lgamma(k + 1.0))
      return static_cast<std::int64_t>(k);
  }
}

}  // namespace funnelkit::simulate
