// Non-blocking reads and writes on a socket's descriptor.
//
// Poco 1.11's StreamSocket::sendBytes throws when a non-blocking send would
// block (EAGAIN) instead of saying so, which would drop a connection whose
// peer merely reads slowly. These wrappers report would-block as a value and
// never raise SIGPIPE.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>

namespace nexus::io::detail {

/// Result of one read or write: bytes moved (> 0), or what happened.
enum class IoStatus { done, would_block, closed, failed };

struct IoResult {
    IoStatus status = IoStatus::done;
    std::size_t bytes = 0;
    int error = 0; // errno when failed
};

/// Runs a send/recv-like `call` until it is not interrupted, and says what
/// happened: bytes moved, would-block, end of stream (a 0 from a read), or
/// the errno of a failure.
template <typename Call>
IoResult classified(Call&& call, bool zero_is_end) noexcept {
    for (;;) {
        const ssize_t n = call();
        if (n > 0 || (n == 0 && !zero_is_end)) {
            return {IoStatus::done, static_cast<std::size_t>(n), 0};
        }
        if (n == 0) {
            return {IoStatus::closed, 0, 0};
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return {IoStatus::would_block, 0, 0};
        }
        return {IoStatus::failed, 0, errno};
    }
}

inline IoResult send_some(int fd, const void* data, std::size_t size) noexcept {
    return classified([&] { return ::send(fd, data, size, MSG_NOSIGNAL); }, false);
}

/// Writes `first` then `second` in one system call (gather write).
inline IoResult send_two(int fd, const void* first, std::size_t first_size, const void* second,
                         std::size_t second_size) noexcept {
    iovec parts[2] = {{const_cast<void*>(first), first_size},
                      {const_cast<void*>(second), second_size}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    return classified([&] { return ::sendmsg(fd, &message, MSG_NOSIGNAL); }, false);
}

inline IoResult receive_some(int fd, void* data, std::size_t size) noexcept {
    return classified([&] { return ::recv(fd, data, size, 0); }, true);
}

} // namespace nexus::io::detail
