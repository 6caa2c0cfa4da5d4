// The chunking property: any split of the input gives the same events as
// feeding it whole (whole, byte by byte, every split point, random splits).
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

/// A client's byte stream with every kind of frame: short and long
/// messages, every length encoding, fragments with control frames between
/// them, multi-byte UTF-8 split across fragments, and a close at the end.
std::vector<std::uint8_t> rich_client_stream() {
    Connection c(client_config(42));
    EXPECT_EQ(c.send_text("hello"), Error::ok);
    EXPECT_EQ(c.send_binary(as_span(std::string(300, '\xAB'))), Error::ok);
    EXPECT_EQ(c.send_text(""), Error::ok);
    EXPECT_EQ(c.send_ping(as_span("ping-1")), Error::ok);
    EXPECT_EQ(c.send_frame(Opcode::text, as_span("\xF0\x9F"), false), Error::ok);
    EXPECT_EQ(c.send_pong(as_span("pong-1")), Error::ok);
    EXPECT_EQ(c.send_frame(Opcode::continuation, as_span("\x98\x80 emoji, "), false), Error::ok);
    EXPECT_EQ(c.send_frame(Opcode::continuation, {}, false), Error::ok);
    EXPECT_EQ(c.send_ping({}), Error::ok);
    EXPECT_EQ(c.send_frame(Opcode::continuation, as_span("κόσμε"), true), Error::ok);
    EXPECT_EQ(c.send_binary(as_span(std::string(70000, '\x01'))), Error::ok);
    EXPECT_EQ(c.send_frame(Opcode::binary, as_span("abc"), false), Error::ok);
    EXPECT_EQ(c.send_frame(Opcode::continuation, as_span(std::string(200, 'd')), true), Error::ok);
    EXPECT_EQ(c.close(1000, "the end"), Error::ok);
    return take_output(c);
}

std::vector<Recorded> whole(const std::vector<std::uint8_t>& input, const ConnectionConfig& config,
                            bool eof) {
    Connection s(config);
    return feed(s, input, {}, eof);
}

void expect_every_split_agrees(const std::vector<std::uint8_t>& input,
                               const ConnectionConfig& config, bool eof, std::size_t stride = 1) {
    const auto expected = whole(input, config, eof);
    ASSERT_FALSE(expected.empty());

    {
        Connection s(config);
        EXPECT_EQ(feed(s, input, std::vector<std::size_t>(input.size(), 1), eof), expected)
            << "byte by byte";
    }
    for (std::size_t split = 0; split <= input.size(); split += stride) {
        Connection s(config);
        ASSERT_EQ(feed(s, input, {split}, eof), expected) << "split at " << split;
    }
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> pieces;
        std::size_t total = 0;
        while (total < input.size()) {
            // Mostly small pieces, sometimes large ones.
            const std::size_t n = rng() % 4 == 0 ? 1 + rng() % 5000 : 1 + rng() % 20;
            pieces.push_back(n);
            total += n;
        }
        Connection s(config);
        ASSERT_EQ(feed(s, input, pieces, eof), expected) << "random round " << round;
    }
}

TEST(Chunking, RichStreamGivesTheSameEventsHoweverSplit) {
    const auto input = rich_client_stream();
    const auto expected = whole(input, server_config(), false);
    ASSERT_EQ(expected.size(), 10u);
    EXPECT_EQ(expected.back().type, EventType::close);
    // Every split point of the part before the 70000-byte frame, then a
    // stride across the rest, keeps the run short.
    expect_every_split_agrees(input, server_config(), false, 7);
}

TEST(Chunking, EveryOffsetOfAShortStream) {
    Connection c(client_config(3));
    ASSERT_EQ(c.send_text("héllo"), Error::ok);
    ASSERT_EQ(c.send_frame(Opcode::binary, as_span("ab"), false), Error::ok);
    ASSERT_EQ(c.send_ping(as_span("x")), Error::ok);
    ASSERT_EQ(c.send_frame(Opcode::continuation, as_span("cd"), true), Error::ok);
    ASSERT_EQ(c.send_binary(as_span(std::string(130, 'z'))), Error::ok);
    expect_every_split_agrees(take_output(c), server_config(), true);
}

TEST(Chunking, ServerToClientStream) {
    Connection s(server_config());
    ASSERT_EQ(s.send_text("to the client"), Error::ok);
    ASSERT_EQ(s.send_binary(as_span(std::string(1000, 'q'))), Error::ok);
    ASSERT_EQ(s.send_ping(as_span("hb")), Error::ok);
    ASSERT_EQ(s.close(1001, "going away"), Error::ok);
    expect_every_split_agrees(take_output(s), client_config(), false);
}

TEST(Chunking, ViolationsAreFoundAtTheSamePointHoweverSplit) {
    const std::vector<std::string> bad_tails{
        std::string("\x81\x83\x01\x02\x03\x04", 6) + "\xC1\x82\x7F", // bad UTF-8 (masked)
        std::string("\x83\x80\x01\x02\x03\x04", 6),                  // reserved opcode
        std::string("\x80\x80\x01\x02\x03\x04", 6),                  // lone continuation
        std::string("\x82\xFE\x00\x10\x01\x02\x03\x04", 8),          // non-minimal length
        std::string("\x88\x81\x00\x00\x00\x00\x03", 7),              // 1-byte close
    };
    for (const std::string& tail : bad_tails) {
        Connection c(client_config(9));
        ASSERT_EQ(c.send_text("first"), Error::ok);
        ASSERT_EQ(c.send_binary(as_span(std::string(200, 'b'))), Error::ok);
        auto input = take_output(c);
        input.insert(input.end(), tail.begin(), tail.end());
        const auto expected = whole(input, server_config(), true);
        ASSERT_EQ(expected.size(), 3u);
        EXPECT_EQ(expected.back().type, EventType::error);
        expect_every_split_agrees(input, server_config(), true);
    }
}

TEST(Chunking, LimitsTripAtTheSamePointHoweverSplit) {
    ConnectionConfig config = server_config();
    config.max_message_size = 250;
    Connection c(client_config(5));
    ASSERT_EQ(c.send_binary(as_span(std::string(250, 'k'))), Error::ok);
    ASSERT_EQ(c.send_frame(Opcode::binary, as_span(std::string(200, 'k')), false), Error::ok);
    ASSERT_EQ(c.send_frame(Opcode::continuation, as_span(std::string(51, 'k')), true), Error::ok);
    const auto input = take_output(c);
    const auto expected = whole(input, config, false);
    ASSERT_EQ(expected.size(), 2u);
    EXPECT_EQ(expected[1].error, Error::message_too_big);
    expect_every_split_agrees(input, config, false);
}

} // namespace
} // namespace nexus::core
