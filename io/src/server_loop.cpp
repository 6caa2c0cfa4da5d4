// One server event loop: accepting, batching writes, timers, graceful stop.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include "server_impl.hpp"
#include "tls_context.hpp"
#include "tls_session.hpp"

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
    for (int fd = 0; fd < loop.watch_limit(); ++fd) {
        if (Session* session = session_at(fd)) {
            session->abort(DropReason::server_stopping, 1001, "server destroyed");
        }
    }
    reap_.clear(); // every session finished above and waits here
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
        // Connections still in their handshake are bounded too: past
        // max_clients + k_max_pending_handshakes a new socket is closed at
        // once, so a flood of idle TCP connections cannot pile up sessions.
        if (stopping_ || session_count_ >= server.config.max_clients + k_max_pending_handshakes) {
            if (!stopping_) {
                server.counters.dropped[static_cast<int>(DropReason::pending_limit)].fetch_add(
                    1, std::memory_order_relaxed);
            }
            ::close(fd);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const PeerAddress peer =
            PeerAddress::from(reinterpret_cast<const sockaddr*>(&address), length);
        const ClientId id = server.next_id.fetch_add(1, std::memory_order_relaxed);
        // The session owns the descriptor from here on (and closes it if
        // it cannot be made).
        // Watched by now: the loop's table holds it from here on.
        if (server.tls) {
            static_cast<void>(
                new TlsSession(*this, fd, id, peer, server.tls->context()->sslContext()));
        } else {
            static_cast<void>(new Session(*this, fd, id, peer));
        }
        ++session_count_;
    }
}

const core::ConnectionConfig*
Loop::connection_config(const std::optional<core::DeflateParams>& deflate) {
    const auto same = [&deflate](const core::ConnectionConfig& c) {
        if (c.deflate.has_value() != deflate.has_value()) {
            return false;
        }
        if (!deflate) {
            return true;
        }
        const core::DeflateParams& a = *c.deflate;
        const core::DeflateParams& b = *deflate;
        return a.server_no_context_takeover == b.server_no_context_takeover &&
               a.client_no_context_takeover == b.client_no_context_takeover &&
               a.server_max_window_bits == b.server_max_window_bits &&
               a.client_max_window_bits == b.client_max_window_bits;
    };
    // A few entries at most (deflate parameters come in 256 combinations,
    // and clients of one kind agree the same).
    for (const auto& c : connection_configs_) {
        if (same(*c)) {
            return c.get();
        }
    }
    const ServerConfig& config = server.config;
    auto c = std::make_unique<core::ConnectionConfig>();
    c->role = core::Role::server;
    c->max_frame_size = config.max_frame_size;
    c->max_message_size = config.max_message_size;
    c->deflate = deflate;
    c->compression_level = config.deflate.compression_level;
    c->compression_memory_level = config.deflate.memory_level;
    c->deflate_streams = &deflate_streams_;
    connection_configs_.push_back(std::move(c));
    return connection_configs_.back().get();
}

Session* Loop::session_at(int fd) const noexcept {
    EventLoop::Watcher* watcher = loop.watcher(fd);
    return watcher == nullptr || watcher == this ? nullptr : static_cast<Session*>(watcher);
}

Session* Loop::find(ClientId id, int slot) const noexcept {
    Session* session = session_at(slot);
    return session != nullptr && session->id() == id ? session : nullptr;
}

Session* Loop::find_deciding(ClientId id) const {
    const auto it = deciding_.find(id);
    return it == deciding_.end() ? nullptr : it->second;
}

void Loop::set_deciding(Session& session, bool deciding) {
    if (deciding) {
        deciding_[session.id()] = &session;
    } else {
        deciding_.erase(session.id());
    }
}

void Loop::reap(Session& session) {
    // Called once, right after the session unwatched its descriptor.
    reap_.emplace_back(&session);
    --session_count_;
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
    reap_.clear();
    if (stopping_ && session_count_ == 0) {
        loop.stop();
    }
}

void Loop::tick() {
    const auto now = EventLoop::Clock::now();
    const Millis now_ms = now_ms_at(now);
    // By index: a session that finishes leaves a null behind, and nothing
    // here accepts (so the table keeps its size).
    for (int fd = 0; fd < loop.watch_limit(); ++fd) {
        if (Session* session = session_at(fd)) {
            session->tick(now_ms);
        }
    }
    if (stopping_ && now >= stop_deadline_) {
        for (int fd = 0; fd < loop.watch_limit(); ++fd) {
            if (Session* session = session_at(fd)) {
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
    for (int fd = 0; fd < loop.watch_limit(); ++fd) {
        Session* session = session_at(fd);
        if (session == nullptr) {
            continue;
        }
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
