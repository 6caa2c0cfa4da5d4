// A growable byte array that does not zero what it grows into.
//
// std::vector<uint8_t>::resize writes zeros that are overwritten at once; on
// the hot paths (message assembly, frame encoding, inflate output) that is a
// second pass over every byte. ByteBuffer grows without initialising and
// frees its storage on `release()`, so an idle connection holds no heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace nexus::core {

class ByteBuffer {
public:
    ByteBuffer() = default;
    ByteBuffer(ByteBuffer&&) noexcept = default;
    ByteBuffer& operator=(ByteBuffer&&) noexcept = default;
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;

    std::uint8_t* data() noexcept { return data_.get(); }
    const std::uint8_t* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }

    std::span<const std::uint8_t> view() const noexcept { return {data_.get(), size_}; }
    std::span<std::uint8_t> view() noexcept { return {data_.get(), size_}; }

    /// Grows the size by `n` and returns a pointer to the `n` new,
    /// uninitialised bytes. Invalidates earlier pointers. Throws
    /// std::bad_alloc when memory runs out.
    std::uint8_t* extend(std::size_t n) {
        reserve(size_ + n);
        std::uint8_t* p = data_.get() + size_;
        size_ += n;
        return p;
    }

    void append(const void* src, std::size_t n) {
        if (n != 0) {
            std::memcpy(extend(n), src, n);
        }
    }
    void append(std::span<const std::uint8_t> bytes) { append(bytes.data(), bytes.size()); }
    void append(std::string_view s) { append(s.data(), s.size()); }
    void push_back(std::uint8_t b) { *extend(1) = b; }

    /// Shrinks the size to `n` (n <= size()); keeps the storage.
    void truncate(std::size_t n) noexcept { size_ = n < size_ ? n : size_; }
    void clear() noexcept { size_ = 0; }

    /// Drops the first `n` bytes (n <= size()), moving the rest to the front.
    void erase_front(std::size_t n) noexcept {
        if (n >= size_) {
            size_ = 0;
            return;
        }
        std::memmove(data_.get(), data_.get() + n, size_ - n);
        size_ -= n;
    }

    /// Empties the buffer and returns its storage to the allocator.
    void release() noexcept {
        data_.reset();
        size_ = 0;
        capacity_ = 0;
    }

    void reserve(std::size_t n) {
        if (n <= capacity_) {
            return;
        }
        std::size_t cap = capacity_ < 64 ? 64 : capacity_;
        while (cap < n) {
            cap = cap > (SIZE_MAX / 2) ? n : cap * 2;
        }
        std::unique_ptr<std::uint8_t[]> bigger(new std::uint8_t[cap]);
        if (size_ != 0) {
            std::memcpy(bigger.get(), data_.get(), size_);
        }
        data_ = std::move(bigger);
        capacity_ = cap;
    }

private:
    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

} // namespace nexus::core
