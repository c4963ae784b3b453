#pragma once
// A NumPy (rows x features) float64 matrix seen as the engine's FeatureMatrix, shared by the
// scoring bindings.
#include "pybind11.hpp"

#include <stdexcept>

#include "funnelkit/scoring/scorer.hpp"

namespace funnelkit::bindings {

// Column-major, as funnelkit.scoring.feature_matrix makes it: each column is a contiguous
// view, so nothing is copied (other layouts are converted once).
using FeatureArray = py::array_t<double, py::array::f_style | py::array::forcecast>;

inline scoring::FeatureMatrix feature_view(const FeatureArray& x) {
  if (x.ndim() != 2) throw std::invalid_argument("x must be a 2-D array (leads x features)");
  scoring::FeatureMatrix features;
  features.rows = static_cast<std::size_t>(x.shape(0));
  const auto cols = static_cast<std::size_t>(x.shape(1));
  features.columns.reserve(cols);
  for (std::size_t j = 0; j < cols; ++j) features.columns.emplace_back(x.data() + j * features.rows, features.rows);
  return features;
}

}  // namespace funnelkit::bindings
