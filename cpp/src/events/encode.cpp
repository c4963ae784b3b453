#include "funnelkit/events/encode.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <utility>

#include "funnelkit/core/parallel.hpp"

namespace funnelkit::events {
namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr std::int64_t kNone = -1;

/// Ids within a range not much wider than the table: a direct lookup array, no hashing. Codes
/// follow first appearance: on a log in time order, leads active at the same time then get
/// nearby codes, which keeps the grouping's scattered writes close together (numbering them in
/// id order instead made the grouping 40% slower on a generated shop log).
///
/// In parallel: each part of the rows lists its ids in order of first appearance (with a table
/// of its own), the lists are numbered in part order, then every row is looked up. Numbering
/// part 0's list, then part 1's new ids... gives exactly the global first-appearance order, so
/// the codes do not depend on the number of parts.
EncodedIds encode_dense_range(std::span<const std::int64_t> ids, std::int64_t low, std::size_t width,
                              std::size_t threads) {
  const auto offset = [low](std::int64_t id) {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(id) - static_cast<std::uint64_t>(low));
  };
  const std::size_t parts = std::min<std::size_t>(resolve_threads(threads), std::max<std::size_t>(1, ids.size() >> 20));
  const auto rows_of = [&](std::size_t part) { return std::pair{ids.size() * part / parts, ids.size() * (part + 1) / parts}; };
  std::vector<std::vector<std::int64_t>> firsts(parts);
  parallel_for(parts, parts, [&](std::size_t part) {
    const auto [first, last] = rows_of(part);
    std::vector<std::uint8_t> seen(width, 0);
    for (auto row = first; row < last; ++row) {
      auto& mark = seen[offset(ids[row])];
      if (!mark) {
        mark = 1;
        firsts[part].push_back(ids[row]);
      }
    }
  });
  EncodedIds out;
  std::vector<std::int32_t> code_of(width, -1);  // codes fit 32 bits: width < 2^31 here
  for (const auto& list : firsts) {
    for (const auto id : list) {
      auto& code = code_of[offset(id)];
      if (code < 0) {
        code = static_cast<std::int32_t>(out.uniques.size());
        out.uniques.push_back(id);
      }
    }
  }
  firsts = {};
  out.codes.resize(ids.size());
  parallel_for(parts, parts, [&](std::size_t part) {
    const auto [first, last] = rows_of(part);
    for (auto row = first; row < last; ++row) out.codes[row] = code_of[offset(ids[row])];
  });
  return out;
}

/// Open addressing with the id stored beside its code: one cache line touched per lookup.
EncodedIds encode_hashed(std::span<const std::int64_t> ids) {
  struct Slot {
    std::int64_t id;
    std::int64_t code;  // kNone: empty
  };
  EncodedIds out;
  out.codes.resize(ids.size());
  std::size_t capacity = 1024;
  std::vector<Slot> slots(capacity, Slot{0, kNone});
  const auto insert_at = [&](std::int64_t id) {
    auto at = mix(static_cast<std::uint64_t>(id)) & (capacity - 1);
    while (slots[at].code != kNone && slots[at].id != id) at = (at + 1) & (capacity - 1);
    return at;
  };
  for (std::size_t row = 0; row < ids.size(); ++row) {
    const auto at = insert_at(ids[row]);
    if (slots[at].code == kNone) {
      slots[at] = {ids[row], static_cast<std::int64_t>(out.uniques.size())};
      out.uniques.push_back(ids[row]);
      if (2 * out.uniques.size() > capacity) {  // keep the load at most one half
        capacity *= 2;
        slots.assign(capacity, Slot{0, kNone});
        for (std::size_t c = 0; c < out.uniques.size(); ++c) slots[insert_at(out.uniques[c])] = {out.uniques[c], static_cast<std::int64_t>(c)};
      }
    }
    out.codes[row] = slots[insert_at(ids[row])].code;
  }
  return out;
}

}  // namespace

EncodedIds encode_ids(std::span<const std::int64_t> ids, std::size_t threads) {
  if (ids.empty()) return {};
  const auto [low, high] = std::minmax_element(ids.begin(), ids.end());
  const auto width = static_cast<std::uint64_t>(*high) - static_cast<std::uint64_t>(*low);
  // A lookup array up to 4 entries per row (and at least 2^20): auto-increment ids, mostly.
  if (width < std::min<std::uint64_t>(std::uint64_t{1} << 31, std::max<std::uint64_t>(std::uint64_t{1} << 20, 4 * ids.size()))) {
    return encode_dense_range(ids, *low, static_cast<std::size_t>(width) + 1, threads);
  }
  return encode_hashed(ids);
}

}  // namespace funnelkit::events
