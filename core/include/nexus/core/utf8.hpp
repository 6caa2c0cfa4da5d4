// Incremental, fail-fast UTF-8 validation (RFC 3629; RFC 6455 §8.1).
//
// A text message may arrive in any number of fragments and reads, so the
// validator keeps the state of an unfinished code point between calls and
// reports failure at the first byte that cannot start or continue a valid
// sequence — not at the end of the message. Overlong forms, surrogates
// (U+D800..U+DFFF) and code points above U+10FFFF are invalid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace nexus::core {

class Utf8Validator {
public:
    /// Validates the next `n` bytes of the text. Returns false as soon as the
    /// text so far cannot be a prefix of valid UTF-8; the failure is sticky
    /// until `reset()`.
    bool feed(const std::uint8_t* bytes, std::size_t n) noexcept;
    bool feed(std::span<const std::uint8_t> bytes) noexcept {
        return feed(bytes.data(), bytes.size());
    }

    /// True when everything fed so far is valid UTF-8 that ends on a code
    /// point boundary (call at the end of a message).
    bool complete() const noexcept { return !failed_ && needed_ == 0; }

    bool failed() const noexcept { return failed_; }

    /// Forgets all state, ready for a new text.
    void reset() noexcept {
        needed_ = 0;
        low_ = 0x80;
        high_ = 0xBF;
        failed_ = false;
    }

private:
    std::uint8_t needed_ = 0; // continuation bytes still expected
    std::uint8_t low_ = 0x80; // allowed range of the next continuation byte
    std::uint8_t high_ = 0xBF;
    bool failed_ = false;
};

/// Whole-buffer check: true when `bytes` is complete, valid UTF-8.
bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept;
bool is_valid_utf8(std::string_view text) noexcept;

} // namespace nexus::core
