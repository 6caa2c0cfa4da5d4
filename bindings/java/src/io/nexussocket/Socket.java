package io.nexussocket;

import io.nexussocket.internal.NexusNative;
import io.nexussocket.internal.NxSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;

/**
 * A plain socket: TCP, TLS over TCP, or UDP (the C API's nx_socket). Every call returns within
 * its timeout in ms (negative: the socket's default, the "timeout" option, 30 s unless set).
 * Every method is synchronized: one call at a time, from any thread. No finalizer: close it.
 */
public final class Socket implements AutoCloseable {
    static {
        Native.load();
    }

    /** The socket's kind. */
    public enum Type {
        TCP, TLS, UDP;

        int code() {
            return switch (this) {
                case TCP -> NexusNative.NX_SOCKET_TCP;
                case TLS -> NexusNative.NX_SOCKET_TLS;
                case UDP -> NexusNative.NX_SOCKET_UDP;
            };
        }
    }

    /** A datagram and its sender ("ip:port"). */
    public record Datagram(byte[] data, String sender) {}

    private final NxSocket socket;
    private boolean freed;

    /** An unconnected socket of this type. */
    public Socket(Type type) {
        this(new NxSocket(type.code()));
    }

    Socket(NxSocket socket) {
        this.socket = socket;
    }

    /** A connected socket (TLS: handshake and verification done). */
    public static Socket connect(Type type, String host, int port, Map<String, String> options,
            int timeoutMs) {
        Socket s = new Socket(type);
        try {
            for (Map.Entry<String, String> e : options.entrySet()) {
                s.setOption(e.getKey(), e.getValue());
            }
            s.connect(host, port, timeoutMs);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Sets an option: the TLS options of PHP's ssl context (verify_peer, cafile, peer_name, ...)
     * or "timeout" (seconds), "tcp_nodelay", "keepalive", "rcvbuf", "sndbuf", "broadcast".
     */
    public synchronized void setOption(String name, String value) {
        ensureOpen();
        socket.set_option(name, value);
    }

    /** Connects (TCP/TLS), or sets the peer of a UDP socket. */
    public synchronized void connect(String host, int port, int timeoutMs) {
        ensureOpen();
        socket.connect(host, port, timeoutMs);
    }

    /** Writes bytes; returns how many went out (fewer when the deadline passed). */
    public synchronized int send(byte[] data, int timeoutMs) {
        Objects.requireNonNull(data);
        ensureOpen();
        return socket.send(data, timeoutMs);
    }

    /** Writes text as UTF-8; returns the bytes written. */
    public int send(String text, int timeoutMs) {
        return send(text.getBytes(StandardCharsets.UTF_8), timeoutMs);
    }

    /**
     * At most {@code max} bytes, what came first; an empty array at the end of the stream.
     * TimeoutException when nothing came in time.
     */
    public synchronized byte[] receive(int max, int timeoutMs) {
        ensureOpen();
        return socket.receive(max, timeoutMs);
    }

    /**
     * One line with its "\n" (at the end of the stream the unterminated rest), decoded as UTF-8;
     * null once the stream has ended. InvalidArgumentException (NX_ETOOBIG) when {@code max}
     * bytes hold no line; TimeoutException.
     */
    public synchronized String readLine(int max, int timeoutMs) {
        ensureOpen();
        byte[] line = socket.read_line(max, timeoutMs);
        return line == null ? null : new String(line, StandardCharsets.UTF_8);
    }

    /** Everything until the peer closes (at most {@code max} bytes). */
    public synchronized byte[] readAll(int max, int timeoutMs) {
        ensureOpen();
        return socket.read_all(max, timeoutMs);
    }

    /** STARTTLS with the TLS options set on this socket. */
    public synchronized void startTls(boolean serverSide, int timeoutMs) {
        ensureOpen();
        socket.start_tls(serverSide ? 1 : 0, timeoutMs);
    }

    /** UDP: binds to a local address (port 0 picks one; see {@link #localAddress()}). */
    public synchronized void bind(String host, int port) {
        ensureOpen();
        socket.bind(host, port);
    }

    /** UDP: one datagram to host:port; returns the bytes sent. */
    public synchronized int sendTo(String host, int port, byte[] data, int timeoutMs) {
        ensureOpen();
        return socket.send_to(host, port, data, timeoutMs);
    }

    /** UDP: the next datagram (truncated to {@code max}) and its sender. */
    public synchronized Datagram receiveFrom(int max, int timeoutMs) {
        ensureOpen();
        byte[] data = socket.receive_from(max, timeoutMs);
        return new Datagram(data, socket.last_sender());
    }

    /** Whether the socket is connected. */
    public synchronized boolean isConnected() {
        return !freed && socket.is_connected();
    }

    /** The peer's address "ip:port" ("" when none). */
    public synchronized String peerAddress() {
        ensureOpen();
        return socket.peer_address();
    }

    /** The local address "ip:port" ("" when none). */
    public synchronized String localAddress() {
        ensureOpen();
        return socket.local_address();
    }

    /** Closes and frees the socket; repeated calls do nothing. */
    @Override
    public synchronized void close() {
        if (!freed) {
            freed = true;
            socket.delete();
        }
    }

    private void ensureOpen() {
        if (freed) {
            throw new NexusException("the socket is closed", NexusNative.NX_ESTATE);
        }
    }
}
