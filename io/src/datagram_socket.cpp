#include "nexus/io/datagram_socket.hpp"

#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "socket_detail.hpp"

namespace nexus::io {

namespace {

// The largest UDP payload over IPv6 without jumbograms (RFC 2675): no
// datagram needs a bigger buffer.
constexpr std::size_t k_max_datagram = 65527;

} // namespace

struct DatagramSocket::Impl {
    detail::Fd fd;
    int family = AF_UNSPEC;
    bool connected = false;
    std::string peer; // connect()ed "host:port", for messages
    std::chrono::milliseconds read_timeout{30'000};
    std::chrono::milliseconds write_timeout{30'000};

    void open(int address_family) {
        if (fd.get() >= 0) {
            return;
        }
        detail::Fd created(detail::open_socket(address_family, SOCK_DGRAM));
        if (address_family == AF_INET6) {
            detail::set_int_option(created.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
        }
        fd = std::move(created);
        family = address_family;
    }

    // The first address of host in this socket's family (any while none).
    detail::Address target(std::string_view host, std::uint16_t port) const {
        return detail::resolve(host, port, SOCK_DGRAM, family, false).front();
    }

    int require_fd() const {
        if (fd.get() < 0) {
            throw SocketError(SocketErrorKind::not_connected,
                              "the UDP socket is neither bound nor connected");
        }
        return fd.get();
    }

    // One sendto (to `address`, or the connected peer when null), waiting
    // while the send buffer is full.
    std::size_t send(const detail::Address* address, std::string_view data,
                     detail::Deadline deadline, const std::string& where) const {
        for (;;) {
            const ssize_t n = address != nullptr
                                  ? ::sendto(fd.get(), data.data(), data.size(), MSG_NOSIGNAL,
                                             address->get(), address->length)
                                  : ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n >= 0) {
                return static_cast<std::size_t>(n);
            }
            const int error = errno;
            if (error == EINTR) {
                continue;
            }
            if (error != EAGAIN && error != EWOULDBLOCK) {
                detail::throw_errno(error, "sending a datagram to " + where);
            }
            if (!detail::wait_fd(fd.get(), POLLOUT, deadline)) {
                throw SocketError(SocketErrorKind::timeout,
                                  "timed out sending a datagram to " + where);
            }
        }
    }
};

DatagramSocket::DatagramSocket() : impl_(std::make_unique<Impl>()) {}
DatagramSocket::~DatagramSocket() = default;
DatagramSocket::DatagramSocket(DatagramSocket&&) noexcept = default;
DatagramSocket& DatagramSocket::operator=(DatagramSocket&&) noexcept = default;

namespace {

template <typename ImplT>
ImplT& state(std::unique_ptr<ImplT>& impl) {
    if (!impl) {
        impl = std::make_unique<ImplT>();
    }
    return *impl;
}

} // namespace

void DatagramSocket::bind(std::string_view host, std::uint16_t port) {
    Impl& s = state(impl_);
    const std::string name = host.empty() ? std::string("0.0.0.0") : std::string(host);
    const std::string where = detail::where(name, port);
    if (s.fd.get() >= 0) {
        throw SocketError(SocketErrorKind::invalid_argument,
                          "the UDP socket is already open; cannot bind to " + where);
    }
    const auto address = detail::resolve(name, port, SOCK_DGRAM, AF_UNSPEC, true).front();
    s.open(address.family());
    if (::bind(s.fd.get(), address.get(), address.length) != 0) {
        const int error = errno;
        close();
        detail::throw_errno(error, "cannot bind to " + where);
    }
}

void DatagramSocket::connect(std::string_view host, std::uint16_t port) {
    Impl& s = state(impl_);
    const std::string where = detail::where(host, port);
    const auto address = s.target(host, port);
    s.open(address.family());
    if (::connect(s.fd.get(), address.get(), address.length) != 0) {
        detail::throw_errno(errno, "cannot set the UDP peer " + where);
    }
    s.connected = true;
    s.peer = where;
}

std::size_t DatagramSocket::send_to(std::string_view host, std::uint16_t port,
                                    std::string_view data, Timeout timeout) {
    Impl& s = state(impl_);
    const auto address = s.target(host, port);
    s.open(address.family());
    return s.send(&address, data, detail::Deadline::after(timeout.value_or(s.write_timeout)),
                  detail::where(host, port));
}

std::size_t DatagramSocket::send(std::string_view data, Timeout timeout) {
    Impl& s = state(impl_);
    if (!s.connected) {
        throw SocketError(SocketErrorKind::not_connected, "the UDP socket has no default peer");
    }
    return s.send(nullptr, data, detail::Deadline::after(timeout.value_or(s.write_timeout)),
                  s.peer);
}

std::optional<Datagram> DatagramSocket::receive_from(std::size_t max_bytes, Timeout timeout) {
    Impl& s = state(impl_);
    const int fd = s.require_fd();
    if (max_bytes == 0) {
        throw SocketError(SocketErrorKind::invalid_argument, "receive needs room for a byte");
    }
    const auto deadline = detail::Deadline::after(timeout.value_or(s.read_timeout));
    std::string buffer(std::min(max_bytes, k_max_datagram), '\0');
    for (;;) {
        sockaddr_storage sender{};
        socklen_t length = sizeof sender;
        // MSG_TRUNC: the real length comes back, so truncation is known.
        const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC,
                                     reinterpret_cast<sockaddr*>(&sender), &length);
        if (n >= 0) {
            const auto size = static_cast<std::size_t>(n);
            Datagram d;
            d.truncated = size > buffer.size();
            buffer.resize(std::min(size, buffer.size()));
            d.data = std::move(buffer);
            const auto* address = reinterpret_cast<const sockaddr*>(&sender);
            d.sender = detail::format_address(address);
            d.sender_host = detail::format_host(address);
            d.sender_port = detail::address_port(address);
            return d;
        }
        const int error = errno;
        if (error == EINTR) {
            continue;
        }
        if (error != EAGAIN && error != EWOULDBLOCK) {
            detail::throw_errno(error, "receiving a datagram" +
                                           (s.connected ? " from " + s.peer : std::string()));
        }
        if (!detail::wait_fd(fd, POLLIN, deadline)) {
            return std::nullopt;
        }
    }
}

std::optional<std::string> DatagramSocket::receive(std::size_t max_bytes, Timeout timeout) {
    auto d = receive_from(max_bytes, timeout);
    if (!d) {
        return std::nullopt;
    }
    return std::move(d->data);
}

void DatagramSocket::close() noexcept {
    if (impl_) {
        impl_->fd.reset();
        impl_->family = AF_UNSPEC;
        impl_->connected = false;
        impl_->peer.clear();
    }
}

bool DatagramSocket::is_open() const noexcept {
    return impl_ && impl_->fd.get() >= 0;
}

int DatagramSocket::native_handle() const noexcept {
    return impl_ ? impl_->fd.get() : -1;
}

std::string DatagramSocket::local_address() const {
    return detail::local_address_of(native_handle());
}

std::uint16_t DatagramSocket::local_port() const {
    sockaddr_storage s{};
    socklen_t length = sizeof s;
    if (native_handle() < 0 ||
        ::getsockname(native_handle(), reinterpret_cast<sockaddr*>(&s), &length) != 0) {
        return 0;
    }
    return detail::address_port(reinterpret_cast<const sockaddr*>(&s));
}

std::chrono::milliseconds DatagramSocket::read_timeout() const noexcept {
    return impl_ ? impl_->read_timeout : std::chrono::milliseconds(30'000);
}

void DatagramSocket::set_read_timeout(std::chrono::milliseconds timeout) noexcept {
    if (impl_) {
        impl_->read_timeout = timeout;
    }
}

void DatagramSocket::set_write_timeout(std::chrono::milliseconds timeout) noexcept {
    if (impl_) {
        impl_->write_timeout = timeout;
    }
}

void DatagramSocket::set_broadcast(bool on) {
    detail::set_int_option(state(impl_).require_fd(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0,
                           "SO_BROADCAST");
}

void DatagramSocket::set_receive_buffer_size(int bytes) {
    detail::set_int_option(state(impl_).require_fd(), SOL_SOCKET, SO_RCVBUF, bytes, "SO_RCVBUF");
}

void DatagramSocket::set_send_buffer_size(int bytes) {
    detail::set_int_option(state(impl_).require_fd(), SOL_SOCKET, SO_SNDBUF, bytes, "SO_SNDBUF");
}

} // namespace nexus::io
