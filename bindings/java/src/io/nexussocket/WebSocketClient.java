package io.nexussocket;

import io.nexussocket.internal.NexusNative;
import io.nexussocket.internal.NxWsClient;
import io.nexussocket.internal.NxWsClientOptions;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;

/**
 * A WebSocket client (ws:// and wss://).
 *
 * <pre>{@code
 * try (WebSocketClient ws = WebSocketClient.connect("ws://127.0.0.1:8080/")) {
 *     ws.send("hello");
 *     Message reply = ws.receive(5000);
 * }
 * }</pre>
 *
 * <p>Threading: every method is synchronized on the client, so any thread may call any of them.
 * {@link #receive(long)} waits in slices of at most {@value #SLICE_MS} ms and lets other callers
 * (a send from another thread) in between. No finalizer: {@link #close()} frees the connection.
 */
public final class WebSocketClient implements AutoCloseable {
    static {
        Native.load();
    }

    static final int SLICE_MS = 20;

    private final NxWsClient client;
    private volatile java.util.function.Consumer<byte[]> onPong;
    private boolean freed;
    private int closeCode;
    private String closeReason = "";

    private WebSocketClient(NxWsClient client) {
        this.client = client;
    }

    /** Connects to a ws:// or wss:// URL (system CAs, host name checked; 10 s timeout). */
    public static WebSocketClient connect(String url) {
        return connect(url, Map.of(), -1);
    }

    /**
     * Connects with TLS options for wss:// ("verify_peer", "verify_peer_name",
     * "allow_self_signed", "cafile", "capath", "peer_name", "SNI_enabled", "local_cert",
     * "local_pk", "passphrase", "ciphers"; values as strings, "true"/"false" for flags).
     */
    public static WebSocketClient connect(String url, Map<String, String> tls) {
        return connect(url, tls, -1);
    }

    /**
     * Connects within {@code connectTimeoutMs} (DNS + TCP + TLS + handshake; negative: 10 s).
     * InvalidArgumentException (NX_EURL, NX_EINVAL for a TLS option), ConnectionException
     * (NX_EDNS, NX_EREFUSED, NX_EHANDSHAKE, NX_ETLS, NX_ECERT, ...), TimeoutException.
     */
    public static WebSocketClient connect(String url, Map<String, String> tls, int connectTimeoutMs) {
        Objects.requireNonNull(url);
        NxWsClientOptions o = new NxWsClientOptions();
        NxWsClient c;
        try {
            if (connectTimeoutMs >= 0) {
                o.setConnect_timeout_ms(connectTimeoutMs);
            }
            c = new NxWsClient(o);
        } finally {
            o.delete();
        }
        try {
            for (Map.Entry<String, String> e : tls.entrySet()) {
                c.set_tls_option(e.getKey(), e.getValue());
            }
            c.connect(url);
        } catch (RuntimeException e) {
            c.delete();
            throw e;
        }
        return new WebSocketClient(c);
    }

    /** Sends a text message. ConnectionException once closed. */
    public synchronized void send(String text) {
        ensureOpen();
        client.send(text.getBytes(StandardCharsets.UTF_8), NexusNative.NX_OPCODE_TEXT);
    }

    /** Sends a binary message (any bytes). ConnectionException once closed. */
    public synchronized void send(byte[] data) {
        Objects.requireNonNull(data);
        ensureOpen();
        client.send(data, NexusNative.NX_OPCODE_BINARY);
    }

    /**
     * Sends a ping with a payload of at most 125 bytes (InvalidArgumentException beyond); its
     * pong reaches the {@link #onPong} handler from within {@link #receive(long)}.
     * NexusException (NX_ESTATE) after {@link #close()}.
     */
    public synchronized void ping(byte[] data) {
        Objects.requireNonNull(data);
        ensureOpen();
        client.ping(data);
    }

    /**
     * Sets the handler of pongs (the payload of each), called from {@link #receive(long)} on
     * its thread; null: pongs are skipped.
     */
    public void onPong(java.util.function.Consumer<byte[]> handler) {
        onPong = handler;
    }

    /** Sends a message as it is (text as text, binary as binary). */
    public synchronized void send(Message message) {
        ensureOpen();
        client.send(message.raw(),
                message.isBinary() ? NexusNative.NX_OPCODE_BINARY : NexusNative.NX_OPCODE_TEXT);
    }

    /**
     * The next message, waiting at most {@code timeoutMs} (negative: without limit). Pings are
     * skipped (answered already); pongs go to the {@link #onPong} handler. TimeoutException (NX_ETIMEDOUT) when none
     * came in time; ConnectionException (NX_ECLOSED) when the server closed the connection
     * ({@link #closeCode()} says how).
     */
    public Message receive(long timeoutMs) {
        long deadline = timeoutMs < 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutMs * 1_000_000L;
        for (;;) {
            long left = timeoutMs < 0 ? SLICE_MS : (deadline - System.nanoTime()) / 1_000_000L;
            byte[] pong = null;
            synchronized (this) {
                ensureOpen();
                if (closeCode != 0) {
                    throw closed();
                }
                int kind = client.poll((int) Math.max(0, Math.min(left, SLICE_MS)));
                if (kind == NexusNative.NX_EVENT_MESSAGE) {
                    return new Message(client.event_data(),
                            client.event_opcode() == NexusNative.NX_OPCODE_BINARY, 0);
                }
                if (kind == NexusNative.NX_EVENT_DISCONNECT) {
                    closeCode = client.event_close_code();
                    closeReason = new String(client.event_data(), StandardCharsets.UTF_8);
                    throw closed();
                }
                if (kind == NexusNative.NX_EVENT_PONG) {
                    pong = client.event_data();
                }
            }
            java.util.function.Consumer<byte[]> handler = onPong;
            if (pong != null && handler != null) {
                handler.accept(pong); // outside the lock: it may send
            }
            if (timeoutMs >= 0 && System.nanoTime() - deadline >= 0) {
                throw new TimeoutException("no message within " + timeoutMs + " ms",
                        NexusNative.NX_ETIMEDOUT);
            }
        }
    }

    /** Whether the connection is open. */
    public synchronized boolean isOpen() {
        return !freed && closeCode == 0 && client.is_open();
    }

    /** The subprotocol the server chose ("" when none). */
    public synchronized String subprotocol() {
        ensureOpen();
        return client.subprotocol();
    }

    /** The close code once the connection ended (1005: none given, 1006: no close frame), else 0. */
    public synchronized int closeCode() {
        return closeCode;
    }

    /** The close reason once the connection ended ("" when none). */
    public synchronized String closeReason() {
        return closeReason;
    }

    /** Closes with 1000 (waiting up to 2 s for the server's answer) and frees the client. */
    @Override
    public void close() {
        close(1000, "");
    }

    /**
     * Closes with a code and reason: the close handshake (at most 2 s), then the client is
     * freed. Repeated calls do nothing. InvalidArgumentException for an invalid code or reason
     * (the client is freed anyway).
     */
    public synchronized void close(int code, String reason) {
        if (freed) {
            return;
        }
        try {
            if (closeCode == 0 && client.is_open()) {
                client.close(code, reason.getBytes(StandardCharsets.UTF_8));
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() - deadline < 0) {
                    int kind = client.poll(SLICE_MS);
                    if (kind == NexusNative.NX_EVENT_DISCONNECT) {
                        closeCode = client.event_close_code();
                        closeReason = new String(client.event_data(), StandardCharsets.UTF_8);
                        break;
                    }
                }
            }
        } catch (ConnectionException e) {
            // the connection was gone already
        } finally {
            freed = true;
            client.delete();
        }
    }

    private ConnectionException closed() {
        return new ConnectionException("the connection is closed (" + closeCode
                + (closeReason.isEmpty() ? "" : " " + closeReason) + ")", NexusNative.NX_ECLOSED);
    }

    private void ensureOpen() {
        if (freed) {
            throw new NexusException("the client is closed", NexusNative.NX_ESTATE);
        }
    }
}
