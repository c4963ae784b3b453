#pragma once
// ILU-preconditioned BiCGSTAB (van der Vorst), for one right-hand side and for up to
// kBlockWidth unit right-hand sides at once (the diagonal of the inverse of a large loop
// component). Convergence is always confirmed on the true residual b - A x.

#include <cstddef>
#include <span>

#include <Eigen/Dense>

#include "incomplete_lu.hpp"

namespace funnelkit::markov::detail {

struct KrylovSettings {
  double tolerance = 1e-13;  ///< on ||b - A x|| / ||b||
  std::size_t max_iterations = 1000;
};

struct KrylovOutcome {
  double residual = 0.0;  ///< true relative residual of the returned x
  std::size_t iterations = 0;
};

/// Solves A x = b (or A^T x = b) from x = 0; restarts from the true residual when the updated
/// one drifts or the recurrence breaks down.
KrylovOutcome bicgstab(const RowMatrix& a, const RowMatrix& a_transposed, const IncompleteLu& m, bool transposed,
                       const Eigen::VectorXd& b, Eigen::VectorXd& x, const KrylovSettings& settings);

inline constexpr std::size_t kBlockWidth = 8;

/// x_c = A^-1 e_{positions[c]} for up to kBlockWidth positions at once. Each column follows
/// exactly the arithmetic it would alone (its sums run over rows in the same order), so its
/// result does not depend on which columns share the block; the sparse products and the
/// preconditioner walk the matrix once for all of them. A column that breaks down or misses
/// the tolerance is reported through its outcome, for the caller to solve alone.
void bicgstab_units(const RowMatrix& a, const IncompleteLu& m, std::span<const std::size_t> positions,
                    std::span<Eigen::VectorXd> x, std::span<KrylovOutcome> outcomes, const KrylovSettings& settings);

}  // namespace funnelkit::markov::detail
