// Structured fuzz input: parameters (role, limits, chunk sizes) are taken
// from the END of the input and the data from the front, so mutating the
// data does not reshuffle the parameters (and the reverse).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nexus::fuzz {

class FuzzInput {
public:
    FuzzInput(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

    /// A parameter byte from the tail (0 when exhausted).
    std::uint8_t param_byte() noexcept {
        if (size_ == 0) {
            return 0;
        }
        --size_;
        return data_[size_];
    }
    bool param_bool() noexcept { return (param_byte() & 1) != 0; }
    /// A value in [low, high] from the tail.
    std::uint32_t param_range(std::uint32_t low, std::uint32_t high) noexcept {
        const std::uint32_t span = high - low + 1;
        std::uint32_t v = param_byte();
        if (span > 256) {
            v = v << 8 | param_byte();
        }
        return low + v % span;
    }

    /// A data byte from the front (0 when exhausted).
    std::uint8_t byte() noexcept {
        if (pos_ >= size_) {
            return 0;
        }
        return data_[pos_++];
    }
    /// Up to `n` data bytes from the front.
    std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
        const std::size_t take = n < remaining() ? n : remaining();
        std::span<const std::uint8_t> out{data_ + pos_, take};
        pos_ += take;
        return out;
    }
    std::span<const std::uint8_t> rest() noexcept { return bytes(remaining()); }
    std::size_t remaining() const noexcept { return size_ - pos_; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

} // namespace nexus::fuzz
