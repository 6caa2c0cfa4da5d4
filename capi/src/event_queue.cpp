#include "event_queue.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "nexus/socket.h"

namespace nexus::capi {

EventQueue::EventQueue(bool handshake_events, std::uint64_t byte_limit, int notify_fd)
    : handshake_events_(handshake_events), byte_limit_(byte_limit), notify_fd_(notify_fd) {}

io::HandshakeDecision EventQueue::on_handshake(const io::HandshakeView& request) {
    if (!handshake_events_) {
        return {};
    }
    PendingRequest pending;
    pending.peer = request.peer;
    pending.path = request.path;
    pending.query = request.query;
    pending.origin = request.origin;
    for (const auto& [name, value] : request.headers) {
        pending.headers.append(name).append(": ").append(value).append("\r\n");
    }
    {
        const std::lock_guard lock(mutex_);
        pending_.insert_or_assign(request.id, std::move(pending));
    }
    QueuedEvent event;
    event.kind = NX_EVENT_HANDSHAKE;
    event.client = request.id;
    push(std::move(event), true);
    return io::HandshakeDecision::deferred();
}

void EventQueue::on_connect(io::ClientId id, const io::ClientInfo&) {
    if (handshake_events_) {
        std::string user_data;
        {
            const std::lock_guard lock(mutex_);
            const auto it = accepted_.find(id);
            if (it != accepted_.end()) {
                user_data = std::move(it->second);
                accepted_.erase(it);
            }
        }
        // Registered by now (the server tells connect after that), and the
        // registry's lock is not held around this call.
        if (!user_data.empty() && server_ != nullptr) {
            server_->set_user_data(id, std::move(user_data));
        }
    }
    QueuedEvent event;
    event.kind = NX_EVENT_CONNECT;
    event.client = id;
    push(std::move(event), true);
}

void EventQueue::on_message(io::ClientId id, std::span<const std::uint8_t> data, bool binary) {
    QueuedEvent event;
    event.kind = NX_EVENT_MESSAGE;
    event.client = id;
    event.opcode = binary ? NX_OPCODE_BINARY : NX_OPCODE_TEXT;
    event.data.assign(reinterpret_cast<const char*>(data.data()), data.size());
    if (!push(std::move(event), false) && server_ != nullptr) {
        // The host is not keeping up: cutting this client off keeps memory
        // bounded, and 1013 tells it to come back later (IANA registry).
        server_->disconnect(id, 1013, "server overloaded");
        on_error(id, fmt::format("event queue over {} bytes: client {} disconnected with 1013",
                                 byte_limit_, id));
    }
}

void EventQueue::on_disconnect(io::ClientId id, std::uint16_t code, std::string_view reason) {
    // io calls this while the client is still registered: keep what the
    // host may still ask about it while it handles the event.
    if (server_ != nullptr) {
        if (auto info = server_->client(id)) {
            const std::lock_guard lock(mutex_);
            departed_.insert_or_assign(id, std::move(*info));
        }
    }
    QueuedEvent event;
    event.kind = NX_EVENT_DISCONNECT;
    event.client = id;
    event.close_code = code;
    event.data.assign(reason);
    push(std::move(event), true);
}

void EventQueue::on_error(io::ClientId id, std::string_view message) {
    QueuedEvent event;
    event.kind = NX_EVENT_ERROR;
    event.client = id;
    event.data.assign(message);
    push(std::move(event), true);
}

void EventQueue::on_request_dropped(io::ClientId id) {
    bool unanswered = false;
    {
        const std::lock_guard lock(mutex_);
        unanswered = pending_.erase(id) > 0;
        if (!unanswered && accepted_.erase(id) == 0) {
            return; // rejected by the host: it knows
        }
    }
    // The host saw a HANDSHAKE event and holds state for it: tell it the
    // request is gone, so that no connect event is awaited.
    on_error(id, unanswered
                     ? fmt::format("handshake request {} ended before it was answered (timeout, "
                                   "peer left or server stopping)",
                                   id)
                     : fmt::format("accepted request {} did not become a client (over "
                                   "max_clients: 503, or the peer left)",
                                   id));
}

std::optional<io::ClientInfo> EventQueue::departed(std::uint64_t id) const {
    const std::lock_guard lock(mutex_);
    const auto it = departed_.find(id);
    if (it == departed_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void EventQueue::forget_departed(std::uint64_t id) {
    const std::lock_guard lock(mutex_);
    departed_.erase(id);
}

bool EventQueue::push(QueuedEvent event, bool essential) {
    const std::lock_guard lock(mutex_);
    if (!essential && bytes_ + event.data.size() > byte_limit_) {
        return false;
    }
    bytes_ += event.data.size();
    const bool was_empty = queue_.empty();
    queue_.push_back(std::move(event));
    if (was_empty && notify_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(notify_fd_, &one, sizeof one);
    }
    return true;
}

bool EventQueue::pop(QueuedEvent& out) {
    const std::lock_guard lock(mutex_);
    if (queue_.empty()) {
        return false;
    }
    out = std::move(queue_.front());
    queue_.pop_front();
    bytes_ -= out.data.size();
    if (queue_.empty() && notify_fd_ >= 0) {
        // Drained: the descriptor stops being readable until the next push.
        std::uint64_t count = 0;
        [[maybe_unused]] const auto n = ::read(notify_fd_, &count, sizeof count);
    }
    return true;
}

std::optional<PendingRequest> EventQueue::pending(std::uint64_t id) const {
    const std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool EventQueue::take_pending(std::uint64_t id, bool accepted) {
    const std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) {
        return false;
    }
    if (accepted) {
        accepted_.insert_or_assign(id, std::move(it->second.user_data));
    }
    pending_.erase(it);
    return true;
}

bool EventQueue::set_pending_user_data(std::uint64_t id, std::string data) {
    const std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) {
        return false;
    }
    it->second.user_data = std::move(data);
    return true;
}

} // namespace nexus::capi
