#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nexus/core/close_code.hpp"
#include "nexus/core/connection.hpp"
#include "test_support.hpp"

namespace nexus::core {
namespace {

using testing::as_span;
using testing::bytes;
using testing::client_config;
using testing::feed;
using testing::Recorded;
using testing::server_config;
using testing::take_output;

Recorded text(std::string s) {
    return {EventType::text, std::move(s), 0, Error::ok};
}
Recorded binary(std::string s) {
    return {EventType::binary, std::move(s), 0, Error::ok};
}
Recorded error(Error e) {
    return {EventType::error, "", close_code_for(e), e};
}
Recorded closed(std::uint16_t code, std::string reason = {}) {
    return {EventType::close, std::move(reason), code, Error::ok};
}

/// A masked frame as a client would send it, built by hand so tests can
/// break any rule.
std::vector<std::uint8_t> masked_frame(std::uint8_t first_byte, std::string_view payload,
                                       MaskKey key = {0x37, 0xfa, 0x21, 0x3d}) {
    std::vector<std::uint8_t> out(k_max_frame_header_size + payload.size());
    const std::size_t n =
        encode_frame_header(out.data(), Opcode::binary, true, false, payload.size(), &key);
    out[0] = first_byte;
    std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(n));
    apply_mask(out.data() + n, payload.size(), key);
    out.resize(n + payload.size());
    return out;
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

/// Decodes what `from` sent with a fresh peer of the other role.
std::vector<Recorded> as_peer_sees(Connection& from) {
    Connection peer(from.config().role == Role::server ? client_config() : server_config());
    return feed(peer, take_output(from));
}

// ---------------------------------------------------------------- RFC examples

TEST(Connection, Rfc6455Section5_7ExamplesAsClient) {
    Connection c(client_config());
    const auto events = feed(c, {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, // "Hello"
                                 0x01, 0x03, 0x48, 0x65, 0x6c,             // "Hel" ...
                                 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, // ping in between
                                 0x80, 0x02, 0x6c, 0x6f});                 // ... "lo"
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0], text("Hello"));
    EXPECT_EQ(events[1], (Recorded{EventType::ping, "Hello", 0, Error::ok}));
    EXPECT_EQ(events[2], text("Hello"));
}

TEST(Connection, Rfc6455Section5_7ExamplesAsServer) {
    Connection s(server_config());
    const auto events = feed(s, {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
                                 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0], text("Hello"));
    EXPECT_EQ(events[1], (Recorded{EventType::pong, "Hello", 0, Error::ok}));
}

TEST(Connection, ServerEncodesTheRfcUnmaskedHello) {
    Connection s(server_config());
    ASSERT_EQ(s.send_text("Hello"), Error::ok);
    EXPECT_EQ(take_output(s),
              (std::vector<std::uint8_t>{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(Connection, ClientMasksWithTheInjectedEntropy) {
    ConnectionConfig config = client_config();
    config.entropy = [](std::span<std::uint8_t> out) {
        const std::uint8_t key[] = {0x37, 0xfa, 0x21, 0x3d};
        std::copy(key, key + 4, out.begin());
    };
    Connection c(std::move(config));
    ASSERT_EQ(c.send_text("Hello"), Error::ok);
    EXPECT_EQ(take_output(c), (std::vector<std::uint8_t>{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                                         0x9f, 0x4d, 0x51, 0x58}));
}

TEST(Connection, ClientWithoutEntropyIsRefused) {
    ConnectionConfig config;
    config.role = Role::client;
    EXPECT_THROW(Connection c(config), std::invalid_argument);
}

// ---------------------------------------------------------------- zero copy

TEST(Connection, WholeFrameIsDeliveredInPlace) {
    Connection s(server_config());
    std::vector<std::uint8_t> in = masked_frame(0x82, "abcdefgh");
    ASSERT_EQ(s.receive_data(in), Error::ok);
    Event e;
    ASSERT_TRUE(s.next_event(e));
    EXPECT_EQ(e.payload.data(), in.data() + 6); // a view into the caller's buffer
    EXPECT_EQ(e.text(), "abcdefgh");
    EXPECT_FALSE(s.next_event(e));
}

TEST(Connection, ReceiveDataBeforeDrainingIsRefused) {
    Connection s(server_config());
    std::vector<std::uint8_t> in = concat({masked_frame(0x82, "a"), masked_frame(0x82, "b")});
    ASSERT_EQ(s.receive_data(in), Error::ok);
    Event e;
    ASSERT_TRUE(s.next_event(e));
    std::vector<std::uint8_t> more = masked_frame(0x82, "c");
    EXPECT_EQ(s.receive_data(more), Error::invalid_state);
    ASSERT_TRUE(s.next_event(e));
    EXPECT_EQ(e.text(), "b");
    EXPECT_FALSE(s.next_event(e));
    EXPECT_EQ(s.receive_data(more), Error::ok);
}

// ---------------------------------------------------------------- both roles wired

TEST(Connection, ClientAndServerExchangeEveryKindOfMessage) {
    Connection client(client_config());
    Connection server(server_config());
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + i % 26);
    }
    const std::string binary_bytes("\x00\x01\xFF\xFE", 4);

    ASSERT_EQ(client.send_text("hello"), Error::ok);
    ASSERT_EQ(client.send_text(""), Error::ok);
    ASSERT_EQ(client.send_binary(as_span(binary_bytes)), Error::ok);
    ASSERT_EQ(client.send_binary({}), Error::ok);
    ASSERT_EQ(client.send_text(big), Error::ok);
    ASSERT_EQ(client.send_frame(Opcode::text, as_span("κό"), false), Error::ok);
    ASSERT_EQ(client.send_ping(as_span("are you there")), Error::ok);
    ASSERT_EQ(client.send_frame(Opcode::continuation, as_span("σμε"), true), Error::ok);
    ASSERT_EQ(client.send_pong(as_span("unsolicited")), Error::ok);
    ASSERT_EQ(client.close(1000, "bye"), Error::ok);
    EXPECT_EQ(client.state(), State::closing);

    const auto at_server = feed(server, take_output(client));
    const std::vector<Recorded> expected{
        text("hello"),
        text(""),
        binary(binary_bytes),
        binary(""),
        text(big),
        {EventType::ping, "are you there", 0, Error::ok},
        text("κόσμε"),
        {EventType::pong, "unsolicited", 0, Error::ok},
        closed(1000, "bye"),
    };
    EXPECT_EQ(at_server, expected);
    EXPECT_EQ(server.state(), State::closed);
    EXPECT_TRUE(server.should_close_transport());

    // The server answered the ping and echoed the close.
    const auto at_client = feed(client, take_output(server));
    ASSERT_EQ(at_client.size(), 2u);
    EXPECT_EQ(at_client[0], (Recorded{EventType::pong, "are you there", 0, Error::ok}));
    EXPECT_EQ(at_client[1], closed(1000));
    EXPECT_EQ(client.state(), State::closed);
    EXPECT_FALSE(client.failed());
}

TEST(Connection, ServerToClientMessages) {
    Connection server(server_config());
    Connection client(client_config());
    ASSERT_EQ(server.send_text("from server"), Error::ok);
    ASSERT_EQ(server.send_binary(as_span(std::string(70000, '\x7F'))), Error::ok);
    ASSERT_EQ(server.close(4000, "app says bye"), Error::ok);
    const auto events = feed(client, take_output(server));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0], text("from server"));
    EXPECT_EQ(events[1], binary(std::string(70000, '\x7F')));
    EXPECT_EQ(events[2], closed(4000, "app says bye"));
    EXPECT_TRUE(client.should_close_transport() == false); // the server closes TCP first
}

// ---------------------------------------------------------------- pings

TEST(Connection, AutomaticPongCanBeTurnedOff) {
    for (bool auto_pong : {true, false}) {
        ConnectionConfig config = server_config();
        config.auto_pong = auto_pong;
        Connection s(config);
        const auto events = feed(s, masked_frame(0x89, "p"));
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].type, EventType::ping);
        const auto answer = as_peer_sees(s);
        if (auto_pong) {
            ASSERT_EQ(answer.size(), 1u);
            EXPECT_EQ(answer[0], (Recorded{EventType::pong, "p", 0, Error::ok}));
        } else {
            EXPECT_TRUE(answer.empty());
        }
    }
}

TEST(Connection, NoPongAfterOurCloseWasSent) {
    Connection s(server_config());
    ASSERT_EQ(s.close(1000), Error::ok);
    take_output(s);
    const auto events = feed(s, masked_frame(0x89, "late"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, EventType::ping);
    EXPECT_FALSE(s.wants_write());
}

// ---------------------------------------------------------------- close handshake

TEST(Connection, PeerInitiatedCloseIsEchoed) {
    Connection s(server_config());
    EXPECT_EQ(s.state(), State::open);
    const auto events = feed(s, masked_frame(0x88, std::string("\x03\xE9", 2) + "done"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0], closed(1001, "done"));
    EXPECT_EQ(s.state(), State::closed);
    EXPECT_TRUE(s.close_received());
    EXPECT_TRUE(s.close_sent());
    EXPECT_EQ(as_peer_sees(s), std::vector<Recorded>{closed(1001)});
    EXPECT_EQ(s.close(1000), Error::invalid_state);
    EXPECT_EQ(s.send_text("x"), Error::invalid_state);
}

TEST(Connection, EmptyCloseMeansNoStatusAndIsEchoedEmpty) {
    Connection s(server_config());
    const auto events = feed(s, masked_frame(0x88, ""));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0], closed(close_code::no_status));
    EXPECT_EQ(take_output(s), (std::vector<std::uint8_t>{0x88, 0x00}));
}

TEST(Connection, LocallyInitiatedCloseWaitsForThePeer) {
    Connection c(client_config());
    ASSERT_EQ(c.close(1000, "done"), Error::ok);
    EXPECT_EQ(c.state(), State::closing);
    // Data may still arrive after we sent our close (§7.1.2 does not forbid it).
    auto events = feed(c, {0x81, 0x02, 'h', 'i'});
    EXPECT_EQ(events, std::vector<Recorded>{text("hi")});
    events = feed(c, {0x88, 0x02, 0x03, 0xE8});
    EXPECT_EQ(events, std::vector<Recorded>{closed(1000)});
    EXPECT_EQ(c.state(), State::closed);
    EXPECT_EQ(as_peer_sees(c), std::vector<Recorded>{closed(1000, "done")}); // only one close
}

TEST(Connection, EveryCloseCodeOnTheWire) {
    for (std::uint32_t code = 0; code < 5100; ++code) {
        Connection s(server_config());
        const std::string body{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
        const auto events = feed(s, masked_frame(0x88, body));
        ASSERT_EQ(events.size(), 1u);
        const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                           (code >= 3000 && code <= 4999);
        if (valid) {
            EXPECT_EQ(events[0], closed(static_cast<std::uint16_t>(code))) << code;
        } else {
            EXPECT_EQ(events[0], error(Error::bad_close_code)) << code;
        }
        // Locally the same rule applies.
        Connection local(server_config());
        EXPECT_EQ(local.close(static_cast<std::uint16_t>(code)) == Error::ok,
                  valid || code == 0 || code == 1005)
            << code;
    }
}

TEST(Connection, CloseFrameBodyRules) {
    Connection one_byte(server_config());
    EXPECT_EQ(feed(one_byte, masked_frame(0x88, "\x03")),
              std::vector<Recorded>{error(Error::bad_close_payload)});
    Connection bad_reason(server_config());
    EXPECT_EQ(feed(bad_reason, masked_frame(0x88, "\x03\xE8\xFF")),
              std::vector<Recorded>{error(Error::invalid_close_reason)});
}

TEST(Connection, LocalCloseArguments) {
    Connection s(server_config());
    EXPECT_EQ(s.close(1000, std::string(124, 'r')), Error::local_control_too_long);
    EXPECT_EQ(s.close(1000, "\xC0"), Error::local_invalid_utf8);
    EXPECT_EQ(s.close(0, "reason without code"), Error::local_bad_argument);
    EXPECT_EQ(s.close(1006), Error::local_invalid_close_code);
    EXPECT_EQ(s.state(), State::open);
    EXPECT_EQ(s.close(1000, std::string(123, 'r')), Error::ok);
    EXPECT_EQ(s.close(1000), Error::invalid_state);
}

TEST(Connection, EndOfStreamWithoutCloseIsAbnormal) {
    Connection s(server_config());
    const auto events = feed(s, masked_frame(0x82, "partial-frame-follows"), {}, true);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1], (Recorded{EventType::close, "", 1006, Error::abnormal_closure}));
    EXPECT_EQ(s.state(), State::closed);

    // A peer that vanishes mid-frame.
    Connection mid(server_config());
    auto frame = masked_frame(0x82, "0123456789");
    frame.resize(8);
    EXPECT_EQ(feed(mid, frame, {}, true),
              (std::vector<Recorded>{{EventType::close, "", 1006, Error::abnormal_closure}}));
}

TEST(Connection, EndOfStreamAfterCloseHandshakeIsQuiet) {
    Connection c(client_config());
    feed(c, {0x88, 0x02, 0x03, 0xE8});
    const auto events = feed(c, {}, {}, true);
    EXPECT_TRUE(events.empty());
    EXPECT_TRUE(c.should_close_transport());
}

// ---------------------------------------------------------------- violations

struct ViolationCase {
    const char* name;
    std::vector<std::uint8_t> input;
    Error expected;
};

TEST(Connection, EveryViolationFailsWithItsCloseCode) {
    const std::vector<ViolationCase> cases{
        {"reserved opcode", masked_frame(0x83, ""), Error::unknown_opcode},
        {"rsv1 without deflate", masked_frame(0xC1, "x"), Error::reserved_bits_set},
        {"rsv2", masked_frame(0xA1, "x"), Error::reserved_bits_set},
        {"rsv3", masked_frame(0x91, "x"), Error::reserved_bits_set},
        {"fragmented ping", masked_frame(0x09, "x"), Error::fragmented_control_frame},
        {"unmasked", {0x81, 0x01, 'x'}, Error::unmasked_client_frame},
        {"continuation first", masked_frame(0x80, "x"), Error::unexpected_continuation},
        {"text inside fragmented", concat({masked_frame(0x01, "a"), masked_frame(0x81, "b")}),
         Error::expected_continuation},
        {"invalid utf8 whole", masked_frame(0x81, "\xCE\xBA\xE1\xBD"), Error::invalid_utf8},
        {"invalid utf8 across fragments",
         concat({masked_frame(0x01, "\xCE"), masked_frame(0x80, "a")}), Error::invalid_utf8},
        {"truncated code point at the end", masked_frame(0x81, "ok\xE2\x82"), Error::invalid_utf8},
        {"non-minimal 16-bit length",
         {0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 0},
         Error::non_minimal_length},
        {"64-bit length msb",
         {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
         Error::length_msb_set},
    };
    for (const auto& c : cases) {
        Connection s(server_config());
        const auto events = feed(s, c.input);
        ASSERT_FALSE(events.empty()) << c.name;
        EXPECT_EQ(events.back(), error(c.expected)) << c.name;
        EXPECT_TRUE(s.failed()) << c.name;
        EXPECT_EQ(s.error(), c.expected) << c.name;
        EXPECT_EQ(s.state(), State::closed) << c.name;
        EXPECT_TRUE(s.should_close_transport()) << c.name;
        // The peer is told why, with the RFC's code.
        const auto told = as_peer_sees(s);
        ASSERT_EQ(told.size(), 1u) << c.name;
        EXPECT_EQ(told[0].type, EventType::close) << c.name;
        EXPECT_EQ(told[0].close_code, close_code_for(c.expected)) << c.name;
        EXPECT_EQ(told[0].payload, describe(c.expected)) << c.name;
    }
}

TEST(Connection, ClientRejectsMaskedFrames) {
    Connection c(client_config());
    EXPECT_EQ(feed(c, masked_frame(0x81, "x")),
              std::vector<Recorded>{error(Error::masked_server_frame)});
}

TEST(Connection, FailureIsStickyAndLaterInputIgnored) {
    Connection s(server_config());
    const auto events = feed(s, concat({masked_frame(0x83, ""), masked_frame(0x81, "after")}));
    EXPECT_EQ(events, std::vector<Recorded>{error(Error::unknown_opcode)});
    EXPECT_TRUE(feed(s, masked_frame(0x81, "later")).empty());
    EXPECT_EQ(s.send_text("x"), Error::invalid_state);
}

TEST(Connection, FailFastUtf8BeforeTheMessageEnds) {
    Connection s(server_config());
    // First fragment already invalid: the failure comes without the rest.
    EXPECT_EQ(feed(s, masked_frame(0x01, "ok\xFF")),
              std::vector<Recorded>{error(Error::invalid_utf8)});
    // Also inside one frame that has not fully arrived.
    Connection t(server_config());
    auto frame = masked_frame(0x81, std::string(50, 'a') + "\xFF" + std::string(50, 'b'));
    frame.resize(60);
    EXPECT_EQ(feed(t, frame), std::vector<Recorded>{error(Error::invalid_utf8)});
}

// ---------------------------------------------------------------- limits

TEST(Connection, FrameSizeLimitOnTheDeclaredLength) {
    ConnectionConfig config = server_config();
    config.max_frame_size = 100;
    Connection at(config);
    EXPECT_EQ(feed(at, masked_frame(0x82, std::string(100, 'x'))),
              std::vector<Recorded>{binary(std::string(100, 'x'))});
    Connection over(config);
    // Only the header arrives: the limit is enforced before any payload.
    auto frame = masked_frame(0x82, std::string(101, 'x'));
    frame.resize(8);
    EXPECT_EQ(feed(over, frame), std::vector<Recorded>{error(Error::frame_too_big)});
    EXPECT_EQ(as_peer_sees(over)[0].close_code, 1009);
}

TEST(Connection, MessageSizeLimitAcrossFragments) {
    ConnectionConfig config = server_config();
    config.max_message_size = 10;
    Connection at(config);
    EXPECT_EQ(feed(at, concat({masked_frame(0x02, "12345"), masked_frame(0x80, "67890")})),
              std::vector<Recorded>{binary("1234567890")});
    Connection over(config);
    EXPECT_EQ(feed(over, concat({masked_frame(0x02, "12345"), masked_frame(0x80, "678901")})),
              std::vector<Recorded>{error(Error::message_too_big)});
}

TEST(Connection, LargeDeclaredLengthDoesNotAllocate) {
    // A header declaring 2^62 bytes fails at once with 1009.
    Connection s(server_config());
    EXPECT_EQ(feed(s, {0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}),
              std::vector<Recorded>{error(Error::frame_too_big)});
}

// ---------------------------------------------------------------- local misuse

TEST(Connection, SendingRules) {
    Connection s(server_config());
    EXPECT_EQ(s.send_text("\xC0\x80"), Error::local_invalid_utf8);
    EXPECT_EQ(s.send_ping(as_span(std::string(126, 'p'))), Error::local_control_too_long);
    EXPECT_EQ(s.send_pong(as_span(std::string(126, 'p'))), Error::local_control_too_long);
    EXPECT_EQ(s.send_ping(as_span(std::string(125, 'p'))), Error::ok);
    EXPECT_EQ(s.send_frame(Opcode::ping, {}, true), Error::local_bad_argument);
    EXPECT_EQ(s.send_frame(Opcode::continuation, {}, true), Error::local_no_message_in_progress);
    EXPECT_EQ(s.send_frame(Opcode::text, as_span("\xE2\x82"), false), Error::ok);
    EXPECT_EQ(s.send_text("x"), Error::local_message_in_progress);
    EXPECT_EQ(s.send_frame(Opcode::binary, {}, true), Error::local_message_in_progress);
    EXPECT_EQ(s.send_ping({}), Error::ok); // control frames may interleave (§5.4)
    // A fragment that breaks UTF-8 is refused and leaves the message open.
    EXPECT_EQ(s.send_frame(Opcode::continuation, as_span("A"), true), Error::local_invalid_utf8);
    EXPECT_EQ(s.send_frame(Opcode::continuation, as_span("\xAC"), true), Error::ok); // €
    Connection peer(client_config());
    const auto events = feed(peer, take_output(s));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[2], text("\xE2\x82\xAC"));
}

TEST(Connection, NothingIsSentAfterClose) {
    Connection s(server_config());
    ASSERT_EQ(s.close(1000), Error::ok);
    EXPECT_EQ(s.send_text("x"), Error::invalid_state);
    EXPECT_EQ(s.send_binary({}), Error::invalid_state);
    EXPECT_EQ(s.send_ping({}), Error::invalid_state);
    EXPECT_EQ(s.send_pong({}), Error::invalid_state);
    EXPECT_EQ(s.send_encoded(as_span("\x81\x00")), Error::invalid_state);
}

TEST(Connection, SendEncodedIsForServersAndWholeFrames) {
    Connection s(server_config());
    ASSERT_EQ(s.send_encoded(as_span("\x81\x02hi")), Error::ok);
    EXPECT_EQ(as_peer_sees(s), std::vector<Recorded>{text("hi")});
    ASSERT_EQ(s.send_frame(Opcode::text, as_span("a"), false), Error::ok);
    EXPECT_EQ(s.send_encoded(as_span("\x81\x02hi")), Error::invalid_state);
    Connection c(client_config());
    EXPECT_EQ(c.send_encoded(as_span("\x81\x02hi")), Error::invalid_state);
}

TEST(Connection, DirectFrameHeaderOnlyWhenNothingIsQueued) {
    const std::string payload(5000, 'p');
    std::uint8_t header[k_max_frame_header_size];
    Connection s(server_config());
    const std::size_t n = s.direct_frame_header(Opcode::binary, as_span(payload), header);
    ASSERT_EQ(n, 4u);              // 126 + 16-bit length
    EXPECT_FALSE(s.wants_write()); // nothing queued by the call itself
    // The caller writes header + payload; a peer reads one message.
    std::vector<std::uint8_t> wire(header, header + n);
    wire.insert(wire.end(), payload.begin(), payload.end());
    Connection peer(client_config());
    EXPECT_EQ(feed(peer, wire), std::vector<Recorded>{binary(payload)});
    // Not when something is queued (order), for a client (masks), for text
    // that is not UTF-8, after close, or when the message would be compressed.
    ASSERT_EQ(s.send_text("queued"), Error::ok);
    EXPECT_EQ(s.direct_frame_header(Opcode::binary, as_span(payload), header), 0u);
    take_output(s);
    EXPECT_EQ(s.direct_frame_header(Opcode::text, as_span("\xC0\x80"), header), 0u);
    EXPECT_EQ(s.direct_frame_header(Opcode::ping, {}, header), 0u);
    Connection c(client_config());
    EXPECT_EQ(c.direct_frame_header(Opcode::binary, as_span(payload), header), 0u);
    ConnectionConfig deflate = server_config();
    deflate.deflate = DeflateParams{};
    Connection d(deflate);
    EXPECT_EQ(d.direct_frame_header(Opcode::binary, as_span(payload), header), 0u);
    ASSERT_EQ(s.close(1000), Error::ok);
    take_output(s);
    EXPECT_EQ(s.direct_frame_header(Opcode::binary, as_span(payload), header), 0u);
}

TEST(Connection, PartialWritesKeepOrder) {
    Connection s(server_config());
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(s.send_text(std::to_string(i)), Error::ok);
    }
    std::vector<std::uint8_t> written;
    while (s.wants_write()) {
        const auto out = s.data_to_send();
        const std::size_t n = std::min<std::size_t>(7, out.size());
        written.insert(written.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
        s.consume(n);
        if (written.size() % 700 == 0) {
            ASSERT_EQ(s.send_text("interleaved"), Error::ok);
        }
    }
    Connection peer(client_config());
    const auto events = feed(peer, written);
    std::size_t numbered = 0;
    for (const auto& e : events) {
        if (e.payload != "interleaved") {
            EXPECT_EQ(e.payload, std::to_string(numbered++));
        }
    }
    EXPECT_EQ(numbered, 1000u);
}

TEST(Connection, ReleaseBuffersFreesIdleMemory) {
    Connection s(server_config());
    ASSERT_EQ(s.send_binary(as_span(std::string(1000, 'x'))), Error::ok);
    take_output(s);
    s.release_buffers();
    EXPECT_TRUE(s.data_to_send().empty());
    ASSERT_EQ(s.send_text("still works"), Error::ok);
    EXPECT_EQ(as_peer_sees(s), std::vector<Recorded>{text("still works")});
}

TEST(Connection, CompressingConnectionsBorrowFromTheirPool) {
    // Two server connections of one loop, each compressing a message and
    // inflating one with no context takeover agreed: one stream of each kind
    // serves both, and goes back to the pool between messages.
    ZlibStreamPool pool;
    DeflateParams agreed;
    agreed.server_no_context_takeover = true;
    agreed.client_no_context_takeover = true;
    ConnectionConfig config = server_config();
    config.deflate = agreed;
    config.deflate_streams = &pool;
    ConnectionConfig peer_config = client_config();
    peer_config.deflate = agreed;
    std::string message;
    for (int i = 0; message.size() < 3000; ++i) {
        message += "word" + std::to_string(i % 37) + ' ';
    }
    Connection a(config);
    Connection b(config);
    for (Connection* c : {&a, &b}) {
        ASSERT_EQ(c->send_text(message), Error::ok);
        Connection peer(peer_config);
        const std::vector<std::uint8_t> wire = take_output(*c);
        EXPECT_LT(wire.size(), message.size() / 2); // compressed
        EXPECT_EQ(feed(peer, wire), std::vector<Recorded>{text(message)});
        ASSERT_EQ(peer.send_text(message), Error::ok);
        EXPECT_EQ(feed(*c, take_output(peer)), std::vector<Recorded>{text(message)});
        c->release_buffers();
    }
    EXPECT_EQ(pool.spare_deflaters(), 1U);
    EXPECT_EQ(pool.spare_inflaters(), 1U);
    // After release_buffers dropped its idle codecs, a connection compresses again.
    ASSERT_EQ(a.send_text(message), Error::ok);
    Connection peer(peer_config);
    EXPECT_EQ(feed(peer, take_output(a)), std::vector<Recorded>{text(message)});
}

} // namespace
} // namespace nexus::core
