#pragma once
// Solvers for one strongly connected component's block A = I - gamma Q_CC (internal to the
// engine; linear_system.cpp picks one per component). Every solver is safe to call from several
// threads at once: factorisations are read-only after construction, and statistics are kept
// under a mutex.

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include "funnelkit/markov/linear_system.hpp"
#include "incomplete_lu.hpp"

namespace funnelkit::markov::detail {

// A sparse LU whose predicted factor stays below this many times the block's nonzeros costs
// less per column solve than a Krylov solve (tens of iterations, each a few products with the
// block and its incomplete factors).
inline constexpr std::size_t kFillBudgetFactor = 24;
// Up to this size a fill-reducing ordering is tried when the given order fills in.
inline constexpr std::size_t kOrderingLimit = 20'000;

class ComponentSolver {
 public:
  ComponentSolver(RowMatrix a, ComponentReport report);
  virtual ~ComponentSolver() = default;
  ComponentSolver(const ComponentSolver&) = delete;
  ComponentSolver& operator=(const ComponentSolver&) = delete;

  /// Solves A x = b (or A^T x = b) in place: x holds b on entry.
  virtual void solve(Eigen::Ref<Eigen::VectorXd> x, bool transposed) const = 0;
  /// Chooses how `requested` entries of the inverse's diagonal will be computed (the cheapest
  /// of: column solves, column solves with a sparse LU built for them, one dense inverse) and
  /// builds what that needs. Called on the calling thread before the columns are split over
  /// threads, so the method (and every bit of the result) does not depend on the thread count.
  void prepare_diagonal(std::size_t requested, std::size_t threads) const;
  /// (A^-1)_jj for local positions j, the way prepare_diagonal chose; safe from many threads.
  void inverse_diagonal(std::span<const std::size_t> positions, std::span<double> out) const;
  /// Estimated flops of one column solve.
  [[nodiscard]] virtual double column_cost() const = 0;

  [[nodiscard]] ComponentReport report() const;
  [[nodiscard]] const RowMatrix& matrix() const noexcept { return a_; }

 protected:
  /// ||b - A x|| / ||b|| (0 when b is 0).
  [[nodiscard]] double relative_residual(const Eigen::VectorXd& b, const Eigen::Ref<const Eigen::VectorXd>& x,
                                         bool transposed) const;
  void record(double residual, std::size_t iterations = 0, bool fell_back = false) const;
  void set_factor_nonzeros(std::size_t count);
  void set_diagonal_method(std::string_view method) const;
  /// One unit solve per position (solvers that can batch them override this).
  virtual void column_diagonal(std::span<const std::size_t> positions, std::span<double> out) const;
  /// A solver better suited to many column solves (an iterative solver's sparse LU, when the
  /// factor stays sparse), built on first request; null if there is none.
  [[nodiscard]] virtual const ComponentSolver* column_solver() const { return nullptr; }

  RowMatrix a_;

 private:
  // The diagonal through a dense LU costs about 4/3 k^3 flops at matrix-product speed (the
  // triangular inverses spread over the cores), some 1.2 times the flop rate of column solves
  // spread over the cores eight at a time (measured on two); it is worth its k^2 memory up to
  // this size.
  static constexpr double kDenseFlopsPerColumnFlop = 1.33 / 1.2;
  static constexpr std::size_t kDenseInverseLimit = 4'000;

  enum class DiagonalPlan { Columns, HelperColumns, DenseInverse };
  mutable DiagonalPlan plan_ = DiagonalPlan::Columns;
  mutable Eigen::VectorXd dense_diagonal_;  // empty until a dense inverse was computed
  mutable std::mutex mutex_;
  mutable ComponentReport report_;
};

/// Dense LU without pivoting (blocked).
[[nodiscard]] std::unique_ptr<ComponentSolver> make_dense_solver(RowMatrix a, ComponentReport report);
/// Eigen SparseLU with a COLAMD ordering.
[[nodiscard]] std::unique_ptr<ComponentSolver> make_sparse_lu_solver(RowMatrix a, ComponentReport report);
/// ILU(0)-preconditioned BiCGSTAB; falls back to a direct solve when a solve misses the
/// tolerance, and builds a sparse LU for many column solves when its factor stays sparse.
[[nodiscard]] std::unique_ptr<ComponentSolver> make_iterative_solver(RowMatrix a, ComponentReport report,
                                                                     const SolverOptions& options,
                                                                     std::string component_name);

/// Nonzeros of the Cholesky factor of the symmetrised pattern of `a` (renumbered so that row i
/// comes at position[i], natural order when empty), or a
/// number above `budget` as soon as it exceeds it (so the count costs at most O(budget)): a
/// cheap prediction of whether a sparse LU stays sparse.
[[nodiscard]] std::size_t bounded_fill(const RowMatrix& a, std::size_t budget, std::span<const int> position = {});

}  // namespace funnelkit::markov::detail
