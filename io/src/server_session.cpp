// One server connection: reading, the handshake, the WebSocket, writing,
// timers and the end of it.
#include <Poco/Net/NetException.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nexus/core/utf8.hpp"
#include "server_impl.hpp"
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

} // namespace

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

Session::Session(Loop& loop, const Poco::Net::StreamSocket& socket, ClientId id, std::string peer)
    : loop_(loop), socket_(socket), fd_(socket.impl()->sockfd()), id_(id), peer_(std::move(peer)) {
    const auto now = Clock::now();
    deadline_ = now + loop_.server.config.handshake_timeout;
    last_received_ = now;
    core::HttpLimits limits;
    limits.max_header_bytes = loop_.server.config.max_header_bytes;
    handshake_ = std::make_unique<core::ServerHandshake>(limits);
    loop_.loop.watch(socket_, this, EventLoop::readable);
}

Session::~Session() {
    close_socket();
}

std::size_t Session::queued_bytes() const noexcept {
    if (ws_) {
        return ws_->data_to_send().size();
    }
    return http_out_.size() - http_out_pos_;
}

bool Session::compressed() const noexcept {
    return ws_ && ws_->config().deflate.has_value();
}

void Session::on_ready(int events) {
    if (phase_ == Phase::finished) {
        return;
    }
    if ((events & EventLoop::writable) != 0) {
        flush();
    }
    if ((events & (EventLoop::readable | EventLoop::failed)) != 0 && phase_ != Phase::finished) {
        read_available();
    }
}

void Session::read_available() {
    std::uint8_t* buffer = loop_.read_buffer.get();
    for (int i = 0; i < k_reads_per_wakeup && phase_ != Phase::finished && !eof_; ++i) {
        const IoResult r = receive_some(fd_, buffer, Loop::k_read_buffer_size);
        if (r.status == IoStatus::would_block) {
            return;
        }
        if (r.status == IoStatus::failed && connected_) {
            // A reset ends the connection as if the peer vanished (1006).
            loop_.server.handler.on_error(id_, std::string("read: ") + std::strerror(r.error));
        }
        const std::size_t n = r.bytes;
        if (r.status != IoStatus::done) {
            eof_ = true;
        } else {
            last_received_ = Clock::now();
            active_ = true;
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
            if (parked_->size() + data.size() > loop_.server.config.max_header_bytes) {
                abort(DropReason::protocol_error, 1006,
                      "too much data before the handshake answer");
                return;
            }
            parked_->append(data);
            break;
        case Phase::http:
            if (eof_) {
                finish(1006, "closed");
            }
            return; // extra request bytes are ignored; the response closes
        case Phase::finished:
            return;
        }
        if (n < Loop::k_read_buffer_size) {
            return; // the socket is drained (level-triggered poll wakes us again)
        }
    }
}

// ---------------------------------------------------------------- handshake

void Session::on_handshake_data(std::span<std::uint8_t> data) {
    std::size_t consumed = 0;
    const auto status = handshake_->receive_data(data, consumed);
    if (status == core::ParseStatus::need_more) {
        return;
    }
    if (status == core::ParseStatus::failed) {
        const core::Error error = handshake_->error();
        // A valid GET without an Upgrade is a plain HTTP request: the page.
        if (error == core::Error::not_websocket_upgrade) {
            serve_http();
            return;
        }
        loop_.server.counters.handshakes_rejected.fetch_add(1, std::memory_order_relaxed);
        phase_ = Phase::http;
        http_out_.clear();
        http_out_.append(handshake_->error_response());
        mark_dirty();
        return;
    }
    accept_handshake(data.subspan(consumed));
}

void Session::reject(int status, std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
    loop_.server.counters.handshakes_rejected.fetch_add(1, std::memory_order_relaxed);
    phase_ = Phase::http;
    http_out_.clear();
    std::string response;
    if (core::ServerHandshake::reject(status, body, headers, response) != core::Error::ok) {
        core::ServerHandshake::reject(status, body, {}, response); // drop bad hook headers
    }
    http_out_.append(response);
    deadline_ = Clock::now() + loop_.server.config.close_timeout;
    mark_dirty();
}

void Session::serve_http() {
    loop_.server.counters.http_requests.fetch_add(1, std::memory_order_relaxed);
    phase_ = Phase::http;
    http_out_.clear();
    build_static_response(loop_.server.config.static_dir, handshake_->path(), http_out_);
    deadline_ = Clock::now() + loop_.server.config.close_timeout;
    mark_dirty();
}

void Session::accept_handshake(std::span<std::uint8_t> rest) {
    auto& server = loop_.server;
    const ServerConfig& config = server.config;
    const core::ServerHandshake& request = *handshake_;
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
    HandshakeView view;
    view.id = id_;
    view.peer = peer_;
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
        parked_ = std::make_unique<core::ByteBuffer>();
        parked_->append(rest);
        return;
    }
    complete_handshake(std::move(decision), rest);
}

SendResult Session::decide(HandshakeDecision decision) {
    if (phase_ != Phase::deciding || decision.defer) {
        return SendResult::unknown_client;
    }
    phase_ = Phase::handshake;
    const std::unique_ptr<core::ByteBuffer> parked = std::move(parked_);
    complete_handshake(std::move(decision), parked->view());
    return SendResult::ok;
}

void Session::complete_handshake(HandshakeDecision decision, std::span<std::uint8_t> rest) {
    auto& server = loop_.server;
    const ServerConfig& config = server.config;
    const core::ServerHandshake& request = *handshake_;
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
    for (const std::string& ours : config.subprotocols) {
        if (std::find(request.subprotocols().begin(), request.subprotocols().end(), ours) !=
            request.subprotocols().end()) {
            accept.subprotocol = ours;
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
    if (handshake_->accept(accept, response) != core::Error::ok) {
        reject(500, "bad handshake response headers");
        return;
    }

    core::ConnectionConfig connection;
    connection.role = core::Role::server;
    connection.max_frame_size = config.max_frame_size;
    connection.max_message_size = config.max_message_size;
    connection.deflate = deflate;
    connection.compression_level = config.deflate.compression_level;
    connection.compression_memory_level = config.deflate.memory_level;
    ws_ = std::make_unique<core::Connection>(std::move(connection));

    WebSocketServer::Impl::StoredClient stored;
    stored.peer = peer_;
    stored.head.reserve(request.head_size());
    stored.head.append(request.method())
        .append(" ")
        .append(request.target())
        .append(" HTTP/1.1\r\n");
    for (const auto& h : request.headers()) {
        stored.head.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    stored.head.append("\r\n");
    stored.subprotocol = std::string(accept.subprotocol);
    stored.compressed = deflate.has_value();
    stored.connected_at = std::chrono::system_clock::now();
    const ClientInfo info = stored.expand(id_);

    // The 101 goes out ahead of any frame.
    http_out_.clear();
    http_out_.append(response);
    http_out_pos_ = 0;
    handshake_.reset();
    phase_ = Phase::open;
    connected_ = true;
    const auto now = Clock::now();
    last_message_ = now;
    ping_sent_ = now;
    rate_updated_ = now;
    rate_tokens_ = config.max_messages_per_second;
    server.counters.connections_total.fetch_add(1, std::memory_order_relaxed);
    server.register_client(id_, std::move(stored), loop_.index,
                           deflate ? deflate->server_max_window_bits : 0);
    mark_dirty();
    guarded("on_connect", [&] { server.handler.on_connect(id_, info); });
    if (!rest.empty() && phase_ == Phase::open) {
        on_websocket_data(rest); // frames that came with the request (§4.2.2 allows it)
    }
}

// ---------------------------------------------------------------- WebSocket

void Session::on_websocket_data(std::span<std::uint8_t> data) {
    if (!data.empty()) {
        ws_->receive_data(data);
    }
    if (eof_) {
        // The views of receive_data are drained first, then the EOF.
        dispatch_events();
        ws_->receive_eof();
    }
    dispatch_events();
}

void Session::dispatch_events() {
    auto& server = loop_.server;
    const ServerConfig& config = server.config;
    core::Event event;
    while (phase_ == Phase::open && ws_->next_event(event)) {
        switch (event.type) {
        case core::EventType::text:
        case core::EventType::binary: {
            last_message_ = Clock::now();
            if (config.max_messages_per_second > 0) {
                // Token bucket: a burst of one second's worth, refilled
                // continuously.
                const auto now = last_message_;
                const double elapsed = std::chrono::duration<double>(now - rate_updated_).count();
                rate_updated_ = now;
                rate_tokens_ = std::min(config.max_messages_per_second,
                                        rate_tokens_ + elapsed * config.max_messages_per_second);
                if (rate_tokens_ < 1.0) {
                    // Over the limit: close once, and deliver nothing more.
                    if (!ws_->close_sent()) {
                        server.counters.dropped[static_cast<int>(DropReason::rate_limited)]
                            .fetch_add(1, std::memory_order_relaxed);
                        close(1008, "message rate limit exceeded");
                    }
                    break;
                }
                rate_tokens_ -= 1.0;
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
                close_code_ = event.close_code;
                close_reason_ = std::string(event.text());
            }
            if (event.error == core::Error::abnormal_closure) {
                close_code_ = 1006;
                close_reason_ = "connection lost";
            }
            mark_dirty();
            break;
        case core::EventType::error:
            server.counters.dropped[static_cast<int>(DropReason::protocol_error)].fetch_add(
                1, std::memory_order_relaxed);
            close_code_ = event.close_code;
            close_reason_ = std::string(core::describe(event.error));
            server.handler.on_error(id_, close_reason_);
            mark_dirty();
            break;
        }
    }
    if (phase_ == Phase::open && ws_->state() == core::State::closed) {
        mark_dirty(); // flush the close frame, then close the socket
    }
}

SendResult Session::send(std::span<const std::uint8_t> data, bool binary) {
    if (phase_ != Phase::open || !ws_ || ws_->close_sent()) {
        return phase_ == Phase::open ? SendResult::closing : SendResult::unknown_client;
    }
    if (data.size() >= k_direct_write_min && http_out_pos_ >= http_out_.size() &&
        send_direct(data, binary)) {
        return queued();
    }
    const core::Error e =
        binary ? ws_->send_binary(data)
               : ws_->send_text({reinterpret_cast<const char*>(data.data()), data.size()});
    if (e == core::Error::local_invalid_utf8) {
        return SendResult::invalid_utf8;
    }
    if (e != core::Error::ok) {
        return SendResult::closing;
    }
    auto& counters = loop_.server.counters;
    counters.messages_out.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_out.fetch_add(data.size(), std::memory_order_relaxed);
    last_message_ = Clock::now();
    return queued();
}

SendResult Session::send_encoded(const EncodedMessage& message) {
    if (phase_ != Phase::open || ws_->close_sent()) {
        return SendResult::closing;
    }
    const auto& deflate = ws_->config().deflate;
    const core::ByteBuffer* compressed =
        deflate ? message.compressed[deflate->server_max_window_bits].get() : nullptr;
    const core::Error e = compressed != nullptr ? ws_->send_encoded(compressed->view(), true)
                                                : ws_->send_encoded(message.plain.view());
    if (e != core::Error::ok) {
        return SendResult::closing;
    }
    return queued();
}

bool Session::send_direct(std::span<const std::uint8_t> data, bool binary) {
    // A large message with nothing queued before it goes from the caller's
    // buffer to the socket in one gather write; only what the socket does
    // not take is copied into the queue.
    std::uint8_t header[core::k_max_frame_header_size];
    const std::size_t header_size =
        ws_->direct_frame_header(binary ? core::Opcode::binary : core::Opcode::text, data, header);
    if (header_size == 0) {
        return false;
    }
    const IoResult r = send_two(fd_, header, header_size, data.data(), data.size());
    if (r.status == IoStatus::failed) {
        finish(1006, "connection lost");
        return true;
    }
    const std::size_t sent = r.bytes;
    if (sent < header_size) {
        ws_->send_encoded({header + sent, header_size - sent});
        ws_->send_encoded(data);
    } else if (sent < header_size + data.size()) {
        ws_->send_encoded(data.subspan(sent - header_size));
    }
    auto& counters = loop_.server.counters;
    counters.messages_out.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_out.fetch_add(data.size(), std::memory_order_relaxed);
    last_message_ = Clock::now();
    active_ = true;
    return true;
}

SendResult Session::queued() {
    mark_dirty();
    // A reader slower than what is sent to it is cut off before its queue
    // can hold more than max_send_queue (plus the message that crossed it).
    if (queued_bytes() > loop_.server.config.max_send_queue) {
        loop_.server.counters.dropped[static_cast<int>(DropReason::send_queue_full)].fetch_add(
            1, std::memory_order_relaxed);
        close(1008, "send queue limit exceeded (slow reader)");
        return SendResult::queue_full;
    }
    return SendResult::ok;
}

SendResult Session::close(std::uint16_t code, std::string_view reason) {
    if (phase_ != Phase::open) {
        return SendResult::unknown_client;
    }
    if (ws_->close_sent()) {
        return SendResult::closing;
    }
    const core::Error e = ws_->close(code, reason);
    if (e != core::Error::ok) {
        return SendResult::invalid_argument;
    }
    closed_locally_ = true;
    close_code_ = code;
    close_reason_ = std::string(reason);
    deadline_ = Clock::now() + loop_.server.config.close_timeout;
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

void Session::tick(Clock::time_point now) {
    const ServerConfig& config = loop_.server.config;
    switch (phase_) {
    case Phase::handshake:
    case Phase::deciding:
        if (now >= deadline_) {
            abort(DropReason::handshake_timeout, 1006, "handshake timeout");
        }
        return;
    case Phase::http:
        if (now >= deadline_) {
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
    if (!active_ && !ws_->wants_write()) {
        ws_->release_buffers();
    }
    active_ = false;
    if (ws_->close_sent()) {
        if (now >= deadline_) {
            finish(close_code_, close_reason_); // the peer never finished the close handshake
        }
        return;
    }
    if (config.ping_interval.count() > 0) {
        if (awaiting_pong_) {
            if (last_received_ >= ping_sent_) {
                awaiting_pong_ = false; // anything from the peer shows it is alive
            } else if (now - ping_sent_ >= config.pong_timeout) {
                abort(DropReason::pong_timeout, 1006, "no answer to ping");
                return;
            }
        }
        if (!awaiting_pong_ && now - ping_sent_ >= config.ping_interval) {
            if (ws_->send_ping() == core::Error::ok) {
                ping_sent_ = now;
                awaiting_pong_ = true;
                mark_dirty();
            }
        }
    }
    if (config.idle_timeout.count() > 0 && now - last_message_ >= config.idle_timeout) {
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
    while (http_out_pos_ < http_out_.size()) {
        const IoResult r =
            send_some(fd_, http_out_.data() + http_out_pos_, http_out_.size() - http_out_pos_);
        if (r.status == IoStatus::failed) {
            finish(1006, "connection lost");
            return;
        }
        if (r.status == IoStatus::would_block) {
            break;
        }
        http_out_pos_ += r.bytes;
    }
    const bool http_done = http_out_pos_ >= http_out_.size();
    if (http_done && !http_out_.empty()) {
        http_out_.release();
        http_out_pos_ = 0;
        if (phase_ == Phase::http) {
            finish(1006, "HTTP response sent");
            return;
        }
    }
    if (http_done && ws_) {
        while (ws_->wants_write()) {
            const auto out = ws_->data_to_send();
            const IoResult r = send_some(fd_, out.data(), out.size());
            if (r.status == IoStatus::failed) {
                finish(1006, "connection lost");
                return;
            }
            if (r.status == IoStatus::would_block) {
                break;
            }
            ws_->consume(r.bytes);
        }
        if (ws_->should_close_transport() && !ws_->wants_write()) {
            finish(close_code_, close_reason_);
            return;
        }
        active_ = true;
    }
    const bool pending = !http_done || (ws_ && ws_->wants_write());
    if (pending != write_watched_) {
        write_watched_ = pending;
        loop_.loop.modify(socket_, EventLoop::readable | (pending ? EventLoop::writable : 0));
    }
}

void Session::finish(std::uint16_t code, std::string_view reason) {
    if (phase_ == Phase::finished) {
        return;
    }
    phase_ = Phase::finished;
    close_socket();
    loop_.reap(*this);
    if (connected_) {
        connected_ = false;
        loop_.server.unregister_client(id_);
        guarded("on_disconnect", [&] { loop_.server.handler.on_disconnect(id_, code, reason); });
    }
}

void Session::close_socket() noexcept {
    try {
        if (socket_.impl() != nullptr && socket_.impl()->initialized()) {
            loop_.loop.unwatch(socket_);
            socket_.close();
        }
    } catch (...) { // closing never fails the loop
    }
}

} // namespace nexus::io::detail
