// Bindings of the scoring interface: the trampoline that lets a Python scorer run inside the
// engine, and the engine's generic block-wise scoring of any scorer.
#include "feature_matrix.hpp"

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/scorer.hpp"

namespace funnelkit::bindings {
namespace {

using scoring::FeatureMatrix;
using scoring::Scorer;

// Lets a Python scorer (funnelkit.Scorer, through its engine() adapter) stand wherever the engine
// takes a scoring::Scorer. Each call takes the GIL and copies the block into one NumPy matrix:
// a Python scorer costs one call per block of rows, never one per lead.
class PyScorer : public PyExtension<Scorer> {
 public:
  using PyExtension<Scorer>::PyExtension;

  std::vector<std::string> feature_names() const override {
    py::gil_scoped_acquire gil;
    return self().attr("feature_names").cast<std::vector<std::string>>();
  }
  void score(const FeatureMatrix& features, std::span<double> out) const override {
    py::gil_scoped_acquire gil;
    fill(self().attr("score_matrix")(as_matrix(features)), out, "score_matrix");
  }
  void contributions(const FeatureMatrix& features, std::span<double> out) const override {
    py::gil_scoped_acquire gil;
    const py::object result = self().attr("contributions_matrix")(as_matrix(features));
    if (result.is_none()) {
      std::fill(out.begin(), out.end(), 0.0);
      return;
    }
    // The engine's layout is row-major (rows x reasons).
    fill(result.cast<py::array_t<double, py::array::c_style | py::array::forcecast>>(), out, "contributions_matrix");
  }

 private:
  static FeatureArray as_matrix(const FeatureMatrix& features) {
    FeatureArray x({static_cast<py::ssize_t>(features.rows), static_cast<py::ssize_t>(features.cols())});
    for (std::size_t j = 0; j < features.cols(); ++j)
      std::copy_n(features.columns[j].data(), features.rows, x.mutable_data() + j * features.rows);
    return x;
  }

  void fill(const py::object& result, std::span<double> out, const char* method) const {
    const auto values = result.cast<py::array_t<double, py::array::c_style | py::array::forcecast>>();
    if (static_cast<std::size_t>(values.size()) != out.size()) {
      const auto name = self().attr("type_name")().cast<std::string>();
      throw FunnelError(ErrorKind::FeatureValue,
                        "scorer " + name + ": " + method + " returned " + std::to_string(values.size()) +
                            " values for " + std::to_string(out.size()),
                        name);
    }
    std::copy_n(values.data(), out.size(), out.begin());
  }
};

}  // namespace

void register_scoring(py::module_& m) {
  py::classh<Scorer, PyScorer>(m, "Scorer", "Engine base of scorers (Python scorers reach it via Scorer.engine()).")
      .def(py::init<>());

  m.def(
      "score_in_blocks",
      [](const Scorer& scorer, const FeatureArray& x, std::size_t threads, std::size_t block_rows) {
        const auto features = feature_view(x);
        std::vector<double> out(features.rows);
        {
          py::gil_scoped_release release;
          scoring::score_in_blocks(scorer, features, out, threads, {}, block_rows);
        }
        return owned(std::move(out));
      },
      "scorer"_a, "x"_a, "threads"_a, "block_rows"_a);
}

}  // namespace funnelkit::bindings
