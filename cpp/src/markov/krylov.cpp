#include "krylov.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace funnelkit::markov::detail {
namespace {

using Eigen::Index;
using Eigen::VectorXd;

double true_residual(const RowMatrix& a, const VectorXd& b, const VectorXd& x) {
  VectorXd r = b;
  r.noalias() -= a * x;
  return r.norm() / b.norm();
}

}  // namespace

KrylovOutcome bicgstab(const RowMatrix& a, const RowMatrix& a_transposed, const IncompleteLu& m, bool transposed,
                       const VectorXd& b, VectorXd& x, const KrylovSettings& settings) {
  const RowMatrix& op = transposed ? a_transposed : a;
  KrylovOutcome out;
  const double b_norm = b.norm();
  x = VectorXd::Zero(b.size());
  if (b_norm == 0.0) return out;
  const double target = 0.5 * settings.tolerance * b_norm;
  VectorXd r = b;
  out.residual = 1.0;
  for (int restart = 0; restart < 4 && out.iterations < settings.max_iterations; ++restart) {
    const VectorXd r_hat = r;
    VectorXd p = VectorXd::Zero(b.size()), v = VectorXd::Zero(b.size()), y, z, s, t;
    double rho = 1.0, alpha = 1.0, omega = 1.0;
    while (out.iterations < settings.max_iterations) {
      ++out.iterations;
      const double rho_next = r_hat.dot(r);
      if (rho_next == 0.0 || omega == 0.0) break;  // breakdown: restart from the true residual
      const double beta = (rho_next / rho) * (alpha / omega);
      rho = rho_next;
      p = r + beta * (p - omega * v);
      y = p;
      m.apply(y, transposed);
      v.noalias() = op * y;
      const double denominator = r_hat.dot(v);
      if (denominator == 0.0) break;
      alpha = rho / denominator;
      s = r - alpha * v;
      if (s.norm() <= target) {
        x += alpha * y;
        break;
      }
      z = s;
      m.apply(z, transposed);
      t.noalias() = op * z;
      const double tt = t.squaredNorm();
      omega = tt > 0.0 ? t.dot(s) / tt : 0.0;
      x += alpha * y + omega * z;
      r = s - omega * t;
      if (r.norm() <= target) break;
    }
    r = b;
    r.noalias() -= op * x;
    out.residual = r.norm() / b_norm;
    if (out.residual <= settings.tolerance) return out;
  }
  return out;
}

void bicgstab_units(const RowMatrix& a, const IncompleteLu& m, std::span<const std::size_t> positions,
                    std::span<VectorXd> x, std::span<KrylovOutcome> outcomes, const KrylovSettings& settings) {
  constexpr std::size_t w = kBlockWidth;
  const auto n = static_cast<std::size_t>(a.rows());
  const auto used = positions.size();
  // Row-major blocks: row i of every right-hand side side by side, so that one pass over the
  // sparse rows serves all columns.
  std::vector<double> xs(n * w, 0.0), r(n * w, 0.0), r_hat, p(n * w, 0.0), v(n * w, 0.0), y(n * w), s(n * w),
      z(n * w), t(n * w);
  for (std::size_t c = 0; c < used; ++c) r[positions[c] * w + c] = 1.0;
  r_hat = r;
  std::array<double, w> rho{}, alpha{}, omega{}, beta{};
  std::array<bool, w> active{};
  std::array<int, w> restarts{};
  rho.fill(1.0);
  alpha.fill(1.0);
  omega.fill(1.0);
  for (std::size_t c = 0; c < used; ++c) active[c] = true;
  const double target = 0.5 * settings.tolerance;  // ||e_j|| = 1

  const int* outer = a.outerIndexPtr();
  const int* inner = a.innerIndexPtr();
  const double* values = a.valuePtr();
  auto multiply = [&](const std::vector<double>& in, std::vector<double>& result) {  // result = A in
    for (std::size_t i = 0; i < n; ++i) {
      std::array<double, w> sum{};
      for (auto q = static_cast<std::size_t>(outer[i]); q < static_cast<std::size_t>(outer[i + 1]); ++q) {
        const double* row = in.data() + static_cast<std::size_t>(inner[q]) * w;
        for (std::size_t c = 0; c < w; ++c) sum[c] += values[q] * row[c];
      }
      std::copy(sum.begin(), sum.end(), result.begin() + static_cast<std::ptrdiff_t>(i * w));
    }
  };
  auto dots = [&](const std::vector<double>& left, const std::vector<double>& right) {
    std::array<double, w> sum{};
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < w; ++c) sum[c] += left[i * w + c] * right[i * w + c];
    return sum;
  };
  auto finish = [&](std::size_t c, std::size_t iterations) {
    active[c] = false;
    outcomes[c].iterations = iterations;
  };
  // A breakdown (a shadow residual orthogonal to the residual, which a unit right-hand side
  // makes likely early on) restarts that column alone from its true residual, as a lone solve
  // would; after a few restarts it is left to a lone solve.
  auto restart = [&](std::size_t c, std::size_t iterations) {
    if (++restarts[c] > 3) {
      finish(c, iterations);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      double sum = i == positions[c] ? 1.0 : 0.0;
      for (auto q = static_cast<std::size_t>(outer[i]); q < static_cast<std::size_t>(outer[i + 1]); ++q)
        sum -= values[q] * xs[static_cast<std::size_t>(inner[q]) * w + c];
      r[i * w + c] = r_hat[i * w + c] = sum;
      p[i * w + c] = v[i * w + c] = 0.0;
    }
    rho[c] = alpha[c] = omega[c] = 1.0;
  };

  std::size_t iterations = 0;
  while (std::any_of(active.begin(), active.end(), [](bool on) { return on; }) && iterations < settings.max_iterations) {
    ++iterations;
    auto rho_next = dots(r_hat, r);
    for (std::size_t c = 0; c < w; ++c) {
      if (!active[c]) continue;
      if (rho_next[c] == 0.0 || omega[c] == 0.0) {
        restart(c, iterations);
        if (!active[c]) continue;
        rho_next[c] = 0.0;
        for (std::size_t i = 0; i < n; ++i) rho_next[c] += r_hat[i * w + c] * r[i * w + c];
      }
      beta[c] = (rho_next[c] / rho[c]) * (alpha[c] / omega[c]);
      rho[c] = rho_next[c];
    }
    // Finished columns get zero coefficients: their vectors stay finite and their x unchanged,
    // and the updates below run over whole rows without a branch.
    const auto live = [&](const std::array<double, w>& coefficient) {
      std::array<double, w> out{};
      for (std::size_t c = 0; c < w; ++c) out[c] = active[c] ? coefficient[c] : 0.0;
      return out;
    };
    const auto beta_live = live(beta), omega_before = live(omega);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < w; ++c) {
        const auto k = i * w + c;
        p[k] = r[k] + beta_live[c] * (p[k] - omega_before[c] * v[k]);
      }
    y = p;
    m.apply_rows(y.data(), w);
    multiply(y, v);
    const auto denominator = dots(r_hat, v);
    for (std::size_t c = 0; c < w; ++c) {
      if (!active[c]) continue;
      alpha[c] = denominator[c] != 0.0 ? rho[c] / denominator[c] : 0.0;  // 0: a restart follows
    }
    const auto alpha_live = live(alpha);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < w; ++c) s[i * w + c] = r[i * w + c] - alpha_live[c] * v[i * w + c];
    const auto s_norm = dots(s, s);
    for (std::size_t c = 0; c < w; ++c)
      if (active[c] && std::sqrt(s_norm[c]) <= target) {
        for (std::size_t i = 0; i < n; ++i) xs[i * w + c] += alpha[c] * y[i * w + c];
        finish(c, iterations);
      }
    z = s;
    m.apply_rows(z.data(), w);
    multiply(z, t);
    const auto ts = dots(t, s);
    const auto tt = dots(t, t);
    for (std::size_t c = 0; c < w; ++c)
      if (active[c]) omega[c] = tt[c] > 0.0 && alpha[c] != 0.0 ? ts[c] / tt[c] : 0.0;
    const auto alpha_now = live(alpha), omega_now = live(omega);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < w; ++c) {
        const auto k = i * w + c;
        xs[k] += alpha_now[c] * y[k] + omega_now[c] * z[k];
        r[k] = s[k] - omega_now[c] * t[k];
      }
    const auto r_norm = dots(r, r);
    for (std::size_t c = 0; c < w; ++c)
      if (active[c] && std::sqrt(r_norm[c]) <= target) finish(c, iterations);
  }
  for (std::size_t c = 0; c < used; ++c) {
    if (active[c]) outcomes[c].iterations = iterations;
    x[c].resize(static_cast<Index>(n));
    for (std::size_t i = 0; i < n; ++i) x[c][static_cast<Index>(i)] = xs[i * w + c];
    outcomes[c].residual = true_residual(a, VectorXd::Unit(static_cast<Index>(n), static_cast<Index>(positions[c])), x[c]);
  }
}

}  // namespace funnelkit::markov::detail
