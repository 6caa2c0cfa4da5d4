#include "nexus/core/utf8.hpp"

#include <cstring>

namespace nexus::core {
namespace {

constexpr std::uint64_t k_high_bits = 0x8080808080808080ULL;

inline std::uint64_t load64(const std::uint8_t* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

/// Returns the index of the first non-ASCII byte in [i, n), or n. Checks 32
/// bytes per step while it can: ASCII text is the common case and must run
/// near memory speed.
inline std::size_t skip_ascii(const std::uint8_t* p, std::size_t i, std::size_t n) noexcept {
    while (i + 32 <= n) {
        const std::uint64_t any =
            load64(p + i) | load64(p + i + 8) | load64(p + i + 16) | load64(p + i + 24);
        if ((any & k_high_bits) != 0) {
            break;
        }
        i += 32;
    }
    while (i + 8 <= n) {
        if ((load64(p + i) & k_high_bits) != 0) {
            break;
        }
        i += 8;
    }
    while (i < n && p[i] < 0x80) {
        ++i;
    }
    return i;
}

} // namespace

bool Utf8Validator::feed(const std::uint8_t* bytes, std::size_t n) noexcept {
    if (failed_) {
        return false;
    }
    std::size_t i = 0;
    while (i < n) {
        if (needed_ == 0) {
            i = skip_ascii(bytes, i, n);
            if (i == n) {
                break;
            }
            const std::uint8_t lead = bytes[i++];
            // RFC 3629 §4: C0, C1 (overlong 2-byte) and F5..FF never appear.
            if (lead < 0xC2) {
                failed_ = true;
                return false;
            }
            if (lead < 0xE0) {
                needed_ = 1;
                low_ = 0x80;
                high_ = 0xBF;
            } else if (lead < 0xF0) {
                needed_ = 2;
                low_ = lead == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F would be overlong
                high_ = lead == 0xED ? 0x9F : 0xBF; // ED A0..BF are surrogates
            } else if (lead < 0xF5) {
                needed_ = 3;
                low_ = lead == 0xF0 ? 0x90 : 0x80;  // F0 80..8F would be overlong
                high_ = lead == 0xF4 ? 0x8F : 0xBF; // F4 90.. is above U+10FFFF
            } else {
                failed_ = true;
                return false;
            }
            continue;
        }
        const std::uint8_t b = bytes[i++];
        if (b < low_ || b > high_) {
            failed_ = true;
            return false;
        }
        low_ = 0x80;
        high_ = 0xBF;
        --needed_;
    }
    return true;
}

bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept {
    Utf8Validator v;
    return v.feed(bytes) && v.complete();
}

bool is_valid_utf8(std::string_view text) noexcept {
    Utf8Validator v;
    return v.feed(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) && v.complete();
}

} // namespace nexus::core
