// The WebSocket server on loopback: every limit and timer, handshake
// refusals, plain HTTP, many connections and what they leave behind.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include "server_fixture.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

TEST(Server, MaxClientsAnswers503) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_clients = 2;
    RunningServer server(config, handler);
    WsTestClient a(server.port());
    WsTestClient b(server.port());
    handler.wait(ServerEvent::connect);
    handler.wait(ServerEvent::connect);
    try {
        WsTestClient c(server.port());
        FAIL() << "a third client was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("status 503"), std::string::npos) << e.what();
    }
    EXPECT_EQ(server->stats().handshakes_rejected, 1u);
}

TEST(Server, SlowlorisIsDroppedAfterTheHandshakeTimeout) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.handshake_timeout = 200ms;
    RunningServer server(config, handler);
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    socket.sendBytes("GET / HTTP/1.1\r\nHost: x\r\n", 25); // and never the rest
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    char buffer[64];
    const auto started = std::chrono::steady_clock::now();
    int n = -1;
    try {
        n = socket.receiveBytes(buffer, sizeof buffer);
    } catch (const Poco::Exception&) {
        n = 0;
    }
    EXPECT_EQ(n, 0); // closed, not timed out on our side
    EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
    EXPECT_EQ(server->stats().dropped[static_cast<int>(io::DropReason::handshake_timeout)], 1u);
}

TEST(Server, OversizedHeadersGet431) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_header_bytes = 1024;
    RunningServer server(config, handler);
    const std::string request =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
    const std::string response = raw_http_exchange(server.port(), request);
    EXPECT_EQ(response.rfind("HTTP/1.1 431", 0), 0u) << response;
}

TEST(Server, BadHandshakesGetTheirStatus) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    const std::string base = "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    EXPECT_EQ(raw_http_exchange(server.port(),
                                "POST / HTTP/1.1\r\n" + base + "Sec-WebSocket-Version: 13\r\n\r\n")
                  .rfind("HTTP/1.1 405", 0),
              0u);
    const std::string old_version = raw_http_exchange(
        server.port(), "GET / HTTP/1.1\r\n" + base + "Sec-WebSocket-Version: 8\r\n\r\n");
    EXPECT_EQ(old_version.rfind("HTTP/1.1 426", 0), 0u) << old_version;
    EXPECT_NE(old_version.find("Sec-WebSocket-Version: 13"), std::string::npos);
    EXPECT_EQ(raw_http_exchange(server.port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(Server, OriginAllowList) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.allowed_origins = {"https://good.example"};
    RunningServer server(config, handler);
    WsTestClient::Options good;
    good.origin = "https://good.example";
    WsTestClient ok(server.port(), good);
    WsTestClient::Options bad;
    bad.origin = "https://evil.example";
    try {
        WsTestClient refused(server.port(), bad);
        FAIL() << "a foreign origin was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("status 403"), std::string::npos) << e.what();
    }
    WsTestClient no_origin(server.port()); // not a browser: allowed
}

TEST(Server, HandshakeHookAuthenticates) {
    RecordingHandler handler;
    handler.handshake_hook = [](const io::HandshakeView& view) {
        io::HandshakeDecision d;
        if (view.query != "token=secret" || view.header("x-client") != "test") {
            d.status = 401;
            d.body = "who are you?";
            d.headers = {{"WWW-Authenticate", "Token"}};
        }
        return d;
    };
    RunningServer server(quiet_config(), handler);
    WsTestClient::Options options;
    options.target = "/?token=secret";
    options.headers = {{"X-Client", "test"}};
    WsTestClient allowed(server.port(), options);
    const std::string refused = raw_http_exchange(
        server.port(), "GET /?token=wrong HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n");
    EXPECT_EQ(refused.rfind("HTTP/1.1 401", 0), 0u) << refused;
    EXPECT_NE(refused.find("WWW-Authenticate: Token"), std::string::npos);
    EXPECT_NE(refused.find("who are you?"), std::string::npos);
}

TEST(Server, MessageOverTheLimitCloses1009) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_message_size = 1000;
    RunningServer server(config, handler);
    WsTestClient client(server.port());
    handler.wait(ServerEvent::connect);
    client.send_binary(std::string(1000, 'a')); // at the limit: fine
    ASSERT_TRUE(handler.wait(ServerEvent::message));
    client.send_binary(std::string(1001, 'a'));
    const auto close = client.next_message();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->type, core::EventType::close);
    EXPECT_EQ(close->close_code, 1009);
    const auto gone = handler.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->code, 1009);
}

TEST(Server, SilentPeerIsDroppedAfterThePongDeadline) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.ping_interval = 100ms;
    config.pong_timeout = 200ms;
    RunningServer server(config, handler);
    WsTestClient::Options options;
    options.auto_pong = false; // a peer that never answers
    WsTestClient client(server.port(), options);
    const auto id = handler.wait(ServerEvent::connect)->id;
    const auto gone = handler.wait(ServerEvent::disconnect, 5s);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->id, id);
    EXPECT_EQ(gone->code, 1006);
    EXPECT_EQ(server->stats().dropped[static_cast<int>(io::DropReason::pong_timeout)], 1u);
}

TEST(Server, AnsweringPeerStaysConnected) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.ping_interval = 50ms;
    config.pong_timeout = 100ms;
    RunningServer server(config, handler);
    WsTestClient client(server.port());
    handler.wait(ServerEvent::connect);
    // Several pings arrive and are answered; the client is still there.
    int pings = 0;
    while (pings < 4) {
        const auto e = client.next(5s);
        ASSERT_TRUE(e);
        pings += e->type == core::EventType::ping ? 1 : 0;
    }
    EXPECT_EQ(server->client_count(), 1u);
    EXPECT_FALSE(handler.wait(ServerEvent::disconnect, 0ms));
}

TEST(Server, IdleClientIsClosed) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.idle_timeout = 150ms;
    RunningServer server(config, handler);
    WsTestClient client(server.port());
    handler.wait(ServerEvent::connect);
    const auto close = client.next_message(5s);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->type, core::EventType::close);
    EXPECT_EQ(close->close_code, 1001);
    EXPECT_EQ(close->payload, "idle timeout");
}

TEST(Server, SlowReaderIsCutOffWith1008AndMemoryStaysBounded) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_send_queue = 256 * 1024;
    io::WebSocketServer* s = nullptr;
    std::vector<io::SendResult> results;
    // On the loop thread, queue far more than the limit before anything can
    // be written: the server must refuse past the limit and cut the client.
    handler.on_connect_hook = [&](io::ClientId id) {
        const std::string chunk(60'000, 'x');
        for (int i = 0; i < 100; ++i) {
            results.push_back(s->send_text(id, chunk));
            if (results.back() != io::SendResult::ok) {
                break;
            }
        }
    };
    RunningServer server(config, handler);
    s = &*server;
    WsTestClient client(server.port());
    // The client finds what was queued, then the close 1008.
    int messages = 0;
    std::optional<ClientEvent> e;
    while ((e = client.next(5s)) && e->type != core::EventType::close) {
        ++messages;
    }
    ASSERT_TRUE(e);
    EXPECT_EQ(e->close_code, 1008);
    EXPECT_EQ(messages, 5);
    const auto gone = handler.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->code, 1008);
    // 256 KiB hold four 60 000-byte messages with their headers, not five.
    ASSERT_EQ(results.size(), 5u);
    EXPECT_EQ(results.back(), io::SendResult::queue_full);
    EXPECT_EQ(server->stats().dropped[static_cast<int>(io::DropReason::send_queue_full)], 1u);
}

TEST(Server, ServesStaticFilesAnd404) {
    const auto dir = std::filesystem::temp_directory_path() / "nexus-static-test";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "index.html") << "<h1>chat</h1>";
    std::ofstream(dir / "app.js") << "console.log(1)";
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.static_dir = dir.string();
    RunningServer server(config, handler);
    const std::string page = raw_http_exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(page.rfind("HTTP/1.1 200 OK", 0), 0u) << page;
    EXPECT_NE(page.find("Content-Type: text/html"), std::string::npos);
    EXPECT_NE(page.find("<h1>chat</h1>"), std::string::npos);
    const std::string js =
        raw_http_exchange(server.port(), "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(js.find("text/javascript"), std::string::npos);
    EXPECT_EQ(raw_http_exchange(server.port(), "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
                  .rfind("HTTP/1.1 404", 0),
              0u);
    EXPECT_EQ(raw_http_exchange(server.port(), "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
                  .rfind("HTTP/1.1 404", 0),
              0u);
    EXPECT_EQ(raw_http_exchange(server.port(),
                                "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
                  .rfind("HTTP/1.1 404", 0),
              0u);
    EXPECT_EQ(server->stats().http_requests, 5u);
    std::filesystem::remove_all(dir);
}

TEST(Server, RateLimitCloses1008) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_messages_per_second = 5;
    RunningServer server(config, handler);
    WsTestClient client(server.port());
    handler.wait(ServerEvent::connect);
    for (int i = 0; i < 20; ++i) {
        client.send_text("flood");
    }
    std::optional<ClientEvent> e;
    do {
        e = client.next(5s);
    } while (e && e->type != core::EventType::close);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->close_code, 1008);
    EXPECT_EQ(server->stats().dropped[static_cast<int>(io::DropReason::rate_limited)], 1u);
}

TEST(Server, AThousandConcurrentClients) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, std::min<rlim_t>(limit.rlim_max, 4096));
    setrlimit(RLIMIT_NOFILE, &limit);
    ASSERT_GE(limit.rlim_cur, 2100u) << "needs a higher open-file limit";
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_clients = 1000;
    RunningServer server(config, handler);
    std::vector<std::unique_ptr<WsTestClient>> clients;
    for (int i = 0; i < 1000; ++i) {
        clients.push_back(std::make_unique<WsTestClient>(server.port()));
    }
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(handler.wait(ServerEvent::connect)) << i;
    }
    EXPECT_EQ(server->client_count(), 1000u);
    EXPECT_EQ(server->broadcast_text("everyone"), 1000u);
    for (auto& c : clients) {
        const auto m = c->next_message();
        ASSERT_TRUE(m);
        ASSERT_EQ(m->payload, "everyone");
    }
}

TEST(Server, ConnectionsStillInTheirHandshakeAreCapped) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, std::min<rlim_t>(limit.rlim_max, 4096));
    setrlimit(RLIMIT_NOFILE, &limit);
    ASSERT_GE(limit.rlim_cur, 2200u) << "needs a higher open-file limit";
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_clients = 0; // the cap is max_clients + 1024
    RunningServer server(config, handler);
    std::vector<std::unique_ptr<Poco::Net::StreamSocket>> silent;
    for (int i = 0; i < 1024; ++i) {
        auto s = std::make_unique<Poco::Net::StreamSocket>();
        s->connect(Poco::Net::SocketAddress("127.0.0.1", server.port()));
        silent.push_back(std::move(s)); // connected, never says a word
    }
    // One more, once the server has taken all of the above: closed at once.
    const auto accepted_all = [&] {
        return server->stats().dropped[static_cast<int>(io::DropReason::pending_limit)] > 0;
    };
    bool refused = false;
    for (int attempt = 0; attempt < 50 && !refused; ++attempt) {
        Poco::Net::StreamSocket extra;
        extra.connect(Poco::Net::SocketAddress("127.0.0.1", server.port()));
        extra.setReceiveTimeout(Poco::Timespan(2, 0));
        char byte = 0;
        int n = -1;
        try {
            n = extra.receiveBytes(&byte, 1);
        } catch (const Poco::Exception&) {
            n = -1; // still open when the bound ran out: not yet over the cap
        }
        refused = n == 0 && accepted_all();
    }
    EXPECT_TRUE(refused);
    EXPECT_GE(server->stats().dropped[static_cast<int>(io::DropReason::pending_limit)], 1u);
}

TEST(Server, NoDescriptorGrowthOverManyConnections) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    const auto cycle = [&] {
        WsTestClient c(server.port());
        ASSERT_TRUE(handler.wait(ServerEvent::connect));
        c.close();
        ASSERT_TRUE(c.wait_closed());
        ASSERT_TRUE(handler.wait(ServerEvent::disconnect));
    };
    for (int i = 0; i < 50; ++i) {
        cycle(); // warm up
    }
    const std::size_t fds_before = open_fds();
    const std::size_t rss_before = resident_bytes();
    for (int i = 0; i < 10'000; ++i) {
        cycle();
        if (HasFatalFailure()) {
            return;
        }
    }
    EXPECT_EQ(open_fds(), fds_before);
    // Allocator slack aside, 10 000 cycles leave nothing behind.
    EXPECT_LT(resident_bytes(), rss_before + 4 * 1024 * 1024);
    EXPECT_EQ(server->client_count(), 0u);
    EXPECT_EQ(server->stats().connections_total, 10'050u);
}

} // namespace
} // namespace nexus::testing
