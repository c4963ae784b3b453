#include <gtest/gtest.h>

#include "funnelkit/markov/paths.hpp"
#include "funnels.hpp"

using namespace funnelkit;
using namespace funnelkit::markov;

TEST(Paths, MostLikelyPathPrefersTheLongerButLikelierRoute) {
  model::Funnel f;
  using model::StageKind;
  f.add_stage({"visit", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"lead", StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"paid", StageKind::Success, 0.0, nullptr, {}});
  f.add_edge({"visit", "paid", 0.01, nullptr, {}});
  f.add_edge({"visit", "lead", 0.2, nullptr, {}});
  f.add_edge({"lead", "paid", 0.1, nullptr, {}});
  const auto chain = Chain::compile(f);
  const auto path = most_likely_path(chain);
  ASSERT_EQ(path.states.size(), 3u);
  EXPECT_EQ(chain.name(path.states[1]), "lead");
  EXPECT_NEAR(path.probability, 0.02, 1e-15);

  const auto to_drop = most_likely_path(chain, chain.drop_state());
  EXPECT_EQ(to_drop.states.size(), 2u);
  EXPECT_NEAR(to_drop.probability, 0.79, 1e-15);
}

TEST(Paths, UnreachableTargetGivesEmptyPath) {
  auto f = fixtures::linear_funnel();
  f.set_probability("cart", "paid", 0.0);
  const auto chain = Chain::compile(f);
  const auto path = most_likely_path(chain, chain.state_index("paid"));
  EXPECT_TRUE(path.states.empty());
  EXPECT_EQ(path.probability, 0.0);
}
