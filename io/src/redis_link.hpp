// Private: one connection to Redis for the backplane's own threads.
//
// Poco::Redis speaks the protocol (its Array for commands, its RedisType and
// streams for replies); this class adds what Poco::Redis::Client of Poco 1.11
// lacks: TLS (rediss://, through our TlsContext and its host-name check),
// AUTH and SELECT from the URL, and a wait that a stop can interrupt. Every
// call is blocking and bounded by the timeout given at connect.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <Poco/Net/StreamSocket.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/RedisStream.h>
#include <Poco/Redis/Type.h>

#include "nexus/io/scaling.hpp"

namespace nexus::io::detail {

class TlsContext;

/// Redis answered a command with an error ("-ERR ..."): the connection is
/// fine, the command was not.
class RedisReplyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class RedisLink {
public:
    /// Connects (TLS for rediss://), then AUTH and SELECT when the endpoint
    /// asks, all within `timeout`; later reads and writes wait at most
    /// `timeout` too. Throws SocketError (refused, timeout, tls_*, io, ...)
    /// or RedisReplyError (wrong password, bad database), each naming
    /// host:port.
    RedisLink(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout);
    ~RedisLink();
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;

    /// Queues a command (written by flush(), or once the buffer fills).
    void write(const Poco::Redis::Array& command);
    /// Queues commands already in RESP (Array::toString()).
    void write_raw(std::string_view commands);
    void flush();
    /// The next reply; an error reply is returned, not thrown.
    Poco::Redis::RedisType::Ptr read();
    /// write + flush + read; throws RedisReplyError on an error reply.
    Poco::Redis::RedisType::Ptr call(const Poco::Redis::Array& command);

    /// Waits until a reply can be read (true), `wake_fd` is readable, or
    /// `wait` passed (false). Bytes already buffered count as readable.
    bool wait_readable(int wake_fd, std::chrono::milliseconds wait);
    /// Bytes of a next reply are already here (read, or decrypted).
    bool has_buffered();

    const std::string& where() const noexcept { return where_; }

private:
    [[noreturn]] void fail(const std::exception& e, const char* doing);

    std::string where_;
    std::unique_ptr<TlsContext> tls_;
    Poco::Net::StreamSocket socket_; // plain or the SecureStreamSocket over it
    std::unique_ptr<Poco::Redis::RedisInputStream> in_;
    std::unique_ptr<Poco::Redis::RedisOutputStream> out_;
};

/// The reply as text when it is a simple or bulk string ("" for nil).
std::string reply_text(const Poco::Redis::RedisType::Ptr& reply);
/// The reply as an integer (an Int64 reply); throws RedisReplyError otherwise.
std::int64_t reply_integer(const Poco::Redis::RedisType::Ptr& reply);
/// Throws RedisReplyError when `reply` is an error reply.
void check_reply(const Poco::Redis::RedisType::Ptr& reply);

} // namespace nexus::io::detail
