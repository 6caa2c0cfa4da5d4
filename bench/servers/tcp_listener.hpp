// A non-blocking IPv4 listening socket, and accepting from it, for the bench
// servers that run an epoll loop of their own (wslay_echo, floor_echo).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace bench_listener {

/// Binds HOST:PORT (0: the kernel picks), listens, and prints "listening on
/// ws://HOST:PORT/" (what scripts/bench-servers waits for). Returns the
/// descriptor, or -1 after printing why to stderr under NAME.
inline int listen_and_announce(const std::string& host, int port, const char* name) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t len = sizeof addr;
    if (fd < 0 || inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 4096) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::fprintf(stderr, "%s: cannot listen on %s:%d\n", name, host.c_str(), port);
        return -1;
    }
    std::printf("listening on ws://%s:%d/\n", host.c_str(), ntohs(addr.sin_port));
    std::fflush(stdout);
    return fd;
}

/// An epoll set watching LISTEN_FD for readability with a null data
/// pointer (how the loops tell the listener from their connections).
inline int epoll_with_listener(int listen_fd) {
    const int epoll_fd = epoll_create1(0);
    epoll_event event{EPOLLIN, {.ptr = nullptr}};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event);
    return epoll_fd;
}

/// Accepts every connection waiting on LISTEN_FD, non-blocking and with
/// TCP_NODELAY, and hands each descriptor to ON_SOCKET.
template <class OnSocket>
void accept_all(int listen_fd, OnSocket on_socket) {
    const int one = 1;
    int fd;
    while ((fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        on_socket(fd);
    }
}

} // namespace bench_listener
