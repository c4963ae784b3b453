#include "funnelkit/markov/linear_system.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/strong_components.hpp>

#include "component_solvers.hpp"
#include "funnelkit/core/errors.hpp"

namespace funnelkit::markov {
namespace {

using Eigen::Index;
using detail::RowMatrix;

Index to_index(std::size_t i) { return static_cast<Index>(i); }
std::size_t to_size(Index i) { return static_cast<std::size_t>(i); }

// Components up to this size are dense; so are denser ones up to kDenseDenseLimit.
constexpr std::size_t kDenseLimit = 96;
constexpr std::size_t kDenseDenseLimit = 800;
// Column solves below this much work (states x columns) are not worth starting threads for.
constexpr std::size_t kParallelWork = 20'000;
constexpr std::size_t kDiagonalBatch = 32;

// Small or dense components are factorised densely. Larger ones are solved iteratively: a
// handful of preconditioned BiCGSTAB solves costs less than factorising, whatever the shape;
// when many columns are asked for (the reach of every stage), the iterative solver builds a
// sparse LU for them if its factor stays sparse (ComponentSolver::prepare_diagonal).
SolveMethod choose(const RowMatrix& a, const SolverOptions& options) {
  if (options.method != SolveMethod::Automatic) return options.method;
  const auto k = to_size(a.rows());
  const auto nonzeros = to_size(a.nonZeros());
  if (k <= kDenseLimit || (k <= kDenseDenseLimit && nonzeros * 5 >= k * k)) return SolveMethod::Dense;
  return SolveMethod::Iterative;
}

}  // namespace

std::string_view to_string(SolveMethod method) noexcept {
  switch (method) {
    case SolveMethod::Automatic: return "auto";
    case SolveMethod::Scalar: return "scalar";
    case SolveMethod::Dense: return "dense";
    case SolveMethod::SparseLU: return "sparse_lu";
    case SolveMethod::Iterative: return "iterative";
  }
  return "auto";
}

SolveMethod solve_method_from_string(std::string_view text) {
  for (const auto method : {SolveMethod::Automatic, SolveMethod::Dense, SolveMethod::SparseLU, SolveMethod::Iterative})
    if (to_string(method) == text) return method;
  throw std::invalid_argument("unknown solver method '" + std::string(text) +
                              "' (use auto, dense, sparse_lu or iterative)");
}

// ---------------------------------------------------------------------------------------------
std::vector<std::vector<std::size_t>> components_successors_first(
    std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& arcs, std::vector<std::size_t>* component_of) {
  // Compressed rows, built from the arc list in linear time.
  const boost::compressed_sparse_row_graph<boost::directedS> graph(boost::edges_are_unsorted_multi_pass, arcs.begin(),
                                                                   arcs.end(), n);
  std::vector<std::size_t> component(n);
  const auto count = boost::strong_components(
      graph, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, graph)));
  std::vector<std::vector<std::size_t>> members(count);
  for (std::size_t v = 0; v < n; ++v) members[component[v]].push_back(v);
  if (component_of != nullptr) *component_of = std::move(component);
  return members;
}

TransientStructure::TransientStructure(const Chain& chain)
    : states_(chain.transient_states()), index_(chain.size(), kNoState) {
  const auto m = states_.size();
  for (std::size_t t = 0; t < m; ++t) index_[states_[t]] = t;

  std::vector<Eigen::Triplet<double, int>> entries;
  std::vector<std::pair<std::size_t, std::size_t>> arcs;
  for (std::size_t t = 0; t < m; ++t)
    for (const auto& tr : chain.transitions(states_[t])) {
      const auto u = index_[tr.to];
      if (u == kNoState || !(tr.probability > 0.0)) continue;
      entries.emplace_back(static_cast<int>(t), static_cast<int>(u), tr.probability);
      if (u != t) arcs.emplace_back(t, u);
    }
  q_.resize(to_index(m), to_index(m));
  q_.setFromTriplets(entries.begin(), entries.end());
  q_.makeCompressed();

  // Successors first: the order backward solves need (and forward ones take in reverse).
  members_ = components_successors_first(m, arcs, &component_);
  for (const auto& group : members_) names_.push_back(chain.name(states_[group.front()]));
}

// ---------------------------------------------------------------------------------------------
LinearSystem::LinearSystem(std::shared_ptr<const TransientStructure> structure, double gamma, SolverOptions options)
    : structure_(std::move(structure)), gamma_(gamma), options_(options) {
  const auto& q = structure_->q();
  const auto m = structure_->size();
  pivot_ = Eigen::VectorXd::Ones(to_index(m));
  const auto& components = structure_->components();
  solvers_.resize(components.size());
  std::vector<std::size_t> local(m, kNoState);
  for (std::size_t c = 0; c < components.size(); ++c) {
    const auto& group = components[c];
    if (group.size() == 1) {
      const auto t = group.front();
      pivot_[to_index(t)] = 1.0 - gamma_ * q.coeff(to_index(t), to_index(t));
      if (!(pivot_[to_index(t)] > 0.0))
        throw FunnelError(ErrorKind::NoExit,
                          "stage '" + structure_->component_name(c) + "' loops onto itself and can never finish",
                          structure_->component_name(c));
      continue;
    }
    const auto k = group.size();
    for (std::size_t i = 0; i < k; ++i) local[group[i]] = i;
    std::vector<Eigen::Triplet<double, int>> entries;
    for (std::size_t i = 0; i < k; ++i) {
      entries.emplace_back(static_cast<int>(i), static_cast<int>(i), 1.0);
      for (RowMatrix::InnerIterator it(q, to_index(group[i])); it; ++it)
        if (const auto j = local[to_size(it.col())]; j != kNoState)
          entries.emplace_back(static_cast<int>(i), static_cast<int>(j), -gamma_ * it.value());
    }
    for (const auto t : group) local[t] = kNoState;
    RowMatrix a(to_index(k), to_index(k));
    a.setFromTriplets(entries.begin(), entries.end());
    a.makeCompressed();

    ComponentReport report;
    report.size = k;
    report.nonzeros = to_size(a.nonZeros()) - k;
    report.first_state = structure_->state(group.front());
    report.discount = gamma_;
    switch (choose(a, options_)) {
      case SolveMethod::Dense: solvers_[c] = detail::make_dense_solver(std::move(a), report); break;
      case SolveMethod::SparseLU: solvers_[c] = detail::make_sparse_lu_solver(std::move(a), report); break;
      default:
        solvers_[c] = detail::make_iterative_solver(std::move(a), report, options_,
                                                    structure_->component_name(c));
    }
  }
}

LinearSystem::~LinearSystem() = default;

void LinearSystem::solve(Eigen::Ref<Eigen::VectorXd> x, bool transposed) const {
  const auto& q = structure_->q();
  const auto& components = structure_->components();
  const auto count = components.size();
  Eigen::VectorXd block;
  for (std::size_t step = 0; step < count; ++step) {
    // A x = b: successors first, pulling their solutions in. A^T x = b: predecessors first,
    // pushing their solutions out once known.
    const auto c = transposed ? count - 1 - step : step;
    const auto& group = components[c];
    if (!transposed)
      for (const auto t : group)
        for (RowMatrix::InnerIterator it(q, to_index(t)); it; ++it)
          if (structure_->component_of(to_size(it.col())) != c) x[to_index(t)] += gamma_ * it.value() * x[it.col()];
    if (group.size() == 1) {
      x[to_index(group.front())] /= pivot_[to_index(group.front())];
    } else {
      block.resize(to_index(group.size()));
      for (std::size_t i = 0; i < group.size(); ++i) block[to_index(i)] = x[to_index(group[i])];
      solvers_[c]->solve(block, transposed);
      for (std::size_t i = 0; i < group.size(); ++i) x[to_index(group[i])] = block[to_index(i)];
    }
    if (transposed)
      for (const auto t : group)
        for (RowMatrix::InnerIterator it(q, to_index(t)); it; ++it)
          if (structure_->component_of(to_size(it.col())) != c) x[it.col()] += gamma_ * it.value() * x[to_index(t)];
  }
}

Eigen::MatrixXd LinearSystem::solve_columns(Eigen::MatrixXd b, bool transposed) const {
  const auto columns = to_size(b.cols());
  const auto threads = size() * columns >= kParallelWork ? options_.threads : 1;
  parallel_for(columns, threads, [&](std::size_t c) { solve(b.col(to_index(c)), transposed); });
  return b;
}

std::size_t LinearSystem::diagonal_cost(std::span<const std::size_t> indices) const {
  return static_cast<std::size_t>(std::count_if(indices.begin(), indices.end(), [&](std::size_t t) {
    return solvers_[structure_->component_of(t)] != nullptr;
  }));
}

std::vector<double> LinearSystem::inverse_diagonal(std::span<const std::size_t> indices,
                                                   const Progress& progress) const {
  std::vector<double> out(indices.size());
  // Work items: batches of positions inside one component with a cycle.
  struct Batch {
    std::size_t component;
    std::vector<std::size_t> positions;  // local positions in the component
    std::vector<std::size_t> slots;      // where each answer goes in `out`
  };
  std::vector<std::vector<std::size_t>> requested(structure_->components().size());
  std::vector<std::vector<std::size_t>> slots(requested.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto t = indices[i];
    if (t >= size()) throw std::out_of_range("transient index out of range");
    const auto c = structure_->component_of(t);
    if (!solvers_[c]) {
      out[i] = 1.0 / pivot_[to_index(t)];
      continue;
    }
    requested[c].push_back(t);
    slots[c].push_back(i);
  }
  std::vector<Batch> batches;
  std::vector<std::size_t> done_after{0};  // columns finished once batch i is done
  std::vector<std::size_t> local(size(), kNoState);
  for (std::size_t c = 0; c < requested.size(); ++c) {
    if (requested[c].empty()) continue;
    const auto& group = structure_->components()[c];
    for (std::size_t i = 0; i < group.size(); ++i) local[group[i]] = i;
    for (std::size_t first = 0; first < requested[c].size(); first += kDiagonalBatch) {
      Batch batch{c, {}, {}};
      for (auto i = first; i < std::min(requested[c].size(), first + kDiagonalBatch); ++i) {
        batch.positions.push_back(local[requested[c][i]]);
        batch.slots.push_back(slots[c][i]);
      }
      done_after.push_back(done_after.back() + batch.positions.size());
      batches.push_back(std::move(batch));
    }
    for (const auto t : group) local[t] = kNoState;
  }
  for (std::size_t c = 0; c < requested.size(); ++c)
    if (!requested[c].empty()) solvers_[c]->prepare_diagonal(requested[c].size(), options_.threads);
  const auto total = done_after.back();
  Progress by_columns;
  if (progress) by_columns = [&](std::size_t done, std::size_t) { return progress(done_after[done], total); };
  const auto work = batches.empty() ? 0 : total * structure_->components()[batches.front().component].size();
  parallel_for(
      batches.size(), work >= kParallelWork ? options_.threads : 1,
      [&](std::size_t b) {
        const auto& batch = batches[b];
        std::vector<double> values(batch.positions.size());
        solvers_[batch.component]->inverse_diagonal(batch.positions, values);
        for (std::size_t i = 0; i < values.size(); ++i) out[batch.slots[i]] = values[i];
      },
      by_columns);
  return out;
}

std::vector<ComponentReport> LinearSystem::reports() const {
  std::vector<ComponentReport> out;
  for (const auto& solver : solvers_)
    if (solver) out.push_back(solver->report());
  return out;
}

}  // namespace funnelkit::markov
