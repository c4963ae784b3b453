#pragma once
/// \file The linear system behind every analytic result: I - gamma Q over the transient states,
/// solved one strongly connected component at a time with a solver chosen by the component's
/// shape.
///
/// Ordering the transient states by strongly connected components makes I - gamma Q block
/// triangular, so a solve is a sequence of small solves: a division for a stage on no cycle,
/// dense LU for small components, and ILU(0)-preconditioned BiCGSTAB for large ones, which
/// costs less than any factorisation for a handful of solves. When many columns of the inverse
/// are asked for (the reach of every stage), a large component builds a sparse LU for them if
/// its factor stays sparse (loops that stay local), else solves them eight at a time, or takes
/// one dense inverse if that is cheaper. I - gamma Q is a nonsingular M-matrix once every
/// component has an exit, which is what validation guarantees; that keeps LU without pivoting
/// and the Krylov solves safe. Iterative solves stop
/// at a relative residual of SolverOptions::tolerance, else fall back to a direct solve, else
/// throw FunnelError(Convergence): never a silently inaccurate result.

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/markov/chain.hpp"

namespace funnelkit::markov {

enum class SolveMethod {
  Automatic,  ///< choose per component (only as an option)
  Scalar,     ///< a stage on no cycle, or with a self-loop only: one division
  Dense,      ///< LU of the dense block
  SparseLU,   ///< Eigen SparseLU with a COLAMD ordering
  Iterative,  ///< BiCGSTAB preconditioned by an incomplete LU (ILU(0))
};

[[nodiscard]] std::string_view to_string(SolveMethod method) noexcept;
/// "auto", "dense", "sparse_lu", "iterative"; throws std::invalid_argument otherwise.
[[nodiscard]] SolveMethod solve_method_from_string(std::string_view text);

struct SolverOptions {
  /// Relative residual ||b - A x|| / ||b|| every iterative solve must reach.
  double tolerance = 1e-13;
  std::size_t max_iterations = 1000;
  /// Largest component an iterative solve that missed the tolerance may hand to a sparse LU
  /// (whose factor can approach k^2 numbers on expander-like components).
  std::size_t direct_fallback_limit = 12'000;
  /// Threads for independent solves (0: every core). Results do not depend on it.
  std::size_t threads = 0;
  /// Forces one method on every component with a cycle (tests, benchmarks).
  SolveMethod method = SolveMethod::Automatic;
};

/// How one strongly connected component with a cycle was solved.
struct ComponentReport {
  std::size_t size = 0;
  std::size_t nonzeros = 0;         ///< entries of the component's block of Q
  std::size_t first_state = 0;      ///< a chain state in the component, to name it
  double discount = 1.0;            ///< the system solved: I - discount * Q
  SolveMethod method = SolveMethod::Scalar;
  std::size_t factor_nonzeros = 0;  ///< of the LU factors or the incomplete LU
  std::size_t solves = 0;
  std::size_t max_iterations = 0;   ///< of a single iterative solve
  double max_residual = 0.0;        ///< largest relative residual of the solves so far
  bool fell_back = false;           ///< an iterative solve missed the tolerance: direct LU took over
  /// How the inverse's diagonal (reach) was computed: "" (not yet), or column solves with
  /// "dense", "sparse_lu" or "iterative", or "dense_inverse" (one dense inverse).
  std::string diagonal_method;
};

namespace detail {
class ComponentSolver;
}

/// The strongly connected components of the graph on `n` vertices with these arcs, as lists of
/// members, successors first (Tarjan numbers a component only after every component it
/// reaches); `component_of`, when given, receives each vertex's component.
[[nodiscard]] std::vector<std::vector<std::size_t>> components_successors_first(
    std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& arcs,
    std::vector<std::size_t>* component_of = nullptr);

/// The transient part of a chain: Q over transient indices 0..m-1 and its components.
class TransientStructure {
 public:
  explicit TransientStructure(const Chain& chain);

  [[nodiscard]] std::size_t size() const noexcept { return states_.size(); }
  /// Chain state of transient index t, and back (kNoState for absorbing states).
  [[nodiscard]] std::size_t state(std::size_t t) const { return states_[t]; }
  [[nodiscard]] std::size_t index_of(std::size_t state) const { return index_[state]; }
  /// Q restricted to transient states (row-major: row t holds the moves out of t).
  [[nodiscard]] const Eigen::SparseMatrix<double, Eigen::RowMajor>& q() const noexcept { return q_; }
  /// Transient indices per strongly connected component, successors before predecessors.
  [[nodiscard]] const std::vector<std::vector<std::size_t>>& components() const noexcept { return members_; }
  [[nodiscard]] std::size_t component_of(std::size_t t) const { return component_[t]; }
  /// The name of the component's first stage, for messages.
  [[nodiscard]] const std::string& component_name(std::size_t c) const { return names_[c]; }

 private:
  std::vector<std::string> names_;
  std::vector<std::size_t> states_;
  std::vector<std::size_t> index_;
  Eigen::SparseMatrix<double, Eigen::RowMajor> q_;
  std::vector<std::vector<std::size_t>> members_;
  std::vector<std::size_t> component_;
};

/// A = I - gamma Q, factorised component by component on construction.
class LinearSystem {
 public:
  LinearSystem(std::shared_ptr<const TransientStructure> structure, double gamma, SolverOptions options);
  ~LinearSystem();
  LinearSystem(const LinearSystem&) = delete;
  LinearSystem& operator=(const LinearSystem&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return structure_->size(); }
  /// Solves A x = b (or A^T x = b) in place: x holds b on entry.
  void solve(Eigen::Ref<Eigen::VectorXd> x, bool transposed = false) const;
  /// One solve per column, columns in parallel.
  [[nodiscard]] Eigen::MatrixXd solve_columns(Eigen::MatrixXd b, bool transposed = false) const;
  /// (A^-1)_tt for the given transient indices: the expected visits to t starting from t. Only
  /// t's own component is solved; costly for large components (one solve per index), so it
  /// runs in parallel with progress.
  [[nodiscard]] std::vector<double> inverse_diagonal(std::span<const std::size_t> indices,
                                                     const Progress& progress = {}) const;
  /// Number of column solves inverse_diagonal(indices) needs (0 for stages on no cycle).
  [[nodiscard]] std::size_t diagonal_cost(std::span<const std::size_t> indices) const;
  /// One report per component with a cycle, in solve order.
  [[nodiscard]] std::vector<ComponentReport> reports() const;

 private:
  std::shared_ptr<const TransientStructure> structure_;
  double gamma_;
  SolverOptions options_;
  Eigen::VectorXd pivot_;  // 1 - gamma q_tt, for components of one state
  std::vector<std::unique_ptr<detail::ComponentSolver>> solvers_;  // null for one-state components
};

}  // namespace funnelkit::markov
