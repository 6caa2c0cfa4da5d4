package io.nexussocket;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** A server listening on a thread of its own, on loopback, port 0; waits are bounded. */
final class TestSupport implements AutoCloseable {
    static final long WAIT_MS = 10_000;

    final WebSocket server;
    final Thread thread;
    final AtomicReference<Throwable> failure = new AtomicReference<>();

    TestSupport(WebSocket server) {
        this.server = server;
        server.start();
        thread = new Thread(() -> {
            try {
                server.listen();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "nexus-listen");
        thread.start();
    }

    static TestSupport echo() {
        WebSocket server = new WebSocket("127.0.0.1", 0);
        server.on("message", (id, msg, client) -> client.send(msg));
        return new TestSupport(server);
    }

    String url() {
        return "ws://127.0.0.1:" + server.port() + "/";
    }

    /** Stops, waits (bounded) for listen() to return, frees. */
    @Override
    public void close() {
        server.stop();
        try {
            thread.join(WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertTrue(!thread.isAlive(), "listen() did not return after stop()");
        server.close();
    }

    static void await(CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(WAIT_MS, TimeUnit.MILLISECONDS), "timed out waiting");
    }

    static <T> T take(BlockingQueue<T> queue) throws InterruptedException {
        T value = queue.poll(WAIT_MS, TimeUnit.MILLISECONDS);
        if (value == null) {
            fail("timed out waiting for an event");
        }
        return value;
    }
}
