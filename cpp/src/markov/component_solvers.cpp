#include "component_solvers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <Eigen/OrderingMethods>
#include <Eigen/SparseLU>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/core/parallel.hpp"
#include "krylov.hpp"

namespace funnelkit::markov::detail {
namespace {

using Eigen::Index;
using Eigen::VectorXd;

Index to_index(std::size_t i) { return static_cast<Index>(i); }
std::size_t to_size(Index i) { return static_cast<std::size_t>(i); }

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
        if (!(lu_(j, j) > 0.0)) numerically_singular();
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

  /// diag(A^-1) = diag(U^-1 L^-1): column j of L^-1 and row j of U^-1 are zero above and left
  /// of j, so each is a triangular solve of the trailing k - j unknowns (k^3 / 3 flops each for
  /// all j). Column blocks of fixed width run in parallel; each block is computed the same way
  /// whichever thread takes it, so the result does not depend on the thread count.
  [[nodiscard]] VectorXd inverse_diagonal(std::size_t threads) const {
    const Index k = lu_.rows();
    constexpr Index width = 64;
    VectorXd diagonal(k);
    const auto blocks = to_size((k + width - 1) / width);
    parallel_for(blocks, threads, [&](std::size_t block) {
      const Index first = static_cast<Index>(block) * width;
      const Index w = std::min(width, k - first);
      const Index rest = k - first;
      Eigen::MatrixXd lower = Eigen::MatrixXd::Identity(rest, w);  // rows first.. of L^-1 e_j
      Eigen::MatrixXd upper = Eigen::MatrixXd::Identity(rest, w);  // rows first.. of U^-T e_j
      const auto trailing = lu_.bottomRightCorner(rest, rest);
      trailing.triangularView<Eigen::UnitLower>().solveInPlace(lower);
      trailing.triangularView<Eigen::Upper>().transpose().solveInPlace(upper);
      for (Index c = 0; c < w; ++c) diagonal[first + c] = upper.col(c).tail(rest - c).dot(lower.col(c).tail(rest - c));
    });
    return diagonal;
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
    if (lu_.info() != Eigen::Success) numerically_singular();
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
class IterativeSolver final : public ComponentSolver {
 public:
  IterativeSolver(RowMatrix a, ComponentReport report, const SolverOptions& options, std::string name)
      : ComponentSolver(std::move(a), report),
        transpose_(a_.transpose()),
        ilu_(a_),
        settings_{options.tolerance, options.max_iterations},
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
    const auto outcome = bicgstab(a_, transpose_, ilu_, transposed, b, solution, settings_);
    if (outcome.residual <= settings_.tolerance) {
      x = solution;
      record(outcome.residual, outcome.iterations);
      return;
    }
    x = b;
    direct(outcome.residual).solve(x, transposed);
    record(relative_residual(b, x, transposed), outcome.iterations, true);
  }

  // Many unit columns are cheaper through a sparse LU when its factor stays sparse (loops that
  // stay local): predicted once, at the first request, by the bounded fill count.
  [[nodiscard]] const ComponentSolver* column_solver() const override {
    std::call_once(column_once_, [&] {
      const auto budget = kFillBudgetFactor * to_size(a_.nonZeros());
      if (bounded_fill(a_, budget) <= budget) {
        column_solver_ = &lu();
      } else if (to_size(a_.rows()) <= kOrderingLimit) {
        // The given order may hide a sparse factor (hub pages numbered first): try a
        // fill-reducing order too, as the LU's own COLAMD ordering would find it.
        Eigen::AMDOrdering<int> amd;
        Eigen::AMDOrdering<int>::PermutationType order;  // order.indices()[new] = old
        amd(Eigen::SparseMatrix<double, Eigen::ColMajor, int>(a_), order);
        std::vector<int> position(to_size(order.size()));
        for (Index k = 0; k < order.size(); ++k) position[to_size(order.indices()[k])] = static_cast<int>(k);
        if (bounded_fill(a_, budget, position) <= budget) column_solver_ = &lu();
      }
    });
    return column_solver_;
  }

 protected:
  // Unit columns eight at a time: one pass over the matrix and the preconditioner serves all.
  void column_diagonal(std::span<const std::size_t> positions, std::span<double> out) const override {
    std::array<VectorXd, kBlockWidth> x;
    std::array<KrylovOutcome, kBlockWidth> outcomes;
    for (std::size_t first = 0; first < positions.size(); first += kBlockWidth) {
      const auto count = std::min(kBlockWidth, positions.size() - first);
      const auto block = positions.subspan(first, count);
      bicgstab_units(a_, ilu_, block, std::span(x).first(count), std::span(outcomes).first(count), settings_);
      for (std::size_t c = 0; c < count; ++c) {
        if (outcomes[c].residual <= settings_.tolerance) {
          out[first + c] = x[c][to_index(block[c])];
          record(outcomes[c].residual, outcomes[c].iterations);
        } else {  // alone, with restarts and the direct fallback
          VectorXd unit = VectorXd::Unit(a_.rows(), to_index(block[c]));
          solve(unit, false);
          out[first + c] = unit[to_index(block[c])];
        }
      }
    }
  }

 private:
  const ComponentSolver& lu() const {
    std::call_once(lu_once_, [&] { lu_ = make_sparse_lu_solver(a_, report()); });
    return *lu_;
  }

  // The sparse LU, when an iterative solve misses its tolerance.
  const ComponentSolver& direct(double residual) const {
    if (to_size(a_.rows()) > fallback_limit_)
      throw FunnelError(ErrorKind::Convergence,
                        "the iterative solve of the " + std::to_string(a_.rows()) + "-stage loop component containing '" +
                            name_ + "' stopped at relative residual " + std::to_string(residual) + " (tolerance " +
                            std::to_string(settings_.tolerance) +
                            ") and the component is too large for a direct solve; its loops are left with too small "
                            "a probability: give them a larger exit probability",
                        name_);
    return lu();
  }

  RowMatrix transpose_;
  IncompleteLu ilu_;
  KrylovSettings settings_;
  std::size_t fallback_limit_;
  std::string name_;
  mutable std::once_flag lu_once_, column_once_;
  mutable std::unique_ptr<ComponentSolver> lu_;
  mutable const ComponentSolver* column_solver_ = nullptr;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
ComponentSolver::ComponentSolver(RowMatrix a, ComponentReport report) : a_(std::move(a)), report_(report) {
  a_.makeCompressed();
}

void ComponentSolver::prepare_diagonal(std::size_t requested, std::size_t threads) const {
  // One dense inverse beats many column solves on a moderate component: its matrix products
  // run near peak speed while column solves are bound by memory.
  const auto* helper = column_solver();
  const double columns = static_cast<double>(requested) * (helper ? helper->column_cost() : column_cost());
  const auto k = static_cast<double>(a_.rows());
  if (a_.rows() <= static_cast<Index>(kDenseInverseLimit) && kDenseFlopsPerColumnFlop * k * k * k < columns) {
    plan_ = DiagonalPlan::DenseInverse;
    set_diagonal_method("dense_inverse");
    if (dense_diagonal_.size() == 0) {
      const DenseLu lu(a_);
      dense_diagonal_ = lu.inverse_diagonal(threads);
      // The factor's accuracy, sampled on three unit columns (a full check would cost k^3).
      double worst = 0.0;
      for (const Index j : {Index{0}, a_.rows() / 2, a_.rows() - 1}) {
        VectorXd x = VectorXd::Unit(a_.rows(), j);
        lu.solve(x, false);
        worst = std::max(worst, relative_residual(VectorXd::Unit(a_.rows(), j), x, false));
      }
      record(worst);
    }
  } else {
    plan_ = helper ? DiagonalPlan::HelperColumns : DiagonalPlan::Columns;
    set_diagonal_method(helper ? to_string(helper->report().method) : to_string(report().method));
  }
}

void ComponentSolver::inverse_diagonal(std::span<const std::size_t> positions, std::span<double> out) const {
  switch (plan_) {
    case DiagonalPlan::DenseInverse:
      for (std::size_t c = 0; c < positions.size(); ++c) out[c] = dense_diagonal_[to_index(positions[c])];
      return;
    case DiagonalPlan::HelperColumns: column_solver()->column_diagonal(positions, out); return;
    case DiagonalPlan::Columns: column_diagonal(positions, out); return;
  }
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
  ComponentReport out;
  {
    const std::lock_guard lock(mutex_);
    out = report_;
  }
  if (plan_ == DiagonalPlan::HelperColumns) {  // the helper's column solves count as ours
    const auto helper = column_solver()->report();
    out.solves += helper.solves;
    out.max_residual = std::max(out.max_residual, helper.max_residual);
  }
  return out;
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

void ComponentSolver::set_diagonal_method(std::string_view method) const {
  const std::lock_guard lock(mutex_);
  report_.diagonal_method = method;
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

std::size_t bounded_fill(const RowMatrix& a, std::size_t budget, std::span<const int> position) {
  // The symmetrised pattern, renumbered by `position`, keeping for each row the neighbours
  // numbered below it (CSR).
  const auto n = to_size(a.rows());
  const auto at = [&](Index i) { return position.empty() ? to_size(i) : static_cast<std::size_t>(position[to_size(i)]); };
  std::vector<std::size_t> offsets(n + 1, 0);
  for (Index i = 0; i < a.outerSize(); ++i)
    for (RowMatrix::InnerIterator it(a, i); it; ++it)
      if (it.col() != i) ++offsets[std::max(at(i), at(it.col())) + 1];
  for (std::size_t k = 0; k < n; ++k) offsets[k + 1] += offsets[k];
  std::vector<std::size_t> lower(offsets.back());
  auto next = offsets;
  for (Index i = 0; i < a.outerSize(); ++i)
    for (RowMatrix::InnerIterator it(a, i); it; ++it) {
      const auto r = at(i), c = at(it.col());
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
