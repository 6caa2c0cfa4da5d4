package io.nexussocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The JDK's own java.net.http.WebSocket as an independent client against our server. */
@Timeout(60)
class JdkClientTest {
    /** Collects whole messages (text as String, binary as byte[]) and the close. */
    static final class Collector implements java.net.http.WebSocket.Listener {
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private final StringBuilder text = new StringBuilder();
        private final java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(java.net.http.WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                events.add(text.toString());
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(java.net.http.WebSocket ws, ByteBuffer data, boolean last) {
            byte[] chunk = new byte[data.remaining()];
            data.get(chunk);
            binary.writeBytes(chunk);
            if (last) {
                events.add(binary.toByteArray());
                binary.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(java.net.http.WebSocket ws, int code, String reason) {
            events.add("close " + code + " " + reason);
            return null;
        }
    }

    static java.net.http.WebSocket open(String url, Collector collector) throws Exception {
        return HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create(url), collector).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
    }

    static java.net.http.WebSocket open(String url, String authorization, Collector collector)
            throws Exception {
        return HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Authorization", authorization)
                .buildAsync(URI.create(url), collector).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
    }

    static int refusedStatus(ThrowingSupplier open) {
        ExecutionException e = assertThrows(ExecutionException.class, open::get);
        return assertInstanceOf(WebSocketHandshakeException.class, e.getCause())
                .getResponse().statusCode();
    }

    interface ThrowingSupplier {
        Object get() throws Exception;
    }

    @Test
    void handshakeHandlerDecidesWhoComesIn() throws Exception {
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        WebSocket server = new WebSocket(new WebSocket.Options().host("127.0.0.1").port(0)
                .onHandshake(request -> {
                    if (request.path().equals("/boom")) {
                        throw new IllegalStateException("handler failed");
                    }
                    if (request.path().equals("/teapot")) {
                        throw new HandshakeRejectedException(418, "short and stout");
                    }
                    if (!"Bearer ok".equals(request.header("authorization"))) {
                        throw new HandshakeRejectedException(401, "who are you?");
                    }
                    events.add("decided " + request.path() + "?" + request.query());
                    request.setUserData("bearer".getBytes(StandardCharsets.UTF_8));
                }));
        server.on("connect", (id, msg, client) -> events.add("connect " + client.path() + " "
                + new String(client.userData(), StandardCharsets.UTF_8)));
        server.on("error", (id, msg, client) -> events.add("error " + msg.text()));
        server.on("message", (id, msg, client) -> client.send(msg));
        try (TestSupport s = new TestSupport(server)) {
            assertEquals(401, refusedStatus(() -> open(s.url(), new Collector())));
            assertEquals(401, refusedStatus(() -> open(s.url(), "Bearer no", new Collector())));
            assertEquals(500, refusedStatus(() -> open(s.url() + "boom", "Bearer ok", new Collector())));
            assertEquals("error handshake handler: java.lang.IllegalStateException: handler failed",
                    TestSupport.take(events));
            assertEquals(418, refusedStatus(() -> open(s.url() + "teapot", "Bearer ok", new Collector())));
            // A status that is no HTTP error cannot be made; 400 and 599 can.
            assertThrows(IllegalArgumentException.class, () -> new HandshakeRejectedException(399, ""));
            assertThrows(IllegalArgumentException.class, () -> new HandshakeRejectedException(600, ""));
            assertEquals(400, new HandshakeRejectedException(400, null).httpStatus());
            assertEquals(599, new HandshakeRejectedException(599, "x").httpStatus());

            Collector collector = new Collector();
            java.net.http.WebSocket ws = open(s.url() + "chat?room=1", "Bearer ok", collector);
            assertEquals("decided /chat?room=1", TestSupport.take(events));
            assertEquals("connect /chat bearer", TestSupport.take(events));
            ws.sendText("in", true).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertEquals("in", collector.events.poll(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS));
            assertEquals(4, server.stats().handshakesRejected());
        }
    }

    @Test
    void jdkClientAgainstOurServer() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        server.on("connect", (id, msg, client) -> events.add("connect"));
        server.on("message", (id, msg, client) -> client.send(msg));
        server.on("disconnect", (id, msg, client) -> events.add("disconnect " + msg.closeCode()));
        try (TestSupport s = new TestSupport(server)) {
            Collector collector = new Collector();
            java.net.http.WebSocket ws = open(s.url(), collector);
            assertEquals("connect", TestSupport.take(events));

            ws.sendText("grüße", true).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertEquals("grüße", TestSupport.take(collector.events));

            byte[] big = new byte[200_000];
            for (int i = 0; i < big.length; i++) {
                big[i] = (byte) (i * 31);
            }
            ws.sendBinary(ByteBuffer.wrap(big), true).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertArrayEquals(big, (byte[]) TestSupport.take(collector.events));

            assertEquals(1, server.broadcast("to all"));
            assertEquals("to all", TestSupport.take(collector.events));

            ws.sendClose(1000, "bye").get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertEquals("disconnect 1000", TestSupport.take(events));
            assertTrue(((String) TestSupport.take(collector.events)).startsWith("close 1000"));
        }
    }

    @Test
    void serverClosesTheJdkClient() throws Exception {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        server.on("message", (id, msg, client) -> client.disconnect(4002, "closing " + msg.text()));
        try (TestSupport s = new TestSupport(server)) {
            Collector collector = new Collector();
            java.net.http.WebSocket ws = open(s.url(), collector);
            ws.sendText("you", true).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertEquals("close 4002 closing you", TestSupport.take(collector.events));
        }
    }

    /** examples/java/EchoServer as a process of its own, with the JDK client. */
    @Test
    void echoExampleServes() throws Exception {
        String examples = System.getProperty("nexus.examples");
        assumeTrue(examples != null && new File(examples, "EchoServer.class").exists()
                && System.getProperty("nexus.jar") != null,
                "examples not built");
        String java = System.getProperty("java.home") + "/bin/java";
        Process p = new ProcessBuilder(java,
                "-Djava.library.path=" + System.getProperty("java.library.path"),
                "-cp", System.getProperty("nexus.jar") + File.pathSeparator + examples,
                "EchoServer", "--host", "127.0.0.1", "--port", "0")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine(); // "Echo server running on ws://127.0.0.1:PORT"
            assertNotNull(line);
            String url = line.substring(line.indexOf("ws://")) + "/";
            Collector collector = new Collector();
            java.net.http.WebSocket ws = open(url, collector);
            ws.sendText("echo me", true).get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            assertEquals("echo me", TestSupport.take(collector.events));
            ws.sendClose(1000, "").get(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
            TestSupport.take(collector.events);
        } finally {
            p.destroy(); // SIGTERM: the shutdown hook stops the server
            assertTrue(p.waitFor(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS));
        }
    }
}
