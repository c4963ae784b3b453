#pragma once
/// \file Dictionary encoding of integer ids into dense codes.
///
/// Lead ids are the one column of an event log with millions of distinct values. Ids in a
/// compact range (auto-increment keys: the usual case) are encoded through a lookup array,
/// others through an open-addressing table (linear probing, a splitmix64 hash). Either way codes
/// follow first appearance.

#include <cstdint>
#include <span>
#include <vector>

#include "funnelkit/core/uninitialized.hpp"

namespace funnelkit::events {

struct EncodedIds {
  UninitializedVector<std::int64_t> codes;  ///< per row: the index of its id in `uniques`
  std::vector<std::int64_t> uniques;        ///< the distinct ids, in order of first appearance
};

/// On up to `threads` threads (0: all cores) for ids in a compact range; the codes do not
/// depend on the thread count.
[[nodiscard]] EncodedIds encode_ids(std::span<const std::int64_t> ids, std::size_t threads = 0);

}  // namespace funnelkit::events
