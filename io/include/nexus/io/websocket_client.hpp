// A WebSocket client (ws:// and wss://) on a StreamSocket, driven by the
// calling thread:
// connect, send, and receive with a timeout. The host decides when to wait,
// which is what a C API, PHP and conformance clients need.
//
// Threading: one thread at a time per client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nexus/io/tls.hpp"

namespace nexus::io {

/// Why connecting failed.
enum class ConnectError : int {
    bad_url = 1,     // not ws:// or wss://host[:port][/path][?query]
    dns = 2,         // the host name does not resolve
    refused = 3,     // nothing listens there
    unreachable = 4, // no route
    timeout = 5,     // no answer within connect_timeout
    handshake = 6,   // the server answered, but not with a valid 101
    io = 7,          // the connection broke during the handshake
    tls = 8,         // wss://: the TLS handshake failed
    certificate = 9, // wss://: the server's certificate was refused (chain, validity, name)
    tls_config = 10, // wss://: unusable TLS options (unreadable CA or client certificate file)
};

class ClientError : public std::runtime_error {
public:
    ClientError(ConnectError kind, const std::string& message, int http_status = 0)
        : std::runtime_error(message), kind_(kind), http_status_(http_status) {}
    ConnectError kind() const noexcept { return kind_; }
    /// The server's status when kind() is handshake and it answered with one.
    int http_status() const noexcept { return http_status_; }

private:
    ConnectError kind_;
    int http_status_;
};

struct ClientOptions {
    std::chrono::milliseconds connect_timeout{10'000};
    std::vector<std::string> subprotocols;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> origin;
    bool permessage_deflate = false;
    std::uint64_t max_message_size = 16 * 1024 * 1024;
    bool auto_pong = true;
    /// For wss://: PHP's `ssl` context options (tls.hpp). By default the
    /// certificate is verified against the system's CAs and must name the
    /// host.
    TlsOptions tls;
    /// How long one send may wait for a peer that does not read.
    std::chrono::milliseconds send_timeout{30'000};
};

struct ClientMessage {
    enum class Kind : std::uint8_t { text, binary, ping, pong, close } kind = Kind::text;
    std::string data;             // payload (close: the reason)
    std::uint16_t close_code = 0; // close: 1005 without code, 1006 without close frame
};

/// A parsed ws:// or wss:// URL.
struct WsUrl {
    std::string host;
    std::uint16_t port = 80;  // 443 for wss:// unless given
    std::string target = "/"; // path and query
    bool secure = false;      // wss://
    /// Parses ws[s]://host[:port][/path][?query] (the scheme in any case)
    /// and [IPv6] hosts; nullopt when malformed.
    static std::optional<WsUrl> parse(std::string_view url);
};

class WebSocketClient {
public:
    /// Resolves, connects and completes the handshake within
    /// options.connect_timeout. Throws ClientError saying which step failed
    /// and where.
    WebSocketClient(std::string_view url, const ClientOptions& options = {});
    ~WebSocketClient();
    WebSocketClient(const WebSocketClient&) = delete;
    WebSocketClient& operator=(const WebSocketClient&) = delete;

    /// Queue and write a message. Throw std::invalid_argument for text that
    /// is not UTF-8 and std::logic_error after close; std::runtime_error when
    /// the connection broke.
    void send_text(std::string_view text);
    void send_binary(std::span<const std::uint8_t> data);
    void ping(std::string_view payload = {});
    /// Starts the close handshake; receive() then reports the server's
    /// close.
    void close(std::uint16_t code = 1000, std::string_view reason = {});

    /// The next message or control event, waiting at most `timeout`;
    /// nullopt on timeout. After a close event the connection is over.
    std::optional<ClientMessage> receive(std::chrono::milliseconds timeout);

    bool is_open() const noexcept;
    /// The socket's descriptor, to wait for readability in another loop
    /// (then call receive() with a zero timeout).
    int native_handle() const noexcept;
    const std::string& subprotocol() const noexcept;
    bool compressed() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace nexus::io
