// Several servers as one: broadcasts, channel publishes, sends, disconnects
// and presence shared through Redis pub/sub (docs/scaling.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nexus/io/tls.hpp"

namespace nexus::io {

/// Where Redis is: parsed from a URL
///   redis://[[user]:password@]host[:port][/database][?name=value&...]
///   rediss://...   (TLS; the query takes TlsOptions names: cafile,
///                   verify_peer, verify_peer_name, allow_self_signed,
///                   peer_name, local_cert, local_pk, passphrase, ...)
/// User and password are percent-decoded. Port 6379 and database 0 unless
/// given.
struct RedisEndpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string user;     // ACL user (Redis 6+); empty: "default" with a password
    std::string password; // empty: no AUTH
    unsigned database = 0;
    std::optional<TlsOptions> tls; // set for rediss://

    /// Throws std::invalid_argument saying what is wrong (never quoting the
    /// password).
    static RedisEndpoint parse(std::string_view url);
    /// "host:port" for messages (no credentials).
    std::string where() const;
};

struct ScalingConfig {
    /// Share clients with other servers through Redis
    /// (WEBSOCKET_SCALING=redis; "none" or empty: off, the default).
    bool enabled = false;
    /// REDIS_URL (see RedisEndpoint).
    std::string redis_url = "redis://127.0.0.1:6379/0";
    /// Every key and pub/sub channel the servers use starts with this and
    /// ':' (WEBSOCKET_SCALING_PREFIX): servers with different prefixes on
    /// one Redis never see each other.
    std::string prefix = "nexus";
    /// A server refreshes its presence every third of this; one that stops
    /// refreshing (killed, cut off) leaves presence, with its clients, once
    /// it has passed (WEBSOCKET_SCALING_LEASE, seconds; at least 0.3 s).
    std::chrono::milliseconds presence_lease{10'000};
    /// Connect, command and query timeout (WEBSOCKET_SCALING_TIMEOUT, seconds).
    std::chrono::milliseconds redis_timeout{2'000};
    /// Bytes of messages waiting to go to Redis; beyond it (Redis too slow)
    /// remote deliveries are dropped and counted (WEBSOCKET_SCALING_BACKLOG).
    std::size_t max_backlog = 16 * 1024 * 1024;
};

} // namespace nexus::io
