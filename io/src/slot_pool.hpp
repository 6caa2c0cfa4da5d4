// Private: fixed-size slots for the objects an idle server holds one of per
// connection. Idle connections are the server's bulk; through malloc each of
// them paid an 8-byte header, rounding up to 16 bytes, and the holes that the
// handshake's short-lived allocations left between the long-lived ones
// (about 30 B of resident memory per idle connection at 10 000).
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace nexus::io::detail {

class SlotPool {
public:
    /// Slots of `size` bytes (rounded up to a multiple of 8, at least a
    /// pointer), carved from 64 KiB mappings taken as needed and kept: the
    /// pool holds as many slots as were ever in use at once, as malloc would.
    explicit SlotPool(std::size_t size) noexcept
        : size_((std::max(size, sizeof(void*)) + 7) & ~std::size_t{7}) {}
    ~SlotPool() {
        for (void* slab : slabs_) {
            ::munmap(slab, k_slab_bytes);
        }
    }
    SlotPool(const SlotPool&) = delete;
    SlotPool& operator=(const SlotPool&) = delete;

    /// Any thread. Throws std::bad_alloc.
    void* allocate() {
        const std::lock_guard lock(mutex_);
        if (free_ != nullptr) {
            void* slot = free_;
            free_ = *static_cast<void**>(slot);
            return slot;
        }
        if (next_ == end_) {
            void* slab = ::mmap(nullptr, k_slab_bytes, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (slab == MAP_FAILED) {
                throw std::bad_alloc();
            }
            slabs_.push_back(slab);
            next_ = static_cast<std::byte*>(slab);
            end_ = next_ + (k_slab_bytes / size_) * size_;
        }
        void* slot = next_;
        next_ += size_;
        return slot;
    }

    /// A slot from allocate(), on any thread.
    void release(void* slot) noexcept {
        const std::lock_guard lock(mutex_);
        *static_cast<void**>(slot) = free_;
        free_ = slot;
    }

    std::size_t slot_size() const noexcept { return size_; }

private:
    static constexpr std::size_t k_slab_bytes = 64 * 1024;

    std::mutex mutex_;
    const std::size_t size_;
    void* free_ = nullptr; // released slots, linked through their first bytes
    std::byte* next_ = nullptr;
    std::byte* end_ = nullptr;
    std::vector<void*> slabs_;
};

/// Bytes of `size` (> 0) from a pool of their size class (multiples of 8 up
/// to 256 bytes) or, larger, from the heap. Freed with release_bytes() and
/// the same size. Any thread.
std::uint8_t* allocate_bytes(std::size_t size);
void release_bytes(std::uint8_t* bytes, std::size_t size) noexcept;

} // namespace nexus::io::detail
