#pragma once
/// \file Dictionary encoding of integer ids: dense codes in order of first appearance.
///
/// Lead ids are the one column of an event log with millions of distinct values; an open-
/// addressing table keyed by the id (linear probing, a splitmix64 hash) encodes them about
/// three times as fast as a general-purpose hash table.

#include <cstdint>
#include <span>
#include <vector>

namespace funnelkit::events {

struct EncodedIds {
  std::vector<std::int64_t> codes;    ///< per row: the index of its id in `uniques`
  std::vector<std::int64_t> uniques;  ///< the distinct ids, in order of first appearance
};

[[nodiscard]] EncodedIds encode_ids(std::span<const std::int64_t> ids);

}  // namespace funnelkit::events
