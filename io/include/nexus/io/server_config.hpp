// Everything a WebSocket server can be told, with the defaults a user gets
// without saying anything, and the environment variables that set them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nexus/core/deflate.hpp"
#include "nexus/io/log.hpp"
#include "nexus/io/scaling.hpp"
#include "nexus/io/tls.hpp"

namespace nexus::io {

struct ServerConfig {
    /// Address to bind (WEBSOCKET_HOST) and port (WEBSOCKET_PORT; 0 picks a
    /// free port, see WebSocketServer::port()).
    std::string host = "0.0.0.0";
    std::uint16_t port = 8080;
    /// Event loops (threads) sharing the port with SO_REUSEPORT
    /// (WEBSOCKET_THREADS). 1 runs everything on one loop.
    unsigned threads = 1;

    /// Connections over this get HTTP 503 at the handshake
    /// (WEBSOCKET_MAX_CLIENTS).
    std::size_t max_clients = 100;
    /// Timeouts and intervals (below) longer than 2^31 - 1 ms (24.8 days)
    /// act as that: a connection keeps its times in 4 bytes each.
    ///
    /// A connection that has not finished its handshake by then is dropped
    /// (slowloris) (WEBSOCKET_HANDSHAKE_TIMEOUT, seconds).
    std::chrono::milliseconds handshake_timeout{10'000};
    /// Request line + headers over this get HTTP 431 (WEBSOCKET_MAX_HEADER_BYTES).
    std::size_t max_header_bytes = 16 * 1024;
    /// Frames / messages over these close with 1009 (WEBSOCKET_MAX_FRAME_SIZE,
    /// WEBSOCKET_MAX_MESSAGE_SIZE). 1 MiB each unless set: enough for chat
    /// and notifications, small enough that 1000 clients cannot exhaust memory.
    std::uint64_t max_frame_size = 1024 * 1024;
    std::uint64_t max_message_size = 1024 * 1024;
    /// Ping every interval; a peer that sends nothing for `pong_timeout`
    /// after a ping is dropped (WEBSOCKET_PING_INTERVAL, seconds; 0 = off;
    /// WEBSOCKET_PONG_TIMEOUT, seconds).
    std::chrono::milliseconds ping_interval{30'000};
    std::chrono::milliseconds pong_timeout{30'000};
    /// A connection with no message in either direction for this long is
    /// closed with 1001 (WEBSOCKET_IDLE_TIMEOUT, seconds; 0 = off).
    std::chrono::milliseconds idle_timeout{0};
    /// Bytes queued for one client beyond this disconnect it with 1008
    /// (a slow reader) (WEBSOCKET_MAX_SEND_QUEUE).
    std::size_t max_send_queue = 4 * 1024 * 1024;
    /// Messages per second one client may send; over it: close 1008
    /// (WEBSOCKET_RATE_LIMIT; 0 = no limit).
    double max_messages_per_second = 0;
    /// How long stop() waits for queued data and close frames to flush
    /// (WEBSOCKET_STOP_TIMEOUT, seconds), and how long a closing connection
    /// may take to finish its close handshake.
    std::chrono::milliseconds close_timeout{5'000};

    /// Origins allowed to connect (exact match of the Origin header, e.g.
    /// "https://example.com"); empty allows every origin, and requests
    /// without Origin (non-browsers) are always allowed
    /// (WEBSOCKET_ALLOWED_ORIGINS, comma-separated).
    std::vector<std::string> allowed_origins;
    /// Subprotocols the server speaks, in its order of preference; the first
    /// one the client offers is chosen (WEBSOCKET_SUBPROTOCOLS).
    std::vector<std::string> subprotocols;
    /// Offer permessage-deflate (WEBSOCKET_COMPRESSION=true).
    bool permessage_deflate = false;
    core::DeflateConfig deflate{true, false, 15, 15, -1, 8};

    /// Directory whose files plain HTTP GETs receive (the chat page);
    /// empty: every plain GET gets 404 (WEBSOCKET_STATIC_DIR).
    std::string static_dir;

    LogLevel log_level = LogLevel::warning;

    /// TLS (wss://, and https for the static files) when set: options with
    /// the names and meanings of PHP's `ssl` context (tls.hpp); a server
    /// needs local_cert, with the key in it or in local_pk
    /// (WEBSOCKET_TLS_CERT, WEBSOCKET_TLS_KEY, WEBSOCKET_TLS_PASSPHRASE).
    /// Unusable files fail WebSocketServer::start() with SocketError
    /// tls_config.
    std::optional<TlsOptions> tls;

    /// Several servers sharing clients through Redis; off unless enabled
    /// (scaling.hpp: WEBSOCKET_SCALING, REDIS_URL, WEBSOCKET_SCALING_*).
    ScalingConfig scaling;

    /// Applies the variables above from `env` (names as in the comments)
    /// over the current values. Throws std::invalid_argument naming the
    /// variable when a value does not parse or is out of range.
    void apply_environment(const std::map<std::string, std::string>& env);
};

/// The process environment merged over the variables of a `.env` file at
/// `dotenv_path` (when it exists): real environment variables win, as with
/// the usual dotenv loaders. Throws std::invalid_argument on a malformed
/// line, naming the file and line.
std::map<std::string, std::string> load_environment(const std::string& dotenv_path = ".env");

/// Parses the text of a .env file: `NAME=value` lines, `#` comments, blank
/// lines, optional `export `, values optionally in single or double quotes
/// (double-quoted values understand \n, \t, \", \\). Throws
/// std::invalid_argument("line N: ...") on anything else.
std::map<std::string, std::string> parse_dotenv(const std::string& text);

} // namespace nexus::io
