// A UDP socket driven by the calling thread, with timeouts: PHP's
// Socket::udp() and, once bound, SocketServer::udp(). Datagrams keep their
// boundaries; the sender of each is reported for replies.
//
// The address family is fixed by the first bind(), connect() or send_to();
// an IPv6 socket reaches IPv4 peers through mapped addresses.
// Threading: one thread at a time per socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nexus/io/socket_error.hpp"

namespace nexus::io {

struct Datagram {
    std::string data;        // at most the max_bytes asked for
    std::string sender;      // "ip:port" ("[::1]:53" for IPv6)
    std::string sender_host; // "ip", for send_to()
    std::uint16_t sender_port = 0;
    bool truncated = false; // the datagram was longer than max_bytes; the rest is lost
};

class DatagramSocket {
public:
    using Timeout = std::optional<std::chrono::milliseconds>;

    /// No descriptor yet: it is made by the first bind, connect or send_to.
    DatagramSocket();
    ~DatagramSocket();
    DatagramSocket(DatagramSocket&&) noexcept;
    DatagramSocket& operator=(DatagramSocket&&) noexcept;

    /// Binds to host ("0.0.0.0", "::", "127.0.0.1", a name) and port (0:
    /// the system picks; see local_port()). Throws address_in_use, dns, io;
    /// invalid_argument when already bound.
    void bind(std::string_view host, std::uint16_t port);
    /// Sets the default peer for send() and receive(); the kernel then drops
    /// datagrams from anyone else. Throws dns, io.
    void connect(std::string_view host, std::uint16_t port);

    /// Sends one datagram; returns its size. Throws dns, refused (an earlier
    /// datagram was refused), invalid_argument (too long for UDP), timeout
    /// (the send buffer stayed full), io.
    std::size_t send_to(std::string_view host, std::uint16_t port, std::string_view data,
                        Timeout timeout = {});
    /// To the connect()ed peer; not_connected without one.
    std::size_t send(std::string_view data, Timeout timeout = {});

    /// The next datagram (its first max_bytes bytes) and its sender; nullopt
    /// when none came within `timeout` (default read_timeout()). Throws
    /// not_connected before bind/connect/send_to, refused (the connected peer
    /// answered with ICMP port unreachable), invalid_argument (max_bytes 0), io.
    std::optional<Datagram> receive_from(std::size_t max_bytes, Timeout timeout = {});
    /// The same without the sender (meant for a connected socket).
    std::optional<std::string> receive(std::size_t max_bytes, Timeout timeout = {});

    void close() noexcept;
    bool is_open() const noexcept;
    int native_handle() const noexcept; // -1 when none
    std::string local_address() const;  // "ip:port"; "" when none
    std::uint16_t local_port() const;   // 0 when none

    std::chrono::milliseconds read_timeout() const noexcept;
    void set_read_timeout(std::chrono::milliseconds timeout) noexcept;
    void set_write_timeout(std::chrono::milliseconds timeout) noexcept;
    /// SO_BROADCAST, SO_RCVBUF, SO_SNDBUF; throw io (or not_connected
    /// before the descriptor exists).
    void set_broadcast(bool on);
    void set_receive_buffer_size(int bytes);
    void set_send_buffer_size(int bytes);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace nexus::io
