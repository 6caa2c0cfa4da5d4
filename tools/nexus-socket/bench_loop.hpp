// The client side of `nexus-socket bench`: many WebSocket client
// connections driven by one epoll loop on one thread, each a core
// `Connection` (client role) over a non-blocking TCP socket, or over TLS
// (wss://) with OpenSSL on that socket.
//
// The loop owns sockets, handshakes, closing and error counting; what is sent
// and measured belongs to a `Workload`, which the loop calls when a
// connection opens, when a message arrives and when an open connection ends.
// Writes are batched: send() only queues, and every connection with output
// is written once at the end of each loop iteration.
//
// Not security-sensitive: mask keys and handshake nonces come from a fast
// non-cryptographic generator (RFC 6455 §5.3 asks for strong entropy to
// protect intermediaries from browser scripts; a load generator on loopback
// has no such adversary, and a CSPRNG per frame would cost throughput).
#pragma once

#include <netinet/in.h>
#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nexus/core/connection.hpp"
#include "nexus/core/handshake.hpp"

namespace nexus::tool::bench {

/// splitmix64: fast, seeded, not cryptographic.
class FastRandom {
public:
    explicit FastRandom(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept;
    void fill(std::span<std::uint8_t> out) noexcept;

private:
    std::uint64_t state_;
};

/// Why a connection failed. The names are those of the JSON report.
enum class ErrorKind : std::uint8_t {
    connect,       // connect() failed: refused, no route, no free port
    reset,         // the transport ended or broke without a close handshake
    handshake,     // the server refused or broke the opening handshake
    protocol,      // the server broke RFC 6455 after the handshake
    server_closed, // the server sent a close frame we did not ask for
    timeout,       // connect, handshake or close took longer than its bound
    bad_echo,      // a reply that does not match what was sent
    count_
};
inline constexpr std::size_t k_error_kinds = static_cast<std::size_t>(ErrorKind::count_);
const char* error_name(ErrorKind kind) noexcept;

/// One server: an IPv4 loopback address and its Host header.
struct Endpoint {
    sockaddr_in address{};
    std::string host_header; // "127.0.0.1:9001"
};

/// Where to connect and what to ask for. With several endpoints (servers
/// sharing clients through Redis) connections go to them in turn.
struct Target {
    std::vector<Endpoint> endpoints; // at least one
    std::string path = "/";
    /// wss://: the client context (not owned; outlives the loop). Every
    /// connection makes a full TLS handshake (no session resumption: the
    /// cost a new client pays) and certificates are not verified (a load
    /// generator against a server on loopback).
    SSL_CTX* tls = nullptr;
    /// Offer permessage-deflate (RFC 7692) and require it: a server that
    /// does not agree fails the handshake. The load generator sends its
    /// messages uncompressed (each message may choose, §6) and inflates what
    /// the server compresses, so the server's compressing is what a run
    /// measures.
    bool deflate = false;
};

enum class SlotState : std::uint8_t { free, connecting, handshaking, open, closing };

class Loop;

/// What the loop tells a workload. Callbacks may call Loop::send() and
/// Loop::close() on any slot; they never see a slot disappear under them
/// (slots end only between callbacks).
class Workload {
public:
    virtual ~Workload() = default;
    Workload() = default;
    Workload(const Workload&) = delete;
    Workload& operator=(const Workload&) = delete;

    /// The handshake of `slot` completed at `now`; it started at
    /// Loop::started_ns(slot).
    virtual void on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) = 0;
    /// A text or binary message; `event.payload` is valid during the call.
    virtual void on_message(Loop& loop, std::uint32_t slot, const core::Event& event,
                            std::uint64_t now) = 0;
    /// An open connection ended (cleanly after our close, or with an error
    /// already counted). The slot may be reused afterwards.
    virtual void on_gone(Loop& loop, std::uint32_t slot) = 0;
};

class Loop {
public:
    /// Throws std::runtime_error when epoll cannot be created.
    Loop(Target target, Workload& workload);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    /// Starts a connection from `source` (an IPv4 address in network byte
    /// order; 0 lets the kernel choose). Returns false when it failed at once
    /// (counted as a connect error).
    bool open(std::uint32_t source = 0);
    /// Queues one message on an open slot; ignored otherwise. Written at the
    /// end of the current iteration.
    void send(std::uint32_t slot, std::span<const std::uint8_t> payload, bool binary);
    /// Starts the close handshake of an open slot (code 1000, §7.1.2); a slot
    /// still connecting is dropped at the end of the iteration.
    void close(std::uint32_t slot);
    void close_all();
    /// Ends every connection now without a close handshake (not counted).
    void abort_all();

    /// One iteration: waits at most `timeout_ms` for events, handles them,
    /// writes what was queued, enforces the connect/handshake/close bounds.
    void poll(int timeout_ms);

    /// Connections connecting or handshaking.
    std::size_t pending() const noexcept { return pending_; }
    /// Connections open (handshake complete, no close started).
    std::size_t open_count() const noexcept { return open_; }
    /// Every slot not free.
    std::size_t active() const noexcept { return active_; }
    /// Handshakes completed since the start.
    std::uint64_t handshakes() const noexcept { return handshakes_; }
    /// Bytes of HTTP and WebSocket frames (after compression, before TLS)
    /// written to and read from every connection since the start.
    std::uint64_t bytes_written() const noexcept { return bytes_written_; }
    std::uint64_t bytes_read() const noexcept { return bytes_read_; }

    SlotState state(std::uint32_t slot) const noexcept { return slots_[slot].state; }
    std::uint64_t started_ns(std::uint32_t slot) const noexcept { return slots_[slot].started_ns; }
    std::size_t slot_count() const noexcept { return slots_.size(); }

    /// Counts an error of the workload's (bad_echo).
    void count_error(ErrorKind kind, const std::string& detail);
    std::uint64_t errors() const noexcept;
    const std::array<std::uint64_t, k_error_kinds>& error_counts() const noexcept {
        return errors_;
    }
    /// The first message seen of each kind, for the report.
    const std::array<std::string, k_error_kinds>& error_details() const noexcept {
        return details_;
    }

    /// How long a connect + handshake and a close handshake may take.
    static constexpr std::uint64_t k_open_bound_ns = 10'000'000'000;
    static constexpr std::uint64_t k_close_bound_ns = 3'000'000'000;

private:
    struct Slot {
        int fd = -1;
        std::uint32_t generation = 0;
        SlotState state = SlotState::free;
        bool want_out = false; // EPOLLOUT registered
        bool dirty = false;    // on dirty_
        bool we_closed = false;
        std::uint64_t started_ns = 0;
        std::uint64_t deadline_ns = 0;
        std::unique_ptr<core::ClientHandshake> handshake;
        std::size_t request_sent = 0;
        std::unique_ptr<core::Connection> connection;
        SSL* ssl = nullptr;         // wss:// only; freed by finish()
        std::uint32_t endpoint = 0; // index into Target::endpoints
    };

    /// One read or write on a slot's transport: bytes (> 0), 0 at the end
    /// of the stream (reads), would_block, or failed (with `error` set).
    static constexpr long k_would_block = -1;
    static constexpr long k_failed = -2;
    long read_some(Slot& slot, std::string& error);
    long write_some(Slot& slot, const std::uint8_t* data, std::size_t size, std::string& error);

    std::uint32_t take_slot();
    void watch(std::uint32_t index, std::uint32_t events, bool add);
    void on_connected(std::uint32_t index);
    void on_readable(std::uint32_t index);
    /// The core configuration of a slot whose handshake completed; false
    /// (after failing the slot) when the server's extensions are not usable.
    bool connection_config(std::uint32_t index, core::ConnectionConfig& config);
    /// Reads and handles one buffer; false when the socket has nothing more
    /// now or the slot ended.
    bool read_once(std::uint32_t index);
    void feed(std::uint32_t index, std::span<std::uint8_t> data);
    void flush(std::uint32_t index);
    void mark_dirty(std::uint32_t index);
    /// Ends a slot: closes the socket, tells the workload if it was open.
    void finish(std::uint32_t index);
    void fail(std::uint32_t index, ErrorKind kind, const std::string& detail);
    void set_state(Slot& slot, SlotState state) noexcept;
    void sweep_deadlines(std::uint64_t now);

    Target target_;
    std::uint32_t next_endpoint_ = 0; // the endpoint the next open() uses
    Workload& workload_;
    FastRandom random_;
    int epoll_fd_ = -1;
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<std::uint32_t> dirty_;
    std::vector<std::uint32_t> doomed_;     // not-open slots close() asked to drop
    std::vector<std::uint8_t> read_buffer_; // one for all connections
    std::size_t pending_ = 0;
    std::size_t open_ = 0;
    std::size_t active_ = 0;
    std::uint64_t handshakes_ = 0;
    std::uint64_t bytes_written_ = 0;
    std::uint64_t bytes_read_ = 0;
    std::uint64_t next_sweep_ns_ = 0;
    std::array<std::uint64_t, k_error_kinds> errors_{};
    std::array<std::string, k_error_kinds> details_{};
};

} // namespace nexus::tool::bench
