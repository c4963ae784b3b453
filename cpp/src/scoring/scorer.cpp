// Scoring any scorer in fixed blocks of rows, in parallel.
#include "funnelkit/scoring/scorer.hpp"

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
  for_row_blocks(features, threads, block_rows, progress,
                 [&](const FeatureMatrix& block, std::size_t begin, std::size_t rows) {
                   scorer.score(block, out.subspan(begin, rows));
                 });
}

}  // namespace funnelkit::scoring
