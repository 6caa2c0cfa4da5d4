// The server's public operations: the registry of clients, cross-loop
// delivery, broadcast and channels.
#include <Poco/Net/SocketAddress.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iterator>
#include <stdexcept>

#include "backplane.hpp"
#include "nexus/core/close_code.hpp"
#include "nexus/core/frame.hpp"
#include "nexus/core/http.hpp"
#include "nexus/core/utf8.hpp"
#include "server_impl.hpp"
#include "slot_pool.hpp"
#include "thread_name.hpp"
#include "tls_context.hpp"

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

void ServerHandler::on_request_dropped(ClientId) {}

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
    make_backplane();
}

std::size_t WebSocketServer::Impl::client_count_for_limit() const {
    const std::shared_lock lock(registry_mutex);
    return registry.size();
}

// The compact request head (ClientRecord::set_head): the target's length
// and bytes, then per header one code byte:
//   k_literal       name length, name, value length, value;
//   a pair code     a whole "Name: value" of k_head_pairs;
//   a name code     a name of k_head_names, then value length, value;
//   k_key           "Sec-WebSocket-Key" and the 16 bytes its base64 holds.
// Lengths are LEB128 (one byte below 128). Tables only ever grow at the end:
// nothing outlives the process, but codes are simpler to read when stable.
namespace {

constexpr std::uint8_t k_literal = 0;
constexpr std::uint8_t k_key = 0xFF;
constexpr std::string_view k_key_name = "Sec-WebSocket-Key";

struct HeadPair {
    std::string_view name;
    std::string_view value;
};

/// Header lines that browsers (Chrome, Firefox, Safari) and common clients
/// (Python websockets, Node ws, Go, Java) send word for word.
constexpr HeadPair k_head_pairs[] = {
    {"Upgrade", "websocket"},
    {"Connection", "Upgrade"},
    {"Sec-WebSocket-Version", "13"},
    {"Connection", "keep-alive, Upgrade"},
    {"Pragma", "no-cache"},
    {"Cache-Control", "no-cache"},
    {"Accept", "*/*"},
    {"Accept-Encoding", "gzip, deflate, br"},
    {"Accept-Encoding", "gzip, deflate, br, zstd"},
    {"Accept-Encoding", "gzip, deflate"},
    {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
    {"Sec-WebSocket-Extensions", "permessage-deflate"},
    {"Sec-Fetch-Dest", "websocket"},
    {"Sec-Fetch-Mode", "websocket"},
    {"Sec-Fetch-Site", "same-origin"},
    {"Sec-Fetch-Site", "cross-site"},
    {"Sec-Fetch-Site", "same-site"},
    {"Sec-Fetch-Site", "none"},
    {"Upgrade", "WebSocket"},
    {"Connection", "upgrade"},
    {"upgrade", "websocket"},
    {"connection", "Upgrade"},
    {"connection", "upgrade"},
    {"sec-websocket-version", "13"},
};
constexpr std::string_view k_head_names[] = {
    "Host",
    "Origin",
    "User-Agent",
    "Accept-Language",
    "Cookie",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Authorization",
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "Accept-Encoding",
    "Cache-Control",
    "Referer",
    "host",
    "origin",
    "user-agent",
    "sec-websocket-key",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
};
constexpr std::size_t k_pair_count = std::size(k_head_pairs);
constexpr std::size_t k_name_count = std::size(k_head_names);
constexpr std::uint8_t k_first_pair = 1;
constexpr auto k_first_name = static_cast<std::uint8_t>(k_first_pair + k_pair_count);
static_assert(k_first_name + k_name_count <= k_key, "head codes overlap");

constexpr std::string_view k_base64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Writes the compact head, or with a null `out` only counts its bytes.
class HeadWriter {
public:
    explicit HeadWriter(std::uint8_t* out) noexcept : out_(out) {}
    void byte(std::uint8_t b) noexcept { bytes(&b, 1); }
    void bytes(const void* data, std::size_t n) noexcept {
        if (out_ != nullptr && n != 0) {
            std::memcpy(out_ + size_, data, n);
        }
        size_ += n;
    }
    void text(std::string_view s) noexcept {
        std::size_t n = s.size();
        while (n >= 0x80) { // LEB128
            byte(static_cast<std::uint8_t>(0x80 | (n & 0x7F)));
            n >>= 7;
        }
        byte(static_cast<std::uint8_t>(n));
        bytes(s.data(), s.size());
    }
    std::size_t size() const noexcept { return size_; }

private:
    std::uint8_t* out_;
    std::size_t size_ = 0;
};

/// Reads what HeadWriter::text wrote at `p` and moves past it. The buffer
/// was made by set_head, so it is well formed.
std::string_view get_text(const std::uint8_t*& p) noexcept {
    std::size_t n = 0;
    for (int shift = 0;; shift += 7) {
        const std::uint8_t b = *p++;
        n |= static_cast<std::size_t>(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            break;
        }
    }
    const std::string_view text(reinterpret_cast<const char*>(p), n);
    p += n;
    return text;
}

/// The 16 bytes of a canonical key (22 base64 characters whose last has
/// its low 4 bits zero, then "==": what the handshake accepts), or false.
bool decode_key(std::string_view key, std::uint8_t (&out)[16]) noexcept {
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') {
        return false;
    }
    std::uint32_t bits = 0;
    int have = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < 22; ++i) {
        const std::size_t v = k_base64.find(key[i]);
        if (v == std::string_view::npos || (i == 21 && (v & 0x0F) != 0)) {
            return false;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        have += 6;
        if (have >= 8) {
            have -= 8;
            out[n++] = static_cast<std::uint8_t>(bits >> have);
        }
    }
    return true;
}

/// The key back in base64 (24 characters).
void encode_key(const std::uint8_t* bytes, char (&out)[24]) noexcept {
    std::size_t o = 0;
    for (std::size_t i = 0; i < 15; i += 3) {
        const std::uint32_t v = static_cast<std::uint32_t>(bytes[i]) << 16 |
                                static_cast<std::uint32_t>(bytes[i + 1]) << 8 | bytes[i + 2];
        out[o++] = k_base64[(v >> 18) & 0x3F];
        out[o++] = k_base64[(v >> 12) & 0x3F];
        out[o++] = k_base64[(v >> 6) & 0x3F];
        out[o++] = k_base64[v & 0x3F];
    }
    const std::size_t last = bytes[15];
    out[o++] = k_base64[last >> 2];
    out[o++] = k_base64[(last & 0x03) << 4];
    out[o++] = '=';
    out[o] = '=';
}

/// Encodes the head into `w` (see the format above).
void write_head(HeadWriter& w, std::string_view target,
                std::span<const core::HttpHeader> headers) noexcept {
    w.text(target);
    for (const auto& h : headers) {
        std::uint8_t key[16];
        if (h.name == k_key_name && decode_key(h.value, key)) {
            w.byte(k_key);
            w.bytes(key, sizeof key);
            continue;
        }
        bool done = false;
        for (std::size_t i = 0; i < k_pair_count && !done; ++i) {
            if (h.name == k_head_pairs[i].name && h.value == k_head_pairs[i].value) {
                w.byte(static_cast<std::uint8_t>(k_first_pair + i));
                done = true;
            }
        }
        for (std::size_t i = 0; i < k_name_count && !done; ++i) {
            if (h.name == k_head_names[i]) {
                w.byte(static_cast<std::uint8_t>(k_first_name + i));
                w.text(h.value);
                done = true;
            }
        }
        if (!done) {
            w.byte(k_literal);
            w.text(h.name);
            w.text(h.value);
        }
    }
}

} // namespace

void detail::ClientRecord::set_head(std::string_view target,
                                    std::span<const core::HttpHeader> headers) {
    // Counted first, then written into a buffer of its exact size: no
    // temporary (it would leave a hole in the heap next to what stays).
    HeadWriter count(nullptr);
    write_head(count, target, headers);
    std::uint8_t* const bytes = allocate_bytes(std::max<std::size_t>(count.size(), 1));
    release_bytes(head, std::max<std::size_t>(head_size, 1));
    head = bytes;
    HeadWriter write(head);
    write_head(write, target, headers);
    head_size = static_cast<std::uint32_t>(write.size());
}

detail::ClientRecord::~ClientRecord() {
    release_bytes(head, std::max<std::size_t>(head_size, 1));
}

std::string_view detail::ClientRecord::target() const noexcept {
    if (!head) {
        return {};
    }
    const std::uint8_t* p = head;
    return get_text(p);
}

template <typename Visit>
void detail::ClientRecord::for_each_header(Visit&& visit) const {
    if (!head) {
        return;
    }
    const std::uint8_t* p = head;
    const std::uint8_t* const end = p + head_size;
    get_text(p); // the target
    while (p < end) {
        const std::uint8_t code = *p++;
        if (code == k_key) {
            char key[24];
            encode_key(p, key);
            p += 16;
            visit(k_key_name, std::string_view(key, sizeof key));
        } else if (code == k_literal) {
            const std::string_view name = get_text(p);
            visit(name, get_text(p));
        } else if (code < k_first_name) {
            const HeadPair& pair = k_head_pairs[code - k_first_pair];
            visit(pair.name, pair.value);
        } else {
            visit(k_head_names[code - k_first_name], get_text(p));
        }
    }
}

detail::ClientRecord::Extras& detail::ClientRecord::make_extras() {
    if (!extras) {
        extras = std::make_unique<Extras>();
    }
    return *extras;
}

void detail::ClientRecord::trim_extras() noexcept {
    if (extras && extras->user_data.empty() && extras->channels.empty()) {
        extras.reset();
    }
}

ClientInfo detail::ClientRecord::expand(ClientId id, const ServerConfig& config) const {
    ClientInfo info;
    info.id = id;
    info.peer = peer.to_string();
    if (subprotocol >= 0 && static_cast<std::size_t>(subprotocol) < config.subprotocols.size()) {
        info.subprotocol = config.subprotocols[static_cast<std::size_t>(subprotocol)];
    }
    if (extras) {
        info.user_data = extras->user_data;
    }
    info.connected_at = connected_at;
    info.compressed = deflate_window != 0;
    const std::string_view whole = target();
    const auto question = whole.find('?');
    info.path = std::string(whole.substr(0, question));
    if (question != std::string_view::npos) {
        info.query = std::string(whole.substr(question + 1));
    }
    bool origin_seen = false;
    for_each_header([&](std::string_view name, std::string_view value) {
        if (!origin_seen && iequals(name, "Origin")) {
            info.origin = std::string(value); // the first, as the handshake saw it
            origin_seen = true;
        }
        info.headers.emplace_back(std::string(name), std::string(value));
    });
    return info;
}

// ---------------------------------------------------------------- registry

void WebSocketServer::Impl::register_client(detail::Session& session) {
    // The record is the loop's alone until the session is registered (then
    // it changes only under the lock): read it before.
    std::string record = backplane ? presence_record(session) : std::string();
    {
        const std::unique_lock lock(registry_mutex);
        registry.insert(session);
    }
    if (backplane) {
        backplane->client_joined(session.id(), record);
    }
}

void WebSocketServer::Impl::unregister_client(ClientId id) {
    if (backplane) {
        backplane->client_left(id);
    }
    const std::unique_lock lock(registry_mutex);
    const detail::Session* session = registry.erase(id);
    if (session == nullptr) {
        return;
    }
    if (const auto& extras = session->client.extras) {
        for (const std::string& channel : extras->channels) {
            const auto members = channel_members.find(channel);
            if (members != channel_members.end()) {
                members->second.erase(id);
                if (members->second.empty()) {
                    channel_members.erase(members);
                }
            }
        }
    }
}

detail::Session* WebSocketServer::Impl::registered(ClientId id) const {
    return registry.find(id);
}

SendResult WebSocketServer::Impl::post_send(detail::Loop& loop, ClientId id, int slot,
                                            std::span<const std::uint8_t> data, bool binary) {
    {
        const std::shared_lock lock(registry_mutex);
        detail::Session* session = registered(id);
        if (session == nullptr) {
            return SendResult::unknown_client;
        }
        const std::uint64_t posted = session->posted_bytes().load(std::memory_order_acquire);
        const std::uint64_t limit = std::min<std::uint64_t>(config.max_send_queue, UINT32_MAX);
        if (posted + data.size() > limit) {
            if (!session->mark_closing_first()) {
                return SendResult::closing; // cut off (and counted) already
            }
            counters.dropped[static_cast<int>(DropReason::send_queue_full)].fetch_add(
                1, std::memory_order_relaxed);
            loop.loop.post([&loop, id, slot] {
                if (detail::Session* found = loop.find(id, slot)) {
                    found->close(1008, "send queue limit exceeded (slow reader)");
                }
            });
            return SendResult::queue_full;
        }
        session->posted_bytes().fetch_add(static_cast<std::uint32_t>(data.size()),
                                          std::memory_order_acq_rel);
    }
    loop.loop.post(
        [&loop, id, slot, copy = std::vector<std::uint8_t>(data.begin(), data.end()), binary] {
            if (detail::Session* found = loop.find(id, slot)) {
                found->posted_bytes().fetch_sub(static_cast<std::uint32_t>(copy.size()),
                                                std::memory_order_acq_rel);
                found->send(copy, binary);
            }
        });
    return SendResult::ok;
}

SendResult WebSocketServer::Impl::with_session(ClientId id,
                                               std::function<SendResult(detail::Session&)> action,
                                               bool marks_closing) {
    detail::Session* session = nullptr;
    unsigned loop_index = 0;
    int slot = -1;
    {
        const std::shared_lock lock(registry_mutex);
        session = registered(id);
        if (session == nullptr) {
            return SendResult::unknown_client;
        }
        if (session->closing()) {
            return SendResult::closing;
        }
        loop_index = session->loop_index();
        slot = session->slot();
        if (marks_closing && !loops[loop_index]->loop.in_loop_thread()) {
            session->mark_closing(); // later operations from any thread see it at once
        }
    }
    // Only the session's own loop may use the pointer after the lock: no
    // other thread destroys it.
    detail::Loop& loop = *loops[loop_index];
    if (loop.loop.in_loop_thread()) {
        return action(*session);
    }
    loop.loop.post([&loop, id, slot, action = std::move(action)] {
        if (detail::Session* found = loop.find(id, slot)) {
            action(*found);
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
        // On a loop's thread (a handler broadcasting) the compressor is
        // borrowed from that loop; elsewhere it is made for this message.
        core::ZlibStreamPool* streams = nullptr;
        for (const auto& l : loops) {
            if (l->loop.in_loop_thread()) {
                streams = &l->deflate_streams();
                break;
            }
        }
        for (const Target& t : targets) {
            const int w = t.deflate_window;
            if (w == 0 || message->compressed[w]) {
                continue;
            }
            core::DeflateParams params;
            params.server_no_context_takeover = true;
            params.server_max_window_bits = w;
            core::Deflater deflater(params, core::Role::server, config.deflate.compression_level,
                                    config.deflate.memory_level, streams);
            core::ByteBuffer payload;
            deflater.compress(data, true, payload);
            auto frame = std::make_shared<core::ByteBuffer>();
            append_frame(*frame, payload.view(), binary, true);
            message->compressed[w] = std::move(frame);
        }
    }
    std::vector<std::vector<std::pair<ClientId, int>>> per_loop(loops.size());
    for (const Target& t : targets) {
        per_loop[t.loop].emplace_back(t.id, t.slot);
    }
    const std::size_t payload_size = data.size();
    std::size_t queued = 0;
    for (std::size_t i = 0; i < loops.size(); ++i) {
        if (per_loop[i].empty()) {
            continue;
        }
        detail::Loop& loop = *loops[i];
        auto deliver = [this, &loop, message,
                        payload_size](const std::vector<std::pair<ClientId, int>>& ids) {
            std::size_t n = 0;
            for (const auto& [id, slot] : ids) {
                detail::Session* session = loop.find(id, slot);
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
    if (impl_->started.load()) {
        return;
    }
    // Certificates are loaded before the port opens: a server that cannot
    // speak TLS never accepts a connection.
    if (impl_->config.tls) {
        impl_->tls = std::make_unique<detail::TlsContext>(*impl_->config.tls, TlsRole::server);
    }
    if (impl_->started.exchange(true)) {
        return;
    }
    impl_->start_backplane();
    const Poco::Net::SocketAddress address(impl_->config.host, impl_->config.port);
    const bool several = impl_->loops.size() > 1;
    impl_->loops[0]->listen(address, several);
    impl_->bound_port = impl_->loops[0]->port();
    // The other loops bind the port the first one got (it may have been 0).
    for (std::size_t i = 1; i < impl_->loops.size(); ++i) {
        impl_->loops[i]->listen(Poco::Net::SocketAddress(address.host(), impl_->bound_port), true);
    }
    // From now on the loops belong to whichever thread runs them: a stop()
    // or send() from another thread before that is posted, not run here.
    for (auto& loop : impl_->loops) {
        loop->loop.reserve();
    }
    log(LogLevel::info, "listening on {}:{} with {} loop(s)", impl_->config.host, impl_->bound_port,
        impl_->loops.size());
}

void WebSocketServer::adopt_calling_thread() noexcept {
    if (impl_->loops.size() == 1) {
        impl_->loops[0]->loop.adopt_current_thread();
    }
}

void WebSocketServer::set_tls(TlsOptions options) {
    if (impl_->started.load()) {
        throw std::logic_error("TLS options are set before the server starts");
    }
    impl_->config.tls = std::move(options);
}

std::uint16_t WebSocketServer::port() const noexcept {
    return impl_->bound_port;
}

void WebSocketServer::run() {
    start();
    for (std::size_t i = 1; i < impl_->loops.size(); ++i) {
        impl_->threads.emplace_back([this, i] {
            // Loop 0 runs on the caller's thread, whose name stays the caller's.
            detail::name_this_thread("nx-loop-" + std::to_string(i));
            impl_->loops[i]->loop.run();
        });
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
    if (impl_->backplane) {
        impl_->backplane->request_stop(); // presence goes at once
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

bool WebSocketServer::interrupted() const noexcept {
    return impl_->loops[0]->loop.interrupted();
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
    if (impl_->backplane && !impl_->backplane->is_local(id)) {
        return impl_->backplane->send(id, data, binary);
    }
    return impl_->send_local(id, data, binary);
}

SendResult WebSocketServer::Impl::send_local(ClientId id, std::span<const std::uint8_t> data,
                                             bool binary) {
    // The payload is copied only when it must cross to another loop.
    detail::Session* session = nullptr;
    unsigned loop_index = 0;
    int slot = -1;
    {
        const std::shared_lock lock(registry_mutex);
        session = registered(id);
        if (session == nullptr) {
            return SendResult::unknown_client;
        }
        if (session->closing()) {
            return SendResult::closing;
        }
        loop_index = session->loop_index();
        slot = session->slot();
    }
    // Only the session's own loop may use the pointer after the lock: no
    // other thread destroys it.
    detail::Loop& target = *loops[loop_index];
    if (target.loop.in_loop_thread()) {
        return session->send(data, binary);
    }
    return post_send(target, id, slot, data, binary);
}

SendResult WebSocketServer::send_text(ClientId id, std::string_view text) {
    return send(id, as_bytes(text), false);
}

std::size_t WebSocketServer::broadcast(std::span<const std::uint8_t> data, bool binary,
                                       ClientId except) {
    if (!binary && !core::is_valid_utf8(data)) {
        return 0;
    }
    const std::size_t queued = impl_->broadcast_local(data, binary, except);
    if (impl_->backplane) {
        impl_->backplane->broadcast(data, binary, except);
    }
    return queued;
}

std::size_t WebSocketServer::Impl::broadcast_local(std::span<const std::uint8_t> data, bool binary,
                                                   ClientId except) {
    std::vector<Impl::Target> targets;
    {
        const std::shared_lock lock(registry_mutex);
        targets.reserve(registry.size());
        registry.for_each([&](const detail::Session& session) {
            if (session.id() != except) {
                targets.push_back({session.id(), session.slot(), session.loop_index(),
                                   session.client.deflate_window});
            }
        });
    }
    if (targets.empty()) {
        return 0;
    }
    return deliver_encoded(targets, data, binary);
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
    if (impl_->backplane && !impl_->backplane->is_local(id)) {
        return impl_->backplane->disconnect(id, code, reason);
    }
    return impl_->disconnect_local(id, code, reason);
}

SendResult WebSocketServer::Impl::disconnect_local(ClientId id, std::uint16_t code,
                                                   std::string_view reason) {
    return with_session(
        id,
        [code, reason = std::string(reason)](detail::Session& s) { return s.close(code, reason); },
        true);
}

SendResult WebSocketServer::decide_handshake(ClientId id, HandshakeDecision decision) {
    if (decision.defer) {
        return SendResult::invalid_argument;
    }
    // Requests are not in the registry yet, and ids do not say their loop:
    // the loop that holds the session answers, the others find nothing.
    if (impl_->loops.size() == 1 && impl_->loops[0]->loop.in_loop_thread()) {
        detail::Session* session = impl_->loops[0]->find_deciding(id);
        return session == nullptr ? SendResult::unknown_client : session->decide(decision);
    }
    // One copy for all the loops it is posted to.
    auto shared = std::make_shared<const HandshakeDecision>(std::move(decision));
    for (auto& loop : impl_->loops) {
        loop->loop.post([loop = loop.get(), id, shared] {
            if (detail::Session* session = loop->find_deciding(id)) {
                session->decide(*shared);
            }
        });
    }
    return SendResult::ok;
}

std::vector<ClientInfo> WebSocketServer::clients() const {
    std::vector<ClientInfo> out;
    const std::shared_lock lock(impl_->registry_mutex);
    out.reserve(impl_->registry.size());
    impl_->registry.for_each([&](const detail::Session& session) {
        out.push_back(session.client.expand(session.id(), impl_->config));
    });
    std::sort(out.begin(), out.end(),
              [](const ClientInfo& a, const ClientInfo& b) { return a.id < b.id; });
    return out;
}

std::vector<ClientId> WebSocketServer::client_ids() const {
    std::vector<ClientId> out;
    {
        const std::shared_lock lock(impl_->registry_mutex);
        out.reserve(impl_->registry.size());
        impl_->registry.for_each(
            [&](const detail::Session& session) { out.push_back(session.id()); });
    }
    std::sort(out.begin(), out.end()); // ids grow with each connection
    return out;
}

namespace detail {
namespace {
thread_local const Session* t_departing = nullptr;
} // namespace

DepartingScope::DepartingScope(const Session& session) noexcept : previous_(t_departing) {
    t_departing = &session;
}

DepartingScope::~DepartingScope() {
    t_departing = previous_;
}

const Session* DepartingScope::current() noexcept {
    return t_departing;
}
} // namespace detail

std::optional<ClientInfo> WebSocketServer::client(ClientId id) const {
    if (const detail::Session* departing = detail::DepartingScope::current();
        departing != nullptr && departing->id() == id) {
        return departing->client.expand(id, impl_->config); // inside its on_disconnect
    }
    const std::shared_lock lock(impl_->registry_mutex);
    const detail::Session* session = impl_->registered(id);
    if (session == nullptr) {
        return std::nullopt;
    }
    return session->client.expand(id, impl_->config);
}

std::size_t WebSocketServer::client_count() const noexcept {
    const std::shared_lock lock(impl_->registry_mutex);
    return impl_->registry.size();
}

bool WebSocketServer::set_user_data(ClientId id, std::string data) {
    const std::unique_lock lock(impl_->registry_mutex);
    detail::Session* session = impl_->registered(id);
    if (session == nullptr) {
        return false;
    }
    if (data.empty() && !session->client.extras) {
        return true;
    }
    session->client.make_extras().user_data = std::move(data);
    session->client.trim_extras();
    if (impl_->backplane) {
        impl_->backplane->client_joined(id, impl_->presence_record(*session));
    }
    return true;
}

SendResult WebSocketServer::subscribe(ClientId id, std::string_view channel) {
    const std::unique_lock lock(impl_->registry_mutex);
    detail::Session* session = impl_->registered(id);
    if (session == nullptr) {
        return SendResult::unknown_client;
    }
    session->client.make_extras().channels.emplace(channel);
    auto members = impl_->channel_members.find(channel);
    if (members == impl_->channel_members.end()) {
        members = impl_->channel_members.emplace(std::string(channel), std::set<ClientId>{}).first;
    }
    members->second.insert(id);
    return SendResult::ok;
}

SendResult WebSocketServer::unsubscribe(ClientId id, std::string_view channel) {
    const std::unique_lock lock(impl_->registry_mutex);
    detail::Session* session = impl_->registered(id);
    if (session == nullptr) {
        return SendResult::unknown_client;
    }
    if (const auto& extras = session->client.extras) {
        const auto found = extras->channels.find(channel);
        if (found != extras->channels.end()) {
            extras->channels.erase(found);
        }
        session->client.trim_extras(); // a client in no channel holds no set
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
    const std::size_t queued = impl_->publish_local(channel, data, binary);
    if (impl_->backplane) {
        impl_->backplane->publish(channel, data, binary);
    }
    return queued;
}

std::size_t WebSocketServer::Impl::publish_local(std::string_view channel,
                                                 std::span<const std::uint8_t> data, bool binary) {
    std::vector<Impl::Target> targets;
    {
        const std::shared_lock lock(registry_mutex);
        const auto members = channel_members.find(channel);
        if (members == channel_members.end()) {
            return 0;
        }
        for (ClientId id : members->second) {
            if (const detail::Session* session = registered(id)) {
                targets.push_back(
                    {id, session->slot(), session->loop_index(), session->client.deflate_window});
            }
        }
    }
    if (targets.empty()) {
        return 0;
    }
    return deliver_encoded(targets, data, binary);
}

std::vector<std::string> WebSocketServer::channels(ClientId id) const {
    const std::shared_lock lock(impl_->registry_mutex);
    const detail::Session* session = impl_->registered(id);
    if (session == nullptr || !session->client.extras) {
        return {};
    }
    const auto& channels = session->client.extras->channels;
    return {channels.begin(), channels.end()};
}

ServerStats WebSocketServer::stats() const {
    return impl_->local_stats();
}

ServerStats WebSocketServer::Impl::local_stats() const {
    ServerStats s;
    const auto& c = counters;
    {
        const std::shared_lock lock(registry_mutex);
        s.clients = registry.size();
    }
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
    if (backplane) {
        backplane->add_counters(s);
    }
    return s;
}

} // namespace nexus::io
