#include "nexus/io/socket_server.hpp"

#include <netinet/in.h>
#include <poll.h>

#include <cerrno>
#include <utility>

#include "socket_detail.hpp"
#include "tls_context.hpp"

namespace nexus::io {

struct SocketServer::Impl {
    detail::Fd listener;
    ServerOptions options;
    std::shared_ptr<const detail::TlsContext> tls;
    std::uint16_t port = 0;
    std::string where; // the bound "ip:port", for messages
};

SocketServer::SocketServer(std::string_view host, std::uint16_t port, const ServerOptions& options)
    : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.options = options;
    if (options.backlog < 0) {
        throw SocketError(SocketErrorKind::invalid_argument, "a negative backlog");
    }
    if (options.tls) {
        // Before binding: a bad certificate fails without taking the port.
        s.tls = std::make_shared<const detail::TlsContext>(*options.tls, TlsRole::server);
    }
    const std::string name = host.empty() ? std::string("0.0.0.0") : std::string(host);
    const std::string where = detail::where(name, port);
    const auto address = detail::resolve(name, port, SOCK_STREAM, AF_UNSPEC, true).front();
    detail::Fd fd(detail::open_socket(address.family(), SOCK_STREAM));
    if (options.reuse_address) {
        detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    }
    if (address.family() == AF_INET6) {
        // "::" takes IPv4 too (mapped), whatever the system default says.
        detail::set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
    }
    if (::bind(fd.get(), address.get(), address.length) != 0) {
        detail::throw_errno(errno, "cannot bind to " + where);
    }
    if (::listen(fd.get(), options.backlog) != 0) {
        detail::throw_errno(errno, "cannot listen on " + where);
    }
    s.where = detail::local_address_of(fd.get());
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    s.port = detail::address_port(reinterpret_cast<const sockaddr*>(&bound));
    s.listener = std::move(fd);
}

SocketServer::~SocketServer() = default;
SocketServer::SocketServer(SocketServer&&) noexcept = default;
SocketServer& SocketServer::operator=(SocketServer&&) noexcept = default;

std::optional<Accepted> SocketServer::accept(std::chrono::milliseconds timeout) {
    if (!is_open()) {
        throw SocketError(SocketErrorKind::not_connected, "the server is closed");
    }
    Impl& s = *impl_;
    const auto deadline = detail::Deadline::after(timeout);
    for (;;) {
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        const int fd = ::accept4(s.listener.get(), reinterpret_cast<sockaddr*>(&peer), &length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            Accepted accepted{detail::StreamSocketAccess::adopt(fd, s.options.accepted),
                              detail::format_address(reinterpret_cast<const sockaddr*>(&peer))};
            if (s.tls) {
                detail::StreamSocketAccess::start_tls(
                    accepted.socket, *s.tls, detail::Deadline::after(s.options.handshake_timeout));
            }
            return accepted;
        }
        switch (const int error = errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            if (!detail::wait_fd(s.listener.get(), POLLIN, deadline)) {
                return std::nullopt;
            }
            break;
        // accept(2): a connection that failed before it was taken reports
        // its error here; the next one may be fine.
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
            break;
        default:
            detail::throw_errno(error, "cannot accept on " + s.where);
        }
    }
}

void SocketServer::close() noexcept {
    if (impl_) {
        impl_->listener.reset();
    }
}

bool SocketServer::is_open() const noexcept {
    return impl_ && impl_->listener.get() >= 0;
}

bool SocketServer::is_tls() const noexcept {
    return impl_ && impl_->tls != nullptr;
}

std::uint16_t SocketServer::port() const noexcept {
    return impl_ ? impl_->port : 0;
}

std::string SocketServer::local_address() const {
    return is_open() ? impl_->where : std::string();
}

int SocketServer::native_handle() const noexcept {
    return impl_ ? impl_->listener.get() : -1;
}

} // namespace nexus::io
