// What the server subcommands share: options → ServerConfig, and running
// until a signal asks for a graceful stop.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include <Poco/Exception.h>

#include "commands.hpp"
#include "nexus/io/socket_error.hpp"

namespace nexus::tool {

std::set<std::string> server_valued_options(const std::set<std::string>& extra) {
    std::set<std::string> names{"host",
                                "port",
                                "threads",
                                "max-clients",
                                "max-message-size",
                                "max-frame-size",
                                "ping-interval",
                                "pong-timeout",
                                "idle-timeout",
                                "max-send-queue",
                                "rate-limit",
                                "static-dir",
                                "log-level",
                                "env-file",
                                "subprotocols",
                                "allowed-origins",
                                "handshake-timeout",
                                "tls-cert",
                                "tls-key",
                                "tls-passphrase",
                                "redis",
                                "scaling-prefix",
                                "scaling-lease"};
    names.insert(extra.begin(), extra.end());
    return names;
}

std::set<std::string> server_flag_options(const std::set<std::string>& extra) {
    std::set<std::string> names{"help", "deflate", "no-deflate"};
    names.insert(extra.begin(), extra.end());
    return names;
}

const char* server_options_help() {
    return "  --host ADDR              address to bind (WEBSOCKET_HOST, default 0.0.0.0)\n"
           "  --port N                 port (WEBSOCKET_PORT, default 8080; 0 picks one)\n"
           "  --threads N              event loops sharing the port (default 1)\n"
           "  --max-clients N          over it the handshake gets 503 (default 100)\n"
           "  --max-message-size N     bytes; bigger messages close with 1009\n"
           "  --max-frame-size N       bytes; bigger frames close with 1009\n"
           "  --ping-interval S        seconds between pings, 0 = off (default 30)\n"
           "  --pong-timeout S         seconds a pinged peer may stay silent\n"
           "  --idle-timeout S         close idle clients after S seconds (0 = off)\n"
           "  --handshake-timeout S    drop clients that do not finish the handshake\n"
           "  --max-send-queue N       bytes queued per client before it is cut off\n"
           "  --rate-limit N           messages per second per client (0 = off)\n"
           "  --subprotocols A,B       subprotocols spoken, in order of preference\n"
           "  --allowed-origins O,P    Origin values allowed (default: any)\n"
           "  --deflate / --no-deflate permessage-deflate on or off\n"
           "  --static-dir DIR         serve files of DIR to plain HTTP GETs\n"
           "  --log-level L            trace|debug|info|warning|error|off\n"
           "  --env-file FILE          .env file to read (default ./.env)\n"
           "  --tls-cert FILE          serve wss:// (and https) with this PEM certificate\n"
           "                           chain (WEBSOCKET_TLS_CERT); the key may be in it\n"
           "  --tls-key FILE           its PEM private key (WEBSOCKET_TLS_KEY)\n"
           "  --tls-passphrase TEXT    of an encrypted key (WEBSOCKET_TLS_PASSPHRASE;\n"
           "                           prefer the variable: arguments are visible to ps)\n"
           "  --redis URL              share clients, broadcasts and channels with every\n"
           "                           server on this Redis (WEBSOCKET_SCALING=redis,\n"
           "                           REDIS_URL: redis://[:password@]host[:port][/db],\n"
           "                           rediss:// for TLS)\n"
           "  --scaling-prefix P       Redis key and channel prefix (default nexus)\n"
           "  --scaling-lease S        presence lease in seconds (default 10)\n";
}

io::ServerConfig server_config_from(const Options& o) {
    io::ServerConfig c;
    try {
        c.apply_environment(io::load_environment(o.get("env-file", ".env")));
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("environment: ") + e.what());
    }
    using std::chrono::milliseconds;
    const auto ms = [](double seconds) { return milliseconds(std::llround(seconds * 1000.0)); };
    c.host = o.get("host", c.host);
    c.port = static_cast<std::uint16_t>(o.get_uint("port", c.port, 0, 65535));
    c.threads = static_cast<unsigned>(o.get_uint("threads", c.threads, 1, 256));
    c.max_clients = o.get_uint("max-clients", c.max_clients, 0, 10'000'000);
    c.max_message_size = o.get_uint("max-message-size", c.max_message_size, 1, 1ull << 40);
    c.max_frame_size = o.get_uint("max-frame-size", c.max_frame_size, 1, 1ull << 40);
    c.max_send_queue = o.get_uint("max-send-queue", c.max_send_queue, 1, 1ull << 40);
    if (o.has("ping-interval")) {
        c.ping_interval = ms(o.get_seconds("ping-interval", 0));
    }
    if (o.has("pong-timeout")) {
        c.pong_timeout = ms(o.get_seconds("pong-timeout", 0));
    }
    if (o.has("idle-timeout")) {
        c.idle_timeout = ms(o.get_seconds("idle-timeout", 0));
    }
    if (o.has("handshake-timeout")) {
        c.handshake_timeout = ms(o.get_seconds("handshake-timeout", 0));
        if (c.handshake_timeout.count() == 0) {
            throw UsageError("--handshake-timeout must be more than 0");
        }
    }
    if (o.has("rate-limit")) {
        c.max_messages_per_second = o.get_seconds("rate-limit", 0);
    }
    if (o.has("deflate")) {
        c.permessage_deflate = true;
    }
    if (o.has("no-deflate")) {
        c.permessage_deflate = false;
    }
    if (o.has("static-dir")) {
        c.static_dir = o.get("static-dir", "");
    }
    const auto split = [](const std::string& s) {
        std::vector<std::string> out;
        std::size_t start = 0;
        while (start <= s.size()) {
            const auto comma = s.find(',', start);
            const auto item = s.substr(start, comma == std::string::npos ? comma : comma - start);
            if (!item.empty()) {
                out.push_back(item);
            }
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        return out;
    };
    if (o.has("subprotocols")) {
        c.subprotocols = split(o.get("subprotocols", ""));
    }
    if (o.has("allowed-origins")) {
        c.allowed_origins = split(o.get("allowed-origins", ""));
    }
    if (o.has("log-level") && !io::parse_log_level(o.get("log-level", ""), c.log_level)) {
        throw UsageError("--log-level must be trace, debug, info, warning, error or off");
    }
    if (o.has("tls-cert")) {
        if (!c.tls) {
            c.tls.emplace();
        }
        c.tls->local_cert = o.get("tls-cert", "");
    }
    for (const char* name : {"tls-key", "tls-passphrase"}) {
        if (o.has(name) && !c.tls) {
            throw UsageError(std::string("--") + name + " needs --tls-cert");
        }
    }
    if (c.tls) {
        c.tls->local_pk = o.get("tls-key", c.tls->local_pk);
        c.tls->passphrase = o.get("tls-passphrase", c.tls->passphrase);
    }
    if (o.has("redis")) {
        c.scaling.enabled = true;
        c.scaling.redis_url = o.get("redis", "");
        try {
            (void)io::RedisEndpoint::parse(c.scaling.redis_url);
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string("--redis: ") + e.what());
        }
    }
    for (const char* name : {"scaling-prefix", "scaling-lease"}) {
        if (o.has(name) && !c.scaling.enabled) {
            throw UsageError(std::string("--") + name +
                             " needs --redis (or WEBSOCKET_SCALING=redis)");
        }
    }
    c.scaling.prefix = o.get("scaling-prefix", c.scaling.prefix);
    if (o.has("scaling-lease")) {
        c.scaling.presence_lease = ms(o.get_seconds("scaling-lease", 0));
    }
    return c;
}

bool server_help_requested(const Options& options, const char* usage) {
    if (options.has("help")) {
        std::printf("%s%s", usage, server_options_help());
        return true;
    }
    if (!options.positional().empty()) {
        throw UsageError("unexpected argument " + options.positional().front());
    }
    return false;
}

int run_until_signal(io::WebSocketServer& server, const io::ServerConfig& config,
                     const std::function<void(std::uint16_t port)>& announce) {
    // Signals go to one waiting thread, never into the loops.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1); // our own "the server is done" wakeup
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    try {
        server.start();
    } catch (const io::SocketError& e) { // certificates (TLS is set up before listening)
        std::fprintf(stderr, "nexus-socket: %s\n", e.what());
        return 1;
    } catch (const Poco::Exception& e) {
        std::fprintf(stderr, "nexus-socket: cannot listen on %s:%u: %s\n", config.host.c_str(),
                     config.port, e.displayText().c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nexus-socket: cannot listen on %s:%u: %s\n", config.host.c_str(),
                     config.port, e.what());
        return 1;
    }
    // Scripts start us with --port 0 and read the port from this line.
    announce(server.port());
    if (config.scaling.enabled) {
        std::printf("sharing clients through redis %s as server %u\n",
                    io::RedisEndpoint::parse(config.scaling.redis_url).where().c_str(),
                    server.node_id());
    }
    std::fflush(stdout);
    std::thread watcher([&server, signals] {
        int received = 0;
        sigwait(&signals, &received);
        if (received != SIGUSR1) {
            server.stop();
        }
    });
    server.run();
    // Wake the watcher if the server stopped on its own.
    pthread_kill(watcher.native_handle(), SIGUSR1);
    watcher.join();
    return 0;
}

} // namespace nexus::tool
