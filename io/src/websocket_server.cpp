// The server's public operations: the registry of clients, cross-loop
// delivery, broadcast and channels.
#include <Poco/Net/SocketAddress.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "nexus/core/close_code.hpp"
#include "nexus/core/frame.hpp"
#include "nexus/core/http.hpp"
#include "nexus/core/utf8.hpp"
#include "server_impl.hpp"

namespace nexus::io {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (std::tolower(x) != std::tolower(y)) {
            return false;
        }
    }
    return true;
}

/// Broadcasts shorter than this go out uncompressed: deflate's framing
/// would make them longer, not shorter.
constexpr std::size_t k_broadcast_compression_threshold = 64;

void validate(const ServerConfig& c) {
    const auto fail = [](const char* what) { throw std::invalid_argument(what); };
    if (c.threads == 0) {
        fail("threads: at least 1");
    }
    if (c.max_frame_size == 0 || c.max_message_size == 0) {
        fail("max_frame_size and max_message_size: at least 1");
    }
    if (c.max_send_queue == 0) {
        fail("max_send_queue: at least 1");
    }
    if (c.handshake_timeout.count() <= 0 || c.close_timeout.count() <= 0) {
        fail("handshake_timeout and close_timeout: more than 0");
    }
    if (c.ping_interval.count() > 0 && c.pong_timeout.count() <= 0) {
        fail("pong_timeout: more than 0 when pings are on");
    }
    if (c.max_messages_per_second < 0) {
        fail("max_messages_per_second: 0 (off) or more");
    }
}

/// Appends one unmasked server frame holding `payload` to `out`.
void append_frame(core::ByteBuffer& out, std::span<const std::uint8_t> payload, bool binary,
                  bool compressed) {
    std::uint8_t* p = out.extend(core::frame_header_size(payload.size(), false) + payload.size());
    const std::size_t n =
        core::encode_frame_header(p, binary ? core::Opcode::binary : core::Opcode::text, true,
                                  compressed, payload.size(), nullptr);
    if (!payload.empty()) {
        std::memcpy(p + n, payload.data(), payload.size());
    }
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

} // namespace

// ---------------------------------------------------------------- handler defaults

HandshakeDecision ServerHandler::on_handshake(const HandshakeView&) {
    return {};
}
void ServerHandler::on_connect(ClientId, const ClientInfo&) {}
void ServerHandler::on_message(ClientId, std::span<const std::uint8_t>, bool) {}
void ServerHandler::on_disconnect(ClientId, std::uint16_t, std::string_view) {}
void ServerHandler::on_error(ClientId, std::string_view) {}

std::string_view HandshakeView::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return {};
}

// ---------------------------------------------------------------- Impl

WebSocketServer::Impl::Impl(ServerConfig server_config, ServerHandler& server_handler)
    : config(std::move(server_config)), handler(server_handler) {
    validate(config);
    for (unsigned i = 0; i < config.threads; ++i) {
        loops.push_back(std::make_unique<detail::Loop>(*this, i));
    }
}

std::size_t WebSocketServer::Impl::client_count_for_limit() const {
    const std::shared_lock lock(registry_mutex);
    return registry.size();
}

ClientInfo WebSocketServer::Impl::StoredClient::expand(ClientId id) const {
    ClientInfo info;
    info.id = id;
    info.peer = peer;
    info.subprotocol = subprotocol;
    info.user_data = user_data;
    info.connected_at = connected_at;
    info.compressed = compressed;
    // The head was valid when it was stored; parse it back with room to spare.
    core::HttpHeadParser parser(core::HttpKind::request,
                                core::HttpLimits{head.size(), head.size(), head.size()});
    std::size_t consumed = 0;
    parser.feed({reinterpret_cast<const std::uint8_t*>(head.data()), head.size()}, consumed);
    const std::string_view target = parser.target();
    const auto question = target.find('?');
    info.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        info.query = std::string(target.substr(question + 1));
    }
    info.origin = std::string(parser.header("Origin").value_or(std::string_view{}));
    info.headers.reserve(parser.headers().size());
    for (const auto& h : parser.headers()) {
        info.headers.emplace_back(std::string(h.name), std::string(h.value));
    }
    return info;
}

void WebSocketServer::Impl::register_client(ClientId id, StoredClient client, unsigned loop,
                                            int deflate_window) {
    const std::unique_lock lock(registry_mutex);
    registry[id] = Entry{loop, deflate_window, std::move(client), {}};
}

void WebSocketServer::Impl::unregister_client(ClientId id) {
    const std::unique_lock lock(registry_mutex);
    const auto it = registry.find(id);
    if (it == registry.end()) {
        return;
    }
    for (const std::string& channel : it->second.channels) {
        const auto members = channel_members.find(channel);
        if (members != channel_members.end()) {
            members->second.erase(id);
            if (members->second.empty()) {
                channel_members.erase(members);
            }
        }
    }
    registry.erase(it);
}

SendResult WebSocketServer::Impl::with_session(ClientId id,
                                               std::function<SendResult(detail::Session&)> action) {
    unsigned loop_index = 0;
    {
        const std::shared_lock lock(registry_mutex);
        const auto it = registry.find(id);
        if (it == registry.end()) {
            return SendResult::unknown_client;
        }
        loop_index = it->second.loop;
    }
    detail::Loop& loop = *loops[loop_index];
    if (loop.loop.in_loop_thread()) {
        detail::Session* session = loop.find(id);
        return session == nullptr ? SendResult::unknown_client : action(*session);
    }
    loop.loop.post([&loop, id, action = std::move(action)] {
        if (detail::Session* session = loop.find(id)) {
            action(*session);
        }
    });
    return SendResult::ok;
}

std::size_t WebSocketServer::Impl::deliver_encoded(const std::vector<Target>& targets,
                                                   std::span<const std::uint8_t> data,
                                                   bool binary) {
    // Encode once; compress once per window size that a recipient agreed to
    // (RFC 7692 lets the server compress each message on its own, so one
    // output with no back-references to earlier messages suits them all).
    auto message = std::make_shared<detail::EncodedMessage>();
    append_frame(message->plain, data, binary, false);
    if (config.permessage_deflate && data.size() >= k_broadcast_compression_threshold) {
        for (const Target& t : targets) {
            const int w = t.deflate_window;
            if (w == 0 || message->compressed[w]) {
                continue;
            }
            core::DeflateParams params;
            params.server_no_context_takeover = true;
            params.server_max_window_bits = w;
            core::Deflater deflater(params, core::Role::server, config.deflate.compression_level,
                                    config.deflate.memory_level);
            core::ByteBuffer payload;
            deflater.compress(data, true, payload);
            auto frame = std::make_shared<core::ByteBuffer>();
            append_frame(*frame, payload.view(), binary, true);
            message->compressed[w] = std::move(frame);
        }
    }
    std::vector<std::vector<ClientId>> per_loop(loops.size());
    for (const Target& t : targets) {
        per_loop[t.loop].push_back(t.id);
    }
    const std::size_t payload_size = data.size();
    std::size_t queued = 0;
    for (std::size_t i = 0; i < loops.size(); ++i) {
        if (per_loop[i].empty()) {
            continue;
        }
        detail::Loop& loop = *loops[i];
        auto deliver = [this, &loop, message, payload_size](const std::vector<ClientId>& ids) {
            std::size_t n = 0;
            for (ClientId id : ids) {
                detail::Session* session = loop.find(id);
                if (session != nullptr && session->send_encoded(*message) == SendResult::ok) {
                    ++n;
                }
            }
            counters.messages_out.fetch_add(n, std::memory_order_relaxed);
            counters.bytes_out.fetch_add(n * payload_size, std::memory_order_relaxed);
            return n;
        };
        if (loop.loop.in_loop_thread()) {
            queued += deliver(per_loop[i]);
        } else {
            queued += per_loop[i].size();
            loop.loop.post([deliver, ids = std::move(per_loop[i])] { deliver(ids); });
        }
    }
    return queued;
}

// ---------------------------------------------------------------- public API

WebSocketServer::WebSocketServer(ServerConfig config, ServerHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(config), handler)) {
    set_log_level(impl_->config.log_level);
}

WebSocketServer::~WebSocketServer() {
    stop();
    for (auto& t : impl_->threads) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void WebSocketServer::start() {
    if (impl_->started.exchange(true)) {
        return;
    }
    const Poco::Net::SocketAddress address(impl_->config.host, impl_->config.port);
    const bool several = impl_->loops.size() > 1;
    impl_->loops[0]->listen(address, several);
    impl_->bound_port = impl_->loops[0]->port();
    // The other loops bind the port the first one got (it may have been 0).
    for (std::size_t i = 1; i < impl_->loops.size(); ++i) {
        impl_->loops[i]->listen(Poco::Net::SocketAddress(address.host(), impl_->bound_port), true);
    }
    log(LogLevel::info, "listening on {}:{} with {} loop(s)", impl_->config.host, impl_->bound_port,
        impl_->loops.size());
}

std::uint16_t WebSocketServer::port() const noexcept {
    return impl_->bound_port;
}

void WebSocketServer::run() {
    start();
    for (std::size_t i = 1; i < impl_->loops.size(); ++i) {
        impl_->threads.emplace_back([this, i] { impl_->loops[i]->loop.run(); });
    }
    impl_->loops[0]->loop.run();
    for (auto& t : impl_->threads) {
        t.join();
    }
    impl_->threads.clear();
}

bool WebSocketServer::run_once(std::chrono::milliseconds max_wait) {
    start();
    if (impl_->loops.size() != 1) {
        throw std::logic_error("run_once needs a server with one loop (threads = 1)");
    }
    return impl_->loops[0]->loop.run_once(max_wait);
}

void WebSocketServer::stop() noexcept {
    if (impl_->stopping.exchange(true)) {
        return;
    }
    for (auto& loop : impl_->loops) {
        detail::Loop* l = loop.get();
        try {
            if (l->loop.in_loop_thread()) {
                l->begin_stop();
            } else {
                l->loop.post([l] { l->begin_stop(); });
            }
        } catch (...) {
            l->loop.stop(); // out of memory: stop without the graceful part
        }
    }
}

void WebSocketServer::wake() noexcept {
    impl_->loops[0]->loop.wake();
}

int WebSocketServer::poll_fd() const noexcept {
    return impl_->loops[0]->loop.poll_fd();
}

bool WebSocketServer::stopped() const noexcept {
    for (const auto& loop : impl_->loops) {
        if (!loop->loop.stopped()) {
            return false;
        }
    }
    return true;
}

SendResult WebSocketServer::send(ClientId id, std::span<const std::uint8_t> data, bool binary) {
    if (!binary && !core::is_valid_utf8(data)) {
        return SendResult::invalid_utf8;
    }
    // The payload is copied only when it must cross to another loop.
    auto* loop = impl_.get();
    unsigned loop_index = 0;
    {
        const std::shared_lock lock(loop->registry_mutex);
        const auto it = loop->registry.find(id);
        if (it == loop->registry.end()) {
            return SendResult::unknown_client;
        }
        loop_index = it->second.loop;
    }
    detail::Loop& target = *impl_->loops[loop_index];
    if (target.loop.in_loop_thread()) {
        detail::Session* session = target.find(id);
        return session == nullptr ? SendResult::unknown_client : session->send(data, binary);
    }
    target.loop.post(
        [&target, id, copy = std::vector<std::uint8_t>(data.begin(), data.end()), binary] {
            if (detail::Session* session = target.find(id)) {
                session->send(copy, binary);
            }
        });
    return SendResult::ok;
}

SendResult WebSocketServer::send_text(ClientId id, std::string_view text) {
    return send(id, as_bytes(text), false);
}

std::size_t WebSocketServer::broadcast(std::span<const std::uint8_t> data, bool binary,
                                       ClientId except) {
    if (!binary && !core::is_valid_utf8(data)) {
        return 0;
    }
    std::vector<Impl::Target> targets;
    {
        const std::shared_lock lock(impl_->registry_mutex);
        targets.reserve(impl_->registry.size());
        for (const auto& [id, entry] : impl_->registry) {
            if (id != except) {
                targets.push_back({id, entry.loop, entry.deflate_window});
            }
        }
    }
    if (targets.empty()) {
        return 0;
    }
    return impl_->deliver_encoded(targets, data, binary);
}

std::size_t WebSocketServer::broadcast_text(std::string_view text, ClientId except) {
    return broadcast(as_bytes(text), false, except);
}

SendResult WebSocketServer::disconnect(ClientId id, std::uint16_t code, std::string_view reason) {
    // Any code an endpoint may send (§7.4, IANA registry) but 1010, which
    // only a client sends.
    if (!core::close_code::is_valid_on_wire(code) ||
        code == core::close_code::mandatory_extension || reason.size() > 123 ||
        !core::is_valid_utf8(reason)) {
        return SendResult::invalid_argument;
    }
    return impl_->with_session(id, [code, reason = std::string(reason)](detail::Session& s) {
        return s.close(code, reason);
    });
}

SendResult WebSocketServer::decide_handshake(ClientId id, HandshakeDecision decision) {
    if (decision.defer) {
        return SendResult::invalid_argument;
    }
    // Requests are not in the registry yet, and ids do not say their loop:
    // the loop that holds the session answers, the others find nothing.
    for (auto& loop : impl_->loops) {
        if (loop->loop.in_loop_thread() && impl_->loops.size() == 1) {
            detail::Session* session = loop->find(id);
            return session == nullptr ? SendResult::unknown_client
                                      : session->decide(std::move(decision));
        }
        loop->loop.post([loop = loop.get(), id, decision] {
            if (detail::Session* session = loop->find(id)) {
                session->decide(decision);
            }
        });
    }
    return SendResult::ok;
}

std::vector<ClientInfo> WebSocketServer::clients() const {
    std::vector<ClientInfo> out;
    const std::shared_lock lock(impl_->registry_mutex);
    out.reserve(impl_->registry.size());
    for (const auto& [id, entry] : impl_->registry) {
        out.push_back(entry.client.expand(id));
    }
    std::sort(out.begin(), out.end(),
              [](const ClientInfo& a, const ClientInfo& b) { return a.id < b.id; });
    return out;
}

std::vector<ClientId> WebSocketServer::client_ids() const {
    std::vector<ClientId> out;
    {
        const std::shared_lock lock(impl_->registry_mutex);
        out.reserve(impl_->registry.size());
        for (const auto& entry : impl_->registry) {
            out.push_back(entry.first);
        }
    }
    std::sort(out.begin(), out.end()); // ids grow with each connection
    return out;
}

std::optional<ClientInfo> WebSocketServer::client(ClientId id) const {
    const std::shared_lock lock(impl_->registry_mutex);
    const auto it = impl_->registry.find(id);
    if (it == impl_->registry.end()) {
        return std::nullopt;
    }
    return it->second.client.expand(id);
}

std::size_t WebSocketServer::client_count() const noexcept {
    const std::shared_lock lock(impl_->registry_mutex);
    return impl_->registry.size();
}

bool WebSocketServer::set_user_data(ClientId id, std::string data) {
    const std::unique_lock lock(impl_->registry_mutex);
    const auto it = impl_->registry.find(id);
    if (it == impl_->registry.end()) {
        return false;
    }
    it->second.client.user_data = std::move(data);
    return true;
}

SendResult WebSocketServer::subscribe(ClientId id, std::string_view channel) {
    const std::unique_lock lock(impl_->registry_mutex);
    const auto it = impl_->registry.find(id);
    if (it == impl_->registry.end()) {
        return SendResult::unknown_client;
    }
    it->second.channels.emplace(channel);
    auto members = impl_->channel_members.find(channel);
    if (members == impl_->channel_members.end()) {
        members = impl_->channel_members.emplace(std::string(channel), std::set<ClientId>{}).first;
    }
    members->second.insert(id);
    return SendResult::ok;
}

SendResult WebSocketServer::unsubscribe(ClientId id, std::string_view channel) {
    const std::unique_lock lock(impl_->registry_mutex);
    const auto it = impl_->registry.find(id);
    if (it == impl_->registry.end()) {
        return SendResult::unknown_client;
    }
    const auto found = it->second.channels.find(channel);
    if (found != it->second.channels.end()) {
        it->second.channels.erase(found);
    }
    const auto members = impl_->channel_members.find(channel);
    if (members != impl_->channel_members.end()) {
        members->second.erase(id);
        if (members->second.empty()) {
            impl_->channel_members.erase(members);
        }
    }
    return SendResult::ok;
}

std::size_t WebSocketServer::publish(std::string_view channel, std::span<const std::uint8_t> data,
                                     bool binary) {
    if (!binary && !core::is_valid_utf8(data)) {
        return 0;
    }
    std::vector<Impl::Target> targets;
    {
        const std::shared_lock lock(impl_->registry_mutex);
        const auto members = impl_->channel_members.find(channel);
        if (members == impl_->channel_members.end()) {
            return 0;
        }
        for (ClientId id : members->second) {
            const auto it = impl_->registry.find(id);
            if (it != impl_->registry.end()) {
                targets.push_back({id, it->second.loop, it->second.deflate_window});
            }
        }
    }
    if (targets.empty()) {
        return 0;
    }
    return impl_->deliver_encoded(targets, data, binary);
}

std::vector<std::string> WebSocketServer::channels(ClientId id) const {
    const std::shared_lock lock(impl_->registry_mutex);
    const auto it = impl_->registry.find(id);
    if (it == impl_->registry.end()) {
        return {};
    }
    return {it->second.channels.begin(), it->second.channels.end()};
}

ServerStats WebSocketServer::stats() const {
    ServerStats s;
    const auto& c = impl_->counters;
    s.clients = client_count();
    s.connections_total = c.connections_total.load(std::memory_order_relaxed);
    s.handshakes_rejected = c.handshakes_rejected.load(std::memory_order_relaxed);
    s.http_requests = c.http_requests.load(std::memory_order_relaxed);
    s.messages_in = c.messages_in.load(std::memory_order_relaxed);
    s.messages_out = c.messages_out.load(std::memory_order_relaxed);
    s.bytes_in = c.bytes_in.load(std::memory_order_relaxed);
    s.bytes_out = c.bytes_out.load(std::memory_order_relaxed);
    for (int i = 0; i < static_cast<int>(DropReason::count_); ++i) {
        s.dropped[i] = c.dropped[i].load(std::memory_order_relaxed);
    }
    return s;
}

} // namespace nexus::io
