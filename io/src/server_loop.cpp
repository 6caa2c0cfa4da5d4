// One server event loop: accepting, batching writes, timers, graceful stop.
#include <Poco/Net/StreamSocketImpl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include "server_impl.hpp"

namespace nexus::io::detail {
namespace {

/// Sockets beyond max_clients that may be in their handshake at once.
constexpr std::size_t k_max_pending_handshakes = 1024;

/// The tick that drives every connection timer: a quarter of the shortest
/// timeout, between 10 ms and 1 s. One scan per tick is far cheaper than a
/// timer object per connection.
EventLoop::Clock::duration tick_for(const ServerConfig& c) {
    std::chrono::milliseconds shortest{1000};
    for (auto t :
         {c.handshake_timeout, c.ping_interval, c.pong_timeout, c.idle_timeout, c.close_timeout}) {
        if (t.count() > 0) {
            shortest = std::min(shortest, t);
        }
    }
    return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

} // namespace

Loop::Loop(WebSocketServer::Impl& owner, unsigned loop_index)
    : server(owner), index(loop_index), read_buffer(new std::uint8_t[k_read_buffer_size]),
      tick_interval_(tick_for(owner.config)) {
    next_tick_ = EventLoop::Clock::now() + tick_interval_;
    loop.on_iteration_end([this] { iteration_end(); });
    loop.after(tick_interval_, [] {}); // the first tick's wakeup
}

Loop::~Loop() {
    for (auto& [id, session] : sessions_) {
        session->abort(DropReason::server_stopping, 1001, "server destroyed");
    }
    sessions_.clear();
    if (listening_) {
        loop.unwatch(listener_);
    }
}

void Loop::listen(const Poco::Net::SocketAddress& address, bool reuse_port) {
    listener_.bind(address, true, reuse_port);
    listener_.listen(1024);
    listener_.setBlocking(false);
    loop.watch(listener_, this, EventLoop::readable);
    listening_ = true;
}

std::uint16_t Loop::port() const {
    return listener_.address().port();
}

void Loop::on_ready(int /*events*/) {
    // Accept a bounded batch per wakeup so one loop cannot starve its
    // clients during a connection storm. accept4 directly: Poco 1.11 reports
    // "would block" as an exception, which is the normal end of every batch.
    const int listen_fd = listener_.impl()->sockfd();
    for (int i = 0; i < 64 && listening_; ++i) {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                // EMFILE and friends: reported; the next readiness retries.
                server.handler.on_error(0, std::string("accept: ") + std::strerror(errno));
            }
            return;
        }
        // The socket is Poco's from here on (it closes the descriptor).
        Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd));
        // Connections still in their handshake are bounded too: past
        // max_clients + k_max_pending_handshakes a new socket is closed at
        // once, so a flood of idle TCP connections cannot pile up sessions.
        if (stopping_ || sessions_.size() >= server.config.max_clients + k_max_pending_handshakes) {
            if (!stopping_) {
                server.counters.dropped[static_cast<int>(DropReason::pending_limit)].fetch_add(
                    1, std::memory_order_relaxed);
            }
            continue; // closes the socket as it goes out of scope
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const Poco::Net::SocketAddress peer(reinterpret_cast<const sockaddr*>(&address), length);
        const ClientId id = server.next_id.fetch_add(1, std::memory_order_relaxed);
        auto session = std::make_unique<Session>(*this, socket, id, peer.toString());
        sessions_.emplace(id, std::move(session));
    }
}

Session* Loop::find(ClientId id) {
    const auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

void Loop::iteration_end() {
    // Batched writes: one send per connection per iteration, however many
    // frames were queued for it (a broadcast queues to many at once).
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
        dirty_[i]->flush();
    }
    dirty_.clear();
    const auto now = EventLoop::Clock::now();
    if (now >= next_tick_) {
        next_tick_ = now + tick_interval_;
        tick();
        for (std::size_t i = 0; i < dirty_.size(); ++i) {
            dirty_[i]->flush();
        }
        dirty_.clear();
    }
    for (ClientId id : reap_) {
        sessions_.erase(id);
    }
    reap_.clear();
    if (stopping_ && sessions_.empty()) {
        loop.stop();
    }
}

void Loop::tick() {
    const auto now = EventLoop::Clock::now();
    for (auto& [id, session] : sessions_) {
        session->tick(now);
    }
    if (stopping_ && now >= stop_deadline_) {
        for (auto& [id, session] : sessions_) {
            if (session->phase() != Session::Phase::finished) {
                session->abort(DropReason::server_stopping, 1001, "server stopped");
            }
        }
    }
    // Timers keep the loop waking at least once per tick.
    loop.after(tick_interval_, [] {});
}

void Loop::begin_stop() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    stop_deadline_ = EventLoop::Clock::now() + server.config.close_timeout;
    if (listening_) {
        loop.unwatch(listener_);
        listener_.close();
        listening_ = false;
    }
    for (auto& [id, session] : sessions_) {
        if (session->phase() == Session::Phase::open) {
            session->close(1001, "server shutting down");
        } else if (session->phase() == Session::Phase::handshake ||
                   session->phase() == Session::Phase::deciding) {
            session->abort(DropReason::server_stopping, 1001, "server shutting down");
        }
    }
    loop.after(std::chrono::milliseconds(0), [] {});
}

} // namespace nexus::io::detail
