// `nexus-socket serve`: the seed's chat server — join and leave notices,
// every message broadcast as "[id] text" — with the chat page over plain
// HTTP on the same port.
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.hpp"

#ifndef NX_CHAT_PAGE_DIR
#define NX_CHAT_PAGE_DIR ""
#endif
#ifndef NX_INSTALLED_CHAT_PAGE_DIR
#define NX_INSTALLED_CHAT_PAGE_DIR "/usr/share/nexus-socket/chat"
#endif

namespace nexus::tool {
namespace {

class ChatHandler final : public io::ServerHandler {
public:
    /// The server this handler answers for (set before it starts).
    void attach(io::WebSocketServer& server) { server_ = &server; }

    void on_connect(io::ClientId id, const io::ClientInfo& info) override {
        std::printf("[%llu] connected from %s\n", static_cast<unsigned long long>(id),
                    info.peer.c_str());
        std::fflush(stdout);
        server_->broadcast_text(std::to_string(id) + " joined the chat", id);
    }

    void on_message(io::ClientId id, std::span<const std::uint8_t> data, bool binary) override {
        if (binary) {
            server_->broadcast(data, true);
            return;
        }
        const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
        std::printf("[%llu] %.*s\n", static_cast<unsigned long long>(id),
                    static_cast<int>(text.size()), text.data());
        std::fflush(stdout);
        server_->broadcast_text("[" + std::to_string(id) + "] " + std::string(text));
    }

    void on_disconnect(io::ClientId id, std::uint16_t code, std::string_view) override {
        std::printf("[%llu] disconnected (%u)\n", static_cast<unsigned long long>(id), code);
        std::fflush(stdout);
        server_->broadcast_text(std::to_string(id) + " left the chat");
    }

private:
    io::WebSocketServer* server_ = nullptr;
};

std::string default_page_dir() {
    for (const char* dir : {NX_CHAT_PAGE_DIR, NX_INSTALLED_CHAT_PAGE_DIR}) {
        std::error_code ec;
        if (dir[0] != '\0' &&
            std::filesystem::is_regular_file(std::string(dir) + "/index.html", ec)) {
            return dir;
        }
    }
    return {};
}

constexpr const char* k_usage = "usage: nexus-socket serve [options]\n"
                                "The chat server, with its page at http://HOST:PORT/.\n\n"
                                "  --help                   this text\n";

} // namespace

int serve_command(const std::vector<std::string>& args) {
    const Options options(args, server_valued_options(), server_flag_options());
    if (server_help_requested(options, k_usage)) {
        return 0;
    }
    io::ServerConfig config = server_config_from(options);
    if (config.static_dir.empty()) {
        config.static_dir = default_page_dir();
    }
    ChatHandler handler;
    io::WebSocketServer instance(config, handler);
    handler.attach(instance);
    return run_until_signal(instance, config, [&config](std::uint16_t port) {
        const bool tls = config.tls.has_value();
        std::printf("WebSocket chat server running on %s://%s:%u (page: %s://%s:%u/)\n",
                    tls ? "wss" : "ws", config.host.c_str(), port, tls ? "https" : "http",
                    config.host.c_str(), port);
    });
}

} // namespace nexus::tool
