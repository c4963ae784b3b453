#pragma once
/// \file Independent work items split over threads, with progress and cancellation.
///
/// Items never share mutable state and each is computed the same way whichever thread runs it,
/// so results do not depend on the thread count. Progress is reported on the calling thread
/// between chunks, which is where the Python layer updates a progress bar and checks Ctrl-C.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace funnelkit {

/// Called on the calling thread with (items done, items in all); returning false cancels.
using Progress = std::function<bool(std::size_t done, std::size_t total)>;

/// Thrown when a Progress callback asked to stop.
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

/// Threads to use when the caller says 0: every hardware thread.
[[nodiscard]] inline std::size_t resolve_threads(std::size_t requested) noexcept {
  if (requested > 0) return requested;
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

/// Runs body(i) for every i in [0, count) on up to `threads` threads (0: all cores), in chunks
/// of `chunk` items; `progress` is called after each chunk. The first exception thrown by an
/// item is rethrown on the calling thread once the chunk's threads have stopped.
template <class Body>
void parallel_for(std::size_t count, std::size_t threads, Body&& body, const Progress& progress = {},
                  std::size_t chunk = 0) {
  if (count == 0) return;
  threads = std::min(resolve_threads(threads), count);
  if (chunk == 0) chunk = std::max<std::size_t>(threads * 8, count / 64);
  for (std::size_t begin = 0; begin < count; begin += chunk) {
    const auto end = std::min(count, begin + chunk);
    if (threads <= 1 || end - begin <= 1) {
      for (std::size_t i = begin; i < end; ++i) body(i);
    } else {
      std::atomic<std::size_t> next{begin};
      std::exception_ptr failure;
      std::mutex failure_mutex;
      auto work = [&] {
        for (std::size_t i = next++; i < end; i = next++) {
          try {
            body(i);
          } catch (...) {
            const std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
            next = end;  // stop handing out items
          }
        }
      };
      std::vector<std::thread> helpers;
      helpers.reserve(threads - 1);
      for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
      work();
      for (auto& helper : helpers) helper.join();
      if (failure) std::rethrow_exception(failure);
    }
    if (progress && !progress(end, count)) throw Cancelled();
  }
}

}  // namespace funnelkit
