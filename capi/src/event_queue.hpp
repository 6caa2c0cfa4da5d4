// The server's events on their way to the host: io calls the handler on
// its loop thread, the handler copies each event into a bounded queue, and
// the host takes them with nx_ws_server_poll(). No host code ever runs on a
// loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "nexus/io/websocket_server.hpp"

namespace nexus::capi {

struct QueuedEvent {
    int kind = 0; // enum nx_event_kind
    std::uint64_t client = 0;
    int opcode = 0;
    int close_code = 0;
    std::string data;
};

/// A request held back for the host's handshake decision.
struct PendingRequest {
    std::string peer;
    std::string path;
    std::string query;
    std::string origin;
    std::string headers;   // "Name: value\r\n" lines
    std::string user_data; // set by the host while it decides; the client's from connect on
};

class EventQueue final : public io::ServerHandler {
public:
    /// `handshake_events`: defer every upgrade to the host. `byte_limit`:
    /// payload bytes the queue may hold. `notify_fd`: an eventfd made
    /// readable while the queue is not empty, or -1 (the host drives the
    /// loop itself and needs no signal).
    EventQueue(bool handshake_events, std::uint64_t byte_limit, int notify_fd);

    /// The server to cut clients off on when the queue is full. Set once,
    /// before the server starts.
    void attach(io::WebSocketServer& server) noexcept { server_ = &server; }

    io::HandshakeDecision on_handshake(const io::HandshakeView& request) override;
    void on_connect(io::ClientId id, const io::ClientInfo& info) override;
    void on_message(io::ClientId id, std::span<const std::uint8_t> data, bool binary) override;
    void on_disconnect(io::ClientId id, std::uint16_t code, std::string_view reason) override;
    void on_error(io::ClientId id, std::string_view message) override;
    void on_request_dropped(io::ClientId id) override;

    /// Moves the oldest event into `out`; false when there is none.
    bool pop(QueuedEvent& out);

    /// The request behind a HANDSHAKE event, while the host has not
    /// answered it.
    std::optional<PendingRequest> pending(std::uint64_t id) const;
    /// Forgets the request; false when none was waiting. `accepted`: the
    /// host let it in, so a drop before its connect event is reported.
    bool take_pending(std::uint64_t id, bool accepted = false);
    /// Keeps the host's data with a request awaiting its decision; if the
    /// request is accepted the client has it from its connect event on.
    /// False when no request with that id waits.
    bool set_pending_user_data(std::uint64_t id, std::string data);

    /// What was known of a client that left, until its disconnect event has
    /// been handled (the host forgets it with forget_departed()).
    std::optional<io::ClientInfo> departed(std::uint64_t id) const;
    void forget_departed(std::uint64_t id);

private:
    /// Queues `event`; `essential` events (connect, disconnect, errors) are
    /// never refused, messages are refused when over the byte limit.
    bool push(QueuedEvent event, bool essential);

    const bool handshake_events_;
    const std::uint64_t byte_limit_;
    const int notify_fd_;
    io::WebSocketServer* server_ = nullptr;

    mutable std::mutex mutex_;
    std::deque<QueuedEvent> queue_;
    std::uint64_t bytes_ = 0;
    std::unordered_map<std::uint64_t, PendingRequest> pending_;
    // Accepted, connect event not yet queued: the user data to give the client.
    std::unordered_map<std::uint64_t, std::string> accepted_;
    // One entry per disconnect event not yet handed out (and the last one
    // that was): bounded by the event queue.
    std::unordered_map<std::uint64_t, io::ClientInfo> departed_;
};

} // namespace nexus::capi
