// One server connection: reading, the handshake, the WebSocket, writing,
// timers and the end of it.
#include <Poco/Net/SocketAddress.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <optional>

#include "nexus/core/utf8.hpp"
#include "server_impl.hpp"
#include "slot_pool.hpp"
#include "socket_io.hpp"
#include "static_files.hpp"

namespace nexus::io::detail {
namespace {

using Clock = EventLoop::Clock;

/// Messages this large are written straight from the caller's buffer when
/// nothing is queued before them (smaller ones are batched per iteration).
constexpr std::size_t k_direct_write_min = 4096;

/// Reads per readiness before yielding to other connections.
constexpr int k_reads_per_wakeup = 4;

/// A configured timeout in milliseconds, capped at k_max_timeout_ms (24.8
/// days) so that session times stay comparable (see Millis).
Millis cap(std::chrono::milliseconds timeout) noexcept {
    const auto ms = timeout.count();
    return ms <= 0 ? 0 : ms >= k_max_timeout_ms ? k_max_timeout_ms : static_cast<Millis>(ms);
}

/// True once `now` reached `deadline` (both within 24.8 days of each other).
bool reached(Millis now, Millis deadline) noexcept {
    return static_cast<std::int32_t>(now - deadline) >= 0;
}

} // namespace

/// What only the opening handshake needs; freed once its answer is written.
struct Session::Opening {
    explicit Opening(const core::HttpLimits& limits) : handshake(limits) {}

    core::ServerHandshake handshake;
    core::ByteBuffer parked;   // bytes read while deciding
    core::ByteBuffer response; // the 101, or the HTTP response before closing
    std::size_t response_pos = 0;
};

struct Session::Side {
    std::optional<Opening> opening;
    std::string close_reason; // what on_disconnect reports
};

Session::Opening* Session::opening() const noexcept {
    return side_ && side_->opening ? &*side_->opening : nullptr;
}

void Session::end_opening() noexcept {
    if (side_) {
        side_->opening.reset();
        if (side_->close_reason.empty()) {
            side_.reset();
        }
    }
}

namespace {

/// Never destroyed: a session may outlive static destruction's order.
SlotPool& session_pool() {
    static auto* pool = new SlotPool(sizeof(Session));
    return *pool;
}

constexpr std::size_t k_byte_classes = 32; // 8, 16, ..., 256 bytes

SlotPool* byte_pool(std::size_t size) {
    static auto* pools = [] {
        auto* made = new std::array<SlotPool*, k_byte_classes>();
        for (std::size_t i = 0; i < k_byte_classes; ++i) {
            (*made)[i] = new SlotPool((i + 1) * 8);
        }
        return made;
    }();
    return size > 0 && size <= k_byte_classes * 8 ? (*pools)[(size - 1) / 8] : nullptr;
}

} // namespace

std::uint8_t* allocate_bytes(std::size_t size) {
    if (SlotPool* pool = byte_pool(size)) {
        return static_cast<std::uint8_t*>(pool->allocate());
    }
    return static_cast<std::uint8_t*>(::operator new(size));
}

void release_bytes(std::uint8_t* bytes, std::size_t size) noexcept {
    if (bytes == nullptr) {
        return;
    }
    if (SlotPool* pool = byte_pool(size)) {
        pool->release(bytes);
    } else {
        ::operator delete(bytes);
    }
}

void* Session::operator new(std::size_t size) {
    return size == sizeof(Session) ? session_pool().allocate() : ::operator new(size);
}

void Session::operator delete(void* session, std::size_t size) noexcept {
    if (size == sizeof(Session)) {
        session_pool().release(session);
    } else {
        ::operator delete(session);
    }
}

PeerAddress PeerAddress::from(const sockaddr* address, socklen_t length) noexcept {
    PeerAddress peer;
    if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(address);
        peer.family = AF_INET;
        peer.port = ntohs(in->sin_port);
        std::memcpy(peer.bytes, &in->sin_addr, 4);
    } else if (address->sa_family == AF_INET6 &&
               length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        peer.family = AF_INET6;
        peer.port = ntohs(in6->sin6_port);
        peer.scope = in6->sin6_scope_id;
        std::memcpy(peer.bytes, &in6->sin6_addr, 16);
    }
    return peer;
}

std::string PeerAddress::to_string() const {
    if (family == AF_INET) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        std::memcpy(&in.sin_addr, bytes, 4);
        return Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof in)
            .toString();
    }
    if (family == AF_INET6) {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        in6.sin6_scope_id = scope;
        std::memcpy(&in6.sin6_addr, bytes, 16);
        return Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&in6), sizeof in6)
            .toString();
    }
    return {};
}

template <typename Call>
void Session::guarded(const char* what, Call&& call) noexcept {
    // An exception from the application's handler must not unwind through
    // the event loop: it is reported, and the loop carries on.
    try {
        call();
    } catch (const std::exception& e) {
        log(LogLevel::error, "{} threw for client {}: {}", what, id_, e.what());
        try {
            loop_.server.handler.on_error(id_, std::string(what) + " threw: " + e.what());
        } catch (...) {
        }
    } catch (...) {
        log(LogLevel::error, "{} threw for client {}", what, id_);
    }
}

Session::Session(Loop& loop, int fd, ClientId id, const PeerAddress& peer)
    : loop_(loop), id_(id), fd_(fd) {
    client.peer = peer;
    timer_ = loop_.now_ms() + cap(loop_.server.config.handshake_timeout);
    try {
        core::HttpLimits limits;
        limits.max_header_bytes = loop_.server.config.max_header_bytes;
        if (!side_) {
            side_ = std::make_unique<Side>();
        }
        side_->opening.emplace(limits);
        loop_.loop.watch(fd_, this, EventLoop::readable);
    } catch (...) {
        ::close(fd_);
        throw;
    }
}

Session::~Session() {
    if (phase_ != Phase::finished) {
        // finish() closed it otherwise. No end_transport() here: a derived
        // transport ends itself in its own destructor, before this one.
        release_descriptor();
    }
    if (has_ws_) {
        ws_.value.~Connection();
    }
}

std::size_t Session::queued_bytes() const noexcept {
    if (has_ws_) {
        return ws_.value.data_to_send().size();
    }
    return opening() != nullptr ? opening()->response.size() - opening()->response_pos : 0;
}

bool Session::compressed() const noexcept {
    return has_ws_ && ws_.value.config().deflate.has_value();
}

unsigned Session::loop_index() const noexcept {
    return loop_.index;
}

void Session::on_ready(int events) {
    if (phase_ == Phase::finished) {
        return;
    }
    if ((events & EventLoop::writable) != 0) {
        flush();
    }
    const bool resumes_read = (events & EventLoop::writable) != 0 && read_wants_write();
    if (((events & (EventLoop::readable | EventLoop::failed)) != 0 || resumes_read) &&
        phase_ != Phase::finished) {
        read_available();
    }
}

void Session::read_available() {
    std::uint8_t* buffer = loop_.read_buffer.get();
    // Bytes a TLS transport holds already raise no poll event: they are read
    // now, past the per-wakeup bound.
    for (int i = 0;
         (i < k_reads_per_wakeup || buffered_input()) && phase_ != Phase::finished && !eof_; ++i) {
        const IoResult r = receive(buffer, Loop::k_read_buffer_size);
        if (r.status == IoStatus::would_block) {
            if (read_wants_write()) {
                mark_dirty(); // flush() watches for writability
            }
            return;
        }
        if (r.status == IoStatus::failed && connected_) {
            // A reset ends the connection as if the peer vanished (1006).
            loop_.server.handler.on_error(id_, "read: " + describe(r));
        }
        const std::size_t n = r.bytes;
        if (r.status != IoStatus::done) {
            eof_ = true;
        } else {
            active_ = true;
            awaiting_pong_ = false; // anything from the peer shows it is alive
        }
        const std::span<std::uint8_t> data(buffer, n);
        switch (phase_) {
        case Phase::handshake:
            if (eof_) {
                finish(1006, "closed during the handshake");
                return;
            }
            on_handshake_data(data);
            break;
        case Phase::open:
            on_websocket_data(data);
            break;
        case Phase::deciding:
            if (eof_) {
                finish(1006, "closed while the handshake was decided");
                return;
            }
            // Frames sent ahead of our 101 wait here, bounded like a head.
            if (opening()->parked.size() + data.size() > loop_.server.config.max_header_bytes) {
                abort(DropReason::protocol_error, 1006,
                      "too much data before the handshake answer");
                return;
            }
            opening()->parked.append(data);
            break;
        case Phase::http:
            if (eof_) {
                finish(1006, "closed");
            }
            return; // extra request bytes are ignored; the response closes
        case Phase::finished:
            return;
        }
        if (!more_input(n, Loop::k_read_buffer_size)) {
            return; // the socket is drained (level-triggered poll wakes us again)
        }
    }
}

// ---------------------------------------------------------------- handshake

void Session::on_handshake_data(std::span<std::uint8_t> data) {
    std::size_t consumed = 0;
    core::ServerHandshake& handshake = opening()->handshake;
    const auto status = handshake.receive_data(data, consumed);
    if (status == core::ParseStatus::need_more) {
        return;
    }
    if (status == core::ParseStatus::failed) {
        const core::Error error = handshake.error();
        // A valid GET without an Upgrade is a plain HTTP request: the page.
        if (error == core::Error::not_websocket_upgrade) {
            serve_http();
            return;
        }
        loop_.server.counters.handshakes_rejected.fetch_add(1, std::memory_order_relaxed);
        phase_ = Phase::http;
        opening()->response.clear();
        opening()->response.append(handshake.error_response());
        mark_dirty();
        return;
    }
    accept_handshake(data.subspan(consumed));
}

void Session::reject(int status, std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
    loop_.server.counters.handshakes_rejected.fetch_add(1, std::memory_order_relaxed);
    phase_ = Phase::http;
    std::string response;
    if (core::ServerHandshake::reject(status, body, headers, response) != core::Error::ok) {
        core::ServerHandshake::reject(status, body, {}, response); // drop bad hook headers
    }
    opening()->response.clear();
    opening()->response.append(response);
    timer_ = loop_.now_ms() + cap(loop_.server.config.close_timeout);
    mark_dirty();
}

void Session::serve_http() {
    loop_.server.counters.http_requests.fetch_add(1, std::memory_order_relaxed);
    phase_ = Phase::http;
    opening()->response.clear();
    build_static_response(loop_.server.config.static_dir, opening()->handshake.path(),
                          opening()->response);
    timer_ = loop_.now_ms() + cap(loop_.server.config.close_timeout);
    mark_dirty();
}

void Session::accept_handshake(std::span<std::uint8_t> rest) {
    auto& server = loop_.server;
    const ServerConfig& config = server.config;
    const core::ServerHandshake& request = opening()->handshake;
    const std::string_view origin = request.origin().value_or(std::string_view{});

    // Origin allow-list (RFC 6455 §10.2): browsers send Origin; others may not.
    if (!config.allowed_origins.empty() && !origin.empty() &&
        std::find(config.allowed_origins.begin(), config.allowed_origins.end(), origin) ==
            config.allowed_origins.end()) {
        reject(403, "origin not allowed");
        return;
    }

    std::vector<std::pair<std::string_view, std::string_view>> headers;
    headers.reserve(request.headers().size());
    for (const auto& h : request.headers()) {
        headers.emplace_back(h.name, h.value);
    }
    const std::string peer = client.peer.to_string();
    HandshakeView view;
    view.id = id_;
    view.peer = peer;
    view.path = request.path();
    view.query = request.query();
    view.origin = origin;
    view.headers = headers;
    view.subprotocols = request.subprotocols();
    HandshakeDecision decision;
    try {
        decision = server.handler.on_handshake(view);
    } catch (const std::exception& e) {
        server.handler.on_error(0, std::string("handshake hook threw: ") + e.what());
        decision.status = 500;
        decision.body = "internal error";
    }
    if (decision.defer) {
        phase_ = Phase::deciding;
        deferred_ = true;
        opening()->parked.append(rest);
        loop_.set_deciding(*this, true);
        return;
    }
    complete_handshake(decision, rest);
}

SendResult Session::decide(const HandshakeDecision& decision) {
    if (phase_ != Phase::deciding || decision.defer) {
        return SendResult::unknown_client;
    }
    phase_ = Phase::handshake;
    loop_.set_deciding(*this, false);
    core::ByteBuffer parked = std::move(opening()->parked);
    complete_handshake(decision, parked.view());
    return SendResult::ok;
}

void Session::complete_handshake(const HandshakeDecision& decision, std::span<std::uint8_t> rest) {
    auto& server = loop_.server;
    const ServerConfig& config = server.config;
    const core::ServerHandshake& request = opening()->handshake;
    if (decision.status != 0) {
        const int status = decision.status >= 400 && decision.status <= 599 ? decision.status : 403;
        reject(status, decision.body, decision.headers);
        return;
    }
    if (server.client_count_for_limit() >= config.max_clients) {
        reject(503, "too many clients");
        return;
    }

    core::AcceptOptions accept;
    std::int16_t subprotocol = -1;
    for (std::size_t i = 0; i < config.subprotocols.size() && i < 0x7fff; ++i) {
        const std::string& ours = config.subprotocols[i];
        if (std::find(request.subprotocols().begin(), request.subprotocols().end(), ours) !=
            request.subprotocols().end()) {
            accept.subprotocol = ours;
            subprotocol = static_cast<std::int16_t>(i);
            break;
        }
    }
    std::optional<core::DeflateParams> deflate;
    std::string extensions_response;
    if (config.permessage_deflate) {
        std::string& response = extensions_response;
        if (core::negotiate_deflate(request.extensions(), config.deflate, deflate, response) ==
                core::Error::ok &&
            deflate) {
            accept.extensions = response;
        }
    }
    accept.headers = decision.headers;
    std::string response;
    if (request.accept(accept, response) != core::Error::ok) {
        reject(500, "bad handshake response headers");
        return;
    }

    new (&ws_.value) core::Connection(loop_.connection_config(deflate));
    has_ws_ = true;

    client.set_head(request.target(), request.headers());
    client.subprotocol = subprotocol;
    client.deflate_window = static_cast<std::int8_t>(deflate ? deflate->server_max_window_bits : 0);
    client.connected_at = std::chrono::system_clock::now();
    const ClientInfo info = client.expand(id_, config);

    // The 101 goes out ahead of any frame; the parser is done with.
    opening()->response.clear();
    opening()->response.append(response);
    opening()->response_pos = 0;
    phase_ = Phase::open;
    connected_ = true;
    deferred_ = false;
    const Millis now = loop_.now_ms();
    last_message_ = now;
    timer_ = now;
    rate_updated_ = now;
    rate_tokens_ = static_cast<float>(config.max_messages_per_second);
    server.counters.connections_total.fetch_add(1, std::memory_order_relaxed);
    server.register_client(*this);
    mark_dirty();
    guarded("on_connect", [&] { server.handler.on_connect(id_, info); });
    if (!rest.empty() && phase_ == Phase::open) {
        on_websocket_data(rest); // frames that came with the request (§4.2.2 allows it)
    }
}

// ---------------------------------------------------------------- WebSocket

void Session::on_websocket_data(std::span<std::uint8_t> data) {
    if (!data.empty()) {
        ws_.value.receive_data(data);
    }
    if (eof_) {
        // The views of receive_data are drained first, then the EOF.
        dispatch_events();
        ws_.value.receive_eof();
    }
    dispatch_events();
}

void Session::dispatch_events() {
    auto& server = loop_.server;
    const ServerConfig& config = server.config;
    core::Event event;
    while (phase_ == Phase::open && ws_.value.next_event(event)) {
        switch (event.type) {
        case core::EventType::text:
        case core::EventType::binary: {
            last_message_ = loop_.now_ms();
            if (config.max_messages_per_second > 0) {
                // Token bucket: a burst of one second's worth, refilled
                // continuously (tick() keeps rate_updated_ within a second).
                const Millis now = last_message_;
                const double elapsed = static_cast<double>(now - rate_updated_) / 1000.0;
                rate_updated_ = now;
                rate_tokens_ = static_cast<float>(
                    std::min(config.max_messages_per_second,
                             rate_tokens_ + elapsed * config.max_messages_per_second));
                if (rate_tokens_ < 1.0F) {
                    // Over the limit: close once, and deliver nothing more.
                    if (!ws_.value.close_sent()) {
                        server.counters.dropped[static_cast<int>(DropReason::rate_limited)]
                            .fetch_add(1, std::memory_order_relaxed);
                        close(1008, "message rate limit exceeded");
                    }
                    break;
                }
                rate_tokens_ -= 1.0F;
            }
            server.counters.messages_in.fetch_add(1, std::memory_order_relaxed);
            server.counters.bytes_in.fetch_add(event.payload.size(), std::memory_order_relaxed);
            guarded("on_message", [&] {
                server.handler.on_message(id_, event.payload,
                                          event.type == core::EventType::binary);
            });
            break;
        }
        case core::EventType::ping:
            mark_dirty(); // the automatic pong
            break;
        case core::EventType::pong:
            awaiting_pong_ = false;
            break;
        case core::EventType::close:
            if (!closed_locally_) {
                set_close(event.close_code, event.text());
            }
            if (event.error == core::Error::abnormal_closure) {
                set_close(1006, "connection lost");
            }
            mark_dirty();
            break;
        case core::EventType::error:
            server.counters.dropped[static_cast<int>(DropReason::protocol_error)].fetch_add(
                1, std::memory_order_relaxed);
            set_close(event.close_code, core::describe(event.error));
            server.handler.on_error(id_, close_reason());
            mark_dirty();
            break;
        }
    }
    if (phase_ == Phase::open && ws_.value.state() == core::State::closed) {
        mark_dirty(); // flush the close frame, then close the socket
    }
}

SendResult Session::send(std::span<const std::uint8_t> data, bool binary) {
    if (phase_ != Phase::open || !has_ws_ || ws_.value.close_sent()) {
        return phase_ == Phase::open ? SendResult::closing : SendResult::unknown_client;
    }
    if (data.size() >= k_direct_write_min && !opening() && send_direct(data, binary)) {
        return queued();
    }
    const core::Error e =
        binary ? ws_.value.send_binary(data)
               : ws_.value.send_text({reinterpret_cast<const char*>(data.data()), data.size()});
    if (e == core::Error::local_invalid_utf8) {
        return SendResult::invalid_utf8;
    }
    if (e != core::Error::ok) {
        return SendResult::closing;
    }
    auto& counters = loop_.server.counters;
    counters.messages_out.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_out.fetch_add(data.size(), std::memory_order_relaxed);
    last_message_ = loop_.now_ms();
    return queued();
}

SendResult Session::send_encoded(const EncodedMessage& message) {
    if (phase_ != Phase::open || ws_.value.close_sent()) {
        return SendResult::closing;
    }
    const auto& deflate = ws_.value.config().deflate;
    const core::ByteBuffer* compressed =
        deflate ? message.compressed[deflate->server_max_window_bits].get() : nullptr;
    const core::Error e = compressed != nullptr ? ws_.value.send_encoded(compressed->view(), true)
                                                : ws_.value.send_encoded(message.plain.view());
    if (e != core::Error::ok) {
        return SendResult::closing;
    }
    return queued();
}

bool Session::send_direct(std::span<const std::uint8_t> data, bool binary) {
    // A large message with nothing queued before it goes from the caller's
    // buffer to the socket in one gather write; only what the socket does
    // not take is copied into the queue.
    if (!writes_directly(data.size())) {
        return false;
    }
    std::uint8_t header[core::k_max_frame_header_size];
    const std::size_t header_size = ws_.value.direct_frame_header(
        binary ? core::Opcode::binary : core::Opcode::text, data, header);
    if (header_size == 0) {
        return false;
    }
    const IoResult r = transmit_two({header, header_size}, data);
    if (r.status == IoStatus::failed || r.status == IoStatus::closed) {
        finish(1006, "connection lost");
        return true;
    }
    const std::size_t sent = r.bytes;
    if (sent < header_size) {
        ws_.value.send_encoded({header + sent, header_size - sent});
        ws_.value.send_encoded(data);
    } else if (sent < header_size + data.size()) {
        ws_.value.send_encoded(data.subspan(sent - header_size));
    }
    auto& counters = loop_.server.counters;
    counters.messages_out.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_out.fetch_add(data.size(), std::memory_order_relaxed);
    last_message_ = loop_.now_ms();
    active_ = true;
    return true;
}

SendResult Session::queued() {
    mark_dirty();
    // A reader slower than what is sent to it is cut off before its queue
    // can hold more than max_send_queue (plus the message that crossed it).
    if (queued_bytes() > loop_.server.config.max_send_queue) {
        if (mark_closing_first()) {
            loop_.server.counters.dropped[static_cast<int>(DropReason::send_queue_full)].fetch_add(
                1, std::memory_order_relaxed);
        }
        close(1008, "send queue limit exceeded (slow reader)");
        return SendResult::queue_full;
    }
    return SendResult::ok;
}

SendResult Session::close(std::uint16_t code, std::string_view reason) {
    if (phase_ != Phase::open) {
        return SendResult::unknown_client;
    }
    if (ws_.value.close_sent()) {
        return SendResult::closing;
    }
    const core::Error e = ws_.value.close(code, reason);
    if (e != core::Error::ok) {
        return SendResult::invalid_argument;
    }
    closed_locally_ = true;
    mark_closing();
    set_close(code, reason);
    timer_ = loop_.now_ms() + cap(loop_.server.config.close_timeout);
    mark_dirty();
    return SendResult::ok;
}

void Session::abort(DropReason reason, std::uint16_t code, std::string_view text) {
    if (phase_ == Phase::finished) {
        return;
    }
    loop_.server.counters.dropped[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
    if (connected_) {
        loop_.server.handler.on_error(id_, text);
    }
    finish(code, text);
}

void Session::tick(Millis now) {
    const ServerConfig& config = loop_.server.config;
    switch (phase_) {
    case Phase::handshake:
    case Phase::deciding:
        if (reached(now, timer_)) {
            abort(DropReason::handshake_timeout, 1006, "handshake timeout");
        }
        return;
    case Phase::http:
        if (reached(now, timer_)) {
            finish(1006, "HTTP response timeout");
        }
        return;
    case Phase::finished:
        return;
    case Phase::open:
        break;
    }
    // Buffers are kept while a connection is busy (no allocation per
    // message) and handed back once it was quiet for a whole tick, so idle
    // connections hold no buffer memory.
    if (!active_ && !ws_.value.wants_write()) {
        ws_.value.release_buffers();
        release_transport_buffers();
    }
    active_ = false;
    if (ws_.value.close_sent()) {
        if (reached(now, timer_)) {
            finish(close_code_, close_reason()); // the peer never finished the close handshake
        }
        return;
    }
    // Times stay within 24.8 days of now (see Millis): without pings timer_
    // follows the clock (a close the peer starts then finds its deadline
    // passed, as it always did), and a bucket quiet for a second is full.
    if (config.ping_interval.count() == 0) {
        timer_ = now;
    }
    if (config.max_messages_per_second > 0 && now - rate_updated_ >= 1000) {
        rate_tokens_ = static_cast<float>(config.max_messages_per_second);
        rate_updated_ = now;
    }
    if (config.ping_interval.count() > 0) {
        // Reading anything from the peer clears awaiting_pong_.
        if (awaiting_pong_ && now - timer_ >= cap(config.pong_timeout)) {
            abort(DropReason::pong_timeout, 1006, "no answer to ping");
            return;
        }
        if (!awaiting_pong_ && now - timer_ >= cap(config.ping_interval)) {
            if (ws_.value.send_ping() == core::Error::ok) {
                timer_ = now;
                awaiting_pong_ = true;
                mark_dirty();
            }
        }
    }
    if (config.idle_timeout.count() > 0 && now - last_message_ >= cap(config.idle_timeout)) {
        loop_.server.counters.dropped[static_cast<int>(DropReason::idle_timeout)].fetch_add(
            1, std::memory_order_relaxed);
        close(1001, "idle timeout");
    }
}

// ---------------------------------------------------------------- writing

void Session::mark_dirty() {
    if (!dirty_ && phase_ != Phase::finished) {
        dirty_ = true;
        loop_.add_dirty(*this);
    }
}

void Session::flush() {
    dirty_ = false;
    if (phase_ == Phase::finished) {
        return;
    }
    // The handshake response (101 or an HTTP error/page) goes first.
    bool http_done = true;
    if (opening() != nullptr) {
        core::ByteBuffer& response = opening()->response;
        std::size_t& pos = opening()->response_pos;
        while (pos < response.size()) {
            const IoResult r = transmit(response.data() + pos, response.size() - pos);
            if (r.status == IoStatus::failed || r.status == IoStatus::closed) {
                finish(1006, "connection lost");
                return;
            }
            if (r.status == IoStatus::would_block) {
                break;
            }
            pos += r.bytes;
        }
        http_done = pos >= response.size();
        if (http_done && !response.empty()) {
            if (phase_ == Phase::http) {
                finish(1006, "HTTP response sent");
                return;
            }
            if (phase_ == Phase::open) {
                end_opening(); // the 101 is out: the parser and the buffers go
            }
        }
    }
    if (http_done && has_ws_) {
        while (ws_.value.wants_write()) {
            const auto out = ws_.value.data_to_send();
            const IoResult r = transmit(out.data(), out.size());
            if (r.status == IoStatus::failed || r.status == IoStatus::closed) {
                finish(1006, "connection lost");
                return;
            }
            if (r.status == IoStatus::would_block) {
                break;
            }
            ws_.value.consume(r.bytes);
        }
        if (ws_.value.should_close_transport() && !ws_.value.wants_write()) {
            finish(close_code_, close_reason());
            return;
        }
        active_ = true;
    }
    const bool pending = !http_done || (has_ws_ && ws_.value.wants_write()) || read_wants_write();
    if (pending != write_watched_) {
        write_watched_ = pending;
        loop_.loop.modify(fd_, EventLoop::readable | (pending ? EventLoop::writable : 0));
    }
}

void Session::finish(std::uint16_t code, std::string_view reason) {
    if (phase_ == Phase::finished) {
        return;
    }
    if (phase_ == Phase::deciding) {
        loop_.set_deciding(*this, false);
    }
    phase_ = Phase::finished;
    mark_closing();
    close_socket();
    loop_.reap(*this);
    if (connected_) {
        connected_ = false;
        loop_.server.unregister_client(id_);
        // Gone from the registry (no operation reaches it), but during the
        // handler client(id) still describes it: who left, from where.
        const DepartingScope departing(*this);
        guarded("on_disconnect", [&] { loop_.server.handler.on_disconnect(id_, code, reason); });
    } else if (deferred_) {
        guarded("on_request_dropped", [&] { loop_.server.handler.on_request_dropped(id_); });
    }
    deferred_ = false;
}

void Session::close_socket() noexcept {
    end_transport();
    release_descriptor();
}

void Session::release_descriptor() noexcept {
    loop_.loop.unwatch(fd_);
    ::close(fd_);
}

// ---------------------------------------------------------------- transport

IoResult Session::receive(void* data, std::size_t size) noexcept {
    return receive_some(fd_, data, size);
}

IoResult Session::transmit(const void* data, std::size_t size) noexcept {
    return send_some(fd_, data, size);
}

IoResult Session::transmit_two(std::span<const std::uint8_t> first,
                               std::span<const std::uint8_t> second) noexcept {
    return send_two(fd_, first.data(), first.size(), second.data(), second.size());
}

bool Session::more_input(std::size_t got, std::size_t asked) const noexcept {
    return got == asked;
}

std::string Session::describe(const IoResult& failure) const {
    return std::strerror(failure.error);
}

void Session::set_close(std::uint16_t code, std::string_view reason) {
    close_code_ = code;
    if (reason.empty()) {
        if (side_) {
            side_->close_reason.clear();
            if (!side_->opening) {
                side_.reset();
            }
        }
        return;
    }
    if (!side_) {
        side_ = std::make_unique<Side>();
    }
    side_->close_reason.assign(reason);
}

std::string_view Session::close_reason() const noexcept {
    return side_ ? std::string_view(side_->close_reason) : std::string_view{};
}

} // namespace nexus::io::detail
