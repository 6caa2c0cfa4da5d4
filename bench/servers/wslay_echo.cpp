// wslay_echo: an echo (or --broadcast) server on wslay's event API, driven by a
// single-threaded epoll loop written here. wslay has no handshake and no I/O of
// its own: this file reads the HTTP upgrade (RFC 6455 §4.2.1), answers it
// (§4.2.2; http_upgrade.hpp) and feeds the socket to
// wslay through its recv/send callbacks. A bench peer, not a production server:
// no limits besides the ones wslay applies, no timeouts.
//
// Usage: wslay_echo [--host 127.0.0.1] [--port 0] [--broadcast]
// Prints "listening on ws://HOST:PORT/" once bound; runs until killed.
#include <wslay/wslay.h>

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "http_upgrade.hpp"
#include "server_args.hpp"
#include "tcp_listener.hpp"

namespace {

struct Conn {
    int fd = -1;
    bool upgraded = false;
    bool dead = false;    // closed; freed once the current epoll batch is done
    std::string head;     // HTTP request bytes until the upgrade is answered
    std::string leftover; // bytes read past the request, fed to wslay first
    wslay_event_context_ptr ctx = nullptr;
    std::uint32_t events = 0; // epoll interest currently registered
};

int g_epoll = -1;
bool g_broadcast = false;
std::unordered_set<Conn*> g_conns;
std::vector<Conn*> g_dirty;     // connections given output by a broadcast
std::vector<Conn*> g_graveyard; // closed during the current batch

ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* user) {
    auto* c = static_cast<Conn*>(user);
    if (!c->leftover.empty()) {
        const size_t n = std::min(len, c->leftover.size());
        std::memcpy(buf, c->leftover.data(), n);
        c->leftover.erase(0, n);
        return static_cast<ssize_t>(n);
    }
    ssize_t n = ::recv(c->fd, buf, len, 0);
    if (n > 0) {
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); // EOF or error
    }
    return -1;
}

ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t* data, size_t len, int, void* user) {
    auto* c = static_cast<Conn*>(user);
    ssize_t n = ::send(c->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
        return n;
    }
    wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                   ? WSLAY_ERR_WOULDBLOCK
                                   : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

void on_message(wslay_event_context_ptr ctx, const wslay_event_on_msg_recv_arg* arg, void*) {
    if (wslay_is_ctrl_frame(arg->opcode)) {
        return; // wslay answers pings and closes itself
    }
    wslay_event_msg msg{arg->opcode, arg->msg, arg->msg_length};
    if (!g_broadcast) {
        wslay_event_queue_msg(ctx, &msg);
        return;
    }
    for (Conn* other : g_conns) {
        if (other->upgraded && wslay_event_queue_msg(other->ctx, &msg) == 0) {
            g_dirty.push_back(other);
        }
    }
}

/// Closes C's socket (which leaves the epoll set); C itself stays allocated,
/// marked dead, until the batch that may still name it is done.
void close_conn(Conn* c) {
    g_conns.erase(c);
    ::close(c->fd);
    c->dead = true;
    g_graveyard.push_back(c);
}

/// Reads the HTTP upgrade request; answers 101 once whole. Returns false when
/// the connection is to be closed (EOF, error, no key, oversized request).
bool read_handshake(Conn* c) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            return false;
        }
        if (n < 0) {
            return true; // wait for more
        }
        c->head.append(buf, static_cast<size_t>(n));
        std::string reply;
        const bench_upgrade::Parsed parsed = bench_upgrade::parse(c->head, reply);
        if (parsed == bench_upgrade::Parsed::incomplete) {
            continue;
        }
        // A fresh socket's send buffer takes the ~130-byte answer whole.
        if (parsed == bench_upgrade::Parsed::bad ||
            ::send(c->fd, reply.data(), reply.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(reply.size())) {
            return false;
        }
        c->leftover = std::move(c->head);
        c->head = std::string();
        static const wslay_event_callbacks callbacks{on_recv, on_send, nullptr,   nullptr,
                                                     nullptr, nullptr, on_message};
        if (wslay_event_context_server_init(&c->ctx, &callbacks, c) != 0) {
            return false;
        }
        c->upgraded = true;
        return true;
    }
}

/// Writes what wslay has queued and sets the epoll interest to match. Returns
/// false when the connection is done (closed or failed).
bool flush(Conn* c) {
    if (wslay_event_send(c->ctx) != 0) {
        return false;
    }
    if (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx)) {
        return false;
    }
    const std::uint32_t want = EPOLLIN | (wslay_event_want_write(c->ctx) ? EPOLLOUT : 0U);
    if (want != c->events) {
        epoll_event ev{want, {.ptr = c}};
        epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &ev);
        c->events = want;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    const std::optional<bench_args::ServerArgs> args =
        bench_args::parse(argc, argv, "wslay_echo", true);
    if (!args) {
        return 2;
    }
    g_broadcast = args->broadcast;
    const int lfd = bench_listener::listen_and_announce(args->host, args->port, "wslay_echo");
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
                    nc->events = EPOLLIN;
                    g_conns.insert(nc);
                    epoll_event ev{EPOLLIN, {.ptr = nc}};
                    epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
                });
                continue;
            }
            if (c->dead) {
                continue;
            }
            if (!c->upgraded) {
                if (!read_handshake(c) || (c->upgraded && !c->leftover.empty() &&
                                           (wslay_event_recv(c->ctx) != 0 || !flush(c)))) {
                    close_conn(c);
                }
                continue;
            }
            if (((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 &&
                 wslay_event_recv(c->ctx) != 0) ||
                !flush(c)) {
                close_conn(c);
            }
        }
        // Broadcast output queued on other connections goes out once per wakeup.
        for (Conn* c : g_dirty) {
            if (!c->dead && !flush(c)) {
                close_conn(c);
            }
        }
        g_dirty.clear();
        for (Conn* c : g_graveyard) {
            if (c->ctx != nullptr) {
                wslay_event_context_free(c->ctx);
            }
            delete c;
        }
        g_graveyard.clear();
    }
}
