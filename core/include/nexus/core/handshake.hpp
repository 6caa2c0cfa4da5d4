// The WebSocket opening handshake (RFC 6455 §4), both roles, sans I/O.
//
// Server: feed the request bytes to `ServerHandshake::receive_data` until it
// is complete or failed; then answer with `accept()` (101) or with
// `reject()` / `error_response()`. Client: send `ClientHandshake::request()`,
// feed the response bytes to `receive_data`. Either way the bytes after the
// head are never consumed: hand them to the `Connection`.
//
// Errors are values (`Error`); only std::bad_alloc is thrown. Nothing here
// reads a clock or produces randomness: the client nonce is injected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nexus/core/error.hpp"
#include "nexus/core/extension.hpp"
#include "nexus/core/http.hpp"

namespace nexus::core {

/// The GUID appended to the key before hashing (RFC 6455 §1.3, §4.2.2).
inline constexpr std::string_view k_websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// base64(SHA-1(key + k_websocket_guid)) (RFC 6455 §4.2.2 item 5.4). `key` is
/// used as given (not trimmed, not validated). Throws only std::bad_alloc.
std::string websocket_accept_key(std::string_view key);

/// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::span<const std::uint8_t> data);

/// The reason phrase sent with `status` ("Not Found"); "Unknown" for codes
/// without one in our table. Static storage.
std::string_view http_reason_phrase(int status) noexcept;

/// Builds a complete HTTP/1.1 response to end a connection with: status line,
/// `Connection: close`, `Content-Type: text/plain; charset=utf-8` (unless
/// `headers` holds a Content-Type), `Content-Length`, the `headers`, then
/// `body`. Status 405 adds `Allow: GET`; status 426 adds `Upgrade: websocket`,
/// `Sec-WebSocket-Version: 13` (RFC 6455 §4.4) and `Connection: Upgrade, close`.
/// Returns Error::ok and sets `out`, or Error::local_bad_argument (out
/// untouched) when `status` is outside 200..599 or a header has a non-token
/// name, a value with CR/LF/NUL/controls, or is one we set ourselves
/// (Connection, Content-Length, Transfer-Encoding).
Error build_http_response(int status, std::string_view body, const HeaderList& headers,
                          std::string& out);

/// The response for a failed handshake: status `http_status_for(error)` (500
/// when it has none), body `describe(error)`, and for
/// unsupported_websocket_version / not_websocket_upgrade the 426 headers
/// above. Throws only std::bad_alloc.
std::string handshake_error_response(Error error);

/// What the server answers a valid request with.
struct AcceptOptions {
    /// Sec-WebSocket-Protocol to select; empty: none. Must be one the client
    /// offered (RFC 6455 §4.2.2 item 5.5).
    std::string_view subprotocol;
    /// Sec-WebSocket-Extensions value (e.g. from negotiate_deflate); empty:
    /// none. Must be a valid extension list.
    std::string_view extensions;
    /// Added to the response (e.g. Set-Cookie). Must not be Upgrade,
    /// Connection or a Sec-WebSocket-* field.
    HeaderList headers;
};

/// Server side of the opening handshake (RFC 6455 §4.2).
///
/// Lifecycle: need_more → complete (valid WebSocket request) or failed.
/// All string views returned are valid while the object lives (moving it
/// keeps them valid); they are meaningful once `head_complete()`.
class ServerHandshake {
public:
    explicit ServerHandshake(const HttpLimits& limits = {});

    /// Consumes request bytes from the front of `data`; `consumed` says how
    /// many. The bytes after the head are never consumed: on complete and on
    /// a validation failure `consumed` ends exactly at the end of the head;
    /// on a parse failure it is unspecified. Returns
    /// - need_more: everything was consumed, the head is not finished;
    /// - complete: the request is a valid WebSocket upgrade (§4.2.1);
    /// - failed: `error()` says why. Parse errors: http_malformed,
    ///   http_bad_version, http_request_line_too_long, http_headers_too_large.
    ///   Validation errors, checked in this order once the head is complete
    ///   (`head_complete()` is then true and the request accessors work, so
    ///   the caller may serve a plain HTTP GET on not_websocket_upgrade):
    ///   http_bad_method (not GET), http_bad_version (below HTTP/1.1),
    ///   missing_host / duplicate_header (Host not exactly once, or empty),
    ///   http_malformed (target not starting with '/'),
    ///   not_websocket_upgrade (Upgrade lacks the token "websocket"),
    ///   missing_connection_upgrade (no Connection has "upgrade"),
    ///   unsupported_websocket_version (not exactly one Sec-WebSocket-Version
    ///   equal to "13"), bad_websocket_key (not exactly one key, or not
    ///   base64 of 16 bytes), duplicate_header (Origin twice), http_malformed
    ///   (a Sec-WebSocket-Protocol element that is not a token),
    ///   bad_extension_header (Sec-WebSocket-Extensions does not parse).
    /// After complete or failed, consumes nothing and returns the same.
    /// Throws only std::bad_alloc.
    ParseStatus receive_data(std::span<const std::uint8_t> data, std::size_t& consumed);

    ParseStatus status() const noexcept { return status_; }
    Error error() const noexcept { return error_; }
    /// True once the whole head was parsed (even when validation failed).
    bool head_complete() const noexcept { return parser_.status() == ParseStatus::complete; }
    /// Bytes of the request head consumed over all calls.
    std::size_t head_size() const noexcept { return parser_.head_size(); }

    std::string_view method() const noexcept { return parser_.method(); }
    std::string_view target() const noexcept { return parser_.target(); }
    /// The target before the first '?'.
    std::string_view path() const noexcept;
    /// The target after the first '?' (without it); empty when none.
    std::string_view query() const noexcept;
    /// The Host value (first, if several); empty when absent.
    std::string_view host() const noexcept;
    std::optional<std::string_view> origin() const noexcept { return parser_.header("Origin"); }
    /// Sec-WebSocket-Key as received (first, if several); empty when absent.
    std::string_view key() const noexcept;
    /// Subprotocols the client offered, in order (valid once complete).
    const std::vector<std::string_view>& subprotocols() const noexcept { return subprotocols_; }
    /// Extensions the client offered, in order (valid once complete).
    const std::vector<Extension>& extensions() const noexcept { return extensions_; }
    const std::vector<HttpHeader>& headers() const noexcept { return parser_.headers(); }
    /// The underlying parser, for header lookups.
    const HttpHeadParser& http() const noexcept { return parser_; }

    /// Builds the 101 response (§4.2.2) into `out`: Upgrade, Connection,
    /// Sec-WebSocket-Accept, then Sec-WebSocket-Protocol / -Extensions when
    /// given, then `options.headers`. Returns Error::ok, or (out untouched):
    /// invalid_state unless status() is complete; local_subprotocol_not_offered
    /// when the subprotocol is not one of subprotocols(); local_bad_argument
    /// for an unparsable `extensions` value or a bad or reserved extra header.
    Error accept(const AcceptOptions& options, std::string& out) const;

    /// A rejection: `build_http_response(status, body, headers, out)`.
    static Error reject(int status, std::string_view body, const HeaderList& headers,
                        std::string& out) {
        return build_http_response(status, body, headers, out);
    }
    /// The response for `error()` (`handshake_error_response`).
    std::string error_response() const { return handshake_error_response(error_); }

private:
    void fail(Error e) noexcept;
    Error validate();

    HttpHeadParser parser_;
    ParseStatus status_ = ParseStatus::need_more;
    Error error_ = Error::ok;
    std::vector<std::string_view> subprotocols_;
    std::vector<Extension> extensions_;
};

/// What the client asks for.
struct ClientConfig {
    /// Host header value ("example.com", "example.com:8080", "[::1]:9000").
    std::string host;
    /// request-target in origin-form: starts with '/', may hold "?query".
    std::string target = "/";
    /// Offered subprotocols, in preference order: unique tokens.
    std::vector<std::string> subprotocols;
    /// Sec-WebSocket-Extensions offer (e.g. deflate_offer()); empty: none.
    std::string extensions;
    /// Origin header, if any.
    std::optional<std::string> origin;
    /// Added to the request. Must not be a field the handshake sets itself.
    HeaderList headers;
    /// The 16 random bytes of Sec-WebSocket-Key (§4.1), from the caller.
    std::array<std::uint8_t, 16> nonce{};
};

/// Client side of the opening handshake (RFC 6455 §4.1, §4.2.2).
///
/// Lifecycle: need_more (request built, waiting for the response) → complete
/// (the server accepted) or failed. Views are valid while the object lives
/// (moving it keeps them valid), meaningful once `head_complete()`.
class ClientHandshake {
public:
    /// Validates `config` and builds the request. An invalid config (empty
    /// host or a host with whitespace/controls, a target not starting with
    /// '/' or holding non-VCHAR, a subprotocol that is not a token or repeats,
    /// an unparsable extension offer, a bad origin, an extra header with a
    /// non-token name, a CR/LF/NUL in its value, or one we set) leaves the
    /// object failed with Error::local_bad_argument and request() empty.
    explicit ClientHandshake(ClientConfig config, const HttpLimits& limits = {});

    /// The GET request to send (empty when the config was rejected). Valid
    /// while the object lives.
    const std::string& request() const noexcept { return request_; }
    /// The Sec-WebSocket-Key sent (base64 of the nonce).
    std::string_view key() const noexcept { return key_; }

    /// Consumes response bytes from the front of `data` (see ServerHandshake
    /// for `consumed`). Returns complete when the server accepted, failed
    /// with `error()`: the parse errors of HttpHeadParser, then in order
    /// bad_status (status() != 101; status_code() has it), http_bad_version
    /// (below HTTP/1.1), not_websocket_upgrade, missing_connection_upgrade,
    /// bad_accept_key (absent or wrong), duplicate_header (two Accept
    /// fields), unoffered_subprotocol (not exactly one offered value),
    /// bad_extension_header (unparsable), unoffered_extension (a name we did
    /// not offer, or a name twice). After complete/failed nothing is consumed.
    ParseStatus receive_data(std::span<const std::uint8_t> data, std::size_t& consumed);

    ParseStatus status() const noexcept { return status_; }
    Error error() const noexcept { return error_; }
    bool head_complete() const noexcept { return parser_.status() == ParseStatus::complete; }
    std::size_t head_size() const noexcept { return parser_.head_size(); }

    /// The response's status code (0 before the status line was parsed).
    int status_code() const noexcept { return parser_.status_code(); }
    std::string_view reason() const noexcept { return parser_.reason(); }
    /// The subprotocol the server chose; empty when none.
    std::string_view subprotocol() const noexcept { return subprotocol_; }
    /// The extensions the server accepted, in order (their parameters are
    /// not checked here: negotiation code does that).
    const std::vector<Extension>& extensions() const noexcept { return extensions_; }
    const std::vector<HttpHeader>& headers() const noexcept { return parser_.headers(); }
    const HttpHeadParser& http() const noexcept { return parser_; }

private:
    void fail(Error e) noexcept;
    Error validate();

    ClientConfig config_;
    HttpHeadParser parser_;
    ParseStatus status_ = ParseStatus::need_more;
    Error error_ = Error::ok;
    std::string request_;
    std::string key_;
    std::string expected_accept_;
    std::vector<std::string> offered_extensions_; // names only
    std::string_view subprotocol_;
    std::vector<Extension> extensions_;
};

} // namespace nexus::core
