// The WebSocket server: Poco sockets on our event loops, the protocol core
// per connection, limits and timers, plain HTTP for static files, channels.
//
// Threading: handler callbacks run on the event loop that owns the client
// (one loop unless ServerConfig::threads > 1). Every operation below may be
// called from any thread; called on the loop that owns the client it acts
// at once, otherwise it is handed to that loop and acts in its next
// iteration. Results that need the client (send to an unknown id) are
// reported from the caller's view of the registry.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nexus/io/server_config.hpp"

namespace nexus::io {

using ClientId = std::uint64_t;

/// What the server knows about a connected client.
struct ClientInfo {
    ClientId id = 0;
    std::string peer; // "ip:port" ("[ip6]:port" for IPv6)
    std::string path;
    std::string query;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string origin;
    std::string subprotocol;
    bool compressed = false; // permessage-deflate agreed
    std::chrono::system_clock::time_point connected_at;
    std::string user_data; // the application's, see set_user_data()
};

/// The request as the handshake hook sees it.
struct HandshakeView {
    ClientId id = 0; // the id the client gets if accepted
    std::string_view peer;
    std::string_view path;
    std::string_view query;
    std::string_view origin;
    std::span<const std::pair<std::string_view, std::string_view>> headers;
    std::span<const std::string_view> subprotocols; // offered by the client

    /// First value of header `name` (case-insensitive), or empty.
    std::string_view header(std::string_view name) const noexcept;
};

/// The hook's answer: status 0 accepts; any 4xx/5xx rejects with that
/// status and `body`. `defer` parks the request until
/// WebSocketServer::decide_handshake() answers for it (a host that decides on
/// another thread, or later); handshake_timeout still applies meanwhile.
struct HandshakeDecision {
    int status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; // added to either response
    bool defer = false;

    static HandshakeDecision deferred() {
        HandshakeDecision d;
        d.defer = true;
        return d;
    }
};

/// Why the server dropped a client on its own.
enum class DropReason : int {
    handshake_timeout = 0,
    pong_timeout,
    idle_timeout,
    send_queue_full,
    rate_limited,
    protocol_error,
    server_stopping,
    pending_limit, // too many connections still in their handshake
    tls_handshake, // wss:// only: the TLS handshake failed (not TLS, no shared cipher, ...)
    count_,
};

struct ServerStats {
    std::uint64_t clients = 0;             // connected now
    std::uint64_t connections_total = 0;   // WebSocket handshakes accepted
    std::uint64_t handshakes_rejected = 0; // answered with an HTTP error
    std::uint64_t http_requests = 0;       // plain HTTP requests served
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t bytes_in = 0; // payload bytes of messages
    std::uint64_t bytes_out = 0;
    std::uint64_t dropped[static_cast<int>(DropReason::count_)] = {};

    // Scaling (ServerConfig::scaling); all 0 without it.
    std::uint64_t remote_out = 0;       // broadcasts, publishes, sends handed to Redis
    std::uint64_t remote_in = 0;        // messages from other servers acted on here
    std::uint64_t remote_dropped = 0;   // not handed to Redis: unreachable or over the backlog
    std::uint64_t backplane_errors = 0; // connections to Redis lost or refused
    std::uint64_t backplane_up = 0;     // 1 while both links to Redis work
    /// Servers these figures add up: 1 from stats(); the live servers from
    /// cluster_stats().
    std::uint64_t servers = 1;
};

/// Event callbacks; every one has an empty default.
class ServerHandler {
public:
    virtual ~ServerHandler() = default;
    /// Decides a valid WebSocket upgrade request after the origin check.
    virtual HandshakeDecision on_handshake(const HandshakeView& request);
    virtual void on_connect(ClientId id, const ClientInfo& info);
    /// `data` is valid during the call only.
    virtual void on_message(ClientId id, std::span<const std::uint8_t> data, bool binary);
    /// Once per connected client, whatever ended it: the peer's close code,
    /// ours, or 1006 when the transport went away without one.
    virtual void on_disconnect(ClientId id, std::uint16_t code, std::string_view reason);
    /// Something went wrong with a client (id) or the server (id 0); a
    /// disconnect follows for a client. With scaling, id 0 also reports
    /// Redis going out of reach (once, until it is back).
    virtual void on_error(ClientId id, std::string_view message);
    /// A request the hook deferred ended without becoming a client: it
    /// timed out, the peer left, the server stopped, it was rejected, or it
    /// was accepted over max_clients (503). After it, decide_handshake()
    /// for `id` finds nothing.
    virtual void on_request_dropped(ClientId id);
};

/// What an operation did.
enum class SendResult : int {
    ok = 0,
    unknown_client = 1, // no such client (never was, or gone)
    invalid_utf8 = 2,   // text that is not UTF-8
    closing = 3,        // the client is closing; nothing more goes to it
    queue_full = 4,     // over max_send_queue: the client is being disconnected
    invalid_argument = 5,
    unavailable = 6, // a client of another server, and Redis cannot be reached now
};

class WebSocketServer {
public:
    /// Validates `config` (std::invalid_argument naming the field).
    /// `handler` must outlive the server.
    WebSocketServer(ServerConfig config, ServerHandler& handler);
    ~WebSocketServer();
    WebSocketServer(const WebSocketServer&) = delete;
    WebSocketServer& operator=(const WebSocketServer&) = delete;

    /// Loads the TLS certificates (ServerConfig::tls), then binds and
    /// listens. Throws SocketError (tls_config) for certificates or keys
    /// that cannot be used, std::system_error / Poco::Exception with the
    /// address when the port cannot be had.
    void start();
    /// Replaces ServerConfig::tls: wss:// with these options. Before start()
    /// only (std::logic_error after).
    void set_tls(TlsOptions options);
    /// With one loop run by the host (run_once()) from whichever thread
    /// holds the server, one at a time: makes the caller the loop's thread,
    /// so its operations act at once and keep their order (see
    /// EventLoop::adopt_current_thread). Does nothing with several loops.
    void adopt_calling_thread() noexcept;
    /// The bound port (after start()).
    std::uint16_t port() const noexcept;

    /// Runs until stop() has finished: loop 0 on this thread, the others on
    /// threads of their own. Calls start() if needed.
    void run();
    /// One iteration of loop 0 on this thread (for hosts that drive the
    /// server from their own loop): waits at most `max_wait`. Returns false
    /// once the server has stopped. Needs threads == 1.
    bool run_once(std::chrono::milliseconds max_wait);
    /// True when the last run_once() was cut short by a signal.
    bool interrupted() const noexcept;
    /// Graceful stop: no new connections; every client gets close 1001;
    /// queued data flushes for at most close_timeout; then sockets close
    /// and run() returns. Safe from any thread and from signal-watching
    /// threads; repeated calls do nothing more.
    void stop() noexcept;
    bool stopped() const noexcept;
    /// Makes a run_once() that waits on loop 0 return soon. Any thread;
    /// async-signal-safe.
    void wake() noexcept;
    /// A descriptor that is readable whenever run_once() has work (sockets,
    /// posted operations, due timers): lets a host embed the server in its
    /// own event loop. Needs threads == 1. Owned by the server.
    int poll_fd() const noexcept;

    SendResult send(ClientId id, std::span<const std::uint8_t> data, bool binary);
    SendResult send_text(ClientId id, std::string_view text);
    /// To every connected client but `except` (0: none). Encoded (and
    /// compressed) once. Returns the number of clients it was queued for.
    std::size_t broadcast(std::span<const std::uint8_t> data, bool binary, ClientId except = 0);
    std::size_t broadcast_text(std::string_view text, ClientId except = 0);
    /// Starts the close handshake with `code`; the disconnect event follows.
    SendResult disconnect(ClientId id, std::uint16_t code = 1000, std::string_view reason = {});

    /// Answers a request the hook deferred (decision.defer must be false).
    /// unknown_client when no such request waits (answered, timed out, or
    /// the peer left); from another thread than its loop's the answer is
    /// posted and ok returned.
    SendResult decide_handshake(ClientId id, HandshakeDecision decision);

    std::vector<ClientInfo> clients() const;
    /// The connected clients' ids in connection order (cheaper than clients()).
    std::vector<ClientId> client_ids() const;
    /// A connected client; also the one whose on_disconnect is running, from
    /// inside that handler (who left, from where).
    std::optional<ClientInfo> client(ClientId id) const;
    std::size_t client_count() const noexcept;
    bool set_user_data(ClientId id, std::string data);

    /// Channels: publish() reaches the clients subscribed at that moment.
    SendResult subscribe(ClientId id, std::string_view channel);
    SendResult unsubscribe(ClientId id, std::string_view channel);
    std::size_t publish(std::string_view channel, std::span<const std::uint8_t> data, bool binary);
    std::vector<std::string> channels(ClientId id) const;

    ServerStats stats() const;

    /// Scaling (ServerConfig::scaling): send(), disconnect(), broadcast()
    /// and publish() reach the clients of every server sharing the Redis
    /// and prefix; client ids carry their server's node id. A send() or
    /// disconnect() to a client of another server returns ok once handed
    /// to Redis (unknown_client when no live server has that node id,
    /// unavailable while Redis is out of reach); broadcast() and publish()
    /// count the local clients only.
    ///
    /// This server's node id (0 without scaling, and before start()).
    std::uint32_t node_id() const noexcept;
    /// Whether `id` is (or would be) a client of this server rather than of
    /// another one (always true without scaling).
    bool is_local(ClientId id) const noexcept;
    /// Every client of every live server: this one's from its registry,
    /// the others' from presence in Redis (a server that died leaves within
    /// the lease). Blocks for a few round trips to Redis; throws SocketError
    /// when Redis cannot be asked. Without scaling: clients().
    std::vector<ClientInfo> cluster_clients() const;
    /// The statistics of every live server added up (servers says how
    /// many); the others' are at most a third of the lease old. Throws like
    /// cluster_clients(). Without scaling: stats().
    ServerStats cluster_stats() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace nexus::io
