#include <gtest/gtest.h>

#include <set>
#include <string>

#include "nexus/core/close_code.hpp"
#include "nexus/core/error.hpp"

namespace nexus::core {
namespace {

// Every value the enum defines today; a new value must be added here, which
// makes the pinned numbers visible in review.
constexpr int k_defined[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                             16, 17, 18, 19, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
                             52, 53, 54, 55, 56, 80, 81, 82, 83, 84, 85, 86, 87, 100};

TEST(Error, EveryValueHasItsOwnText) {
    std::set<std::string> texts;
    for (int v : k_defined) {
        const std::string_view text = describe(static_cast<Error>(v));
        EXPECT_NE(text, "unknown error") << v;
        EXPECT_LE(text.size(), 123u) << v; // fits a close frame's reason
        texts.insert(std::string(text));
    }
    // Local misuse texts may repeat remote ones (e.g. UTF-8); most differ.
    EXPECT_GT(texts.size(), std::size(k_defined) - 4);
    EXPECT_EQ(describe(static_cast<Error>(999)), "unknown error");
}

TEST(Error, NumbersArePinned) {
    EXPECT_EQ(static_cast<int>(Error::invalid_utf8), 13);
    EXPECT_EQ(static_cast<int>(Error::message_too_big), 16);
    EXPECT_EQ(static_cast<int>(Error::not_websocket_upgrade), 46);
    EXPECT_EQ(static_cast<int>(Error::invalid_state), 80);
    EXPECT_EQ(static_cast<int>(Error::abnormal_closure), 100);
}

TEST(Error, RemoteViolationsMapToTheRfcCloseCodes) {
    EXPECT_EQ(close_code_for(Error::unknown_opcode), close_code::protocol_error);
    EXPECT_EQ(close_code_for(Error::invalid_utf8), close_code::invalid_payload);
    EXPECT_EQ(close_code_for(Error::invalid_close_reason), close_code::invalid_payload);
    EXPECT_EQ(close_code_for(Error::bad_compressed_data), close_code::invalid_payload);
    EXPECT_EQ(close_code_for(Error::frame_too_big), close_code::message_too_big);
    EXPECT_EQ(close_code_for(Error::message_too_big), close_code::message_too_big);
    EXPECT_EQ(close_code_for(Error::abnormal_closure), close_code::abnormal);
    for (int v : k_defined) {
        const auto e = static_cast<Error>(v);
        const bool framing = v >= 1 && v < 40;
        EXPECT_EQ(close_code_for(e) != 0, framing || e == Error::abnormal_closure) << v;
        // bad_status .. unoffered_extension are found by a client in a
        // response: there is no one to answer with a status.
        const bool client_side = v >= 51 && v <= 54;
        EXPECT_EQ(http_status_for(e) != 0, is_handshake(e) && !client_side) << v;
        EXPECT_EQ(is_local(e), v >= 80 && v < 100) << v;
    }
}

TEST(Error, HandshakeFailuresMapToHttpStatuses) {
    EXPECT_EQ(http_status_for(Error::http_malformed), 400);
    EXPECT_EQ(http_status_for(Error::http_bad_method), 405);
    EXPECT_EQ(http_status_for(Error::http_headers_too_large), 431);
    EXPECT_EQ(http_status_for(Error::unsupported_websocket_version), 426);
    EXPECT_EQ(http_status_for(Error::not_websocket_upgrade), 426);
    EXPECT_EQ(http_status_for(Error::http_bad_version), 505);
}

TEST(Error, WorksAsStdErrorCode) {
    const std::error_code ec = Error::invalid_utf8;
    EXPECT_EQ(ec.category().name(), std::string("nexus.core"));
    EXPECT_EQ(ec.message(), "text message is not valid UTF-8");
    EXPECT_TRUE(ec);
    EXPECT_FALSE(std::error_code(Error::ok));
}

TEST(CloseCode, WhichCodesMayTravel) {
    EXPECT_FALSE(close_code::is_valid_on_wire(999));
    EXPECT_TRUE(close_code::is_valid_on_wire(1000));
    EXPECT_FALSE(close_code::is_valid_on_wire(1004));
    EXPECT_FALSE(close_code::is_valid_on_wire(1005));
    EXPECT_FALSE(close_code::is_valid_on_wire(1006));
    EXPECT_TRUE(close_code::is_valid_on_wire(1014));
    EXPECT_FALSE(close_code::is_valid_on_wire(1015));
    EXPECT_FALSE(close_code::is_valid_on_wire(2999));
    EXPECT_TRUE(close_code::is_valid_on_wire(3000));
    EXPECT_TRUE(close_code::is_valid_on_wire(4999));
    EXPECT_FALSE(close_code::is_valid_on_wire(5000));
}

} // namespace
} // namespace nexus::core
