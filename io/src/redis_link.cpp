#include "redis_link.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Error.h>
#include <Poco/Redis/Exception.h>
#include <fcntl.h>
#include <poll.h>

#include <cctype>
#include <charconv>

#include "nexus/io/socket_error.hpp"
#include "socket_detail.hpp"
#include "tls_context.hpp"

namespace nexus::io {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decoded(std::string_view s, const char* what) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        const int high = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
        const int low = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
        if (high < 0 || low < 0) {
            throw std::invalid_argument(std::string("a bad %-escape in the ") + what);
        }
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

template <typename Number>
Number parse_number(std::string_view text, Number max, const char* what) {
    Number out{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || out > max) {
        throw std::invalid_argument(std::string("a bad ") + what + " '" + std::string(text) + "'");
    }
    return out;
}

} // namespace

RedisEndpoint RedisEndpoint::parse(std::string_view url) {
    RedisEndpoint e;
    if (url.starts_with("redis://")) {
        url.remove_prefix(8);
    } else if (url.starts_with("rediss://")) {
        url.remove_prefix(9);
        e.tls.emplace();
    } else {
        throw std::invalid_argument("expected redis://host[:port][/db] or rediss://...");
    }
    std::string_view query;
    if (const auto mark = url.find('?'); mark != std::string_view::npos) {
        query = url.substr(mark + 1);
        url = url.substr(0, mark);
    }
    if (const auto at = url.rfind('@'); at != std::string_view::npos) {
        const std::string_view credentials = url.substr(0, at);
        url = url.substr(at + 1);
        const auto colon = credentials.find(':');
        if (colon == std::string_view::npos) {
            // redis://secret@host: Redis's own tools read a lone value as the password.
            e.password = percent_decoded(credentials, "password");
        } else {
            e.user = percent_decoded(credentials.substr(0, colon), "user name");
            e.password = percent_decoded(credentials.substr(colon + 1), "password");
        }
    }
    std::string_view database;
    if (const auto slash = url.find('/'); slash != std::string_view::npos) {
        database = url.substr(slash + 1);
        url = url.substr(0, slash);
    }
    if (!database.empty()) {
        e.database = parse_number<unsigned>(database, 1'000'000, "database number");
    }
    std::string_view port;
    if (url.starts_with('[')) { // [IPv6]:port
        const auto close = url.find(']');
        if (close == std::string_view::npos) {
            throw std::invalid_argument("an IPv6 address without its ']'");
        }
        e.host = std::string(url.substr(1, close - 1));
        const std::string_view rest = url.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) {
            throw std::invalid_argument("text after the IPv6 address");
        }
        port = rest.empty() ? rest : rest.substr(1);
    } else {
        const auto colon = url.find(':');
        e.host = std::string(url.substr(0, colon));
        port = colon == std::string_view::npos ? std::string_view{} : url.substr(colon + 1);
    }
    if (e.host.empty()) {
        throw std::invalid_argument("no host");
    }
    if (!port.empty()) {
        e.port = parse_number<std::uint16_t>(port, 65535, "port");
        if (e.port == 0) {
            throw std::invalid_argument("port 0");
        }
    }
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        const std::string name(pair.substr(0, eq));
        const std::string value =
            percent_decoded(eq == std::string_view::npos ? "1" : pair.substr(eq + 1), "query");
        if (!e.tls) {
            throw std::invalid_argument("option '" + name + "' needs rediss:// (TLS)");
        }
        try {
            if (!e.tls->set(name, value)) {
                throw std::invalid_argument("unknown TLS option '" + name + "'");
            }
        } catch (const SocketError& error) {
            throw std::invalid_argument(error.what());
        }
    }
    return e;
}

std::string RedisEndpoint::where() const {
    return detail::where(host, port);
}

namespace detail {
namespace {

using Poco::Redis::Array;
using Poco::Redis::RedisType;

int fd_of(const Poco::Net::StreamSocket& socket) {
    return static_cast<int>(socket.impl()->sockfd());
}

} // namespace

RedisLink::RedisLink(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout)
    : where_(endpoint.where()) {
    const Poco::Timespan span(
        std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
    const Deadline deadline = Deadline::after(timeout);
    try {
        // The name is resolved without a timeout of its own (getaddrinfo).
        const Poco::Net::SocketAddress address(endpoint.host, endpoint.port);
        Poco::Net::StreamSocket plain(address.family());
        // Poco makes sockets without close-on-exec: a program that starts a
        // child (PHP's exec) must not hand it our connection to Redis.
        ::fcntl(fd_of(plain), F_SETFD, FD_CLOEXEC);
        plain.connect(address, span);
        plain.setNoDelay(true);
        if (endpoint.tls) {
            tls_ = std::make_unique<TlsContext>(*endpoint.tls, TlsRole::client);
            // The handshake runs non-blocking with the deadline; afterwards
            // the inner socket goes back to blocking for Poco's streams
            // (Poco's TLS socket asks its inner socket whether it blocks).
            plain.setBlocking(false);
            socket_ = tls_handshake(plain, *tls_, endpoint.host, deadline, where_);
            plain.setBlocking(true);
        } else {
            socket_ = plain;
        }
        socket_.setReceiveTimeout(span);
        socket_.setSendTimeout(span);
    } catch (const SocketError&) {
        throw;
    } catch (const std::exception& e) {
        fail(e, "connecting to");
    }
    in_ = std::make_unique<Poco::Redis::RedisInputStream>(socket_);
    out_ = std::make_unique<Poco::Redis::RedisOutputStream>(socket_);
    // A failed read rethrows its cause instead of reading as end of stream.
    in_->exceptions(std::ios::badbit);
    if (!endpoint.password.empty()) {
        Array auth;
        auth << "AUTH";
        if (!endpoint.user.empty()) {
            auth << endpoint.user;
        }
        auth << endpoint.password;
        try {
            call(auth);
        } catch (const RedisReplyError& e) {
            throw RedisReplyError("redis " + where_ + " refused the password: " + e.what());
        }
    }
    if (endpoint.database != 0) {
        Array select;
        select << "SELECT" << std::to_string(endpoint.database);
        call(select);
    }
}

RedisLink::~RedisLink() {
    try {
        socket_.close();
    } catch (...) { // NOLINT(bugprone-empty-catch): closing a broken socket
    }
}

void RedisLink::fail(const std::exception& e, const char* doing) {
    const auto* poco = dynamic_cast<const Poco::Exception*>(&e);
    std::string text = poco != nullptr ? poco->displayText() : e.what();
    SocketErrorKind kind = SocketErrorKind::io;
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr) {
        kind = SocketErrorKind::timeout;
    } else if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) != nullptr) {
        kind = SocketErrorKind::refused;
    } else if (dynamic_cast<const Poco::Net::HostNotFoundException*>(&e) != nullptr ||
               dynamic_cast<const Poco::Net::NoAddressFoundException*>(&e) != nullptr) {
        kind = SocketErrorKind::dns;
    } else if (dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) != nullptr) {
        kind = SocketErrorKind::closed;
    }
    throw SocketError(kind, std::string("redis ") + doing + " " + where_ + ": " + text);
}

void RedisLink::write(const Array& command) {
    try {
        *out_ << command.toString();
    } catch (const std::exception& e) {
        fail(e, "writing to");
    }
}

void RedisLink::write_raw(std::string_view commands) {
    try {
        out_->write(commands.data(), static_cast<std::streamsize>(commands.size()));
    } catch (const std::exception& e) {
        fail(e, "writing to");
    }
}

void RedisLink::flush() {
    try {
        out_->flush();
    } catch (const std::exception& e) {
        fail(e, "writing to");
    }
    if (!out_->good()) {
        throw SocketError(SocketErrorKind::closed, "redis " + where_ + ": the connection broke");
    }
}

RedisType::Ptr RedisLink::read() {
    try {
        const int marker = in_->get();
        if (marker == std::char_traits<char>::eof()) {
            throw SocketError(SocketErrorKind::closed,
                              "redis " + where_ + " closed the connection");
        }
        RedisType::Ptr reply = RedisType::createRedisType(static_cast<char>(marker));
        if (reply.isNull()) {
            throw SocketError(SocketErrorKind::io,
                              "redis " + where_ + " sent an unknown reply type");
        }
        reply->read(*in_);
        return reply;
    } catch (const SocketError&) {
        throw;
    } catch (const std::exception& e) {
        fail(e, "reading from");
    }
}

RedisType::Ptr RedisLink::call(const Array& command) {
    write(command);
    flush();
    RedisType::Ptr reply = read();
    check_reply(reply);
    return reply;
}

bool RedisLink::has_buffered() {
    // Buffered by Poco's stream, waiting in the socket, or decrypted inside OpenSSL.
    return in_->rdbuf()->in_avail() > 0 || socket_.available() > 0;
}

bool RedisLink::wait_readable(int wake_fd, std::chrono::milliseconds wait) {
    if (has_buffered()) {
        return true;
    }
    pollfd fds[2] = {{fd_of(socket_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(wait.count()));
    return n > 0 && fds[0].revents != 0;
}

std::string reply_text(const RedisType::Ptr& reply) {
    if (reply->isBulkString()) {
        const auto& value =
            dynamic_cast<const Poco::Redis::Type<Poco::Redis::BulkString>&>(*reply).value();
        return value.isNull() ? std::string() : value.value();
    }
    if (reply->isSimpleString()) {
        return dynamic_cast<const Poco::Redis::Type<std::string>&>(*reply).value();
    }
    check_reply(reply);
    throw RedisReplyError("redis answered with " + reply->toString() + " where text was expected");
}

std::int64_t reply_integer(const RedisType::Ptr& reply) {
    check_reply(reply);
    if (!reply->isInteger()) {
        throw RedisReplyError("redis answered with " + reply->toString() +
                              " where a number was expected");
    }
    return dynamic_cast<const Poco::Redis::Type<Poco::Int64>&>(*reply).value();
}

void check_reply(const RedisType::Ptr& reply) {
    if (reply->isError()) {
        throw RedisReplyError(dynamic_cast<const Poco::Redis::Type<Poco::Redis::Error>&>(*reply)
                                  .value()
                                  .getMessage());
    }
}

} // namespace detail
} // namespace nexus::io
