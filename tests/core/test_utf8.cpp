#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nexus/core/utf8.hpp"

namespace nexus::core {
namespace {

/// A slow, obviously correct reference (RFC 3629 §3-4): decode each code
/// point and reject overlongs, surrogates and values above U+10FFFF.
bool reference_valid(const std::vector<std::uint8_t>& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const std::uint8_t b = s[i];
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (b < 0x80) {
            ++i;
            continue;
        }
        if ((b & 0xE0) == 0xC0) {
            n = 1;
            cp = b & 0x1Fu;
        } else if ((b & 0xF0) == 0xE0) {
            n = 2;
            cp = b & 0x0Fu;
        } else if ((b & 0xF8) == 0xF0) {
            n = 3;
            cp = b & 0x07u;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size() || (s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        const std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

bool validate(const std::vector<std::uint8_t>& s) {
    return is_valid_utf8(std::span<const std::uint8_t>(s));
}

TEST(Utf8, EveryOneByteSequence) {
    for (int b = 0; b < 256; ++b) {
        const std::vector<std::uint8_t> s{static_cast<std::uint8_t>(b)};
        EXPECT_EQ(validate(s), b < 0x80) << b;
    }
}

TEST(Utf8, EveryTwoByteSequenceMatchesReference) {
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const std::vector<std::uint8_t> s{static_cast<std::uint8_t>(a),
                                              static_cast<std::uint8_t>(b)};
            ASSERT_EQ(validate(s), reference_valid(s)) << a << " " << b;
        }
    }
}

TEST(Utf8, EveryThreeByteSequenceWithMultiByteLeadMatchesReference) {
    for (int a = 0xC0; a < 0x100; ++a) {
        for (int b = 0; b < 256; ++b) {
            for (int c = 0; c < 256; ++c) {
                const std::vector<std::uint8_t> s{static_cast<std::uint8_t>(a),
                                                  static_cast<std::uint8_t>(b),
                                                  static_cast<std::uint8_t>(c)};
                ASSERT_EQ(validate(s), reference_valid(s)) << a << " " << b << " " << c;
            }
        }
    }
}

TEST(Utf8, FourByteSequencesAtEveryBoundaryMatchReference) {
    const std::uint8_t edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    for (int lead = 0xF0; lead < 0x100; ++lead) {
        for (std::uint8_t b : edges) {
            for (std::uint8_t c : edges) {
                for (std::uint8_t d : edges) {
                    const std::vector<std::uint8_t> s{static_cast<std::uint8_t>(lead), b, c, d};
                    ASSERT_EQ(validate(s), reference_valid(s));
                }
            }
        }
    }
}

TEST(Utf8, NamedCases) {
    EXPECT_TRUE(is_valid_utf8(std::string_view("")));
    EXPECT_TRUE(is_valid_utf8(std::string_view("Hello-µ@ßöäüàá-UTF-8!!")));
    EXPECT_TRUE(is_valid_utf8(std::string_view("\xF4\x8F\xBF\xBF")));  // U+10FFFF
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xF4\x90\x80\x80"))); // U+110000
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xED\xA0\x80")));     // U+D800
    EXPECT_TRUE(is_valid_utf8(std::string_view("\xED\x9F\xBF")));      // U+D7FF
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xC0\x80")));         // overlong NUL
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xE0\x80\x80")));
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xF0\x80\x80\x80")));
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xCE\xBA\xE1"))); // truncated
    EXPECT_FALSE(is_valid_utf8(std::string_view("\xF8\x88\x80\x80\x80")));
}

TEST(Utf8, FailsFastAtTheFirstBadByte) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(reinterpret_cast<const std::uint8_t*>("abc\xCE"), 4));
    EXPECT_FALSE(v.complete());
    // A lead byte where a continuation is due fails at once, with no need
    // to see the end of the message.
    EXPECT_FALSE(v.feed(reinterpret_cast<const std::uint8_t*>("\xCE"), 1));
    EXPECT_TRUE(v.failed());
    EXPECT_FALSE(v.feed(reinterpret_cast<const std::uint8_t*>("a"), 1)); // sticky
    v.reset();
    EXPECT_TRUE(v.complete());
}

TEST(Utf8, LongAsciiWithOneBadByteAnywhere) {
    // The word-at-a-time ASCII path must not skip a bad byte at any offset.
    for (std::size_t pos = 0; pos < 100; ++pos) {
        std::vector<std::uint8_t> s(100, 'a');
        s[pos] = 0xFF;
        EXPECT_FALSE(validate(s)) << pos;
        s[pos] = 0xC3;
        if (pos + 1 < s.size()) {
            s[pos + 1] = 0xA9; // é
            EXPECT_TRUE(validate(s)) << pos;
        }
    }
}

TEST(Utf8, EverySplitPointGivesTheWholeResult) {
    const std::string texts[] = {"κόσμε", "\xF0\x9F\x98\x80 smile \xE2\x82\xAC", "ab\xED\xA0\x80",
                                 "\xF4\x90\x80\x80", "x\xCE"};
    for (const std::string& t : texts) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(t.data());
        const bool whole = is_valid_utf8(std::string_view(t));
        for (std::size_t split = 0; split <= t.size(); ++split) {
            Utf8Validator v;
            const bool ok = v.feed(p, split) && v.feed(p + split, t.size() - split) && v.complete();
            EXPECT_EQ(ok, whole) << t << " split " << split;
        }
        Utf8Validator bytewise;
        bool ok = true;
        for (std::size_t i = 0; i < t.size(); ++i) {
            ok = bytewise.feed(p + i, 1) && ok;
        }
        EXPECT_EQ(ok && bytewise.complete(), whole) << t;
    }
}

} // namespace
} // namespace nexus::core
