// nexus-socket: the command-line tool. `nexus-socket COMMAND --help`.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

constexpr const char* k_usage =
    "usage: nexus-socket COMMAND [options]\n\n"
    "commands:\n"
    "  serve     the chat server and its browser page\n"
    "  echo      an echo server (for conformance suites and benchmarks)\n"
    "  connect   an interactive client: ws://HOST:PORT/PATH\n"
    "  bench     a load generator: echo, pipelined, storm, idle, broadcast\n\n"
    "Every command takes --host, --port and --help.\n";

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        std::fputs(k_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (command == "serve") {
            return nexus::tool::serve_command(args);
        }
        if (command == "echo") {
            return nexus::tool::echo_command(args);
        }
        if (command == "connect") {
            return nexus::tool::connect_command(args);
        }
        if (command == "bench") {
            return nexus::tool::bench_command(args);
        }
        std::fprintf(stderr, "nexus-socket: unknown command '%s'\n\n%s", command.c_str(), k_usage);
        return 2;
    } catch (const nexus::tool::UsageError& e) {
        std::fprintf(stderr, "nexus-socket %s: %s (see nexus-socket %s --help)\n", command.c_str(),
                     e.what(), command.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nexus-socket %s: %s\n", command.c_str(), e.what());
        return 1;
    }
}
