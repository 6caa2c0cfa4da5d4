// An allocator for the big tables of the event loop and the server (a slot
// per descriptor, a slot per client): blocks of 64 KiB and more come from
// mmap, so that a table that grows by doubling gives each old copy back to
// the system at once. Through malloc those copies stay behind as holes in
// the heap (glibc raises its mmap threshold each time a mapped block is
// freed): about 30 B of resident memory per idle connection at 10 000.
// Untouched pages of a mapping cost no memory either.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace nexus::io {

template <typename T>
class MappedAllocator {
public:
    using value_type = T;
    static constexpr std::size_t k_mapped_from = 64 * 1024;
    // The element's size (T is a pointer in our tables, which is intended).
    static constexpr std::size_t k_element = sizeof(T); // NOLINT(bugprone-sizeof-expression)

    MappedAllocator() noexcept = default;
    template <typename U>
    MappedAllocator(const MappedAllocator<U>&) noexcept {} // NOLINT(google-explicit-constructor)

    T* allocate(std::size_t n) {
        const std::size_t bytes = n * k_element;
        if (bytes < k_mapped_from) {
            return static_cast<T*>(::operator new(bytes));
        }
        void* p =
            ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            throw std::bad_alloc();
        }
        return static_cast<T*>(p);
    }

    void deallocate(T* p, std::size_t n) noexcept {
        const std::size_t bytes = n * k_element;
        if (bytes < k_mapped_from) {
            ::operator delete(p);
        } else {
            ::munmap(p, bytes);
        }
    }

    template <typename U>
    bool operator==(const MappedAllocator<U>&) const noexcept {
        return true;
    }
};

} // namespace nexus::io
