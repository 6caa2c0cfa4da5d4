// Private: a TLS context built from TlsOptions on Poco NetSSL, and the
// handshake of a non-blocking SecureStreamSocket with a deadline.
//
// Poco 1.11 traps avoided here (see TOOLCHAIN.md):
//  - the socket is made non-blocking *before* SecureStreamSocket::attach and
//    setBlocking is never called on the TLS socket (its inner socket would
//    stay blocking and reads would throw TimeoutException);
//  - the host name is checked here after the handshake: Poco skips the check
//    in non-blocking mode, and for loopback hosts in any mode;
//  - certificates, keys and CAs are loaded with OpenSSL directly, with our
//    own passphrase callback: Poco's goes through SSLManager, which may ask
//    an application configuration or a terminal;
//  - OpenSSL's error queue is cleared before each TLS call (Poco 1.11 does
//    not, and a stale entry turns a want-read into a failure).
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>

#include <signal.h>

#include <exception>
#include <string>

#include "nexus/io/tls.hpp"
#include "socket_detail.hpp"

namespace nexus::io::detail {

class TlsContext {
public:
    /// Throws SocketError: tls_config (unreadable file, wrong passphrase,
    /// bad cipher list), invalid_argument (a server without local_cert).
    TlsContext(const TlsOptions& options, TlsRole role);
    const Poco::Net::Context::Ptr& context() const noexcept { return context_; }
    const TlsOptions& options() const noexcept { return options_; }
    TlsRole role() const noexcept { return role_; }
    bool verify_peer() const noexcept;
    bool verify_peer_name() const noexcept;

private:
    TlsOptions options_;
    TlsRole role_;
    Poco::Net::Context::Ptr context_;
};

/// Attaches TLS to the connected non-blocking `plain` socket and completes
/// the handshake by `deadline`; a client sends SNI (unless disabled or an IP
/// literal) and checks the certificate names `host` (or peer_name). `where`
/// ("host:port") goes into messages. Throws SocketError: timeout,
/// tls_handshake, certificate, closed, io.
Poco::Net::SecureStreamSocket tls_handshake(const Poco::Net::StreamSocket& plain,
                                            const TlsContext& context, const std::string& host,
                                            Deadline deadline, const std::string& where);

/// Blocks SIGPIPE in this thread while alive and discards one it raised:
/// OpenSSL writes with write(2), which kills the process on a closed peer
/// (the technique of libpq's pq_block_sigpipe).
class SigpipeGuard {
public:
    SigpipeGuard() noexcept;
    ~SigpipeGuard();
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t saved_{};
    bool was_pending_ = false;
};

/// The first reason in OpenSSL's error queue (the most specific one), or
/// "unknown error"; empties the queue.
std::string openssl_reason();
/// The reason of one OpenSSL error code, as openssl_reason() words it.
std::string reason_text(unsigned long error);

/// The SocketError a Poco exception from TLS I/O means (reset → closed).
[[noreturn]] void throw_tls_io_error(const std::exception& e, const std::string& what);

} // namespace nexus::io::detail
