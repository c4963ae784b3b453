// The yardstick of bench_simulate.py: the barest C++ loop that simulates leads through a
// funnel with exponential holding times, one lead after the other on one core. Per transition:
// one uniform for the next stage (a linear scan of the cumulative row) and one for the
// exponential holding time (-mean * log(u)), from a xoshiro256+ generator. No triggers, no
// counters per day, no events: what any engine's inner loop costs at least.
//
// Input (stdin, whitespace-separated):
//   states entry leads span horizon seed
//   then per state: kind(0 transient, 1 success, 2 failure) mean k  to_1 cum_1 ... to_k cum_k
// Leads arrive at i * span / leads. Output (stdout): one JSON object.
//
// Compiled by bench_simulate.py with the system's g++ -O2 (no dependencies).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <vector>

namespace {

struct Xoshiro256Plus {
  std::uint64_t s[4];
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  explicit Xoshiro256Plus(std::uint64_t seed) {
    for (auto& word : s) word = splitmix(seed);
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t result = s[0] + s[3];
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  /// Uniform on (0, 1]: never 0, so log(u) is finite.
  double uniform() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }
};

struct Row {
  int kind = 0;
  double mean = 0.0;
  std::vector<int> to;
  std::vector<double> cumulative;
};

}  // namespace

int main() {
  std::size_t states = 0, entry = 0, leads = 0;
  double span = 0.0, horizon = 0.0;
  std::uint64_t seed = 0;
  if (!(std::cin >> states >> entry >> leads >> span >> horizon >> seed)) return 2;
  std::vector<Row> rows(states);
  for (auto& row : rows) {
    std::size_t k = 0;
    if (!(std::cin >> row.kind >> row.mean >> k)) return 2;
    row.to.resize(k);
    row.cumulative.resize(k);
    for (std::size_t j = 0; j < k; ++j) std::cin >> row.to[j] >> row.cumulative[j];
  }
  Xoshiro256Plus rng(seed);
  std::int64_t transitions = 0, purchases = 0;
  double time_to_purchase = 0.0;
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t lead = 0; lead < leads; ++lead) {
    const double arrival = static_cast<double>(lead) * span / static_cast<double>(leads);
    double now = arrival;
    std::size_t state = entry;
    while (rows[state].kind == 0) {
      const Row& row = rows[state];
      const double u = rng.uniform();
      std::size_t j = 0;
      const std::size_t last = row.to.size() - 1;
      while (j < last && row.cumulative[j] < u) ++j;
      now -= row.mean * std::log(rng.uniform());
      if (now >= horizon) break;
      ++transitions;
      state = static_cast<std::size_t>(row.to[j]);
      if (rows[state].kind == 1) {
        ++purchases;
        time_to_purchase += now - arrival;
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "{\"leads\": %zu, \"transitions\": %lld, \"purchases\": %lld, \"time_to_purchase\": %.17g, "
      "\"seconds\": %.9g, \"ns_per_transition\": %.6g}\n",
      leads, static_cast<long long>(transitions), static_cast<long long>(purchases), time_to_purchase, seconds,
      transitions > 0 ? seconds * 1e9 / static_cast<double>(transitions) : 0.0);
  return 0;
}
