// A redis-server of the test's own (Debian's redis-server) on a free
// loopback port, in memory only, for the scaling tests. Started and
// restarted on the same port; ready once it says so on its output.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tls_fixture.hpp"

namespace nexus::testing {

/// A loopback TCP port nothing listens on (bound to port 0, then released).
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

class RedisProcess {
public:
    struct Tls {
        std::string cert, key, ca;
    };

    /// Starts at once unless `start` is false (start() later).
    explicit RedisProcess(bool start_now = true, std::optional<Tls> tls = std::nullopt)
        : port_(free_port()), tls_(std::move(tls)) {
        if (start_now) {
            start();
        }
    }

    void start() {
        std::vector<std::string> argv = {"redis-server", "--bind", "127.0.0.1",  "--save", "",
                                         "--appendonly", "no",     "--loglevel", "notice"};
        if (tls_) {
            argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_),
                                     "--tls-cert-file", tls_->cert, "--tls-key-file", tls_->key,
                                     "--tls-ca-cert-file", tls_->ca, "--tls-auth-clients", "no"});
        } else {
            argv.insert(argv.end(), {"--port", std::to_string(port_)});
        }
        if (!password.empty()) {
            argv.insert(argv.end(), {"--requirepass", password});
        }
        process_ = std::make_unique<ChildProcess>(argv);
        if (!process_->wait_for_line("Ready to accept connections", std::chrono::seconds(20))) {
            throw std::runtime_error("redis-server did not start: " + process_->output());
        }
    }
    /// SIGKILL: everything it held is gone, as after a crash.
    void kill() { process_.reset(); }
    void restart() {
        kill();
        start();
    }

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return process_ ? process_->pid() : -1; }
    std::string url() const {
        return std::string(tls_ ? "rediss://" : "redis://") +
               (password.empty() ? "" : ":" + password + "@") +
               "127.0.0.1:" + std::to_string(port_);
    }

    std::string password; // set before start(): --requirepass

private:
    std::uint16_t port_;
    std::optional<Tls> tls_;
    std::unique_ptr<ChildProcess> process_;
};

/// A key prefix no other test shares (servers with it see only each other).
inline std::string unique_prefix() {
    static std::mt19937_64 random{std::random_device{}()};
    return "nxtest" + std::to_string(random() % 1'000'000'000);
}

} // namespace nexus::testing
