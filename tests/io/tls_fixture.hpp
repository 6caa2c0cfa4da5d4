// Helpers of the Socket*, Udp* and Tls* suites: a server thread on our own
// SocketServer, child processes (openssl s_server / s_client) read with
// deadlines, and test certificates made at run time with the openssl
// command. Everything stays on loopback; every wait is bounded.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nexus/io/socket_server.hpp"
#include "nexus/io/stream_socket.hpp"

namespace nexus::testing {

/// The SocketError `f` throws; a test failure (and kind io) when none.
template <typename F>
io::SocketError socket_error_of(F&& f) {
    try {
        f();
    } catch (const io::SocketError& e) {
        return e;
    }
    ADD_FAILURE() << "no SocketError thrown";
    return io::SocketError(io::SocketErrorKind::io, "(nothing thrown)");
}

/// Accepts `connections` connections on `server` in a thread (10 s each at
/// most) and runs `serve` on each. The destructor joins; error() tells the
/// first exception the thread caught (or a missing connection).
class ServerThread {
public:
    ServerThread(io::SocketServer& server, std::function<void(io::StreamSocket&)> serve,
                 int connections = 1);
    ~ServerThread();
    ServerThread(const ServerThread&) = delete;
    ServerThread& operator=(const ServerThread&) = delete;
    void join();
    std::string error();

private:
    std::mutex mutex_;
    std::string error_;
    std::thread thread_;
};

/// Exactly `n` bytes, or a test failure (and what came) at the end of stream.
std::string receive_exactly(io::StreamSocket& socket, std::size_t n);

/// A child process started with posix_spawn; stdin is /dev/null, stdout and
/// stderr come through one pipe. Killed (SIGKILL, by its pid) and reaped on
/// destruction unless it exited.
class ChildProcess {
public:
    explicit ChildProcess(const std::vector<std::string>& argv);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// Reads output until a line containing `needle` is complete; that line,
    /// or nullopt when the output ended or the deadline passed first.
    std::optional<std::string> wait_for_line(std::string_view needle,
                                             std::chrono::milliseconds timeout);
    /// Reads until the child closes its output (or the deadline); then
    /// waits for it to exit. Returns all output read.
    std::string read_to_end(std::chrono::milliseconds timeout);
    const std::string& output() const { return output_; }
    pid_t pid() const { return pid_; }

private:
    bool read_more(std::chrono::steady_clock::time_point deadline);
    pid_t pid_ = -1;
    int out_ = -1;
    bool out_closed_ = false;
    std::size_t scanned_ = 0;
    std::string output_;
};

struct CertFiles {
    std::string cert;
    std::string key;
};

/// Made once per test program in a temporary directory (removed at exit).
struct TestCertificates {
    std::string dir;
    std::string ca;            // the test CA
    std::string capath;        // a hashed directory holding the test CA
    CertFiles server;          // CN localhost; DNS:localhost, IP:127.0.0.1, IP:::1; by the CA
    CertFiles other;           // other.test (for SNI); by the CA
    CertFiles wrong_host;      // wrong.test; by the CA
    CertFiles expired;         // like server, expired yesterday; by the CA
    CertFiles self_signed;     // like server, self-signed
    CertFiles untrusted;       // like server, by a CA nobody trusts
    std::string encrypted_key; // server.key encrypted with "secret"
    CertFiles client;          // a client certificate by the CA
    /// Throws std::runtime_error (failing the calling test) when openssl
    /// is missing or fails.
    static const TestCertificates& get();
};

/// `openssl s_server -rev` (echoes each line reversed) on host:0 with
/// `args` added; port() is the port it printed on its ACCEPT line.
class OpensslServer {
public:
    OpensslServer(const std::vector<std::string>& args, const std::string& host = "127.0.0.1");
    std::uint16_t port() const { return port_; }
    ChildProcess& process() { return process_; }

private:
    ChildProcess process_;
    std::uint16_t port_ = 0;
};

/// True when the kernel has IPv6 on loopback (binding [::1]:0 works).
bool have_ipv6_loopback();

} // namespace nexus::testing
