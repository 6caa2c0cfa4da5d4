#include "nexus/io/stream_socket.hpp"

#include <Poco/Net/StreamSocketImpl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

#include "socket_detail.hpp"
#include "socket_io.hpp"
#include "tls_context.hpp"

namespace nexus::io {

namespace {

constexpr std::size_t k_read_chunk = 64 * 1024;
constexpr std::size_t k_max_receive_buffer = 1024 * 1024;

int clamp_int(std::size_t n) {
    return static_cast<int>(std::min<std::size_t>(n, INT_MAX));
}

std::string ms_text(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + " ms";
}

void apply_buffers(int fd, const StreamOptions& o) {
    if (o.receive_buffer > 0) {
        detail::set_int_option(fd, SOL_SOCKET, SO_RCVBUF, o.receive_buffer, "SO_RCVBUF");
    }
    if (o.send_buffer > 0) {
        detail::set_int_option(fd, SOL_SOCKET, SO_SNDBUF, o.send_buffer, "SO_SNDBUF");
    }
}

void apply_flags(int fd, const StreamOptions& o) {
    detail::set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, o.no_delay ? 1 : 0, "TCP_NODELAY");
    detail::set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, o.keep_alive ? 1 : 0, "SO_KEEPALIVE");
}

// A Poco socket owning `fd` (non-blocking already): SecureStreamSocket
// attaches to a Poco socket, whose blocking flag must say non-blocking.
Poco::Net::StreamSocket wrap(int fd) {
    Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd));
    socket.setBlocking(false);
    return socket;
}

// One non-blocking connect to `address`: 0 with the descriptor in `out`, or
// the errno of the failure (ETIMEDOUT when the deadline passed first).
int connect_to(const detail::Address& address, const StreamOptions& options,
               detail::Deadline deadline, detail::Fd& out) {
    detail::Fd fd(detail::open_socket(address.family(), SOCK_STREAM));
    apply_buffers(fd.get(), options); // before the SYN: window scaling sees them
    if (::connect(fd.get(), address.get(), address.length) != 0) {
        int error = errno;
        if (error != EINPROGRESS && error != EINTR) {
            return error;
        }
        if (!detail::wait_fd(fd.get(), POLLOUT, deadline)) {
            return ETIMEDOUT;
        }
        socklen_t length = sizeof error;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
            return errno;
        }
        if (error != 0) {
            return error;
        }
    }
    out = std::move(fd);
    return 0;
}

[[noreturn]] void connect_failed(int error, const std::string& where) {
    const std::string reason = std::system_category().message(error);
    switch (detail::kind_of_errno(error)) {
    case SocketErrorKind::refused:
        throw SocketError(SocketErrorKind::refused, "connection refused by " + where);
    case SocketErrorKind::unreachable:
        throw SocketError(SocketErrorKind::unreachable, "cannot reach " + where + ": " + reason);
    default:
        throw SocketError(detail::kind_of_errno(error),
                          "cannot connect to " + where + ": " + reason);
    }
}

} // namespace

struct StreamSocket::Impl {
    StreamOptions options;
    std::optional<TlsOptions> tls_on_connect;
    std::optional<Poco::Net::StreamSocket> plain; // owns the descriptor
    std::optional<Poco::Net::SecureStreamSocket> secure;
    std::string host;  // as given to connect(): the name TLS verifies
    std::string where; // "host:port" for messages
    std::string inbox; // received, not yet returned (read_line/read_all)
    std::size_t inbox_at = 0;
    bool eof = false;
    bool failed = false;

    int fd() const { return plain ? plain->impl()->sockfd() : -1; }
    std::string_view pending() const { return std::string_view(inbox).substr(inbox_at); }
    void consume(std::size_t n) {
        inbox_at += n;
        if (inbox_at == inbox.size()) {
            inbox.clear();
            inbox_at = 0;
        }
    }

    // Up to `n` bytes into `out`: the count, 0 at end of stream, nullopt at
    // the deadline. Tries before waiting: OpenSSL may hold decrypted bytes
    // that raise no poll event.
    std::optional<std::size_t> read_some(char* out, std::size_t n, detail::Deadline deadline) {
        const int descriptor = fd();
        for (;;) {
            short events = POLLIN;
            if (secure) {
                int rc = 0;
                try {
                    detail::SigpipeGuard guard; // a read may write (TLS 1.3 key update)
                    ERR_clear_error();
                    rc = secure->receiveBytes(out, clamp_int(n));
                } catch (const std::exception& e) {
                    failed = true;
                    detail::throw_tls_io_error(e, "receiving from " + where);
                }
                if (rc > 0) {
                    return static_cast<std::size_t>(rc);
                }
                if (rc == 0) {
                    eof = true;
                    return 0;
                }
                if (rc == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE) {
                    events = POLLOUT;
                }
            } else {
                const auto r = detail::receive_some(descriptor, out, n);
                if (r.status == detail::IoStatus::done) {
                    return r.bytes;
                }
                if (r.status == detail::IoStatus::closed) {
                    eof = true;
                    return 0;
                }
                if (r.status == detail::IoStatus::failed) {
                    failed = true;
                    detail::throw_errno(r.error, "receiving from " + where);
                }
            }
            if (!detail::wait_fd(descriptor, events, deadline)) {
                return std::nullopt;
            }
        }
    }

    // Appends up to `n` received bytes to the inbox; as read_some.
    std::optional<std::size_t> fill(std::size_t n, detail::Deadline deadline) {
        if (inbox_at > 0 && inbox_at >= inbox.size() / 2) {
            inbox.erase(0, inbox_at);
            inbox_at = 0;
        }
        const std::size_t old = inbox.size();
        inbox.resize(old + n);
        std::optional<std::size_t> got;
        try {
            got = read_some(inbox.data() + old, n, deadline);
        } catch (...) {
            inbox.resize(old);
            throw;
        }
        inbox.resize(old + got.value_or(0));
        return got;
    }

    void start_tls(const detail::TlsContext& context, detail::Deadline deadline) {
        if (secure) {
            throw SocketError(SocketErrorKind::invalid_argument, "TLS is already on with " + where);
        }
        if (!pending().empty()) {
            throw SocketError(SocketErrorKind::invalid_argument,
                              std::to_string(pending().size()) + " bytes received in clear from " +
                                  where + " are unread; TLS cannot start after them");
        }
        try {
            secure = detail::tls_handshake(*plain, context, host, deadline, where);
        } catch (...) {
            // The failed TLS object closed the descriptor it shared.
            plain.reset();
            throw;
        }
    }
};

StreamSocket::StreamSocket() : impl_(std::make_unique<Impl>()) {}

StreamSocket::StreamSocket(TlsOptions tls) : impl_(std::make_unique<Impl>()) {
    impl_->tls_on_connect = std::move(tls);
}

StreamSocket::StreamSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamSocket::~StreamSocket() {
    close();
}

StreamSocket::StreamSocket(StreamSocket&&) noexcept = default;

StreamSocket& StreamSocket::operator=(StreamSocket&& other) noexcept {
    if (this != &other) {
        close();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

namespace {

// The state of a socket that must be connected (and not moved from).
template <typename ImplT>
ImplT& connected(const std::unique_ptr<ImplT>& impl) {
    if (!impl || !impl->plain) {
        throw SocketError(SocketErrorKind::not_connected, "the socket is not connected");
    }
    return *impl;
}

} // namespace

void StreamSocket::connect(std::string_view host, std::uint16_t port, Timeout timeout) {
    if (!impl_) {
        impl_ = std::make_unique<Impl>();
    }
    Impl& s = *impl_;
    const std::string where = detail::where(host, port);
    if (s.plain) {
        throw SocketError(SocketErrorKind::invalid_argument,
                          "already connected; cannot connect to " + where);
    }
    if (host.empty()) {
        throw SocketError(SocketErrorKind::invalid_argument, "no host to connect to");
    }
    // Unusable TLS options fail before any traffic.
    std::optional<detail::TlsContext> tls;
    if (s.tls_on_connect) {
        tls.emplace(*s.tls_on_connect, TlsRole::client);
    }
    const auto limit = timeout.value_or(s.options.connect_timeout);
    const auto deadline = detail::Deadline::after(limit);
    int error = ECONNREFUSED;
    for (const auto& address : detail::resolve(host, port, SOCK_STREAM, AF_UNSPEC, false)) {
        detail::Fd fd;
        error = connect_to(address, s.options, deadline, fd);
        if (error == 0) {
            s.plain = wrap(fd.release());
            break;
        }
        if (error == ETIMEDOUT || deadline.passed()) {
            break;
        }
    }
    if (error == ETIMEDOUT) {
        throw SocketError(SocketErrorKind::timeout,
                          "timed out connecting to " + where + " after " + ms_text(limit));
    }
    if (!s.plain) {
        connect_failed(error, where);
    }
    s.host = std::string(host);
    s.where = where;
    s.eof = false;
    s.failed = false;
    try {
        apply_flags(s.fd(), s.options);
        if (tls) {
            s.start_tls(*tls, deadline);
        }
    } catch (...) {
        close();
        throw;
    }
}

void StreamSocket::start_tls(const TlsOptions& tls, TlsRole role, Timeout timeout) {
    Impl& s = connected(impl_);
    const auto deadline = detail::Deadline::after(timeout.value_or(s.options.connect_timeout));
    s.start_tls(detail::TlsContext(tls, role), deadline);
}

std::size_t StreamSocket::send(std::string_view data, Timeout timeout) {
    Impl& s = connected(impl_);
    const auto deadline = detail::Deadline::after(timeout.value_or(s.options.write_timeout));
    const int fd = s.fd();
    std::size_t sent = 0;
    while (sent < data.size()) {
        const char* at = data.data() + sent;
        const std::size_t left = data.size() - sent;
        short events = POLLOUT;
        if (s.secure) {
            int rc = 0;
            try {
                detail::SigpipeGuard guard;
                ERR_clear_error();
                rc = s.secure->sendBytes(at, clamp_int(left));
            } catch (const std::exception& e) {
                s.failed = true;
                detail::throw_tls_io_error(e, "sending to " + s.where);
            }
            if (rc > 0) {
                sent += static_cast<std::size_t>(rc);
                continue;
            }
            if (rc == 0) {
                s.failed = true;
                throw SocketError(SocketErrorKind::closed,
                                  "sending to " + s.where + ": the peer closed the connection");
            }
            if (rc == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_READ) {
                events = POLLIN;
            }
        } else {
            const auto r = detail::send_some(fd, at, left);
            if (r.status == detail::IoStatus::done) {
                sent += r.bytes;
                continue;
            }
            if (r.status == detail::IoStatus::failed) {
                s.failed = true;
                detail::throw_errno(r.error, "sending to " + s.where);
            }
        }
        if (!detail::wait_fd(fd, events, deadline)) {
            break;
        }
    }
    return sent;
}

std::optional<std::size_t> StreamSocket::receive_into(std::span<char> out, Timeout timeout) {
    Impl& s = connected(impl_);
    if (out.empty()) {
        throw SocketError(SocketErrorKind::invalid_argument, "receive needs room for a byte");
    }
    const std::string_view pending = s.pending();
    if (!pending.empty()) {
        const std::size_t n = std::min(pending.size(), out.size());
        std::memcpy(out.data(), pending.data(), n);
        s.consume(n);
        return n;
    }
    return s.read_some(out.data(), out.size(),
                       detail::Deadline::after(timeout.value_or(s.options.read_timeout)));
}

std::optional<std::string> StreamSocket::receive(std::size_t max_bytes, Timeout timeout) {
    std::string buffer(std::min(max_bytes, k_max_receive_buffer), '\0');
    const auto n = receive_into(buffer, timeout);
    if (!n) {
        return std::nullopt;
    }
    buffer.resize(*n);
    return buffer;
}

std::optional<std::string> StreamSocket::read_line(std::size_t max_line, Timeout timeout) {
    Impl& s = connected(impl_);
    if (max_line == 0) {
        throw SocketError(SocketErrorKind::invalid_argument, "read_line needs max_line > 0");
    }
    const auto limit = timeout.value_or(s.options.read_timeout);
    const auto deadline = detail::Deadline::after(limit);
    std::size_t searched = 0;
    for (;;) {
        const std::string_view pending = s.pending();
        const auto newline = pending.find('\n', searched);
        if (newline != std::string_view::npos && newline < max_line) {
            std::string line(pending.substr(0, newline + 1));
            s.consume(line.size());
            return line;
        }
        if (pending.size() >= max_line) {
            throw SocketError(SocketErrorKind::too_large, "no end of line within " +
                                                              std::to_string(max_line) +
                                                              " bytes from " + s.where);
        }
        searched = pending.size();
        if (s.eof) {
            if (pending.empty()) {
                return std::nullopt;
            }
            std::string rest(pending);
            s.consume(rest.size());
            return rest;
        }
        if (!s.fill(std::min(k_read_chunk, max_line - pending.size()), deadline)) {
            throw SocketError(SocketErrorKind::timeout,
                              "no complete line from " + s.where + " within " + ms_text(limit));
        }
    }
}

std::string StreamSocket::read_all(std::size_t max_bytes, Timeout timeout) {
    Impl& s = connected(impl_);
    const auto limit = timeout.value_or(s.options.read_timeout);
    const auto deadline = detail::Deadline::after(limit);
    for (;;) {
        const std::size_t have = s.pending().size();
        if (have > max_bytes) {
            throw SocketError(SocketErrorKind::too_large,
                              "more than " + std::to_string(max_bytes) + " bytes from " + s.where);
        }
        if (s.eof) {
            std::string all(s.pending());
            s.consume(all.size());
            return all;
        }
        if (!s.fill(std::min(k_read_chunk, max_bytes + 1 - have), deadline)) {
            throw SocketError(SocketErrorKind::timeout,
                              s.where + " did not close within " + ms_text(limit));
        }
    }
}

void StreamSocket::close() noexcept {
    if (!impl_) {
        return;
    }
    Impl& s = *impl_;
    detail::SigpipeGuard guard;
    // The TLS object first: its shutdown writes on the descriptor, which
    // must still be ours (a closed number may already be reused).
    if (s.secure) {
        try {
            ERR_clear_error();
            s.secure->close();
        } catch (...) {
        }
        s.secure.reset();
    }
    if (s.plain) {
        try {
            s.plain->close();
        } catch (...) {
        }
        s.plain.reset();
    }
    s.inbox.clear();
    s.inbox_at = 0;
    s.eof = false;
    s.failed = false;
}

bool StreamSocket::is_connected() const noexcept {
    return impl_ && impl_->plain && !impl_->eof && !impl_->failed;
}

bool StreamSocket::is_tls() const noexcept {
    return impl_ && impl_->secure.has_value();
}

int StreamSocket::native_handle() const noexcept {
    return impl_ ? impl_->fd() : -1;
}

std::string StreamSocket::local_address() const {
    return detail::local_address_of(native_handle());
}

std::string StreamSocket::peer_address() const {
    return detail::peer_address_of(native_handle());
}

const StreamOptions& StreamSocket::options() const noexcept {
    static const StreamOptions k_defaults;
    return impl_ ? impl_->options : k_defaults;
}

void StreamSocket::set_options(const StreamOptions& options) {
    if (!impl_) {
        impl_ = std::make_unique<Impl>();
    }
    impl_->options = options;
    if (impl_->plain) {
        apply_buffers(impl_->fd(), options);
        apply_flags(impl_->fd(), options);
    }
}

void StreamSocket::set_timeout(std::chrono::milliseconds timeout) {
    StreamOptions o = options();
    o.connect_timeout = o.read_timeout = o.write_timeout = timeout;
    set_options(o);
}

namespace detail {

StreamSocket StreamSocketAccess::adopt(int fd, const StreamOptions& options) {
    auto impl = std::make_unique<StreamSocket::Impl>();
    impl->plain = wrap(fd);
    impl->options = options;
    impl->host = peer_host_of(fd);
    impl->where = peer_address_of(fd);
    StreamSocket socket(std::move(impl));
    apply_buffers(fd, options);
    apply_flags(fd, options);
    return socket;
}

void StreamSocketAccess::start_tls(StreamSocket& socket, const TlsContext& context,
                                   Deadline deadline) {
    connected(socket.impl_).start_tls(context, deadline);
}

} // namespace detail
} // namespace nexus::io
