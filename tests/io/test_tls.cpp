// TLS of StreamSocket and SocketServer against OpenSSL's own s_server and
// s_client, with certificates made at run time (tls_fixture): verification
// and its messages, PHP's ssl options, SNI both ways, STARTTLS.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "nexus/io/socket_server.hpp"
#include "nexus/io/stream_socket.hpp"
#include "tls_fixture.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
using io::SocketErrorKind;
using Clock = std::chrono::steady_clock;

const TestCertificates& certs() {
    return TestCertificates::get();
}

std::vector<std::string> serving(const CertFiles& c) {
    return {"-cert", c.cert, "-key", c.key};
}

io::TlsOptions trusting_test_ca() {
    io::TlsOptions o;
    o.cafile = certs().ca;
    return o;
}

// One line through s_server -rev, which answers it reversed.
std::string round_trip(io::StreamSocket& c) {
    c.send("hello\n", 10s);
    return c.read_line(100, 10s).value_or("(end of stream)");
}

// Connects to an s_server presenting `served` as `host`; the error, if any.
std::optional<io::SocketError> try_tls(const CertFiles& served, const io::TlsOptions& options,
                                       const std::string& host = "localhost",
                                       const std::vector<std::string>& extra = {}) {
    auto args = serving(served);
    args.insert(args.end(), extra.begin(), extra.end());
    OpensslServer server(args);
    io::StreamSocket client(options);
    try {
        client.connect(host, server.port(), 10s);
    } catch (const io::SocketError& e) {
        EXPECT_FALSE(client.is_connected());
        return e;
    }
    EXPECT_TRUE(client.is_tls());
    EXPECT_EQ(round_trip(client), "olleh\n");
    return std::nullopt;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

#define EXPECT_CONNECTS(result)                                                                    \
    do {                                                                                           \
        const auto r = (result);                                                                   \
        EXPECT_FALSE(r) << r->what();                                                              \
    } while (false)

#define EXPECT_REFUSED(result, kind_, text)                                                        \
    do {                                                                                           \
        const auto r = (result);                                                                   \
        ASSERT_TRUE(r) << "connected";                                                             \
        EXPECT_EQ(r->kind(), kind_) << r->what();                                                  \
        EXPECT_TRUE(contains(r->what(), text)) << r->what();                                       \
    } while (false)

TEST(TlsClient, TrustedChainWorksByNameAndAddress) {
    EXPECT_CONNECTS(try_tls(certs().server, trusting_test_ca(), "localhost"));
    EXPECT_CONNECTS(try_tls(certs().server, trusting_test_ca(), "127.0.0.1"));
}

TEST(TlsClient, CapathHoldsTheTrustedCa) {
    io::TlsOptions o;
    o.capath = certs().capath;
    EXPECT_CONNECTS(try_tls(certs().server, o));
}

TEST(TlsClient, UnknownCaIsRefused) {
    // The system store does not know the test CA; the test CA did not sign
    // the rogue chain.
    EXPECT_REFUSED(try_tls(certs().server, {}), SocketErrorKind::certificate,
                   "certificate verify failed: unable to get local issuer certificate");
    EXPECT_REFUSED(try_tls(certs().untrusted, trusting_test_ca()), SocketErrorKind::certificate,
                   "certificate verify failed: unable to get local issuer certificate");
}

TEST(TlsClient, WrongHostIsRefused) {
    const auto e = try_tls(certs().wrong_host, trusting_test_ca());
    EXPECT_REFUSED(e, SocketErrorKind::certificate, "certificate is not valid for host localhost");
    EXPECT_TRUE(contains(e->what(), "TLS handshake with localhost:")) << e->what();
    EXPECT_REFUSED(try_tls(certs().other, trusting_test_ca(), "127.0.0.1"),
                   SocketErrorKind::certificate, "certificate is not valid for host 127.0.0.1");
}

TEST(TlsClient, ExpiredIsRefused) {
    EXPECT_REFUSED(try_tls(certs().expired, trusting_test_ca()), SocketErrorKind::certificate,
                   "certificate verify failed: certificate has expired");
}

TEST(TlsClient, SelfSignedNeedsAllowSelfSigned) {
    EXPECT_REFUSED(try_tls(certs().self_signed, trusting_test_ca()), SocketErrorKind::certificate,
                   "certificate verify failed: self-signed certificate");
    io::TlsOptions o;
    o.allow_self_signed = true;
    EXPECT_CONNECTS(try_tls(certs().self_signed, o));
    // Only a self-signed leaf passes: an expired one still fails.
    o.cafile = certs().ca;
    EXPECT_REFUSED(try_tls(certs().expired, o), SocketErrorKind::certificate,
                   "certificate has expired");
}

TEST(TlsClient, VerifyPeerOffAcceptsAnyChain) {
    io::TlsOptions o;
    o.verify_peer = false;
    for (const auto* served : {&certs().self_signed, &certs().expired, &certs().untrusted}) {
        SCOPED_TRACE(served->cert);
        EXPECT_CONNECTS(try_tls(*served, o));
    }
    // As in PHP, the name is still checked unless verify_peer_name is off.
    EXPECT_REFUSED(try_tls(certs().wrong_host, o), SocketErrorKind::certificate,
                   "not valid for host localhost");
    o.verify_peer_name = false;
    EXPECT_CONNECTS(try_tls(certs().wrong_host, o));
}

TEST(TlsClient, PeerNameOverridesTheHost) {
    io::TlsOptions o = trusting_test_ca();
    o.peer_name = "wrong.test";
    EXPECT_CONNECTS(try_tls(certs().wrong_host, o, "127.0.0.1"));
}

TEST(TlsClient, SniAsksForTheServerCertificate) {
    const std::vector<std::string> sni{"-servername",      "other.test", "-cert2",
                                       certs().other.cert, "-key2",      certs().other.key};
    io::TlsOptions o = trusting_test_ca();
    o.peer_name = "other.test";
    EXPECT_CONNECTS(try_tls(certs().server, o, "127.0.0.1", sni));
    o.SNI_enabled = false; // then s_server shows its default certificate
    EXPECT_REFUSED(try_tls(certs().server, o, "127.0.0.1", sni), SocketErrorKind::certificate,
                   "not valid for host other.test");
}

TEST(TlsClient, UnusableOptionsFailBeforeConnecting) {
    io::TlsOptions o;
    o.cafile = certs().dir + "/missing-ca.pem";
    io::StreamSocket client(o);
    // Port 9 on loopback is never reached: the options fail first.
    const auto e = socket_error_of([&] { client.connect("127.0.0.1", 9, 5s); });
    EXPECT_EQ(e.kind(), SocketErrorKind::tls_config) << e.what();
    EXPECT_TRUE(contains(e.what(), "missing-ca.pem")) << e.what();
}

TEST(TlsClient, Ipv6Loopback) {
    if (!have_ipv6_loopback()) {
        GTEST_SKIP() << "no IPv6 on loopback";
    }
    OpensslServer server(serving(certs().server), "::1");
    io::StreamSocket client(trusting_test_ca());
    client.connect("::1", server.port(), 10s);
    EXPECT_EQ(round_trip(client), "olleh\n");
}

// Our plain TCP server accepts and never answers: the TLS handshake, not
// the TCP connect, runs out of time.
TEST(TlsClient, HandshakeTimesOut) {
    io::SocketServer server("127.0.0.1", 0);
    ServerThread thread(server, [](io::StreamSocket& c) { c.read_all(1 << 20, 10s); });
    io::StreamSocket client(trusting_test_ca());
    const auto start = Clock::now();
    const auto e = socket_error_of([&] { client.connect("127.0.0.1", server.port(), 200ms); });
    const auto waited = Clock::now() - start;
    EXPECT_EQ(e.kind(), SocketErrorKind::timeout) << e.what();
    EXPECT_TRUE(contains(e.what(), "timed out in the TLS handshake with 127.0.0.1:")) << e.what();
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 5s);
    EXPECT_FALSE(client.is_connected());
}

TEST(TlsClient, PlainServerIsAHandshakeError) {
    io::SocketServer server("127.0.0.1", 0);
    ServerThread thread(server, [](io::StreamSocket& c) {
        c.receive(16 * 1024, 10s); // the ClientHello
        c.send("HTTP/1.0 400 Bad Request\r\n\r\n");
    });
    io::StreamSocket client(trusting_test_ca());
    const auto e = socket_error_of([&] { client.connect("127.0.0.1", server.port(), 10s); });
    EXPECT_EQ(e.kind(), SocketErrorKind::tls_handshake) << e.what();
    EXPECT_TRUE(contains(e.what(), "TLS handshake with 127.0.0.1:")) << e.what();
    EXPECT_EQ(client.native_handle(), -1);
}

io::ServerOptions tls_server(const CertFiles& c) {
    io::ServerOptions o;
    o.tls = io::TlsOptions{};
    o.tls->local_cert = c.cert;
    o.tls->local_pk = c.key;
    return o;
}

TEST(TlsServer, SniPicksTheCertificate) {
    io::ServerOptions o = tls_server(certs().server);
    o.tls->SNI_server_certs["Other.Test"] = {certs().other.cert, certs().other.key, ""};
    io::SocketServer server("127.0.0.1", 0, o);
    EXPECT_TRUE(server.is_tls());
    ServerThread thread(
        server,
        [](io::StreamSocket& c) {
            EXPECT_TRUE(c.is_tls());
            c.send("hi\n");
        },
        3);
    const std::string where = "127.0.0.1:" + std::to_string(server.port());
    for (const auto& [name, subject] : std::vector<std::pair<std::string, std::string>>{
             {"other.test", "subject=CN = other.test"},
             {"localhost", "subject=CN = localhost"},
             {"unknown.test", "subject=CN = localhost"}}) {
        // -ign_eof: s_client stays until our server closes.
        ChildProcess client({"openssl", "s_client", "-connect", where, "-servername", name,
                             "-CAfile", certs().ca, "-ign_eof"});
        const std::string out = client.read_to_end(10s);
        EXPECT_TRUE(contains(out, subject)) << name << ":\n" << out;
        EXPECT_TRUE(contains(out, "Verify return code: 0 (ok)")) << name << ":\n" << out;
    }
    thread.join();
    EXPECT_EQ(thread.error(), "");
}

TEST(TlsServer, EchoesWithOurClientAndAnEncryptedKey) {
    io::ServerOptions o = tls_server(certs().server);
    o.tls->local_pk = certs().encrypted_key;
    o.tls->passphrase = "secret";
    io::SocketServer server("127.0.0.1", 0, o);
    ServerThread thread(server, [&](io::StreamSocket& c) {
        while (auto line = c.read_line(1024, 10s)) {
            c.send(*line);
        }
    });
    io::StreamSocket client(trusting_test_ca());
    client.connect("localhost", server.port(), 10s);
    client.send("one\n");
    EXPECT_EQ(client.read_line(100, 10s), "one\n");
    client.close(); // the server's read_line ends on our close_notify

    thread.join();
    EXPECT_EQ(thread.error(), "");
}

TEST(TlsServer, ReadAllUntilTheServerCloses) {
    io::SocketServer server("127.0.0.1", 0, tls_server(certs().server));
    std::string big(300 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i % 251);
    }
    ServerThread thread(server,
                        [&](io::StreamSocket& c) { EXPECT_EQ(c.send(big, 10s), big.size()); });
    io::StreamSocket client(trusting_test_ca());
    client.connect("localhost", server.port(), 10s);
    EXPECT_EQ(client.read_all(1 << 20, 10s), big);
    thread.join();
    EXPECT_EQ(thread.error(), "");
}

// OpenSSL writes with write(2): without SIGPIPE blocked around TLS calls, a
// write on a connection closed for writing (EPIPE) would kill the process.
TEST(TlsServer, WritingAfterShutdownIsAnErrorNotSigpipe) {
    io::SocketServer server("127.0.0.1", 0, tls_server(certs().server));
    ServerThread thread(server, [](io::StreamSocket& c) { c.read_all(1 << 20, 10s); });
    io::StreamSocket client(trusting_test_ca());
    client.connect("localhost", server.port(), 10s);
    ASSERT_EQ(::shutdown(client.native_handle(), SHUT_WR), 0);
    // Poco Foundation blocks SIGPIPE in the thread that loads it
    // (Thread_POSIX.cpp); a host's other threads need not have it blocked.
    sigset_t pipe;
    sigset_t saved;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe, &saved);
    const auto e = socket_error_of([&] { client.send("x", 1s); });
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    EXPECT_EQ(e.kind(), SocketErrorKind::closed) << e.what();
    EXPECT_TRUE(contains(e.what(), "sending to localhost:")) << e.what();
}

TEST(TlsServer, UnusableOptionsAreConfigErrors) {
    io::ServerOptions o = tls_server(certs().server);
    o.tls->local_pk = certs().encrypted_key;
    o.tls->passphrase = "wrong";
    auto e = socket_error_of([&] { io::SocketServer s("127.0.0.1", 0, o); });
    EXPECT_EQ(e.kind(), SocketErrorKind::tls_config) << e.what();
    EXPECT_TRUE(contains(e.what(), certs().encrypted_key)) << e.what();
    o.tls->passphrase.clear(); // never a prompt on the terminal
    EXPECT_EQ(socket_error_of([&] { io::SocketServer s("127.0.0.1", 0, o); }).kind(),
              SocketErrorKind::tls_config);
    o = tls_server(certs().server);
    o.tls->local_cert = certs().dir + "/missing.pem";
    e = socket_error_of([&] { io::SocketServer s("127.0.0.1", 0, o); });
    EXPECT_EQ(e.kind(), SocketErrorKind::tls_config) << e.what();
    EXPECT_TRUE(contains(e.what(), "missing.pem")) << e.what();
    o = tls_server(certs().server);
    o.tls->local_pk = certs().other.key; // not this certificate's key
    EXPECT_EQ(socket_error_of([&] { io::SocketServer s("127.0.0.1", 0, o); }).kind(),
              SocketErrorKind::tls_config);
    o = tls_server(certs().server);
    o.tls->ciphers = "NO-SUCH-CIPHER";
    EXPECT_EQ(socket_error_of([&] { io::SocketServer s("127.0.0.1", 0, o); }).kind(),
              SocketErrorKind::tls_config);
    o.tls = io::TlsOptions{};
    EXPECT_EQ(socket_error_of([&] { io::SocketServer s("127.0.0.1", 0, o); }).kind(),
              SocketErrorKind::invalid_argument);
}

// A client refusing our certificate fails that accept only.
TEST(TlsServer, AFailedHandshakeLeavesTheServerUsable) {
    io::SocketServer server("127.0.0.1", 0, tls_server(certs().self_signed));
    std::string first_error;
    bool second_ok = false;
    std::thread thread([&] {
        try {
            server.accept(10s);
        } catch (const io::SocketError& e) {
            first_error = e.what();
        }
        auto accepted = server.accept(10s);
        second_ok = accepted && accepted->socket.send("ok\n") == 3;
    });
    io::StreamSocket refusing(trusting_test_ca());
    EXPECT_EQ(socket_error_of([&] { refusing.connect("localhost", server.port(), 10s); }).kind(),
              SocketErrorKind::certificate);
    io::TlsOptions o;
    o.allow_self_signed = true;
    io::StreamSocket accepting(o);
    accepting.connect("localhost", server.port(), 10s);
    EXPECT_EQ(accepting.read_line(100, 10s), "ok\n");
    thread.join();
    EXPECT_TRUE(contains(first_error, "TLS handshake with 127.0.0.1:")) << first_error;
    EXPECT_TRUE(second_ok);
}

TEST(TlsServer, VerifyPeerRequiresAClientCertificate) {
    io::ServerOptions o = tls_server(certs().server);
    o.tls->verify_peer = true;
    o.tls->cafile = certs().ca;
    io::SocketServer server("127.0.0.1", 0, o);
    int accepted = 0;
    std::thread thread([&] {
        for (int i = 0; i < 2; ++i) {
            try {
                if (auto a = server.accept(10s)) {
                    ++accepted;
                    a->socket.send("ok\n");
                }
            } catch (const io::SocketError&) {
            }
        }
    });
    io::TlsOptions with = trusting_test_ca();
    with.local_cert = certs().client.cert;
    with.local_pk = certs().client.key;
    io::StreamSocket good(with);
    good.connect("localhost", server.port(), 10s);
    EXPECT_EQ(good.read_line(100, 10s), "ok\n");
    // TLS 1.2: the server's refusal ends the handshake itself (in TLS 1.3
    // the client would learn it on its first read).
    io::TlsOptions without = trusting_test_ca();
    without.max_version = io::TlsVersion::tls1_2;
    io::StreamSocket bad(without);
    const auto e = socket_error_of([&] { bad.connect("localhost", server.port(), 10s); });
    EXPECT_EQ(e.kind(), SocketErrorKind::tls_handshake) << e.what();
    thread.join();
    EXPECT_EQ(accepted, 1);
}

TEST(TlsStartTls, UpgradesAfterALine) {
    io::SocketServer server("127.0.0.1", 0);
    io::TlsOptions server_tls;
    server_tls.local_cert = certs().server.cert;
    server_tls.local_pk = certs().server.key;
    ServerThread thread(server, [&](io::StreamSocket& c) {
        if (c.read_line(100, 10s) != "STARTTLS\r\n") {
            throw std::runtime_error("no STARTTLS");
        }
        c.send("GO\r\n");
        c.start_tls(server_tls, io::TlsRole::server, 10s);
        while (auto line = c.read_line(100, 10s)) {
            c.send(*line);
        }
    });
    io::StreamSocket client;
    client.connect("localhost", server.port(), 10s);
    client.send("STARTTLS\r\n");
    EXPECT_EQ(client.read_line(100, 10s), "GO\r\n");
    EXPECT_FALSE(client.is_tls());
    client.start_tls(trusting_test_ca(), io::TlsRole::client, 10s);
    EXPECT_TRUE(client.is_tls());
    client.send("secret\n");
    EXPECT_EQ(client.read_line(100, 10s), "secret\n");
    EXPECT_EQ(socket_error_of([&] { client.start_tls(trusting_test_ca()); }).kind(),
              SocketErrorKind::invalid_argument);
    client.close();
    thread.join();
    EXPECT_EQ(thread.error(), "");
}

TEST(TlsStartTls, AFailedUpgradeClosesTheSocket) {
    io::SocketServer server("127.0.0.1", 0);
    ServerThread thread(server, [](io::StreamSocket& c) {
        c.read_line(100, 10s);
        c.send("GO\r\n");
        c.receive(16 * 1024, 10s); // the ClientHello, answered in clear
        c.send("500 no TLS here after all\r\n");
    });
    io::StreamSocket client;
    client.connect("127.0.0.1", server.port(), 10s);
    client.send("STARTTLS\r\n");
    EXPECT_EQ(client.read_line(100, 10s), "GO\r\n");
    const auto e = socket_error_of([&] { client.start_tls(trusting_test_ca()); });
    EXPECT_EQ(e.kind(), SocketErrorKind::tls_handshake) << e.what();
    EXPECT_FALSE(client.is_connected());
    EXPECT_EQ(socket_error_of([&] { client.send("x"); }).kind(), SocketErrorKind::not_connected);
}

TEST(TlsOptions, SetFromText) {
    io::TlsOptions o;
    EXPECT_TRUE(o.set("verify_peer", "0"));
    EXPECT_EQ(o.verify_peer, false);
    EXPECT_TRUE(o.set("SNI_enabled", "false"));
    EXPECT_FALSE(o.SNI_enabled);
    EXPECT_TRUE(o.set("allow_self_signed", "yes"));
    EXPECT_TRUE(o.allow_self_signed);
    EXPECT_TRUE(o.set("cafile", "/x/ca.pem"));
    EXPECT_EQ(o.cafile, "/x/ca.pem");
    EXPECT_FALSE(o.set("no_such_option", "1"));
    EXPECT_EQ(socket_error_of([&] { o.set("verify_peer_name", "maybe"); }).kind(),
              SocketErrorKind::invalid_argument);
}

} // namespace
} // namespace nexus::testing
