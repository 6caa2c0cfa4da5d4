// The seed's broadcast server, in C++ on nexus::io: every message goes to
// every other client; joins and leaves are announced with the client count.
//
//   build/bin/example-broadcast-server [port]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nexus/io/websocket_server.hpp"

namespace {

class BroadcastServer final : public nexus::io::ServerHandler {
public:
    void attach(nexus::io::WebSocketServer& server) { server_ = &server; }

    void on_connect(nexus::io::ClientId, const nexus::io::ClientInfo& info) override {
        std::printf("%s joined\n", info.peer.c_str());
        server_->broadcast_text("Total clients: " + std::to_string(server_->client_count()));
    }

    void on_message(nexus::io::ClientId id, std::span<const std::uint8_t> data,
                    bool binary) override {
        server_->broadcast(data, binary, id); // everyone but the sender
    }

    void on_disconnect(nexus::io::ClientId, std::uint16_t, std::string_view) override {
        server_->broadcast_text("Client left. Total clients: " +
                                std::to_string(server_->client_count()));
    }

private:
    nexus::io::WebSocketServer* server_ = nullptr;
};

} // namespace

int main(int argc, char** argv) {
    nexus::io::ServerConfig config;
    config.apply_environment(nexus::io::load_environment()); // WEBSOCKET_* and .env
    config.host = "127.0.0.1";
    if (argc > 1) {
        config.port = static_cast<std::uint16_t>(std::strtoul(argv[1], nullptr, 10));
    }
    BroadcastServer handler;
    nexus::io::WebSocketServer server(config, handler);
    handler.attach(server);
    server.start();
    std::printf("Broadcast server running on ws://%s:%u\n", config.host.c_str(), server.port());
    std::fflush(stdout);
    server.run(); // until server.stop() from any thread
    return 0;
}
