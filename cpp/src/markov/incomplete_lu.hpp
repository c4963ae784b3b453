#pragma once
// ILU(0): L and U with the sparsity of A (L unit lower, U upper). For an M-matrix it exists
// and its pivots are positive (Meijerink and van der Vorst), and one factor serves A and A^T.

#include <cstddef>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

namespace funnelkit::markov::detail {

using RowMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;

/// Throws FunnelError(NoExit): a pivot was not positive, so some loop of the funnel is left
/// with a probability too small to represent.
[[noreturn]] void numerically_singular();

class IncompleteLu {
 public:
  /// Throws FunnelError(NoExit) if a pivot is not positive (A is then not an M-matrix).
  explicit IncompleteLu(const RowMatrix& a);

  [[nodiscard]] std::size_t nonzeros() const { return static_cast<std::size_t>(lu_.nonZeros()); }

  /// x = (L U)^-1 x, or (L U)^-T x.
  void apply(Eigen::VectorXd& x, bool transposed) const;
  /// (L U)^-1 applied to `width` right-hand sides stored row by row: x[i * width + c].
  void apply_rows(double* x, std::size_t width) const;

 private:
  RowMatrix lu_;
  std::vector<std::size_t> diagonal_;  // position of the diagonal entry of each row
};

}  // namespace funnelkit::markov::detail
