// TLS on Poco NetSSL and OpenSSL 3: contexts from PHP-style options,
// certificate verification with readable reasons, SNI on both sides.
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/X509Certificate.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "tls_context.hpp"

namespace nexus::io {

namespace {

std::string lowercase(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

bool parse_bool(std::string_view name, std::string_view value) {
    const std::string v = lowercase(value);
    if (v == "1" || v == "true" || v == "yes" || v == "on") {
        return true;
    }
    if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) {
        return false;
    }
    throw SocketError(SocketErrorKind::invalid_argument, "TLS option " + std::string(name) +
                                                             " wants a boolean, not " +
                                                             std::string(value));
}

} // namespace

bool TlsOptions::set(std::string_view name, std::string_view value) {
    const std::pair<std::string_view, std::string*> texts[] = {
        {"cafile", &cafile},         {"capath", &capath},     {"peer_name", &peer_name},
        {"local_cert", &local_cert}, {"local_pk", &local_pk}, {"passphrase", &passphrase},
        {"ciphers", &ciphers},
    };
    for (const auto& [key, field] : texts) {
        if (name == key) {
            *field = std::string(value);
            return true;
        }
    }
    if (name == "verify_peer") {
        verify_peer = parse_bool(name, value);
    } else if (name == "verify_peer_name") {
        verify_peer_name = parse_bool(name, value);
    } else if (name == "allow_self_signed") {
        allow_self_signed = parse_bool(name, value);
    } else if (name == "SNI_enabled") {
        SNI_enabled = parse_bool(name, value);
    } else {
        return false;
    }
    return true;
}

namespace detail {
namespace {

// Why the chain was rejected, recorded by the verify callback. Handshakes
// run in the calling thread, so the record is per thread; it is cleared
// before each handshake.
struct VerifyFailure {
    int error = X509_V_OK;
    std::string subject;
};
thread_local VerifyFailure t_verify_failure;

// allow_self_signed, stored on each SSL_CTX as a pointer to this marker
// (no lifetime to manage: the SSL_CTX may outlive our objects).
const int k_allow_self_signed = 1;

int policy_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// PHP's verify_callback: a self-signed leaf (depth 0) passes when allowed;
// any other failure is recorded for the message and ends the handshake.
int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
    if (preverify_ok == 1) {
        return 1;
    }
    const int error = X509_STORE_CTX_get_error(store);
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    SSL_CTX* ctx = ssl != nullptr ? SSL_get_SSL_CTX(ssl) : nullptr;
    if (error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT && ctx != nullptr &&
        SSL_CTX_get_ex_data(ctx, policy_index()) == &k_allow_self_signed) {
        return 1;
    }
    if (t_verify_failure.error == X509_V_OK) {
        t_verify_failure.error = error;
        char name[256] = {};
        if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
            X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
        }
        t_verify_failure.subject = name;
    }
    return 0;
}

// The server's certificates by SNI name, owned by the default SSL_CTX
// (freed with it, so a callback can never see a dangling table).
struct SniTable {
    std::vector<std::pair<std::string, Poco::Net::Context::Ptr>> entries;

    SSL_CTX* find(const std::string& name) const {
        for (const auto& [key, context] : entries) {
            if (key == name) {
                return context->sslContext();
            }
        }
        const auto dot = name.find('.');
        if (dot != std::string::npos && dot > 0) {
            const std::string wildcard = "*" + name.substr(dot);
            for (const auto& [key, context] : entries) {
                if (key == wildcard) {
                    return context->sslContext();
                }
            }
        }
        return nullptr;
    }
};

void free_sni_table(void*, void* table, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<SniTable*>(table);
}

int sni_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_sni_table);
    return index;
}

// RFC 6066 §3: the server switches to the certificate of the name asked
// for; unknown names keep the default certificate.
int servername_callback(SSL* ssl, int*, void*) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const auto* table =
        static_cast<const SniTable*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sni_index()));
    if (name == nullptr || table == nullptr) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (SSL_CTX* chosen = table->find(lowercase(name))) {
        SSL_set_SSL_CTX(ssl, chosen);
    }
    return SSL_TLSEXT_ERR_OK;
}

// Gives the passphrase to OpenSSL; without one, fails instead of prompting.
int passphrase_callback(char* buffer, int size, int, void* userdata) {
    const auto* passphrase = static_cast<const std::string*>(userdata);
    if (passphrase == nullptr || passphrase->size() > static_cast<std::size_t>(size)) {
        return 0;
    }
    std::copy_n(passphrase->data(), passphrase->size(), buffer); // a length, no NUL needed
    return static_cast<int>(passphrase->size());
}

[[noreturn]] void config_error(const std::string& what) {
    throw SocketError(SocketErrorKind::tls_config, what + ": " + openssl_reason());
}

void load_certificate(SSL_CTX* ctx, const CertificateFiles& files) {
    SSL_CTX_set_default_passwd_cb(ctx, passphrase_callback);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::string*>(&files.passphrase));
    const std::string& key = files.local_pk.empty() ? files.local_cert : files.local_pk;
    const bool cert_ok = SSL_CTX_use_certificate_chain_file(ctx, files.local_cert.c_str()) == 1;
    const bool key_ok =
        cert_ok && SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) == 1;
    SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    if (!cert_ok) {
        config_error("cannot load local_cert " + files.local_cert);
    }
    if (!key_ok) {
        // OpenSSL 3 tries one decoder after another and queues each one's
        // complaint ("unsupported" first, in some runs): a failed decryption
        // anywhere in the queue is the one that tells the user something.
        const unsigned long first = ERR_peek_error();
        bool bad_decrypt = false;
        for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
            const char* reason = ERR_reason_error_string(e);
            bad_decrypt =
                bad_decrypt || (reason != nullptr && std::string_view(reason) == "bad decrypt");
        }
        throw SocketError(
            SocketErrorKind::tls_config,
            "cannot load the private key " + key + ": " +
                (bad_decrypt ? std::string("wrong passphrase (bad decrypt)") : reason_text(first)));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        config_error("the private key " + key + " does not match " + files.local_cert);
    }
}

int protocol_version(TlsVersion v) {
    return v == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

bool is_ip_literal(const std::string& name) {
    unsigned char buffer[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
           ::inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

std::string unbracketed(const std::string& host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        return host.substr(1, host.size() - 2);
    }
    return host;
}

// Poco's SSLException text is OpenSSL's "error:0A00010B:SSL routines::wrong
// version number"; the part after the last colon is the reason.
std::string reason_of(const Poco::Exception& e) {
    const std::string& text = e.message().empty() ? e.displayText() : e.message();
    if (text.rfind("error:", 0) == 0) {
        const auto colon = text.rfind(':');
        if (colon != std::string::npos && colon + 1 < text.size()) {
            return text.substr(colon + 1);
        }
    }
    return text;
}

SocketErrorKind kind_of_poco(const Poco::Exception& e, SocketErrorKind otherwise) {
    if (dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) != nullptr ||
        dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e) != nullptr ||
        dynamic_cast<const Poco::Net::SSLConnectionUnexpectedlyClosedException*>(&e) != nullptr) {
        return SocketErrorKind::closed;
    }
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr) {
        return SocketErrorKind::timeout;
    }
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) == nullptr && e.code() > 0) {
        return kind_of_errno(e.code());
    }
    return otherwise;
}

[[noreturn]] void handshake_failed(const Poco::Exception& e, const std::string& where) {
    const std::string prefix = "TLS handshake with " + where + " failed: ";
    if (t_verify_failure.error != X509_V_OK) {
        std::string message = prefix + "certificate verify failed: " +
                              X509_verify_cert_error_string(t_verify_failure.error);
        if (!t_verify_failure.subject.empty()) {
            message += " (" + t_verify_failure.subject + ")";
        }
        throw SocketError(SocketErrorKind::certificate, message);
    }
    throw SocketError(kind_of_poco(e, SocketErrorKind::tls_handshake), prefix + reason_of(e));
}

// RFC 6125 via OpenSSL: DNS names (wildcards only as a whole left label)
// or IP subjectAltNames; the CN only when there are no DNS names.
void check_peer_name(const Poco::Net::SecureStreamSocket& socket, const std::string& host,
                     const std::string& where) {
    const std::string prefix = "TLS handshake with " + where + " failed: ";
    if (!socket.havePeerCertificate()) {
        throw SocketError(SocketErrorKind::certificate, prefix + "the peer sent no certificate");
    }
    const Poco::Net::X509Certificate certificate = socket.peerCertificate();
    X509* x509 = const_cast<X509*>(certificate.certificate());
    const std::string name = unbracketed(host);
    const bool ok = is_ip_literal(name)
                        ? X509_check_ip_asc(x509, name.c_str(), 0) == 1
                        : X509_check_host(x509, name.data(), name.size(),
                                          X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
    if (!ok) {
        throw SocketError(SocketErrorKind::certificate,
                          prefix + "certificate is not valid for host " + name);
    }
}

Poco::Net::Context::Ptr make_context(const TlsOptions& o, TlsRole role, bool verify,
                                     const CertificateFiles* certificate) {
    static std::once_flag initialized;
    std::call_once(initialized, [] { Poco::Net::initializeSSL(); });
    Poco::Net::Context::Params params;
    params.verificationMode = verify
                                  ? (role == TlsRole::server ? Poco::Net::Context::VERIFY_STRICT
                                                             : Poco::Net::Context::VERIFY_RELAXED)
                                  : Poco::Net::Context::VERIFY_NONE;
    params.loadDefaultCAs = false;
    params.cipherList = "DEFAULT";
    Poco::Net::Context::Ptr context;
    try {
        context =
            new Poco::Net::Context(role == TlsRole::server ? Poco::Net::Context::TLS_SERVER_USE
                                                           : Poco::Net::Context::TLS_CLIENT_USE,
                                   params);
    } catch (const Poco::Exception& e) {
        throw SocketError(SocketErrorKind::tls_config,
                          "cannot create a TLS context: " + e.displayText());
    }
    // Our own checks (the name after the handshake); Poco's would skip
    // loopback hosts.
    context->enableExtendedCertificateVerification(false);
    SSL_CTX* ctx = context->sslContext();
    ERR_clear_error();
    if (SSL_CTX_set_min_proto_version(ctx, protocol_version(o.min_version)) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, protocol_version(o.max_version)) != 1) {
        config_error("cannot set the TLS versions");
    }
    // A peer closing without close_notify ends the stream like PHP does
    // (HTTP/1.0 servers do it; a length in the protocol must catch
    // truncation). No renegotiation: the SNI callback's table stays valid.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    // send() may stop after a record when its deadline passes, and retry
    // from another buffer address.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) != 1) {
        config_error("invalid ciphers \"" + o.ciphers + "\"");
    }
    if (role == TlsRole::server) {
        // TLS 1.3: AES-128-GCM first, chosen by the server whatever the
        // client's order (as Go's crypto/tls does): all three suites are
        // RFC 8446's, and AES-128 costs a fifth less than AES-256 per byte.
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
        if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                          "TLS_CHACHA20_POLY1305_SHA256") != 1) {
            config_error("cannot set the TLS 1.3 cipher suites");
        }
    }
    const int mode =
        !verify ? SSL_VERIFY_NONE
                : (role == TlsRole::server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                           : SSL_VERIFY_PEER);
    SSL_CTX_set_verify(ctx, mode, verify_callback);
    if (o.allow_self_signed) {
        SSL_CTX_set_ex_data(ctx, policy_index(), const_cast<int*>(&k_allow_self_signed));
    }
    if (verify) {
        if (!o.cafile.empty() || !o.capath.empty()) {
            if (SSL_CTX_load_verify_locations(ctx, o.cafile.empty() ? nullptr : o.cafile.c_str(),
                                              o.capath.empty() ? nullptr : o.capath.c_str()) != 1) {
                config_error("cannot load the CAs of cafile \"" + o.cafile + "\" / capath \"" +
                             o.capath + "\"");
            }
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            config_error("cannot load the system CA store");
        }
    }
    if (role == TlsRole::server) {
        static const unsigned char id[] = "nexus-socket";
        SSL_CTX_set_session_id_context(ctx, id, sizeof id - 1);
    }
    if (certificate != nullptr && !certificate->local_cert.empty()) {
        load_certificate(ctx, *certificate);
    }
    return context;
}

} // namespace

// The first reason in OpenSSL's error queue (the most specific one), then
// an empty queue.
std::string reason_text(unsigned long error) {
    std::string reason;
    if (error != 0 && ERR_SYSTEM_ERROR(error)) {
        // OpenSSL 3 keeps errno as the reason of system errors (a missing
        // or unreadable file) and has no string of its own for them.
        reason = std::strerror(static_cast<int>(ERR_GET_REASON(error)));
    } else if (const char* text = error != 0 ? ERR_reason_error_string(error) : nullptr) {
        reason = text;
    }
    return reason.empty() ? "unknown error" : reason;
}

std::string openssl_reason() {
    std::string reason = reason_text(ERR_peek_error());
    ERR_clear_error();
    return reason;
}

TlsContext::TlsContext(const TlsOptions& options, TlsRole role) : options_(options), role_(role) {
    if (role == TlsRole::server && options.local_cert.empty()) {
        throw SocketError(SocketErrorKind::invalid_argument,
                          "a TLS server needs local_cert (and local_pk)");
    }
    const CertificateFiles own{options.local_cert, options.local_pk, options.passphrase};
    context_ = make_context(options, role, verify_peer(), &own);
    if (role == TlsRole::server && !options.SNI_server_certs.empty()) {
        auto table = std::make_unique<SniTable>();
        for (const auto& [name, files] : options.SNI_server_certs) {
            table->entries.emplace_back(lowercase(name),
                                        make_context(options, role, verify_peer(), &files));
        }
        SSL_CTX* ctx = context_->sslContext();
        SSL_CTX_set_ex_data(ctx, sni_index(), table.release());
        SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                              reinterpret_cast<void (*)()>(servername_callback));
    }
}

bool TlsContext::verify_peer() const noexcept {
    return options_.verify_peer.value_or(role_ == TlsRole::client);
}

bool TlsContext::verify_peer_name() const noexcept {
    return role_ == TlsRole::client && options_.verify_peer_name.value_or(true);
}

Poco::Net::SecureStreamSocket tls_handshake(const Poco::Net::StreamSocket& plain,
                                            const TlsContext& tls, const std::string& host,
                                            Deadline deadline, const std::string& where) {
    const bool client = tls.role() == TlsRole::client;
    const std::string name =
        unbracketed(tls.options().peer_name.empty() ? host : tls.options().peer_name);
    const bool sni = client && tls.options().SNI_enabled && !name.empty() && !is_ip_literal(name);
    SigpipeGuard guard; // also while `secure` shuts down after a failure
    auto secure = [&] {
        try {
            return sni ? Poco::Net::SecureStreamSocket::attach(plain, name, tls.context())
                       : Poco::Net::SecureStreamSocket::attach(plain, tls.context());
        } catch (const Poco::Exception& e) {
            throw SocketError(SocketErrorKind::tls_handshake,
                              "cannot start TLS with " + where + ": " + e.displayText());
        }
    }();
    const int fd = plain.impl()->sockfd();
    t_verify_failure = {};
    for (;;) {
        int rc = 0;
        try {
            ERR_clear_error();
            rc = secure.completeHandshake();
        } catch (const Poco::Exception& e) {
            handshake_failed(e, where);
        }
        if (rc == 1) {
            break;
        }
        if (rc == 0) {
            throw SocketError(SocketErrorKind::tls_handshake,
                              "TLS handshake with " + where +
                                  " failed: the peer closed the connection");
        }
        const short events =
            rc == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE ? POLLOUT : POLLIN;
        if (!wait_fd(fd, events, deadline)) {
            throw SocketError(SocketErrorKind::timeout,
                              "timed out in the TLS handshake with " + where);
        }
    }
    if (client && tls.verify_peer_name()) {
        check_peer_name(secure, name, where);
    }
    return secure;
}

SigpipeGuard::SigpipeGuard() noexcept {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &saved_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
}

SigpipeGuard::~SigpipeGuard() {
    if (!was_pending_) {
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) {
            sigset_t pipe;
            sigemptyset(&pipe);
            sigaddset(&pipe, SIGPIPE);
            const timespec zero{};
            while (sigtimedwait(&pipe, nullptr, &zero) < 0 && errno == EINTR) {
            }
        }
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

void throw_tls_io_error(const std::exception& e, const std::string& what) {
    if (const auto* socket_error = dynamic_cast<const SocketError*>(&e)) {
        throw *socket_error;
    }
    if (const auto* poco = dynamic_cast<const Poco::Exception*>(&e)) {
        throw SocketError(kind_of_poco(*poco, SocketErrorKind::io), what + ": " + reason_of(*poco));
    }
    throw SocketError(SocketErrorKind::io, what + ": " + e.what());
}

} // namespace detail
} // namespace nexus::io
