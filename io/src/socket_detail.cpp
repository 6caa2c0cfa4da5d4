#include "socket_detail.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

namespace nexus::io {

std::string_view describe(SocketErrorKind kind) noexcept {
    switch (kind) {
    case SocketErrorKind::dns:
        return "dns";
    case SocketErrorKind::refused:
        return "refused";
    case SocketErrorKind::unreachable:
        return "unreachable";
    case SocketErrorKind::timeout:
        return "timeout";
    case SocketErrorKind::tls_handshake:
        return "tls_handshake";
    case SocketErrorKind::certificate:
        return "certificate";
    case SocketErrorKind::closed:
        return "closed";
    case SocketErrorKind::io:
        return "io";
    case SocketErrorKind::address_in_use:
        return "address_in_use";
    case SocketErrorKind::not_connected:
        return "not_connected";
    case SocketErrorKind::invalid_argument:
        return "invalid_argument";
    case SocketErrorKind::tls_config:
        return "tls_config";
    case SocketErrorKind::too_large:
        return "too_large";
    }
    return "unknown";
}

namespace detail {

bool wait_fd(int fd, short events, Deadline deadline) {
    for (;;) {
        const auto left = deadline.at - Clock::now();
        if (left <= Clock::duration::zero()) {
            // One look without waiting: a zero timeout still reports readiness.
            pollfd p{fd, events, 0};
            const int n = ::poll(&p, 1, 0);
            return n > 0;
        }
        // Round up so that a wake-up never comes before the deadline.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
        if (n > 0) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            throw_errno(errno, "poll");
        }
    }
}

std::vector<Address> resolve(std::string_view host, std::uint16_t port, int socktype, int family,
                             bool passive) {
    std::string name(host);
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
        name = name.substr(1, name.size() - 2);
    }
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags =
        AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (family == AF_INET6 ? AI_V4MAPPED : 0);
    const std::string service = std::to_string(port);
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(name.empty() && passive ? nullptr : name.c_str(), service.c_str(),
                                 &hints, &list);
    if (rc != 0) {
        const std::string reason =
            rc == EAI_SYSTEM ? std::system_category().message(errno) : ::gai_strerror(rc);
        throw SocketError(SocketErrorKind::dns, "cannot resolve " + name + ": " + reason);
    }
    std::vector<Address> out;
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(sockaddr_storage)) {
            continue;
        }
        Address address;
        std::memcpy(&address.storage, a->ai_addr, a->ai_addrlen);
        address.length = a->ai_addrlen;
        out.push_back(address);
    }
    ::freeaddrinfo(list);
    if (out.empty()) {
        throw SocketError(SocketErrorKind::dns, "cannot resolve " + name + ": no address");
    }
    return out;
}

std::string format_host(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    } else if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            ::inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof text);
        } else {
            ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        }
    }
    return text;
}

std::uint16_t address_port(const sockaddr* address) {
    if (address->sa_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
    }
    if (address->sa_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
    }
    return 0;
}

std::string format_address(const sockaddr* address) {
    const std::string host = format_host(address);
    return where(host, address_port(address));
}

std::string local_address_of(int fd) {
    sockaddr_storage s{};
    socklen_t length = sizeof s;
    if (fd < 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &length) != 0) {
        return {};
    }
    return format_address(reinterpret_cast<const sockaddr*>(&s));
}

std::string peer_address_of(int fd) {
    sockaddr_storage s{};
    socklen_t length = sizeof s;
    if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&s), &length) != 0) {
        return {};
    }
    return format_address(reinterpret_cast<const sockaddr*>(&s));
}

std::string peer_host_of(int fd) {
    sockaddr_storage s{};
    socklen_t length = sizeof s;
    if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&s), &length) != 0) {
        return {};
    }
    return format_host(reinterpret_cast<const sockaddr*>(&s));
}

std::string where(std::string_view host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string_view::npos && host.front() != '[';
    return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

SocketErrorKind kind_of_errno(int error) noexcept {
    switch (error) {
    case ECONNREFUSED:
        return SocketErrorKind::refused;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
        return SocketErrorKind::unreachable;
    case ETIMEDOUT:
        return SocketErrorKind::timeout;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return SocketErrorKind::closed;
    case EADDRINUSE:
        return SocketErrorKind::address_in_use;
    case ENOTCONN:
        return SocketErrorKind::not_connected;
    case EMSGSIZE:
    case EINVAL:
        return SocketErrorKind::invalid_argument;
    default:
        return SocketErrorKind::io;
    }
}

void throw_errno(int error, const std::string& what) {
    throw SocketError(kind_of_errno(error), what + ": " + std::system_category().message(error));
}

void set_int_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        throw_errno(errno, std::string("cannot set ") + what);
    }
}

int open_socket(int family, int type) {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_errno(errno, "cannot create a socket");
    }
    return fd;
}

void Fd::reset(int fd) noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

} // namespace detail
} // namespace nexus::io
