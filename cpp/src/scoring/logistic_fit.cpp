// The logistic regression fit: (proximal) Newton and L-BFGS over row blocks reduced in order.
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <deque>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/logistic.hpp"

namespace funnelkit::scoring {

const char* solver_name(LogisticSolver solver) noexcept {
  switch (solver) {
    case LogisticSolver::Auto: return "auto";
    case LogisticSolver::Newton: return "newton";
    case LogisticSolver::Lbfgs: return "lbfgs";
  }
  return "auto";
}

namespace {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;

/// Columns up to which "auto" uses Newton steps (a Hessian of (p+1)² entries per block).
constexpr std::size_t newton_max_columns = 1000;
constexpr std::size_t base_block_rows = 4096;
/// Budget of doubles for the per-block Hessians held before their ordered reduction.
constexpr std::size_t hessian_budget = std::size_t{1} << 24;

double softplus(double t) noexcept { return std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))); }

double soft_threshold(double z, double gamma) noexcept {
  if (z > gamma) return z - gamma;
  if (z < -gamma) return z + gamma;
  return 0.0;
}

/// The normalised problem: mean weighted log loss + l2/2 Σ f_j² w_j² + l1 Σ f_j |w_j|, over
/// θ = (w_0 .. w_{p−1}, b). Inactive coordinates (a constant column under standardisation, the
/// intercept when not fitted) stay at zero.
class Problem {
 public:
  Problem(const FeatureMatrix& x, std::span<const double> y, std::vector<double> weights, std::vector<double> factor,
          std::vector<char> active, double l2, double l1, std::size_t threads, const Progress& progress)
      : x_(x), y_(y), s_(std::move(weights)), factor_(std::move(factor)), active_(std::move(active)), l2_(l2),
        l1_(l1), threads_(threads), progress_(progress) {
    n_ = x.rows;
    p_ = x.cols();
    m_ = p_ + 1;
    block_rows_ = base_block_rows;
    const std::size_t max_blocks = std::max<std::size_t>(1, hessian_budget / (m_ * m_));
    if ((n_ + block_rows_ - 1) / block_rows_ > max_blocks) block_rows_ = (n_ + max_blocks - 1) / max_blocks;
    blocks_ = (n_ + block_rows_ - 1) / block_rows_;
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_; }
  [[nodiscard]] bool active(std::size_t j) const noexcept { return active_[j] != 0; }
  [[nodiscard]] bool penalised(std::size_t j) const noexcept { return j < p_; }
  [[nodiscard]] double l1_weight(std::size_t j) const noexcept { return j < p_ ? l1_ * factor_[j] : 0.0; }
  [[nodiscard]] double l1() const noexcept { return l1_; }

  /// Penalty part of the normalised objective.
  [[nodiscard]] double penalty(const Vector& theta) const {
    double sum2 = 0.0;
    double sum1 = 0.0;
    for (std::size_t j = 0; j < p_; ++j) {
      const double v = factor_[j] * theta[static_cast<Eigen::Index>(j)];
      sum2 += v * v;
      sum1 += std::abs(v);
    }
    return 0.5 * l2_ * sum2 + l1_ * sum1;
  }

  /// Mean weighted loss (+ its gradient, + its Hessian's lower triangle when asked), the
  /// smooth L2 part added to both.
  double evaluate(const Vector& theta, Vector* gradient, Matrix* hessian) const {
    const auto m = static_cast<Eigen::Index>(m_);
    std::vector<double> losses(blocks_, 0.0);
    std::vector<Vector> gradients(gradient ? blocks_ : 0);
    std::vector<Matrix> hessians(hessian ? blocks_ : 0);
    parallel_for(
        blocks_, threads_,
        [&](std::size_t b) {
          const std::size_t begin = b * block_rows_;
          const std::size_t rows = std::min(n_, begin + block_rows_) - begin;
          std::vector<double> eta(rows, theta[m - 1]);
          for (std::size_t j = 0; j < p_; ++j) {
            const double w = theta[static_cast<Eigen::Index>(j)];
            if (w == 0.0) continue;
            const double* column = x_.columns[j].data() + begin;
            for (std::size_t i = 0; i < rows; ++i) eta[i] += w * column[i];
          }
          double loss = 0.0;
          std::vector<double> r(gradient ? rows : 0);
          std::vector<double> root(hessian ? rows : 0);
          for (std::size_t i = 0; i < rows; ++i) {
            const double s = s_[begin + i];
            const double t = eta[i];
            const double yi = y_[begin + i];
            const double e = std::exp(-std::abs(t));  // one exponential for the loss and the sigmoid
            loss += s * (std::max(t, 0.0) + std::log1p(e) - yi * t);
            if (gradient) {
              const double prob = t >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
              r[i] = s * (prob - yi);
              if (hessian) root[i] = std::sqrt(s * prob * (1.0 - prob));
            }
          }
          losses[b] = loss;
          if (!gradient) return;
          Vector g(m);
          for (std::size_t j = 0; j < p_; ++j) {
            const double* column = x_.columns[j].data() + begin;
            double sum = 0.0;
            for (std::size_t i = 0; i < rows; ++i) sum += r[i] * column[i];
            g[static_cast<Eigen::Index>(j)] = sum;
          }
          double sum = 0.0;
          for (std::size_t i = 0; i < rows; ++i) sum += r[i];
          g[m - 1] = sum;
          gradients[b] = std::move(g);
          if (!hessian) return;
          Matrix w(static_cast<Eigen::Index>(rows), m);
          for (std::size_t j = 0; j < p_; ++j) {
            const double* column = x_.columns[j].data() + begin;
            for (std::size_t i = 0; i < rows; ++i) w(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = root[i] * column[i];
          }
          for (std::size_t i = 0; i < rows; ++i) w(static_cast<Eigen::Index>(i), m - 1) = root[i];
          Matrix h = Matrix::Zero(m, m);
          h.selfadjointView<Eigen::Lower>().rankUpdate(w.transpose());
          hessians[b] = std::move(h);
        },
        progress_, 0);
    double loss = 0.0;
    for (const double l : losses) loss += l;
    if (gradient) {
      gradient->setZero(m);
      for (const auto& g : gradients) *gradient += g;
      for (std::size_t j = 0; j < p_; ++j) {
        const auto k = static_cast<Eigen::Index>(j);
        (*gradient)[k] += l2_ * factor_[j] * factor_[j] * theta[k];
      }
      for (std::size_t j = 0; j < m_; ++j)
        if (!active(j)) (*gradient)[static_cast<Eigen::Index>(j)] = 0.0;
    }
    if (hessian) {
      hessian->setZero(m, m);
      for (const auto& h : hessians) hessian->triangularView<Eigen::Lower>() += h;
      *hessian = hessian->selfadjointView<Eigen::Lower>();
      for (std::size_t j = 0; j < p_; ++j) {
        const auto k = static_cast<Eigen::Index>(j);
        (*hessian)(k, k) += l2_ * factor_[j] * factor_[j];
      }
      for (std::size_t j = 0; j < m_; ++j) {
        if (active(j)) continue;
        const auto k = static_cast<Eigen::Index>(j);
        hessian->row(k).setZero();
        hessian->col(k).setZero();
        (*hessian)(k, k) = 1.0;
      }
    }
    return loss + 0.5 * l2_ * smooth_norm(theta);
  }

  /// The whole normalised objective (smooth part + L1).
  [[nodiscard]] double objective(const Vector& theta) const {
    return evaluate(theta, nullptr, nullptr) + l1_norm(theta);
  }

  [[nodiscard]] double l1_norm(const Vector& theta) const {
    double sum = 0.0;
    for (std::size_t j = 0; j < p_; ++j) sum += factor_[j] * std::abs(theta[static_cast<Eigen::Index>(j)]);
    return l1_ * sum;
  }

  /// Σ λ_j (|θ_j + δ_j| − |θ_j|), term by term.
  [[nodiscard]] double l1_change(const Vector& theta, const Vector& delta) const {
    double sum = 0.0;
    for (std::size_t j = 0; j < p_; ++j) {
      const auto k = static_cast<Eigen::Index>(j);
      sum += factor_[j] * (std::abs(theta[k] + delta[k]) - std::abs(theta[k]));
    }
    return l1_ * sum;
  }

  /// Largest entry of the minimum-norm subgradient (the KKT violation) given the smooth gradient.
  [[nodiscard]] double kkt(const Vector& theta, const Vector& gradient) const {
    double worst = 0.0;
    for (std::size_t j = 0; j < m_; ++j) {
      if (!active(j)) continue;
      const auto k = static_cast<Eigen::Index>(j);
      const double g = gradient[k];
      const double lambda = l1_weight(j);
      double v = 0.0;
      if (lambda == 0.0) {
        v = std::abs(g);
      } else if (theta[k] > 0) {
        v = std::abs(g + lambda);
      } else if (theta[k] < 0) {
        v = std::abs(g - lambda);
      } else {
        v = std::max(std::abs(g) - lambda, 0.0);
      }
      worst = std::max(worst, v);
    }
    return worst;
  }

 private:
  [[nodiscard]] double smooth_norm(const Vector& theta) const {
    double sum = 0.0;
    for (std::size_t j = 0; j < p_; ++j) {
      const double v = factor_[j] * theta[static_cast<Eigen::Index>(j)];
      sum += v * v;
    }
    return sum;
  }

  const FeatureMatrix& x_;
  std::span<const double> y_;
  std::vector<double> s_;
  std::vector<double> factor_;
  std::vector<char> active_;
  double l2_;
  double l1_;
  std::size_t threads_;
  const Progress& progress_;
  std::size_t n_ = 0, p_ = 0, m_ = 0, block_rows_ = 0, blocks_ = 0;
};

struct Outcome {
  Vector theta;
  std::size_t iterations = 0;
  bool converged = false;
  double kkt = 0.0;
};

/// Whether a trial point is acceptable: Armijo's sufficient decrease, or (near the optimum,
/// where the decrease is below the rounding of a sum over many rows) no increase beyond it.
bool accept(double trial, double current, double step, double decrease) {
  if (trial <= current + 1e-4 * step * decrease) return true;
  return step == 1.0 && trial - current <= 64 * std::numeric_limits<double>::epsilon() * std::abs(current);
}

/// Coordinate descent on the proximal Newton model
///     gᵀΔ + ½ ΔᵀHΔ + Σ λ_j |θ_j + Δ_j|,
/// the glmnet inner loop on the Hessian (Gram) matrix.
Vector coordinate_step(const Problem& problem, const Vector& theta, const Vector& gradient, const Matrix& hessian,
                       double kkt) {
  const auto m = static_cast<Eigen::Index>(problem.size());
  Vector delta = Vector::Zero(m);
  Vector q = Vector::Zero(m);  // H Δ
  const double stop = std::max(1e-3 * kkt, 1e-16);
  for (int sweep = 0; sweep < 100000; ++sweep) {
    double largest = 0.0;
    for (Eigen::Index k = 0; k < m; ++k) {
      const auto j = static_cast<std::size_t>(k);
      if (!problem.active(j)) continue;
      const double a = hessian(k, k);
      if (a <= 0.0) continue;
      const double u = theta[k] + delta[k];
      const double z = a * u - (gradient[k] + q[k]);
      const double next = soft_threshold(z, problem.l1_weight(j)) / a;
      const double change = next - u;
      if (change == 0.0) continue;
      delta[k] += change;
      q += change * hessian.col(k);
      largest = std::max(largest, a * std::abs(change));
    }
    if (largest <= stop) break;
  }
  return delta;
}

Outcome newton(const Problem& problem, const LogisticOptions& options, const Vector& start) {
  Outcome out;
  out.theta = start;
  Vector gradient;
  Matrix hessian;
  double current = problem.evaluate(out.theta, &gradient, &hessian) + problem.l1_norm(out.theta);
  for (;;) {
    out.kkt = problem.kkt(out.theta, gradient);
    if (out.kkt <= options.tol) {
      out.converged = true;
      break;
    }
    if (out.iterations >= options.max_iter) break;
    Vector delta;
    if (problem.l1() == 0.0) {
      const Eigen::LDLT<Matrix> ldlt(hessian);
      delta = ldlt.solve(-gradient);
    } else {
      delta = coordinate_step(problem, out.theta, gradient, hessian, out.kkt);
    }
    if (!delta.allFinite()) break;
    // Predicted decrease, the L1 change summed per coordinate (a difference of two norms
    // would drown it in rounding near the optimum). Not negative: only rounding is left, and
    // the full step is taken if it does not raise the objective beyond rounding.
    double decrease = gradient.dot(delta) + problem.l1_change(out.theta, delta);
    if (!std::isfinite(decrease)) break;
    decrease = std::min(decrease, 0.0);
    // The full step is tried with its gradient and Hessian (Newton steps are mostly taken
    // whole, so this saves a pass); shorter ones with the objective alone.
    Vector next_gradient;
    Matrix next_hessian;
    Vector candidate = out.theta + delta;
    double value = problem.evaluate(candidate, &next_gradient, &next_hessian) + problem.l1_norm(candidate);
    bool moved = accept(value, current, 1.0, decrease);
    if (moved) {
      gradient = std::move(next_gradient);
      hessian = std::move(next_hessian);
    } else {
      double step = 0.5;
      for (int trial = 1; trial < 60 && !moved && decrease < 0.0; ++trial, step *= 0.5) {
        candidate = out.theta + step * delta;
        value = problem.objective(candidate);
        moved = accept(value, current, step, decrease);
      }
      if (moved) (void)problem.evaluate(candidate, &gradient, &hessian);
    }
    if (!moved) break;
    out.theta = candidate;
    current = value;
    ++out.iterations;
  }
  return out;
}

/// L-BFGS (10 pairs) with a diagonal initial scaling and backtracking; smooth problems only.
Outcome lbfgs(const Problem& problem, const LogisticOptions& options, const Vector& diagonal, const Vector& start) {
  constexpr std::size_t memory = 10;
  Outcome out;
  out.theta = start;
  Vector gradient;
  double current = problem.evaluate(out.theta, &gradient, nullptr);
  std::deque<Vector> ss;
  std::deque<Vector> ys;
  std::deque<double> rhos;
  double gamma = 1.0;
  for (;;) {
    out.kkt = problem.kkt(out.theta, gradient);
    if (out.kkt <= options.tol) {
      out.converged = true;
      break;
    }
    if (out.iterations >= options.max_iter) break;
    // Two-loop recursion: direction = −H gradient.
    Vector q = gradient;
    std::vector<double> alpha(ss.size());
    for (std::size_t i = ss.size(); i-- > 0;) {
      alpha[i] = rhos[i] * ss[i].dot(q);
      q -= alpha[i] * ys[i];
    }
    Vector direction = gamma * diagonal.cwiseProduct(q);
    for (std::size_t i = 0; i < ss.size(); ++i) {
      const double beta = rhos[i] * ys[i].dot(direction);
      direction += (alpha[i] - beta) * ss[i];
    }
    direction = -direction;
    double slope = gradient.dot(direction);
    if (!(slope < 0.0)) {  // lost curvature information: restart along the scaled gradient
      ss.clear(), ys.clear(), rhos.clear();
      direction = -diagonal.cwiseProduct(gradient);
      slope = gradient.dot(direction);
      if (!(slope < 0.0)) break;
    }
    double step = 1.0;
    bool moved = false;
    Vector next_gradient;
    for (int trial = 0; trial < 60; ++trial, step *= 0.5) {
      const Vector candidate = out.theta + step * direction;
      const double value = problem.evaluate(candidate, &next_gradient, nullptr);
      if (accept(value, current, step, slope)) {
        const Vector s = candidate - out.theta;
        const Vector y = next_gradient - gradient;
        const double sy = s.dot(y);
        if (sy > 1e-12 * y.squaredNorm() && sy > 0.0) {
          if (ss.size() == memory) ss.pop_front(), ys.pop_front(), rhos.pop_front();
          ss.push_back(s);
          ys.push_back(y);
          rhos.push_back(1.0 / sy);
          gamma = sy / y.dot(diagonal.cwiseProduct(y));
        }
        out.theta = candidate;
        gradient = next_gradient;
        current = value;
        moved = true;
        break;
      }
    }
    if (!moved) break;
    ++out.iterations;
  }
  return out;
}

}  // namespace

LogisticFit fit_logistic(const FeatureMatrix& x, std::span<const double> y, std::span<const double> sample_weight,
                         const LogisticOptions& options, const Progress& progress) {
  const std::size_t n = x.rows;
  const std::size_t p = x.cols();
  if (!(options.C > 0.0) || std::isnan(options.C)) throw std::invalid_argument("C must be positive (inf: no penalty)");
  if (!(options.l1_ratio >= 0.0 && options.l1_ratio <= 1.0))
    throw std::invalid_argument("l1_ratio must be between 0 and 1");
  if (!(options.tol > 0.0)) throw std::invalid_argument("tol must be positive");
  for (const double w : options.class_weight)
    if (!(w >= 0.0) || !std::isfinite(w)) throw std::invalid_argument("class weights must be finite and non-negative");
  if (y.size() != n)
    throw FunnelError(ErrorKind::Label,
                      "labels have " + std::to_string(y.size()) + " rows but the features " + std::to_string(n), "y");
  if (n == 0) throw FunnelError(ErrorKind::Label, "no rows to fit on", "y");
  for (std::size_t j = 0; j < p; ++j)
    if (x.columns[j].size() < n) throw std::invalid_argument("feature column " + std::to_string(j) + " is too short");
  if (!sample_weight.empty() && sample_weight.size() != n)
    throw std::invalid_argument("sample_weight has " + std::to_string(sample_weight.size()) + " rows but the features " +
                                std::to_string(n));
  double by_class[2] = {0.0, 0.0};
  std::size_t count[2] = {0, 0};
  for (std::size_t i = 0; i < n; ++i) {
    const double yi = y[i];
    if (yi != 0.0 && yi != 1.0)
      throw FunnelError(ErrorKind::Label, "labels must be 0 or 1; row " + std::to_string(i) + " holds " + std::to_string(yi), "y");
    const double w = sample_weight.empty() ? 1.0 : sample_weight[i];
    if (!(w >= 0.0) || !std::isfinite(w))
      throw std::invalid_argument("sample weights must be finite and non-negative (row " + std::to_string(i) + ")");
    const auto c = static_cast<std::size_t>(yi);
    by_class[c] += w;
    ++count[c];
  }
  if (count[0] == 0 || count[1] == 0)
    throw FunnelError(ErrorKind::Label,
                      std::string("the labels hold one class only (all ") + (count[0] == 0 ? "1" : "0") +
                          "); a model needs both buyers and non-buyers",
                      "y");

  LogisticFit fit;
  fit.class_weight[0] = options.class_weight[0];
  fit.class_weight[1] = options.class_weight[1];
  if (options.balanced) {
    const double total = by_class[0] + by_class[1];
    if (by_class[0] <= 0.0 || by_class[1] <= 0.0) throw std::invalid_argument("a class has zero total sample weight");
    fit.class_weight[0] = total / (2.0 * by_class[0]);
    fit.class_weight[1] = total / (2.0 * by_class[1]);
  }
  std::vector<double> s(n);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = (sample_weight.empty() ? 1.0 : sample_weight[i]) * fit.class_weight[y[i] == 1.0 ? 1 : 0];
    total += s[i];
  }
  if (!(total > 0.0)) throw std::invalid_argument("the sample weights sum to zero");
  for (double& v : s) v /= total;

  // Column statistics (each column on one thread: exact whatever the thread count), finiteness.
  fit.means.assign(p, 0.0);
  fit.scales.assign(p, 1.0);
  std::vector<double> spread(p, 0.0);
  std::vector<char> finite(p, 1);
  parallel_for(p, options.threads, [&](std::size_t j) {
    const double* column = x.columns[j].data();
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += column[i];
    if (!std::isfinite(sum)) {
      finite[j] = 0;
      return;
    }
    const double mean = sum / static_cast<double>(n);
    double squares = 0.0;
    for (std::size_t i = 0; i < n; ++i) squares += (column[i] - mean) * (column[i] - mean);
    fit.means[j] = mean;
    spread[j] = std::sqrt(squares / static_cast<double>(n));
  });
  for (std::size_t j = 0; j < p; ++j)
    if (!finite[j])
      throw FunnelError(ErrorKind::FeatureValue, "feature column " + std::to_string(j) + " holds NaN or infinite values",
                        std::to_string(j));

  std::vector<double> factor(p, 1.0);
  std::vector<char> active(p + 1, 1);
  active[p] = options.fit_intercept ? 1 : 0;
  if (options.standardize) {
    for (std::size_t j = 0; j < p; ++j) {
      // A column constant up to rounding is treated as constant (StandardScaler's rule).
      const bool constant = spread[j] <= 10 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(fit.means[j]));
      factor[j] = constant ? 0.0 : spread[j];
      fit.scales[j] = constant ? 1.0 : spread[j];
      if (constant) active[j] = 0;
    }
  }
  const bool penalised = std::isfinite(options.C);
  const double strength = penalised ? 1.0 / (options.C * total) : 0.0;
  const double l2 = strength * (1.0 - options.l1_ratio);
  const double l1 = strength * options.l1_ratio;

  LogisticSolver solver = options.solver;
  if (solver == LogisticSolver::Auto)
    solver = (l1 > 0.0 || p + 1 <= newton_max_columns) ? LogisticSolver::Newton : LogisticSolver::Lbfgs;
  if (solver == LogisticSolver::Lbfgs && l1 > 0.0)
    throw std::invalid_argument("the lbfgs solver handles L2 or no penalty only; use newton (or auto) with l1_ratio > 0");
  fit.solver = solver;

  // Start from the intercept-only model's intercept when there is one (the log-odds of the
  // weighted positive share): rare positives then need a step or two fewer.
  Vector start = Vector::Zero(static_cast<Eigen::Index>(p + 1));
  if (options.fit_intercept) {
    double positive = 0.0;
    for (std::size_t i = 0; i < n; ++i) positive += y[i] * s[i];
    if (positive > 0.0 && positive < 1.0) start[static_cast<Eigen::Index>(p)] = std::log(positive / (1.0 - positive));
  }
  const Problem problem(x, y, std::move(s), factor, active, l2, l1, options.threads, progress);
  Outcome outcome;
  if (solver == LogisticSolver::Newton) {
    outcome = newton(problem, options, start);
  } else {
    // Initial inverse-Hessian scaling: the Hessian's diagonal bound at any point, 1/4 Σ s x².
    Vector diagonal = Vector::Ones(static_cast<Eigen::Index>(p + 1));
    for (std::size_t j = 0; j <= p; ++j) {
      double sum = 0.0;
      if (j < p) {
        const double* column = x.columns[j].data();
        for (std::size_t i = 0; i < n; ++i) sum += column[i] * column[i];
        sum = 0.25 * sum / static_cast<double>(n) + l2 * factor[j] * factor[j];
      } else {
        sum = 0.25;
      }
      diagonal[static_cast<Eigen::Index>(j)] = sum > 0.0 ? 1.0 / sum : 1.0;
    }
    outcome = lbfgs(problem, options, diagonal, start);
  }
  fit.coefficients.assign(p, 0.0);
  for (std::size_t j = 0; j < p; ++j) fit.coefficients[j] = outcome.theta[static_cast<Eigen::Index>(j)];
  fit.intercept = outcome.theta[static_cast<Eigen::Index>(p)];
  fit.iterations = outcome.iterations;
  fit.converged = outcome.converged;
  fit.gradient_norm = outcome.kkt;
  const double normalised = problem.objective(outcome.theta);
  fit.objective = penalised ? normalised * options.C * total : normalised * total;
  return fit;
}

double logistic_objective(const FeatureMatrix& x, std::span<const double> y, std::span<const double> weights,
                          std::span<const double> coefficients, double intercept, double C, double l1_ratio) {
  double loss = 0.0;
  for (std::size_t i = 0; i < x.rows; ++i) {
    double eta = intercept;
    for (std::size_t j = 0; j < x.cols(); ++j) eta += coefficients[j] * x(i, j);
    loss += (weights.empty() ? 1.0 : weights[i]) * (softplus(eta) - y[i] * eta);
  }
  if (!std::isfinite(C)) return loss;
  double sum2 = 0.0;
  double sum1 = 0.0;
  for (const double w : coefficients) sum2 += w * w, sum1 += std::abs(w);
  return C * loss + 0.5 * (1.0 - l1_ratio) * sum2 + l1_ratio * sum1;
}

}  // namespace funnelkit::scoring
