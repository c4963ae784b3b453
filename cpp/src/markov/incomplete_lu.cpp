#include "incomplete_lu.hpp"

#include "funnelkit/core/errors.hpp"

namespace funnelkit::markov::detail {

void numerically_singular() {
  throw FunnelError(ErrorKind::NoExit,
                    "the funnel's transient part is numerically singular: some loop is left with a probability "
                    "too small to represent; give it a larger exit probability");
}

IncompleteLu::IncompleteLu(const RowMatrix& a) : lu_(a) {
  lu_.makeCompressed();
  const auto n = static_cast<std::size_t>(lu_.rows());
  const int* outer = lu_.outerIndexPtr();
  const int* inner = lu_.innerIndexPtr();
  double* values = lu_.valuePtr();
  diagonal_.assign(n, 0);
  std::vector<int> where(n, -1);  // position in row i of each column, -1 if absent
  for (std::size_t i = 0; i < n; ++i) {
    const auto begin = static_cast<std::size_t>(outer[i]);
    const auto end = static_cast<std::size_t>(outer[i + 1]);
    for (auto p = begin; p < end; ++p) where[static_cast<std::size_t>(inner[p])] = static_cast<int>(p);
    for (auto p = begin; p < end; ++p) {  // row i -= l_ik row k, for k < i, within row i's pattern
      const auto k = static_cast<std::size_t>(inner[p]);
      if (k >= i) break;
      values[p] /= values[diagonal_[k]];
      const double l = values[p];
      for (auto q = diagonal_[k] + 1; q < static_cast<std::size_t>(outer[k + 1]); ++q)
        if (const int at = where[static_cast<std::size_t>(inner[q])]; at >= 0) values[static_cast<std::size_t>(at)] -= l * values[q];
    }
    const int at = where[i];
    if (at < 0 || !(values[static_cast<std::size_t>(at)] > 0.0)) numerically_singular();
    diagonal_[i] = static_cast<std::size_t>(at);
    for (auto p = begin; p < end; ++p) where[static_cast<std::size_t>(inner[p])] = -1;
  }
}

void IncompleteLu::apply(Eigen::VectorXd& x, bool transposed) const {
  if (!transposed) {
    apply_rows(x.data(), 1);
    return;
  }
  const auto n = static_cast<std::size_t>(lu_.rows());
  const int* outer = lu_.outerIndexPtr();
  const int* inner = lu_.innerIndexPtr();
  const double* values = lu_.valuePtr();
  double* v = x.data();
  for (std::size_t i = 0; i < n; ++i) {  // U^T y = x, column-oriented on the rows of U
    const double value = v[i] / values[diagonal_[i]];
    v[i] = value;
    for (auto p = diagonal_[i] + 1; p < static_cast<std::size_t>(outer[i + 1]); ++p)
      v[static_cast<std::size_t>(inner[p])] -= values[p] * value;
  }
  for (std::size_t i = n; i-- > 0;) {  // L^T x = y
    const double value = v[i];
    for (auto p = static_cast<std::size_t>(outer[i]); p < diagonal_[i]; ++p)
      v[static_cast<std::size_t>(inner[p])] -= values[p] * value;
  }
}

void IncompleteLu::apply_rows(double* x, std::size_t width) const {
  const auto n = static_cast<std::size_t>(lu_.rows());
  const int* outer = lu_.outerIndexPtr();
  const int* inner = lu_.innerIndexPtr();
  const double* values = lu_.valuePtr();
  for (std::size_t i = 0; i < n; ++i) {  // L y = x
    double* row = x + i * width;
    for (auto p = static_cast<std::size_t>(outer[i]); p < diagonal_[i]; ++p) {
      const double* other = x + static_cast<std::size_t>(inner[p]) * width;
      for (std::size_t c = 0; c < width; ++c) row[c] -= values[p] * other[c];
    }
  }
  for (std::size_t i = n; i-- > 0;) {  // U x = y
    double* row = x + i * width;
    for (auto p = diagonal_[i] + 1; p < static_cast<std::size_t>(outer[i + 1]); ++p) {
      const double* other = x + static_cast<std::size_t>(inner[p]) * width;
      for (std::size_t c = 0; c < width; ++c) row[c] -= values[p] * other[c];
    }
    const double pivot = values[diagonal_[i]];
    for (std::size_t c = 0; c < width; ++c) row[c] /= pivot;
  }
}

}  // namespace funnelkit::markov::detail
