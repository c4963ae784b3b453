#pragma once
/// \file Vectors whose resize leaves new elements uninitialised.
///
/// Grouping and encoding a 50-million-row log fill buffers of hundreds of megabytes that the
/// parallel code overwrites anyway; zero-filling them first costs a serial pass of page faults
/// (about a tenth of the whole fit). With this allocator `resize` only reserves, and the first
/// touch happens in the parallel writers.

#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace funnelkit {

template <class T, class Base = std::allocator<T>>
class DefaultInitAllocator : public Base {
 public:
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U, typename std::allocator_traits<Base>::template rebind_alloc<U>>;
  };
  using Base::Base;

  template <class U>
  void construct(U* where) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(where)) U;  // default-initialised: no zeroing for trivial types
  }
  template <class U, class... Args>
  void construct(U* where, Args&&... args) {
    std::allocator_traits<Base>::construct(static_cast<Base&>(*this), where, std::forward<Args>(args)...);
  }
};

template <class T>
using UninitializedVector = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace funnelkit
