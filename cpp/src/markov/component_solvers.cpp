#include "component_solvers.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/SparseLU>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::markov::detail {
namespace {

using Eigen::Index;
using Eigen::VectorXd;

Index to_index(std::size_t i) { return static_cast<Index>(i); }
std::size_t to_size(Index i) { return static_cast<std::size_t>(i); }

[[noreturn]] void singular() {
  throw FunnelError(ErrorKind::NoExit,
                    "the funnel's transient part is numerically singular: some loop is left with a probability "
                    "too small to represent; give it a larger exit probability");
}

// ---------------------------------------------------------------------------------------------
// LU without pivoting, blocked so that the trailing updates are matrix products (Eigen's GEMM).
// A is a nonsingular, weakly row-diagonally dominant M-matrix: every pivot is positive and
// elimination growth is bounded by 2, so no pivoting is needed.
class DenseLu {
 public:
  explicit DenseLu(const RowMatrix& a) : lu_(Eigen::MatrixXd(a)) {
    const Index k = lu_.rows();
    constexpr Index block = 64;
    for (Index p = 0; p < k; p += block) {
      const Index b = std::min(block, k - p);
      const Index rest = k - p - b;
      for (Index j = p; j < p + b; ++j) {  // the panel, column by column
        if (!(lu_(j, j) > 0.0)) singular();
        const Index below = k - j - 1;
        if (below == 0) continue;
        lu_.col(j).tail(below) /= lu_(j, j);
        if (const Index right = p + b - j - 1; right > 0)
          lu_.block(j + 1, j + 1, below, right).noalias() -= lu_.col(j).tail(below) * lu_.row(j).segment(j + 1, right);
      }
      if (rest > 0) {  // (empty blocks are never formed: Eigen's triangular solves trip UBSan on them)
        auto upper = lu_.block(p, p + b, b, rest);
        lu_.block(p, p, b, b).triangularView<Eigen::UnitLower>().solveInPlace(upper);
        lu_.block(p + b, p + b, rest, rest).noalias() -= lu_.block(p + b, p, rest, b) * lu_.block(p, p + b, b, rest);
      }
    }
  }

  void solve(Eigen::Ref<VectorXd> x, bool transposed) const {
    if (transposed) {  // A^T = U^T L^T
      lu_.triangularView<Eigen::Upper>().transpose().solveInPlace(x);
      lu_.triangularView<Eigen::UnitLower>().transpose().solveInPlace(x);
    } else {
      lu_.triangularView<Eigen::UnitLower>().solveInPlace(x);
      lu_.triangularView<Eigen::Upper>().solveInPlace(x);
    }
  }

  /// A^-1 by triangular solves on the identity (blocked, about 2 k^3 flops).
  [[nodiscard]] Eigen::MatrixXd inverse() const {
    Eigen::MatrixXd x = Eigen::MatrixXd::Identity(lu_.rows(), lu_.cols());
    lu_.triangularView<Eigen::UnitLower>().solveInPlace(x);
    lu_.triangularView<Eigen::Upper>().solveInPlace(x);
    return x;
  }

  [[nodiscard]] std::size_t size() const { return to_size(lu_.rows()); }

 private:
  Eigen::MatrixXd lu_;
};

class DenseSolver final : public ComponentSolver {
 public:
  DenseSolver(RowMatrix a, ComponentReport report) : ComponentSolver(std::move(a), report), lu_(a_) {
    set_factor_nonzeros(lu_.size() * lu_.size());
  }

  void solve(Eigen::Ref<VectorXd> x, bool transposed) const override {
    const VectorXd b = x;
    lu_.solve(x, transposed);
    record(relative_residual(b, x, transposed));
  }

  [[nodiscard]] double column_cost() const override {
    return 2.0 * static_cast<double>(lu_.size()) * static_cast<double>(lu_.size());
  }

 private:
  DenseLu lu_;
};

// ---------------------------------------------------------------------------------------------
using ColumnMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
using SparseLu = Eigen::SparseLU<ColumnMatrix, Eigen::COLAMDOrdering<int>>;

class SparseLuSolver final : public ComponentSolver {
 public:
  SparseLuSolver(RowMatrix a, ComponentReport report) : ComponentSolver(std::move(a), report) {
    ColumnMatrix columns = a_;
    columns.makeCompressed();
    lu_.analyzePattern(columns);
    lu_.factorize(columns);
    if (lu_.info() != Eigen::Success) singular();
    set_factor_nonzeros(to_size(lu_.nnzL() + lu_.nnzU()));
  }

  void solve(Eigen::Ref<VectorXd> x, bool transposed) const override {
    const VectorXd b = x;
    x = transposed ? VectorXd(mutable_lu().transpose().solve(b)) : VectorXd(lu_.solve(b));
    record(relative_residual(b, x, transposed));
  }

  [[nodiscard]] double column_cost() const override { return 4.0 * static_cast<double>(report().factor_nonzeros); }

 protected:
  // Unit right-hand sides solved together: one multi-column solve amortises the traversal of
  // the supernodal factor.
  void column_diagonal(std::span<const std::size_t> positions, std::span<double> out) const override {
    const auto k = a_.rows();
    Eigen::MatrixXd units = Eigen::MatrixXd::Zero(k, to_index(positions.size()));
    for (std::size_t c = 0; c < positions.size(); ++c) units(to_index(positions[c]), to_index(c)) = 1.0;
    const Eigen::MatrixXd columns = lu_.solve(units);
    for (std::size_t c = 0; c < positions.size(); ++c) {
      out[c] = columns(to_index(positions[c]), to_index(c));
      record(relative_residual(units.col(to_index(c)), columns.col(to_index(c)), false));
    }
  }

 private:
  // Eigen 3.4's SparseLU::transpose() is not const although it changes nothing.
  SparseLu& mutable_lu() const { return const_cast<SparseLu&>(lu_); }
  SparseLu lu_;
};

// ---------------------------------------------------------------------------------------------
// ILU(0): L and U with the sparsity of A (L unit lower, U upper). For an M-matrix it exists
// and its pivots are positive (Meijerink and van der Vorst), and one factor serves A and A^T.
class IncompleteLu {
 public:
  explicit IncompleteLu(const RowMatrix& a) : lu_(a) {
    lu_.makeCompressed();
    const auto n = to_size(lu_.rows());
    const int* outer = lu_.outerIndexPtr();
    const int* inner = lu_.innerIndexPtr();
    double* values = lu_.valuePtr();
    diagonal_.assign(n, 0);
    std::vector<int> where(n, -1);  // position in row i of each column, -1 if absent
    for (std::size_t i = 0; i < n; ++i) {
      const auto begin = static_cast<std::size_t>(outer[i]);
      const auto end = static_cast<std::size_t>(outer[i + 1]);
      for (auto p = begin; p < end; ++p) where[static_cast<std::size_t>(inner[p])] = static_cast<int>(p);
      for (auto p = begin; p < end; ++p) {
        const auto k = static_cast<std::size_t>(inner[p]);
        if (k >= i) break;
        values[p] /= values[diagonal_[k]];
        const double l = values[p];
        for (auto q = diagonal_[k] + 1; q < static_cast<std::size_t>(outer[k + 1]); ++q)
          if (const int at = where[static_cast<std::size_t>(inner[q])]; at >= 0)
            values[static_cast<std::size_t>(at)] -= l * values[q];
      }
      const int at = where[i];
      if (at < 0 || !(values[static_cast<std::size_t>(at)] > 0.0)) singular();
      diagonal_[i] = static_cast<std::size_t>(at);
      for (auto p = begin; p < end; ++p) where[static_cast<std::size_t>(inner[p])] = -1;
    }
  }

  [[nodiscard]] std::size_t nonzeros() const { return to_size(lu_.nonZeros()); }

  // x = (L U)^-1 x, or (L U)^-T x
  void apply(VectorXd& x, bool transposed) const {
    const auto n = to_size(lu_.rows());
    const int* outer = lu_.outerIndexPtr();
    const int* inner = lu_.innerIndexPtr();
    const double* values = lu_.valuePtr();
    auto col = [&](std::size_t p) { return static_cast<Index>(inner[p]); };
    if (!transposed) {
      for (std::size_t i = 0; i < n; ++i) {  // L y = x
        double sum = x[to_index(i)];
        for (auto p = static_cast<std::size_t>(outer[i]); p < diagonal_[i]; ++p) sum -= values[p] * x[col(p)];
        x[to_index(i)] = sum;
      }
      for (std::size_t i = n; i-- > 0;) {  // U x = y
        double sum = x[to_index(i)];
        for (auto p = diagonal_[i] + 1; p < static_cast<std::size_t>(outer[i + 1]); ++p) sum -= values[p] * x[col(p)];
        x[to_index(i)] = sum / values[diagonal_[i]];
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {  // U^T y = x, column-oriented on the rows of U
        const double value = x[to_index(i)] / values[diagonal_[i]];
        x[to_index(i)] = value;
        for (auto p = diagonal_[i] + 1; p < static_cast<std::size_t>(outer[i + 1]); ++p) x[col(p)] -= values[p] * value;
      }
      for (std::size_t i = n; i-- > 0;) {  // L^T x = y
        const double value = x[to_index(i)];
        for (auto p = static_cast<std::size_t>(outer[i]); p < diagonal_[i]; ++p) x[col(p)] -= values[p] * value;
      }
    }
  }

 private:
  RowMatrix lu_;
  std::vector<std::size_t> diagonal_;  // position of the diagonal entry of each row
};

class IterativeSolver final : public ComponentSolver {
 public:
  IterativeSolver(RowMatrix a, ComponentReport report, const SolverOptions& options, std::string name)
      : ComponentSolver(std::move(a), report),
        transpose_(a_.transpose()),
        ilu_(a_),
        tolerance_(options.tolerance),
        max_iterations_(options.max_iterations),
        fallback_limit_(options.direct_fallback_limit),
        name_(std::move(name)) {
    set_factor_nonzeros(ilu_.nonzeros());
  }

  // A unit right-hand side takes some 30 to 60 iterations to reach 1e-13 on page-level funnels
  // (measured); a fixed guess keeps the choice independent of what was solved before.
  [[nodiscard]] double column_cost() const override {
    constexpr double iterations = 40.0;
    const double per_iteration = 4.0 * static_cast<double>(a_.nonZeros() + static_cast<Index>(ilu_.nonzeros())) +
                                 14.0 * static_cast<double>(a_.rows());
    return iterations * per_iteration;
  }

  void solve(Eigen::Ref<VectorXd> x, bool transposed) const override {
    const VectorXd b = x;
    VectorXd solution;
    std::size_t iterations = 0;
    const double residual = bicgstab(b, transposed, solution, iterations);
    if (residual <= tolerance_) {
      x = solution;
      record(residual, iterations);
      return;
    }
    x = b;
    direct(residual).solve(x, transposed);
    record(relative_residual(b, x, transposed), iterations, true);
  }

 private:
  // Preconditioned BiCGSTAB (van der Vorst) from x = 0. Returns the true relative residual;
  // the recursively updated residual drifts, so convergence is confirmed on b - A x and the
  // iteration restarts from there when they disagree.
  double bicgstab(const VectorXd& b, bool transposed, VectorXd& x, std::size_t& iterations) const {
    const RowMatrix& a = transposed ? transpose_ : a_;
    const double b_norm = b.norm();
    x = VectorXd::Zero(b.size());
    if (b_norm == 0.0) return 0.0;
    const double target = 0.5 * tolerance_ * b_norm;
    VectorXd r = b;
    double residual = 1.0;
    for (int restart = 0; restart < 4 && iterations < max_iterations_; ++restart) {
      const VectorXd r_hat = r;
      VectorXd p = VectorXd::Zero(b.size()), v = VectorXd::Zero(b.size()), y, z, s, t;
      double rho = 1.0, alpha = 1.0, omega = 1.0;
      while (iterations < max_iterations_) {
        ++iterations;
        const double rho_next = r_hat.dot(r);
        if (rho_next == 0.0 || omega == 0.0) break;  // breakdown: restart from the true residual
        const double beta = (rho_next / rho) * (alpha / omega);
        rho = rho_next;
        p = r + beta * (p - omega * v);
        y = p;
        ilu_.apply(y, transposed);
        v.noalias() = a * y;
        const double denominator = r_hat.dot(v);
        if (denominator == 0.0) break;
        alpha = rho / denominator;
        s = r - alpha * v;
        if (s.norm() <= target) {
          x += alpha * y;
          break;
        }
        z = s;
        ilu_.apply(z, transposed);
        t.noalias() = a * z;
        const double tt = t.squaredNorm();
        omega = tt > 0.0 ? t.dot(s) / tt : 0.0;
        x += alpha * y + omega * z;
        r = s - omega * t;
        if (r.norm() <= target) break;
      }
      r = b;
      r.noalias() -= a * x;
      residual = r.norm() / b_norm;
      if (residual <= tolerance_) return residual;
    }
    return residual;
  }

  // Built once, the first time an iterative solve misses its tolerance.
  const ComponentSolver& direct(double residual) const {
    std::call_once(direct_once_, [&] {
      if (to_size(a_.rows()) <= fallback_limit_) direct_ = make_sparse_lu_solver(a_, report());
    });
    if (!direct_)
      throw FunnelError(ErrorKind::Convergence,
                        "the iterative solve of the " + std::to_string(a_.rows()) + "-stage loop component containing '" +
                            name_ + "' stopped at relative residual " + std::to_string(residual) + " (tolerance " +
                            std::to_string(tolerance_) +
                            ") and the component is too large for a direct solve; its loops are left with too small "
                            "a probability: give them a larger exit probability",
                        name_);
    return *direct_;
  }

  RowMatrix transpose_;
  IncompleteLu ilu_;
  double tolerance_;
  std::size_t max_iterations_;
  std::size_t fallback_limit_;
  std::string name_;
  mutable std::once_flag direct_once_;
  mutable std::unique_ptr<ComponentSolver> direct_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
ComponentSolver::ComponentSolver(RowMatrix a, ComponentReport report) : a_(std::move(a)), report_(report) {
  a_.makeCompressed();
}

bool ComponentSolver::prefers_dense_inverse(std::size_t requested) const {
  // Many columns of a moderate component: one dense inverse beats the column solves, since
  // its matrix products run near peak speed while column solves are bound by memory.
  const auto k = static_cast<double>(a_.rows());
  return a_.rows() <= static_cast<Index>(kDenseInverseLimit) &&
         kDenseFlopsPerColumnFlop * k * k * k < static_cast<double>(requested) * column_cost();
}

void ComponentSolver::inverse_diagonal(std::span<const std::size_t> positions, std::span<double> out,
                                       bool dense) const {
  if (!dense) {
    column_diagonal(positions, out);
    return;
  }
  std::call_once(dense_once_, [&] {
    const Eigen::MatrixXd inverse = DenseLu(a_).inverse();
    dense_diagonal_ = inverse.diagonal();
    double worst = 0.0;
    for (Index j = 0; j < inverse.cols(); ++j)
      worst = std::max(worst, relative_residual(VectorXd::Unit(a_.rows(), j), inverse.col(j), false));
    record(worst);
  });
  for (std::size_t c = 0; c < positions.size(); ++c) out[c] = dense_diagonal_[to_index(positions[c])];
}

void ComponentSolver::column_diagonal(std::span<const std::size_t> positions, std::span<double> out) const {
  VectorXd unit(a_.rows());
  for (std::size_t c = 0; c < positions.size(); ++c) {
    unit.setZero();
    unit[to_index(positions[c])] = 1.0;
    solve(unit, false);
    out[c] = unit[to_index(positions[c])];
  }
}

ComponentReport ComponentSolver::report() const {
  const std::lock_guard lock(mutex_);
  return report_;
}

double ComponentSolver::relative_residual(const VectorXd& b, const Eigen::Ref<const VectorXd>& x,
                                          bool transposed) const {
  const double b_norm = b.norm();
  if (b_norm == 0.0) return x.norm() == 0.0 ? 0.0 : INFINITY;
  VectorXd r = b;
  if (transposed) r.noalias() -= a_.transpose() * x;
  else r.noalias() -= a_ * x;
  return r.norm() / b_norm;
}

void ComponentSolver::record(double residual, std::size_t iterations, bool fell_back) const {
  const std::lock_guard lock(mutex_);
  ++report_.solves;
  report_.max_residual = std::max(report_.max_residual, residual);
  report_.max_iterations = std::max(report_.max_iterations, iterations);
  report_.fell_back = report_.fell_back || fell_back;
}

void ComponentSolver::set_factor_nonzeros(std::size_t count) {
  const std::lock_guard lock(mutex_);
  report_.factor_nonzeros = count;
}

std::unique_ptr<ComponentSolver> make_dense_solver(RowMatrix a, ComponentReport report) {
  report.method = SolveMethod::Dense;
  return std::make_unique<DenseSolver>(std::move(a), report);
}

std::unique_ptr<ComponentSolver> make_sparse_lu_solver(RowMatrix a, ComponentReport report) {
  report.method = SolveMethod::SparseLU;
  return std::make_unique<SparseLuSolver>(std::move(a), report);
}

std::unique_ptr<ComponentSolver> make_iterative_solver(RowMatrix a, ComponentReport report,
                                                       const SolverOptions& options, std::string component_name) {
  report.method = SolveMethod::Iterative;
  return std::make_unique<IterativeSolver>(std::move(a), report, options, std::move(component_name));
}

std::size_t bounded_fill(const RowMatrix& a, std::size_t budget) {
  // The symmetrised pattern, keeping for each row the neighbours numbered below it (CSR).
  const auto n = to_size(a.rows());
  std::vector<std::size_t> offsets(n + 1, 0);
  for (Index i = 0; i < a.outerSize(); ++i)
    for (RowMatrix::InnerIterator it(a, i); it; ++it)
      if (to_size(it.col()) != to_size(i)) ++offsets[std::max(to_size(i), to_size(it.col())) + 1];
  for (std::size_t k = 0; k < n; ++k) offsets[k + 1] += offsets[k];
  std::vector<std::size_t> lower(offsets.back());
  auto next = offsets;
  for (Index i = 0; i < a.outerSize(); ++i)
    for (RowMatrix::InnerIterator it(a, i); it; ++it) {
      const auto r = to_size(i), c = to_size(it.col());
      if (r != c) lower[next[std::max(r, c)]++] = std::min(r, c);
    }
  // Row k of the factor is the union of the elimination-tree paths from its neighbours below
  // k up to k; each step of the walk is one nonzero, so the walk stops once over budget.
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::vector<std::size_t> parent(n, none), mark(n, none);
  std::size_t count = n;
  for (std::size_t k = 0; k < n; ++k) {
    mark[k] = k;
    for (auto p = offsets[k]; p < offsets[k + 1]; ++p) {
      for (auto i = lower[p]; mark[i] != k; i = parent[i]) {
        if (parent[i] == none) parent[i] = k;
        mark[i] = k;
        ++count;
      }
      if (count > budget) return count;
    }
  }
  return count;
}

}  // namespace funnelkit::markov::detail
