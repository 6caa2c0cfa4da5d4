// Private: a table of objects by their 64-bit id, for the server's registry.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "nexus/io/mapped_allocator.hpp"

namespace nexus::io::detail {

/// Pointers to objects of T by `T::id()` (a std::uint64_t): open addressing
/// with linear probing, the key read from the object, 8 bytes a slot at a
/// load between 3/8 and 3/4 — where a std::unordered_map spends a 32-byte
/// node and an 8-byte bucket on each entry. An object must stay alive, and
/// its id unchanged, while it is in the table. Not synchronised.
template <typename T>
class IdTable {
public:
    IdTable() = default;
    IdTable(const IdTable&) = delete;
    IdTable& operator=(const IdTable&) = delete;

    /// The object with `id`, or null.
    T* find(std::uint64_t id) const noexcept {
        if (size_ == 0) {
            return nullptr;
        }
        for (std::size_t i = home(id);; i = next(i)) {
            T* item = slots_[i];
            if (item == nullptr || item->id() == id) {
                return item;
            }
        }
    }

    /// Adds `item`, whose id must not be in the table yet. Throws
    /// std::bad_alloc, leaving the table as it was.
    void insert(T& item) {
        if ((size_ + 1) * 4 > capacity_ * 3) {
            grow();
        }
        place(&item);
        ++size_;
    }

    /// Removes `id`; returns its object, or null when absent.
    T* erase(std::uint64_t id) noexcept {
        if (size_ == 0) {
            return nullptr;
        }
        std::size_t i = home(id);
        while (slots_[i] != nullptr && slots_[i]->id() != id) {
            i = next(i);
        }
        T* const found = slots_[i];
        if (found == nullptr) {
            return nullptr;
        }
        // Backward shift instead of a tombstone: each later entry of the run
        // moves into the hole unless its home lies cyclically in
        // (hole, its slot], where a lookup still reaches it.
        std::size_t hole = i;
        for (std::size_t j = next(i); slots_[j] != nullptr; j = next(j)) {
            const std::size_t h = home(slots_[j]->id());
            const bool reachable = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
            if (!reachable) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole] = nullptr;
        --size_;
        return found;
    }

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }

    /// Calls `visit(T&)` for each object, in no particular order; `visit`
    /// must not change the table.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (std::size_t i = 0; i < capacity_; ++i) {
            if (slots_[i] != nullptr) {
                visit(*slots_[i]);
            }
        }
    }

private:
    std::size_t home(std::uint64_t id) const noexcept {
        // Fibonacci hashing: the top bits of the product spread ids that
        // come in sequence evenly over the table.
        return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> shift_);
    }
    std::size_t next(std::size_t i) const noexcept { return (i + 1) & (capacity_ - 1); }

    void place(T* item) noexcept {
        std::size_t i = home(item->id());
        while (slots_[i] != nullptr) {
            i = next(i);
        }
        slots_[i] = item;
    }

    void grow() {
        const std::size_t capacity = capacity_ == 0 ? 16 : capacity_ * 2;
        Slots previous(capacity, nullptr);
        previous.swap(slots_); // from here on nothing throws
        const std::size_t previous_capacity = capacity_;
        capacity_ = capacity;
        shift_ = 64 - std::countr_zero(capacity);
        for (std::size_t j = 0; j < previous_capacity; ++j) {
            if (previous[j] != nullptr) {
                place(previous[j]);
            }
        }
    }

    // Big tables are mapped: each one given up on growth goes back to the
    // system instead of staying a hole in the heap (MappedAllocator).
    using Slots = std::vector<T*, MappedAllocator<T*>>;
    Slots slots_;
    std::size_t capacity_ = 0; // 0 or a power of two
    std::size_t size_ = 0;
    int shift_ = 63; // 64 - log2(capacity_) once there are slots
};

} // namespace nexus::io::detail
