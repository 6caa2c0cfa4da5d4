// The one exception type of the raw sockets (StreamSocket, DatagramSocket,
// SocketServer): a kind a caller can switch on (the C API maps it to a status
// code) and a message that says what failed and where ("host:port").
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace nexus::io {

/// Why a socket operation failed. Values are stable: the C API maps them.
enum class SocketErrorKind : int {
    dns = 1,               // the host name does not resolve
    refused = 2,           // nothing listens there (ECONNREFUSED; UDP: ICMP port unreachable)
    unreachable = 3,       // no route to the network or host
    timeout = 4,           // connect, TLS handshake, read_line or read_all ran past its deadline
    tls_handshake = 5,     // TLS negotiation failed: protocol, alert, peer closed mid-handshake
    certificate = 6,       // the peer's certificate was rejected (chain, validity or name)
    closed = 7,            // the peer reset or broke the connection (ECONNRESET, EPIPE)
    io = 8,                // any other operating-system error
    address_in_use = 9,    // bind: the address is taken (EADDRINUSE)
    not_connected = 10,    // the operation needs a connection: before connect, after close
    invalid_argument = 11, // a bad parameter or option value
    tls_config = 12,       // unusable TLS options: unreadable file, wrong passphrase, bad ciphers
    too_large = 13,        // read_line's line or read_all's data exceeds the caller's limit
};

/// A short static name of the kind ("refused", "timeout", ...).
std::string_view describe(SocketErrorKind kind) noexcept;

class SocketError : public std::runtime_error {
public:
    SocketError(SocketErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    SocketErrorKind kind() const noexcept { return kind_; }

private:
    SocketErrorKind kind_;
};

} // namespace nexus::io
