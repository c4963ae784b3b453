#pragma once
/// \file Behavioural features of every lead, as of a scoring time, from an encoded event log.
///
/// One pass: the log is grouped by lead (events::group_events), and each lead's events at or
/// before `at` are walked once — events after `at` are never read, so a feature cannot look
/// ahead. The lead's current stage comes from the same journey walk the fitter counts with
/// (events/journey_walk.hpp). Leads are split into fixed blocks computed in parallel; every
/// lead's row is computed the same way on any thread, so results are bit-identical for any
/// thread count. Python documents each feature (python/funnelkit/scoring/features.py).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "funnelkit/core/parallel.hpp"
#include "funnelkit/core/uninitialized.hpp"
#include "funnelkit/events/journeys.hpp"
#include "funnelkit/model/extension.hpp"

namespace funnelkit::scoring {

/// What an event means for the built-in features (several event names may share a role).
enum class EventRole : std::int8_t { Page = 0, Product, Cart, Checkout, Order, Open, Click };
inline constexpr std::size_t kRoleCount = 7;

/// The encoded log, one entry per row (what EventLog holds), and per event code its role and
/// stage. Spans are views: the caller owns the memory.
struct EventColumns {
  std::span<const std::int64_t> lead;      ///< dense lead codes, 0..lead_count-1
  std::span<const std::int64_t> time;      ///< nanoseconds since the epoch
  std::span<const std::int32_t> event;     ///< event codes, 0..event_names.size()-1
  std::span<const double> value;           ///< empty, or an order value per row (NaN: none)
  std::span<const std::int32_t> product;   ///< empty, or a product code per row (-1: none)
  std::span<const std::int32_t> category;  ///< empty, or a category code per row (-1: none)
  std::size_t lead_count = 0;
  /// Per event code: its role (-1: none of the roles), its stage (-1: unmapped).
  std::span<const std::int8_t> role_of_event;
  std::span<const std::int32_t> stage_of_event;
  std::vector<std::string> event_names;     ///< names of the event codes (for extensions)
  std::vector<std::string> category_names;  ///< names of the category codes (for extensions)
};

/// The events of a block of leads at or before the scoring time, column by column (what an
/// extension feature reads). Lead r's events are [offsets[r], offsets[r + 1]), in time order.
struct LeadBlock : std::enable_shared_from_this<LeadBlock> {
  std::vector<std::int64_t> lead;  ///< lead code of each row
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int64_t> time;
  std::vector<std::int32_t> event;
  std::vector<double> value;          ///< NaN where the event has none (or the log no values)
  std::vector<std::int32_t> product;  ///< -1 where none
  std::vector<std::int32_t> category;
  std::span<const std::string> event_names;
  std::span<const std::string> category_names;

  [[nodiscard]] std::size_t rows() const noexcept { return lead.size(); }
};

/// A user-written feature (the "feature" extension kind). compute() is called once per block of
/// leads (a few thousand), never per lead, and may be called from several threads at once: it
/// must not change shared state. A Python subclass runs under the GIL (serialised).
class LeadFeature {
 public:
  virtual ~LeadFeature() = default;
  /// Name used in JSON (the registered name).
  [[nodiscard]] virtual std::string type_name() const = 0;
  /// Constructor arguments as a JSON object.
  [[nodiscard]] virtual nlohmann::json params() const = 0;
  /// The columns compute() writes, in order.
  [[nodiscard]] virtual std::vector<std::string> names() const = 0;
  /// Writes block.rows() x names().size() values, column-major, into `out`.
  virtual void compute(const LeadBlock& block, std::int64_t at, std::span<double> out) const = 0;
};

using LeadFeaturePtr = std::shared_ptr<const LeadFeature>;

struct LeadFeatureOptions {
  std::int64_t at = 0;                       ///< scoring time, ns: later events are ignored
  std::int64_t session_gap = 1'800'000'000'000;  ///< ns: a longer gap starts a new session
  std::size_t top_categories = 3;
  /// Journey rules for the current stage (observed_until and nanoseconds_per_unit unused).
  events::JourneyRules journey;
  std::size_t stage_count = 0;
  std::vector<std::int32_t> count_events;                  ///< event codes counted one column each
  std::vector<std::pair<std::int32_t, double>> decay;      ///< (event code, half-life in days)
  std::vector<LeadFeaturePtr> extensions;
  std::size_t threads = 0;
};

/// One row per lead with an event at or before `at`, leads in code order.
struct LeadFeatureTable {
  std::vector<std::int64_t> lead;  ///< lead code of each row
  std::vector<std::string> names;  ///< numeric columns: built-ins, decays, counts, extensions
  UninitializedVector<double> values;  ///< rows x names, column-major
  /// Stage code per row: 0..stage_count-1, stage_count for "left", stage_count + 1 for "none".
  std::vector<std::int32_t> stage;
  UninitializedVector<std::int32_t> top_category;  ///< rows x k, column-major; -1: none
  UninitializedVector<double> top_share;           ///< rows x k, column-major

  [[nodiscard]] std::size_t rows() const noexcept { return lead.size(); }
};

/// The names of the built-in numeric columns, in table order.
[[nodiscard]] const std::vector<std::string>& builtin_feature_names();

/// Computes every lead's features as of options.at (no rows when no lead has an event by then).
/// Throws FunnelError (FeatureValue: a bad half-life) or std::invalid_argument for mismatched
/// columns and codes out of range.
[[nodiscard]] LeadFeatureTable lead_features(const EventColumns& log, const LeadFeatureOptions& options,
                                             const Progress& progress = {});

}  // namespace funnelkit::scoring

template <>
struct funnelkit::model::ExtensionKind<funnelkit::scoring::LeadFeature> {
  static constexpr std::string_view name = "feature";
};
