// The JSON document: lossless round trips and precise errors.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/model/json_io.hpp"
#include "funnels.hpp"

using namespace funnelkit;
using namespace funnelkit::model;

namespace {

ErrorKind kind_of(const std::string& text) {
  try {
    (void)funnel_from_json(text);
  } catch (const FunnelError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "accepted: " << text;
  return ErrorKind::Format;
}

const char* kMinimal = R"({"format": "funnelkit.funnel", "version": 1,
  "stages": [{"name": "visit"}, {"name": "paid", "kind": "success", "value": 9.5}],
  "edges": [{"from": "visit", "to": "paid", "probability": 0.1}]})";

}  // namespace

TEST(Json, RoundTripIsLossless) {
  auto f = fixtures::loop_funnel();
  f.metadata = {{"owner", "growth team"}, {"tags", {1, 2}}};
  f.set_entry({{"visit", 0.7}, {"browse", 0.3}});
  const auto text = funnel_to_json(f);
  const auto again = funnel_to_json(funnel_from_json(text));
  EXPECT_EQ(text, again);
}

TEST(Json, ReadsMinimalDocumentWithDefaults) {
  const auto f = funnel_from_json(kMinimal);
  EXPECT_EQ(f.stages().size(), 2u);
  EXPECT_EQ(f.stage("paid").kind, StageKind::Success);
  EXPECT_DOUBLE_EQ(f.stage("paid").value, 9.5);
  EXPECT_EQ(f.remainder, RemainderRule::Drop);
  EXPECT_EQ(f.time_unit, "hours");
}

TEST(Json, NumbersSurviveExactly) {
  auto f = fixtures::linear_funnel();
  f.set_probability("visit", "cart", 0.1 + 0.2);  // 0.30000000000000004
  const auto back = funnel_from_json(funnel_to_json(f));
  EXPECT_EQ(back.edges().front().probability, 0.1 + 0.2);
}

TEST(Json, Errors) {
  EXPECT_EQ(kind_of("{not json"), ErrorKind::Format);
  EXPECT_EQ(kind_of("[]"), ErrorKind::Format);
  EXPECT_EQ(kind_of(R"({"format": "other", "version": 1, "stages": []})"), ErrorKind::Format);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 99, "stages": []})"), ErrorKind::SchemaVersion);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1, "stages": [], "edgs": []})"), ErrorKind::Format);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1, "stages": [{"name": "a", "kind": "maybe"}]})"),
            ErrorKind::Format);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1, "stages": [{"name": "a"}],
                        "edges": [{"from": "a", "to": "b", "probability": 0.5}]})"),
            ErrorKind::UnknownStage);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1, "stages": [{"name": "a"}, {"name": "b"}],
                        "edges": [{"from": "a", "to": "b", "probability": "high"}]})"),
            ErrorKind::Format);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1,
                        "stages": [{"name": "a", "holding": {"type": "exponential", "mean": -1}}]})"),
            ErrorKind::Distribution);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1,
                        "stages": [{"name": "a", "holding": {"type": "mystery"}}]})"),
            ErrorKind::UnknownDistribution);
}

TEST(Json, ErrorsNameThePath) {
  try {
    (void)funnel_from_json(R"({"format": "funnelkit.funnel", "version": 1,
                               "stages": [{"name": "a"}, {"name": 7}]})");
    FAIL();
  } catch (const FunnelError& e) {
    EXPECT_EQ(e.subject(), "stages[1].name");
  }
}

TEST(Json, ExtensionFactoriesBuildUnknownTypes) {
  ExtensionFactories extensions;
  extensions.set<Distribution>([](const std::string& type, const nlohmann::json& params) -> DistributionPtr {
    if (type != "twice_exponential") return nullptr;
    return std::make_shared<Exponential>(params.at("rate").get<double>() * 2.0);
  });
  EXPECT_TRUE(extensions.has("distribution"));
  EXPECT_FALSE(extensions.has("scorer"));
  const auto d = distribution_from_json({{"type", "twice_exponential"}, {"rate", 1.5}}, extensions);
  EXPECT_DOUBLE_EQ(d->mean(), 1.0 / 3.0);
  const auto f = funnel_from_json(R"({"format": "funnelkit.funnel", "version": 1,
    "stages": [{"name": "a", "holding": {"type": "twice_exponential", "rate": 1}}, {"name": "b", "kind": "success"}],
    "edges": [{"from": "a", "to": "b", "probability": 1}]})",
                                  extensions);
  EXPECT_DOUBLE_EQ(f.stages().front().holding->mean(), 0.5);
  EXPECT_EQ(kind_of(R"({"format": "funnelkit.funnel", "version": 1,
                        "stages": [{"name": "a", "holding": {"type": "thrice_exponential"}}]})"),
            ErrorKind::UnknownDistribution);
}

TEST(Json, MetadataIsNullUntilSetAndRoundTripsExactly) {
  const auto f = funnel_from_json(R"({"format": "funnelkit.funnel", "version": 1,
    "stages": [{"name": "a", "metadata": {}}, {"name": "b", "kind": "success", "metadata": {"k": [1, 2]}}],
    "edges": [{"from": "a", "to": "b", "probability": 0.5, "metadata": {}}]})");
  EXPECT_TRUE(f.stages()[0].metadata.is_null());  // an empty object costs no allocation
  EXPECT_TRUE(f.edges()[0].metadata.is_null());
  EXPECT_EQ(f.stages()[1].metadata, nlohmann::json({{"k", {1, 2}}}));
  const auto text = funnel_to_json(f);
  EXPECT_EQ(text.find("\"metadata\": {}"), std::string::npos);
  EXPECT_EQ(funnel_to_json(funnel_from_json(text)), text);
}

TEST(Json, ReadsLargeDocumentsThroughTheEdgeIndex) {
  // 20,000 edges: with a linear duplicate scan per edge this read took seconds (minutes under
  // the sanitizers).
  Funnel f;
  constexpr std::size_t n = 10'000;
  for (std::size_t i = 0; i <= n; ++i)
    f.add_stage({"s" + std::to_string(i), i == n ? StageKind::Success : StageKind::Transient, 0.0, nullptr, {}});
  for (std::size_t i = 0; i < n; ++i) {
    f.add_edge({"s" + std::to_string(i), "s" + std::to_string(i + 1), 0.5, nullptr, {}});
    if (i + 1 < n) f.add_edge({"s" + std::to_string(i), "s" + std::to_string(n), 0.25, nullptr, {}});
  }
  const auto back = funnel_from_json(funnel_to_json(f));
  ASSERT_EQ(back.edges().size(), 2 * n - 1);
  EXPECT_EQ(back.find_edge("s17", "s18"), std::optional<std::size_t>(34));
  EXPECT_EQ(back.target_index(35), n);
  EXPECT_NO_THROW(validate(back));
}
