// nx_socket and nx_socket_server: io's StreamSocket, DatagramSocket and
// SocketServer behind the C API. Every call runs on the caller's thread and
// returns within its timeout; SocketError kinds become the pinned statuses.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "nexus/io/datagram_socket.hpp"
#include "nexus/io/socket_error.hpp"
#include "nexus/io/socket_server.hpp"
#include "nexus/io/stream_socket.hpp"
#include "nexus/io/tls.hpp"
#include "nexus/socket.h"
#include "status.hpp"

using nexus::capi::fail;
using nexus::capi::fail_thread;
using nexus::capi::guard;
using nexus::capi::set_tls_option;
using nexus::capi::socket_call;
using std::chrono::milliseconds;

struct nx_socket {
    int type = NX_SOCKET_TCP;
    nexus::io::TlsOptions tls;
    nexus::io::StreamOptions stream_options;
    bool broadcast = false;
    std::unique_ptr<nexus::io::StreamSocket> stream;     // TCP, TLS
    std::unique_ptr<nexus::io::DatagramSocket> datagram; // UDP
    mutable std::string last_error;
    std::string data; // what the last receive handed out
    std::string sender;
    std::string address;
};

struct nx_socket_server {
    int type = NX_SOCKET_TCP;
    nexus::io::ServerOptions options;
    nexus::io::TlsOptions tls;
    std::unique_ptr<nexus::io::SocketServer> listener;
    mutable std::string last_error;
    std::string peer;
};

namespace {

std::optional<milliseconds> timeout_of(int timeout_ms) {
    if (timeout_ms < 0) {
        return std::nullopt;
    }
    return milliseconds(timeout_ms);
}

bool valid_port(int port) {
    return port >= 0 && port <= 65535;
}

bool parse_bool(std::string_view text, bool& out) {
    for (std::string_view yes : {"1", "true", "yes", "on"}) {
        if (text == yes) {
            out = true;
            return true;
        }
    }
    for (std::string_view no : {"0", "false", "no", "off", ""}) {
        if (text == no) {
            out = false;
            return true;
        }
    }
    return false;
}

/// Seconds (fractions allowed) as milliseconds, 0..one day.
bool parse_seconds(const char* text, milliseconds& out) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(seconds >= 0) || seconds > 86400) {
        return false;
    }
    out = milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
    return true;
}

bool parse_int(std::string_view text, int& out) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size() && out >= 0;
}

/// The options both sockets and servers take; false when `name` is not one.
/// Throws std::invalid_argument for a bad value.
bool set_stream_option(nexus::io::StreamOptions& o, std::string_view name, const char* value) {
    const auto bad = [&] {
        throw std::invalid_argument(fmt::format("option {}: bad value '{}'", name, value));
    };
    if (name == "timeout") {
        milliseconds ms{};
        if (!parse_seconds(value, ms)) {
            bad();
        }
        o.connect_timeout = o.read_timeout = o.write_timeout = ms;
    } else if (name == "tcp_nodelay" || name == "keepalive") {
        bool on = false;
        if (!parse_bool(value, on)) {
            bad();
        }
        (name == "tcp_nodelay" ? o.no_delay : o.keep_alive) = on;
    } else if (name == "rcvbuf" || name == "sndbuf") {
        int bytes = 0;
        if (!parse_int(value, bytes)) {
            bad();
        }
        (name == "rcvbuf" ? o.receive_buffer : o.send_buffer) = bytes;
    } else {
        return false;
    }
    return true;
}

int hand_out(std::string& kept, std::string value, const char** data, std::size_t* size) {
    kept = std::move(value);
    *data = kept.c_str();
    *size = kept.size();
    return NX_OK;
}

#define NX_REQUIRE(handle, what)                                                                   \
    do {                                                                                           \
        if ((handle) == nullptr) {                                                                 \
            return fail_thread(NX_EINVAL, what " is NULL");                                        \
        }                                                                                          \
    } while (false)

bool is_stream_type(const nx_socket* s) {
    return s->type == NX_SOCKET_TCP || s->type == NX_SOCKET_TLS;
}

int need_stream(nx_socket* s) {
    if (!is_stream_type(s)) {
        return fail(s->last_error, NX_EINVAL, "not for a UDP socket");
    }
    if (!s->stream || !s->stream->is_connected()) {
        if (s->stream) {
            return NX_OK; // connected once: io says what an ended stream gives
        }
        return fail(s->last_error, NX_ESTATE, "the socket is not connected");
    }
    return NX_OK;
}

int need_datagram(nx_socket* s) {
    if (s->type != NX_SOCKET_UDP) {
        return fail(s->last_error, NX_EINVAL, "only for a UDP socket");
    }
    if (!s->datagram) {
        s->datagram = std::make_unique<nexus::io::DatagramSocket>();
        s->datagram->set_read_timeout(s->stream_options.read_timeout);
        s->datagram->set_write_timeout(s->stream_options.write_timeout);
    }
    return NX_OK;
}

/// The options a UDP socket takes once it has a descriptor (after bind or
/// connect, and on every later set_option).
void apply_datagram_options(nx_socket* s) {
    if (!s->datagram || !s->datagram->is_open()) {
        return;
    }
    s->datagram->set_read_timeout(s->stream_options.read_timeout);
    s->datagram->set_write_timeout(s->stream_options.write_timeout);
    s->datagram->set_broadcast(s->broadcast);
    if (s->stream_options.receive_buffer > 0) {
        s->datagram->set_receive_buffer_size(s->stream_options.receive_buffer);
    }
    if (s->stream_options.send_buffer > 0) {
        s->datagram->set_send_buffer_size(s->stream_options.send_buffer);
    }
}

/// "ip:port" of the connected peer of a descriptor ("[ip6]:port"); "" when none.
std::string peer_of(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        return {};
    }
    char host[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return fmt::format("{}:{}", host, ntohs(in->sin_port));
    }
    if (address.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
    }
    return {};
}

} // namespace

extern "C" {

int nx_socket_new(nx_socket** out, int type) noexcept {
    if (out == nullptr) {
        return fail_thread(NX_EINVAL, "out is NULL");
    }
    *out = nullptr;
    if (type != NX_SOCKET_TCP && type != NX_SOCKET_UDP && type != NX_SOCKET_TLS) {
        return fail_thread(NX_EINVAL, fmt::format("socket type {} is not TCP, UDP or TLS", type));
    }
    std::string error;
    const int status = guard(error, [&]() -> int {
        auto s = std::make_unique<nx_socket>();
        s->type = type;
        *out = s.release();
        return NX_OK;
    });
    if (status != NX_OK) {
        fail_thread(status, error);
    }
    return status;
}

void nx_socket_free(nx_socket* socket) noexcept {
    delete socket; // the io sockets close themselves
}

const char* nx_socket_last_error(const nx_socket* socket) noexcept {
    return socket == nullptr ? "socket is NULL" : socket->last_error.c_str();
}

int nx_socket_set_option(nx_socket* socket, const char* name, const char* value) noexcept {
    NX_REQUIRE(socket, "socket");
    if (name == nullptr || value == nullptr) {
        return fail(socket->last_error, NX_EINVAL, "name or value is NULL");
    }
    return socket_call(socket->last_error, [&]() -> int {
        const std::string_view key(name);
        if (key == "broadcast") {
            if (!parse_bool(value, socket->broadcast)) {
                return fail(socket->last_error, NX_EINVAL,
                            fmt::format("option broadcast: bad value '{}'", value));
            }
            apply_datagram_options(socket);
            return NX_OK;
        }
        if (set_stream_option(socket->stream_options, key, value)) {
            if (socket->stream) {
                socket->stream->set_options(socket->stream_options);
            }
            apply_datagram_options(socket);
            return NX_OK;
        }
        if (socket->tls.set(key, value)) {
            return NX_OK;
        }
        return fail(socket->last_error, NX_EINVAL, fmt::format("unknown socket option '{}'", key));
    });
}

int nx_socket_connect(nx_socket* socket, const char* host, int port, int timeout_ms) noexcept {
    NX_REQUIRE(socket, "socket");
    if (host == nullptr || !valid_port(port)) {
        return fail(socket->last_error, NX_EINVAL, "host is NULL or port is not in 0..65535");
    }
    return socket_call(socket->last_error, [&]() -> int {
        if (socket->type == NX_SOCKET_UDP) {
            need_datagram(socket);
            socket->datagram->connect(host, static_cast<std::uint16_t>(port));
            apply_datagram_options(socket);
            return NX_OK;
        }
        if (socket->stream && socket->stream->is_connected()) {
            return fail(socket->last_error, NX_ESTATE, "the socket is already connected");
        }
        socket->stream = socket->type == NX_SOCKET_TLS
                             ? std::make_unique<nexus::io::StreamSocket>(socket->tls)
                             : std::make_unique<nexus::io::StreamSocket>();
        socket->stream->set_options(socket->stream_options);
        socket->stream->connect(host, static_cast<std::uint16_t>(port), timeout_of(timeout_ms));
        return NX_OK;
    });
}

int nx_socket_is_connected(const nx_socket* socket) noexcept {
    if (socket == nullptr) {
        return 0;
    }
    if (socket->type == NX_SOCKET_UDP) {
        return socket->datagram && socket->datagram->is_open() ? 1 : 0;
    }
    return socket->stream && socket->stream->is_connected() ? 1 : 0;
}

int nx_socket_send(nx_socket* socket, const char* data, std::size_t size, int timeout_ms) noexcept {
    NX_REQUIRE(socket, "socket");
    if (data == nullptr && size != 0) {
        return fail(socket->last_error, NX_EINVAL, "data is NULL but size is not 0");
    }
    const std::string_view bytes(data == nullptr ? "" : data, std::min<std::size_t>(size, INT_MAX));
    return socket_call(socket->last_error, [&]() -> int {
        if (socket->type == NX_SOCKET_UDP) {
            if (!socket->datagram) {
                return fail(socket->last_error, NX_ESTATE, "the UDP socket has no peer: connect");
            }
            return static_cast<int>(socket->datagram->send(bytes, timeout_of(timeout_ms)));
        }
        if (!socket->stream) {
            return fail(socket->last_error, NX_ESTATE, "the socket is not connected");
        }
        return static_cast<int>(socket->stream->send(bytes, timeout_of(timeout_ms)));
    });
}

int nx_socket_receive(nx_socket* socket, std::size_t max, int timeout_ms, const char** data,
                      std::size_t* size) noexcept {
    NX_REQUIRE(socket, "socket");
    if (data == nullptr || size == nullptr || max == 0) {
        return fail(socket->last_error, NX_EINVAL, "data or size is NULL, or max is 0");
    }
    return socket_call(socket->last_error, [&]() -> int {
        std::optional<std::string> got;
        if (socket->type == NX_SOCKET_UDP) {
            if (!socket->datagram) {
                return fail(socket->last_error, NX_ESTATE,
                            "the UDP socket is neither bound nor connected");
            }
            got = socket->datagram->receive(max, timeout_of(timeout_ms));
        } else {
            if (!socket->stream) {
                return fail(socket->last_error, NX_ESTATE, "the socket is not connected");
            }
            got = socket->stream->receive(max, timeout_of(timeout_ms));
        }
        if (!got) {
            return fail(socket->last_error, NX_ETIMEDOUT,
                        fmt::format("receive from {}: nothing arrived within the timeout",
                                    nx_socket_peer_address(socket)));
        }
        return hand_out(socket->data, std::move(*got), data, size);
    });
}

int nx_socket_read_line(nx_socket* socket, std::size_t max_line, int timeout_ms, const char** data,
                        std::size_t* size) noexcept {
    NX_REQUIRE(socket, "socket");
    if (data == nullptr || size == nullptr || max_line == 0) {
        return fail(socket->last_error, NX_EINVAL, "data or size is NULL, or max_line is 0");
    }
    if (const int rc = need_stream(socket); rc != NX_OK) {
        return rc;
    }
    return socket_call(socket->last_error, [&]() -> int {
        auto line = socket->stream->read_line(max_line, timeout_of(timeout_ms));
        if (!line) {
            return fail(socket->last_error, NX_ECLOSED, "end of stream");
        }
        return hand_out(socket->data, std::move(*line), data, size);
    });
}

int nx_socket_read_all(nx_socket* socket, std::size_t max, int timeout_ms, const char** data,
                       std::size_t* size) noexcept {
    NX_REQUIRE(socket, "socket");
    if (data == nullptr || size == nullptr) {
        return fail(socket->last_error, NX_EINVAL, "data or size is NULL");
    }
    if (const int rc = need_stream(socket); rc != NX_OK) {
        return rc;
    }
    return socket_call(socket->last_error, [&]() -> int {
        return hand_out(socket->data, socket->stream->read_all(max, timeout_of(timeout_ms)), data,
                        size);
    });
}

int nx_socket_start_tls(nx_socket* socket, int server_side, int timeout_ms) noexcept {
    NX_REQUIRE(socket, "socket");
    if (const int rc = need_stream(socket); rc != NX_OK) {
        return rc;
    }
    return socket_call(socket->last_error, [&]() -> int {
        socket->stream->start_tls(
            socket->tls, server_side != 0 ? nexus::io::TlsRole::server : nexus::io::TlsRole::client,
            timeout_of(timeout_ms));
        return NX_OK;
    });
}

int nx_socket_bind(nx_socket* socket, const char* host, int port) noexcept {
    NX_REQUIRE(socket, "socket");
    if (host == nullptr || !valid_port(port)) {
        return fail(socket->last_error, NX_EINVAL, "host is NULL or port is not in 0..65535");
    }
    return socket_call(socket->last_error, [&]() -> int {
        if (const int rc = need_datagram(socket); rc != NX_OK) {
            return rc;
        }
        socket->datagram->bind(host, static_cast<std::uint16_t>(port));
        apply_datagram_options(socket);
        return NX_OK;
    });
}

int nx_socket_send_to(nx_socket* socket, const char* host, int port, const char* data,
                      std::size_t size, int timeout_ms) noexcept {
    NX_REQUIRE(socket, "socket");
    if (host == nullptr || !valid_port(port) || (data == nullptr && size != 0)) {
        return fail(socket->last_error, NX_EINVAL,
                    "host or data is NULL, or port is not in 0..65535");
    }
    return socket_call(socket->last_error, [&]() -> int {
        if (const int rc = need_datagram(socket); rc != NX_OK) {
            return rc;
        }
        const std::string_view bytes(data == nullptr ? "" : data,
                                     std::min<std::size_t>(size, INT_MAX));
        return static_cast<int>(socket->datagram->send_to(host, static_cast<std::uint16_t>(port),
                                                          bytes, timeout_of(timeout_ms)));
    });
}

int nx_socket_receive_from(nx_socket* socket, std::size_t max, int timeout_ms, const char** data,
                           std::size_t* size, const char** sender) noexcept {
    NX_REQUIRE(socket, "socket");
    if (data == nullptr || size == nullptr || sender == nullptr || max == 0) {
        return fail(socket->last_error, NX_EINVAL, "data, size or sender is NULL, or max is 0");
    }
    return socket_call(socket->last_error, [&]() -> int {
        if (socket->type != NX_SOCKET_UDP) {
            return fail(socket->last_error, NX_EINVAL, "only for a UDP socket");
        }
        if (!socket->datagram) {
            return fail(socket->last_error, NX_ESTATE,
                        "the UDP socket is neither bound nor connected");
        }
        auto datagram = socket->datagram->receive_from(max, timeout_of(timeout_ms));
        if (!datagram) {
            return fail(socket->last_error, NX_ETIMEDOUT,
                        fmt::format("receive on {}: no datagram within the timeout",
                                    nx_socket_local_address(socket)));
        }
        socket->sender = std::move(datagram->sender);
        *sender = socket->sender.c_str();
        return hand_out(socket->data, std::move(datagram->data), data, size);
    });
}

const char* nx_socket_peer_address(nx_socket* socket) noexcept {
    if (socket == nullptr) {
        return "";
    }
    try {
        socket->address = socket->stream     ? socket->stream->peer_address()
                          : socket->datagram ? peer_of(socket->datagram->native_handle())
                                             : std::string();
    } catch (...) {
        socket->address.clear();
    }
    return socket->address.c_str();
}

const char* nx_socket_local_address(nx_socket* socket) noexcept {
    if (socket == nullptr) {
        return "";
    }
    try {
        socket->address = socket->stream     ? socket->stream->local_address()
                          : socket->datagram ? socket->datagram->local_address()
                                             : std::string();
    } catch (...) {
        socket->address.clear();
    }
    return socket->address.c_str();
}

int nx_socket_fd(const nx_socket* socket, int* fd) noexcept {
    NX_REQUIRE(socket, "socket");
    if (fd == nullptr) {
        return fail(socket->last_error, NX_EINVAL, "fd is NULL");
    }
    const int handle = socket->stream     ? socket->stream->native_handle()
                       : socket->datagram ? socket->datagram->native_handle()
                                          : -1;
    if (handle < 0) {
        return fail(socket->last_error, NX_ESTATE, "the socket has no descriptor");
    }
    *fd = handle;
    return NX_OK;
}

int nx_socket_close(nx_socket* socket) noexcept {
    NX_REQUIRE(socket, "socket");
    if (socket->stream) {
        socket->stream->close();
    }
    if (socket->datagram) {
        socket->datagram->close();
    }
    return NX_OK;
}

int nx_socket_server_new(nx_socket_server** out, int type) noexcept {
    if (out == nullptr) {
        return fail_thread(NX_EINVAL, "out is NULL");
    }
    *out = nullptr;
    if (type != NX_SOCKET_TCP && type != NX_SOCKET_TLS) {
        return fail_thread(NX_EINVAL, fmt::format("server type {} is not TCP or TLS (a UDP server "
                                                  "is a bound UDP socket)",
                                                  type));
    }
    std::string error;
    const int status = guard(error, [&]() -> int {
        auto s = std::make_unique<nx_socket_server>();
        s->type = type;
        *out = s.release();
        return NX_OK;
    });
    if (status != NX_OK) {
        fail_thread(status, error);
    }
    return status;
}

void nx_socket_server_free(nx_socket_server* server) noexcept {
    delete server;
}

const char* nx_socket_server_last_error(const nx_socket_server* server) noexcept {
    return server == nullptr ? "server is NULL" : server->last_error.c_str();
}

int nx_socket_server_set_option(nx_socket_server* server, const char* name,
                                const char* value) noexcept {
    NX_REQUIRE(server, "server");
    if (name == nullptr || value == nullptr) {
        return fail(server->last_error, NX_EINVAL, "name or value is NULL");
    }
    if (server->listener) {
        return fail(server->last_error, NX_ESTATE, "options are set before listen");
    }
    return socket_call(server->last_error, [&]() -> int {
        const std::string_view key(name);
        if (key == "backlog") {
            int backlog = 0;
            if (!parse_int(value, backlog) || backlog == 0) {
                return fail(server->last_error, NX_EINVAL, "backlog: a positive number");
            }
            server->options.backlog = backlog;
            return NX_OK;
        }
        if (key == "handshake_timeout") {
            milliseconds ms{};
            if (!parse_seconds(value, ms)) {
                return fail(server->last_error, NX_EINVAL, "handshake_timeout: seconds");
            }
            server->options.handshake_timeout = ms;
            return NX_OK;
        }
        if (set_stream_option(server->options.accepted, key, value)) {
            return NX_OK;
        }
        if (set_tls_option(server->tls, key, value)) {
            return NX_OK;
        }
        return fail(server->last_error, NX_EINVAL, fmt::format("unknown server option '{}'", key));
    });
}

int nx_socket_server_listen(nx_socket_server* server, const char* host, int port) noexcept {
    NX_REQUIRE(server, "server");
    if (host == nullptr || !valid_port(port)) {
        return fail(server->last_error, NX_EINVAL, "host is NULL or port is not in 0..65535");
    }
    if (server->listener) {
        return fail(server->last_error, NX_ESTATE, "the server is already listening");
    }
    return socket_call(server->last_error, [&]() -> int {
        nexus::io::ServerOptions options = server->options;
        if (server->type == NX_SOCKET_TLS) {
            options.tls = server->tls;
        }
        server->listener = std::make_unique<nexus::io::SocketServer>(
            host, static_cast<std::uint16_t>(port), options);
        return NX_OK;
    });
}

int nx_socket_server_port(const nx_socket_server* server) noexcept {
    NX_REQUIRE(server, "server");
    if (!server->listener) {
        return fail(server->last_error, NX_ESTATE, "the server is not listening");
    }
    return server->listener->port();
}

int nx_socket_server_accept(nx_socket_server* server, int timeout_ms, nx_socket** client,
                            const char** peer) noexcept {
    NX_REQUIRE(server, "server");
    if (client == nullptr || peer == nullptr) {
        return fail(server->last_error, NX_EINVAL, "client or peer is NULL");
    }
    *client = nullptr;
    if (!server->listener || !server->listener->is_open()) {
        return fail(server->last_error, NX_ESTATE, "the server is not listening");
    }
    return socket_call(server->last_error, [&]() -> int {
        // Negative: the server's default timeout (the "timeout" option).
        const milliseconds wait =
            timeout_ms < 0 ? server->options.accepted.read_timeout : milliseconds(timeout_ms);
        auto accepted = server->listener->accept(wait);
        if (!accepted) {
            return fail(server->last_error, NX_ETIMEDOUT, "no connection within the timeout");
        }
        auto s = std::make_unique<nx_socket>();
        s->type = server->type;
        s->stream_options = server->options.accepted;
        s->tls = server->tls;
        s->stream = std::make_unique<nexus::io::StreamSocket>(std::move(accepted->socket));
        server->peer = std::move(accepted->peer);
        *peer = server->peer.c_str();
        *client = s.release();
        return NX_OK;
    });
}

int nx_socket_server_fd(const nx_socket_server* server, int* fd) noexcept {
    NX_REQUIRE(server, "server");
    if (fd == nullptr) {
        return fail(server->last_error, NX_EINVAL, "fd is NULL");
    }
    if (!server->listener || server->listener->native_handle() < 0) {
        return fail(server->last_error, NX_ESTATE, "the server is not listening");
    }
    *fd = server->listener->native_handle();
    return NX_OK;
}

int nx_socket_server_close(nx_socket_server* server) noexcept {
    NX_REQUIRE(server, "server");
    if (server->listener) {
        server->listener->close();
    }
    return NX_OK;
}

} // extern "C"
