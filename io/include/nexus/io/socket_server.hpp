// A listening TCP or TLS socket driven by the calling thread: accept() waits
// with a timeout and hands over a connected StreamSocket (TLS already
// negotiated) and the peer's "ip:port". What PHP's SocketServer (tcp, ssl,
// tls) needs; a UDP server is a bound DatagramSocket.
//
// Threading: one thread at a time per server; accepted sockets are
// independent of it (they may outlive it and move to other threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nexus/io/socket_error.hpp"
#include "nexus/io/stream_socket.hpp"
#include "nexus/io/tls.hpp"

namespace nexus::io {

struct ServerOptions {
    int backlog = 128;
    bool reuse_address = true; // SO_REUSEADDR: rebind while old connections linger
    /// A TLS server: local_cert (and local_pk, passphrase) required;
    /// SNI_server_certs for more names; verify_peer to require client
    /// certificates.
    std::optional<TlsOptions> tls;
    /// Bound on each TLS handshake inside accept().
    std::chrono::milliseconds handshake_timeout{10'000};
    StreamOptions accepted; // options and default timeouts of accepted sockets
};

struct Accepted {
    StreamSocket socket;
    std::string peer; // "ip:port"
};

class SocketServer {
public:
    /// Binds to host ("0.0.0.0", "::" for both families, "127.0.0.1",
    /// "localhost"; "" means "0.0.0.0") and port (0: the system picks; see
    /// port()) and listens. Loads the TLS certificates first. Throws
    /// address_in_use, dns, tls_config, invalid_argument, io.
    SocketServer(std::string_view host, std::uint16_t port, const ServerOptions& options = {});
    ~SocketServer();
    SocketServer(SocketServer&&) noexcept;
    SocketServer& operator=(SocketServer&&) noexcept;

    /// The next connection, or nullopt when none came within `timeout`.
    /// On a TLS server the handshake follows, bounded by
    /// options.handshake_timeout; a failed handshake throws (tls_handshake,
    /// certificate, timeout, closed) with the peer in the message, and the
    /// server stays usable. Throws not_connected after close(), io.
    std::optional<Accepted> accept(std::chrono::milliseconds timeout);

    void close() noexcept;
    bool is_open() const noexcept;
    bool is_tls() const noexcept;
    std::uint16_t port() const noexcept;
    std::string local_address() const;  // "ip:port"
    int native_handle() const noexcept; // the listening descriptor, to wait on; -1 when closed

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace nexus::io
