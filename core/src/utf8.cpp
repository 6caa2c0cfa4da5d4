#include "nexus/core/utf8.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace nexus::core {
namespace {

constexpr std::uint64_t k_high_bits = 0x8080808080808080ULL;

inline std::uint64_t load64(const std::uint8_t* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

/// Returns the index of the first non-ASCII byte in [i, n), or n. Checks 64
/// (SSE2) or 32 bytes per step while it can: ASCII text is the common case
/// and must run near memory speed (a 16 KiB text echo spent a tenth of the
/// server's CPU here with 64-bit words).
inline std::size_t skip_ascii(const std::uint8_t* p, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
    // Every x86-64 CPU has SSE2: OR four 16-byte blocks, one movemask says
    // whether any byte has its high bit set.
    while (i + 64 <= n) {
        const auto* v = reinterpret_cast<const __m128i*>(p + i);
        const __m128i any =
            _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                         _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3)));
        if (_mm_movemask_epi8(any) != 0) {
            break;
        }
        i += 64;
    }
#endif
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
    // The state lives in locals for the loop: stores to members could alias
    // the input bytes, and the compiler would have to reload them each time.
    unsigned needed = needed_;
    unsigned low = low_;
    unsigned high = high_;
    const auto fail = [this] {
        failed_ = true;
        return false;
    };
    std::size_t i = 0;
    // Checks continuation bytes one at a time while a code point is open;
    // false on a byte outside the allowed range.
    const auto continue_code_point = [&] {
        while (needed != 0 && i < n) {
            const unsigned b = bytes[i++];
            if (b < low || b > high) {
                return false;
            }
            low = 0x80;
            high = 0xBF;
            --needed;
        }
        return true;
    };
    // Finish a code point that the previous call left open.
    if (!continue_code_point()) {
        return fail();
    }
    while (i < n) {
        const unsigned lead = bytes[i];
        if (lead < 0x80) {
            i = skip_ascii(bytes, i, n);
            continue;
        }
        // RFC 3629 §4: C0, C1 (overlong 2-byte) and F5..FF never appear;
        // the first continuation byte's range excludes overlongs (E0, F0),
        // surrogates (ED) and code points above U+10FFFF (F4).
        std::size_t length = 2;
        unsigned first_low = 0x80;
        unsigned first_high = 0xBF;
        if (lead < 0xC2) {
            return fail();
        }
        if (lead >= 0xE0) {
            if (lead < 0xF0) {
                length = 3;
                first_low = lead == 0xE0 ? 0xA0 : 0x80;
                first_high = lead == 0xED ? 0x9F : 0xBF;
            } else if (lead < 0xF5) {
                length = 4;
                first_low = lead == 0xF0 ? 0x90 : 0x80;
                first_high = lead == 0xF4 ? 0x8F : 0xBF;
            } else {
                return fail();
            }
        }
        if (i + length <= n) {
            // The whole code point is here: check it without touching state.
            const unsigned b1 = bytes[i + 1];
            if (b1 < first_low || b1 > first_high ||
                (length >= 3 && (bytes[i + 2] & 0xC0) != 0x80) ||
                (length == 4 && (bytes[i + 3] & 0xC0) != 0x80)) {
                return fail();
            }
            i += length;
            continue;
        }
        // It continues in the next call: check what is here (fail fast) and
        // remember what the rest must be.
        ++i;
        needed = static_cast<unsigned>(length - 1);
        low = first_low;
        high = first_high;
        if (!continue_code_point()) {
            return fail();
        }
    }
    needed_ = static_cast<std::uint8_t>(needed);
    low_ = static_cast<std::uint8_t>(low);
    high_ = static_cast<std::uint8_t>(high);
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
