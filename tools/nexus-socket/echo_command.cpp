// `nexus-socket echo`: every message comes back with its opcode; with
// --broadcast it goes to every client, the sender included.
#include <algorithm>
#include <cstdio>

#include "commands.hpp"

namespace nexus::tool {
namespace {

class EchoHandler final : public io::ServerHandler {
public:
    explicit EchoHandler(bool broadcast) : broadcast_(broadcast) {}
    /// The server this handler answers for (set before it starts).
    void attach(io::WebSocketServer& server) { server_ = &server; }

    void on_message(io::ClientId id, std::span<const std::uint8_t> data, bool binary) override {
        if (broadcast_) {
            server_->broadcast(data, binary);
        } else {
            server_->send(id, data, binary);
        }
    }

private:
    io::WebSocketServer* server_ = nullptr;
    bool broadcast_;
};

constexpr const char* k_usage =
    "usage: nexus-socket echo [options]\n"
    "Echoes every message back to its sender with the same opcode.\n\n"
    "  --broadcast              send each message to every client, sender included\n"
    "  --help                   this text\n";

} // namespace

int echo_command(const std::vector<std::string>& args) {
    const Options options(args, server_valued_options(), server_flag_options({"broadcast"}));
    if (server_help_requested(options, k_usage)) {
        return 0;
    }
    io::ServerConfig config = server_config_from(options);
    // What conformance suites send: messages up to 16 MiB, echoed whole.
    if (!options.has("max-message-size")) {
        config.max_message_size = 16 * 1024 * 1024;
    }
    if (!options.has("max-frame-size")) {
        config.max_frame_size = 16 * 1024 * 1024;
    }
    if (!options.has("max-send-queue")) {
        config.max_send_queue = 64 * 1024 * 1024;
    }
    if (!options.has("max-clients") && !options.has("env-file")) {
        config.max_clients = std::max<std::size_t>(config.max_clients, 100'000);
    }
    EchoHandler handler(options.has("broadcast"));
    io::WebSocketServer instance(config, handler);
    handler.attach(instance);
    return run_until_signal(instance, config, [&config](std::uint16_t port) {
        std::printf("echo server listening on %s://%s:%u/\n", config.tls ? "wss" : "ws",
                    config.host.c_str(), port);
    });
}

} // namespace nexus::tool
