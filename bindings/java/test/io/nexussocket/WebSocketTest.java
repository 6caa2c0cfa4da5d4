package io.nexussocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class WebSocketTest {
    @Test
    void userDataAndTheUpgradeRequestStayWithTheClient() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        server.on("connect", (id, msg, client) ->
                client.setUserData(("user of " + client.path() + "?" + client.query())
                        .getBytes(StandardCharsets.UTF_8)));
        server.on("message", (id, msg, client) ->
                client.send(new String(client.userData(), StandardCharsets.UTF_8) + " / origin '"
                        + client.origin() + "' / host " + (client.header("HOST") != null)));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient c = WebSocketClient.connect(s.url() + "room?name=ada")) {
            c.send("who am I?");
            assertEquals("user of /room?name=ada / origin '' / host true",
                    c.receive(TestSupport.WAIT_MS).text());
            long id = server.clients()[0];
            assertNull(server.header(id, "X-Not-Sent"));
            server.setUserData(id, new byte[0]);
            assertArrayEquals(new byte[0], server.userData(id));
            assertThrows(InvalidArgumentException.class,
                    () -> server.setUserData(id, new byte[64 * 1024 + 1]));
            assertThrows(UnknownClientException.class, () -> server.setUserData(id + 1000, new byte[1]));
            assertThrows(UnknownClientException.class, () -> server.userData(id + 1000));
        }
    }

    @Test
    void echoesTextAndBinaryBinarySafe() throws Exception {
        try (TestSupport s = TestSupport.echo();
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            c.send("héllo \u0000 wörld");
            Message text = c.receive(TestSupport.WAIT_MS);
            assertTrue(text.isText());
            assertEquals("héllo \u0000 wörld", text.text());

            byte[] bytes = new byte[256];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) i;
            }
            c.send(bytes);
            Message binary = c.receive(TestSupport.WAIT_MS);
            assertTrue(binary.isBinary());
            assertArrayEquals(bytes, binary.bytes());

            c.send(new byte[0]);
            assertEquals(0, c.receive(TestSupport.WAIT_MS).size());
        }
    }

    @Test
    void channelsReachTheirSubscribersAndStatsCount() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> connected.add(id));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient a = WebSocketClient.connect(s.url());
                WebSocketClient b = WebSocketClient.connect(s.url())) {
            long first = TestSupport.take(connected);
            TestSupport.take(connected);
            server.subscribe(first, "news");
            assertEquals(1, server.publish("news", "for news readers"));
            assertEquals("for news readers", a.receive(TestSupport.WAIT_MS).text());
            assertEquals(1, server.publish("news", new byte[] {1, 0, 2}));
            assertArrayEquals(new byte[] {1, 0, 2}, a.receive(TestSupport.WAIT_MS).bytes());
            server.unsubscribe(first, "news");
            assertEquals(0, server.publish("news", "nobody"));
            assertThrows(InvalidArgumentException.class, () -> server.subscribe(first, ""));
            assertThrows(UnknownClientException.class, () -> server.subscribe(987654321L, "news"));

            b.send("counted");
            assertEquals(1, server.broadcast("marker", first));
            assertEquals("marker", b.receive(TestSupport.WAIT_MS).text());
            WebSocket.Stats stats = server.stats();
            assertEquals(2, stats.clients());
            assertEquals(2, stats.connectionsTotal());
            assertTrue(stats.messagesOut() >= 3, stats.toString());
            assertTrue(stats.bytesOut() >= "for news readers".length() + 3, stats.toString());
        }
    }

    @Test
    void connectMessageDisconnectListenersAndClientQueries() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        AtomicReference<String> peer = new AtomicReference<>();
        server.on("connect", (id, msg, client) -> {
            peer.set(client.peer());
            events.add("connect " + id);
        });
        server.on("message", (id, msg, client) -> events.add("message " + id + " " + msg.text()));
        server.on("disconnect", (id, msg, client) ->
                events.add("disconnect " + id + " " + msg.closeCode() + " " + msg.text()));
        try (TestSupport s = new TestSupport(server)) {
            WebSocketClient c = WebSocketClient.connect(s.url());
            String connect = TestSupport.take(events);
            long id = Long.parseLong(connect.substring("connect ".length()));
            assertTrue(id > 0);
            assertTrue(peer.get().startsWith("127.0.0.1:"), peer.get());
            assertArrayEquals(new long[] {id}, server.clients());
            assertEquals(1, server.clientCount());
            assertEquals("", c.subprotocol());
            assertTrue(c.isOpen());

            c.send("hi");
            assertEquals("message " + id + " hi", TestSupport.take(events));
            c.close(4001, "done");
            assertFalse(c.isOpen());
            assertEquals("disconnect " + id + " 4001 done", TestSupport.take(events));
            c.close(); // again: nothing
            assertEquals(0, server.clientCount());
        }
    }

    @Test
    void broadcastReachesAllButTheExcluded() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> connected.add(id));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient a = WebSocketClient.connect(s.url());
                WebSocketClient b = WebSocketClient.connect(s.url())) {
            long idA = TestSupport.take(connected);
            TestSupport.take(connected);

            assertEquals(1, server.broadcast("not for a", idA));
            assertEquals("not for a", b.receive(TestSupport.WAIT_MS).text());

            assertEquals(2, server.broadcast(new byte[] {0, 1, 0}));
            assertArrayEquals(new byte[] {0, 1, 0}, a.receive(TestSupport.WAIT_MS).bytes());
            assertArrayEquals(new byte[] {0, 1, 0}, b.receive(TestSupport.WAIT_MS).bytes());

            assertEquals(2, server.broadcast("all"));
            // a got nothing from the excluded broadcast: its next message is the last one
            assertEquals("all", a.receive(TestSupport.WAIT_MS).text());
            assertEquals("all", b.receive(TestSupport.WAIT_MS).text());
        }
    }

    @Test
    void serverSendAndDisconnectFromAnotherThread() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> connected.add(id));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            long id = TestSupport.take(connected);
            server.send(id, "text");
            server.send(id, new byte[] {1, 2, 3});
            assertEquals("text", c.receive(TestSupport.WAIT_MS).text());
            assertArrayEquals(new byte[] {1, 2, 3}, c.receive(TestSupport.WAIT_MS).bytes());

            server.disconnect(id, 4000, "bye");
            ConnectionException e = assertThrows(ConnectionException.class,
                    () -> c.receive(TestSupport.WAIT_MS));
            assertEquals(-16, e.status());
            assertEquals(4000, c.closeCode());
            assertEquals("bye", c.closeReason());
            assertFalse(c.isOpen());
        }
    }

    @Test
    void errorsCarryTheirStatus() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> connected.add(id));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            long id = TestSupport.take(connected);
            assertTrue(c.isOpen());
            UnknownClientException unknown =
                    assertThrows(UnknownClientException.class, () -> server.send(id + 1000, "x"));
            assertEquals(-4, unknown.status());
            assertInstanceOf(NexusException.class, unknown);
            assertTrue(unknown.getMessage().length() > 0);
            assertThrows(UnknownClientException.class, () -> server.peer(id + 1000));

            InvalidArgumentException code = assertThrows(InvalidArgumentException.class,
                    () -> server.disconnect(id, 999, ""));
            assertEquals(-1, code.status());
            assertThrows(InvalidArgumentException.class, () -> server.on("bogus", (i, m, cl) -> { }));

            // the port is taken
            try (WebSocket second = new WebSocket("127.0.0.1", server.port())) {
                NexusException bind = assertThrows(NexusException.class, second::start);
                assertEquals(-9, bind.status());
            }
            // another listen() while one runs
            assertEquals(-3, assertThrows(NexusException.class, server::listen).status());
        }
        // after close
        NexusException closed = assertThrows(NexusException.class, () -> server.send(1, "x"));
        assertEquals(-3, closed.status());
        server.close(); // again: nothing
    }

    @Test
    void invalidOptionsAndTlsConfiguration() {
        InvalidArgumentException bad = assertThrows(InvalidArgumentException.class,
                () -> new WebSocket("127.0.0.1", 70000));
        assertEquals(-1, bad.status());
        assertThrows(InvalidArgumentException.class,
                () -> new WebSocket("127.0.0.1", 0, java.util.Map.of("no_such_option", "1")));
        try (WebSocket tls = new WebSocket("127.0.0.1", 0,
                java.util.Map.of("local_cert", "/nonexistent/cert.pem"))) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, tls::start);
            assertEquals(-21, e.status());
        }
    }

    @Test
    void stopFromAListenerEndsListen() throws Exception {
        // the client does not poll while the server stops: a short close bound
        WebSocket server = new WebSocket(new WebSocket.Options().host("127.0.0.1").port(0).closeTimeoutMs(300));
        BlockingQueue<String> disconnects = new LinkedBlockingQueue<>();
        server.on("message", (id, msg, client) -> {
            if (msg.text().equals("stop")) {
                client.server().stop();
            }
        });
        server.on("disconnect", (id, msg, client) -> disconnects.add(id + " " + msg.closeCode()));
        server.start();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                server.listen();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        try (WebSocketClient c = WebSocketClient.connect("ws://127.0.0.1:" + server.port() + "/")) {
            c.send("stop");
            t.join(TestSupport.WAIT_MS);
            assertFalse(t.isAlive());
            assertNull(failure.get());
            assertTrue(TestSupport.take(disconnects).endsWith(" 1001"));
            assertThrows(ConnectionException.class, () -> c.receive(TestSupport.WAIT_MS));
            assertEquals(1001, c.closeCode());
        } finally {
            server.close();
        }
    }

    @Test
    void aListenersExceptionStopsTheServerAndIsThrownFromListen() throws Exception {
        // the client does not poll while the server stops: a short close bound
        WebSocket server = new WebSocket(new WebSocket.Options().host("127.0.0.1").port(0).closeTimeoutMs(300));
        server.on("message", (id, msg, client) -> {
            throw new IllegalStateException("boom: " + msg.text());
        });
        server.start();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                server.listen();
            } catch (Throwable e) {
                failure.set(e);
            }
            done.countDown();
        });
        t.start();
        try (WebSocketClient c = WebSocketClient.connect("ws://127.0.0.1:" + server.port() + "/")) {
            c.send("x");
            TestSupport.await(done);
            assertInstanceOf(IllegalStateException.class, failure.get());
            assertEquals("boom: x", failure.get().getMessage());
        } finally {
            server.close();
        }
    }

    @Test
    void closeFromAnotherThreadWhileListening() throws Exception {
        // the client does not poll while the server stops: a short close bound
        WebSocket server = new WebSocket(new WebSocket.Options().host("127.0.0.1").port(0).closeTimeoutMs(300));
        TestSupport s = new TestSupport(server);
        try (WebSocketClient c = WebSocketClient.connect(s.url())) {
            server.close(); // stops, waits for listen() to return, frees
            s.thread.join(TestSupport.WAIT_MS);
            assertFalse(s.thread.isAlive());
            assertNull(s.failure.get());
            assertThrows(ConnectionException.class, () -> c.receive(TestSupport.WAIT_MS));
        }
    }

    @Test
    void concurrentSendsFromSeveralThreads() throws Exception {
        final int threads = 4;
        final int perThread = 250;
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<Long> connected = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> connected.add(id));
        try (TestSupport s = new TestSupport(server);
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            long id = TestSupport.take(connected);
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> senders = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int t = 0; t < threads; t++) {
                final int n = t;
                Thread sender = new Thread(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < perThread; i++) {
                            if (i % 2 == 0) {
                                server.send(id, n + ":" + i);
                            } else {
                                server.send(id, (n + ":" + i).getBytes(StandardCharsets.UTF_8));
                            }
                        }
                        // the clients' own sends, too: the client is shared as well
                        c.send("from " + n);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                senders.add(sender);
                sender.start();
            }
            go.countDown();
            int[] next = new int[threads];
            for (int k = 0; k < threads * perThread; k++) {
                Message m = c.receive(TestSupport.WAIT_MS);
                String[] parts = m.text().split(":");
                int n = Integer.parseInt(parts[0]);
                int i = Integer.parseInt(parts[1]);
                assertEquals(next[n], i, "order of thread " + n);
                assertEquals(i % 2 == 1, m.isBinary());
                next[n]++;
            }
            for (Thread sender : senders) {
                sender.join(TestSupport.WAIT_MS);
                assertFalse(sender.isAlive());
            }
            assertNull(failure.get());
        }
    }
}
