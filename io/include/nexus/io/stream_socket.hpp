// A TCP or TLS-over-TCP connection driven by the calling thread: every call
// returns or throws within its timeout (the descriptor is non-blocking; the
// waits are poll(2) with a deadline). What PHP's Socket (tcp/ssl/tls) and the
// server's per-connection streams need.
//
// Errors: SocketError with a kind (socket_error.hpp) and a message naming
// the step and "host:port". Threading: one thread at a time per socket.
// Host names are resolved with getaddrinfo, which has no timeout of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "nexus/io/socket_error.hpp"
#include "nexus/io/tls.hpp"

namespace nexus::io {

namespace detail {
struct StreamSocketAccess;
}

/// Socket options and default timeouts; applied at connect (buffer sizes
/// before the SYN, so window scaling sees them) and at once when connected.
struct StreamOptions {
    std::chrono::milliseconds connect_timeout{30'000}; // connect() and start_tls() without one
    std::chrono::milliseconds read_timeout{30'000};    // receive/read_line/read_all without one
    std::chrono::milliseconds write_timeout{30'000};   // send() without one
    bool no_delay = true;                              // TCP_NODELAY
    bool keep_alive = false;                           // SO_KEEPALIVE
    int receive_buffer = 0;                            // SO_RCVBUF; 0: the system's
    int send_buffer = 0;                               // SO_SNDBUF; 0: the system's
};

class StreamSocket {
public:
    using Timeout = std::optional<std::chrono::milliseconds>;

    /// An unconnected TCP socket.
    StreamSocket();
    /// An unconnected socket that starts TLS with `tls` right after connect().
    explicit StreamSocket(TlsOptions tls);
    ~StreamSocket();
    StreamSocket(StreamSocket&&) noexcept;
    StreamSocket& operator=(StreamSocket&&) noexcept;

    /// Resolves `host` (a name, "127.0.0.1", "::1" or "[::1]") and connects
    /// to its addresses in getaddrinfo's order until one answers, then does
    /// the TLS handshake when this is a TLS socket, all within `timeout`
    /// (default options().connect_timeout). Throws SocketError: dns,
    /// refused, unreachable, timeout, tls_handshake, certificate, tls_config,
    /// io; invalid_argument when already connected or the host is empty.
    void connect(std::string_view host, std::uint16_t port, Timeout timeout = {});

    /// STARTTLS: runs a TLS handshake over this connected TCP socket, as
    /// `role` (a client verifies the host given to connect(), or
    /// tls.peer_name). Bytes already buffered by read_line() must have been
    /// consumed: the peer starts TLS after what it sent in clear. Throws like
    /// connect(); invalid_argument when TLS is already on or a server has no
    /// local_cert; tls_config for unusable options.
    void start_tls(const TlsOptions& tls, TlsRole role = TlsRole::client, Timeout timeout = {});

    /// Writes all of `data` (binary-safe), waiting while the socket is full,
    /// until `timeout` (default options().write_timeout). Returns the bytes
    /// written: data.size(), or fewer if the deadline passed first. On TLS,
    /// after a short write, the unwritten tail must be what is sent next
    /// (OpenSSL's retry rule). Throws closed (reset, broken pipe),
    /// not_connected, io.
    std::size_t send(std::string_view data, Timeout timeout = {});

    /// At most `max_bytes` (> 0) bytes: what read_line() buffered, else
    /// what arrives first. "" at end of stream; nullopt when nothing came
    /// within `timeout` (default options().read_timeout). Throws closed,
    /// not_connected, invalid_argument (max_bytes 0), io.
    std::optional<std::string> receive(std::size_t max_bytes, Timeout timeout = {});
    /// The same into `out`: the byte count, 0 at end of stream.
    std::optional<std::size_t> receive_into(std::span<char> out, Timeout timeout = {});

    /// One line including its "\n"; at end of stream the unterminated rest
    /// if any, then nullopt. Throws too_large when `max_line` bytes hold no
    /// "\n", timeout when no line is complete by the deadline; the bytes read
    /// stay buffered for the next call (or receive()).
    std::optional<std::string> read_line(std::size_t max_line = 64 * 1024, Timeout timeout = {});

    /// Everything until the peer closes. Throws too_large past `max_bytes`,
    /// timeout when the peer has not closed by the deadline (the timeout is
    /// for the whole call); the bytes read stay buffered for receive().
    std::string read_all(std::size_t max_bytes = 64 * 1024 * 1024, Timeout timeout = {});

    /// Sends a TLS close_notify when TLS is on (without waiting for the
    /// peer's) and closes the descriptor. Idempotent; never throws.
    void close() noexcept;

    /// Connected, and neither closed, failed nor at the peer's end of stream.
    bool is_connected() const noexcept;
    bool is_tls() const noexcept;
    /// The descriptor to wait on in another loop; -1 when not connected.
    /// With TLS, bytes may already be decrypted: try receive() with a zero
    /// timeout before waiting.
    int native_handle() const noexcept;
    /// "ip:port" of each end ("[::1]:80" for IPv6); "" when not connected.
    std::string local_address() const;
    std::string peer_address() const;

    const StreamOptions& options() const noexcept;
    /// Throws io when the system refuses an option (and keeps the rest).
    void set_options(const StreamOptions& options);
    /// PHP's timeout(): the connect, read and write timeouts at once.
    void set_timeout(std::chrono::milliseconds timeout);

private:
    struct Impl;
    explicit StreamSocket(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    friend struct detail::StreamSocketAccess;
};

} // namespace nexus::io
