// Connections with permessage-deflate agreed: both roles wired together,
// the chunking property, and the limits on inflated size.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "nexus/core/connection.hpp"
#include "test_support.hpp"

namespace nexus::core {
namespace {

using testing::as_span;
using testing::client_config;
using testing::feed;
using testing::Recorded;
using testing::server_config;
using testing::take_output;

ConnectionConfig with_deflate(ConnectionConfig c, DeflateParams p = {}) {
    c.deflate = p;
    c.compression_threshold = 0;
    return c;
}

TEST(DeflateConnection, EveryKindOfMessageBothWays) {
    for (bool no_takeover : {false, true}) {
        DeflateParams p;
        p.server_no_context_takeover = no_takeover;
        p.client_no_context_takeover = no_takeover;
        Connection client(with_deflate(client_config(), p));
        Connection server(with_deflate(server_config(), p));
        const std::string big(200000, 'z');
        ASSERT_EQ(client.send_text("hello hello hello"), Error::ok);
        ASSERT_EQ(client.send_text(""), Error::ok);
        ASSERT_EQ(client.send_binary(as_span(std::string("\x00\x01\x02", 3))), Error::ok);
        ASSERT_EQ(client.send_text(big), Error::ok);
        ASSERT_EQ(client.send_frame(Opcode::text, as_span("κό"), false), Error::ok);
        ASSERT_EQ(client.send_ping(as_span("p")), Error::ok);
        ASSERT_EQ(client.send_frame(Opcode::continuation, as_span("σμε"), true), Error::ok);
        ASSERT_EQ(client.close(1000), Error::ok);
        const auto wire = take_output(client);
        EXPECT_LT(wire.size(), 10000u); // 200 KB of 'z' compressed
        const auto events = feed(server, wire);
        ASSERT_EQ(events.size(), 7u);
        EXPECT_EQ(events[0].payload, "hello hello hello");
        EXPECT_EQ(events[1].payload, "");
        EXPECT_EQ(events[2].payload, std::string("\x00\x01\x02", 3));
        EXPECT_EQ(events[2].type, EventType::binary);
        EXPECT_EQ(events[3].payload, big);
        EXPECT_EQ(events[4].type, EventType::ping);
        EXPECT_EQ(events[5].payload, "κόσμε");
        EXPECT_EQ(events[6].type, EventType::close);
        // And back: the server's messages reach the client.
        Connection s2(with_deflate(server_config(), p));
        Connection c2(with_deflate(client_config(), p));
        for (int i = 0; i < 5; ++i) {
            ASSERT_EQ(s2.send_text("repeated server message"), Error::ok);
        }
        const auto back = feed(c2, take_output(s2));
        ASSERT_EQ(back.size(), 5u);
        for (const auto& e : back) {
            EXPECT_EQ(e.payload, "repeated server message");
        }
    }
}

TEST(DeflateConnection, ShortMessagesBelowTheThresholdGoUncompressed) {
    ConnectionConfig config = server_config();
    config.deflate = DeflateParams{};
    config.compression_threshold = 64;
    Connection s(config);
    ASSERT_EQ(s.send_text("tiny"), Error::ok);
    const auto out = take_output(s);
    EXPECT_EQ(out[0] & 0x40, 0); // RSV1 clear
    ASSERT_EQ(s.send_text(std::string(100, 'a')), Error::ok);
    EXPECT_NE(take_output(s)[0] & 0x40, 0);
}

TEST(DeflateConnection, AnyChunkingGivesTheSameEvents) {
    Connection client(with_deflate(client_config(7)));
    ASSERT_EQ(client.send_text("compressed text " + std::string(500, 'x')), Error::ok);
    ASSERT_EQ(client.send_frame(Opcode::binary, as_span(std::string(300, 'b')), false), Error::ok);
    ASSERT_EQ(client.send_ping(as_span("in between")), Error::ok);
    ASSERT_EQ(client.send_frame(Opcode::continuation, as_span(std::string(300, 'c')), true),
              Error::ok);
    ASSERT_EQ(client.send_text("€ and 😀"), Error::ok);
    const auto input = take_output(client);
    Connection whole(with_deflate(server_config()));
    const auto expected = feed(whole, input);
    ASSERT_EQ(expected.size(), 4u);
    for (std::size_t split = 0; split <= input.size(); ++split) {
        Connection s(with_deflate(server_config()));
        ASSERT_EQ(feed(s, input, {split}), expected) << split;
    }
    Connection bytewise(with_deflate(server_config()));
    EXPECT_EQ(feed(bytewise, input, std::vector<std::size_t>(input.size(), 1)), expected);
}

TEST(DeflateConnection, ZipBombCloses1009WithBoundedMemory) {
    ConnectionConfig config = with_deflate(server_config());
    config.max_message_size = 64 * 1024;
    Connection client(with_deflate(client_config()));
    ASSERT_EQ(client.send_binary(as_span(std::string(64 * 1024, '\0'))), Error::ok); // at the limit
    ASSERT_EQ(client.send_binary(as_span(std::string(16 * 1024 * 1024, '\0'))), Error::ok);
    const auto wire = take_output(client);
    EXPECT_LT(wire.size(), 40000u);
    Connection s(config);
    const auto events = feed(s, wire);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].payload.size(), 64u * 1024);
    EXPECT_EQ(events[1].type, EventType::error);
    EXPECT_EQ(events[1].error, Error::message_too_big);
    EXPECT_EQ(events[1].close_code, 1009);
}

TEST(DeflateConnection, CorruptCompressedDataCloses1007) {
    Connection s(with_deflate(server_config()));
    // RSV1 text frame whose payload is not DEFLATE data.
    std::vector<std::uint8_t> frame{0xC1, 0x84, 1, 2, 3, 4, 0xFE, 0xFD, 0xFC, 0xFB};
    const auto events = feed(s, frame);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].error, Error::bad_compressed_data);
    EXPECT_EQ(events[0].close_code, 1007);
}

TEST(DeflateConnection, InvalidUtf8InsideCompressedTextCloses1007) {
    Connection client(with_deflate(client_config()));
    // Compress invalid UTF-8 as binary, then flip the opcode to text.
    ASSERT_EQ(client.send_binary(as_span("ok \xC0\x80 not ok")), Error::ok);
    auto wire = take_output(client);
    wire[0] = static_cast<std::uint8_t>((wire[0] & 0xF0) | 0x1);
    Connection s(with_deflate(server_config()));
    const auto events = feed(s, wire);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].error, Error::invalid_utf8);
}

TEST(DeflateConnection, Rsv1OnlyWhenNegotiated) {
    Connection client(with_deflate(client_config()));
    ASSERT_EQ(client.send_text("hello"), Error::ok);
    Connection plain(server_config());
    const auto events = feed(plain, take_output(client));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].error, Error::reserved_bits_set);
}

} // namespace
} // namespace nexus::core
