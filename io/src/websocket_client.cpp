#include "nexus/io/websocket_client.hpp"

#include <openssl/rand.h>

#include <charconv>
#include <deque>

#include "nexus/core/connection.hpp"
#include "nexus/core/handshake.hpp"
#include "nexus/core/http.hpp"
#include "nexus/core/utf8.hpp"
#include "nexus/io/socket_error.hpp"
#include "nexus/io/stream_socket.hpp"

namespace nexus::io {
namespace {

using Clock = std::chrono::steady_clock;

void random_bytes(std::span<std::uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
        throw std::runtime_error("no randomness available (RAND_bytes failed)");
    }
}

} // namespace

std::optional<WsUrl> WsUrl::parse(std::string_view url) {
    WsUrl out;
    const auto has_scheme = [url](std::string_view scheme) {
        return url.size() > scheme.size() &&
               core::ascii_iequals(url.substr(0, scheme.size()), scheme);
    };
    std::string_view rest;
    if (has_scheme("wss://")) {
        out.secure = true;
        out.port = 443;
        rest = url.substr(6);
    } else if (has_scheme("ws://")) {
        rest = url.substr(5);
    } else {
        return std::nullopt;
    }
    const auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (out.target[0] == '?') {
        out.target.insert(0, "/");
    }
    std::string_view port_text;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                return std::nullopt;
            }
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    if (out.host.empty() || authority.find('@') != std::string_view::npos) {
        return std::nullopt;
    }
    if (!port_text.empty() || (authority.size() > 0 && authority.back() == ':')) {
        unsigned port = 0;
        const auto [ptr, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
            port > 65535) {
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(port);
    }
    return out;
}

struct WebSocketClient::Impl {
    StreamSocket socket;
    std::chrono::milliseconds send_timeout{30'000};
    std::unique_ptr<core::Connection> connection;
    std::string subprotocol;
    std::deque<ClientMessage> pending;
    std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(64 * 1024);
    bool closed = false;

    /// Writes what the connection queued. Throws std::runtime_error when
    /// the connection broke or the peer did not read for send_timeout.
    void flush() {
        while (connection->wants_write()) {
            const auto out = connection->data_to_send();
            std::size_t n = 0;
            try {
                n = socket.send({reinterpret_cast<const char*>(out.data()), out.size()},
                                send_timeout);
            } catch (const SocketError& e) {
                throw std::runtime_error(std::string("connection lost while sending: ") + e.what());
            }
            // A short write leaves the tail queued: with TLS it must be
            // what is written next, and it is.
            connection->consume(n);
            if (n < out.size()) {
                throw std::runtime_error("timed out sending: the server does not read");
            }
        }
    }

    /// Up to a buffer of bytes by `deadline`: the count, 0 at the end of
    /// the stream, nullopt on timeout. Throws SocketError.
    std::optional<std::size_t> read(Clock::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        return socket.receive_into({reinterpret_cast<char*>(buffer.data()), buffer.size()},
                                   std::max(left, std::chrono::milliseconds(0)));
    }

    void drain_events() {
        core::Event e;
        while (connection->next_event(e)) {
            ClientMessage m;
            switch (e.type) {
            case core::EventType::text:
                m.kind = ClientMessage::Kind::text;
                break;
            case core::EventType::binary:
                m.kind = ClientMessage::Kind::binary;
                break;
            case core::EventType::ping:
                m.kind = ClientMessage::Kind::ping;
                break;
            case core::EventType::pong:
                m.kind = ClientMessage::Kind::pong;
                break;
            case core::EventType::close:
            case core::EventType::error:
                m.kind = ClientMessage::Kind::close;
                m.close_code = e.close_code;
                break;
            }
            m.data = e.type == core::EventType::error ? std::string(core::describe(e.error))
                                                      : std::string(e.text());
            pending.push_back(std::move(m));
        }
    }
};

namespace {

ConnectError connect_error_of(SocketErrorKind kind) noexcept {
    switch (kind) {
    case SocketErrorKind::dns:
        return ConnectError::dns;
    case SocketErrorKind::refused:
        return ConnectError::refused;
    case SocketErrorKind::unreachable:
        return ConnectError::unreachable;
    case SocketErrorKind::timeout:
        return ConnectError::timeout;
    case SocketErrorKind::tls_handshake:
        return ConnectError::tls;
    case SocketErrorKind::certificate:
        return ConnectError::certificate;
    case SocketErrorKind::tls_config:
        return ConnectError::tls_config;
    case SocketErrorKind::invalid_argument:
        return ConnectError::bad_url;
    default:
        return ConnectError::io;
    }
}

} // namespace

WebSocketClient::WebSocketClient(std::string_view url, const ClientOptions& options)
    : impl_(std::make_unique<Impl>()) {
    const auto parsed = WsUrl::parse(url);
    if (!parsed) {
        throw ClientError(ConnectError::bad_url, "not a ws:// or wss:// URL: " + std::string(url));
    }
    const std::string where = parsed->host + ":" + std::to_string(parsed->port);
    const auto deadline = Clock::now() + options.connect_timeout;
    impl_->send_timeout = options.send_timeout;
    if (parsed->secure) {
        impl_->socket = StreamSocket(options.tls);
    }
    try {
        impl_->socket.connect(parsed->host, parsed->port, options.connect_timeout);
    } catch (const SocketError& e) {
        // io's messages already say the step and where ("connection refused
        // by 127.0.0.1:9", "certificate ... does not match ...").
        throw ClientError(connect_error_of(e.kind()), e.what());
    }

    core::ClientConfig config;
    const bool ipv6 = parsed->host.find(':') != std::string::npos;
    config.host =
        (ipv6 ? "[" + parsed->host + "]" : parsed->host) +
        (parsed->port == (parsed->secure ? 443 : 80) ? "" : ":" + std::to_string(parsed->port));
    config.target = parsed->target;
    config.subprotocols = options.subprotocols;
    config.origin = options.origin;
    config.headers = options.headers;
    core::DeflateConfig deflate_offer_config;
    if (options.permessage_deflate) {
        config.extensions = core::deflate_offer(deflate_offer_config);
    }
    random_bytes(config.nonce);
    core::ClientHandshake handshake(config);
    if (handshake.request().empty()) {
        throw ClientError(ConnectError::bad_url,
                          "invalid handshake options: " +
                              std::string(core::describe(handshake.error())));
    }
    std::size_t consumed = 0;
    std::size_t leftover_at = 0;
    std::size_t received = 0;
    try {
        const auto& request = handshake.request();
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (impl_->socket.send({reinterpret_cast<const char*>(request.data()), request.size()},
                               std::max(left, std::chrono::milliseconds(0))) < request.size()) {
            throw SocketError(SocketErrorKind::timeout, "");
        }
        for (;;) {
            const auto n = impl_->read(deadline);
            if (!n) {
                throw SocketError(SocketErrorKind::timeout, "");
            }
            if (*n == 0) {
                throw ClientError(ConnectError::io,
                                  "connection closed by " + where + " during the handshake");
            }
            received = *n;
            const auto status = handshake.receive_data({impl_->buffer.data(), received}, consumed);
            if (status == core::ParseStatus::failed) {
                const int http_status = handshake.status_code();
                std::string message = "handshake with " + where +
                                      " failed: " + std::string(core::describe(handshake.error()));
                if (http_status != 0 && http_status != 101) {
                    message += " (HTTP " + std::to_string(http_status) + " " +
                               std::string(handshake.reason()) + ")";
                }
                throw ClientError(ConnectError::handshake, message, http_status);
            }
            if (status == core::ParseStatus::complete) {
                leftover_at = consumed;
                break;
            }
        }
    } catch (const SocketError& e) {
        if (e.kind() == SocketErrorKind::timeout) {
            throw ClientError(ConnectError::timeout,
                              "timed out waiting for the handshake from " + where);
        }
        throw ClientError(ConnectError::io, "handshake with " + where + ": " + e.what());
    }
    impl_->subprotocol = std::string(handshake.subprotocol());

    core::ConnectionConfig cc;
    cc.role = core::Role::client;
    cc.entropy = random_bytes;
    cc.auto_pong = options.auto_pong;
    cc.max_message_size = options.max_message_size;
    cc.max_frame_size = options.max_message_size;
    for (const auto& ext : handshake.extensions()) {
        core::DeflateParams params;
        if (core::ascii_iequals(ext.name, "permessage-deflate") && options.permessage_deflate &&
            core::accept_deflate_response(ext, deflate_offer_config, params) == core::Error::ok) {
            cc.deflate = params;
        } else {
            throw ClientError(ConnectError::handshake,
                              "server " + where + " chose an extension we cannot use: " + ext.name);
        }
    }
    impl_->connection = std::make_unique<core::Connection>(std::move(cc));
    if (received > leftover_at) {
        impl_->connection->receive_data(
            {impl_->buffer.data() + leftover_at, received - leftover_at});
        impl_->drain_events();
        impl_->flush();
    }
}

WebSocketClient::~WebSocketClient() = default; // the socket closes itself

void WebSocketClient::send_text(std::string_view text) {
    const core::Error e = impl_->connection->send_text(text);
    if (e == core::Error::local_invalid_utf8) {
        throw std::invalid_argument("text is not valid UTF-8");
    }
    if (e != core::Error::ok) {
        throw std::logic_error("the connection is closing");
    }
    impl_->flush();
}

void WebSocketClient::send_binary(std::span<const std::uint8_t> data) {
    if (impl_->connection->send_binary(data) != core::Error::ok) {
        throw std::logic_error("the connection is closing");
    }
    impl_->flush();
}

void WebSocketClient::ping(std::string_view payload) {
    const core::Error e = impl_->connection->send_ping(
        {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
    if (e == core::Error::local_control_too_long) {
        throw std::invalid_argument("ping payload longer than 125 bytes");
    }
    if (e != core::Error::ok) {
        throw std::logic_error("the connection is closing");
    }
    impl_->flush();
}

void WebSocketClient::close(std::uint16_t code, std::string_view reason) {
    const core::Error e = impl_->connection->close(code, reason);
    if (e == core::Error::invalid_state) {
        return; // already closing
    }
    if (e != core::Error::ok) {
        throw std::invalid_argument(std::string(core::describe(e)));
    }
    impl_->flush();
}

std::optional<ClientMessage> WebSocketClient::receive(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    // A zero timeout still reads what has arrived (a host that polled the
    // descriptor calls it so); a read that finds nothing ends the wait.
    while (impl_->pending.empty() && !impl_->closed) {
        std::optional<std::size_t> n;
        try {
            n = impl_->read(deadline);
        } catch (const SocketError&) {
            n = 0; // a reset ends the connection like a close without a frame (1006)
        }
        if (!n) {
            return std::nullopt;
        }
        if (*n == 0) {
            impl_->closed = true;
            impl_->connection->receive_eof();
        } else {
            impl_->connection->receive_data({impl_->buffer.data(), *n});
        }
        impl_->drain_events();
        try {
            impl_->flush();
        } catch (const std::exception&) {
            impl_->closed = true;
        }
    }
    if (impl_->pending.empty()) {
        return std::nullopt;
    }
    ClientMessage m = std::move(impl_->pending.front());
    impl_->pending.pop_front();
    return m;
}

bool WebSocketClient::is_open() const noexcept {
    return !impl_->closed && impl_->connection->state() == core::State::open;
}

int WebSocketClient::native_handle() const noexcept {
    return impl_->socket.native_handle();
}

const std::string& WebSocketClient::subprotocol() const noexcept {
    return impl_->subprotocol;
}

bool WebSocketClient::compressed() const noexcept {
    return impl_->connection->config().deflate.has_value();
}

} // namespace nexus::io
