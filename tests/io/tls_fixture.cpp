#include "tls_fixture.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>

extern char** environ;

namespace nexus::testing {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

ServerThread::ServerThread(io::SocketServer& server, std::function<void(io::StreamSocket&)> serve,
                           int connections)
    : thread_([this, &server, serve = std::move(serve), connections] {
          try {
              for (int i = 0; i < connections; ++i) {
                  auto accepted = server.accept(10s);
                  if (!accepted) {
                      throw std::runtime_error("no connection within 10 s");
                  }
                  serve(accepted->socket);
              }
          } catch (const std::exception& e) {
              const std::lock_guard lock(mutex_);
              error_ = e.what();
          }
      }) {}

ServerThread::~ServerThread() {
    join();
}

void ServerThread::join() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::string ServerThread::error() {
    const std::lock_guard lock(mutex_);
    return error_;
}

std::string receive_exactly(io::StreamSocket& socket, std::size_t n) {
    std::string out;
    while (out.size() < n) {
        const auto data = socket.receive(n - out.size(), 10s);
        if (!data || data->empty()) {
            ADD_FAILURE() << (data ? "end of stream" : "timeout") << " after " << out.size()
                          << " of " << n << " bytes";
            break;
        }
        out += *data;
    }
    return out;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    // Nothing else of ours: a child holding a copy of a test's socket keeps
    // that connection open after the test closed it.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    out_ = pipe_fds[0];
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + argv[0]);
    }
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (out_ >= 0) {
        ::close(out_);
    }
}

bool ChildProcess::read_more(Clock::time_point deadline) {
    if (out_closed_) {
        return false;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
        return false;
    }
    pollfd p{out_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (n <= 0) {
        return n < 0 && errno == EINTR;
    }
    char buffer[4096];
    const ssize_t got = ::read(out_, buffer, sizeof buffer);
    if (got <= 0) {
        out_closed_ = got == 0 || errno != EINTR;
        return !out_closed_;
    }
    output_.append(buffer, static_cast<std::size_t>(got));
    return true;
}

std::optional<std::string> ChildProcess::wait_for_line(std::string_view needle,
                                                       std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        std::size_t end;
        while ((end = output_.find('\n', scanned_)) != std::string::npos) {
            std::string line = output_.substr(scanned_, end - scanned_);
            scanned_ = end + 1;
            if (line.find(needle) != std::string::npos) {
                return line;
            }
        }
        if (!read_more(deadline)) {
            return std::nullopt;
        }
    }
}

std::string ChildProcess::read_to_end(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (read_more(deadline)) {
    }
    if (out_closed_ && pid_ > 0) {
        // Output closed: the child is exiting; reap it (bounded by the kill
        // in the destructor otherwise).
        int status = 0;
        for (int i = 0; i < 1000 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
            pollfd none{-1, 0, 0};
            ::poll(&none, 1, 5);
        }
        if (::waitpid(pid_, &status, WNOHANG) != 0) {
            pid_ = -1;
        }
    }
    return output_;
}

namespace {

void run(const std::string& dir, const std::string& command) {
    const std::string line = "cd " + dir + " && " + command + " >>openssl.log 2>&1";
    if (std::system(line.c_str()) != 0) {
        throw std::runtime_error("failed: " + command + " (see " + dir + "/openssl.log)");
    }
}

const std::string k_ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

// A key and a certificate for `cn` with `san`, signed by ca.pem (or
// `ca_name`), valid `days` (negative: expired).
CertFiles signed_cert(const std::string& dir, const std::string& name, const std::string& cn,
                      const std::string& san, int days, const std::string& ca_name = "ca") {
    static int serial = 100;
    run(dir, "openssl req -new " + k_ec + " -keyout " + name + ".key -out " + name +
                 ".csr -subj /CN=" + cn + " -addext subjectAltName=" + san);
    run(dir, "openssl x509 -req -in " + name + ".csr -CA " + ca_name + ".pem -CAkey " + ca_name +
                 ".key -set_serial " + std::to_string(++serial) + " -days " + std::to_string(days) +
                 " -copy_extensions copy -out " + name + ".pem");
    return {dir + "/" + name + ".pem", dir + "/" + name + ".key"};
}

// Makes the certificates on construction; removes them at exit.
struct Generated {
    TestCertificates certificates;
    std::string error;
    Generated();
    ~Generated() {
        if (!certificates.dir.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(certificates.dir, ignored);
        }
    }
    Generated(const Generated&) = delete;
    Generated& operator=(const Generated&) = delete;
};

Generated::Generated() {
    char dir_template[] = "/tmp/nexus-tls-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
        error = "mkdtemp failed";
        return;
    }
    TestCertificates& c = certificates;
    c.dir = dir_template;
    const std::string& d = c.dir;
    const std::string local_san = "DNS:localhost,IP:127.0.0.1,IP:::1";
    try {
        run(d, "openssl req -x509 " + k_ec +
                   " -keyout ca.key -out ca.pem -days 2 -subj '/CN=nexus test CA'");
        run(d, "openssl req -x509 " + k_ec +
                   " -keyout rogue.key -out rogue.pem -days 2 -subj '/CN=nexus rogue CA'");
        c.ca = d + "/ca.pem";
        run(d, "mkdir capath && cp ca.pem capath/ && openssl rehash capath");
        c.capath = d + "/capath";
        c.server = signed_cert(d, "server", "localhost", local_san, 2);
        c.other = signed_cert(d, "other", "other.test", "DNS:other.test", 2);
        c.wrong_host = signed_cert(d, "wrong", "wrong.test", "DNS:wrong.test", 2);
        c.expired = signed_cert(d, "expired", "localhost", local_san, -1);
        c.untrusted = signed_cert(d, "untrusted", "localhost", local_san, 2, "rogue");
        c.client = signed_cert(d, "client", "nexus-client", "DNS:client.test", 2);
        run(d, "openssl req -x509 " + k_ec +
                   " -keyout self.key -out self.pem -days 2 -subj /CN=localhost -addext "
                   "subjectAltName=" +
                   local_san);
        c.self_signed = {d + "/self.pem", d + "/self.key"};
        run(d, "openssl pkey -in server.key -aes256 -passout pass:secret -out server-enc.key");
        c.encrypted_key = d + "/server-enc.key";
    } catch (const std::exception& e) {
        error = e.what();
    }
}

} // namespace

const TestCertificates& TestCertificates::get() {
    static const Generated generated;
    if (!generated.error.empty()) {
        throw std::runtime_error("cannot make test certificates: " + generated.error);
    }
    return generated.certificates;
}

namespace {

std::vector<std::string> server_argv(const std::vector<std::string>& args,
                                     const std::string& host) {
    const bool v6 = host.find(':') != std::string::npos;
    std::vector<std::string> argv{"openssl", "s_server", "-accept",
                                  (v6 ? "[" + host + "]" : host) + ":0", "-rev"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

} // namespace

OpensslServer::OpensslServer(const std::vector<std::string>& args, const std::string& host)
    : process_(server_argv(args, host)) {
    // "ACCEPT 127.0.0.1:46637": printed once listening, so the port is ready.
    const auto line = process_.wait_for_line("ACCEPT", 10s);
    if (!line) {
        throw std::runtime_error("openssl s_server did not start: " + process_.output());
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

bool have_ipv6_loopback() {
    const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

} // namespace nexus::testing
