#include "bench_loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include <openssl/err.h>

#include "bench_stats.hpp"
#include "nexus/core/deflate.hpp"
#include "nexus/core/http.hpp"

namespace nexus::tool::bench {
namespace {

constexpr std::size_t k_read_buffer_size = std::size_t{256} * 1024;
constexpr int k_max_events = 1024;
constexpr std::uint64_t k_sweep_interval_ns = 100'000'000;

/// What --deflate offers: RFC 7692's defaults (context takeover both ways,
/// 32 KiB windows).
const core::DeflateConfig k_deflate_offer;

std::uint64_t pack(std::uint32_t index, std::uint32_t generation) noexcept {
    return static_cast<std::uint64_t>(generation) << 32 | index;
}

std::string errno_text(const char* what, int error) {
    return std::string(what) + ": " + std::strerror(error);
}

/// Raises the soft limit of open files to the hard one: idle runs hold
/// tens of thousands of sockets.
void raise_file_limit() noexcept {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

} // namespace

std::uint64_t FastRandom::next() noexcept {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void FastRandom::fill(std::span<std::uint8_t> out) noexcept {
    std::size_t i = 0;
    while (i < out.size()) {
        std::uint64_t bits = next();
        for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
            out[i] = static_cast<std::uint8_t>(bits);
            bits >>= 8;
        }
    }
}

const char* error_name(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::connect:
        return "connect";
    case ErrorKind::reset:
        return "reset";
    case ErrorKind::handshake:
        return "handshake";
    case ErrorKind::protocol:
        return "protocol";
    case ErrorKind::server_closed:
        return "server_closed";
    case ErrorKind::timeout:
        return "timeout";
    case ErrorKind::bad_echo:
        return "bad_echo";
    case ErrorKind::count_:
        break;
    }
    return "unknown";
}

Loop::Loop(Target target, Workload& workload)
    : target_(std::move(target)), workload_(workload),
      random_(now_ns() ^ (static_cast<std::uint64_t>(::getpid()) << 32)),
      read_buffer_(k_read_buffer_size) {
    raise_file_limit();
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        throw std::runtime_error(errno_text("epoll_create1", errno));
    }
}

Loop::~Loop() {
    abort_all();
    ::close(epoll_fd_);
}

std::uint32_t Loop::take_slot() {
    if (!free_.empty()) {
        const std::uint32_t index = free_.back();
        free_.pop_back();
        return index;
    }
    slots_.emplace_back();
    return static_cast<std::uint32_t>(slots_.size() - 1);
}

void Loop::set_state(Slot& slot, SlotState state) noexcept {
    const auto is_pending = [](SlotState s) {
        return s == SlotState::connecting || s == SlotState::handshaking;
    };
    pending_ -= is_pending(slot.state) ? 1U : 0U;
    open_ -= slot.state == SlotState::open ? 1U : 0U;
    active_ -= slot.state != SlotState::free ? 1U : 0U;
    slot.state = state;
    pending_ += is_pending(state) ? 1U : 0U;
    open_ += state == SlotState::open ? 1U : 0U;
    active_ += state != SlotState::free ? 1U : 0U;
}

void Loop::watch(std::uint32_t index, std::uint32_t events, bool add) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = pack(index, slots_[index].generation);
    ::epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, slots_[index].fd, &ev);
}

bool Loop::open(std::uint32_t source) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        count_error(ErrorKind::connect, errno_text("socket", errno));
        return false;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source != 0) {
        // Let connect() pick the port for the whole 4-tuple, so each source
        // address gets its own ~28k ephemeral ports towards one server port.
        ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = source;
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
            count_error(ErrorKind::connect, errno_text("bind", errno));
            ::close(fd);
            return false;
        }
    }
    const std::uint32_t endpoint = next_endpoint_;
    next_endpoint_ = (next_endpoint_ + 1) % static_cast<std::uint32_t>(target_.endpoints.size());
    const sockaddr_in& address = target_.endpoints[endpoint].address;
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    if (rc != 0 && errno != EINPROGRESS) {
        count_error(ErrorKind::connect, errno_text("connect", errno));
        ::close(fd);
        return false;
    }
    const std::uint32_t index = take_slot();
    Slot& slot = slots_[index];
    slot.fd = fd;
    slot.endpoint = endpoint;
    slot.we_closed = false;
    slot.want_out = false;
    slot.started_ns = now_ns();
    slot.deadline_ns = slot.started_ns + k_open_bound_ns;
    set_state(slot, SlotState::connecting);
    watch(index, EPOLLOUT, true);
    if (rc == 0) {
        on_connected(index);
    }
    return true;
}

void Loop::on_connected(std::uint32_t index) {
    Slot& slot = slots_[index];
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
    }
    if (error != 0) {
        fail(index, ErrorKind::connect, errno_text("connect", error));
        return;
    }
    if (target_.tls != nullptr) {
        // The TLS handshake runs inside the first write of the HTTP request.
        slot.ssl = SSL_new(target_.tls);
        if (slot.ssl == nullptr || SSL_set_fd(slot.ssl, slot.fd) != 1) {
            fail(index, ErrorKind::connect, "SSL_new failed");
            return;
        }
        SSL_set_connect_state(slot.ssl);
    }
    core::ClientConfig config;
    config.host = target_.endpoints[slot.endpoint].host_header;
    config.target = target_.path;
    if (target_.deflate) {
        config.extensions = core::deflate_offer(k_deflate_offer);
    }
    random_.fill(config.nonce);
    slot.handshake = std::make_unique<core::ClientHandshake>(std::move(config));
    slot.request_sent = 0;
    set_state(slot, SlotState::handshaking);
    watch(index, EPOLLIN, false);
    mark_dirty(index);
}

void Loop::send(std::uint32_t index, std::span<const std::uint8_t> payload, bool binary) {
    Slot& slot = slots_[index];
    if (slot.state != SlotState::open) {
        return;
    }
    if (binary) {
        slot.connection->send_binary(payload);
    } else {
        slot.connection->send_text({reinterpret_cast<const char*>(payload.data()), payload.size()});
    }
    mark_dirty(index);
}

void Loop::close(std::uint32_t index) {
    Slot& slot = slots_[index];
    if (slot.state == SlotState::open) {
        slot.we_closed = true;
        slot.connection->close(1000);
        slot.deadline_ns = now_ns() + k_close_bound_ns;
        set_state(slot, SlotState::closing);
        mark_dirty(index);
    } else if (slot.state == SlotState::connecting || slot.state == SlotState::handshaking) {
        slot.we_closed = true;
        doomed_.push_back(index);
    }
}

void Loop::close_all() {
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        close(i);
    }
}

void Loop::abort_all() {
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].state != SlotState::free) {
            slots_[i].we_closed = true;
            finish(i);
        }
    }
}

void Loop::mark_dirty(std::uint32_t index) {
    Slot& slot = slots_[index];
    if (!slot.dirty) {
        slot.dirty = true;
        dirty_.push_back(index);
    }
}

void Loop::count_error(ErrorKind kind, const std::string& detail) {
    const auto k = static_cast<std::size_t>(kind);
    ++errors_[k];
    if (details_[k].empty()) {
        details_[k] = detail;
    }
}

std::uint64_t Loop::errors() const noexcept {
    std::uint64_t total = 0;
    for (const auto n : errors_) {
        total += n;
    }
    return total;
}

void Loop::fail(std::uint32_t index, ErrorKind kind, const std::string& detail) {
    count_error(kind, detail);
    finish(index);
}

void Loop::finish(std::uint32_t index) {
    Slot& slot = slots_[index];
    if (slot.state == SlotState::free) {
        return;
    }
    const bool was_open = slot.state == SlotState::open || slot.state == SlotState::closing;
    if (slot.ssl != nullptr) {
        SSL_free(slot.ssl); // no close_notify: the load generator just goes
        slot.ssl = nullptr;
    }
    ::close(slot.fd); // also leaves the epoll set
    slot.fd = -1;
    set_state(slot, SlotState::free);
    ++slot.generation; // events already fetched for the old socket are ignored
    if (was_open) {
        workload_.on_gone(*this, index);
    }
    slot.handshake.reset();
    slot.connection.reset();
    free_.push_back(index);
}

long Loop::read_some(Slot& slot, std::string& error) {
    if (slot.ssl == nullptr) {
        const ssize_t n = ::recv(slot.fd, read_buffer_.data(), read_buffer_.size(), 0);
        if (n >= 0) {
            bytes_read_ += static_cast<std::uint64_t>(n);
            return n;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return k_would_block;
        }
        error = errno_text("recv", errno);
        return k_failed;
    }
    ERR_clear_error();
    std::size_t n = 0;
    if (SSL_read_ex(slot.ssl, read_buffer_.data(), read_buffer_.size(), &n) == 1) {
        bytes_read_ += n;
        return static_cast<long>(n);
    }
    switch (SSL_get_error(slot.ssl, 0)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return k_would_block;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno == 0) {
            return 0; // the peer closed without close_notify
        }
        error = errno_text("TLS read", errno);
        return k_failed;
    default:
        error = std::string("TLS: ") + ERR_reason_error_string(ERR_peek_error());
        return k_failed;
    }
}

long Loop::write_some(Slot& slot, const std::uint8_t* data, std::size_t size, std::string& error) {
    if (slot.ssl == nullptr) {
        for (;;) {
            const ssize_t n = ::send(slot.fd, data, size, MSG_NOSIGNAL);
            if (n >= 0) {
                bytes_written_ += static_cast<std::uint64_t>(n);
                return n;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return k_would_block;
            }
            error = errno_text("send", errno);
            return k_failed;
        }
    }
    ERR_clear_error();
    std::size_t n = 0;
    if (SSL_write_ex(slot.ssl, data, size, &n) == 1) {
        bytes_written_ += n;
        return static_cast<long>(n);
    }
    switch (SSL_get_error(slot.ssl, 0)) {
    case SSL_ERROR_WANT_READ: // the handshake waits for the server
    case SSL_ERROR_WANT_WRITE:
        return k_would_block;
    case SSL_ERROR_SYSCALL:
        error = errno_text("TLS write", errno);
        return k_failed;
    default: {
        const unsigned long code = ERR_peek_error();
        const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
        error = std::string("TLS: ") + (reason != nullptr ? reason : "handshake failed");
        return k_failed;
    }
    }
}

void Loop::on_readable(std::uint32_t index) {
    // A TLS read returns one record however much arrived: read on (a
    // bounded number of times) instead of waiting for the next poll, and
    // always while OpenSSL holds read-ahead bytes (no poll event says so).
    const int reads = slots_[index].ssl != nullptr ? 16 : 1;
    for (int i = 1; read_once(index); ++i) {
        const Slot& slot = slots_[index];
        if (i >= reads && (slot.ssl == nullptr || SSL_has_pending(slot.ssl) != 1)) {
            break;
        }
    }
    Slot& slot = slots_[index];
    if (slot.ssl != nullptr && slot.state == SlotState::handshaking) {
        mark_dirty(index); // the TLS handshake may have finished: the request goes on
    }
}

bool Loop::read_once(std::uint32_t index) {
    Slot& slot = slots_[index];
    std::string error;
    const long n = read_some(slot, error);
    if (n == k_would_block) {
        return false;
    }
    if (n == k_failed) {
        fail(index, slot.state == SlotState::handshaking ? ErrorKind::handshake : ErrorKind::reset,
             error);
        return false;
    }
    if (n == 0) {
        if (slot.state == SlotState::handshaking) {
            fail(index, ErrorKind::handshake, "the server closed during the handshake");
            return false;
        }
        core::Connection& connection = *slot.connection;
        if (!connection.close_received() && !connection.failed()) {
            fail(index, ErrorKind::reset, "the server ended the stream without a close frame");
            return false;
        }
        finish(index);
        return false;
    }
    std::span<std::uint8_t> data(read_buffer_.data(), static_cast<std::size_t>(n));
    if (slot.state == SlotState::handshaking) {
        std::size_t consumed = 0;
        const auto status = slot.handshake->receive_data(data, consumed);
        if (status == core::ParseStatus::need_more) {
            return true;
        }
        if (status == core::ParseStatus::failed) {
            const int code = slot.handshake->status_code();
            fail(index, ErrorKind::handshake,
                 std::string(core::describe(slot.handshake->error())) +
                     (code != 0 ? " (HTTP " + std::to_string(code) + ")" : ""));
            return false;
        }
        core::ConnectionConfig config;
        if (!connection_config(index, config)) {
            return false;
        }
        slot.handshake.reset();
        slot.connection = std::make_unique<core::Connection>(std::move(config));
        set_state(slot, SlotState::open);
        ++handshakes_;
        workload_.on_open(*this, index, now_ns());
        data = data.subspan(consumed);
        if (data.empty() || slots_[index].state == SlotState::free) {
            return slots_[index].state != SlotState::free;
        }
    }
    feed(index, data);
    return slots_[index].state != SlotState::free;
}

bool Loop::connection_config(std::uint32_t index, core::ConnectionConfig& config) {
    config.role = core::Role::client;
    config.entropy = [random = &random_](std::span<std::uint8_t> out) { random->fill(out); };
    if (!target_.deflate) {
        return true;
    }
    for (const core::Extension& extension : slots_[index].handshake->extensions()) {
        if (!core::ascii_iequals(extension.name, "permessage-deflate")) {
            continue;
        }
        core::DeflateParams params;
        const core::Error e = core::accept_deflate_response(extension, k_deflate_offer, params);
        if (e != core::Error::ok) {
            fail(index, ErrorKind::handshake, std::string(core::describe(e)));
            return false;
        }
        config.deflate = params;
        // Each message may go compressed or not (RFC 7692 §6): ours go
        // plain, so the server's compressing is what the run measures.
        config.compression_threshold = std::numeric_limits<std::size_t>::max();
        return true;
    }
    fail(index, ErrorKind::handshake, "the server did not agree to permessage-deflate");
    return false;
}

void Loop::feed(std::uint32_t index, std::span<std::uint8_t> data) {
    core::Connection& connection = *slots_[index].connection;
    connection.receive_data(data);
    core::Event event;
    while (connection.next_event(event)) {
        const std::uint64_t now = now_ns();
        switch (event.type) {
        case core::EventType::text:
        case core::EventType::binary:
            workload_.on_message(*this, index, event, now);
            break;
        case core::EventType::ping:
        case core::EventType::pong:
            break;
        case core::EventType::close: {
            // The reply is queued by the core (§5.5.1); the server closes the
            // TCP connection first (§7.1.1), which we wait for.
            Slot& slot = slots_[index];
            if (!slot.we_closed) {
                count_error(ErrorKind::server_closed,
                            "the server closed with code " + std::to_string(event.close_code));
                slot.we_closed = true;
            }
            if (slot.state == SlotState::open) {
                slot.deadline_ns = now + k_close_bound_ns;
                set_state(slot, SlotState::closing);
            }
            break;
        }
        case core::EventType::error:
            count_error(ErrorKind::protocol, std::string(core::describe(event.error)));
            slots_[index].we_closed = true;
            if (slots_[index].state == SlotState::open) {
                slots_[index].deadline_ns = now + k_close_bound_ns;
                set_state(slots_[index], SlotState::closing);
            }
            break;
        }
    }
    if (connection.wants_write()) {
        mark_dirty(index);
    }
}

void Loop::flush(std::uint32_t index) {
    Slot& slot = slots_[index];
    std::span<const std::uint8_t> out;
    if (slot.state == SlotState::handshaking) {
        const std::string& request = slot.handshake->request();
        out = {reinterpret_cast<const std::uint8_t*>(request.data()) + slot.request_sent,
               request.size() - slot.request_sent};
    } else if (slot.state == SlotState::open || slot.state == SlotState::closing) {
        out = slot.connection->data_to_send();
    }
    // A TLS write that waits for the server's handshake messages waits for
    // readability (on_readable marks the slot again), not writability.
    bool waits_for_read = false;
    std::size_t written = 0;
    // TLS: several records leave together, not one segment each (the
    // server does the same).
    const bool cork = slot.ssl != nullptr && out.size() > 16 * 1024;
    const int on = 1;
    const int off = 0;
    if (cork) {
        ::setsockopt(slot.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    }
    while (written < out.size()) {
        std::string error;
        const long n = write_some(slot, out.data() + written, out.size() - written, error);
        if (n == k_would_block) {
            waits_for_read = slot.ssl != nullptr && SSL_want_read(slot.ssl) == 1;
            break;
        }
        if (n < 0) {
            fail(index,
                 slot.state == SlotState::handshaking ? ErrorKind::handshake : ErrorKind::reset,
                 error);
            return;
        }
        written += static_cast<std::size_t>(n);
    }
    if (cork && slot.state != SlotState::free) {
        ::setsockopt(slot.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    }
    if (slot.state == SlotState::handshaking) {
        slot.request_sent += written;
    } else if (slot.connection) {
        slot.connection->consume(written);
    }
    const bool left = written < out.size() && !waits_for_read;
    if (left != slot.want_out) {
        slot.want_out = left;
        watch(index, left ? EPOLLIN | EPOLLOUT : EPOLLIN, false);
    }
    if (slot.connection && slot.connection->failed() && written >= out.size()) {
        finish(index); // our close frame for the peer's violation is out
    }
}

void Loop::sweep_deadlines(std::uint64_t now) {
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = slots_[i];
        if (slot.state == SlotState::free || slot.state == SlotState::open ||
            slot.deadline_ns > now) {
            continue;
        }
        const char* what = slot.state == SlotState::connecting    ? "connect timed out"
                           : slot.state == SlotState::handshaking ? "handshake timed out"
                                                                  : "close handshake timed out";
        fail(i, ErrorKind::timeout, what);
    }
}

void Loop::poll(int timeout_ms) {
    std::array<epoll_event, k_max_events> events{};
    const int n = ::epoll_wait(epoll_fd_, events.data(), k_max_events, timeout_ms);
    for (int e = 0; e < n; ++e) {
        const auto index = static_cast<std::uint32_t>(events[static_cast<std::size_t>(e)].data.u64);
        const auto generation =
            static_cast<std::uint32_t>(events[static_cast<std::size_t>(e)].data.u64 >> 32);
        const std::uint32_t flags = events[static_cast<std::size_t>(e)].events;
        if (index >= slots_.size() || slots_[index].generation != generation ||
            slots_[index].state == SlotState::free) {
            continue;
        }
        if (slots_[index].state == SlotState::connecting) {
            on_connected(index);
            continue;
        }
        if ((flags & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
            on_readable(index);
        }
        if ((flags & EPOLLOUT) != 0 && slots_[index].generation == generation &&
            slots_[index].state != SlotState::free) {
            mark_dirty(index);
        }
    }
    // Batched writes: everything queued this iteration goes out in one send
    // per connection.
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
        const std::uint32_t index = dirty_[i];
        slots_[index].dirty = false;
        if (slots_[index].state != SlotState::free) {
            flush(index);
        }
    }
    dirty_.clear();
    for (const std::uint32_t index : doomed_) {
        const SlotState s = slots_[index].state;
        if (s == SlotState::connecting || s == SlotState::handshaking) {
            finish(index);
        }
    }
    doomed_.clear();
    const std::uint64_t now = now_ns();
    if (now >= next_sweep_ns_) {
        next_sweep_ns_ = now + k_sweep_interval_ns;
        sweep_deadlines(now);
    }
}

} // namespace nexus::tool::bench
