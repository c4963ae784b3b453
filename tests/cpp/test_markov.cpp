// Analytics against closed forms, a dense reference built straight from the funnel's edges,
// brute-force removal and finite differences.
#include <cmath>
#include <random>

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include "funnelkit/core/errors.hpp"
#include "funnelkit/markov/analysis.hpp"
#include "funnelkit/markov/chain.hpp"
#include "funnels.hpp"

using namespace funnelkit;
using namespace funnelkit::markov;

namespace {

// Every quantity of the lazy analysis, gathered the way the old eager result held them.
struct Everything {
  double success, value_per_entrant, steps, steps_sd, time, time_sd, time_to_success_mean;
  Eigen::VectorXd success_probability, expected_time, value, expected_visits, expected_steps, dropped, reach,
      removal_success, removal_value;
  std::vector<EdgeSensitivity> edges;
};

Everything analyze(const Chain& chain, SolverOptions options = {}) {
  Analysis a(std::make_shared<Chain>(chain), options);
  Everything out{};
  const auto summary = a.summary();
  out.success = summary.success;
  out.value_per_entrant = summary.value_per_entrant;
  out.steps = summary.steps;
  out.steps_sd = summary.steps_sd;
  out.time = summary.time;
  out.time_sd = summary.time_sd;
  out.time_to_success_mean = summary.time_to_success;
  out.success_probability = a.success_probability();
  out.expected_time = a.expected_time();
  out.value = a.value();
  out.expected_visits = a.expected_visits();
  out.expected_steps = a.expected_steps();
  out.dropped = a.dropped();
  std::vector<std::size_t> all(chain.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto reach = a.reach(all);
  out.reach = Eigen::Map<const Eigen::VectorXd>(reach.data(), static_cast<Eigen::Index>(reach.size()));
  out.removal_success = Eigen::VectorXd::Constant(out.reach.size(), NAN);
  out.removal_value = Eigen::VectorXd::Constant(out.reach.size(), NAN);
  for (const auto& effect : a.removal_effects(chain.transient_states())) {
    out.removal_success[static_cast<Eigen::Index>(effect.state)] = effect.success_lost;
    out.removal_value[static_cast<Eigen::Index>(effect.state)] = effect.value_lost;
  }
  out.edges = a.sensitivities();
  return out;
}

Everything analyze_funnel(const model::Funnel& f) { return analyze(Chain::compile(f)); }

// n stages in a ring (i -> i + 1), each with a shortcut to shortcut(i) and an exit to "win".
template <class Shortcut>
model::Funnel ring_funnel(int n, double forward, double across, double win, Shortcut shortcut) {
  model::Funnel f;
  for (int i = 0; i < n; ++i) f.add_stage({"s" + std::to_string(i), model::StageKind::Transient, 0.0, nullptr, {}});
  f.add_stage({"win", model::StageKind::Success, 0.0, nullptr, {}});
  for (int i = 0; i < n; ++i) {
    f.add_edge({"s" + std::to_string(i), "s" + std::to_string((i + 1) % n), forward, nullptr, {}});
    f.add_edge({"s" + std::to_string(i), "s" + std::to_string(shortcut(i)), across, nullptr, {}});
    f.add_edge({"s" + std::to_string(i), "win", win, nullptr, {}});
  }
  return f;
}

// Dense reference: states = stages + one drop state at the end, built from the edges alone.
struct Dense {
  Eigen::MatrixXd p;       // full transition matrix (absorbing rows zero)
  Eigen::VectorXd mean;    // expected time spent per transient state
  Eigen::VectorXd value;   // entry value per state
  std::vector<bool> transient;
  std::vector<bool> success;

  explicit Dense(const model::Funnel& f) {
    const auto n = f.stages().size() + 1;
    p = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    mean = Eigen::VectorXd::Zero(p.rows());
    value = Eigen::VectorXd::Zero(p.rows());
    transient.assign(n, false);
    success.assign(n, false);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const auto& s = f.stages()[i];
      transient[i] = !s.absorbing();
      success[i] = s.kind == model::StageKind::Success;
      value[static_cast<Eigen::Index>(i)] = s.value;
    }
    for (const auto& e : f.edges()) {
      const auto i = static_cast<Eigen::Index>(f.stage_index(e.from));
      const auto j = static_cast<Eigen::Index>(f.stage_index(e.to));
      p(i, j) += e.probability;
      const auto& holding = e.delay ? e.delay : f.stage(e.from).holding;
      if (holding) mean[i] += e.probability * holding->mean();
    }
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (!transient[i]) continue;
      const auto row = static_cast<Eigen::Index>(i);
      const double rest = 1.0 - p.row(row).sum();
      p(row, p.cols() - 1) += rest;
      if (f.stages()[i].holding) mean[row] += rest * f.stages()[i].holding->mean();
    }
  }

  // (I - gamma Q)^-1 over all states, with absorbing rows/cols acting as identity.
  Eigen::MatrixXd fundamental(double gamma = 1.0) const {
    Eigen::MatrixXd q = p;
    for (Eigen::Index j = 0; j < q.cols(); ++j)
      if (!transient[static_cast<std::size_t>(j)]) q.col(j).setZero();
    // FullPivLU: Eigen 3.4's blocked partial-pivoting LU trips UBSan on large matrices.
    return Eigen::MatrixXd(Eigen::MatrixXd::Identity(p.rows(), p.cols()) - gamma * q).fullPivLu().inverse();
  }
};

}  // namespace

TEST(Markov, LinearFunnelClosedForms) {
  const auto a = analyze_funnel(fixtures::linear_funnel());
  EXPECT_NEAR(a.success, 0.2 * 0.3, 1e-15);
  EXPECT_NEAR(a.value_per_entrant, 0.06 * 50.0, 1e-13);
  EXPECT_NEAR(a.steps, 1.2, 1e-14);
  EXPECT_NEAR(a.steps_sd * a.steps_sd, 0.16, 1e-13);
  EXPECT_NEAR(a.time, 0.5 + 0.2 * 2.0, 1e-14);
  EXPECT_NEAR(a.time_sd * a.time_sd, 0.25 + (0.2 * 8.0 - 0.16), 1e-12);
  EXPECT_NEAR(a.time_to_success_mean, 2.5, 1e-13);
  EXPECT_NEAR(a.reach[1], 0.2, 1e-15);
  EXPECT_NEAR(a.dropped[0], 0.8, 1e-15);
  EXPECT_NEAR(a.dropped[1], 0.2 * 0.7, 1e-15);
}

TEST(Markov, LoopFunnelMatchesDenseReference) {
  const auto f = fixtures::loop_funnel();
  const Chain chain = Chain::compile(f);
  ASSERT_EQ(chain.size(), f.stages().size() + 1);  // virtual drop state appended
  const auto a = analyze(chain);
  const Dense d(f);
  const auto n_matrix = d.fundamental();
  const auto g_matrix = d.fundamental(f.discount);
  const Eigen::Index n = d.p.rows();
  const Eigen::RowVectorXd s = Eigen::RowVectorXd::Unit(n, 0);

  Eigen::VectorXd success_one_step = Eigen::VectorXd::Zero(n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      if (d.success[static_cast<std::size_t>(j)]) success_one_step[i] += d.p(i, j);
  const Eigen::VectorXd success = n_matrix * success_one_step;
  const Eigen::VectorXd time = n_matrix * d.mean;
  const Eigen::VectorXd value = g_matrix * (d.p * d.value);
  const Eigen::RowVectorXd visits = s * n_matrix;

  for (Eigen::Index i = 0; i < n; ++i) {
    if (!d.transient[static_cast<std::size_t>(i)]) continue;
    EXPECT_NEAR(a.success_probability[i], success[i], 1e-12) << i;
    EXPECT_NEAR(a.expected_time[i], time[i], 1e-11) << i;
    EXPECT_NEAR(a.value[i], value[i], 1e-11) << i;
    EXPECT_NEAR(a.expected_visits[i], visits[i], 1e-12) << i;
    EXPECT_NEAR(a.reach[i], visits[i] / n_matrix(i, i), 1e-12) << i;
    double steps = 0.0;  // expected visits to transient states = transitions until absorption
    for (Eigen::Index j = 0; j < n; ++j)
      if (d.transient[static_cast<std::size_t>(j)]) steps += n_matrix(i, j);
    EXPECT_NEAR(a.expected_steps[i], steps, 1e-11);
  }
  EXPECT_NEAR(a.value_per_entrant, d.value[0] + value[0], 1e-11);
}

TEST(Markov, VisitDiagonalMatchesDenseInverse) {
  const auto f = fixtures::loop_funnel();
  const Chain chain = Chain::compile(f);
  const Dense d(f);
  for (const double gamma : {1.0, 0.8}) {
    const auto dense = d.fundamental(gamma);
    const auto diagonal = visit_diagonal(chain, gamma);
    for (std::size_t t = 0; t < chain.transient_states().size(); ++t) {
      const auto state = static_cast<Eigen::Index>(chain.transient_states()[t]);
      EXPECT_NEAR(diagonal[static_cast<Eigen::Index>(t)], dense(state, state), 1e-12);
    }
  }
}

TEST(Markov, VisitDiagonalOfALargeComponent) {
  // A ring of 300 stages is one strongly connected component: the blocked sparse path.
  const int n = 300;
  const auto f = ring_funnel(n, 0.9, 0.05, 0.01, [](int i) { return (i * 7 + 3) % n; });
  const Chain chain = Chain::compile(f);
  const Dense d(f);
  for (const double gamma : {1.0, 0.95}) {
    const auto dense = d.fundamental(gamma);
    const auto diagonal = visit_diagonal(chain, gamma);
    for (Eigen::Index i = 0; i < n; ++i) EXPECT_NEAR(diagonal[i], dense(i, i), 1e-9 * dense(i, i));
  }
}

TEST(Markov, RemovalEffectsMatchBruteForce) {
  const auto f = fixtures::loop_funnel();
  const auto a = analyze_funnel(f);
  for (const std::string stage : {"browse", "buy"}) {
    auto removed = f;
    for (const auto& e : f.edges())
      if (e.to == stage) removed.set_probability(e.from, e.to, 0.0);  // entering it = dropping out
    const auto b = analyze_funnel(removed);
    const auto k = static_cast<Eigen::Index>(f.stage_index(stage));
    EXPECT_NEAR(a.removal_success[k], a.success - b.success, 1e-12) << stage;
    EXPECT_NEAR(a.removal_value[k], a.value_per_entrant - b.value_per_entrant, 1e-10) << stage;
  }
}

TEST(Markov, SensitivitiesMatchFiniteDifferences) {
  const auto f = fixtures::loop_funnel();
  const auto a = analyze_funnel(f);
  ASSERT_EQ(a.edges.size(), f.edges().size());
  const double h = 1e-6;
  for (const auto& e : a.edges) {
    const auto& edge = f.edges()[e.edge];
    auto up = f;
    auto down = f;
    up.set_probability(edge.from, edge.to, edge.probability + h);
    down.set_probability(edge.from, edge.to, edge.probability - h);
    const auto au = analyze_funnel(up);
    const auto ad = analyze_funnel(down);
    EXPECT_NEAR(e.d_success, (au.success - ad.success) / (2 * h), 1e-6) << edge.from << "->" << edge.to;
    EXPECT_NEAR(e.d_value, (au.value_per_entrant - ad.value_per_entrant) / (2 * h), 1e-5) << edge.from << "->" << edge.to;
    EXPECT_NEAR(e.d_time, (au.time - ad.time) / (2 * h), 1e-5) << edge.from << "->" << edge.to;
  }
}

TEST(Markov, MonteCarloAgreesOnTimeAndSteps) {
  const auto f = fixtures::loop_funnel();
  const Chain chain = Chain::compile(f);
  const auto a = analyze(chain);
  Rng rng(7);
  const int runs = 200000;
  double time = 0.0, time2 = 0.0, successes = 0.0;
  for (int r = 0; r < runs; ++r) {
    std::size_t state = 0;
    double t = 0.0;
    while (!chain.absorbing(state)) {
      const auto [next, dt] = chain.sample_step(state, rng);
      t += dt;
      state = next;
    }
    time += t;
    time2 += t * t;
    successes += chain.kind(state) == model::StageKind::Success ? 1.0 : 0.0;
  }
  const double mean = time / runs;
  const double sd = std::sqrt(time2 / runs - mean * mean);
  EXPECT_NEAR(mean, a.time, 5.0 * a.time_sd / std::sqrt(runs));
  EXPECT_NEAR(sd, a.time_sd, 0.03 * a.time_sd);
  EXPECT_NEAR(successes / runs, a.success, 5.0 * std::sqrt(a.success * (1 - a.success) / runs));
}

TEST(Markov, SampleNextFollowsRowProbabilities) {
  const Chain chain = Chain::compile(fixtures::loop_funnel());
  std::vector<int> counts(chain.size(), 0);
  std::mt19937_64 engine(3);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const int draws = 400000;
  for (int i = 0; i < draws; ++i) counts[chain.sample_next(0, uniform(engine))]++;
  for (const auto& tr : chain.transitions(0)) EXPECT_NEAR(counts[tr.to] / double(draws), tr.probability, 0.004);
}

namespace {

// Each stage links to `out` random stages anywhere (an expander: one big component whose
// sparse LU fills in), plus a success and a failure exit taking `exit` of every row.
model::Funnel random_expander(int n, int out, double exit, unsigned seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<int> pick(0, n - 1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  model::Funnel f;
  for (int i = 0; i < n; ++i)
    f.add_stage({"p" + std::to_string(i), model::StageKind::Transient, uniform(engine), nullptr, {}});
  f.add_stage({"paid", model::StageKind::Success, 50.0, nullptr, {}});
  f.add_stage({"lost", model::StageKind::Failure, 0.0, nullptr, {}});
  for (int i = 0; i < n; ++i) {
    std::vector<int> targets;
    while (static_cast<int>(targets.size()) < out) {
      const int t = pick(engine);
      if (t != i && std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);
    }
    const double stay = 1.0 - exit;
    for (const int t : targets)
      f.add_edge({"p" + std::to_string(i), "p" + std::to_string(t), stay / out, std::make_shared<model::Fixed>(1.0), {}});
    const double paid = exit * uniform(engine);
    f.add_edge({"p" + std::to_string(i), "paid", paid, nullptr, {}});
    f.add_edge({"p" + std::to_string(i), "lost", exit - paid, nullptr, {}});
  }
  return f;
}

}  // namespace

TEST(LinearSystem, ComponentsComeSuccessorsFirst) {
  const Chain chain = Chain::compile(random_expander(60, 1, 0.3, 5));
  const TransientStructure structure(chain);
  const auto& q = structure.q();
  for (Eigen::Index t = 0; t < q.outerSize(); ++t)
    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(q, t); it; ++it)
      EXPECT_GE(structure.component_of(static_cast<std::size_t>(t)), structure.component_of(static_cast<std::size_t>(it.col())));
}

TEST(LinearSystem, EveryMethodGivesTheDenseAnswer) {
  const auto f = random_expander(400, 3, 0.08, 11);
  const Chain chain = Chain::compile(f);
  const Dense d(f);
  const auto n_matrix = d.fundamental();
  for (const auto method : {SolveMethod::Automatic, SolveMethod::Dense, SolveMethod::SparseLU, SolveMethod::Iterative}) {
    SolverOptions options;
    options.method = method;
    const auto a = analyze(chain, options);
    for (Eigen::Index i = 0; i < 400; i += 7) {
      EXPECT_NEAR(a.expected_steps[i], n_matrix.row(i).head(400).sum(), 1e-10) << to_string(method);
      EXPECT_NEAR(a.reach[i], n_matrix(0, i) / n_matrix(i, i), 1e-12) << to_string(method);
    }
  }
}

TEST(LinearSystem, AutomaticChoiceFollowsTheShape) {
  for (const auto& [f, expected] : {std::pair{random_expander(3000, 3, 0.08, 2), SolveMethod::Iterative},
                                    std::pair{random_expander(50, 3, 0.08, 2), SolveMethod::Dense}}) {
    Analysis a(std::make_shared<Chain>(Chain::compile(f)));
    (void)a.summary();
    const auto reports = a.solver_reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].method, expected);
    EXPECT_LE(reports[0].max_residual, 1e-13);
    EXPECT_GT(reports[0].solves, 0u);
  }
  // A long ring with local shortcuts stays sparse under LU.
  const int n = 2000;
  const auto ring = ring_funnel(n, 0.6, 0.3, 0.05, [](int i) { return (i + n - 3) % n; });
  Analysis a(std::make_shared<Chain>(Chain::compile(ring)));
  (void)a.summary();
  EXPECT_EQ(a.solver_reports().at(0).method, SolveMethod::Iterative);  // a handful of solves
  (void)a.reach(a.chain().transient_states());
  const auto ring_report = a.solver_reports().at(0);
  EXPECT_EQ(ring_report.diagonal_method, "sparse_lu");  // many columns: its factor stays sparse
  EXPECT_LE(ring_report.max_residual, 1e-13);
  EXPECT_GE(ring_report.solves, 2000u);
}

TEST(LinearSystem, ResultsDoNotDependOnThreads) {
  const Chain chain = Chain::compile(random_expander(1500, 3, 0.1, 3));
  SolverOptions one, two;
  one.threads = 1;
  two.threads = 2;
  const auto a = analyze(chain, one);
  const auto b = analyze(chain, two);
  for (Eigen::Index i = 0; i < a.reach.size(); ++i) {
    EXPECT_EQ(a.reach[i], b.reach[i]);
    if (!std::isnan(a.removal_value[i])) {
      EXPECT_EQ(a.removal_value[i], b.removal_value[i]) << i;
    }
  }
  for (Eigen::Index i = 0; i < a.value.size(); ++i) EXPECT_EQ(a.value[i], b.value[i]);
}

TEST(LinearSystem, SubsetReachMatchesFullReach) {
  const Chain chain = Chain::compile(random_expander(800, 3, 0.1, 9));
  const auto full = analyze(chain);
  Analysis a(std::make_shared<Chain>(chain));
  const std::vector<std::size_t> some{5, 600, 801, 17};  // 801 is "lost": absorbing
  const auto reach = a.reach(some);
  for (std::size_t i = 0; i < some.size(); ++i) EXPECT_NEAR(reach[i], full.reach[static_cast<Eigen::Index>(some[i])], 1e-14);
  const auto effects = a.removal_effects(std::vector<std::size_t>{600});
  EXPECT_NEAR(effects[0].success_lost, full.removal_success[600], 1e-14);
}

TEST(LinearSystem, ProgressCanCancel) {
  const Chain chain = Chain::compile(random_expander(2000, 3, 0.1, 4));
  Analysis a(std::make_shared<Chain>(chain), SolverOptions{.method = SolveMethod::Iterative});
  std::size_t calls = 0;
  const auto all = chain.transient_states();
  EXPECT_THROW((void)a.reach(all, [&](std::size_t, std::size_t total) {
    EXPECT_GT(total, 1500u);  // the stages in the big loop component; the rest cost no solve
    return ++calls < 2;
  }),
               Cancelled);
  EXPECT_EQ(calls, 2u);
}

TEST(LinearSystem, MissedToleranceFallsBackOrNamesTheComponent) {
  const Chain chain = Chain::compile(random_expander(300, 3, 0.01, 6));
  SolverOptions options{.max_iterations = 2, .method = SolveMethod::Iterative};
  Analysis fallback(std::make_shared<Chain>(chain), options);
  const auto steps = fallback.expected_steps();
  const auto reports = fallback.solver_reports();
  EXPECT_TRUE(reports.at(0).fell_back);
  const auto reference = analyze(chain);
  EXPECT_NEAR(steps[0], reference.expected_steps[0], 1e-9);

  options.direct_fallback_limit = 0;
  Analysis strict(std::make_shared<Chain>(chain), options);
  try {
    (void)strict.expected_steps();
    FAIL() << "expected a convergence error";
  } catch (const FunnelError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Convergence);
    EXPECT_FALSE(e.subject().empty());
    EXPECT_NE(std::string(e.what()).find("residual"), std::string::npos);
  }
}
