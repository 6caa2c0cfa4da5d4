// wss://: the WebSocket server over TLS with our client (Python websockets
// and Node ws talk to it in tests/interop). Certificates are made at run
// time (tls_fixture.hpp); everything stays on loopback, every wait is bounded.
#include <gtest/gtest.h>

#include <Poco/Net/StreamSocket.h>

#include "nexus/io/socket_error.hpp"
#include "nexus/io/websocket_client.hpp"
#include "server_fixture.hpp"
#include "tls_fixture.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

const TestCertificates& certs() {
    return TestCertificates::get();
}

io::ServerConfig tls_config(const CertFiles& files) {
    io::ServerConfig c = quiet_config();
    c.tls.emplace();
    c.tls->local_cert = files.cert;
    c.tls->local_pk = files.key;
    c.max_message_size = 8 * 1024 * 1024;
    c.max_frame_size = 8 * 1024 * 1024;
    c.max_send_queue = 32 * 1024 * 1024;
    return c;
}

/// A client that trusts the test CA.
io::ClientOptions trusting_client() {
    io::ClientOptions o;
    o.tls.cafile = certs().ca;
    o.max_message_size = 8 * 1024 * 1024;
    return o;
}

std::string url(std::uint16_t port, const char* host = "localhost", const char* path = "/") {
    return std::string("wss://") + host + ":" + std::to_string(port) + path;
}

/// The ClientError `make` throws; a test failure when none.
template <typename Make>
io::ClientError client_error_of(Make&& make) {
    try {
        make();
    } catch (const io::ClientError& e) {
        return e;
    }
    ADD_FAILURE() << "no ClientError thrown";
    return io::ClientError(io::ConnectError::io, "(nothing thrown)");
}

/// Waits (bounded) until the server counted a drop of `reason`.
bool wait_for_drop(io::WebSocketServer& server, io::DropReason reason) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (server.stats().dropped[static_cast<int>(reason)] > 0) {
            return true;
        }
        std::this_thread::yield();
    }
    return false;
}

TEST(TlsWebSocket, EchoesTextBinaryPingsAndLargeMessages) {
    RecordingHandler handler;
    io::WebSocketServer* s = nullptr;
    echo_messages(handler, s);
    RunningServer server(tls_config(certs().server), handler);
    s = &*server;
    io::WebSocketClient client(url(server.port(), "localhost", "/room?x=1"), trusting_client());
    ASSERT_TRUE(client.is_open());
    const auto connected = handler.wait(ServerEvent::connect);
    ASSERT_TRUE(connected);
    EXPECT_EQ(connected->info.path, "/room");
    EXPECT_EQ(connected->info.query, "x=1");

    client.send_text("hello over TLS");
    auto m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data, "hello over TLS");
    const std::string bytes("\x00\xFF\x01", 3);
    client.send_binary({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::binary);
    EXPECT_EQ(m->data, bytes);
    client.ping("p");
    m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::pong);

    // 6 MiB: hundreds of TLS records each way, partial writes on both sides.
    std::string large(6 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < large.size(); ++i) {
        large[i] = static_cast<char>('a' + i % 26);
    }
    client.send_text(large);
    m = client.receive(20s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data.size(), large.size());
    EXPECT_TRUE(m->data == large);

    client.close(1000, "bye");
    m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::close);
    EXPECT_EQ(m->close_code, 1000);
    const auto gone = handler.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->code, 1000);
}

TEST(TlsWebSocket, AConnectionQuietForTicksGivesBackItsBuffersAndGoesOn) {
    // close_timeout 40 ms makes the tick 10 ms: a connection quiet for many
    // ticks has its TLS record buffers freed (SSL_free_buffers) and must
    // then read and write as before, large messages included.
    RecordingHandler handler;
    io::WebSocketServer* s = nullptr;
    echo_messages(handler, s);
    io::ServerConfig config = tls_config(certs().server);
    config.close_timeout = 40ms;
    RunningServer server(config, handler);
    s = &*server;
    io::WebSocketClient client(url(server.port()), trusting_client());
    const std::string large(200 * 1024, 'q');
    for (int round = 0; round < 3; ++round) {
        client.send_text(large);
        const auto m = client.receive(10s);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->data.size(), large.size());
        // Quiet on purpose (this is the state under test, not a wait for
        // an event): 10 ticks without traffic.
        EXPECT_FALSE(client.receive(100ms));
    }
}

TEST(TlsWebSocket, ManyClientsOnTwoLoopsGetEveryBroadcast) {
    RecordingHandler handler;
    io::ServerConfig config = tls_config(certs().server);
    config.threads = 2;
    RunningServer server(config, handler);
    std::vector<std::unique_ptr<io::WebSocketClient>> clients;
    for (int i = 0; i < 20; ++i) {
        clients.push_back(
            std::make_unique<io::WebSocketClient>(url(server.port()), trusting_client()));
    }
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(handler.wait(ServerEvent::connect));
    }
    const std::string text = "to everyone";
    EXPECT_EQ(
        server->broadcast({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false),
        20u);
    for (auto& c : clients) {
        const auto m = c->receive(10s);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->data, text);
    }
}

TEST(TlsWebSocket, ClientRefusesCertificatesItCannotTrust) {
    RecordingHandler handler;
    {
        RunningServer server(tls_config(certs().self_signed), handler);
        const auto e =
            client_error_of([&] { io::WebSocketClient c(url(server.port()), trusting_client()); });
        EXPECT_EQ(e.kind(), io::ConnectError::certificate) << e.what();
        EXPECT_NE(std::string(e.what()).find("self-signed"), std::string::npos) << e.what();
        // Allowed explicitly, the same server is fine.
        io::ClientOptions allowed = trusting_client();
        allowed.tls.allow_self_signed = true;
        io::WebSocketClient c(url(server.port()), allowed);
        EXPECT_TRUE(c.is_open());
    }
    {
        RunningServer server(tls_config(certs().wrong_host), handler);
        const auto e =
            client_error_of([&] { io::WebSocketClient c(url(server.port()), trusting_client()); });
        EXPECT_EQ(e.kind(), io::ConnectError::certificate) << e.what();
        EXPECT_NE(std::string(e.what()).find("localhost"), std::string::npos) << e.what();
        io::ClientOptions unchecked = trusting_client();
        unchecked.tls.verify_peer_name = false;
        io::WebSocketClient c(url(server.port()), unchecked);
        EXPECT_TRUE(c.is_open());
    }
    {
        RunningServer server(tls_config(certs().expired), handler);
        const auto e =
            client_error_of([&] { io::WebSocketClient c(url(server.port()), trusting_client()); });
        EXPECT_EQ(e.kind(), io::ConnectError::certificate) << e.what();
        EXPECT_NE(std::string(e.what()).find("expired"), std::string::npos) << e.what();
    }
}

TEST(TlsWebSocket, SniChoosesTheCertificate) {
    RecordingHandler handler;
    io::ServerConfig config = tls_config(certs().server);
    config.tls->SNI_server_certs["other.test"] = {certs().other.cert, certs().other.key, ""};
    RunningServer server(config, handler);
    // Asking for other.test (SNI and name check) gets other.test's certificate.
    io::ClientOptions other = trusting_client();
    other.tls.peer_name = "other.test";
    io::WebSocketClient via_sni(url(server.port(), "127.0.0.1"), other);
    EXPECT_TRUE(via_sni.is_open());
    // Without SNI the default certificate answers, which does not name other.test.
    other.tls.SNI_enabled = false;
    const auto e =
        client_error_of([&] { io::WebSocketClient c(url(server.port(), "127.0.0.1"), other); });
    EXPECT_EQ(e.kind(), io::ConnectError::certificate) << e.what();
}

TEST(TlsWebSocket, PlainClientsAndSilentClientsAreDroppedAndCounted) {
    RecordingHandler handler;
    io::ServerConfig config = tls_config(certs().server);
    config.handshake_timeout = 300ms;
    RunningServer server(config, handler);
    // ws:// to a wss:// port: the server sees no TLS ClientHello.
    const auto e = client_error_of(
        [&] { io::WebSocketClient c("ws://127.0.0.1:" + std::to_string(server.port()) + "/"); });
    EXPECT_TRUE(e.kind() == io::ConnectError::io || e.kind() == io::ConnectError::handshake)
        << e.what();
    EXPECT_TRUE(wait_for_drop(*server, io::DropReason::tls_handshake));
    // A TCP connection that never starts TLS is a slowloris like any other.
    Poco::Net::StreamSocket silent;
    silent.connect(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    EXPECT_TRUE(wait_for_drop(*server, io::DropReason::handshake_timeout));
    // Neither reached the application.
    EXPECT_FALSE(handler.wait(ServerEvent::connect, 50ms));
    // And the server still serves TLS clients.
    io::WebSocketClient good(url(server.port()), trusting_client());
    EXPECT_TRUE(good.is_open());
}

TEST(TlsWebSocket, EncryptedKeyNeedsItsPassphrase) {
    RecordingHandler handler;
    io::ServerConfig config = tls_config({certs().server.cert, certs().encrypted_key});
    config.tls->passphrase = "secret";
    RunningServer server(config, handler);
    io::WebSocketClient client(url(server.port()), trusting_client());
    EXPECT_TRUE(client.is_open());

    config.tls->passphrase = "wrong";
    config.port = 0;
    io::WebSocketServer refused(config, handler);
    const auto error = socket_error_of([&] { refused.start(); });
    EXPECT_EQ(error.kind(), io::SocketErrorKind::tls_config) << error.what();
}

TEST(TlsWebSocket, UnusableCertificateFailsStartBeforeListening) {
    RecordingHandler handler;
    io::ServerConfig config = tls_config({"/nonexistent/cert.pem", "/nonexistent/key.pem"});
    config.host = "127.0.0.1";
    config.port = 0;
    io::WebSocketServer server(config, handler);
    const auto error = socket_error_of([&] { server.start(); });
    EXPECT_EQ(error.kind(), io::SocketErrorKind::tls_config);
    EXPECT_NE(std::string(error.what()).find("No such file"), std::string::npos) << error.what();
    EXPECT_EQ(server.port(), 0) << "nothing listens";
    // set_tls() replaces the options before start.
    server.set_tls(*tls_config(certs().server).tls);
    server.start();
    EXPECT_NE(server.port(), 0);
    EXPECT_THROW(server.set_tls(io::TlsOptions{}), std::logic_error);
    server.stop();
}

TEST(TlsWebSocket, ClientErrorsNameTheStep) {
    // TLS to a plain ws:// server: the handshake fails, and says so.
    RecordingHandler handler;
    RunningServer plain(quiet_config(), handler);
    const auto e = client_error_of(
        [&] { io::WebSocketClient c(url(plain.port(), "127.0.0.1"), trusting_client()); });
    EXPECT_EQ(e.kind(), io::ConnectError::tls) << e.what();
    EXPECT_NE(std::string(e.what()).find("TLS"), std::string::npos) << e.what();
    // An unreadable CA file is the caller's configuration, not the peer.
    io::ClientOptions broken;
    broken.tls.cafile = "/nonexistent/ca.pem";
    RunningServer secure(tls_config(certs().server), handler);
    const auto config_error =
        client_error_of([&] { io::WebSocketClient c(url(secure.port()), broken); });
    EXPECT_EQ(config_error.kind(), io::ConnectError::tls_config) << config_error.what();
}

TEST(WsUrl, ParsesWss) {
    auto u = io::WsUrl::parse("wss://example.com/chat");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->secure);
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/chat");
    u = io::WsUrl::parse("WSS://[::1]:8443");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->secure);
    EXPECT_EQ(u->port, 8443);
    u = io::WsUrl::parse("ws://h/");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->secure);
    EXPECT_FALSE(io::WsUrl::parse("wss://"));
    EXPECT_FALSE(io::WsUrl::parse("https://h/"));
}

} // namespace
} // namespace nexus::testing
