// Scaling: several servers in this process share clients through a real
// redis-server of the test's own (Debian's), started on a free loopback
// port; separate processes and a SIGKILL are in tests/tools. What only
// Redis's state shows (presence, reconnection) is polled with a bound.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "../../io/src/cluster_codec.hpp"
#include "../../io/src/redis_link.hpp"
#include "nexus/io/scaling.hpp"
#include "redis_fixture.hpp"
#include "server_fixture.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

io::ServerConfig cluster_config(const std::string& url, const std::string& prefix) {
    io::ServerConfig c = quiet_config();
    c.scaling.enabled = true;
    c.scaling.redis_url = url;
    c.scaling.prefix = prefix;
    c.scaling.presence_lease = 1500ms;
    c.scaling.redis_timeout = 1000ms;
    if (std::getenv("NX_TEST_LOG") != nullptr) {
        c.log_level = io::LogLevel::debug;
    }
    return c;
}

/// Polls `condition` every 20 ms until it holds or `timeout` passed.
template <typename Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        ::poll(nullptr, 0, 20);
    }
    return condition();
}

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// A client id on `server`'s node that no client has.
io::ClientId absent_id_on(io::WebSocketServer& server) {
    return (static_cast<io::ClientId>(server.node_id()) << 40) | 0xFFFFFFFFull;
}

/// Waits until `from` can reach `to` (the backplane is up and knows `to`).
bool linked(io::WebSocketServer& from, io::WebSocketServer& to) {
    return eventually(
        [&] { return from.send(absent_id_on(to), bytes("probe"), false) == io::SendResult::ok; });
}

/// The next message `client` gets, as text ("<none>" after 10 s).
std::string next_text(WsTestClient& client, std::chrono::milliseconds timeout = 10s) {
    const auto event = client.next_message(timeout);
    return event ? event->payload : "<none>";
}

/// Two servers sharing one Redis, linked both ways.
struct TwoServers {
    explicit TwoServers(const std::string& url, const std::string& prefix = unique_prefix())
        : a(cluster_config(url, prefix), handler_a), b(cluster_config(url, prefix), handler_b) {
        EXPECT_TRUE(linked(*a, *b));
        EXPECT_TRUE(linked(*b, *a));
    }
    /// A connected client of `server` and its id there.
    std::pair<std::unique_ptr<WsTestClient>, io::ClientId>
    join(RunningServer& server, RecordingHandler& handler, const std::string& target = "/") {
        WsTestClient::Options options;
        options.target = target;
        auto client = std::make_unique<WsTestClient>(server.port(), options);
        const auto event = handler.wait(ServerEvent::connect);
        return {std::move(client), event ? event->id : 0};
    }
    RecordingHandler handler_a, handler_b;
    RunningServer a, b;
};

// ------------------------------------------------------------ configuration

TEST(ScalingConfig, ParsesRedisUrls) {
    auto e = io::RedisEndpoint::parse("redis://localhost");
    EXPECT_EQ(e.host, "localhost");
    EXPECT_EQ(e.port, 6379);
    EXPECT_EQ(e.database, 0u);
    EXPECT_FALSE(e.tls);
    EXPECT_TRUE(e.password.empty());

    e = io::RedisEndpoint::parse("redis://:p%40ss@10.0.0.2:6380/3");
    EXPECT_EQ(e.host, "10.0.0.2");
    EXPECT_EQ(e.port, 6380);
    EXPECT_EQ(e.database, 3u);
    EXPECT_EQ(e.password, "p@ss");
    EXPECT_TRUE(e.user.empty());

    e = io::RedisEndpoint::parse("redis://app:secret@[::1]:7000");
    EXPECT_EQ(e.host, "::1");
    EXPECT_EQ(e.port, 7000);
    EXPECT_EQ(e.user, "app");
    EXPECT_EQ(e.password, "secret");
    EXPECT_EQ(e.where(), "[::1]:7000");

    e = io::RedisEndpoint::parse(
        "rediss://cache.example:6390/1?cafile=/etc/ca.pem&verify_peer_name=0");
    ASSERT_TRUE(e.tls);
    EXPECT_EQ(e.tls->cafile, "/etc/ca.pem");
    EXPECT_EQ(e.tls->verify_peer_name, false);

    for (const char* bad :
         {"http://localhost", "redis://", "redis://host:0", "redis://host:70000", "redis://host/x",
          "redis://[::1", "redis://host?cafile=/x", "rediss://host?no_such_option=1",
          "rediss://host?verify_peer=maybe", "redis://:%zz@host"}) {
        EXPECT_THROW(io::RedisEndpoint::parse(bad), std::invalid_argument) << bad;
    }
    // The password never appears in an error.
    try {
        io::RedisEndpoint::parse("redis://:hunter2@host:99999");
        FAIL();
    } catch (const std::invalid_argument& error) {
        EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
    }
}

TEST(ScalingConfig, ComesFromTheEnvironment) {
    io::ServerConfig c;
    EXPECT_FALSE(c.scaling.enabled);
    c.apply_environment({{"WEBSOCKET_SCALING", "redis"},
                         {"REDIS_URL", "redis://:pw@127.0.0.1:6390/2"},
                         {"WEBSOCKET_SCALING_PREFIX", "chat"},
                         {"WEBSOCKET_SCALING_LEASE", "4.5"},
                         {"WEBSOCKET_SCALING_TIMEOUT", "0.5"},
                         {"WEBSOCKET_SCALING_BACKLOG", "1048576"}});
    EXPECT_TRUE(c.scaling.enabled);
    EXPECT_EQ(c.scaling.redis_url, "redis://:pw@127.0.0.1:6390/2");
    EXPECT_EQ(c.scaling.prefix, "chat");
    EXPECT_EQ(c.scaling.presence_lease, 4500ms);
    EXPECT_EQ(c.scaling.redis_timeout, 500ms);
    EXPECT_EQ(c.scaling.max_backlog, 1048576u);
    c.apply_environment({{"WEBSOCKET_SCALING", "none"}});
    EXPECT_FALSE(c.scaling.enabled);

    EXPECT_THROW(c.apply_environment({{"WEBSOCKET_SCALING", "memcached"}}), std::invalid_argument);
    try {
        c.apply_environment({{"REDIS_URL", "redis://:topsecret@host:0"}});
        FAIL();
    } catch (const std::invalid_argument& error) {
        const std::string text = error.what();
        EXPECT_NE(text.find("REDIS_URL"), std::string::npos) << text;
        EXPECT_EQ(text.find("topsecret"), std::string::npos) << text;
    }
}

TEST(ScalingConfig, BadSettingsFailTheServer) {
    RecordingHandler handler;
    io::ServerConfig c = cluster_config("redis://127.0.0.1:1", "ok");
    c.scaling.redis_url = "tcp://127.0.0.1";
    EXPECT_THROW(io::WebSocketServer(c, handler), std::invalid_argument);
    c = cluster_config("redis://127.0.0.1:1", "has space");
    EXPECT_THROW(io::WebSocketServer(c, handler), std::invalid_argument);
    c = cluster_config("redis://127.0.0.1:1", "ok");
    c.scaling.presence_lease = 100ms;
    EXPECT_THROW(io::WebSocketServer(c, handler), std::invalid_argument);
}

// ------------------------------------------------------------ codec

TEST(ClusterCodec, EnvelopesRoundTripAndTruncationsAreRefused) {
    io::detail::Envelope e;
    e.kind = io::detail::Envelope::Kind::publish;
    e.binary = true;
    e.code = 4001;
    e.origin = 77;
    e.client = (io::ClientId{77} << 40) | 5;
    e.text = "news";
    e.payload = std::string("\0\r\n\xff binary", 11);
    const std::string wire = io::detail::encode(e);
    const auto back = io::detail::decode_envelope(wire);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->kind, e.kind);
    EXPECT_EQ(back->binary, e.binary);
    EXPECT_EQ(back->code, e.code);
    EXPECT_EQ(back->origin, e.origin);
    EXPECT_EQ(back->client, e.client);
    EXPECT_EQ(back->text, e.text);
    EXPECT_EQ(back->payload, e.payload);
    for (std::size_t n = 0; n < wire.size(); ++n) {
        EXPECT_FALSE(io::detail::decode_envelope(wire.substr(0, n))) << n;
    }
    EXPECT_FALSE(io::detail::decode_envelope(wire + "x"));
    std::string bad_kind = wire;
    bad_kind[1] = 9;
    EXPECT_FALSE(io::detail::decode_envelope(bad_kind));
}

TEST(ClusterCodec, PresenceAndStatsRoundTrip) {
    io::ClientInfo info;
    info.peer = "127.0.0.1:5000";
    info.path = "/chat";
    info.query = "room=1";
    info.origin = "https://example.com";
    info.subprotocol = "chat.v1";
    info.compressed = true;
    info.connected_at = std::chrono::system_clock::time_point(1'700'000'000'123ms);
    info.user_data = std::string("u\0d", 3);
    info.headers = {{"Host", "example.com"}, {"X-Token", "abc"}};
    const std::string wire = io::detail::encode_presence(info);
    const auto back = io::detail::decode_presence(42, wire);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->id, 42u);
    EXPECT_EQ(back->peer, info.peer);
    EXPECT_EQ(back->path, info.path);
    EXPECT_EQ(back->query, info.query);
    EXPECT_EQ(back->origin, info.origin);
    EXPECT_EQ(back->subprotocol, info.subprotocol);
    EXPECT_TRUE(back->compressed);
    EXPECT_EQ(back->connected_at, info.connected_at);
    EXPECT_EQ(back->user_data, info.user_data);
    EXPECT_EQ(back->headers, info.headers);
    for (std::size_t n = 0; n < wire.size(); ++n) {
        EXPECT_FALSE(io::detail::decode_presence(1, wire.substr(0, n))) << n;
    }
    // A time no server writes (it would overflow the clock) is refused.
    io::ClientInfo future = info;
    future.connected_at = std::chrono::system_clock::time_point::max();
    EXPECT_FALSE(io::detail::decode_presence(1, io::detail::encode_presence(future)));

    io::ServerStats stats;
    stats.clients = 3;
    stats.bytes_out = 1ull << 40;
    stats.dropped[static_cast<int>(io::DropReason::pong_timeout)] = 2;
    stats.remote_in = 9;
    const auto decoded = io::detail::decode_stats(io::detail::encode_stats(stats));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->clients, 3u);
    EXPECT_EQ(decoded->bytes_out, 1ull << 40);
    EXPECT_EQ(decoded->dropped[static_cast<int>(io::DropReason::pong_timeout)], 2u);
    EXPECT_EQ(decoded->remote_in, 9u);
    io::ServerStats total = stats;
    io::detail::add_stats(total, *decoded);
    EXPECT_EQ(total.clients, 6u);
    EXPECT_EQ(total.servers, 2u);
}

// ------------------------------------------------------------ across servers

TEST(Scaling, BroadcastReachesEveryClientOfEveryServerOnce) {
    RedisProcess redis;
    TwoServers cluster(redis.url());
    auto [a1, a1_id] = cluster.join(cluster.a, cluster.handler_a);
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    auto [b2, b2_id] = cluster.join(cluster.b, cluster.handler_b);

    EXPECT_EQ(cluster.a->broadcast_text("hello all"), 1u); // local count
    for (WsTestClient* c : {a1.get(), b1.get(), b2.get()}) {
        EXPECT_EQ(next_text(*c), "hello all");
    }
    // Excluding a client of the other server.
    cluster.a->broadcast_text("not b1", b1_id);
    EXPECT_EQ(next_text(*a1), "not b1");
    EXPECT_EQ(next_text(*b2), "not b1");
    // Once each: the next thing everyone sees is the next broadcast.
    cluster.b->broadcast_text("second");
    for (WsTestClient* c : {a1.get(), b1.get(), b2.get()}) {
        EXPECT_EQ(next_text(*c), "second");
    }
    // Binary stays binary across servers.
    cluster.a->broadcast(bytes(std::string("\0\1\2", 3)), true);
    const auto event = b1->next_message();
    ASSERT_TRUE(event);
    EXPECT_EQ(event->type, core::EventType::binary);
    EXPECT_EQ(event->payload, std::string("\0\1\2", 3));
    EXPECT_TRUE(eventually([&] { return cluster.a->stats().remote_out >= 3; }));
    EXPECT_TRUE(eventually([&] { return cluster.b->stats().remote_in >= 2; }));
}

TEST(Scaling, PublishReachesSubscribersOnEveryServer) {
    RedisProcess redis;
    TwoServers cluster(redis.url());
    auto [a1, a1_id] = cluster.join(cluster.a, cluster.handler_a);
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    auto [b2, b2_id] = cluster.join(cluster.b, cluster.handler_b);
    ASSERT_EQ(cluster.a->subscribe(a1_id, "news"), io::SendResult::ok);
    ASSERT_EQ(cluster.b->subscribe(b1_id, "news"), io::SendResult::ok);

    EXPECT_EQ(cluster.a->publish("news", bytes("extra"), false), 1u);
    EXPECT_EQ(next_text(*a1), "extra");
    EXPECT_EQ(next_text(*b1), "extra");
    cluster.b->broadcast_text("marker");
    EXPECT_EQ(next_text(*b2), "marker"); // b2 is not subscribed: the publish skipped it
    EXPECT_EQ(next_text(*b1), "marker");
}

TEST(Scaling, SendAndDisconnectReachAClientOfAnotherServer) {
    RedisProcess redis;
    TwoServers cluster(redis.url());
    auto [a1, a1_id] = cluster.join(cluster.a, cluster.handler_a);
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    EXPECT_NE(a1_id >> 40, b1_id >> 40);
    EXPECT_EQ(a1_id >> 40, cluster.a->node_id());
    EXPECT_EQ(b1_id >> 40, cluster.b->node_id());

    EXPECT_EQ(cluster.a->send_text(b1_id, "for b1 only"), io::SendResult::ok);
    EXPECT_EQ(next_text(*b1), "for b1 only");
    EXPECT_EQ(cluster.b->send(a1_id, bytes("back"), true), io::SendResult::ok);
    EXPECT_EQ(next_text(*a1), "back");
    EXPECT_EQ(cluster.a->send_text(b1_id, std::string("\xff", 1)), io::SendResult::invalid_utf8);

    EXPECT_EQ(cluster.a->disconnect(b1_id, 4001, "moved"), io::SendResult::ok);
    const auto closed = b1->next(10s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->type, core::EventType::close);
    EXPECT_EQ(closed->close_code, 4001);
    EXPECT_EQ(closed->payload, "moved");
    b1->close(4001);
    const auto gone = cluster.handler_b.wait(ServerEvent::disconnect);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->id, b1_id);

    // A server that is not there: no such client.
    EXPECT_EQ(cluster.a->send_text((io::ClientId{4'000'000} << 40) | 1, "x"),
              io::SendResult::unknown_client);
    EXPECT_EQ(cluster.a->disconnect((io::ClientId{4'000'000} << 40) | 1),
              io::SendResult::unknown_client);
}

TEST(Scaling, EachSendersOrderHoldsAcrossServers) {
    RedisProcess redis;
    TwoServers cluster(redis.url());
    auto [a1, a1_id] = cluster.join(cluster.a, cluster.handler_a);
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    constexpr int k_messages = 400;
    // A interleaves broadcasts and direct sends to b1; B broadcasts too.
    // (A copy: clang 14 cannot capture a structured binding.)
    std::thread other([&cluster, except = b1_id] {
        for (int i = 0; i < k_messages; ++i) {
            cluster.b->broadcast_text("b" + std::to_string(i), except);
        }
    });
    for (int i = 0; i < k_messages; ++i) {
        if (i % 2 == 0) {
            cluster.a->broadcast_text("a" + std::to_string(i), a1_id);
        } else {
            ASSERT_EQ(cluster.a->send_text(b1_id, "a" + std::to_string(i)), io::SendResult::ok);
        }
    }
    other.join();
    int next_from_a = 0;
    for (int i = 0; i < k_messages; ++i) {
        ASSERT_EQ(next_text(*b1), "a" + std::to_string(next_from_a)) << i;
        ++next_from_a;
    }
    for (int i = 0; i < k_messages; ++i) {
        ASSERT_EQ(next_text(*a1), "b" + std::to_string(i)) << i;
    }
}

TEST(Scaling, ClusterClientsAndStatsCoverEveryServer) {
    RedisProcess redis;
    TwoServers cluster(redis.url());
    auto [a1, a1_id] = cluster.join(cluster.a, cluster.handler_a, "/room?name=blue");
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b, "/lobby");
    ASSERT_TRUE(cluster.b->set_user_data(b1_id, "alice"));

    std::vector<io::ClientInfo> all;
    EXPECT_TRUE(eventually([&] {
        all = cluster.a->cluster_clients();
        return all.size() == 2 && all[1].user_data == "alice";
    }));
    ASSERT_EQ(all.size(), 2u);
    const auto& [first, second] = std::tie(all[0], all[1]);
    EXPECT_EQ(first.id, std::min(a1_id, b1_id));
    const io::ClientInfo& remote = a1_id < b1_id ? second : first;
    EXPECT_EQ(remote.id, b1_id);
    EXPECT_EQ(remote.path, "/lobby");
    EXPECT_EQ(remote.user_data, "alice");
    EXPECT_EQ(remote.peer.rfind("127.0.0.1:", 0), 0u) << remote.peer;
    EXPECT_GT(remote.connected_at.time_since_epoch().count(), 0);
    EXPECT_FALSE(remote.headers.empty());
    EXPECT_EQ(cluster.a->clients().size(), 1u); // clients() stays local

    io::ServerStats total;
    EXPECT_TRUE(eventually([&] {
        total = cluster.b->cluster_stats();
        return total.servers == 2 && total.clients == 2;
    }));
    EXPECT_EQ(total.servers, 2u);
    EXPECT_EQ(total.clients, 2u);
    EXPECT_EQ(total.backplane_up, 2u);

    b1->close();
    ASSERT_TRUE(cluster.handler_b.wait(ServerEvent::disconnect));
    EXPECT_TRUE(eventually([&] { return cluster.a->cluster_clients().size() == 1; }));

    // A server that stops leaves at once (it says goodbye), not after its lease.
    cluster.b.stop();
    EXPECT_TRUE(eventually([&] { return cluster.a->cluster_stats().servers == 1; }, 1000ms));
}

// ------------------------------------------------------------ faults

TEST(Scaling, RedisDownAtStartThenBack) {
    RedisProcess redis(false);
    const std::string prefix = unique_prefix();
    RecordingHandler handler_a;
    io::WebSocketServer* server_a = nullptr;
    echo_messages(handler_a, server_a);
    RunningServer a(cluster_config(redis.url(), prefix), handler_a);
    server_a = &*a;
    const auto error = handler_a.wait(ServerEvent::error);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->id, 0u);
    EXPECT_NE(error->data.find("redis"), std::string::npos) << error->data;
    EXPECT_NE(error->data.find(std::to_string(redis.port())), std::string::npos) << error->data;

    // Local clients are served meanwhile; remote deliveries are counted as dropped.
    WsTestClient a1(a.port());
    ASSERT_TRUE(handler_a.wait(ServerEvent::connect));
    a1.send_text("echo me");
    EXPECT_EQ(next_text(a1), "echo me");
    EXPECT_EQ(a->broadcast_text("lonely"), 1u);
    EXPECT_EQ(next_text(a1), "lonely");
    EXPECT_GE(a->stats().remote_dropped, 1u);
    EXPECT_EQ(a->stats().backplane_up, 0u);
    EXPECT_GE(a->stats().backplane_errors, 1u);
    EXPECT_THROW(a->cluster_clients(), io::SocketError);

    redis.start();
    EXPECT_TRUE(eventually([&] { return a->stats().backplane_up == 1; }));
    RecordingHandler handler_b;
    RunningServer b(cluster_config(redis.url(), prefix), handler_b);
    ASSERT_TRUE(linked(*b, *a));
    ASSERT_TRUE(linked(*a, *b));
    b->broadcast_text("now together");
    EXPECT_EQ(next_text(a1), "now together");
    // The node id A picked without Redis still keeps ids apart.
    EXPECT_NE(a->node_id(), b->node_id());
}

TEST(Scaling, RedisRestartInTheMiddle) {
    RedisProcess redis;
    TwoServers cluster(redis.url());
    auto [a1, a1_id] = cluster.join(cluster.a, cluster.handler_a);
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    ASSERT_TRUE(eventually([&] { return cluster.a->cluster_clients().size() == 2; }));

    redis.restart(); // everything Redis held is gone
    // Both servers notice, say so once, and come back by themselves.
    const auto error = cluster.handler_a.wait(ServerEvent::error);
    ASSERT_TRUE(error);
    EXPECT_NE(error->data.find("redis"), std::string::npos) << error->data;
    ASSERT_TRUE(linked(*cluster.a, *cluster.b));
    ASSERT_TRUE(linked(*cluster.b, *cluster.a));
    // Presence was written again.
    EXPECT_TRUE(eventually([&] { return cluster.a->cluster_clients().size() == 2; }));
    cluster.a->broadcast_text("after the restart");
    EXPECT_EQ(next_text(*a1), "after the restart");
    EXPECT_EQ(next_text(*b1), "after the restart");
    // The local clients never noticed.
    a1->send_text("still here");
    const auto message = cluster.handler_a.wait(ServerEvent::message);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->data, "still here");
}

TEST(Scaling, AStalledRedisCostsBoundedMemory) {
    RedisProcess redis;
    const std::string prefix = unique_prefix();
    io::ServerConfig config = cluster_config(redis.url(), prefix);
    config.scaling.max_backlog = 64 * 1024;
    RecordingHandler handler;
    RunningServer a(config, handler);
    ASSERT_TRUE(eventually([&] { return a->stats().backplane_up == 1; }));
    WsTestClient a1(a.port());
    ASSERT_TRUE(handler.wait(ServerEvent::connect));

    ::kill(redis.pid(), SIGSTOP); // Redis answers nothing now
    const std::string chunk(16 * 1024, 'x');
    for (int i = 0; i < 200; ++i) { // 3.2 MiB, fifty times the backlog
        a->broadcast_text(chunk);
    }
    EXPECT_GE(a->stats().remote_dropped, 150u);
    // Local delivery went on: a1 got every one.
    for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(next_text(a1).size(), chunk.size()) << i;
    }
    ::kill(redis.pid(), SIGCONT);
    EXPECT_TRUE(eventually([&] { return a->stats().backplane_up == 1; }));
}

TEST(Scaling, AKilledServerLeavesPresenceWithinTheLease) {
    RedisProcess redis;
    const std::string prefix = unique_prefix();
    RecordingHandler handler;
    RunningServer a(cluster_config(redis.url(), prefix), handler);
    // Another server in a process of its own, to be SIGKILLed: no goodbye.
    ChildProcess other({NX_TOOL_PATH, "echo", "--host", "127.0.0.1", "--port", "0", "--redis",
                        redis.url(), "--scaling-prefix", prefix, "--scaling-lease", "1.5"});
    const auto banner = other.wait_for_line("listening on", 10s);
    ASSERT_TRUE(banner) << other.output();
    const auto port = static_cast<std::uint16_t>(std::stoi(banner->substr(banner->rfind(':') + 1)));
    ASSERT_TRUE(other.wait_for_line("as server", 10s)) << other.output();
    WsTestClient remote(port);
    remote.send_text("ready?");
    ASSERT_EQ(next_text(remote), "ready?");

    std::vector<io::ClientInfo> all;
    ASSERT_TRUE(eventually([&] {
        all = a->cluster_clients();
        return all.size() == 1;
    }));
    const io::ClientId remote_id = all[0].id;
    EXPECT_FALSE(a->is_local(remote_id));
    ASSERT_TRUE(
        eventually([&] { return a->send_text(remote_id, "via redis") == io::SendResult::ok; }));
    EXPECT_EQ(next_text(remote), "via redis");

    ::kill(other.pid(), SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    EXPECT_TRUE(eventually([&] { return a->cluster_clients().empty(); }, 5s));
    EXPECT_LT(std::chrono::steady_clock::now() - killed, 1500ms + 1000ms);
    EXPECT_TRUE(eventually([&] { return a->cluster_stats().servers == 1; }, 5s));
    // Once A's view of the live servers is refreshed, the id is unknown.
    EXPECT_TRUE(eventually(
        [&] { return a->send_text(remote_id, "anyone?") == io::SendResult::unknown_client; }, 5s));
}

TEST(Scaling, AStuckLoopDoesNotMakeTheServerTakeInEverything) {
    // B's only loop is held in a handler; A broadcasts 100 x 64 KiB (6.4 MiB)
    // while B's backlog is 256 KiB: B stops taking messages from Redis once
    // more than that waits for its loop (Redis holds the rest), and its
    // client gets every one, in order, once the loop runs again.
    RedisProcess redis;
    const std::string prefix = unique_prefix();
    RecordingHandler handler_a;
    RecordingHandler handler_b;
    std::mutex mutex;
    std::condition_variable released_cv;
    bool released = false;
    handler_b.on_message_hook = [&](io::ClientId, const std::string&, bool) {
        std::unique_lock lock(mutex);
        released_cv.wait_for(lock, 30s, [&] { return released; }); // bounded
    };
    io::ServerConfig config_b = cluster_config(redis.url(), prefix);
    config_b.scaling.max_backlog = 256 * 1024;
    config_b.max_send_queue = 16 * 1024 * 1024;
    RunningServer a(cluster_config(redis.url(), prefix), handler_a);
    RunningServer b(config_b, handler_b);
    // Both subscribed and A able to publish, asked of Redis itself: probes
    // (linked()) would count in B's remote_in, and one sent before B
    // subscribed would never arrive.
    io::detail::RedisLink link(io::RedisEndpoint::parse(redis.url()), 2s);
    ASSERT_TRUE(eventually([&] {
        Poco::Redis::Array numsub;
        numsub << "PUBSUB"
               << "NUMSUB" << prefix + ":all";
        const auto reply = link.call(numsub);
        const auto& parts =
            dynamic_cast<const Poco::Redis::Type<Poco::Redis::Array>&>(*reply).value();
        return parts.get<Poco::Int64>(1) == 2 && a->stats().backplane_up == 1;
    }));
    WsTestClient::Options options;
    options.max_message_size = 1024 * 1024;
    WsTestClient b1(b.port(), options);
    ASSERT_TRUE(handler_b.wait(ServerEvent::connect));
    b1.send_text("hold the loop");
    ASSERT_TRUE(handler_b.wait(ServerEvent::message)); // the loop is in the hook now

    constexpr int k_messages = 100;
    const std::uint64_t out_before = a->stats().remote_out;
    const std::uint64_t in_before = b->stats().remote_in; // 0: nothing was sent to B yet
    for (int i = 0; i < k_messages; ++i) {
        std::string message(64 * 1024, 'x');
        message.replace(0, std::to_string(i).size(), std::to_string(i));
        a->broadcast_text(message);
    }
    ASSERT_TRUE(eventually([&] { return a->stats().remote_out == out_before + k_messages; }));
    // What B took in stays near its bound: up to the backlog plus one batch
    // (1 MiB) waits for the loop, and one more batch is read and held back:
    // (256 KiB + 1 MiB) / 64 KiB + 16 = 36 of the 100.
    EXPECT_TRUE(eventually([&] { return b->stats().remote_in >= in_before + 4; }));
    EXPECT_LE(b->stats().remote_in - in_before, 36u);
    {
        const std::lock_guard lock(mutex);
        released = true;
    }
    released_cv.notify_all();
    for (int i = 0; i < k_messages; ++i) {
        const std::string got = next_text(b1);
        ASSERT_EQ(got.size(), 64u * 1024) << i;
        ASSERT_EQ(got.substr(0, std::to_string(i).size()), std::to_string(i)) << i;
    }
    EXPECT_EQ(b->stats().remote_in - in_before, static_cast<std::uint64_t>(k_messages));
}

// ------------------------------------------------------------ Redis settings

TEST(Scaling, PasswordProtectedRedis) {
    RedisProcess redis(false);
    redis.password = "s3cret";
    redis.start();
    TwoServers cluster(redis.url());
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    cluster.a->broadcast_text("authenticated");
    EXPECT_EQ(next_text(*b1), "authenticated");

    RecordingHandler handler;
    RunningServer wrong(
        cluster_config("redis://:wrong@127.0.0.1:" + std::to_string(redis.port()), unique_prefix()),
        handler);
    const auto error = handler.wait(ServerEvent::error);
    ASSERT_TRUE(error);
    EXPECT_NE(error->data.find("password"), std::string::npos) << error->data;
    EXPECT_EQ(error->data.find("wrong"), std::string::npos) << error->data;
}

TEST(Scaling, RedisOverTls) {
    const TestCertificates& certs = TestCertificates::get();
    RedisProcess redis(true, RedisProcess::Tls{certs.server.cert, certs.server.key, certs.ca});
    const std::string url =
        "rediss://localhost:" + std::to_string(redis.port()) + "?cafile=" + certs.ca;
    TwoServers cluster(url);
    auto [b1, b1_id] = cluster.join(cluster.b, cluster.handler_b);
    cluster.a->broadcast_text("encrypted");
    EXPECT_EQ(next_text(*b1), "encrypted");

    // Without the CA the certificate is refused, and said so.
    RecordingHandler handler;
    RunningServer untrusting(
        cluster_config("rediss://localhost:" + std::to_string(redis.port()), unique_prefix()),
        handler);
    const auto error = handler.wait(ServerEvent::error);
    ASSERT_TRUE(error);
    EXPECT_NE(error->data.find("certificate"), std::string::npos) << error->data;
    EXPECT_EQ(untrusting->stats().backplane_up, 0u);
}

} // namespace
} // namespace nexus::testing
