// Private to the server: its loops, its sessions, its registry.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include "nexus/core/byte_buffer.hpp"
#include "nexus/core/connection.hpp"
#include "nexus/core/handshake.hpp"
#include "nexus/io/event_loop.hpp"
#include "nexus/io/websocket_server.hpp"

namespace nexus::io::detail {

class Loop;

/// One message encoded once for many recipients: the plain frame, and the
/// compressed frame per compressor window size in use (index 8..15).
struct EncodedMessage {
    core::ByteBuffer plain;
    std::shared_ptr<core::ByteBuffer> compressed[16];
};

/// One accepted TCP connection: its handshake, then its WebSocket.
class Session final : public EventLoop::Watcher {
public:
    enum class Phase : std::uint8_t {
        handshake, // reading the HTTP request
        deciding,  // request complete, waiting for WebSocketServer::decide_handshake()
        http,      // writing a plain HTTP response, then closing
        open,      // WebSocket open (and its close handshake)
        finished,  // socket closed, waiting to be reaped
    };

    Session(Loop& loop, const Poco::Net::StreamSocket& socket, ClientId id, std::string peer);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void on_ready(int events) override;

    /// Operations (on the loop thread).
    SendResult send(std::span<const std::uint8_t> data, bool binary);
    SendResult send_encoded(const EncodedMessage& message);
    SendResult close(std::uint16_t code, std::string_view reason);
    /// Resumes a deferred handshake; unknown_client unless deciding.
    SendResult decide(HandshakeDecision decision);
    /// Closes at once without a close handshake (used when the server
    /// itself drops a client or the stop deadline passed).
    void abort(DropReason reason, std::uint16_t code, std::string_view text);

    /// Timers: checks the deadlines against `now`.
    void tick(EventLoop::Clock::time_point now);
    /// Writes what is queued; called at the end of each loop iteration.
    void flush();

    ClientId id() const noexcept { return id_; }
    Phase phase() const noexcept { return phase_; }
    bool connected() const noexcept { return connected_; }
    std::size_t queued_bytes() const noexcept;
    bool compressed() const noexcept;

private:
    void read_available();
    void on_handshake_data(std::span<std::uint8_t> data);
    void accept_handshake(std::span<std::uint8_t> rest);
    void complete_handshake(HandshakeDecision decision, std::span<std::uint8_t> rest);
    void reject(int status, std::string_view body,
                const std::vector<std::pair<std::string, std::string>>& headers = {});
    void serve_http();
    void on_websocket_data(std::span<std::uint8_t> data);
    void dispatch_events();
    void mark_dirty();
    /// After a message was queued: schedules the write, enforces the limit.
    SendResult queued();
    /// Writes a large message without copying it when nothing is queued;
    /// false when it must be queued the ordinary way.
    bool send_direct(std::span<const std::uint8_t> data, bool binary);
    void finish(std::uint16_t code, std::string_view reason);
    template <typename Call>
    void guarded(const char* what, Call&& call) noexcept;
    void close_socket() noexcept;

    Loop& loop_;
    Poco::Net::StreamSocket socket_;
    int fd_; // socket_'s descriptor: reads and writes bypass Poco (socket_io.hpp)
    ClientId id_;
    std::string peer_;
    Phase phase_ = Phase::handshake;
    bool connected_ = false; // on_connect was delivered
    bool dirty_ = false;     // in the loop's flush list
    bool write_watched_ = false;
    bool eof_ = false;
    bool closed_locally_ = false; // we sent the first close frame
    bool active_ = false;         // read or wrote since the last tick (keeps buffers)

    std::unique_ptr<core::ServerHandshake> handshake_;
    std::unique_ptr<core::ByteBuffer> parked_; // bytes read while deciding
    std::unique_ptr<core::Connection> ws_;
    core::ByteBuffer http_out_;
    std::size_t http_out_pos_ = 0;

    EventLoop::Clock::time_point deadline_{};      // handshake or close deadline
    EventLoop::Clock::time_point last_received_{}; // any bytes from the peer
    EventLoop::Clock::time_point last_message_{};  // a message either way
    EventLoop::Clock::time_point ping_sent_{};
    bool awaiting_pong_ = false;
    double rate_tokens_ = 0;
    EventLoop::Clock::time_point rate_updated_{};

    std::uint16_t close_code_ = 1006; // what on_disconnect reports
    std::string close_reason_;
};

/// One event loop of the server with its listening socket and sessions.
class Loop final : public EventLoop::Watcher {
public:
    Loop(WebSocketServer::Impl& server, unsigned index);
    ~Loop();

    void listen(const Poco::Net::SocketAddress& address, bool reuse_port);
    std::uint16_t port() const;
    void on_ready(int events) override; // the listening socket
    void begin_stop();

    void add_dirty(Session& session) { dirty_.push_back(&session); }
    void reap(Session& session) { reap_.push_back(session.id()); }
    Session* find(ClientId id);
    std::size_t session_count() const noexcept { return sessions_.size(); }

    WebSocketServer::Impl& server;
    const unsigned index;
    EventLoop loop;
    /// Shared read buffer: the core unmasks and delivers views into it, and
    /// every view ends before the next read.
    std::unique_ptr<std::uint8_t[]> read_buffer;
    static constexpr std::size_t k_read_buffer_size = 64 * 1024;

private:
    void iteration_end();
    void tick();

    Poco::Net::ServerSocket listener_;
    bool listening_ = false;
    std::unordered_map<ClientId, std::unique_ptr<Session>> sessions_;
    std::vector<Session*> dirty_;
    std::vector<ClientId> reap_;
    EventLoop::Clock::duration tick_interval_{};
    EventLoop::Clock::time_point next_tick_{};
    bool stopping_ = false;
    EventLoop::Clock::time_point stop_deadline_{};
};

} // namespace nexus::io::detail

namespace nexus::io {

struct WebSocketServer::Impl {
    Impl(ServerConfig config, ServerHandler& handler);

    struct Target {
        ClientId id;
        unsigned loop;
        int deflate_window;
    };

    /// What the registry keeps of a connected client: compact (the request
    /// head as one string rather than a vector of header strings), expanded
    /// into a ClientInfo only when the application asks.
    struct StoredClient {
        std::string peer;
        std::string head; // "GET target HTTP/1.1\r\nName: value\r\n..."
        std::string subprotocol;
        std::string user_data;
        std::chrono::system_clock::time_point connected_at;
        bool compressed = false;

        ClientInfo expand(ClientId id) const;
    };

    struct Entry {
        unsigned loop = 0;
        int deflate_window = 0; // our compressor's window bits, 0 without deflate
        StoredClient client;
        std::set<std::string, std::less<>> channels;
    };

    /// Runs `action` with the session of `id` on its loop: at once when
    /// called there, else posted. Returns unknown_client when `id` is not
    /// registered.
    SendResult with_session(ClientId id, std::function<SendResult(detail::Session&)> action);
    /// Queues one message, encoded once (and compressed once per window
    /// size in use), to every target, grouped per loop.
    std::size_t deliver_encoded(const std::vector<Target>& targets,
                                std::span<const std::uint8_t> data, bool binary);

    /// Connected clients, counted against max_clients.
    std::size_t client_count_for_limit() const;
    void register_client(ClientId id, StoredClient client, unsigned loop, int deflate_window);
    void unregister_client(ClientId id);

    ServerConfig config;
    ServerHandler& handler;
    std::vector<std::unique_ptr<detail::Loop>> loops;
    std::vector<std::thread> threads;
    std::atomic<ClientId> next_id{1};
    std::atomic<bool> started{false};
    std::atomic<bool> stopping{false};
    std::atomic<unsigned> loops_done{0};
    std::uint16_t bound_port = 0;

    mutable std::shared_mutex registry_mutex;
    std::unordered_map<ClientId, Entry> registry;
    std::map<std::string, std::set<ClientId>, std::less<>> channel_members;

    struct Counters {
        std::atomic<std::uint64_t> connections_total{0};
        std::atomic<std::uint64_t> handshakes_rejected{0};
        std::atomic<std::uint64_t> http_requests{0};
        std::atomic<std::uint64_t> messages_in{0};
        std::atomic<std::uint64_t> messages_out{0};
        std::atomic<std::uint64_t> bytes_in{0};
        std::atomic<std::uint64_t> bytes_out{0};
        std::atomic<std::uint64_t> dropped[static_cast<int>(DropReason::count_)]{};
    } counters;
};

} // namespace nexus::io
