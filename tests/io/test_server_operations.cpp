// The WebSocket server on loopback: operations, events, broadcast, channels,
// failures of peers and handlers, graceful stop, several loops.
#include <gtest/gtest.h>
#include <pthread.h>

#include <mutex>
#include <set>
#include <string>

#include "server_fixture.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

TEST(Server, EchoesTextAndBinary) {
    RecordingHandler handler;
    io::WebSocketServer* s = nullptr;
    echo_messages(handler, s);
    RunningServer server(quiet_config(), handler);
    s = &*server;
    WsTestClient client(server.port());
    const auto connected = handler.wait(ServerEvent::connect);
    ASSERT_TRUE(connected);
    client.send_text("hello");
    auto reply = client.next_message();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->type, core::EventType::text);
    EXPECT_EQ(reply->payload, "hello");
    client.send_binary(std::string("\x00\xFF\x01", 3));
    reply = client.next_message();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->type, core::EventType::binary);
    EXPECT_EQ(reply->payload, std::string("\x00\xFF\x01", 3));
    const auto message = handler.wait(ServerEvent::message);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->id, connected->id);
    EXPECT_EQ(message->data, "hello");
}

TEST(Server, LargeEchoSurvivesAFullSendBuffer) {
    // The reply outgrows the socket buffers while the client is still
    // sending: writes would block, and the connection must wait, not drop.
    RecordingHandler handler;
    io::WebSocketServer* s = nullptr;
    echo_messages(handler, s);
    io::ServerConfig config = quiet_config();
    config.max_message_size = 16 * 1024 * 1024;
    config.max_frame_size = 16 * 1024 * 1024;
    config.max_send_queue = 64 * 1024 * 1024;
    RunningServer server(config, handler);
    s = &*server;
    WsTestClient client(server.port());
    client.socket().setReceiveBufferSize(16 * 1024);
    const std::string big(12 * 1024 * 1024, 'b');
    for (int round = 0; round < 2; ++round) {
        client.send_binary(big);
        const auto reply = client.next_message(30s);
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->type, core::EventType::binary);
        EXPECT_EQ(reply->payload.size(), big.size());
        EXPECT_EQ(reply->payload, big);
    }
}

TEST(Server, AHandlerThatThrowsDoesNotTakeTheServerDown) {
    RecordingHandler handler;
    handler.on_message_hook = [](io::ClientId, const std::string& data, bool) {
        if (data == "boom") {
            throw std::runtime_error("application bug");
        }
    };
    io::WebSocketServer* s = nullptr;
    RunningServer server(quiet_config(), handler);
    s = &*server;
    WsTestClient client(server.port());
    const auto id = handler.wait(ServerEvent::connect)->id;
    client.send_text("boom");
    const auto error = handler.wait(ServerEvent::error);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->id, id) << error->data;
    EXPECT_NE(error->data.find("application bug"), std::string::npos);
    EXPECT_EQ(s->send_text(id, "still here"), io::SendResult::ok);
    EXPECT_EQ(client.next_message()->payload, "still here");
}

TEST(Server, ClientInfoAndUniqueIds) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.subprotocols = {"chat.v2", "chat.v1"};
    RunningServer server(config, handler);
    WsTestClient::Options options;
    options.target = "/room/7?token=abc";
    options.subprotocols = {"chat.v1", "chat.v2"};
    options.headers = {{"X-User", "ada"}};
    WsTestClient a(server.port(), options);
    WsTestClient b(server.port());
    const auto first = handler.wait(ServerEvent::connect);
    const auto second = handler.wait(ServerEvent::connect);
    ASSERT_TRUE(first && second);
    EXPECT_NE(first->id, second->id);
    EXPECT_EQ(a.subprotocol(), "chat.v2"); // the server's preference wins
    const auto info = server->client(first->id);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->path, "/room/7");
    EXPECT_EQ(info->query, "token=abc");
    EXPECT_EQ(info->subprotocol, "chat.v2");
    EXPECT_EQ(info->peer.rfind("127.0.0.1:", 0), 0u);
    bool found_header = false;
    for (const auto& [name, value] : info->headers) {
        found_header |= name == "X-User" && value == "ada";
    }
    EXPECT_TRUE(found_header);
    EXPECT_TRUE(server->set_user_data(first->id, "ada's data"));
    EXPECT_EQ(server->client(first->id)->user_data, "ada's data");
    EXPECT_EQ(server->clients().size(), 2u);
    EXPECT_EQ(server->client_count(), 2u);
}

TEST(Server, ClientInfoGivesBackTheHeadersAsSent) {
    // The registry keeps each head compactly (a byte for common lines and
    // names, lengths for the rest, the key's 16 bytes): the application must
    // get back exactly what the client sent, in order.
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    const std::vector<std::pair<std::string, std::string>> sent = {
        {"Host", "example.com:8080"},
        {"Connection", "keep-alive, Upgrade"},
        {"upgrade", "websocket"},                          // a line in lower case
        {"Sec-WebSocket-Version", "13"},                   // a whole common line
        {"Sec-WebSocket-Key", "+/+/+/+/+/+/+/+/+/+//g=="}, // stored as 16 bytes
        {"Origin", "http://example.com"},                  // a common name
        {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
        {"Pragma", "no-cache"},
        {"Accept-Encoding", "identity"},   // a common name with an uncommon value
        {"X-Long", std::string(300, 'v')}, // a length of two bytes
        {"X-Empty", ""},
        {"Cookie", "a=1; b=\xC3\xA9"}, // obs-text
    };
    std::string request = "GET /path/x?y=1&z HTTP/1.1\r\n";
    for (const auto& [name, value] : sent) {
        request += name + ": " + value + "\r\n";
    }
    request += "\r\n";
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    const auto connected = handler.wait(ServerEvent::connect);
    ASSERT_TRUE(connected);
    const auto info = server->client(connected->id);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->path, "/path/x");
    EXPECT_EQ(info->query, "y=1&z");
    EXPECT_EQ(info->origin, "http://example.com");
    EXPECT_EQ(info->headers, sent);
    EXPECT_EQ(server->clients().at(0).headers, sent);
}

TEST(Server, RegistryFindsEveryClientThroughGrowthAndRemovals) {
    // The registry is an open-addressing table: it grows several times on
    // the way to 300 clients, and removals in the middle of probe runs must
    // leave every other client reachable.
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.max_clients = 1000;
    RunningServer server(config, handler);
    constexpr int k_clients = 300;
    std::vector<std::unique_ptr<WsTestClient>> clients;
    std::vector<io::ClientId> ids;
    for (int i = 0; i < k_clients; ++i) {
        clients.push_back(std::make_unique<WsTestClient>(server.port()));
        const auto connected = handler.wait(ServerEvent::connect);
        ASSERT_TRUE(connected) << i;
        ids.push_back(connected->id);
    }
    std::vector<io::ClientId> kept;
    for (int i = 0; i < k_clients; ++i) {
        if (i % 3 == 1) {
            clients[static_cast<std::size_t>(i)]->close();
            ASSERT_TRUE(clients[static_cast<std::size_t>(i)]->wait_closed()) << i;
        } else {
            kept.push_back(ids[static_cast<std::size_t>(i)]);
        }
    }
    for (int i = 0; i < k_clients / 3; ++i) {
        ASSERT_TRUE(handler.wait(ServerEvent::disconnect)) << i;
    }
    EXPECT_EQ(server->client_ids(), kept);
    EXPECT_EQ(server->client_count(), kept.size());
    for (int i = 0; i < k_clients; ++i) {
        const io::ClientId id = ids[static_cast<std::size_t>(i)];
        if (i % 3 == 1) {
            EXPECT_FALSE(server->client(id)) << i;
            EXPECT_EQ(server->send_text(id, "gone"), io::SendResult::unknown_client) << i;
        } else {
            ASSERT_TRUE(server->client(id)) << i;
            EXPECT_EQ(server->client(id)->id, id);
            EXPECT_EQ(server->send_text(id, "here"), io::SendResult::ok) << i;
            const auto m = clients[static_cast<std::size_t>(i)]->next_message();
            ASSERT_TRUE(m) << i;
            EXPECT_EQ(m->payload, "here");
        }
    }
}

TEST(Server, BroadcastWithExclusion) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    WsTestClient a(server.port());
    WsTestClient b(server.port());
    WsTestClient c(server.port());
    const auto ida = handler.wait(ServerEvent::connect)->id;
    handler.wait(ServerEvent::connect);
    handler.wait(ServerEvent::connect);
    EXPECT_EQ(server->broadcast_text("to all but a", ida), 2u);
    EXPECT_EQ(b.next_message()->payload, "to all but a");
    EXPECT_EQ(c.next_message()->payload, "to all but a");
    EXPECT_EQ(server->broadcast_text("to all"), 3u);
    EXPECT_EQ(a.next_message()->payload, "to all"); // a never saw the first one
    EXPECT_EQ(b.next_message()->payload, "to all");
}

TEST(Server, CompressedBroadcastIsEncodedOnceAndKeepsConnectionsConsistent) {
    RecordingHandler handler;
    io::ServerConfig config = quiet_config();
    config.permessage_deflate = true;
    // Per-connection compressors keep their history, so a shared frame in
    // between must make them forget it.
    config.deflate.server_no_context_takeover = false;
    RunningServer server(config, handler);
    WsTestClient::Options deflate;
    deflate.extensions = "permessage-deflate; client_max_window_bits";
    WsTestClient compressed(server.port(), deflate);
    WsTestClient::Options small_window;
    small_window.extensions = "permessage-deflate; server_max_window_bits=10";
    WsTestClient windowed(server.port(), small_window);
    WsTestClient plain(server.port());
    const auto a = handler.wait(ServerEvent::connect);
    const auto b = handler.wait(ServerEvent::connect);
    const auto c = handler.wait(ServerEvent::connect);
    ASSERT_TRUE(a && b && c);
    EXPECT_TRUE(a->info.compressed);
    EXPECT_TRUE(b->info.compressed);
    EXPECT_FALSE(c->info.compressed);
    const std::string own = "a message for one client, repeated: " + std::string(200, 'o');
    const std::string shared = "a broadcast for everyone, compressible " + std::string(300, 's');
    for (int round = 0; round < 3; ++round) {
        EXPECT_EQ(server->send_text(a->id, own), io::SendResult::ok);
        EXPECT_EQ(server->broadcast_text(shared), 3u);
        EXPECT_EQ(server->send_text(a->id, own), io::SendResult::ok);
        auto m = compressed.next_message();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->payload, own);
        m = compressed.next_message();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->payload, shared);
        m = compressed.next_message();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->payload, own) << "per-connection history survived the shared frame";
        EXPECT_EQ(windowed.next_message()->payload, shared);
        EXPECT_EQ(plain.next_message()->payload, shared);
    }
}

TEST(Server, DisconnectSendsCloseAndReportsIt) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    WsTestClient client(server.port());
    const auto id = handler.wait(ServerEvent::connect)->id;
    EXPECT_EQ(server->disconnect(id, 4000, "bye"), io::SendResult::ok);
    const auto close = client.next_message();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->type, core::EventType::close);
    EXPECT_EQ(close->close_code, 4000);
    EXPECT_EQ(close->payload, "bye");
    EXPECT_TRUE(client.wait_closed());
    const auto gone = handler.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->id, id);
    EXPECT_EQ(gone->code, 4000);
    EXPECT_FALSE(server->client(id));
    EXPECT_EQ(server->send_text(id, "late"), io::SendResult::unknown_client);
    EXPECT_EQ(server->disconnect(id), io::SendResult::unknown_client);
}

TEST(Server, ClientInitiatedCloseIsReportedWithItsCode) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    WsTestClient client(server.port());
    handler.wait(ServerEvent::connect);
    client.close(1001, "tab closed");
    const auto echo = client.next_message();
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->close_code, 1001);
    EXPECT_TRUE(client.wait_closed()); // the server closes TCP first (§7.1.1)
    const auto gone = handler.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->code, 1001);
    EXPECT_EQ(gone->data, "tab closed");
}

TEST(Server, BadCallsGetClearResults) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    EXPECT_EQ(server->send_text(12345, "x"), io::SendResult::unknown_client);
    WsTestClient client(server.port());
    const auto id = handler.wait(ServerEvent::connect)->id;
    const std::string bad = "\xC0\x80";
    EXPECT_EQ(
        server->send(id, {reinterpret_cast<const std::uint8_t*>(bad.data()), bad.size()}, false),
        io::SendResult::invalid_utf8);
    EXPECT_EQ(server->disconnect(id, 1005), io::SendResult::invalid_argument);
    EXPECT_EQ(server->disconnect(id, 1000, std::string(124, 'r')),
              io::SendResult::invalid_argument);
    EXPECT_EQ(server->broadcast_text("\xFF"), 0u);
}

TEST(Server, ChannelsPublishToSubscribers) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    WsTestClient a(server.port());
    WsTestClient b(server.port());
    const auto ida = handler.wait(ServerEvent::connect)->id;
    const auto idb = handler.wait(ServerEvent::connect)->id;
    EXPECT_EQ(server->subscribe(ida, "news"), io::SendResult::ok);
    EXPECT_EQ(server->subscribe(idb, "news"), io::SendResult::ok);
    EXPECT_EQ(server->subscribe(idb, "sports"), io::SendResult::ok);
    EXPECT_EQ(server->channels(idb), (std::vector<std::string>{"news", "sports"}));
    const std::string text = "headline";
    EXPECT_EQ(server->publish(
                  "news", {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false),
              2u);
    EXPECT_EQ(a.next_message()->payload, "headline");
    EXPECT_EQ(b.next_message()->payload, "headline");
    EXPECT_EQ(server->unsubscribe(idb, "news"), io::SendResult::ok);
    EXPECT_EQ(server->publish(
                  "news", {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false),
              1u);
    EXPECT_EQ(server->publish("nobody",
                              {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                              false),
              0u);
    EXPECT_EQ(server->subscribe(999999, "news"), io::SendResult::unknown_client);
}

TEST(Server, PeerVanishingMidFrameIsA1006Disconnect) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    {
        WsTestClient client(server.port());
        handler.wait(ServerEvent::connect);
        client.send_raw(std::string("\x82\x85\x01\x02\x03\x04"
                                    "ab",
                                    8)); // 2 of 5 payload bytes
    }                                    // the socket closes here
    const auto gone = handler.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->code, 1006);
    EXPECT_EQ(server->client_count(), 0u);
}

TEST(Server, ProtocolViolationFailsTheConnection) {
    RecordingHandler handler;
    RunningServer server(quiet_config(), handler);
    WsTestClient client(server.port());
    handler.wait(ServerEvent::connect);
    client.send_raw(std::string("\x81\x02hi", 4)); // unmasked from a client
    const auto close = client.next_message();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code, 1002);
    EXPECT_TRUE(handler.wait(ServerEvent::error));
    EXPECT_EQ(handler.wait(ServerEvent::disconnect)->code, 1002);
}

TEST(Server, GracefulStopDeliversEverythingQueuedThen1001) {
    RecordingHandler handler;
    auto server = std::make_unique<RunningServer>(quiet_config(), handler);
    WsTestClient client(server->port());
    const auto id = handler.wait(ServerEvent::connect)->id;
    for (int i = 0; i < 100; ++i) {
        (*server)->send_text(id, "queued " + std::to_string(i));
    }
    (*server)->stop();
    for (int i = 0; i < 100; ++i) {
        const auto m = client.next_message();
        ASSERT_TRUE(m) << i;
        ASSERT_EQ(m->payload, "queued " + std::to_string(i));
    }
    const auto close = client.next_message();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code, 1001);
    server->stop(); // joins: run() has returned
    EXPECT_TRUE((*server)->stopped());
    EXPECT_EQ(handler.wait(ServerEvent::disconnect)->code, 1001);
}

TEST(ServerThreads, TwoLoopsShareThePortAndReachEachOther) {
    RecordingHandler handler;
    io::ServerConfig config;
    config.log_level = io::LogLevel::off;
    config.threads = 2;
    io::WebSocketServer* s = nullptr;
    // Every message is broadcast to all: clients on both loops must see it.
    handler.on_message_hook = [&s](io::ClientId, const std::string& data, bool) {
        s->broadcast_text(data);
    };
    RunningServer server(config, handler);
    s = &*server;
    std::vector<std::unique_ptr<WsTestClient>> clients;
    std::vector<io::ClientId> ids;
    for (int i = 0; i < 40; ++i) {
        clients.push_back(std::make_unique<WsTestClient>(server.port()));
        ids.push_back(handler.wait(ServerEvent::connect)->id);
    }
    clients[0]->send_text("across loops");
    for (auto& c : clients) {
        const auto m = c->next_message();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->payload, "across loops");
    }
    // Direct sends from this (foreign) thread reach clients of both loops.
    for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(server->send_text(ids[i], "direct " + std::to_string(i)), io::SendResult::ok);
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        EXPECT_EQ(clients[i]->next_message()->payload, "direct " + std::to_string(i));
    }
    server->stop(); // graceful: the clients answer the close below
    for (auto& c : clients) {
        const auto m = c->next_message();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->close_code, 1001);
    }
}

TEST(ServerThreads, BothLoopsTakeClientsAndTheSecondIsNamed) {
    RecordingHandler handler;
    io::ServerConfig config;
    config.log_level = io::LogLevel::off;
    config.threads = 2;
    std::mutex mutex;
    std::set<std::string> names; // of the threads that saw a connect
    handler.on_connect_hook = [&](io::ClientId) {
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        const std::lock_guard<std::mutex> lock(mutex);
        names.insert(name);
    };
    RunningServer server(config, handler);
    std::vector<std::unique_ptr<WsTestClient>> clients;
    // The kernel spreads connections over the two listening sockets by a
    // hash of the address pair: 40 all on one loop has odds of 2^-39.
    for (int i = 0; i < 40; ++i) {
        clients.push_back(std::make_unique<WsTestClient>(server.port()));
        ASSERT_TRUE(handler.wait(ServerEvent::connect));
    }
    const std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(names.size(), 2U);
    EXPECT_EQ(names.count("nx-loop-1"), 1U);
}

TEST(Server, StatisticsCountClientsMessagesAndBytes) {
    RecordingHandler handler;
    io::WebSocketServer* s = nullptr;
    echo_messages(handler, s);
    RunningServer server(quiet_config(), handler);
    s = &*server;
    {
        WsTestClient a(server.port());
        WsTestClient b(server.port());
        handler.wait(ServerEvent::connect);
        handler.wait(ServerEvent::connect);
        EXPECT_EQ(server->stats().clients, 2u);
        a.send_text("12345");
        b.send_binary("123");
        ASSERT_TRUE(a.next_message());
        ASSERT_TRUE(b.next_message());
        EXPECT_EQ(server->broadcast_text("xy"), 2u);
        ASSERT_TRUE(a.next_message());
        ASSERT_TRUE(b.next_message());
        const io::ServerStats st = server->stats();
        EXPECT_EQ(st.connections_total, 2u);
        EXPECT_EQ(st.messages_in, 2u);
        EXPECT_EQ(st.bytes_in, 8u);
        EXPECT_EQ(st.messages_out, 4u); // two echoes, one broadcast to two
        EXPECT_EQ(st.bytes_out, 5u + 3u + 2u * 2u);
        EXPECT_EQ(raw_http_exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                      .rfind("HTTP/1.1 404", 0),
                  0u);
        EXPECT_EQ(server->stats().http_requests, 1u);
    }
    ASSERT_TRUE(handler.wait(ServerEvent::disconnect));
    ASSERT_TRUE(handler.wait(ServerEvent::disconnect));
    EXPECT_EQ(server->stats().clients, 0u);
}

} // namespace
} // namespace nexus::testing
