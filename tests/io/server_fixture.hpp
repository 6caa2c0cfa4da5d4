// A server on a loopback port 0, run on a thread of its own, with a handler
// that records every event for the test thread to wait on (with a bound).
#pragma once

#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "nexus/io/websocket_server.hpp"
#include "ws_test_client.hpp"

namespace nexus::testing {

inline io::ServerConfig quiet_config() {
    io::ServerConfig c;
    c.log_level = io::LogLevel::off;
    return c;
}

/// Resident memory of this process (/proc/self/statm).
inline std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0;
    std::size_t resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// Open file descriptors of this process.
inline std::size_t open_fds() {
    std::size_t n = 0;
    DIR* dir = opendir("/proc/self/fd");
    while (readdir(dir) != nullptr) {
        ++n;
    }
    closedir(dir);
    return n;
}

struct ServerEvent {
    enum Kind { connect, message, disconnect, error } kind = connect;
    io::ClientId id = 0;
    std::string data;
    bool binary = false;
    std::uint16_t code = 0;
    io::ClientInfo info;
};

class RecordingHandler : public io::ServerHandler {
public:
    void on_connect(io::ClientId id, const io::ClientInfo& info) override {
        push({ServerEvent::connect, id, {}, false, 0, info});
        if (on_connect_hook) {
            on_connect_hook(id);
        }
    }
    void on_message(io::ClientId id, std::span<const std::uint8_t> data, bool binary) override {
        push({ServerEvent::message, id, std::string(data.begin(), data.end()), binary, 0, {}});
        if (on_message_hook) {
            on_message_hook(id, std::string(data.begin(), data.end()), binary);
        }
    }
    void on_disconnect(io::ClientId id, std::uint16_t code, std::string_view reason) override {
        push({ServerEvent::disconnect, id, std::string(reason), false, code, {}});
    }
    void on_error(io::ClientId id, std::string_view message) override {
        push({ServerEvent::error, id, std::string(message), false, 0, {}});
    }
    io::HandshakeDecision on_handshake(const io::HandshakeView& view) override {
        return handshake_hook ? handshake_hook(view) : io::HandshakeDecision{};
    }

    /// The next event of `kind` (others are kept), or nullopt after `timeout`.
    std::optional<ServerEvent> wait(ServerEvent::Kind kind,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        std::optional<ServerEvent> found;
        cv_.wait_for(lock, timeout, [&] {
            for (auto it = events_.begin(); it != events_.end(); ++it) {
                if (it->kind == kind) {
                    found = *it;
                    events_.erase(it);
                    return true;
                }
            }
            return false;
        });
        return found;
    }

    std::function<void(io::ClientId)> on_connect_hook;
    std::function<void(io::ClientId, const std::string&, bool)> on_message_hook;
    std::function<io::HandshakeDecision(const io::HandshakeView&)> handshake_hook;

private:
    void push(ServerEvent e) {
        {
            const std::lock_guard lock(mutex_);
            events_.push_back(std::move(e));
        }
        cv_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<ServerEvent> events_;
};

/// Makes `handler` echo every message through `*server` (set once it exists).
inline void echo_messages(RecordingHandler& handler, io::WebSocketServer*& server) {
    handler.on_message_hook = [&server](io::ClientId id, const std::string& data, bool binary) {
        server->send(id, {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, binary);
    };
}

class RunningServer {
public:
    RunningServer(io::ServerConfig config, RecordingHandler& handler)
        : server_(adjust(std::move(config)), handler) {
        server_.start();
        thread_ = std::thread([this] { server_.run(); });
    }
    ~RunningServer() { stop(); }

    void stop() {
        server_.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    io::WebSocketServer& operator*() { return server_; }
    io::WebSocketServer* operator->() { return &server_; }
    std::uint16_t port() const { return server_.port(); }

private:
    static io::ServerConfig adjust(io::ServerConfig c) {
        c.host = "127.0.0.1";
        c.port = 0;
        return c;
    }
    io::WebSocketServer server_;
    std::thread thread_;
};

} // namespace nexus::testing
