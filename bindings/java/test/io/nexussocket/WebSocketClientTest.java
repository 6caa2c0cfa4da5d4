package io.nexussocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class WebSocketClientTest {
    @Test
    void refusedAndMalformedUrls() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // nothing listens there once closed
        }
        ConnectionException refused = assertThrows(ConnectionException.class,
                () -> WebSocketClient.connect("ws://127.0.0.1:" + port + "/"));
        assertEquals(-12, refused.status());

        InvalidArgumentException url = assertThrows(InvalidArgumentException.class,
                () -> WebSocketClient.connect("http://127.0.0.1:" + port + "/"));
        assertEquals(-10, url.status());

        assertThrows(InvalidArgumentException.class,
                () -> WebSocketClient.connect("wss://127.0.0.1:1/", Map.of("no_such_option", "1")));
    }

    @Test
    void pingsComeBackAsPongs() throws Exception {
        try (TestSupport s = TestSupport.echo();
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            java.util.concurrent.BlockingQueue<String> pongs =
                    new java.util.concurrent.LinkedBlockingQueue<>();
            c.onPong(data -> pongs.add(new String(data, java.nio.charset.StandardCharsets.UTF_8)));
            c.ping("are you there".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            c.send("after the ping");
            // The server answers the ping before it echoes what came after it.
            assertEquals("after the ping", c.receive(TestSupport.WAIT_MS).text());
            assertEquals("are you there", pongs.poll());
            assertThrows(InvalidArgumentException.class, () -> c.ping(new byte[126]));
            c.close();
            NexusException closed = assertThrows(NexusException.class, () -> c.ping(new byte[0]));
            assertEquals(io.nexussocket.internal.NexusNative.NX_ESTATE, closed.status());
        }
    }

    @Test
    void receiveTimesOut() throws Exception {
        try (TestSupport s = TestSupport.echo();
                WebSocketClient c = WebSocketClient.connect(s.url())) {
            long start = System.nanoTime();
            TimeoutException e = assertThrows(TimeoutException.class, () -> c.receive(100));
            assertEquals(-8, e.status());
            assertTrue(System.nanoTime() - start >= 90_000_000L);
            assertTrue(c.isOpen());
            c.send("still there");
            assertEquals("still there", c.receive(TestSupport.WAIT_MS).text());
        }
    }

    @Test
    void closedClientRefusesCalls() throws Exception {
        try (TestSupport s = TestSupport.echo()) {
            WebSocketClient c = WebSocketClient.connect(s.url());
            c.close();
            assertEquals(1000, c.closeCode());
            assertEquals(-3, assertThrows(NexusException.class, () -> c.send("x")).status());
            assertEquals(-3, assertThrows(NexusException.class, () -> c.receive(0)).status());
        }
    }

    /** A self-signed certificate for localhost / 127.0.0.1 (openssl CLI; skipped without it). */
    private static Path[] certificate(Path dir) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p;
        try {
            p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key.toString(), "-out", cert.toString(), "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile())
                    .start();
        } catch (IOException e) {
            assumeTrue(false, "openssl not available: " + e.getMessage());
            return null;
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assumeTrue(p.exitValue() == 0 && Files.exists(cert), "openssl req failed");
        return new Path[] {cert, key};
    }

    @Test
    void wssWithTlsOptions(@TempDir Path dir) throws Exception {
        Path[] pem = certificate(dir);
        WebSocket server = new WebSocket("127.0.0.1", 0,
                Map.of("local_cert", pem[0].toString(), "local_pk", pem[1].toString()));
        server.on("message", (id, msg, client) -> client.send(msg));
        try (TestSupport s = new TestSupport(server)) {
            String url = "wss://127.0.0.1:" + server.port() + "/";
            try (WebSocketClient c = WebSocketClient.connect(url, Map.of("cafile", pem[0].toString()))) {
                c.send("secure");
                assertEquals("secure", c.receive(TestSupport.WAIT_MS).text());
                c.send(new byte[] {0, 0, 7});
                assertEquals(3, c.receive(TestSupport.WAIT_MS).size());
            }
            // the system's CAs do not know the certificate
            ConnectionException refused = assertThrows(ConnectionException.class,
                    () -> WebSocketClient.connect(url, Map.of(), 5000));
            assertTrue(refused.status() == -18 || refused.status() == -17, "status " + refused.status());
            // a name the certificate does not carry
            ConnectionException name = assertThrows(ConnectionException.class,
                    () -> WebSocketClient.connect(url,
                            Map.of("cafile", pem[0].toString(), "peer_name", "example.org"), 5000));
            assertTrue(name.status() == -18 || name.status() == -17, "status " + name.status());
        }
    }
}
