#include "funnelkit/scoring/lead_features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/events/journey_walk.hpp"
#include "funnelkit/events/lead_groups.hpp"

namespace funnelkit::scoring {
namespace {

constexpr double kNsPerDay = 86'400e9;
constexpr double kNsPerMinute = 60e9;
constexpr std::int64_t kDayNs = 86'400'000'000'000;
constexpr std::size_t kLeadsPerBlock = 4096;

/// Column positions of the built-ins (builtin_feature_names() lists them in this order).
enum Column : std::size_t {
  kSessions, kEvents, kPageViews, kProductViews, kDistinctProducts, kDistinctCategories, kCartAdds, kCartValue,
  kCheckouts, kOrders, kRevenue, kAvgOrderValue, kTimeOnSite, kAvgSession, kRecency, kTenure, kActiveDays,
  kFrequency, kEmailOpens, kEmailClicks, kTimeInStage, kBuiltinCount
};

std::int64_t day_of(std::int64_t t) { return t >= 0 ? t / kDayNs : -((-t + kDayNs - 1) / kDayNs); }

/// Keeps a lead's state at the end of its journey walk (events at or before `at` only).
struct CurrentStage {
  const events::JourneyRules& rules;
  std::int64_t at;
  std::int32_t left_code;
  std::int32_t stage = -1;  // -1: none (no mapped event)
  std::int64_t since = 0;

  void ignored() {}
  void used(std::size_t /*i*/, std::int32_t /*s*/) {}
  void loss(std::int32_t /*s*/, std::int64_t /*entry*/) {}
  void start(std::int32_t /*s*/, std::int64_t /*t*/) {}
  void transition(std::int32_t /*a*/, std::int32_t /*b*/, std::int64_t /*entry*/, std::int64_t /*t*/) {}
  void absorbed(std::int32_t s, std::int64_t t) {
    stage = s;  // an absorbing stage stays the current stage
    since = t;
  }
  void open_end(std::int32_t s, std::int64_t entry, std::int64_t last) {
    // By the rules the stay has ended in a loss once the window (or the session gap) passed
    // with no next stage: the lead has left, at the earlier of the two moments.
    const bool window_passed = at - entry > rules.window;
    const bool gap_passed = rules.session_gap > 0 && at - last > rules.session_gap;
    if (window_passed || gap_passed) {
      stage = left_code;
      since = entry + rules.window;
      if (rules.session_gap > 0) since = std::min(since, last + rules.session_gap);
    } else {
      stage = s;
      since = entry;
    }
  }
};

/// Everything one worker needs; one per block so that blocks share nothing mutable.
class LeadComputer {
 public:
  LeadComputer(const EventColumns& log, const LeadFeatureOptions& options)
      : log_(log), options_(options), walker_(options.journey, options.stage_count) {
    count_column_.assign(log.event_names.size(), -1);
    for (std::size_t c = 0; c < options.count_events.size(); ++c)
      count_column_[static_cast<std::size_t>(options.count_events[c])] = static_cast<std::int32_t>(c);
  }

  /// Writes lead l (whose events at or before `at` are `events`) into row `row` of `out`.
  void compute(std::span<const events::LeadEvent> events, std::span<const double> values, std::size_t row,
               std::size_t rows, LeadFeatureTable& out) {
    const auto at = options_.at;
    const auto put = [&](std::size_t column, double x) { out.values[column * rows + row] = x; };
    std::int64_t role_count[kRoleCount] = {};
    double cart_value = 0.0, revenue = 0.0;
    std::int64_t sessions = 0, active_days = 0;
    std::int64_t site_time = 0, session_first = 0, previous = 0;
    bool in_session = false;
    std::int64_t last_day = std::numeric_limits<std::int64_t>::min();
    products_.clear();
    categories_.clear();
    const std::size_t decays = options_.decay.size(), counts = options_.count_events.size();
    decayed_.assign(decays, 0.0);
    counted_.assign(counts, 0);
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      const auto t = e.time;
      const auto day = day_of(t);
      if (day != last_day) {
        ++active_days;
        last_day = day;
      }
      const auto role = log_.role_of_event[static_cast<std::size_t>(e.code)];
      if (role >= 0) ++role_count[static_cast<std::size_t>(role)];
      const double v = values.empty() || std::isnan(values[i]) ? 0.0 : values[i];
      if (role == static_cast<std::int8_t>(EventRole::Cart)) cart_value += v;
      if (role == static_cast<std::int8_t>(EventRole::Order)) revenue += v;
      if (role == static_cast<std::int8_t>(EventRole::Product)) {
        if (!log_.product.empty() && log_.product[e.row] >= 0) products_.push_back(log_.product[e.row]);
        if (!log_.category.empty() && log_.category[e.row] >= 0) categories_.push_back(log_.category[e.row]);
      }
      // Sessions are on-site activity: message opens and clicks are not visits.
      if (role != static_cast<std::int8_t>(EventRole::Open) && role != static_cast<std::int8_t>(EventRole::Click)) {
        if (!in_session || t - previous > options_.session_gap) {
          if (in_session) site_time += previous - session_first;
          ++sessions;
          session_first = t;
          in_session = true;
        }
        previous = t;
      }
      if (counts > 0) {
        const auto c = count_column_[static_cast<std::size_t>(e.code)];
        if (c >= 0) ++counted_[static_cast<std::size_t>(c)];
      }
      for (std::size_t d = 0; d < decays; ++d) {
        if (options_.decay[d].first == e.code) {
          decayed_[d] += std::exp2(-(static_cast<double>(at - t) / kNsPerDay) / options_.decay[d].second);
        }
      }
    }
    if (in_session) site_time += previous - session_first;

    std::sort(products_.begin(), products_.end());
    const auto distinct_products = std::unique(products_.begin(), products_.end()) - products_.begin();
    std::sort(categories_.begin(), categories_.end());
    top_.clear();
    for (std::size_t i = 0; i < categories_.size();) {
      std::size_t j = i;
      while (j < categories_.size() && categories_[j] == categories_[i]) ++j;
      top_.emplace_back(static_cast<std::int64_t>(j - i), categories_[i]);
      i = j;
    }
    // Most viewed first; ties by the lower category code.
    std::sort(top_.begin(), top_.end(),
              [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    const std::size_t k = options_.top_categories;
    for (std::size_t j = 0; j < k; ++j) {
      const bool has = j < top_.size();
      out.top_category[j * rows + row] = has ? top_[j].second : -1;
      out.top_share[j * rows + row] =
          has ? static_cast<double>(top_[j].first) / static_cast<double>(categories_.size()) : 0.0;
    }

    const auto first = events.front().time, last = events.back().time;
    const double tenure = static_cast<double>(at - first) / kNsPerDay;
    const auto role = [&](EventRole r) { return static_cast<double>(role_count[static_cast<std::size_t>(r)]); };
    const double orders = role(EventRole::Order);
    const double time_on_site = static_cast<double>(site_time) / kNsPerMinute;
    put(kSessions, static_cast<double>(sessions));
    put(kEvents, static_cast<double>(events.size()));
    put(kPageViews, role(EventRole::Page));
    put(kProductViews, role(EventRole::Product));
    put(kDistinctProducts, static_cast<double>(distinct_products));
    put(kDistinctCategories, static_cast<double>(top_.size()));
    put(kCartAdds, role(EventRole::Cart));
    put(kCartValue, cart_value);
    put(kCheckouts, role(EventRole::Checkout));
    put(kOrders, orders);
    put(kRevenue, revenue);
    put(kAvgOrderValue, orders > 0 ? revenue / orders : 0.0);
    put(kTimeOnSite, time_on_site);
    put(kAvgSession, sessions > 0 ? time_on_site / static_cast<double>(sessions) : 0.0);
    put(kRecency, static_cast<double>(at - last) / kNsPerDay);
    put(kTenure, tenure);
    put(kActiveDays, static_cast<double>(active_days));
    put(kFrequency, static_cast<double>(sessions) / (std::max(tenure, 1.0) / 7.0));
    put(kEmailOpens, role(EventRole::Open));
    put(kEmailClicks, role(EventRole::Click));

    // The current stage, by the fitter's journey rules.
    CurrentStage state{options_.journey, at, static_cast<std::int32_t>(options_.stage_count)};
    const auto stage_of = [this](const events::LeadEvent& e) { return log_.stage_of_event[static_cast<std::size_t>(e.code)]; };
    walker_.walk(events, stage_of, state);
    if (state.stage < 0) {  // never entered a stage: "none" since the first event
      out.stage[row] = static_cast<std::int32_t>(options_.stage_count) + 1;
      put(kTimeInStage, tenure);
    } else {
      out.stage[row] = state.stage;
      put(kTimeInStage, static_cast<double>(at - state.since) / kNsPerDay);
    }
    std::size_t column = kBuiltinCount;
    for (std::size_t d = 0; d < decays; ++d) put(column++, decayed_[d]);
    for (std::size_t c = 0; c < counts; ++c) put(column++, static_cast<double>(counted_[c]));
  }

 private:
  const EventColumns& log_;
  const LeadFeatureOptions& options_;
  events::JourneyWalker walker_;
  std::vector<std::int32_t> count_column_;
  std::vector<std::int32_t> products_, categories_;
  std::vector<std::pair<std::int64_t, std::int32_t>> top_;
  std::vector<double> decayed_;
  std::vector<std::int64_t> counted_;
};

void check(const EventColumns& log, const LeadFeatureOptions& options) {
  const auto n = log.lead.size();
  if (log.time.size() != n || log.event.size() != n || (!log.value.empty() && log.value.size() != n) ||
      (!log.product.empty() && log.product.size() != n) || (!log.category.empty() && log.category.size() != n)) {
    throw std::invalid_argument("lead_features: columns differ in length");
  }
  const auto events = log.event_names.size();
  if (log.role_of_event.size() != events || log.stage_of_event.size() != events) {
    throw std::invalid_argument("lead_features: role_of_event and stage_of_event need one entry per event name");
  }
  for (std::size_t row = 0; row < n; ++row) {
    if (log.event[row] < 0 || static_cast<std::size_t>(log.event[row]) >= events) {
      throw std::invalid_argument("lead_features: event code " + std::to_string(log.event[row]) + " at row " +
                                  std::to_string(row) + " is out of range");
    }
  }
  for (std::size_t e = 0; e < events; ++e) {
    if (log.role_of_event[e] >= static_cast<std::int8_t>(kRoleCount) ||
        log.stage_of_event[e] >= static_cast<std::int32_t>(options.stage_count)) {
      throw std::invalid_argument("lead_features: role or stage of event '" + log.event_names[e] + "' out of range");
    }
  }
  if (options.journey.repeat_stage.size() != options.stage_count || options.journey.absorbing.size() != options.stage_count) {
    throw std::invalid_argument("lead_features: repeat_stage and absorbing need one entry per stage");
  }
  if (options.journey.window <= 0) throw std::invalid_argument("lead_features: the window must be positive");
  if (options.session_gap <= 0) throw std::invalid_argument("lead_features: the session gap must be positive");
  for (const auto code : options.count_events) {
    if (code < 0 || static_cast<std::size_t>(code) >= events) throw std::invalid_argument("lead_features: counted event code out of range");
  }
  for (const auto& [code, half_life] : options.decay) {
    if (code < 0 || static_cast<std::size_t>(code) >= events) throw std::invalid_argument("lead_features: decayed event code out of range");
    if (!(half_life > 0) || !std::isfinite(half_life)) {
      throw FunnelError(ErrorKind::FeatureValue,
                        "decay half-life of '" + log.event_names[static_cast<std::size_t>(code)] +
                            "' must be a positive number of days, got " + std::to_string(half_life),
                        log.event_names[static_cast<std::size_t>(code)]);
    }
  }
}

/// The block's events at or before `at`, column by column, for extension features.
std::shared_ptr<LeadBlock> make_block(const EventColumns& log, const events::LeadEvents& groups,
                                      std::span<const std::int64_t> row_lead, std::span<const std::size_t> kept) {
  auto block = std::make_shared<LeadBlock>();
  block->event_names = log.event_names;
  block->category_names = log.category_names;
  block->lead.assign(row_lead.begin(), row_lead.end());
  for (std::size_t r = 0; r < row_lead.size(); ++r) {
    const auto l = static_cast<std::size_t>(row_lead[r]);
    const auto events = groups.of(l).first(kept[r]);
    const auto values = groups.payload_of(l);
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      block->time.push_back(e.time);
      block->event.push_back(e.code);
      block->value.push_back(values.empty() ? std::numeric_limits<double>::quiet_NaN() : values[i]);
      block->product.push_back(log.product.empty() ? -1 : log.product[e.row]);
      block->category.push_back(log.category.empty() ? -1 : log.category[e.row]);
    }
    block->offsets.push_back(static_cast<std::int64_t>(block->time.size()));
  }
  return block;
}

}  // namespace

const std::vector<std::string>& builtin_feature_names() {
  static const std::vector<std::string> names{
      "sessions",  "events",          "page_views",       "product_views",   "distinct_products",
      "distinct_categories", "cart_adds", "cart_value",   "checkouts",       "orders",
      "revenue",   "avg_order_value", "time_on_site_min", "avg_session_min", "recency_days",
      "tenure_days", "active_days",   "frequency",        "email_opens",     "email_clicks",
      "time_in_stage_days"};
  return names;
}

LeadFeatureTable lead_features(const EventColumns& log, const LeadFeatureOptions& options, const Progress& progress) {
  check(log, options);
  const auto groups = events::group_events(log.lead, log.time, log.event, log.value, log.lead_count, options.threads);

  // Rows: the leads with an event at or before `at`, and how many of their events count.
  LeadFeatureTable table;
  std::vector<std::size_t> kept;
  for (std::size_t l = 0; l < log.lead_count; ++l) {
    const auto events = groups.of(l);
    const auto end = std::upper_bound(events.begin(), events.end(), options.at,
                                      [](std::int64_t at, const events::LeadEvent& e) { return at < e.time; });
    if (end == events.begin()) continue;
    table.lead.push_back(static_cast<std::int64_t>(l));
    kept.push_back(static_cast<std::size_t>(end - events.begin()));
  }
  const std::size_t rows = table.rows();
  table.names = builtin_feature_names();
  for (const auto& [code, half_life] : options.decay) {
    (void)half_life;
    table.names.push_back("decayed:" + std::to_string(code));  // renamed by the caller
  }
  for (const auto code : options.count_events) table.names.push_back("events:" + std::to_string(code));
  std::vector<std::size_t> extension_column;
  std::vector<std::size_t> extension_width;
  for (const auto& feature : options.extensions) {
    const auto names = feature->names();
    extension_column.push_back(table.names.size());
    extension_width.push_back(names.size());
    table.names.insert(table.names.end(), names.begin(), names.end());
  }
  table.values.resize(rows * table.names.size());
  table.stage.resize(rows);
  table.top_category.resize(rows * options.top_categories);
  table.top_share.resize(rows * options.top_categories);

  const std::size_t blocks = (rows + kLeadsPerBlock - 1) / kLeadsPerBlock;
  parallel_for(
      blocks, options.threads,
      [&](std::size_t b) {
        LeadComputer computer(log, options);
        const std::size_t first = b * kLeadsPerBlock, last = std::min(rows, first + kLeadsPerBlock);
        for (std::size_t r = first; r < last; ++r) {
          const auto l = static_cast<std::size_t>(table.lead[r]);
          const auto values = groups.payload_of(l);
          computer.compute(groups.of(l).first(kept[r]), values.empty() ? values : values.first(kept[r]), r, rows,
                           table);
        }
        if (options.extensions.empty()) return;
        const auto block = make_block(log, groups, std::span(table.lead).subspan(first, last - first),
                                      std::span(kept).subspan(first, last - first));
        const std::size_t n = last - first;
        std::vector<double> out;
        for (std::size_t x = 0; x < options.extensions.size(); ++x) {
          out.assign(n * extension_width[x], std::numeric_limits<double>::quiet_NaN());
          options.extensions[x]->compute(*block, options.at, out);
          for (std::size_t c = 0; c < extension_width[x]; ++c) {
            std::copy(out.begin() + static_cast<std::ptrdiff_t>(c * n), out.begin() + static_cast<std::ptrdiff_t>((c + 1) * n),
                      table.values.begin() + static_cast<std::ptrdiff_t>((extension_column[x] + c) * rows + first));
          }
        }
      },
      progress, std::max<std::size_t>(1, blocks / 50));
  return table;
}

}  // namespace funnelkit::scoring
