// nx_ws_server: io's WebSocketServer behind the C API.
//
// With threads == 1 (the default) nothing runs on its own: nx_ws_server_poll
// runs the event loop on the host's thread, so the host's sends act at once
// and no event crosses a thread. With threads > 1 the loops run on threads
// of their own and poll waits on the event queue's eventfd.
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <Poco/Exception.h>
#include <fmt/format.h>

#include "event_queue.hpp"
#include "nexus/core/utf8.hpp"
#include "nexus/io/websocket_server.hpp"
#include "nexus/socket.h"
#include "status.hpp"

using nexus::capi::fail;
using nexus::capi::fail_thread;
using nexus::capi::guard;
using nexus::capi::status_of;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t k_max_user_data = 64 * 1024;
constexpr std::size_t k_max_channel_name = 256;

enum class ServerState { created, running, stopping };

} // namespace

struct nx_ws_server {
    nexus::io::ServerConfig config;
    int notify_fd = -1; // threads > 1: readable while events wait
    std::unique_ptr<nexus::capi::EventQueue> events;
    std::unique_ptr<nexus::io::WebSocketServer> server;
    std::optional<nexus::io::TlsOptions> tls; // what nx_ws_server_set_tls_option set so far
    std::thread runner;                       // threads > 1: runs the loops
    std::atomic<bool> runner_done{false};
    std::atomic<bool> wake_requested{false};
    std::atomic<bool> stop_requested{false};
    ServerState state = ServerState::created;

    nexus::capi::QueuedEvent current; // what the last poll handed out
    std::uint64_t departed_shown = 0; // the client of the last DISCONNECT handed out
    mutable std::string last_error;
    // Clients we started closing: refused at once, whichever loop owns them,
    // until their disconnect event has been handed out.
    std::unordered_set<std::uint64_t> closing;
    // What the last nx_ws_server_client_info() handed out.
    nexus::io::ClientInfo info;
    std::string info_headers;
    std::string info_channels;
    // Other servers' clients as the last nx_ws_server_cluster_clients() saw them.
    std::unordered_map<std::uint64_t, nexus::io::ClientInfo> cluster;

    bool single_loop() const noexcept { return config.threads == 1; }

    ~nx_ws_server() {
        if (notify_fd >= 0) {
            ::close(notify_fd);
        }
    }
};

namespace {

/// Options → ServerConfig, or NX_EINVAL naming the field.
int to_config(const nx_ws_server_options& o, nexus::io::ServerConfig& c) {
    using std::chrono::milliseconds;
    if (o.version != NX_WS_SERVER_OPTIONS_VERSION) {
        return fail_thread(NX_EINVAL, fmt::format("options version {} is not {}", o.version,
                                                  NX_WS_SERVER_OPTIONS_VERSION));
    }
    if (o.port < 0 || o.port > 65535) {
        return fail_thread(NX_EINVAL, fmt::format("port {} is not in 0..65535", o.port));
    }
    if (o.log_level < NX_LOG_TRACE || o.log_level > NX_LOG_OFF) {
        return fail_thread(NX_EINVAL, fmt::format("log_level {} is not in 0..5", o.log_level));
    }
    if (o.max_event_queue == 0) {
        return fail_thread(NX_EINVAL, "max_event_queue must be positive");
    }
    const auto in_range = [](int value, int low, int high) {
        return value >= low && value <= high;
    };
    if (!in_range(o.deflate_server_max_window_bits, 8, 15) ||
        !in_range(o.deflate_client_max_window_bits, 8, 15)) {
        return fail_thread(NX_EINVAL, fmt::format("deflate_server_max_window_bits ({}) and "
                                                  "deflate_client_max_window_bits ({}) are 8..15",
                                                  o.deflate_server_max_window_bits,
                                                  o.deflate_client_max_window_bits));
    }
    if (!in_range(o.deflate_level, -1, 9)) {
        return fail_thread(NX_EINVAL,
                           fmt::format("deflate_level {} is not in -1..9", o.deflate_level));
    }
    if (!in_range(o.deflate_memory_level, 1, 9)) {
        return fail_thread(NX_EINVAL, fmt::format("deflate_memory_level {} is not in 1..9",
                                                  o.deflate_memory_level));
    }
    if (!(o.max_messages_per_second >= 0)) { // also refuses NaN
        return fail_thread(NX_EINVAL, "max_messages_per_second must be 0 or positive");
    }
    c.host = o.host != nullptr ? o.host : "0.0.0.0";
    c.port = static_cast<std::uint16_t>(o.port);
    c.threads = o.threads;
    c.max_clients = o.max_clients;
    c.handshake_timeout = milliseconds(o.handshake_timeout_ms);
    c.max_header_bytes = o.max_header_bytes;
    c.max_frame_size = o.max_frame_size;
    c.max_message_size = o.max_message_size;
    c.ping_interval = milliseconds(o.ping_interval_ms);
    c.pong_timeout = milliseconds(o.pong_timeout_ms);
    c.idle_timeout = milliseconds(o.idle_timeout_ms);
    c.max_send_queue = o.max_send_queue;
    c.max_messages_per_second = o.max_messages_per_second;
    c.close_timeout = milliseconds(o.close_timeout_ms);
    c.allowed_origins = nexus::capi::split_list(o.allowed_origins);
    c.subprotocols = nexus::capi::split_list(o.subprotocols);
    c.permessage_deflate = o.permessage_deflate != 0;
    c.deflate.server_no_context_takeover = o.deflate_server_no_context_takeover != 0;
    c.deflate.client_no_context_takeover = o.deflate_client_no_context_takeover != 0;
    c.deflate.server_max_window_bits = o.deflate_server_max_window_bits;
    c.deflate.client_max_window_bits = o.deflate_client_max_window_bits;
    c.deflate.compression_level = o.deflate_level;
    c.deflate.memory_level = o.deflate_memory_level;
    c.static_dir = o.static_dir != nullptr ? o.static_dir : "";
    c.log_level = static_cast<nexus::io::LogLevel>(o.log_level);
    c.scaling.enabled = o.scaling_redis != 0;
    if (o.redis_url != nullptr) {
        c.scaling.redis_url = o.redis_url;
    }
    if (o.scaling_prefix != nullptr) {
        c.scaling.prefix = o.scaling_prefix;
    }
    c.scaling.presence_lease = milliseconds(o.scaling_lease_ms);
    c.scaling.redis_timeout = milliseconds(o.scaling_timeout_ms);
    c.scaling.max_backlog = o.scaling_max_backlog;
    return NX_OK;
}

/// ServerStats → the C struct (whose version the caller checked).
void fill_stats(const nexus::io::ServerStats& s, nx_ws_server_stats* stats) {
    using nexus::io::DropReason;
    const auto dropped = [&](DropReason r) { return s.dropped[static_cast<int>(r)]; };
    stats->clients = s.clients;
    stats->connections_total = s.connections_total;
    stats->handshakes_rejected = s.handshakes_rejected;
    stats->http_requests = s.http_requests;
    stats->messages_in = s.messages_in;
    stats->messages_out = s.messages_out;
    stats->bytes_in = s.bytes_in;
    stats->bytes_out = s.bytes_out;
    stats->dropped_handshake_timeout = dropped(DropReason::handshake_timeout);
    stats->dropped_pong_timeout = dropped(DropReason::pong_timeout);
    stats->dropped_idle_timeout = dropped(DropReason::idle_timeout);
    stats->dropped_send_queue_full = dropped(DropReason::send_queue_full);
    stats->dropped_rate_limited = dropped(DropReason::rate_limited);
    stats->dropped_protocol_error = dropped(DropReason::protocol_error);
    stats->dropped_server_stopping = dropped(DropReason::server_stopping);
    stats->dropped_pending_limit = dropped(DropReason::pending_limit);
    stats->dropped_tls_handshake = dropped(DropReason::tls_handshake);
    stats->remote_out = s.remote_out;
    stats->remote_in = s.remote_in;
    stats->remote_dropped = s.remote_dropped;
    stats->backplane_errors = s.backplane_errors;
    stats->backplane_up = s.backplane_up;
    stats->servers = s.servers;
}

/// What a SocketError from a cluster query means in C.
int fail_query(nx_ws_server* s, const nexus::io::SocketError& e) {
    return fail(s->last_error, nexus::capi::status_of(e.kind()), e.what());
}

/// Hands `s->current` out through `event`.
int deliver(nx_ws_server* s, nx_ws_event* event) noexcept {
    const auto& e = s->current;
    if (s->departed_shown != 0) {
        // Its disconnect has been handled: its info goes now.
        s->events->forget_departed(s->departed_shown);
        s->departed_shown = 0;
    }
    if (e.kind == NX_EVENT_DISCONNECT) {
        s->closing.erase(e.client);
        s->departed_shown = e.client;
    }
    event->kind = e.kind;
    event->client = e.client;
    event->opcode = e.opcode;
    event->data = e.data.c_str();
    event->size = e.data.size();
    event->close_code = e.close_code;
    return NX_OK;
}

int deliver_kind(nx_ws_server* s, int kind, nx_ws_event* event) noexcept {
    s->current.kind = kind;
    s->current.client = 0;
    s->current.opcode = 0;
    s->current.close_code = 0;
    s->current.data.clear();
    return deliver(s, event);
}

/// threads == 1: the poll is the event loop.
int poll_driving(nx_ws_server* s, int timeout_ms, nx_ws_event* event) {
    const bool forever = timeout_ms < 0;
    const auto deadline = Clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms);
    for (;;) {
        if (s->events->pop(s->current)) {
            return deliver(s, event);
        }
        if (s->server->stopped()) {
            return deliver_kind(s, NX_EVENT_STOPPED, event);
        }
        if (s->wake_requested.exchange(false)) {
            return deliver_kind(s, NX_EVENT_NONE, event);
        }
        auto wait = std::chrono::milliseconds(1000);
        if (!forever) {
            wait = std::max(
                std::chrono::milliseconds(0),
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        }
        // Runs at least once, also with timeout 0: that is the poll step.
        s->server->run_once(wait);
        if (s->events->pop(s->current)) {
            return deliver(s, event);
        }
        if (s->server->stopped()) {
            return deliver_kind(s, NX_EVENT_STOPPED, event);
        }
        // A signal cut the wait short: the host may want to act on it.
        if (s->server->interrupted() || (!forever && Clock::now() >= deadline)) {
            return deliver_kind(s, NX_EVENT_NONE, event);
        }
    }
}

/// threads > 1: the loops run on their own; wait for the queue.
int poll_waiting(nx_ws_server* s, int timeout_ms, nx_ws_event* event) {
    const bool forever = timeout_ms < 0;
    const auto deadline = Clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms);
    for (;;) {
        if (s->events->pop(s->current)) {
            return deliver(s, event);
        }
        if (s->runner_done.load()) {
            return deliver_kind(s, NX_EVENT_STOPPED, event);
        }
        if (s->wake_requested.exchange(false)) {
            return deliver_kind(s, NX_EVENT_NONE, event);
        }
        int wait = -1;
        if (!forever) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                return deliver_kind(s, NX_EVENT_NONE, event);
            }
            wait = static_cast<int>(left.count());
        }
        pollfd p{s->notify_fd, POLLIN, 0};
        if (::poll(&p, 1, wait) < 0 && errno == EINTR) {
            // A signal: give the host the chance to act on it.
            return deliver_kind(s, NX_EVENT_NONE, event);
        }
    }
}

bool valid_channel(const char* channel, std::size_t size) {
    if (channel == nullptr || size == 0 || size > k_max_channel_name) {
        return false;
    }
    return std::none_of(channel, channel + size,
                        [](char c) { return c == '\0' || c == '\r' || c == '\n'; });
}

std::span<const std::uint8_t> bytes(const char* data, std::size_t size) {
    return {reinterpret_cast<const std::uint8_t*>(data), size};
}

/// The checks every message operation shares; NX_OK when `data` may go.
int check_message(nx_ws_server* s, const char* data, std::size_t size, int opcode) {
    if (s->state == ServerState::created) {
        return fail(s->last_error, NX_ESTATE, "the server is not started");
    }
    if (s->stop_requested.load()) {
        return fail(s->last_error, NX_ESTATE, "the server is stopping");
    }
    if (data == nullptr && size != 0) {
        return fail(s->last_error, NX_EINVAL, "data is NULL but size is not 0");
    }
    if (!nexus::capi::is_message_opcode(opcode)) {
        return fail(
            s->last_error, NX_EINVAL,
            fmt::format("opcode {} is neither NX_OPCODE_TEXT nor NX_OPCODE_BINARY", opcode));
    }
    if (size > s->config.max_send_queue) {
        return fail(s->last_error, NX_ETOOBIG,
                    fmt::format("a message of {} bytes is over max_send_queue ({} bytes)", size,
                                s->config.max_send_queue));
    }
    if (opcode == NX_OPCODE_TEXT && !nexus::core::is_valid_utf8(std::string_view(data, size))) {
        return fail(s->last_error, NX_EUTF8, "text message is not valid UTF-8");
    }
    return NX_OK;
}

/// subscribe (join) or unsubscribe: the same checks and results.
int channel_membership(nx_ws_server* server, std::uint64_t client, const char* channel,
                       std::size_t channel_size, bool join) noexcept {
    if (server == nullptr) {
        return fail_thread(NX_EINVAL, "server is NULL");
    }
    if (!valid_channel(channel, channel_size)) {
        return fail(server->last_error, NX_EINVAL,
                    "a channel name is 1..256 bytes without NUL, CR or LF");
    }
    return guard(server->last_error, [&]() -> int {
        const std::string_view name(channel, channel_size);
        return status_of(join ? server->server->subscribe(client, name)
                              : server->server->unsubscribe(client, name),
                         server->last_error, client);
    });
}

#define NX_REQUIRE_SERVER(s)                                                                       \
    do {                                                                                           \
        if ((s) == nullptr) {                                                                      \
            return fail_thread(NX_EINVAL, "server is NULL");                                       \
        }                                                                                          \
    } while (false)

/// For a call made on the owning thread: with threads = 1 the caller drives
/// the loop, whichever OS thread it is on now (a Go goroutine or a pooled
/// worker moves between threads). The loop adopts it, so the call acts at
/// once and in order; without this, a call from a thread other than the
/// last poller's would be posted, and a later call from the poller would
/// overtake it.
void own_loop(nx_ws_server* server) noexcept {
    if (server->single_loop() && server->server) {
        server->server->adopt_calling_thread();
    }
}

} // namespace

extern "C" {

int nx_ws_server_options_init(nx_ws_server_options* options, unsigned int version) noexcept {
    if (options == nullptr) {
        return fail_thread(NX_EINVAL, "options is NULL");
    }
    if (version != NX_WS_SERVER_OPTIONS_VERSION) {
        return fail_thread(NX_EINVAL, fmt::format("options version {} is not {}", version,
                                                  NX_WS_SERVER_OPTIONS_VERSION));
    }
    const nexus::io::ServerConfig d;
    *options = nx_ws_server_options{};
    options->version = version;
    options->host = nullptr;
    options->port = d.port;
    options->threads = d.threads;
    options->max_clients = d.max_clients;
    options->handshake_timeout_ms = static_cast<std::uint32_t>(d.handshake_timeout.count());
    options->max_header_bytes = d.max_header_bytes;
    options->max_frame_size = d.max_frame_size;
    options->max_message_size = d.max_message_size;
    options->ping_interval_ms = static_cast<std::uint32_t>(d.ping_interval.count());
    options->pong_timeout_ms = static_cast<std::uint32_t>(d.pong_timeout.count());
    options->idle_timeout_ms = static_cast<std::uint32_t>(d.idle_timeout.count());
    options->max_send_queue = d.max_send_queue;
    options->max_messages_per_second = d.max_messages_per_second;
    options->close_timeout_ms = static_cast<std::uint32_t>(d.close_timeout.count());
    options->permessage_deflate = d.permessage_deflate ? 1 : 0;
    options->deflate_server_no_context_takeover = d.deflate.server_no_context_takeover ? 1 : 0;
    options->deflate_client_no_context_takeover = d.deflate.client_no_context_takeover ? 1 : 0;
    options->deflate_server_max_window_bits = d.deflate.server_max_window_bits;
    options->deflate_client_max_window_bits = d.deflate.client_max_window_bits;
    options->deflate_level = d.deflate.compression_level;
    options->deflate_memory_level = d.deflate.memory_level;
    options->handshake_events = 0;
    options->log_level = static_cast<int>(d.log_level);
    options->max_event_queue = 64ULL * 1024 * 1024;
    options->scaling_redis = d.scaling.enabled ? 1 : 0;
    options->redis_url = nullptr;
    options->scaling_prefix = nullptr;
    options->scaling_lease_ms = static_cast<std::uint32_t>(d.scaling.presence_lease.count());
    options->scaling_timeout_ms = static_cast<std::uint32_t>(d.scaling.redis_timeout.count());
    options->scaling_max_backlog = d.scaling.max_backlog;
    return NX_OK;
}

int nx_ws_server_new(nx_ws_server** out, const nx_ws_server_options* options) noexcept {
    if (out == nullptr) {
        return fail_thread(NX_EINVAL, "out is NULL");
    }
    *out = nullptr;
    nx_ws_server_options defaults;
    if (options == nullptr) {
        nx_ws_server_options_init(&defaults, NX_WS_SERVER_OPTIONS_VERSION);
        options = &defaults;
    }
    std::string error;
    const int status = guard(error, [&]() -> int {
        auto s = std::make_unique<nx_ws_server>();
        if (const int rc = to_config(*options, s->config); rc != NX_OK) {
            error = nx_last_error();
            return rc;
        }
        if (!s->single_loop()) {
            s->notify_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (s->notify_fd < 0) {
                return fail(error, NX_EINTERNAL, fmt::format("eventfd: {}", std::strerror(errno)));
            }
        }
        s->events = std::make_unique<nexus::capi::EventQueue>(
            options->handshake_events != 0, options->max_event_queue, s->notify_fd);
        nexus::io::set_log_level(s->config.log_level);
        s->server = std::make_unique<nexus::io::WebSocketServer>(s->config, *s->events);
        s->events->attach(*s->server);
        *out = s.release();
        return NX_OK;
    });
    if (status != NX_OK) {
        fail_thread(status, error);
    }
    return status;
}

void nx_ws_server_free(nx_ws_server* server) noexcept {
    if (server == nullptr) {
        return;
    }
    try {
        if (server->state == ServerState::running || server->state == ServerState::stopping) {
            server->server->stop();
            if (server->single_loop()) {
                // Let queued data and close frames go out, within the bound.
                const auto deadline =
                    Clock::now() + server->config.close_timeout + std::chrono::milliseconds(500);
                while (!server->server->stopped() && Clock::now() < deadline) {
                    server->server->run_once(std::chrono::milliseconds(20));
                }
            } else if (server->runner.joinable()) {
                server->runner.join();
            }
        }
        server->server.reset(); // before the handler it calls
    } catch (...) {             // free never fails; what remains is released below
    }
    delete server;
}

const char* nx_ws_server_last_error(const nx_ws_server* server) noexcept {
    return server == nullptr ? "server is NULL" : server->last_error.c_str();
}

int nx_ws_server_set_tls_option(nx_ws_server* server, const char* name,
                                const char* value) noexcept {
    NX_REQUIRE_SERVER(server);
    if (name == nullptr || value == nullptr) {
        return fail(server->last_error, NX_EINVAL, "name or value is NULL");
    }
    if (server->state != ServerState::created || server->stop_requested.load()) {
        return fail(server->last_error, NX_ESTATE, "TLS options are set before the server starts");
    }
    return guard(server->last_error, [&]() -> int {
        nexus::io::TlsOptions tls = server->tls.value_or(nexus::io::TlsOptions{});
        if (!nexus::capi::set_tls_option(tls, name, value)) {
            return fail(server->last_error, NX_EINVAL,
                        fmt::format("unknown TLS option '{}'", name));
        }
        server->server->set_tls(tls);
        server->tls = std::move(tls);
        return NX_OK;
    });
}

int nx_ws_server_start(nx_ws_server* server) noexcept {
    NX_REQUIRE_SERVER(server);
    if (server->state != ServerState::created || server->stop_requested.load()) {
        return fail(server->last_error, NX_ESTATE, "the server was already started or stopped");
    }
    return nexus::capi::socket_call(server->last_error, [&]() -> int {
        try {
            server->server->start();
        } catch (const Poco::Exception& e) {
            return fail(server->last_error, NX_EBIND,
                        fmt::format("cannot listen on {}:{}: {}", server->config.host,
                                    server->config.port, e.displayText()));
        } catch (const std::system_error& e) {
            return fail(server->last_error, NX_EBIND,
                        fmt::format("cannot listen on {}:{}: {}", server->config.host,
                                    server->config.port, e.what()));
        }
        server->state = ServerState::running;
        if (!server->single_loop()) {
            server->runner = std::thread([server] {
                // Loop 0 runs here; the others name themselves nx-loop-N.
                static_cast<void>(pthread_setname_np(pthread_self(), "nx-loop-0"));
                try {
                    server->server->run();
                } catch (...) {
                    server->server->stop();
                }
                server->runner_done.store(true);
                const std::uint64_t one = 1;
                [[maybe_unused]] const auto n = ::write(server->notify_fd, &one, sizeof one);
            });
        }
        return NX_OK;
    });
}

int nx_ws_server_port(const nx_ws_server* server) noexcept {
    NX_REQUIRE_SERVER(server);
    if (server->state == ServerState::created) {
        return fail(server->last_error, NX_ESTATE, "the server is not started");
    }
    return server->server->port();
}

int nx_ws_server_poll(nx_ws_server* server, int timeout_ms, nx_ws_event* event) noexcept {
    NX_REQUIRE_SERVER(server);
    if (event == nullptr) {
        return fail(server->last_error, NX_EINVAL, "event is NULL");
    }
    if (server->state == ServerState::created) {
        return fail(server->last_error, NX_ESTATE, "the server is not started");
    }
    return guard(server->last_error, [&]() -> int {
        return server->single_loop() ? poll_driving(server, timeout_ms, event)
                                     : poll_waiting(server, timeout_ms, event);
    });
}

int nx_ws_server_wake(nx_ws_server* server) noexcept {
    if (server == nullptr) {
        return fail_thread(NX_EINVAL, "server is NULL");
    }
    server->wake_requested.store(true);
    if (server->single_loop()) {
        server->server->wake();
    } else {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(server->notify_fd, &one, sizeof one);
    }
    return NX_OK;
}

int nx_ws_server_fd(const nx_ws_server* server, int* fd) noexcept {
    NX_REQUIRE_SERVER(server);
    if (fd == nullptr) {
        return fail_thread(NX_EINVAL, "fd is NULL");
    }
    if (server->state == ServerState::created) {
        return fail(server->last_error, NX_ESTATE, "the server is not started");
    }
    *fd = server->single_loop() ? server->server->poll_fd() : server->notify_fd;
    return NX_OK;
}

int nx_ws_server_stop(nx_ws_server* server) noexcept {
    if (server == nullptr) {
        return fail_thread(NX_EINVAL, "server is NULL");
    }
    server->stop_requested.store(true);
    server->server->stop();
    return NX_OK;
}

int nx_ws_server_send(nx_ws_server* server, std::uint64_t client, const char* data,
                      std::size_t size, int opcode) noexcept {
    NX_REQUIRE_SERVER(server);
    own_loop(server);
    if (const int rc = check_message(server, data, size, opcode); rc != NX_OK) {
        return rc;
    }
    if (server->closing.count(client) != 0) {
        return status_of(nexus::io::SendResult::closing, server->last_error, client);
    }
    return guard(server->last_error, [&]() -> int {
        return status_of(
            server->server->send(client, bytes(data, size), opcode == NX_OPCODE_BINARY),
            server->last_error, client);
    });
}

int nx_ws_server_broadcast(nx_ws_server* server, const char* data, std::size_t size, int opcode,
                           std::uint64_t except) noexcept {
    NX_REQUIRE_SERVER(server);
    own_loop(server);
    if (const int rc = check_message(server, data, size, opcode); rc != NX_OK) {
        return rc;
    }
    return guard(server->last_error, [&]() -> int {
        const std::size_t n =
            server->server->broadcast(bytes(data, size), opcode == NX_OPCODE_BINARY, except);
        return static_cast<int>(std::min<std::size_t>(n, INT32_MAX));
    });
}

int nx_ws_server_disconnect(nx_ws_server* server, std::uint64_t client, int code,
                            const char* reason, std::size_t reason_size) noexcept {
    NX_REQUIRE_SERVER(server);
    own_loop(server);
    if (reason == nullptr && reason_size != 0) {
        return fail(server->last_error, NX_EINVAL, "reason is NULL but reason_size is not 0");
    }
    if (code < 1000 || code > 4999) {
        return fail(server->last_error, NX_EINVAL,
                    fmt::format("close code {} cannot be sent", code));
    }
    if (server->closing.count(client) != 0) {
        return status_of(nexus::io::SendResult::closing, server->last_error, client);
    }
    return guard(server->last_error, [&]() -> int {
        const auto result = server->server->disconnect(client, static_cast<std::uint16_t>(code),
                                                       std::string_view(reason, reason_size));
        if (result == nexus::io::SendResult::invalid_argument) {
            return fail(server->last_error, NX_EINVAL,
                        fmt::format("close code {} cannot be sent, or the reason is over 123 bytes "
                                    "or not UTF-8",
                                    code));
        }
        // Only this server's clients get a disconnect event here, which
        // ends their entry.
        if (result == nexus::io::SendResult::ok && server->server->is_local(client)) {
            server->closing.insert(client);
        }
        return status_of(result, server->last_error, client);
    });
}

int nx_ws_server_accept(nx_ws_server* server, std::uint64_t client) noexcept {
    NX_REQUIRE_SERVER(server);
    own_loop(server);
    return guard(server->last_error, [&]() -> int {
        if (!server->events->take_pending(client, true)) {
            return fail(server->last_error, NX_ENOCLIENT,
                        fmt::format("no handshake of client {} awaits a decision", client));
        }
        return status_of(server->server->decide_handshake(client, {}), server->last_error, client);
    });
}

int nx_ws_server_reject(nx_ws_server* server, std::uint64_t client, int status, const char* body,
                        std::size_t body_size) noexcept {
    NX_REQUIRE_SERVER(server);
    own_loop(server);
    if (status < 400 || status > 599) {
        return fail(server->last_error, NX_EINVAL,
                    fmt::format("status {} is not an HTTP error (400..599)", status));
    }
    if (body == nullptr && body_size != 0) {
        return fail(server->last_error, NX_EINVAL, "body is NULL but body_size is not 0");
    }
    return guard(server->last_error, [&]() -> int {
        if (!server->events->take_pending(client)) {
            return fail(server->last_error, NX_ENOCLIENT,
                        fmt::format("no handshake of client {} awaits a decision", client));
        }
        nexus::io::HandshakeDecision decision;
        decision.status = status;
        decision.body.assign(body == nullptr ? "" : body, body_size);
        return status_of(server->server->decide_handshake(client, std::move(decision)),
                         server->last_error, client);
    });
}

int nx_ws_server_client_info(nx_ws_server* server, std::uint64_t client,
                             nx_ws_client_info* info) noexcept {
    NX_REQUIRE_SERVER(server);
    if (info == nullptr || info->version != NX_WS_CLIENT_INFO_VERSION) {
        return fail(server->last_error, NX_EINVAL,
                    "info is NULL or its version is not NX_WS_CLIENT_INFO_VERSION");
    }
    return guard(server->last_error, [&]() -> int {
        auto& kept = server->info;
        int pending = 0;
        auto found = server->server->client(client);
        if (!found) {
            found = server->events->departed(client);
        }
        if (!found) {
            const auto remote = server->cluster.find(client);
            if (remote != server->cluster.end()) {
                found = remote->second;
            }
        }
        if (found) {
            kept = std::move(*found);
            server->info_headers.clear();
            for (const auto& [name, value] : kept.headers) {
                server->info_headers.append(name).append(": ").append(value).append("\r\n");
            }
            server->info_channels.clear();
            for (const std::string& channel : server->server->channels(client)) {
                server->info_channels.append(channel).append("\n");
            }
        } else if (auto request = server->events->pending(client)) {
            kept = nexus::io::ClientInfo{};
            kept.id = client;
            kept.peer = std::move(request->peer);
            kept.path = std::move(request->path);
            kept.query = std::move(request->query);
            kept.origin = std::move(request->origin);
            kept.user_data = std::move(request->user_data);
            server->info_headers = std::move(request->headers);
            server->info_channels.clear();
            pending = 1;
        } else {
            return fail(server->last_error, NX_ENOCLIENT,
                        fmt::format("no client with id {}", client));
        }
        info->id = client;
        info->peer = kept.peer.c_str();
        info->path = kept.path.c_str();
        info->query = kept.query.c_str();
        info->origin = kept.origin.c_str();
        info->subprotocol = kept.subprotocol.c_str();
        info->headers = server->info_headers.c_str();
        info->headers_size = server->info_headers.size();
        info->user_data = kept.user_data.c_str();
        info->user_data_size = kept.user_data.size();
        info->channels = server->info_channels.c_str();
        info->channels_size = server->info_channels.size();
        info->connected_at_ms = pending != 0
                                    ? 0
                                    : std::chrono::duration_cast<std::chrono::milliseconds>(
                                          kept.connected_at.time_since_epoch())
                                          .count();
        info->compressed = kept.compressed ? 1 : 0;
        info->pending = pending;
        return NX_OK;
    });
}

int nx_ws_server_clients(nx_ws_server* server, std::uint64_t* ids, std::size_t capacity) noexcept {
    NX_REQUIRE_SERVER(server);
    if (ids == nullptr && capacity != 0) {
        return fail(server->last_error, NX_EINVAL, "ids is NULL but capacity is not 0");
    }
    return guard(server->last_error, [&]() -> int {
        const auto all = server->server->client_ids();
        std::copy_n(all.begin(), std::min(capacity, all.size()), ids);
        return static_cast<int>(std::min<std::size_t>(all.size(), INT32_MAX));
    });
}

int nx_ws_server_client_count(const nx_ws_server* server) noexcept {
    NX_REQUIRE_SERVER(server);
    return static_cast<int>(std::min<std::size_t>(server->server->client_count(), INT32_MAX));
}

int nx_ws_server_set_user_data(nx_ws_server* server, std::uint64_t client, const char* data,
                               std::size_t size) noexcept {
    NX_REQUIRE_SERVER(server);
    if (data == nullptr && size != 0) {
        return fail(server->last_error, NX_EINVAL, "data is NULL but size is not 0");
    }
    if (size > k_max_user_data) {
        return fail(server->last_error, NX_ETOOBIG,
                    fmt::format("user data of {} bytes is over {} bytes", size, k_max_user_data));
    }
    return guard(server->last_error, [&]() -> int {
        std::string copy(data == nullptr ? "" : data, size);
        if (!server->server->set_user_data(client, copy) &&
            !server->events->set_pending_user_data(client, std::move(copy))) {
            return fail(server->last_error, NX_ENOCLIENT,
                        fmt::format("no client with id {}", client));
        }
        return NX_OK;
    });
}

int nx_ws_server_subscribe(nx_ws_server* server, std::uint64_t client, const char* channel,
                           std::size_t channel_size) noexcept {
    return channel_membership(server, client, channel, channel_size, true);
}

int nx_ws_server_unsubscribe(nx_ws_server* server, std::uint64_t client, const char* channel,
                             std::size_t channel_size) noexcept {
    return channel_membership(server, client, channel, channel_size, false);
}

int nx_ws_server_publish(nx_ws_server* server, const char* channel, std::size_t channel_size,
                         const char* data, std::size_t size, int opcode) noexcept {
    NX_REQUIRE_SERVER(server);
    own_loop(server);
    if (!valid_channel(channel, channel_size)) {
        return fail(server->last_error, NX_EINVAL,
                    "a channel name is 1..256 bytes without NUL, CR or LF");
    }
    if (const int rc = check_message(server, data, size, opcode); rc != NX_OK) {
        return rc;
    }
    return guard(server->last_error, [&]() -> int {
        const std::size_t n = server->server->publish(
            std::string_view(channel, channel_size), bytes(data, size), opcode == NX_OPCODE_BINARY);
        return static_cast<int>(std::min<std::size_t>(n, INT32_MAX));
    });
}

int nx_ws_server_get_stats(const nx_ws_server* server, nx_ws_server_stats* stats) noexcept {
    NX_REQUIRE_SERVER(server);
    if (stats == nullptr || stats->version != NX_WS_SERVER_STATS_VERSION) {
        return fail_thread(NX_EINVAL,
                           "stats is NULL or its version is not NX_WS_SERVER_STATS_VERSION");
    }
    fill_stats(server->server->stats(), stats);
    return NX_OK;
}

int nx_ws_server_node_id(const nx_ws_server* server, std::uint32_t* node) noexcept {
    NX_REQUIRE_SERVER(server);
    if (node == nullptr) {
        return fail_thread(NX_EINVAL, "node is NULL");
    }
    *node = server->server->node_id();
    return NX_OK;
}

int nx_ws_server_cluster_clients(nx_ws_server* server, std::uint64_t* ids,
                                 std::size_t capacity) noexcept {
    NX_REQUIRE_SERVER(server);
    if (ids == nullptr && capacity != 0) {
        return fail(server->last_error, NX_EINVAL, "ids is NULL but capacity is not 0");
    }
    return guard(server->last_error, [&]() -> int {
        try {
            auto all = server->server->cluster_clients();
            server->cluster.clear();
            std::size_t i = 0;
            for (auto& info : all) {
                if (i < capacity) {
                    ids[i] = info.id;
                }
                ++i;
                if (!server->server->is_local(info.id)) {
                    const std::uint64_t id = info.id;
                    server->cluster.emplace(id, std::move(info));
                }
            }
            return static_cast<int>(std::min<std::size_t>(all.size(), INT32_MAX));
        } catch (const nexus::io::SocketError& e) {
            return fail_query(server, e);
        }
    });
}

int nx_ws_server_get_cluster_stats(nx_ws_server* server, nx_ws_server_stats* stats) noexcept {
    NX_REQUIRE_SERVER(server);
    if (stats == nullptr || stats->version != NX_WS_SERVER_STATS_VERSION) {
        return fail(server->last_error, NX_EINVAL,
                    "stats is NULL or its version is not NX_WS_SERVER_STATS_VERSION");
    }
    return guard(server->last_error, [&]() -> int {
        try {
            fill_stats(server->server->cluster_stats(), stats);
            return NX_OK;
        } catch (const nexus::io::SocketError& e) {
            return fail_query(server, e);
        }
    });
}

} // extern "C"
