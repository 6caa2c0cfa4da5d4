package io.nexussocket;

import io.nexussocket.internal.NexusNative;
import io.nexussocket.internal.NxSocket;
import io.nexussocket.internal.NxSocketServer;

/**
 * A listening TCP or TLS server (the C API's nx_socket_server); a UDP "server" is a
 * {@link Socket} with {@link Socket#bind}. Every method is synchronized. No finalizer: close it.
 */
public final class SocketServer implements AutoCloseable {
    static {
        Native.load();
    }

    private final NxSocketServer server;
    private boolean freed;

    /** A server of type TCP or TLS (UDP: InvalidArgumentException). */
    public SocketServer(Socket.Type type) {
        server = new NxSocketServer(type.code());
    }

    /**
     * Before listen: TLS options (a TLS server needs "local_cert" and "local_pk"), "backlog",
     * "handshake_timeout", "timeout" (for accepted sockets), "sni:HOST".
     */
    public synchronized void setOption(String name, String value) {
        ensureOpen();
        server.set_option(name, value);
    }

    /** Binds and listens (port 0 picks a free port: see {@link #port()}). */
    public synchronized void listen(String host, int port) {
        ensureOpen();
        server.listen(host, port);
    }

    /** The bound port. */
    public synchronized int port() {
        ensureOpen();
        return server.port();
    }

    /**
     * The next connected client, or null when none came within {@code timeoutMs} (>= 0).
     * ConnectionException (NX_ETLS, NX_ECERT) when a client failed its TLS handshake; the server
     * stays usable. The caller closes the returned socket.
     */
    public synchronized Socket accept(int timeoutMs) {
        ensureOpen();
        NxSocket s = server.accept(timeoutMs);
        return s == null ? null : new Socket(s);
    }

    /** The peer of the last accepted client ("ip:port"). */
    public synchronized String lastPeer() {
        ensureOpen();
        return server.last_peer();
    }

    /** Closes and frees the server; repeated calls do nothing. */
    @Override
    public synchronized void close() {
        if (!freed) {
            freed = true;
            server.delete();
        }
    }

    private void ensureOpen() {
        if (freed) {
            throw new NexusException("the server is closed", NexusNative.NX_ESTATE);
        }
    }
}
