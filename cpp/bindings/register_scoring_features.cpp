// Bindings of funnelkit::scoring lead features: the engine pass over an encoded log, and the
// "feature" extension kind (a trampoline so that Python subclasses of funnelkit.LeadFeature are
// engine objects). Defaults and documentation live in python/funnelkit/scoring/features.py.
#include "pybind11.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/scoring/lead_features.hpp"

namespace funnelkit::bindings {
namespace {

using scoring::LeadBlock;
using scoring::LeadFeature;

// A NumPy view of a block's column, kept alive by the block (no copy).
template <class T>
py::array_t<T> block_view(const std::vector<T>& values, const py::object& owner) {
  py::array_t<T> view(static_cast<py::ssize_t>(values.size()), values.data(), owner);
  py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return view;
}

py::list names_of(std::span<const std::string> names) {
  py::list out(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) out[i] = py::str(names[i]);
  return out;
}

// Lets a Python subclass of funnelkit.LeadFeature run inside the engine. Every call takes the
// GIL: Python features computed from several engine threads take turns.
class PyLeadFeature : public PyExtension<LeadFeature> {
 public:
  using PyExtension<LeadFeature>::PyExtension;

  std::vector<std::string> names() const override {
    py::gil_scoped_acquire gil;
    return self().attr("names").cast<std::vector<std::string>>();
  }
  void compute(const LeadBlock& block, std::int64_t at, std::span<double> out) const override {
    py::gil_scoped_acquire gil;
    // The views keep the block alive when it is shared (the engine's are); a caller's block on
    // the stack is copied instead.
    const auto shared = block.weak_from_this().lock();
    py::object owner = py::none();
    if (shared) {
      owner = py::capsule(new std::shared_ptr<const LeadBlock>(shared),
                          [](void* p) { delete static_cast<std::shared_ptr<const LeadBlock>*>(p); });
    }
    const auto view = [&](const auto& values) {
      using T = typename std::remove_cvref_t<decltype(values)>::value_type;
      if (owner.is_none()) return py::array_t<T>(static_cast<py::ssize_t>(values.size()), values.data());
      return block_view(values, owner);
    };
    const py::object result = self().attr("_compute_block")(
        view(block.offsets), view(block.lead), view(block.time), view(block.event), view(block.value),
        view(block.product), view(block.category), names_of(block.event_names), names_of(block.category_names), at);
    const auto matrix = result.cast<py::array_t<double, py::array::f_style | py::array::forcecast>>();
    const auto size = static_cast<std::size_t>(matrix.size());
    if (size != out.size()) {
      const auto name = type_name();
      throw FunnelError(ErrorKind::FeatureValue,
                        "feature " + name + " returned " + std::to_string(size) + " values for " +
                            std::to_string(out.size()),
                        name);
    }
    std::copy(matrix.data(), matrix.data() + size, out.begin());
  }
};

}  // namespace

void register_scoring_features(py::module_& m) {
  py::classh<LeadFeature, PyLeadFeature>(m, "LeadFeature", "Engine base of lead features (use funnelkit.LeadFeature).")
      .def(py::init<>());

  m.def(
      "lead_features",
      [](const Column<std::int64_t>& lead, const Column<std::int64_t>& time, const Column<std::int32_t>& event,
         const std::optional<Column<double>>& value, const std::optional<Column<std::int32_t>>& product,
         const std::optional<Column<std::int32_t>>& category, std::size_t lead_count,
         const Column<std::int8_t>& role_of_event, const Column<std::int32_t>& stage_of_event,
         std::vector<std::string> event_names, std::vector<std::string> category_names, std::int64_t at,
         std::int64_t session_gap, std::size_t top_categories, std::int64_t window, std::int64_t journey_gap,
         std::vector<std::int32_t> repeat_stage, std::vector<std::uint8_t> absorbing, std::size_t stage_count,
         std::vector<std::int32_t> count_events, std::vector<std::int32_t> decay_events,
         std::vector<double> decay_half_lives, const std::vector<std::shared_ptr<LeadFeature>>& extensions,
         std::size_t threads, const py::object& progress) {
        scoring::EventColumns log;
        log.lead = column(lead, "lead");
        log.time = column(time, "time");
        log.event = column(event, "event");
        if (value) log.value = column(*value, "value");
        if (product) log.product = column(*product, "product");
        if (category) log.category = column(*category, "category");
        log.lead_count = lead_count;
        log.role_of_event = column(role_of_event, "role_of_event");
        log.stage_of_event = column(stage_of_event, "stage_of_event");
        log.event_names = std::move(event_names);
        log.category_names = std::move(category_names);
        scoring::LeadFeatureOptions options;
        options.at = at;
        options.session_gap = session_gap;
        options.top_categories = top_categories;
        options.journey.window = window;
        options.journey.session_gap = journey_gap;
        options.journey.repeat_stage = std::move(repeat_stage);
        options.journey.absorbing = std::move(absorbing);
        options.stage_count = stage_count;
        options.count_events = std::move(count_events);
        if (decay_events.size() != decay_half_lives.size())
          throw std::invalid_argument("decay_events and decay_half_lives differ in length");
        for (std::size_t i = 0; i < decay_events.size(); ++i) options.decay.emplace_back(decay_events[i], decay_half_lives[i]);
        options.extensions.assign(extensions.begin(), extensions.end());
        options.threads = threads;
        const auto report = python_progress(progress);
        auto table = run_cancellable([&] { return scoring::lead_features(log, options, report); });
        return py::make_tuple(owned(std::move(table.lead)), table.names, owned(std::move(table.values)),
                              owned(std::move(table.stage)), owned(std::move(table.top_category)),
                              owned(std::move(table.top_share)));
      },
      "lead"_a, "time"_a, "event"_a, "value"_a, "product"_a, "category"_a, "lead_count"_a, "role_of_event"_a,
      "stage_of_event"_a, "event_names"_a, "category_names"_a, "at"_a, "session_gap"_a, "top_categories"_a,
      "window"_a, "journey_gap"_a, "repeat_stage"_a, "absorbing"_a, "stage_count"_a, "count_events"_a,
      "decay_events"_a, "decay_half_lives"_a, "extensions"_a, "threads"_a, "progress"_a);
}

}  // namespace funnelkit::bindings
