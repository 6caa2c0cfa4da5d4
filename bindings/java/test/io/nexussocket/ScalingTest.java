package io.nexussocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nexussocket.internal.NexusNative;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Scaling: two servers in this JVM share clients through a redis-server of the test's own
 * ({@link RedisServer}); the JDK's java.net.http.WebSocket is the client.
 */
@Timeout(120)
class ScalingTest {
    /** Client ids carry their server's node id above bit 40 (io/src/cluster_codec.hpp). */
    static final int NODE_SHIFT = 40;

    /** A server of a test cluster; its connected ids arrive in {@code connected}. */
    static final class Member implements AutoCloseable {
        final WebSocket server;
        final BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        final BlockingQueue<Long> left = new LinkedBlockingQueue<>();
        final BlockingQueue<String> errors = new LinkedBlockingQueue<>();
        final TestSupport running;

        Member(String redisUrl, String prefix) {
            server = new WebSocket(new WebSocket.Options().host("127.0.0.1").port(0)
                    .closeTimeoutMs(2000).redis(redisUrl).scalingPrefix(prefix)
                    .scalingLeaseMs(1500).scalingTimeoutMs(1000));
            server.on("connect", (id, msg, client) -> connected.add(id));
            server.on("disconnect", (id, msg, client) -> left.add(id));
            server.on("error", (id, msg, client) -> {
                if (id == 0) {
                    errors.add(msg.text());
                }
            });
            running = new TestSupport(server);
        }

        /** A JDK client connected to this server, and its id here. */
        Joined join(String path) throws Exception {
            JdkClientTest.Collector collector = new JdkClientTest.Collector();
            java.net.http.WebSocket ws = JdkClientTest.open(
                    "ws://127.0.0.1:" + server.port() + path, collector);
            return new Joined(ws, collector, TestSupport.take(connected));
        }

        @Override
        public void close() {
            running.close();
        }
    }

    record Joined(java.net.http.WebSocket ws, JdkClientTest.Collector collector, long id) {
        Object next() throws InterruptedException {
            return TestSupport.take(collector.events);
        }
    }

    static String uniquePrefix() {
        return "javatest" + ThreadLocalRandom.current().nextInt(1_000_000_000);
    }

    /** Polls every 20 ms until the condition holds or 15 s passed. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }

    /**
     * Waits until {@code from} reaches {@code to}: its link to Redis is up and it knows to's node
     * (a send to an absent client there is then handed to Redis).
     */
    static void link(WebSocket from, WebSocket to) throws InterruptedException {
        long absent = (to.nodeId() << NODE_SHIFT) | 0xFFFF_FFFFL;
        assertTrue(eventually(() -> {
            try {
                from.send(absent, "probe");
                return true;
            } catch (UnknownClientException | UnavailableException e) {
                return false;
            }
        }), "the servers did not see each other through Redis");
    }

    @Test
    void broadcastPublishSendAndDisconnectAcrossServers() throws Exception {
        String prefix = uniquePrefix();
        try (RedisServer redis = RedisServer.start();
                Member a = new Member(redis.url(), prefix);
                Member b = new Member(redis.url(), prefix)) {
            link(a.server, b.server);
            link(b.server, a.server);
            Joined a1 = a.join("/");
            Joined b1 = b.join("/");
            Joined b2 = b.join("/");
            assertEquals(a.server.nodeId(), a1.id() >>> NODE_SHIFT);
            assertEquals(b.server.nodeId(), b1.id() >>> NODE_SHIFT);

            // Broadcast: every client of both servers, once; the count is A's own.
            assertEquals(1, a.server.broadcast("hello all"));
            for (Joined c : new Joined[] {a1, b1, b2}) {
                assertEquals("hello all", c.next());
            }
            a.server.broadcast("not b1", b1.id());
            assertEquals("not b1", a1.next());
            assertEquals("not b1", b2.next()); // B has acted on it: b1 would have it first
            b.server.broadcast(new byte[] {0, 1, 2});
            for (Joined c : new Joined[] {a1, b1, b2}) {
                assertArrayEquals(new byte[] {0, 1, 2}, (byte[]) c.next());
            }

            // Send to a client of the other server, both ways.
            a.server.send(b1.id(), "for b1 only");
            assertEquals("for b1 only", b1.next());
            b.server.send(a1.id(), new byte[] {9, 0, 9});
            assertArrayEquals(new byte[] {9, 0, 9}, (byte[]) a1.next());

            // Publish reaches the subscribers of every server, and only them.
            a.server.subscribe(a1.id(), "news");
            b.server.subscribe(b1.id(), "news");
            assertEquals(1, a.server.publish("news", "extra"));
            assertEquals("extra", a1.next());
            assertEquals("extra", b1.next()); // B has acted on it: b2 would have it first
            b.server.broadcast("marker", b1.id());
            assertEquals("marker", b2.next());
            assertEquals("marker", a1.next());

            // A client sends to its server, which passes it on to one on the other.
            b.server.on("message", (id, msg, client) -> b.server.send(a1.id(), "relayed " + msg.text()));
            b2.ws().sendText("psst", true).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertEquals("relayed psst", a1.next());

            // Disconnect a client of the other server.
            a.server.disconnect(b1.id(), 4001, "moved");
            assertEquals("close 4001 moved", b1.next());
            assertEquals(b1.id(), TestSupport.take(b.left));

            // A server that is not there: no such client.
            long nowhere = (4_000_000L << NODE_SHIFT) | 1;
            assertThrows(UnknownClientException.class, () -> a.server.send(nowhere, "x"));
            assertThrows(UnknownClientException.class, () -> a.server.disconnect(nowhere));

            assertTrue(eventually(() -> a.server.stats().remoteOut() >= 4
                    && b.server.stats().remoteIn() >= 4 && b.server.stats().remoteOut() >= 2
                    && a.server.stats().remoteIn() >= 2),
                    a.server.stats() + " / " + b.server.stats());
        }
    }

    @Test
    void clusterClientsAndClusterStatsCoverBothServers() throws Exception {
        String prefix = uniquePrefix();
        try (RedisServer redis = RedisServer.start();
                Member a = new Member(redis.url(), prefix);
                Member b = new Member(redis.url(), prefix)) {
            link(a.server, b.server);
            Joined a1 = a.join("/room");
            Joined b1 = b.join("/lobby");
            long[] expected = {Math.min(a1.id(), b1.id()), Math.max(a1.id(), b1.id())};

            assertTrue(eventually(() -> Arrays.equals(expected, a.server.clusterClients())),
                    Arrays.toString(a.server.clusterClients()));
            assertArrayEquals(expected, b.server.clusterClients());
            assertArrayEquals(new long[] {a1.id()}, a.server.clients()); // stays local
            assertTrue(a.server.peer(b1.id()).startsWith("127.0.0.1:"), a.server.peer(b1.id()));

            assertTrue(eventually(() -> {
                WebSocket.Stats total = b.server.clusterStats();
                return total.servers() == 2 && total.clients() == 2;
            }), b.server.clusterStats().toString());
            WebSocket.Stats total = a.server.clusterStats();
            assertEquals(2, total.backplaneUp(), total.toString());
            assertEquals(2, total.connectionsTotal(), total.toString());
            WebSocket.Stats own = a.server.stats();
            assertEquals(1, own.servers(), own.toString());
            assertEquals(1, own.clients(), own.toString());
            assertEquals(1, own.backplaneUp(), own.toString());
            assertNotEquals(0, a.server.nodeId());
            assertNotEquals(a.server.nodeId(), b.server.nodeId());

            // A client that leaves leaves presence; a server that stops leaves at once.
            b1.ws().sendClose(1000, "").get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            TestSupport.take(b.left);
            assertTrue(eventually(() -> a.server.clusterClients().length == 1));
            b.close();
            assertTrue(eventually(() -> a.server.clusterStats().servers() == 1));
        }
    }

    @Test
    void withoutScalingTheClusterIsThisServer() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> connected.add(id));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            long id = TestSupport.take(connected);
            assertArrayEquals(new long[] {id}, server.clusterClients());
            assertEquals(1, server.clusterStats().servers());
            assertEquals(0, server.clusterStats().remoteOut());
            assertEquals(0, server.nodeId());
        }
    }

    @Test
    void badScalingOptionsAreRefused() {
        for (WebSocket.Options o : new WebSocket.Options[] {
                new WebSocket.Options().redis("http://127.0.0.1/"),
                new WebSocket.Options().redis("redis://127.0.0.1").scalingLeaseMs(100),
                new WebSocket.Options().redis("redis://127.0.0.1").scalingTimeoutMs(0),
                new WebSocket.Options().redis("redis://127.0.0.1").scalingPrefix("a b"),
                new WebSocket.Options().redis("redis://127.0.0.1").scalingLeaseMs(1L << 32)}) {
            assertThrows(InvalidArgumentException.class, () -> new WebSocket(o).close());
        }
    }

    @Test
    void redisDownAtStartLocalClientsAreServed() throws Exception {
        int port = RedisServer.freePort(); // nothing listens there yet
        WebSocket server = new WebSocket(new WebSocket.Options().host("127.0.0.1").port(0)
                .closeTimeoutMs(2000).redis("redis://127.0.0.1:" + port)
                .scalingPrefix(uniquePrefix()).scalingLeaseMs(1500).scalingTimeoutMs(1000));
        BlockingQueue<String> errors = new LinkedBlockingQueue<>();
        server.on("error", (id, msg, client) -> errors.add(id + " " + msg.text()));
        server.on("message", (id, msg, client) -> client.send(msg));
        try (TestSupport s = new TestSupport(server)) {
            String error = TestSupport.take(errors);
            assertTrue(error.startsWith("0 ") && error.toLowerCase().contains("redis")
                    && error.contains(String.valueOf(port)), error);

            JdkClientTest.Collector collector = new JdkClientTest.Collector();
            java.net.http.WebSocket ws = JdkClientTest.open(s.url(), collector);
            ws.sendBinary(ByteBuffer.wrap(new byte[] {1, 2}), true)
                    .get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertArrayEquals(new byte[] {1, 2}, (byte[]) TestSupport.take(collector.events));
            assertEquals(1, server.broadcast("lonely"));
            assertEquals("lonely", TestSupport.take(collector.events));
            WebSocket.Stats stats = server.stats();
            assertTrue(stats.remoteDropped() >= 1 && stats.backplaneUp() == 0
                    && stats.backplaneErrors() >= 1, stats.toString());

            long elsewhere = ((server.nodeId() + 1) << NODE_SHIFT) | 1;
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> server.send(elsewhere, "x"));
            assertEquals(NexusNative.NX_EUNAVAILABLE, e.status());
            assertThrows(UnavailableException.class, () -> server.disconnect(elsewhere));
            assertThrows(ConnectionException.class, server::clusterClients);
            assertThrows(ConnectionException.class, server::clusterStats);

            // Redis comes: the server links up by itself.
            try (RedisServer redis = RedisServer.start(port)) {
                assertTrue(eventually(() -> server.stats().backplaneUp() == 1), redis.log());
                assertEquals(1, server.clusterClients().length);
            }
        }
    }
}
