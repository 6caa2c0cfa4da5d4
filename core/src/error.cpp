#include "nexus/core/error.hpp"

#include <string>

#include "nexus/core/close_code.hpp"

namespace nexus::core {
namespace {

class CoreErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "nexus.core"; }
    std::string message(int value) const override {
        return std::string(describe(static_cast<Error>(value)));
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const CoreErrorCategory category;
    return category;
}

std::string_view describe(Error e) noexcept {
    switch (e) {
    case Error::ok:
        return "success";
    case Error::reserved_bits_set:
        return "reserved bits set without a negotiated extension";
    case Error::unknown_opcode:
        return "reserved opcode";
    case Error::fragmented_control_frame:
        return "fragmented control frame";
    case Error::control_frame_too_long:
        return "control frame payload longer than 125 bytes";
    case Error::non_minimal_length:
        return "payload length not minimally encoded";
    case Error::length_msb_set:
        return "64-bit payload length with the most significant bit set";
    case Error::unmasked_client_frame:
        return "unmasked frame from a client";
    case Error::masked_server_frame:
        return "masked frame from a server";
    case Error::unexpected_continuation:
        return "continuation frame without a message in progress";
    case Error::expected_continuation:
        return "new data frame while a fragmented message is in progress";
    case Error::bad_close_payload:
        return "close frame payload of one byte";
    case Error::bad_close_code:
        return "close code not allowed on the wire";
    case Error::invalid_utf8:
        return "text message is not valid UTF-8";
    case Error::invalid_close_reason:
        return "close reason is not valid UTF-8";
    case Error::frame_too_big:
        return "frame larger than the configured limit";
    case Error::message_too_big:
        return "message larger than the configured limit";
    case Error::bad_compressed_data:
        return "corrupt permessage-deflate data";
    case Error::compressed_control_frame:
        return "compressed (RSV1) control frame";
    case Error::compressed_continuation:
        return "RSV1 set on a continuation frame";
    case Error::http_malformed:
        return "malformed HTTP message";
    case Error::http_request_line_too_long:
        return "HTTP request or status line too long";
    case Error::http_headers_too_large:
        return "HTTP header section too large";
    case Error::http_bad_method:
        return "WebSocket handshake method is not GET";
    case Error::http_bad_version:
        return "HTTP version is not 1.1 or later";
    case Error::missing_host:
        return "Host header missing";
    case Error::not_websocket_upgrade:
        return "not a WebSocket upgrade request";
    case Error::missing_connection_upgrade:
        return "Connection header lacks the upgrade token";
    case Error::bad_websocket_key:
        return "Sec-WebSocket-Key missing or invalid";
    case Error::unsupported_websocket_version:
        return "Sec-WebSocket-Version is not 13";
    case Error::bad_extension_header:
        return "malformed Sec-WebSocket-Extensions header";
    case Error::bad_status:
        return "handshake response status is not 101";
    case Error::bad_accept_key:
        return "Sec-WebSocket-Accept does not match the key";
    case Error::unoffered_subprotocol:
        return "server selected a subprotocol that was not offered";
    case Error::unoffered_extension:
        return "server selected an extension that was not offered";
    case Error::bad_extension_params:
        return "invalid permessage-deflate parameters";
    case Error::duplicate_header:
        return "header that must be unique appears more than once";
    case Error::invalid_state:
        return "operation not allowed in the connection's current state";
    case Error::local_control_too_long:
        return "control frame payload longer than 125 bytes";
    case Error::local_invalid_close_code:
        return "close code that may not be sent";
    case Error::local_invalid_utf8:
        return "text is not valid UTF-8";
    case Error::local_message_in_progress:
        return "a fragmented message is still in progress";
    case Error::local_no_message_in_progress:
        return "no fragmented message in progress";
    case Error::local_bad_argument:
        return "argument out of range";
    case Error::local_subprotocol_not_offered:
        return "subprotocol was not offered by the client";
    case Error::abnormal_closure:
        return "connection closed without a close frame";
    }
    return "unknown error";
}

std::uint16_t close_code_for(Error e) noexcept {
    switch (e) {
    case Error::reserved_bits_set:
    case Error::unknown_opcode:
    case Error::fragmented_control_frame:
    case Error::control_frame_too_long:
    case Error::non_minimal_length:
    case Error::length_msb_set:
    case Error::unmasked_client_frame:
    case Error::masked_server_frame:
    case Error::unexpected_continuation:
    case Error::expected_continuation:
    case Error::bad_close_payload:
    case Error::bad_close_code:
    case Error::compressed_control_frame:
    case Error::compressed_continuation:
        return close_code::protocol_error;
    case Error::invalid_utf8:
    case Error::invalid_close_reason:
    case Error::bad_compressed_data:
        return close_code::invalid_payload;
    case Error::frame_too_big:
    case Error::message_too_big:
        return close_code::message_too_big;
    case Error::abnormal_closure:
        return close_code::abnormal;
    default:
        return 0;
    }
}

int http_status_for(Error e) noexcept {
    switch (e) {
    case Error::http_malformed:
    case Error::missing_host:
    case Error::missing_connection_upgrade:
    case Error::bad_websocket_key:
    case Error::bad_extension_header:
    case Error::bad_extension_params:
    case Error::duplicate_header:
        return 400;
    case Error::http_bad_method:
        return 405;
    case Error::http_request_line_too_long:
        return 414;
    case Error::not_websocket_upgrade:
    case Error::unsupported_websocket_version:
        return 426;
    case Error::http_headers_too_large:
        return 431;
    case Error::http_bad_version:
        return 505;
    default:
        return 0;
    }
}

} // namespace nexus::core
