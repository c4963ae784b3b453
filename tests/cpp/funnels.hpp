#pragma once
// Small funnels shared by the C++ tests.
#include <memory>

#include "funnelkit/model/funnel.hpp"

namespace funnelkit::fixtures {

inline model::Funnel linear_funnel() {
  using model::Stage;
  using model::StageKind;
  model::Funnel f;
  f.add_stage({"visit", StageKind::Transient, 0.0, std::make_shared<model::Exponential>(2.0), {}});
  f.add_stage({"cart", StageKind::Transient, 0.0, std::make_shared<model::Exponential>(0.5), {}});
  f.add_stage({"paid", StageKind::Success, 50.0, nullptr, {}});
  f.add_edge({"visit", "cart", 0.2, nullptr, {}});
  f.add_edge({"cart", "paid", 0.3, nullptr, {}});
  return f;
}

// visit <-> browse loop, a repeat loop after purchase, an explicit failure stage.
inline model::Funnel loop_funnel() {
  using model::StageKind;
  model::Funnel f;
  f.add_stage({"visit", StageKind::Transient, 1.0, std::make_shared<model::Exponential>(1.0), {}});
  f.add_stage({"browse", StageKind::Transient, 0.0, std::make_shared<model::Weibull>(1.5, 2.0), {}});
  f.add_stage({"buy", StageKind::Transient, 40.0, std::make_shared<model::LogNormal>(0.0, 0.5), {}});
  f.add_stage({"loyal", StageKind::Success, 10.0, nullptr, {}});
  f.add_stage({"lost", StageKind::Failure, 0.0, nullptr, {}});
  f.add_edge({"visit", "browse", 0.6, nullptr, {}});
  f.add_edge({"visit", "lost", 0.1, nullptr, {}});
  f.add_edge({"browse", "visit", 0.3, std::make_shared<model::Fixed>(0.5), {}});
  f.add_edge({"browse", "buy", 0.25, nullptr, {}});
  f.add_edge({"buy", "buy", 0.3, nullptr, {}});
  f.add_edge({"buy", "loyal", 0.2, nullptr, {}});
  f.add_edge({"buy", "browse", 0.1, nullptr, {}});
  f.discount = 0.9;
  return f;
}

}  // namespace funnelkit::fixtures
