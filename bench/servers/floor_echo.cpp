// floor_echo: the least work a WebSocket echo server can do per message. Not
// a peer and not a WebSocket implementation: a reference line for the table
// of scripts/bench-servers, so that what the kernel costs is measured in the
// same run as the servers it limits.
//
// After the handshake (http_upgrade.hpp) every frame a client sends goes back
// as a server frame: the header rewritten without the mask key, a binary
// payload sent as it arrived, still masked. No unmasking of binary data, no
// UTF-8 check, no message assembly, no copy of the payload: per readiness one
// recv() into the connection's buffer and one sendmsg() of every complete
// frame in it, header and payload as separate iovecs. `nexus-socket bench`
// counts a binary echo by its size and opcode, so the masked payload passes; a
// real client would reject it. Text and control frames are unmasked byte by
// byte (the load generator checks UTF-8; a close goes back as the close
// answer, then the socket closes), which at 32 B costs next to nothing.
//
// Bench code: no limits beyond the frame size below, no timeouts, no
// fragmentation, no extensions. Usage: floor_echo [--host H] [--port P]
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_upgrade.hpp"
#include "server_args.hpp"
#include "tcp_listener.hpp"

namespace {

// Per connection: frames up to 64 KiB (the bench sends 16 KiB at most),
// allocated without zeroing so that a connection costs no page faults it
// does not use.
constexpr std::size_t k_buffer = 64 * 1024;
constexpr std::size_t k_max_frame = k_buffer;
constexpr std::size_t k_batch = 256; // frames per sendmsg

struct Conn {
    int fd = -1;
    bool upgraded = false;
    bool closing = false; // a close was echoed: close once it is written
    std::string head;     // request bytes until the upgrade is answered
    std::unique_ptr<std::uint8_t[]> in{new std::uint8_t[k_buffer]};
    std::size_t filled = 0;
    std::string out; // what a short write left over; reading waits until it is gone
};

int g_epoll = -1;

void set_interest(Conn* c, std::uint32_t events) {
    epoll_event ev{events, {.ptr = c}};
    epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &ev);
}

bool echo_frames(Conn* c);

/// Writes the leftover; false on a broken connection.
bool flush_out(Conn* c) {
    const ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    c->out.erase(0, static_cast<std::size_t>(n));
    if (c->out.empty()) {
        if (c->closing) {
            return false;
        }
        set_interest(c, EPOLLIN);
        return echo_frames(c); // frames that arrived behind the short write
    }
    return true;
}

/// Sends up to k_batch complete frames from the buffer in one sendmsg and
/// drops them from it. Returns how many were sent (0: no complete frame), or
/// -1 when the connection is done (error, bad frame, or the close written).
int echo_batch(Conn* c) {
    struct Header {
        std::array<std::uint8_t, 10> bytes;
        std::size_t size;
    };
    std::array<Header, k_batch> headers;
    std::array<iovec, 2 * k_batch> iov;
    std::size_t frames = 0;
    std::size_t at = 0;
    std::size_t total = 0;
    while (frames < k_batch && c->filled - at >= 2) {
        std::uint8_t* p = c->in.get() + at;
        const std::uint8_t opcode = p[0] & 0x0F;
        std::uint64_t length = p[1] & 0x7F;
        std::size_t head = 2;
        if (length == 126) {
            head = 4;
        } else if (length == 127) {
            head = 10;
        }
        if ((p[1] & 0x80) == 0) {
            return -1; // clients must mask (RFC 6455 §5.1)
        }
        if (c->filled - at < head + 4) {
            break;
        }
        if (head == 4) {
            length = (std::uint64_t{p[2]} << 8) | p[3];
        } else if (head == 10) {
            length = 0;
            for (int i = 2; i < 10; ++i) {
                length = (length << 8) | p[i];
            }
        }
        if (length > k_max_frame - head - 4) {
            return -1;
        }
        if (c->filled - at < head + 4 + length) {
            break;
        }
        Header& h = headers[frames];
        std::memcpy(h.bytes.data(), p, head);
        h.bytes[1] &= 0x7F; // server frames are not masked
        h.size = head;
        std::uint8_t* payload = p + head + 4;
        if (opcode != 2) { // text and control: unmask (UTF-8 and close codes are checked)
            for (std::size_t i = 0; i < length; ++i) {
                payload[i] ^= p[head + (i & 3)];
            }
            c->closing = c->closing || opcode == 8;
        }
        iov[2 * frames] = {h.bytes.data(), h.size};
        iov[2 * frames + 1] = {payload, static_cast<std::size_t>(length)};
        total += h.size + length;
        at += head + 4 + length;
        ++frames;
    }
    if (frames > 0) {
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = 2 * frames;
        ssize_t sent = ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                return -1;
            }
            sent = 0;
        }
        if (static_cast<std::size_t>(sent) < total) {
            std::size_t skip = static_cast<std::size_t>(sent);
            for (std::size_t i = 0; i < 2 * frames; ++i) {
                const auto* base = static_cast<const char*>(iov[i].iov_base);
                if (skip >= iov[i].iov_len) {
                    skip -= iov[i].iov_len;
                    continue;
                }
                c->out.append(base + skip, iov[i].iov_len - skip);
                skip = 0;
            }
            set_interest(c, EPOLLOUT);
        } else if (c->closing) {
            return -1;
        }
    }
    c->filled -= at;
    if (c->filled > 0 && at > 0) {
        std::memmove(c->in.get(), c->in.get() + at, c->filled);
    }
    return static_cast<int>(frames);
}

/// Echoes every complete frame buffered, keeps the partial one; stops early
/// when a write came up short (the rest waits for the leftover to go).
bool echo_frames(Conn* c) {
    for (;;) {
        const int sent = echo_batch(c);
        if (sent < 0) {
            return false;
        }
        if (sent < static_cast<int>(k_batch) || !c->out.empty()) {
            return true;
        }
    }
}

/// One readiness: the handshake, or one read and the frames it completed.
bool on_readable(Conn* c) {
    if (!c->upgraded) {
        char buf[4096];
        const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
        c->head.append(buf, static_cast<std::size_t>(n));
        std::string reply;
        const bench_upgrade::Parsed parsed = bench_upgrade::parse(c->head, reply);
        if (parsed == bench_upgrade::Parsed::incomplete) {
            return true;
        }
        if (parsed == bench_upgrade::Parsed::bad || c->head.size() > k_buffer ||
            ::send(c->fd, reply.data(), reply.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(reply.size())) {
            return false;
        }
        c->upgraded = true;
        std::memcpy(c->in.get(), c->head.data(), c->head.size());
        c->filled = c->head.size();
        c->head = std::string();
        return echo_frames(c);
    }
    const ssize_t n = ::recv(c->fd, c->in.get() + c->filled, k_buffer - c->filled, 0);
    if (n <= 0) {
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    c->filled += static_cast<std::size_t>(n);
    return echo_frames(c);
}

} // namespace

int main(int argc, char** argv) {
    const std::optional<bench_args::ServerArgs> args =
        bench_args::parse(argc, argv, "floor_echo", false);
    if (!args) {
        return 2;
    }
    const int lfd = bench_listener::listen_and_announce(args->host, args->port, "floor_echo");
    if (lfd < 0) {
        return 1;
    }
    g_epoll = bench_listener::epoll_with_listener(lfd);
    std::vector<epoll_event> events(1024);
    for (;;) {
        const int n = epoll_wait(g_epoll, events.data(), static_cast<int>(events.size()), -1);
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<Conn*>(events[i].data.ptr);
            if (c == nullptr) { // the listening socket
                bench_listener::accept_all(lfd, [](int fd) {
                    auto* nc = new Conn;
                    nc->fd = fd;
                    epoll_event ev{EPOLLIN, {.ptr = nc}};
                    epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
                });
                continue;
            }
            // Each connection appears at most once per batch, so it can go at once.
            const bool alive = (events[i].events & EPOLLOUT) != 0 && !c->out.empty()
                                   ? flush_out(c)
                                   : on_readable(c);
            if (!alive) {
                ::close(c->fd);
                delete c;
            }
        }
    }
}
