#pragma once
/// \file The interface every lead scorer implements: features of many leads in, one score each out.
///
/// Built-ins (the funnel-model score, rule points, logistic regression) are final classes on
/// the fast path; Python subclasses of funnelkit.Scorer reach the engine through a pybind11
/// trampoline, like distributions (docs/architecture.md). A scorer is called on blocks of
/// rows, never per lead, so a Python scorer costs one call per block.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/model/extension.hpp"

namespace funnelkit::scoring {

/// Features of `rows` leads, one contiguous column per feature (as pandas and Arrow hold
/// them), in the order the scorer's feature_names() lists them. Columns are views: the
/// caller owns the memory.
struct FeatureMatrix {
  std::size_t rows = 0;
  std::vector<std::span<const double>> columns;

  [[nodiscard]] std::size_t cols() const noexcept { return columns.size(); }
  [[nodiscard]] double operator()(std::size_t row, std::size_t col) const { return columns[col][row]; }
  /// Rows [begin, begin + count), as views of the same columns.
  [[nodiscard]] FeatureMatrix slice(std::size_t begin, std::size_t count) const {
    FeatureMatrix part;
    part.rows = count;
    part.columns.reserve(columns.size());
    for (const auto& column : columns) part.columns.push_back(column.subspan(begin, count));
    return part;
  }
};

/// Runs work(block, begin, rows) over fixed blocks of `block_rows` rows on up to `threads`
/// threads. Blocks do not depend on the thread count, so neither does a result written block
/// by block.
template <class Work>
void for_row_blocks(const FeatureMatrix& features, std::size_t threads, std::size_t block_rows,
                    const Progress& progress, Work&& work) {
  block_rows = std::max<std::size_t>(block_rows, 1);
  const std::size_t blocks = (features.rows + block_rows - 1) / block_rows;
  parallel_for(
      blocks, threads,
      [&](std::size_t b) {
        const std::size_t begin = b * block_rows;
        const std::size_t rows = std::min(block_rows, features.rows - begin);
        work(features.slice(begin, rows), begin, rows);
      },
      progress);
}

class Scorer {
 public:
  virtual ~Scorer() = default;

  /// Name used in JSON ("logistic", or the name a Python extension registered).
  [[nodiscard]] virtual std::string type_name() const = 0;
  /// Parameters as a JSON object; with type_name() they rebuild the scorer exactly (fitted
  /// coefficients included).
  [[nodiscard]] virtual nlohmann::json params() const = 0;
  /// The feature columns score() reads, in the order FeatureMatrix holds them.
  [[nodiscard]] virtual std::vector<std::string> feature_names() const = 0;
  /// Writes one score per row into `out` (features.rows long). Const and free of shared
  /// mutable state, so blocks of rows may be scored concurrently.
  virtual void score(const FeatureMatrix& features, std::span<double> out) const = 0;
  /// How much each feature added to each row's score, row-major (rows x feature_names()):
  /// what a lead's reasons are made of. The default leaves `out` at zero (no reasons).
  virtual void contributions(const FeatureMatrix& /*features*/, std::span<double> out) const {
    std::fill(out.begin(), out.end(), 0.0);
  }
};

/// Scores every row with any scorer (built-in or a Python extension): rows are cut into fixed
/// blocks of `block_rows` scored on up to `threads` threads, so the result does not depend on
/// the thread count. A Python scorer takes the GIL per block, so its blocks take turns.
/// Throws FeatureValue when a feature column is shorter than `features.rows`.
void score_in_blocks(const Scorer& scorer, const FeatureMatrix& features, std::span<double> out,
                     std::size_t threads = 0, const Progress& progress = {}, std::size_t block_rows = 65536);

}  // namespace funnelkit::scoring

template <>
struct funnelkit::model::ExtensionKind<funnelkit::scoring::Scorer> {
  static constexpr std::string_view name = "scorer";
};
