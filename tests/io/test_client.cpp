// The io WebSocket client against our server (the interop suite runs it
// against Python's websockets as well).
#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <poll.h>

#include <future>
#include <thread>

#include "nexus/core/handshake.hpp"

#include "nexus/io/websocket_client.hpp"
#include "server_fixture.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

io::ServerConfig chat_config() {
    io::ServerConfig c;
    c.log_level = io::LogLevel::off;
    c.subprotocols = {"chat"};
    return c;
}

TEST(WsUrl, Parses) {
    auto u = io::WsUrl::parse("ws://example.com:9000/chat?room=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "example.com");
    EXPECT_EQ(u->port, 9000);
    EXPECT_EQ(u->target, "/chat?room=1");
    u = io::WsUrl::parse("ws://[::1]/");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 80);
    u = io::WsUrl::parse("ws://h?x=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->target, "/?x=1");
    for (const char* bad : {"http://x/", "ws://", "ws://:80/", "ws://h:0/", "ws://h:70000/",
                            "ws://h:8x/", "ws://user@h/", "ws://[::1/"}) {
        EXPECT_FALSE(io::WsUrl::parse(bad)) << bad;
    }
}

TEST(Client, TalksToOurServer) {
    RecordingHandler handler;
    io::WebSocketServer* s = nullptr;
    echo_messages(handler, s);
    RunningServer server(chat_config(), handler);
    s = &*server;
    io::ClientOptions options;
    options.subprotocols = {"chat"};
    io::WebSocketClient client("ws://127.0.0.1:" + std::to_string(server.port()) + "/x?y=z",
                               options);
    EXPECT_EQ(client.subprotocol(), "chat");
    EXPECT_TRUE(client.is_open());
    client.send_text("hi");
    auto m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::text);
    EXPECT_EQ(m->data, "hi");
    const std::string bytes("\x00\x01", 2);
    client.send_binary({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::binary);
    EXPECT_EQ(m->data, bytes);
    client.ping("p");
    m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::pong);
    EXPECT_THROW(client.send_text("\xC0"), std::invalid_argument);
    EXPECT_THROW(client.ping(std::string(126, 'p')), std::invalid_argument);
    const auto info = server->client(handler.wait(ServerEvent::connect)->id);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->path, "/x");
    EXPECT_EQ(info->query, "y=z");
    client.close(1000, "bye");
    m = client.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, io::ClientMessage::Kind::close);
    EXPECT_EQ(m->close_code, 1000);
    EXPECT_FALSE(client.is_open());
    EXPECT_THROW(client.send_text("late"), std::logic_error);
}

TEST(Client, ReceiveTimesOutWithinItsBound) {
    RecordingHandler handler;
    RunningServer server(chat_config(), handler);
    io::WebSocketClient client("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(client.receive(100ms));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(Client, AZeroTimeoutReceiveReadsWhatArrived) {
    // A host that waits on native_handle() itself then receives with no
    // wait: the message that made the descriptor readable must come out.
    RecordingHandler handler;
    RunningServer server(chat_config(), handler);
    io::WebSocketClient client("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
    const auto connected = handler.wait(ServerEvent::connect);
    ASSERT_TRUE(connected);
    const std::string text = "already here";
    server->send(connected->id, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                 false);
    pollfd readable{client.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&readable, 1, 10'000), 1);
    const auto m = client.receive(0ms);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data, text);
}

TEST(Client, ASendToAServerThatDoesNotReadTimesOut) {
    // A server that completes the handshake and then never reads: sends
    // fill the socket buffers, and one send gives up after send_timeout.
    Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
    std::promise<void> client_done;
    std::thread peer([&listener, done = client_done.get_future()] {
        Poco::Net::StreamSocket s = listener.acceptConnection();
        core::ServerHandshake handshake;
        std::uint8_t buffer[4096];
        std::size_t consumed = 0;
        core::ParseStatus status = core::ParseStatus::need_more;
        while (status == core::ParseStatus::need_more) {
            const int n = s.receiveBytes(buffer, sizeof buffer);
            if (n <= 0) {
                return;
            }
            status = handshake.receive_data({buffer, static_cast<std::size_t>(n)}, consumed);
        }
        const std::string response =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " +
            core::websocket_accept_key(handshake.key()) + "\r\n\r\n";
        s.sendBytes(response.data(), static_cast<int>(response.size()));
        // Hold the connection, unread, until the client is done.
        done.wait_for(20s);
    });
    io::ClientOptions options;
    options.send_timeout = 200ms;
    auto client = std::make_unique<io::WebSocketClient>(
        "ws://127.0.0.1:" + std::to_string(listener.address().port()) + "/", options);
    const std::vector<std::uint8_t> chunk(1024 * 1024, 'x');
    const auto started = std::chrono::steady_clock::now();
    bool timed_out = false;
    for (int i = 0; i < 256 && !timed_out; ++i) { // at most 256 MiB: far past any socket buffer
        try {
            client->send_binary(chunk);
        } catch (const std::runtime_error& e) {
            timed_out = true;
            EXPECT_NE(std::string(e.what()).find("timed out sending"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_TRUE(timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
    client.reset();
    client_done.set_value();
    peer.join();
}

TEST(Client, ErrorsSayWhichStepFailed) {
    // Refused: a port that is bound but not listening.
    Poco::Net::ServerSocket bound;
    bound.bind(Poco::Net::SocketAddress("127.0.0.1", 0));
    const auto port = bound.address().port();
    try {
        io::WebSocketClient c("ws://127.0.0.1:" + std::to_string(port) + "/");
        FAIL();
    } catch (const io::ClientError& e) {
        EXPECT_EQ(e.kind(), io::ConnectError::refused);
        EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos);
    }
    try {
        io::WebSocketClient c("ws://no-such-host.invalid/");
        FAIL();
    } catch (const io::ClientError& e) {
        EXPECT_EQ(e.kind(), io::ConnectError::dns);
    }
    try {
        io::WebSocketClient c("wss-or-what://x/");
        FAIL();
    } catch (const io::ClientError& e) {
        EXPECT_EQ(e.kind(), io::ConnectError::bad_url);
    }
    // A server that accepts but never answers: the handshake times out.
    Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
    io::ClientOptions options;
    options.connect_timeout = 200ms;
    try {
        io::WebSocketClient c("ws://127.0.0.1:" + std::to_string(silent.address().port()) + "/",
                              options);
        FAIL();
    } catch (const io::ClientError& e) {
        EXPECT_EQ(e.kind(), io::ConnectError::timeout);
    }
    // A refusal with a status: the status is reported.
    RecordingHandler handler;
    io::ServerConfig config = chat_config();
    config.max_clients = 0;
    RunningServer server(config, handler);
    try {
        io::WebSocketClient c("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
        FAIL();
    } catch (const io::ClientError& e) {
        EXPECT_EQ(e.kind(), io::ConnectError::handshake);
        EXPECT_EQ(e.http_status(), 503);
        EXPECT_NE(std::string(e.what()).find("503"), std::string::npos);
    }
}

} // namespace
} // namespace nexus::testing
