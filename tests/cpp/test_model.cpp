// Building and validating funnels: each rule raises its own error naming the culprit.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

TEST(Model, EdgeIndexFindsEdgesAndTheirEnds) {
  auto f = two_stages();
  f.add_stage({"c", StageKind::Failure, 0.0, nullptr, {}});
  f.add_edge({"a", "c", 0.2, nullptr, {}});
  f.add_edge({"a", "b", 0.5, nullptr, {}});
  EXPECT_EQ(f.find_edge("a", "b"), std::optional<std::size_t>(1));
  EXPECT_EQ(f.find_edge(0, 2), std::optional<std::size_t>(0));
  EXPECT_EQ(f.find_edge("b", "a"), std::nullopt);
  EXPECT_EQ(f.find_edge("a", "ghost"), std::nullopt);
  EXPECT_EQ(f.source_index(1), 0u);
  EXPECT_EQ(f.target_index(1), 1u);
  f.set_probability("a", "b", 0.6);
  EXPECT_EQ(f.edges()[1].probability, 0.6);
  expect_error([&] { f.set_probability("b", "a", 0.1); }, ErrorKind::UnknownStage, "b -> a");
  const auto copy = f;  // the index travels with a copy
  EXPECT_EQ(copy.find_edge("a", "c"), std::optional<std::size_t>(0));
}

TEST(Model, MetadataIsNullUnlessGiven) {
  auto f = two_stages();
  f.add_edge({"a", "b", 0.5, nullptr, nlohmann::json::object()});
  EXPECT_TRUE(f.stages()[0].metadata.is_null());
  EXPECT_TRUE(f.edges()[0].metadata.is_null());
  expect_error([&] { f.add_stage({"c", StageKind::Transient, 0.0, nullptr, 3}); }, ErrorKind::Format, "c");
}

TEST(Model, RejectsBlankStageNames) {
  Funnel f;
  for (const char* name : {"", " ", "\t\n "})
    expect_error([&] { f.add_stage({name, StageKind::Transient, 0.0, nullptr, {}}); }, ErrorKind::Format, "");
  EXPECT_NO_THROW(f.add_stage({" a ", StageKind::Transient, 0.0, nullptr, {}}));
}

TEST(Model, AddsStagesInBulkAllOrNothing) {
  Funnel f;
  std::vector<Stage> stages{{"a", StageKind::Transient, 0.0, nullptr, {}},
                            {"b", StageKind::Success, 2.0, nullptr, {}},
                            {"a", StageKind::Transient, 0.0, nullptr, {}}};
  expect_error([&] { f.add_stages(stages); }, ErrorKind::DuplicateStage, "a");
  EXPECT_TRUE(f.stages().empty());
  EXPECT_FALSE(f.find_stage("a"));
  stages.pop_back();
  f.add_stages(stages);
  EXPECT_EQ(f.stage_index("b"), 1u);
}

TEST(Model, AddsEdgesFromColumns) {
  auto f = two_stages();
  f.add_stage({"c", StageKind::Failure, 0.0, nullptr, {}});
  const std::vector<std::int64_t> sources{0, 0};
  const std::vector<std::int64_t> targets{1, 2};
  const std::vector<double> probabilities{0.25, 0.5};
  f.add_edges(sources, targets, probabilities);
  ASSERT_EQ(f.edges().size(), 2u);
  EXPECT_EQ(f.edges()[1].from, "a");
  EXPECT_EQ(f.edges()[1].to, "c");
  EXPECT_EQ(f.edges()[1].probability, 0.5);
  EXPECT_EQ(f.target_index(1), 2u);
  EXPECT_EQ(f.find_edge("a", "b"), std::optional<std::size_t>(0));
  EXPECT_NO_THROW(validate(f));
}

TEST(Model, BulkEdgeErrorsNameTheRowAndAddNothing) {
  const auto expect_row_error = [](std::vector<std::int64_t> sources, std::vector<std::int64_t> targets,
                                   std::vector<double> probabilities, ErrorKind kind, const std::string& subject,
                                   const std::string& message) {
    auto f = two_stages();
    f.add_stage({"c", StageKind::Failure, 0.0, nullptr, {}});
    f.add_edge({"a", "c", 0.1, nullptr, {}});
    try {
      f.add_edges(sources, targets, probabilities);
      FAIL() << "no error raised";
    } catch (const FunnelError& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_EQ(e.subject(), subject) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(message, 0), 0u) << e.what();
    }
    EXPECT_EQ(f.edges().size(), 1u);  // the rows before the bad one are rolled back
    EXPECT_FALSE(f.find_edge("a", "b"));
    EXPECT_NO_THROW(f.add_edge({"a", "b", 0.5, nullptr, {}}));
  };
  using enum ErrorKind;
  expect_row_error({0, 0}, {1, 1}, {0.1, 0.2}, DuplicateEdge, "a -> b", "row 1: edge a -> b is defined twice");
  expect_row_error({0, 0}, {1, 2}, {0.1, 0.2}, DuplicateEdge, "a -> c", "row 1: edge a -> c is defined twice");
  expect_row_error({0, 0, 0}, {1, 1, 1}, {0.1, 0.2, 0.3}, ErrorKind::DuplicateEdge, "a -> b", "row 1:");
  expect_row_error({0, 3}, {1, 1}, {0.1, 0.2}, ErrorKind::UnknownStage, "sources[1]", "row 1: stage code 3");
  expect_row_error({0, 0}, {1, -1}, {0.1, 0.2}, ErrorKind::UnknownStage, "targets[1]", "row 1: stage code -1");
  expect_row_error({0}, {1}, {std::nan("")}, Probability, "a -> b", "row 0: edge a -> b has probability nan");
  expect_row_error({0}, {1}, {1.5}, ErrorKind::Probability, "a -> b", "row 0: edge a -> b has probability 1.5");

  auto f = two_stages();
  const std::vector<std::int64_t> one{0};
  const std::vector<std::int64_t> none;
  const std::vector<double> p{0.5};
  EXPECT_THROW(f.add_edges(one, none, p), FunnelError);
}
