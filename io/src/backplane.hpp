// Private: the link from one server to the others through Redis
// (docs/scaling.md has the layout of keys and channels).
//
// Two threads of its own, each with its own connection: the publisher sends
// what the server hands over (in order: one queue, one connection, so Redis
// relays each server's messages in the order it sent them) and keeps this
// server's presence alive; the subscriber receives what other servers send
// and hands it to the Sink. Neither ever blocks an event loop: operations
// only queue (bounded by ScalingConfig::max_backlog), and while Redis is
// unreachable remote deliveries are dropped and counted, both threads
// reconnect with backoff, and the server goes on serving its own clients.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <Poco/Redis/Array.h>

#include "cluster_codec.hpp"
#include "nexus/io/scaling.hpp"
#include "nexus/io/websocket_server.hpp"

namespace nexus::io::detail {

class RedisLink;

/// What the server provides to the backplane. Called from its threads.
class BackplaneSink {
public:
    virtual ~BackplaneSink() = default;
    /// Messages from other servers, for the clients here, in order (what
    /// arrived together: deliver them in one go).
    virtual void deliver(std::vector<Envelope>& envelopes) = 0;
    /// Something went wrong (or recovered, `error` false): report it.
    virtual void backplane_event(bool error, const std::string& message) = 0;
    /// Every local client as presence keeps it (id, encoded record).
    virtual std::vector<std::pair<ClientId, std::string>> presence_snapshot() = 0;
    virtual ServerStats local_stats() = 0;
};

class Backplane {
public:
    using Sink = BackplaneSink;

    /// Throws std::invalid_argument for a bad REDIS_URL or prefix.
    Backplane(const ScalingConfig& config, Sink& sink);
    ~Backplane();
    Backplane(const Backplane&) = delete;
    Backplane& operator=(const Backplane&) = delete;

    /// Gets a node id from Redis (waits at most the timeout; a random one
    /// when Redis cannot be reached) and starts both threads.
    void start();
    /// Asks both threads to end: the publisher sends what is queued, says
    /// goodbye (this server leaves presence at once) and ends. Returns at
    /// once; any thread.
    void request_stop() noexcept;
    /// request_stop(), then waits for both threads (each Redis call they
    /// may be in is bounded by the timeout). Idempotent.
    void stop() noexcept;

    std::uint32_t node() const noexcept { return node_; }
    /// The first client id of this server.
    ClientId first_client_id() const noexcept {
        return (static_cast<ClientId>(node_) << k_node_shift) + 1;
    }
    bool is_local(ClientId id) const noexcept { return node_of(id) == node_; }

    /// Queue for the other servers (any thread). broadcast/publish return
    /// false when dropped (Redis down, backlog full).
    bool broadcast(std::span<const std::uint8_t> data, bool binary, ClientId except);
    bool publish(std::string_view channel, std::span<const std::uint8_t> data, bool binary);
    /// To a client of another server: unknown_client when no live server
    /// has its node id, unavailable when Redis is down or the backlog full.
    SendResult send(ClientId id, std::span<const std::uint8_t> data, bool binary);
    SendResult disconnect(ClientId id, std::uint16_t code, std::string_view reason);

    /// Presence of local clients (any thread; in order per client).
    void client_joined(ClientId id, const std::string& record);
    void client_left(ClientId id);

    /// Clients of the other live servers, and their statistics. Blocking
    /// (a few round trips on a connection of its own, each bounded by the
    /// timeout); throws SocketError when Redis cannot be asked.
    std::vector<ClientInfo> remote_clients();
    std::vector<ServerStats> remote_stats();

    /// remote_* counters and backplane_up, for stats().
    void add_counters(ServerStats& stats) const;

private:
    /// Commands as RESP bytes, made by the caller's thread: no Poco::Redis
    /// object crosses threads (their elements are shared on copy).
    struct Outgoing {
        std::string wire;
        std::uint8_t replies = 1; // commands in `wire`
        bool message = false;     // counts as remote_out / remote_dropped
    };

    std::string key(std::string_view suffix) const;
    std::string node_key(std::string_view what, std::uint32_t node) const;
    /// Queues `item` for the publisher (any thread); false when it was
    /// dropped: the publisher is down or the backlog is full.
    bool enqueue(Outgoing item);
    bool publish_envelope(const std::string& channel, const Envelope& envelope);
    /// Publishes a send or disconnect on the channel of its client's server.
    SendResult to_client(const Envelope& envelope);
    void publisher_main();
    void subscriber_main();
    /// The envelope a subscriber reply carries for the Sink, if any (keeps
    /// the live servers up to date with hello/bye on the way).
    std::optional<Envelope> received(const Poco::Redis::RedisType::Ptr& reply);
    /// Registers this node and rewrites its presence (after each connect).
    void register_node(RedisLink& link);
    void heartbeat(RedisLink& link);
    /// Re-reads which servers are alive.
    void refresh_live_nodes(RedisLink& link);
    std::vector<std::uint32_t> live_nodes(RedisLink& link);
    void link_lost(bool publisher, const std::exception& e);
    void link_up(bool publisher);
    /// Waits `delay`, or less when stopping; false when stopping.
    bool pause(std::chrono::milliseconds delay);
    /// Runs `run` on the query connection (one query at a time), mapping
    /// failures to SocketError.
    template <typename Query>
    auto query(Query&& run) -> decltype(run(std::declval<RedisLink&>()));

    const ScalingConfig config_;
    const RedisEndpoint endpoint_;
    Sink& sink_;
    std::uint32_t node_ = 0;
    std::string all_channel_;
    std::string own_channel_;

    mutable std::mutex mutex_; // guards the queue, live_ and the state below
    std::condition_variable wakeup_;
    std::deque<Outgoing> queue_;
    std::size_t queued_bytes_ = 0;
    bool publisher_up_ = false;
    bool subscriber_up_ = false;
    bool stopping_ = false;
    bool reported_down_ = false;
    bool resync_ = false;          // a presence change was dropped: rewrite presence
    bool refresh_ = false;         // re-read the live servers soon (the subscriber reconnected)
    std::set<std::uint32_t> live_; // other servers known alive

    std::mutex query_mutex_; // one query at a time on query_link_
    std::unique_ptr<RedisLink> query_link_;

    int wake_fd_ = -1; // an eventfd that interrupts the subscriber's wait
    std::thread publisher_;
    std::thread subscriber_;

    std::atomic<std::uint64_t> remote_out_{0};
    std::atomic<std::uint64_t> remote_in_{0};
    std::atomic<std::uint64_t> remote_dropped_{0};
    std::atomic<std::uint64_t> errors_{0};
};

} // namespace nexus::io::detail
