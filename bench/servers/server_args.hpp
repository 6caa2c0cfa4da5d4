// The command line of every bench server: [--host H] [--port P] [--broadcast].
// C++17, like the servers that build as C++17 (beast_echo, websocketpp_echo).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace bench_args {

struct ServerArgs {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0; // 0: the kernel picks
    bool broadcast = false;
};

/// Parses ARGV. On anything else (an unknown option, a missing value, a port
/// that is not 0..65535, --broadcast where BROADCAST_OK is false) prints
/// NAME's usage to stderr and returns nothing; the caller exits with 2.
inline std::optional<ServerArgs> parse(int argc, char** argv, const char* name, bool broadcast_ok) {
    ServerArgs args;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--broadcast" && broadcast_ok) {
            args.broadcast = true;
            continue;
        }
        if (a == "--host" && i + 1 < argc) {
            args.host = argv[++i];
            continue;
        }
        if (a == "--port" && i + 1 < argc) {
            char* end = nullptr;
            const long port = std::strtol(argv[++i], &end, 10);
            if (*argv[i] != '\0' && *end == '\0' && port >= 0 && port <= 65535) {
                args.port = static_cast<std::uint16_t>(port);
                continue;
            }
        }
        std::fprintf(stderr, "usage: %s [--host H] [--port P]%s\n", name,
                     broadcast_ok ? " [--broadcast]" : "");
        return std::nullopt;
    }
    return args;
}

} // namespace bench_args
