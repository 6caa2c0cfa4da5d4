// Private helpers of StreamSocket, DatagramSocket and SocketServer: deadlines
// and poll(2), name resolution, "ip:port" formatting and errno → SocketError.
//
// Why raw system calls beside Poco: Poco 1.11 turns errno into exception
// classes that lose which failure it was (refused vs unreachable vs in use)
// and throws on EAGAIN; the kinds must be exact, and every wait bounded.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nexus/io/socket_error.hpp"
#include "nexus/io/stream_socket.hpp"

namespace nexus::io::detail {

using Clock = std::chrono::steady_clock;

/// A point in time an operation must finish by.
struct Deadline {
    Clock::time_point at;
    static Deadline after(std::chrono::milliseconds timeout) {
        return {Clock::now() + (timeout.count() > 0 ? timeout : std::chrono::milliseconds(0))};
    }
    bool passed() const { return Clock::now() >= at; }
};

/// Waits until `fd` is ready for `events` (POLLIN, POLLOUT) or reports an
/// error or hang-up (then the next call on it tells which). Returns false
/// when `deadline` passed first. Retries on EINTR; throws io on poll errors.
bool wait_fd(int fd, short events, Deadline deadline);

/// An address getaddrinfo gave.
struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

/// Resolves host (brackets around an IPv6 literal are dropped) for
/// `socktype` in `family` (AF_UNSPEC: both; AF_INET6 adds v4-mapped
/// addresses). `passive`: for bind ("" means any). Throws dns naming host.
std::vector<Address> resolve(std::string_view host, std::uint16_t port, int socktype, int family,
                             bool passive);

/// "1.2.3.4:80", "[::1]:80"; an IPv4-mapped IPv6 address as IPv4.
std::string format_address(const sockaddr* address);
/// The host part alone ("1.2.3.4", "::1") and the port.
std::string format_host(const sockaddr* address);
std::uint16_t address_port(const sockaddr* address);
std::string local_address_of(int fd);
std::string peer_address_of(int fd);
std::string peer_host_of(int fd); // "ip" alone

/// "host:port", with brackets around an IPv6 literal.
std::string where(std::string_view host, std::uint16_t port);

/// The kind an errno value means for a socket call.
SocketErrorKind kind_of_errno(int error) noexcept;
/// SocketError(kind_of_errno(error), what + ": " + strerror(error)).
[[noreturn]] void throw_errno(int error, const std::string& what);

/// setsockopt of an int; throws io naming the option.
void set_int_option(int fd, int level, int name, int value, const char* what);

/// Creates a non-blocking, close-on-exec socket; throws io.
int open_socket(int family, int type);

class TlsContext;

/// What SocketServer needs of StreamSocket's insides.
struct StreamSocketAccess {
    /// A StreamSocket owning the accepted, non-blocking descriptor `fd`.
    static StreamSocket adopt(int fd, const StreamOptions& options);
    /// The server side of a TLS handshake with a shared context.
    static void start_tls(StreamSocket& socket, const TlsContext& context, Deadline deadline);
};

/// A descriptor closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const noexcept { return fd_; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

} // namespace nexus::io::detail
