// Building and validating funnels: each rule raises its own error naming the culprit.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/model/funnel.hpp"
#include "funnels.hpp"

using namespace funnelkit;
using namespace funnelkit::model;

namespace {

// Runs `action`, expects a FunnelError of `kind` whose subject is `subject`.
template <class F>
void expect_error(F action, ErrorKind kind, const std::string& subject) {
  try {
    action();
    FAIL() << "no error raised";
  } catch (const FunnelError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_EQ(e.subject(), subject) << e.what();
  }
}

Funnel two_stages() {
  Funnel f;
  f.add_stage({"a", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"b", StageKind::Success, 0.0, nullptr, {}});
  return f;
}

}  // namespace

TEST(Model, ValidFunnelsPass) {
  EXPECT_NO_THROW(validate(fixtures::linear_funnel()));
  EXPECT_NO_THROW(validate(fixtures::loop_funnel()));
}

TEST(Model, RejectsDuplicatesAndUnknownStages) {
  auto f = two_stages();
  expect_error([&] { f.add_stage({"a", StageKind::Transient, 0.0, nullptr, {}}); }, ErrorKind::DuplicateStage, "a");
  expect_error([&] { f.add_edge({"a", "nowhere", 0.5, nullptr, {}}); }, ErrorKind::UnknownStage, "nowhere");
  f.add_edge({"a", "b", 0.5, nullptr, {}});
  expect_error([&] { f.add_edge({"a", "b", 0.1, nullptr, {}}); }, ErrorKind::DuplicateEdge, "a -> b");
  expect_error([&] { f.set_entry({{"ghost", 1.0}}); }, ErrorKind::UnknownStage, "ghost");
}

TEST(Model, RejectsBadProbabilities) {
  auto f = two_stages();
  for (double p : {-0.1, 1.5, std::nan("")})
    expect_error([&] { f.add_edge({"a", "b", p, nullptr, {}}); }, ErrorKind::Probability, "a -> b");
}

TEST(Model, RejectsRowsAboveOne) {
  auto f = two_stages();
  f.add_stage({"c", StageKind::Failure, 0.0, nullptr, {}});
  f.add_edge({"a", "b", 0.7, nullptr, {}});
  f.add_edge({"a", "c", 0.4, nullptr, {}});
  expect_error([&] { validate(f); }, ErrorKind::RowSum, "a");
}

TEST(Model, StrictRuleRejectsRowsBelowOne) {
  auto f = two_stages();
  f.add_edge({"a", "b", 0.7, nullptr, {}});
  EXPECT_NO_THROW(validate(f));
  f.remainder = RemainderRule::Strict;
  expect_error([&] { validate(f); }, ErrorKind::RowSum, "a");
  f.set_probability("a", "b", 1.0);
  EXPECT_NO_THROW(validate(f));
}

TEST(Model, RejectsStagesThatCanNeverFinish) {
  Funnel f;
  f.add_stage({"visit", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"x", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"y", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"paid", StageKind::Success, 0.0, nullptr, {}});
  f.add_edge({"visit", "paid", 0.5, nullptr, {}});
  f.add_edge({"visit", "x", 0.5, nullptr, {}});
  f.add_edge({"x", "y", 1.0, nullptr, {}});
  f.add_edge({"y", "x", 1.0, nullptr, {}});  // x <-> y forever
  expect_error([&] { validate(f); }, ErrorKind::NoExit, "x");
}

TEST(Model, RejectsDeadEnds) {
  auto f = two_stages();
  f.add_stage({"limbo", StageKind::Transient, 0.0, nullptr, {}});
  f.add_edge({"a", "limbo", 0.5, nullptr, {}});
  expect_error([&] { validate(f); }, ErrorKind::NoExit, "limbo");
}

TEST(Model, RejectsStructuralMisuse) {
  auto f = two_stages();
  f.add_edge({"a", "b", 0.5, nullptr, {}});
  f.add_edge({"b", "a", 0.5, nullptr, {}});  // out of an absorbing stage
  expect_error([&] { validate(f); }, ErrorKind::Structure, "b -> a");

  auto g = two_stages();
  expect_error(
      [&] { g.add_stage({"done", StageKind::Failure, 0.0, std::make_shared<Exponential>(1.0), {}}); },
      ErrorKind::Structure, "done");
  g.add_edge({"a", "b", 0.5, nullptr, {}});
  g.discount = 0.0;
  EXPECT_THROW(validate(g), FunnelError);
  g.discount = 1.0;
  g.set_entry({{"b", 1.0}});
  expect_error([&] { validate(g); }, ErrorKind::Structure, "b");
  EXPECT_THROW(validate(Funnel{}), FunnelError);
}

TEST(Model, DropStageMustBeAFailure) {
  auto f = two_stages();
  f.add_edge({"a", "b", 0.5, nullptr, {}});
  f.drop_stage = "b";
  expect_error([&] { validate(f); }, ErrorKind::Structure, "b");
}
