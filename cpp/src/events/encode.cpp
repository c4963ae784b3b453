#include "funnelkit/events/encode.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>

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

/// Ids within a range not much wider than the table: a direct lookup array, no hashing.
EncodedIds encode_dense_range(std::span<const std::int64_t> ids, std::int64_t low, std::size_t width) {
  EncodedIds out;
  out.codes.resize(ids.size());
  std::vector<std::int64_t> code_of(width, kNone);
  for (std::size_t row = 0; row < ids.size(); ++row) {
    auto& code = code_of[static_cast<std::size_t>(static_cast<std::uint64_t>(ids[row]) - static_cast<std::uint64_t>(low))];
    if (code == kNone) {
      code = static_cast<std::int64_t>(out.uniques.size());
      out.uniques.push_back(ids[row]);
    }
    out.codes[row] = code;
  }
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

EncodedIds encode_ids(std::span<const std::int64_t> ids) {
  if (ids.empty()) return {};
  const auto [low, high] = std::minmax_element(ids.begin(), ids.end());
  const auto width = static_cast<std::uint64_t>(*high) - static_cast<std::uint64_t>(*low);
  // A lookup array up to 4 entries per row (and at least 2^20): auto-increment ids, mostly.
  if (width < std::max<std::uint64_t>(std::uint64_t{1} << 20, 4 * ids.size())) {
    return encode_dense_range(ids, *low, static_cast<std::size_t>(width) + 1);
  }
  return encode_hashed(ids);
}

}  // namespace funnelkit::events
