// A small blocking WebSocket client for the server tests, built from the
// core's client handshake and connection over a Poco socket. Every wait has
// a bound (the socket's receive timeout); nothing sleeps.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "nexus/core/connection.hpp"
#include "nexus/core/handshake.hpp"

namespace nexus::testing {

struct ClientEvent {
    core::EventType type = core::EventType::binary;
    std::string payload;
    std::uint16_t close_code = 0;
};

class WsTestClient {
public:
    struct Options {
        std::string target = "/";
        std::vector<std::string> subprotocols;
        std::optional<std::string> origin;
        core::HeaderList headers;
        std::string extensions;
        bool auto_pong = true;
        std::uint64_t max_message_size = 64 * 1024 * 1024;
    };

    /// Connects and completes the handshake; throws std::runtime_error with
    /// the reason (including the HTTP status of a refusal).
    explicit WsTestClient(std::uint16_t port, Options options);
    explicit WsTestClient(std::uint16_t port) : WsTestClient(port, Options{}) {}

    void send_text(std::string_view text);
    void send_binary(std::string_view bytes);
    void send_raw(std::string_view bytes); // bytes straight onto the socket
    void close(std::uint16_t code = 1000, std::string_view reason = {});

    /// The next event, waiting at most `timeout`; nullopt on timeout.
    std::optional<ClientEvent> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Waits for the next text/binary message (skipping pings and pongs).
    std::optional<ClientEvent>
    next_message(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Waits until the server closes the TCP connection; true if it did.
    bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    std::string_view subprotocol() const { return subprotocol_; }
    const core::ClientHandshake& handshake() const { return *handshake_; }
    Poco::Net::StreamSocket& socket() { return socket_; }

private:
    void flush();
    bool read_some(std::chrono::milliseconds timeout);

    Poco::Net::StreamSocket socket_;
    std::unique_ptr<core::ClientHandshake> handshake_;
    std::unique_ptr<core::Connection> connection_;
    std::string subprotocol_;
    std::vector<ClientEvent> pending_;
    std::vector<std::uint8_t> buffer_;
    bool eof_ = false;
};

/// Sends `request` on a fresh connection and returns everything the server
/// answers until it closes (bounded by `timeout`).
std::string raw_http_exchange(std::uint16_t port, std::string_view request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace nexus::testing
