// Private to the server: its loops, its sessions, its registry.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <sys/socket.h>

#include "id_table.hpp"
#include "nexus/core/byte_buffer.hpp"
#include "nexus/core/connection.hpp"
#include "nexus/core/handshake.hpp"
#include "nexus/io/event_loop.hpp"
#include "nexus/io/websocket_server.hpp"
#include "socket_io.hpp"

namespace nexus::io::detail {

class Backplane;
class BackplaneSink;
class Loop;
class TlsContext;

/// One message encoded once for many recipients: the plain frame, and the
/// compressed frame per compressor window size in use (index 8..15).
struct EncodedMessage {
    core::ByteBuffer plain;
    std::shared_ptr<core::ByteBuffer> compressed[16];
};

/// A peer's IPv4 or IPv6 address and port, kept compact (a string is made
/// only when the application asks).
struct PeerAddress {
    std::uint8_t family = 0; // AF_INET, AF_INET6, or 0 when unknown
    std::uint16_t port = 0;  // host order
    std::uint32_t scope = 0; // IPv6 scope id
    std::uint8_t bytes[16]{};

    /// From what accept() gave; another family gives family 0.
    static PeerAddress from(const sockaddr* address, socklen_t length) noexcept;
    /// "ip:port", "[ip6]:port" (Poco's SocketAddress::toString); empty when
    /// unknown.
    std::string to_string() const;
};

/// What the registry keeps of a connected client, in its Session. Written by
/// the session's loop before it is registered and then only under the
/// registry's lock (user data, channels); read under that lock from any
/// thread.
struct ClientRecord {
    ClientRecord() = default;
    ~ClientRecord();
    ClientRecord(const ClientRecord&) = delete;
    ClientRecord& operator=(const ClientRecord&) = delete;

    /// The request's target and headers, encoded compactly (set_head());
    /// decoded when the application asks for them. In a pooled slot of its
    /// size class (allocate_bytes()), null until set.
    std::uint8_t* head = nullptr;
    std::uint32_t head_size = 0;
    std::int16_t subprotocol = -1;  // index into ServerConfig::subprotocols, -1: none
    std::int8_t deflate_window = 0; // our compressor's window bits, 0 without deflate
    PeerAddress peer;
    std::chrono::system_clock::time_point connected_at;
    /// What most clients never have: made on the first set_user_data() or
    /// subscribe(), dropped when both are empty again.
    struct Extras {
        std::string user_data;
        std::set<std::string, std::less<>> channels;
    };
    std::unique_ptr<Extras> extras;

    /// Stores `target` and `headers` (names and values as received, in
    /// order) in one buffer of its exact size: lengths instead of ": " and
    /// CRLF, a byte for a header line that browsers and common clients
    /// send word for word ("Upgrade: websocket"), a byte for a common name,
    /// and the key's 16 bytes instead of its base64. Throws std::bad_alloc.
    void set_head(std::string_view target, std::span<const core::HttpHeader> headers);
    /// Calls `visit(name, value)` for each header, in order.
    template <typename Visit>
    void for_each_header(Visit&& visit) const;
    /// The target as given to set_head().
    std::string_view target() const noexcept;
    ClientInfo expand(ClientId id, const ServerConfig& config) const;
    Extras& make_extras();
    /// Drops extras when it holds nothing.
    void trim_extras() noexcept;
};

/// A time on a loop's millisecond clock (Loop::now_ms()): 4 bytes where a
/// time_point takes 8, in each of many sessions. It wraps every 49.7 days,
/// so times are only compared when less than 24.8 days apart: timeouts are
/// capped at that (k_max_timeout_ms), and each session's times are kept
/// within it (Session::tick).
using Millis = std::uint32_t;
inline constexpr Millis k_max_timeout_ms = 0x7FFFFFFF;

/// Room for a T constructed later: std::optional without its flag, which the
/// owner keeps where it has a spare byte (no padding per connection).
template <typename T>
union Late {
    Late() noexcept {}
    ~Late() {}
    Late(const Late&) = delete;
    Late& operator=(const Late&) = delete;
    T value;
};

/// One accepted TCP connection: its handshake, then its WebSocket.
///
/// Transport: plain TCP here; TlsSession overrides the transport hooks
/// (receive, transmit, ...) to run the same connection over TLS.
///
/// Memory: an idle WebSocket is this one object (the core connection is a
/// member, its configuration shared per loop) plus its request head. What
/// only the opening needs (the parser, the response, bytes parked while the
/// hook decides) is a separate part, freed once the 101 is written.
class Session : public EventLoop::Watcher {
public:
    enum class Phase : std::uint8_t {
        handshake, // reading the HTTP request
        deciding,  // request complete, waiting for WebSocketServer::decide_handshake()
        http,      // writing a plain HTTP response, then closing
        open,      // WebSocket open (and its close handshake)
        finished,  // socket closed, waiting to be reaped
    };

    /// Takes over `fd` (a connected, non-blocking socket): closes it on
    /// destruction, and at once when the constructor throws.
    Session(Loop& loop, int fd, ClientId id, const PeerAddress& peer);
    virtual ~Session();
    /// Plain sessions live in a SlotPool (slot_pool.hpp): one slot of
    /// exactly their size each, packed with no holes between them. Larger
    /// subclasses (TLS) come from the heap.
    static void* operator new(std::size_t size);
    static void operator delete(void* session, std::size_t size) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void on_ready(int events) override;

    /// Operations (on the loop thread).
    SendResult send(std::span<const std::uint8_t> data, bool binary);
    SendResult send_encoded(const EncodedMessage& message);
    SendResult close(std::uint16_t code, std::string_view reason);
    /// Resumes a deferred handshake; unknown_client unless deciding.
    SendResult decide(const HandshakeDecision& decision);
    /// Closes at once without a close handshake (used when the server
    /// itself drops a client or the stop deadline passed).
    void abort(DropReason reason, std::uint16_t code, std::string_view text);

    /// Timers: checks the deadlines against `now`.
    void tick(Millis now);
    /// Writes what is queued; called at the end of each loop iteration.
    void flush();

    ClientId id() const noexcept { return id_; }
    /// Set once the connection started closing (or was cut off): other
    /// threads read it under the registry's lock to refuse new operations at
    /// once instead of posting them to a connection that will drop them.
    bool closing() const noexcept { return closing_.load(std::memory_order_acquire); }
    void mark_closing() noexcept { closing_.store(true, std::memory_order_release); }
    /// mark_closing(), telling whether this call was the one that did it:
    /// a slow reader is cut off (and counted) once, whether its own loop or
    /// a sender on another thread noticed first.
    bool mark_closing_first() noexcept {
        return !closing_.exchange(true, std::memory_order_acq_rel);
    }
    /// Payload bytes posted to this session by other threads and not yet
    /// queued: bounded by max_send_queue like the queue itself (and by 4 GiB).
    std::atomic<std::uint32_t>& posted_bytes() noexcept { return posted_bytes_; }
    /// The descriptor it was accepted with: its place in the loop's table,
    /// kept after the socket is closed.
    int slot() const noexcept { return fd_; }
    Phase phase() const noexcept { return phase_; }
    bool connected() const noexcept { return connected_; }
    std::size_t queued_bytes() const noexcept;
    bool compressed() const noexcept;
    unsigned loop_index() const noexcept;

    /// Guarded by the registry's lock once connected() (see ClientRecord).
    ClientRecord client;

protected:
    // The transport, called on the loop thread. Plain TCP by default.
    /// Reads at most `size` bytes.
    virtual IoResult receive(void* data, std::size_t size) noexcept;
    /// Writes at most `size` bytes. After would_block the same bytes (or
    /// more after them) are what is written next (OpenSSL's retry rule).
    virtual IoResult transmit(const void* data, std::size_t size) noexcept;
    /// Writes `first` then `second` (a frame header and its payload), in
    /// one system call where the transport can; bytes counted across both.
    virtual IoResult transmit_two(std::span<const std::uint8_t> first,
                                  std::span<const std::uint8_t> second) noexcept;
    /// Whether a message of `size` bytes (at least k_direct_write_min) is
    /// worth writing from the caller's buffer (transmit_two) rather than
    /// copied into the queue first.
    virtual bool writes_directly(std::size_t /*size*/) const noexcept { return true; }
    /// Whether a read that filled `got` of `asked` bytes may leave more to
    /// read now (plain TCP: only when it filled the buffer).
    virtual bool more_input(std::size_t got, std::size_t asked) const noexcept;
    /// Bytes the transport holds already, which no poll event announces.
    virtual bool buffered_input() const noexcept { return false; }
    /// The transport needs the socket writable before reading can go on.
    virtual bool read_wants_write() const noexcept { return false; }
    /// What a failed read or write meant, for on_error.
    virtual std::string describe(const IoResult& failure) const;
    /// Ends the transport before the descriptor closes (TLS: close_notify).
    virtual void end_transport() noexcept {}
    /// The connection was quiet for a tick: hand back buffers it can make
    /// again when it is busy.
    virtual void release_transport_buffers() noexcept {}

    void mark_dirty();
    Loop& loop_;

private:
    struct Opening;

    void read_available();
    void on_handshake_data(std::span<std::uint8_t> data);
    void accept_handshake(std::span<std::uint8_t> rest);
    void complete_handshake(const HandshakeDecision& decision, std::span<std::uint8_t> rest);
    void reject(int status, std::string_view body,
                const std::vector<std::pair<std::string, std::string>>& headers = {});
    void serve_http();
    void on_websocket_data(std::span<std::uint8_t> data);
    void dispatch_events();
    /// After a message was queued: schedules the write, enforces the limit.
    SendResult queued();
    /// Writes a large message without copying it when nothing is queued;
    /// false when it must be queued the ordinary way.
    bool send_direct(std::span<const std::uint8_t> data, bool binary);
    void finish(std::uint16_t code, std::string_view reason);
    template <typename Call>
    void guarded(const char* what, Call&& call) noexcept;
    /// Ends the transport, then unwatches and closes the descriptor: once,
    /// by finish().
    void close_socket() noexcept;
    /// Unwatches and closes the descriptor (close_socket() without ending
    /// the transport): the destructor of a session that never finished.
    void release_descriptor() noexcept;
    void set_close(std::uint16_t code, std::string_view reason);
    std::string_view close_reason() const noexcept;

    /// What a session needs only for a while: the opening (until the
    /// handshake's answer is written) and a close reason (once it closes
    /// with one). One pointer for both: an idle session has neither.
    struct Side;
    /// The opening, or null once the answer is out.
    Opening* opening() const noexcept;
    void end_opening() noexcept;

    // Ordered to leave little padding: an idle server holds one per client.
    ClientId id_;
    std::unique_ptr<Side> side_;
    Late<core::Connection> ws_; // constructed once open (has_ws_)
    std::atomic<std::uint32_t> posted_bytes_{0};
    int fd_; // ours (socket_io.hpp); its number stays after closing

    /// By phase: handshake and http, the deadline; open, when the last ping
    /// went out (or the connection opened); once a close frame was sent,
    /// the close deadline (pings stop then). One field, as no phase needs
    /// two of them.
    Millis timer_ = 0;
    Millis last_message_ = 0;         // a message either way
    Millis rate_updated_ = 0;         // the bucket's last refill
    float rate_tokens_ = 0;           // the message rate limit's bucket
    std::uint16_t close_code_ = 1006; // what on_disconnect reports
    Phase phase_ = Phase::handshake;
    std::atomic<bool> closing_{false};
    // Flags as bits: an idle server holds one set per client. (The socket
    // is closed once phase_ is finished.)
    bool has_ws_ : 1 = false;
    bool connected_ : 1 = false; // on_connect was delivered
    bool dirty_ : 1 = false;     // in the loop's flush list
    bool write_watched_ : 1 = false;
    bool eof_ : 1 = false;
    bool closed_locally_ : 1 = false; // we sent the first close frame
    bool active_ : 1 = false;         // read or wrote since the last tick (keeps buffers)
    bool awaiting_pong_ : 1 = false;  // a ping is out; anything read clears it
    bool deferred_ : 1 = false;       // its handshake waits (or waited) for decide()
};

/// Connected sessions by id (see IdTable).
using SessionTable = IdTable<Session>;

/// Marks the session whose on_disconnect runs on this thread, for
/// WebSocketServer::client() (the session is alive until reaped).
class DepartingScope {
public:
    explicit DepartingScope(const Session& session) noexcept;
    ~DepartingScope();
    DepartingScope(const DepartingScope&) = delete;
    DepartingScope& operator=(const DepartingScope&) = delete;
    static const Session* current() noexcept;

private:
    const Session* previous_;
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
    /// Takes a finished session out of the table; it is destroyed at the
    /// end of the iteration.
    void reap(Session& session);
    /// The live session `id` accepted as descriptor `slot`, or null.
    Session* find(ClientId id, int slot) const noexcept;
    /// A session whose handshake waits for decide_handshake(), or null.
    Session* find_deciding(ClientId id) const;
    void set_deciding(Session& session, bool deciding);
    std::size_t session_count() const noexcept { return session_count_; }
    /// Milliseconds since the loop was made, wrapping (see Millis).
    Millis now_ms() const noexcept { return now_ms_at(EventLoop::Clock::now()); }
    Millis now_ms_at(EventLoop::Clock::time_point t) const noexcept {
        return static_cast<Millis>(
            std::chrono::duration_cast<std::chrono::milliseconds>(t - epoch_).count());
    }
    /// The core configuration for connections with `deflate` agreed (or
    /// none), shared by all of this loop's connections that agreed the same.
    const core::ConnectionConfig*
    connection_config(const std::optional<core::DeflateParams>& deflate);
    /// The zlib streams this loop's connections borrow; only on its thread.
    core::ZlibStreamPool& deflate_streams() noexcept { return deflate_streams_; }

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
    /// Every live session by descriptor (owned: deleted once reaped). The
    /// event loop's table of watchers is that table (a pointer per
    /// descriptor, no hash node per session): apart from this Loop (the
    /// listening socket) only sessions watch on it.
    Session* session_at(int fd) const noexcept;
    // Before the sessions: their connections point into these. One pool of
    // zlib streams for the loop's connections: a compressed message borrows
    // one (no context takeover), so idle clients hold none.
    core::ZlibStreamPool deflate_streams_;
    std::vector<std::unique_ptr<core::ConnectionConfig>> connection_configs_;
    std::size_t session_count_ = 0;
    std::unordered_map<ClientId, Session*> deciding_; // handshakes the hook deferred
    std::vector<Session*> dirty_;
    std::vector<std::unique_ptr<Session>> reap_; // finished, destroyed at the iteration's end
    EventLoop::Clock::duration tick_interval_{};
    EventLoop::Clock::time_point next_tick_{};
    const EventLoop::Clock::time_point epoch_ = EventLoop::Clock::now();
    bool stopping_ = false;
    EventLoop::Clock::time_point stop_deadline_{};
};

} // namespace nexus::io::detail

namespace nexus::io {

struct WebSocketServer::Impl {
    Impl(ServerConfig config, ServerHandler& handler);
    ~Impl();

    struct Target {
        ClientId id;
        int slot; // Session::slot()
        unsigned loop;
        int deflate_window;
    };

    /// Runs `action` with the session of `id` on its loop: at once when
    /// called there, else posted. Returns unknown_client when `id` is not
    /// registered.
    /// `marks_closing`: the action starts the close, so operations from other
    /// threads are refused from now on (not only once the loop ran it).
    SendResult with_session(ClientId id, std::function<SendResult(detail::Session&)> action,
                            bool marks_closing = false);
    /// send() from a thread other than the session's loop: copies the
    /// payload into a task for that loop. The bytes posted and not yet
    /// queued count against max_send_queue: over it the client is cut off
    /// (1008) and queue_full returned, so memory stays bounded however fast
    /// the caller sends.
    SendResult post_send(detail::Loop& loop, ClientId id, int slot,
                         std::span<const std::uint8_t> data, bool binary);
    /// Queues one message, encoded once (and compressed once per window
    /// size in use), to every target, grouped per loop.
    std::size_t deliver_encoded(const std::vector<Target>& targets,
                                std::span<const std::uint8_t> data, bool binary);

    /// The operations on this server's own clients (the public ones add the
    /// other servers' when scaling).
    SendResult send_local(ClientId id, std::span<const std::uint8_t> data, bool binary);
    std::size_t broadcast_local(std::span<const std::uint8_t> data, bool binary, ClientId except);
    std::size_t publish_local(std::string_view channel, std::span<const std::uint8_t> data,
                              bool binary);
    SendResult disconnect_local(ClientId id, std::uint16_t code, std::string_view reason);
    ServerStats local_stats() const;
    /// The client as presence in Redis keeps it; needs registry_mutex
    /// unless the session is not registered yet.
    std::string presence_record(const detail::Session& session) const;
    /// Scaling: made by the constructor (a bad REDIS_URL fails it), started
    /// by start() before the port opens (client ids then carry the node id).
    void make_backplane();
    void start_backplane();

    /// Connected clients, counted against max_clients.
    std::size_t client_count_for_limit() const;
    /// Called by the session's loop once its record is filled in.
    void register_client(detail::Session& session);
    void unregister_client(ClientId id);
    /// The registered session of `id` or null; needs registry_mutex.
    detail::Session* registered(ClientId id) const;

    ServerConfig config;
    ServerHandler& handler;
    /// Made by start() from config.tls; null for plain ws://.
    std::unique_ptr<detail::TlsContext> tls;
    std::vector<std::unique_ptr<detail::Loop>> loops;
    std::vector<std::thread> threads;
    std::atomic<ClientId> next_id{1};
    std::atomic<bool> started{false};
    std::atomic<bool> stopping{false};
    std::atomic<unsigned> loops_done{0};
    std::uint16_t bound_port = 0;

    mutable std::shared_mutex registry_mutex;
    /// Connected clients. A session is unregistered by its loop before it is
    /// destroyed, so holding the lock keeps every one alive; its ClientRecord
    /// is read under the lock (shared) and changed under it (unique).
    detail::SessionTable registry;
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

    /// Scaling: made with the server when config.scaling is enabled,
    /// started by start(). Last, so that it goes first: its threads reach
    /// everything above.
    std::unique_ptr<detail::BackplaneSink> cluster_sink;
    std::unique_ptr<detail::Backplane> backplane;
};

} // namespace nexus::io
