// Error values of the protocol core.
//
// Every failure the core can report is one `Error`. Remote violations (the
// peer broke RFC 6455 / RFC 7692 / HTTP) carry the close code or HTTP status
// to answer with; local misuse (the caller asked for something the protocol
// forbids) is kept apart so the caller can tell "my bug" from "their bug".
//
// The numbers are part of the contract: never renumber, never reuse; retire a
// value by leaving it in place with a `retired_` name.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace nexus::core {

enum class Error : int {
    ok = 0,

    // --- Remote framing violations (RFC 6455 §5), fail the connection ---
    reserved_bits_set = 1,         // RSV1-3 set without a negotiated extension (§5.2) -> 1002
    unknown_opcode = 2,            // opcodes 0x3-0x7, 0xB-0xF (§5.2) -> 1002
    fragmented_control_frame = 3,  // control frame with FIN clear (§5.5) -> 1002
    control_frame_too_long = 4,    // control payload > 125 bytes (§5.5) -> 1002
    non_minimal_length = 5,        // length not in its shortest encoding (§5.2) -> 1002
    length_msb_set = 6,            // 64-bit length with the top bit set (§5.2) -> 1002
    unmasked_client_frame = 7,     // server received an unmasked frame (§5.1) -> 1002
    masked_server_frame = 8,       // client received a masked frame (§5.1) -> 1002
    unexpected_continuation = 9,   // continuation with no message in progress (§5.4) -> 1002
    expected_continuation = 10,    // new data frame while a message is in progress (§5.4) -> 1002
    bad_close_payload = 11,        // close payload of exactly one byte (§5.5.1) -> 1002
    bad_close_code = 12,           // close code that may not be sent on the wire (§7.4) -> 1002
    invalid_utf8 = 13,             // text message is not UTF-8 (§8.1) -> 1007
    invalid_close_reason = 14,     // close reason is not UTF-8 (§5.5.1) -> 1007
    frame_too_big = 15,            // declared frame length over the limit -> 1009
    message_too_big = 16,          // message (declared or inflated) over the limit -> 1009
    bad_compressed_data = 17,      // permessage-deflate stream is corrupt (RFC 7692 §6.2) -> 1007
    compressed_control_frame = 18, // RSV1 on a control frame (RFC 7692 §6) -> 1002
    compressed_continuation = 19,  // RSV1 on a continuation frame (RFC 7692 §6.1) -> 1002

    // --- Remote handshake violations (RFC 6455 §4, RFC 7230), answer with HTTP status ---
    http_malformed = 40,             // unparsable request/response head -> 400
    http_request_line_too_long = 41, // -> 414 (server) / failure (client)
    http_headers_too_large = 42,     // header bytes or count over the limit -> 431
    http_bad_method = 43,            // not GET -> 405
    http_bad_version = 44,           // not HTTP/1.1 or later -> 505 (server) / failure (client)
    missing_host = 45,               // -> 400
    not_websocket_upgrade = 46, // no "Upgrade: websocket" -> 426 (or plain HTTP, caller's choice)
    missing_connection_upgrade = 47, // Connection lacks "upgrade" -> 400
    bad_websocket_key = 48,          // Sec-WebSocket-Key absent or not 16 bytes of base64 -> 400
    unsupported_websocket_version =
        49,                     // Sec-WebSocket-Version not 13 -> 426 + "Sec-WebSocket-Version: 13"
    bad_extension_header = 50,  // unparsable Sec-WebSocket-Extensions -> 400
    bad_status = 51,            // client: response status is not 101
    bad_accept_key = 52,        // client: Sec-WebSocket-Accept does not match
    unoffered_subprotocol = 53, // client: server chose a subprotocol we did not offer
    unoffered_extension = 54,   // client: server chose an extension or parameter we did not offer
    bad_extension_params = 55,  // permessage-deflate parameters invalid (RFC 7692 §7) -> 400
    duplicate_header = 56,      // a header that must appear once appears twice -> 400

    // --- Local misuse (the caller's error; nothing goes on the wire) ---
    invalid_state = 80,                // operation not allowed in the current state
    local_control_too_long = 81,       // ping/pong/close payload over 125 bytes
    local_invalid_close_code = 82,     // close code the RFC forbids sending
    local_invalid_utf8 = 83,           // text or close reason is not UTF-8
    local_message_in_progress = 84,    // new message started before the fragmented one finished
    local_no_message_in_progress = 85, // continuation sent with no message started
    local_bad_argument = 86,           // an argument out of its documented range
    local_subprotocol_not_offered =
        87, // server accepted with a subprotocol the client did not offer

    // --- Transport ---
    abnormal_closure = 100, // the transport ended without a close frame (reported as 1006)
};

/// The error category of `Error`, for `std::error_code` interop.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// Static English text for `e` (never null, never allocates).
std::string_view describe(Error e) noexcept;

/// True for errors caused by the caller rather than the peer.
constexpr bool is_local(Error e) noexcept {
    const int v = static_cast<int>(e);
    return v >= 80 && v < 100;
}

/// True for errors raised while parsing or validating an HTTP handshake.
constexpr bool is_handshake(Error e) noexcept {
    const int v = static_cast<int>(e);
    return v >= 40 && v < 80;
}

/// Close code (RFC 6455 §7.4.1) to fail the connection with for a remote
/// framing violation; 1006 for `abnormal_closure`; 0 for errors that are not
/// remote framing violations.
std::uint16_t close_code_for(Error e) noexcept;

/// HTTP status a server answers a failed handshake with; 0 where not a
/// handshake error.
int http_status_for(Error e) noexcept;

} // namespace nexus::core

template <>
struct std::is_error_code_enum<nexus::core::Error> : std::true_type {};
