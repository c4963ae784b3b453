// Scoring any scorer in fixed blocks of rows, in parallel.
#include "funnelkit/scoring/scorer.hpp"

#include <algorithm>
#include <string>

#include "funnelkit/core/errors.hpp"

namespace funnelkit::scoring {

void score_in_blocks(const Scorer& scorer, const FeatureMatrix& features, std::span<double> out,
                     std::size_t threads, const Progress& progress, std::size_t block_rows) {
  if (out.size() != features.rows)
    throw FunnelError(ErrorKind::FeatureValue, "the output has " + std::to_string(out.size()) +
                                                   " entries for " + std::to_string(features.rows) + " rows");
  for (const auto& column : features.columns)
    if (column.size() < features.rows)
      throw FunnelError(ErrorKind::FeatureValue, "a feature column has " + std::to_string(column.size()) +
                                                     " values for " + std::to_string(features.rows) + " rows");
  block_rows = std::max<std::size_t>(block_rows, 1);
  const std::size_t blocks = (features.rows + block_rows - 1) / block_rows;
  parallel_for(
      blocks, threads,
      [&](std::size_t b) {
        const std::size_t begin = b * block_rows;
        const std::size_t rows = std::min(block_rows, features.rows - begin);
        FeatureMatrix block;
        block.rows = rows;
        block.columns.reserve(features.cols());
        for (const auto& column : features.columns) block.columns.push_back(column.subspan(begin, rows));
        scorer.score(block, out.subspan(begin, rows));
      },
      progress, 1);
}

}  // namespace funnelkit::scoring
