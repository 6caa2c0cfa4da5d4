package io.nexussocket;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A redis-server of the test's own (Debian's redis-server) on a free loopback port, in memory
 * only; {@link #close()} kills it (tests/io/redis_fixture.hpp does the same for the C++ tests).
 * Started through {@code setpriv --pdeathsig KILL} when there is one, so that it dies with this
 * JVM even when the JVM is killed before close() runs.
 */
final class RedisServer implements AutoCloseable {
    final int port;
    private final Process process;
    private final Path dir;
    private final StringBuffer output = new StringBuffer();

    private RedisServer(int port) throws IOException, InterruptedException {
        this.port = port;
        dir = Files.createTempDirectory("nexus-redis");
        List<String> command = new ArrayList<>();
        if (new File("/usr/bin/setpriv").canExecute()) {
            command.addAll(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "--"));
        }
        command.addAll(List.of("redis-server", "--bind", "127.0.0.1", "--port", String.valueOf(port),
                "--save", "", "--appendonly", "no", "--dir", dir.toString()));
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            delete(dir);
            throw new IOException("the scaling tests need redis-server (Debian package "
                    + "redis-server): " + e.getMessage(), e);
        }
        CountDownLatch ready = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            // Read to the end, so that the server never blocks on its log.
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null;) {
                    output.append(line).append('\n');
                    if (line.contains("Ready to accept connections")) {
                        ready.countDown();
                    }
                }
            } catch (IOException e) {
                // the process is gone
            }
        }, "redis-output");
        reader.setDaemon(true);
        reader.start();
        if (!ready.await(20, TimeUnit.SECONDS)) {
            close();
            throw new IllegalStateException("redis-server was not ready within 20 s:\n" + output);
        }
    }

    /** A redis-server on a free port. */
    static RedisServer start() throws IOException, InterruptedException {
        return new RedisServer(freePort());
    }

    /** A redis-server on {@code port} (which nothing may listen on). */
    static RedisServer start(int port) throws IOException, InterruptedException {
        return new RedisServer(port);
    }

    /** A loopback port nothing listens on now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    String url() {
        return "redis://127.0.0.1:" + port;
    }

    String log() {
        return output.toString();
    }

    /** SIGKILL, then waits for the process to end. */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(TestSupport.WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        delete(dir);
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
