#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "nexus/core/frame.hpp"

namespace nexus::core {
namespace {

HeaderDecodeResult decode(const std::vector<std::uint8_t>& in, Role receiver, FrameHeader& h,
                          bool rsv1 = false) {
    return decode_frame_header(in, FrameRules{receiver, rsv1}, h);
}

TEST(Frame, Rfc6455Section5_7UnmaskedHello) {
    const std::vector<std::uint8_t> in{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    FrameHeader h;
    const auto r = decode(in, Role::client, h);
    ASSERT_EQ(r.status, HeaderStatus::complete);
    EXPECT_EQ(r.size, 2u);
    EXPECT_TRUE(h.fin);
    EXPECT_EQ(h.opcode, Opcode::text);
    EXPECT_FALSE(h.masked);
    EXPECT_EQ(h.payload_length, 5u);
}

TEST(Frame, Rfc6455Section5_7MaskedHello) {
    std::vector<std::uint8_t> in{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    FrameHeader h;
    const auto r = decode(in, Role::server, h);
    ASSERT_EQ(r.status, HeaderStatus::complete);
    EXPECT_EQ(r.size, 6u);
    EXPECT_TRUE(h.masked);
    EXPECT_EQ(h.mask_key, (MaskKey{0x37, 0xfa, 0x21, 0x3d}));
    apply_mask(in.data() + 6, 5, h.mask_key);
    EXPECT_EQ(std::string(in.begin() + 6, in.end()), "Hello");
}

TEST(Frame, Rfc6455Section5_7LengthEncodings) {
    FrameHeader h;
    // 256 bytes binary in a single unmasked frame: 0x82 0x7E 0x0100.
    auto r = decode({0x82, 0x7E, 0x01, 0x00}, Role::client, h);
    ASSERT_EQ(r.status, HeaderStatus::complete);
    EXPECT_EQ(r.size, 4u);
    EXPECT_EQ(h.payload_length, 256u);
    // 64 KiB: 0x82 0x7F 0x0000000000010000.
    r = decode({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, Role::client, h);
    ASSERT_EQ(r.status, HeaderStatus::complete);
    EXPECT_EQ(r.size, 10u);
    EXPECT_EQ(h.payload_length, 65536u);
}

TEST(Frame, EncodeDecodeRoundTripAtEveryLengthBoundary) {
    const std::uint64_t lengths[] = {0, 1, 125, 126, 127, 65535, 65536, 1u << 31, (1ull << 63) - 1};
    for (std::uint64_t len : lengths) {
        for (bool masked : {false, true}) {
            for (Opcode op : {Opcode::text, Opcode::binary, Opcode::continuation}) {
                std::uint8_t buf[k_max_frame_header_size];
                const MaskKey key{1, 2, 3, 4};
                const std::size_t n =
                    encode_frame_header(buf, op, false, false, len, masked ? &key : nullptr);
                EXPECT_EQ(n, frame_header_size(len, masked));
                FrameHeader h;
                const auto r = decode_frame_header(
                    {buf, n}, FrameRules{masked ? Role::server : Role::client}, h);
                ASSERT_EQ(r.status, HeaderStatus::complete) << len;
                EXPECT_EQ(r.size, n);
                EXPECT_EQ(h.payload_length, len);
                EXPECT_EQ(h.opcode, op);
                EXPECT_FALSE(h.fin);
                EXPECT_EQ(h.masked, masked);
                if (masked) {
                    EXPECT_EQ(h.mask_key, key);
                }
                // Every prefix is "need more", asking for the right total.
                for (std::size_t k = 0; k < n; ++k) {
                    const auto partial = decode_frame_header(
                        {buf, k}, FrameRules{masked ? Role::server : Role::client}, h);
                    EXPECT_EQ(partial.status, HeaderStatus::need_more);
                    if (k >= 2) {
                        EXPECT_EQ(partial.size, n);
                    }
                }
            }
        }
    }
}

TEST(Frame, EveryOpcode) {
    for (std::uint8_t op = 0; op < 16; ++op) {
        FrameHeader h;
        const auto r = decode({static_cast<std::uint8_t>(0x80 | op), 0x00}, Role::client, h);
        const bool known = op == 0 || op == 1 || op == 2 || op == 8 || op == 9 || op == 10;
        EXPECT_EQ(r.status, known ? HeaderStatus::complete : HeaderStatus::failed) << int(op);
        if (!known) {
            EXPECT_EQ(r.error, Error::unknown_opcode);
        }
    }
}

TEST(Frame, ReservedBitsNeedAnExtension) {
    FrameHeader h;
    for (int bit : {0x40, 0x20, 0x10}) {
        const auto r = decode({static_cast<std::uint8_t>(0x81 | bit), 0x00}, Role::client, h);
        EXPECT_EQ(r.status, HeaderStatus::failed);
        EXPECT_EQ(r.error, Error::reserved_bits_set);
    }
    // RSV1 with permessage-deflate: allowed on a first data frame only.
    EXPECT_EQ(decode({0xC1, 0x00}, Role::client, h, true).status, HeaderStatus::complete);
    EXPECT_TRUE(h.rsv1);
    EXPECT_EQ(decode({0xC9, 0x00}, Role::client, h, true).error, Error::compressed_control_frame);
    EXPECT_EQ(decode({0xC0, 0x00}, Role::client, h, true).error, Error::compressed_continuation);
    EXPECT_EQ(decode({0xA1, 0x00}, Role::client, h, true).error, Error::reserved_bits_set);
}

TEST(Frame, ControlFrameRules) {
    FrameHeader h;
    EXPECT_EQ(decode({0x09, 0x00}, Role::client, h).error, Error::fragmented_control_frame);
    EXPECT_EQ(decode({0x89, 126, 0, 126}, Role::client, h).error, Error::control_frame_too_long);
    EXPECT_EQ(decode({0x88, 125}, Role::client, h).status, HeaderStatus::complete);
    EXPECT_EQ(decode({0x88, 126}, Role::client, h).error, Error::control_frame_too_long);
}

TEST(Frame, MinimalLengthEncoding) {
    FrameHeader h;
    EXPECT_EQ(decode({0x82, 126, 0x00, 125}, Role::client, h).error, Error::non_minimal_length);
    EXPECT_EQ(decode({0x82, 126, 0x00, 126}, Role::client, h).status, HeaderStatus::complete);
    EXPECT_EQ(decode({0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, Role::client, h).error,
              Error::non_minimal_length);
    EXPECT_EQ(decode({0x82, 127, 0x80, 0, 0, 0, 0, 1, 0, 0}, Role::client, h).error,
              Error::length_msb_set);
}

TEST(Frame, MaskBitMustMatchTheSendersRole) {
    FrameHeader h;
    EXPECT_EQ(decode({0x82, 0x00}, Role::server, h).error, Error::unmasked_client_frame);
    EXPECT_EQ(decode({0x82, 0x80, 1, 2, 3, 4}, Role::client, h).error, Error::masked_server_frame);
}

TEST(Frame, ApplyMaskMatchesBytewiseXorAtEveryOffsetAndSize) {
    const MaskKey key{0x37, 0xfa, 0x21, 0x3d};
    for (std::size_t size = 0; size < 100; ++size) {
        for (std::size_t offset = 0; offset < 8; ++offset) {
            std::vector<std::uint8_t> data(size);
            for (std::size_t i = 0; i < size; ++i) {
                data[i] = static_cast<std::uint8_t>(i * 7 + 3);
            }
            std::vector<std::uint8_t> expected = data;
            for (std::size_t i = 0; i < size; ++i) {
                expected[i] ^= key[(offset + i) % 4];
            }
            apply_mask(data.data(), size, key, offset);
            ASSERT_EQ(data, expected) << size << " " << offset;
        }
    }
}

TEST(Frame, MaskingInPiecesEqualsMaskingWhole) {
    const MaskKey key{9, 8, 7, 6};
    std::vector<std::uint8_t> whole(1000, 0x55);
    std::vector<std::uint8_t> pieces = whole;
    apply_mask(whole.data(), whole.size(), key);
    std::size_t pos = 0;
    for (std::size_t n : {1u, 2u, 3u, 5u, 8u, 13u, 21u, 34u, 55u, 89u, 144u}) {
        apply_mask(pieces.data() + pos, n, key, pos % 4);
        pos += n;
    }
    apply_mask(pieces.data() + pos, pieces.size() - pos, key, pos % 4);
    EXPECT_EQ(whole, pieces);
}

} // namespace
} // namespace nexus::core
