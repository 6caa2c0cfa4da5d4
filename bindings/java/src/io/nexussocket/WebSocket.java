package io.nexussocket;

import io.nexussocket.internal.NexusNative;
import io.nexussocket.internal.NxWsClientInfo;
import io.nexussocket.internal.NxWsServer;
import io.nexussocket.internal.NxWsServerOptions;
import io.nexussocket.internal.NxWsServerStats;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * A WebSocket server (ws://, or wss:// with TLS options).
 *
 * <pre>{@code
 * try (WebSocket server = new WebSocket("127.0.0.1", 8080)) {
 *     server.on("message", (id, msg, client) -> client.send(msg));
 *     server.listen(); // until stop()
 * }
 * }</pre>
 *
 * <p>Threading. The server runs one event loop (the C API's threads = 1): the thread inside
 * {@link #listen()} is that loop, and listeners run on it. Every other method may be called from
 * any thread at any time: each native call is made under one fair lock; the loop holds it only
 * while it polls (never while a listener runs), and a caller from another thread first wakes the
 * poll ({@code nx_ws_server_wake}) and counts itself as waiting, so the loop lets it in at once
 * instead of finishing its wait. Without a running listen(), operations still work but nothing
 * moves on the sockets until some thread polls.
 *
 * <p>Errors are {@link NexusException}s. {@link #close()} stops the server, waits for a listen()
 * on another thread to return, and frees the native server; no finalizer does it for you.
 */
public final class WebSocket implements AutoCloseable {
    static {
        Native.load();
    }

    /** Server settings; the defaults are the C API's (docs/configuration.md). */
    public static final class Options {
        String host = "0.0.0.0";
        int port = 8080;
        long maxClients = -1;
        long maxMessageSize = -1;
        long pingIntervalMs = -1;
        long closeTimeoutMs = -1;
        String subprotocols;
        HandshakeHandler handshake;
        Map<String, String> tls = Map.of();
        String redisUrl;
        String scalingPrefix;
        long scalingLeaseMs = -1;
        long scalingTimeoutMs = -1;
        long scalingMaxBacklog = -1;

        /** Address to bind ("0.0.0.0"). */
        public Options host(String host) {
            this.host = Objects.requireNonNull(host);
            return this;
        }

        /** Port to bind (8080; 0 picks a free one, see {@link WebSocket#port()}). */
        public Options port(int port) {
            this.port = port;
            return this;
        }

        /** Clients at most (100); over it the handshake gets HTTP 503. */
        public Options maxClients(long maxClients) {
            this.maxClients = maxClients;
            return this;
        }

        /** Largest message accepted (1 MiB); larger ones close with 1009. */
        public Options maxMessageSize(long bytes) {
            this.maxMessageSize = bytes;
            return this;
        }

        /** Ping interval in ms (30000; 0: no pings). */
        public Options pingIntervalMs(long ms) {
            this.pingIntervalMs = ms;
            return this;
        }

        /** Bound of stop's flush and the close handshake, in ms (5000). */
        public Options closeTimeoutMs(long ms) {
            this.closeTimeoutMs = ms;
            return this;
        }

        /** Subprotocols, comma-separated, in preference order. */
        public Options subprotocols(String subprotocols) {
            this.subprotocols = subprotocols;
            return this;
        }

        /**
         * Decides on every upgrade request before the client is let in (authentication); see
         * {@link HandshakeHandler}. Without one, every valid request is accepted.
         */
        public Options onHandshake(HandshakeHandler handler) {
            this.handshake = Objects.requireNonNull(handler);
            return this;
        }

        /**
         * TLS options (wss://): "local_cert" (required), "local_pk", "passphrase", "ciphers",
         * "verify_peer", "cafile", "capath", "allow_self_signed", "sni:HOST".
         */
        public Options tls(Map<String, String> tls) {
            this.tls = Map.copyOf(tls);
            return this;
        }

        /**
         * Turns scaling on (docs/scaling.md; off unless called): this server shares its clients,
         * broadcasts, channels and presence with every server on the same Redis and
         * {@linkplain #scalingPrefix prefix}. {@code url} is
         * {@code redis://[[user]:password@]host[:port][/db]}, or {@code rediss://} for TLS.
         * What then works across servers is listed at {@link WebSocket#clusterClients()}.
         */
        public Options redis(String url) {
            this.redisUrl = Objects.requireNonNull(url);
            return this;
        }

        /**
         * Starts every Redis key and channel the servers use ("nexus"): servers with different
         * prefixes on one Redis never see each other.
         */
        public Options scalingPrefix(String prefix) {
            this.scalingPrefix = Objects.requireNonNull(prefix);
            return this;
        }

        /**
         * Presence lease in ms (10000; at least 300): a server that stops refreshing its
         * presence (killed, cut off) leaves it, with its clients, once this has passed.
         */
        public Options scalingLeaseMs(long ms) {
            this.scalingLeaseMs = ms;
            return this;
        }

        /** Bound of connecting to Redis, of each command and of each cluster query, in ms (2000). */
        public Options scalingTimeoutMs(long ms) {
            this.scalingTimeoutMs = ms;
            return this;
        }

        /**
         * Bytes waiting to go to Redis beyond which remote deliveries are dropped and counted in
         * {@link Stats#remoteDropped()} (16 MiB).
         */
        public Options scalingMaxBacklog(long bytes) {
            this.scalingMaxBacklog = bytes;
            return this;
        }
    }

    private final NxWsServer server;
    private final HandshakeHandler handshake; // null: requests are accepted natively
    private final ReentrantLock lock = new ReentrantLock(true);
    private final AtomicInteger waiting = new AtomicInteger();
    private final Object state = new Object(); // guards poller, freed, freeOnExit, started
    private final Object wakeGuard = new Object(); // wake never races the free
    private final Map<String, List<Listener>> listeners = new ConcurrentHashMap<>();
    private volatile Thread poller;
    private volatile boolean freed;
    private boolean started;
    private boolean freeOnExit;

    /** A server for host:port (not bound yet: see {@link #start()}). */
    public WebSocket(String host, int port) {
        this(new Options().host(host).port(port));
    }

    /** A wss:// server for host:port with TLS options (see {@link Options#tls}). */
    public WebSocket(String host, int port, Map<String, String> tls) {
        this(new Options().host(host).port(port).tls(tls));
    }

    /** A server with options. InvalidArgumentException for an invalid option. */
    public WebSocket(Options options) {
        NxWsServerOptions o = new NxWsServerOptions();
        try {
            o.setHost(options.host);
            o.setPort(options.port);
            if (options.maxClients >= 0) {
                o.setMax_clients(options.maxClients);
            }
            if (options.maxMessageSize >= 0) {
                o.setMax_message_size(options.maxMessageSize);
                o.setMax_frame_size(options.maxMessageSize);
            }
            if (options.pingIntervalMs >= 0) {
                o.setPing_interval_ms(options.pingIntervalMs);
            }
            if (options.closeTimeoutMs >= 0) {
                o.setClose_timeout_ms(options.closeTimeoutMs);
            }
            if (options.subprotocols != null) {
                o.setSubprotocols(options.subprotocols);
            }
            if (options.handshake != null) {
                o.setHandshake_events(1);
            }
            if (options.redisUrl != null) {
                o.setScaling_redis(1);
                o.setRedis_url(options.redisUrl);
            }
            if (options.scalingPrefix != null) {
                o.setScaling_prefix(options.scalingPrefix);
            }
            if (options.scalingLeaseMs >= 0) {
                o.setScaling_lease_ms(uint32("scalingLeaseMs", options.scalingLeaseMs));
            }
            if (options.scalingTimeoutMs >= 0) {
                o.setScaling_timeout_ms(uint32("scalingTimeoutMs", options.scalingTimeoutMs));
            }
            if (options.scalingMaxBacklog >= 0) {
                o.setScaling_max_backlog(options.scalingMaxBacklog);
            }
            server = new NxWsServer(o);
            handshake = options.handshake;
        } finally {
            o.delete();
        }
        try {
            for (Map.Entry<String, String> e : options.tls.entrySet()) {
                server.set_tls_option(e.getKey(), e.getValue());
            }
        } catch (RuntimeException e) {
            server.delete();
            throw e;
        }
    }

    /**
     * Adds a listener for "connect", "message", "disconnect" or "error" (several may be added;
     * they run in order). InvalidArgumentException for another name.
     */
    public WebSocket on(String event, Listener listener) {
        switch (event) {
            case "connect", "message", "disconnect", "error" -> { }
            default -> throw new InvalidArgumentException("unknown event: " + event
                    + " (connect, message, disconnect, error)", NexusNative.NX_EINVAL);
        }
        listeners.computeIfAbsent(event, k -> new CopyOnWriteArrayList<>())
                .add(Objects.requireNonNull(listener));
        return this;
    }

    /**
     * Binds and listens (once; later calls do nothing). NexusException NX_EBIND when the address
     * cannot be bound, InvalidArgumentException (NX_ETLSCONFIG) for unusable certificates.
     */
    public void start() {
        synchronized (state) {
            if (started) {
                return;
            }
            locked(() -> {
                server.start();
                return null;
            });
            started = true;
        }
    }

    /** The bound port (after start; useful with port 0). */
    public int port() {
        return locked(server::port);
    }

    /**
     * Runs the event loop on this thread, calling the listeners, until {@link #stop()} (from any
     * thread or a listener) has finished: every client got close 1001 and its disconnect event.
     * Starts the server first if needed. A listener's exception stops the server and is thrown
     * here once the stop has finished. NexusException (NX_ESTATE) if another thread is
     * listening already.
     */
    public void listen() {
        start();
        synchronized (state) {
            if (poller != null) {
                throw new NexusException("another thread is listening already", NexusNative.NX_ESTATE);
            }
            poller = Thread.currentThread();
        }
        RuntimeException failure = null;
        Error fatal = null;
        try {
            for (;;) {
                int kind;
                long id;
                int opcode;
                int code;
                byte[] data;
                lock.lock();
                try {
                    ensureOpen();
                    kind = server.poll(waiting.get() > 0 ? 0 : 1000);
                    id = server.event_client();
                    opcode = server.event_opcode();
                    code = server.event_close_code();
                    data = kind == NexusNative.NX_EVENT_NONE ? null : server.event_data();
                } finally {
                    lock.unlock();
                }
                if (kind == NexusNative.NX_EVENT_STOPPED) {
                    break;
                }
                if (kind == NexusNative.NX_EVENT_NONE) {
                    if (waiting.get() > 0) {
                        Thread.yield(); // let the waiting caller take the lock
                    }
                    continue;
                }
                String name;
                Message message;
                if (kind == NexusNative.NX_EVENT_CONNECT) {
                    name = "connect";
                    message = new Message(data, false, 0);
                } else if (kind == NexusNative.NX_EVENT_MESSAGE) {
                    name = "message";
                    message = new Message(data, opcode == NexusNative.NX_OPCODE_BINARY, 0);
                } else if (kind == NexusNative.NX_EVENT_DISCONNECT) {
                    name = "disconnect";
                    message = new Message(data, false, code);
                } else if (kind == NexusNative.NX_EVENT_ERROR) {
                    name = "error";
                    message = new Message(data, false, 0);
                } else if (kind == NexusNative.NX_EVENT_HANDSHAKE && handshake != null) {
                    try {
                        decide(id);
                    } catch (Error e) {
                        if (failure == null && fatal == null) {
                            fatal = e;
                            stop();
                        }
                    }
                    continue;
                } else {
                    continue;
                }
                List<Listener> list = listeners.get(name);
                if (list == null) {
                    continue;
                }
                Client client = new Client(this, id);
                for (Listener l : list) {
                    try {
                        l.handle(id, message, client);
                    } catch (RuntimeException e) {
                        if (failure == null && fatal == null) {
                            failure = e;
                            stop();
                        }
                    } catch (Error e) {
                        if (failure == null && fatal == null) {
                            fatal = e;
                            stop();
                        }
                    }
                }
            }
        } finally {
            boolean free;
            synchronized (state) {
                poller = null;
                free = freeOnExit;
                state.notifyAll();
            }
            if (free) {
                release();
            }
        }
        if (fatal != null) {
            throw fatal;
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Answers a handshake request with what the handler says: returning accepts, a
     * HandshakeRejectedException answers with its status, any other RuntimeException with 500
     * (and goes to the "error" listeners). An answer that fails (the request timed out or the
     * peer left meanwhile) goes to the "error" listeners too.
     */
    private void decide(long id) {
        Client request = new Client(this, id);
        RuntimeException failed = null;
        int status = 0;
        byte[] body = new byte[0];
        try {
            handshake.decide(request);
        } catch (HandshakeRejectedException e) {
            status = e.httpStatus();
            body = e.body().getBytes(StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            failed = e;
            status = 500;
        }
        final int answer = status;
        final byte[] text = body;
        if (failed != null) {
            notifyError(id, "handshake handler: " + failed);
        }
        try {
            locked(() -> {
                if (answer == 0) {
                    server.accept(id);
                } else {
                    server.reject(id, answer, text);
                }
                return null;
            });
        } catch (NexusException e) {
            notifyError(id, "handshake answer: " + e);
        }
    }

    /** Runs the "error" listeners (their exceptions are dropped: an error about an error). */
    private void notifyError(long id, String text) {
        List<Listener> list = listeners.get("error");
        if (list == null) {
            return;
        }
        Message message = new Message(text.getBytes(StandardCharsets.UTF_8), false, 0);
        Client client = new Client(this, id);
        for (Listener l : list) {
            try {
                l.handle(id, message, client);
            } catch (RuntimeException e) {
                // nothing sensible to do with it
            }
        }
    }

    /**
     * Graceful stop: no new connections, every client gets close 1001, then listen() returns.
     * Any thread, also a listener; repeated calls do nothing more. Before start: nothing to do.
     */
    public void stop() {
        synchronized (state) {
            if (!started || freed) {
                return;
            }
        }
        locked(() -> {
            server.stop();
            return null;
        });
    }

    /** Sends text to one client. UnknownClientException, ConnectionException (closing). */
    public void send(long client, String text) {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        locked(() -> {
            server.send(client, data, NexusNative.NX_OPCODE_TEXT);
            return null;
        });
    }

    /** Sends binary data to one client (any bytes, NUL included). */
    public void send(long client, byte[] data) {
        Objects.requireNonNull(data);
        locked(() -> {
            server.send(client, data, NexusNative.NX_OPCODE_BINARY);
            return null;
        });
    }

    /** Sends a message as it is: text as text, binary as binary. */
    public void send(long client, Message message) {
        byte[] data = message.raw();
        int opcode = message.isBinary() ? NexusNative.NX_OPCODE_BINARY : NexusNative.NX_OPCODE_TEXT;
        locked(() -> {
            server.send(client, data, opcode);
            return null;
        });
    }

    /** Sends text to every client; returns how many it was queued for. */
    public int broadcast(String text) {
        return broadcast(text, 0);
    }

    /** Sends text to every client but {@code except} (0: none); returns how many. */
    public int broadcast(String text, long except) {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        return locked(() -> server.broadcast(data, NexusNative.NX_OPCODE_TEXT, except));
    }

    /** Sends binary data to every client; returns how many. */
    public int broadcast(byte[] data) {
        return broadcast(data, 0);
    }

    /** Sends binary data to every client but {@code except} (0: none); returns how many. */
    public int broadcast(byte[] data, long except) {
        Objects.requireNonNull(data);
        return locked(() -> server.broadcast(data, NexusNative.NX_OPCODE_BINARY, except));
    }

    /** Closes a client with 1000; its disconnect event follows. */
    public void disconnect(long client) {
        disconnect(client, 1000, "");
    }

    /**
     * Closes a client with a code (1000, 3000..4999, ...) and a reason of at most 123 UTF-8
     * bytes. UnknownClientException, InvalidArgumentException, ConnectionException (closing).
     */
    public void disconnect(long client, int code, String reason) {
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        locked(() -> {
            server.disconnect(client, code, r);
            return null;
        });
    }

    /**
     * Adds a client to a channel (a name of 1..255 UTF-8 bytes); publish() then reaches it.
     * UnknownClientException, InvalidArgumentException (a bad name).
     */
    public void subscribe(long client, String channel) {
        byte[] name = channel.getBytes(StandardCharsets.UTF_8);
        locked(() -> {
            server.subscribe(client, name);
            return null;
        });
    }

    /** Takes a client out of a channel (nothing when it was not in it). */
    public void unsubscribe(long client, String channel) {
        byte[] name = channel.getBytes(StandardCharsets.UTF_8);
        locked(() -> {
            server.unsubscribe(client, name);
            return null;
        });
    }

    /** Sends text to every client in a channel, encoded once; returns how many. */
    public int publish(String channel, String text) {
        byte[] name = channel.getBytes(StandardCharsets.UTF_8);
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        return locked(() -> server.publish(name, data, NexusNative.NX_OPCODE_TEXT));
    }

    /** Sends binary data to every client in a channel; returns how many. */
    public int publish(String channel, byte[] data) {
        Objects.requireNonNull(data);
        byte[] name = channel.getBytes(StandardCharsets.UTF_8);
        return locked(() -> server.publish(name, data, NexusNative.NX_OPCODE_BINARY));
    }

    /** The server's counters (all 0 before start). */
    public Stats stats() {
        return locked(() -> toStats(server.stats()));
    }

    /**
     * The server's counters: clients connected now, handshakes accepted, messages and payload
     * bytes each way, handshakes answered with an HTTP error; with scaling (0 without it):
     * broadcasts, publishes and sends handed to Redis ({@code remoteOut}), messages from other
     * servers acted on here ({@code remoteIn}), remote deliveries not handed to Redis because it
     * was out of reach or over the backlog ({@code remoteDropped}), connections to Redis lost or
     * refused ({@code backplaneErrors}), 1 while this server's links to Redis work
     * ({@code backplaneUp}), and {@code servers}, 1. From {@link WebSocket#clusterStats()},
     * every live server's added up: {@code servers} and {@code backplaneUp} then count servers.
     */
    public record Stats(long clients, long connectionsTotal, long messagesIn, long messagesOut,
            long bytesIn, long bytesOut, long handshakesRejected, long remoteOut, long remoteIn,
            long remoteDropped, long backplaneErrors, long backplaneUp, long servers) {}

    private static Stats toStats(NxWsServerStats s) {
        try {
            return new Stats(s.getClients(), s.getConnections_total(), s.getMessages_in(),
                    s.getMessages_out(), s.getBytes_in(), s.getBytes_out(),
                    s.getHandshakes_rejected(), s.getRemote_out(), s.getRemote_in(),
                    s.getRemote_dropped(), s.getBackplane_errors(), s.getBackplane_up(),
                    s.getServers());
        } finally {
            s.delete();
        }
    }

    /**
     * Scaling ({@link Options#redis}): the ids of every client of every live server, ascending:
     * this server's from its registry, the others' from their presence in Redis (a server that
     * died leaves it within the {@linkplain Options#scalingLeaseMs lease}). Until the next call,
     * {@link #peer(long)} also answers for the other servers' clients it returned. Without
     * scaling: {@link #clients()}.
     *
     * <p>With scaling, several servers act as one: {@code send}, {@code disconnect} take the id
     * of any client of any live server (ids are unique in the cluster and carry their server's
     * {@linkplain #nodeId() node id}); for another server's client they return once the message
     * is handed to Redis, throw UnknownClientException when no live server has that node id and
     * {@link UnavailableException} while Redis is out of reach. {@code broadcast} and
     * {@code publish} reach every server's clients and return how many of this server's they
     * were queued for. {@code subscribe}, {@code unsubscribe}, {@link #clients()} and
     * {@link #stats()} stay with this server's clients. Redis out of reach (at start or later)
     * is reported once to the "error" listeners with id 0; local clients are served throughout.
     *
     * <p>Waits for a few round trips to Redis, each bounded by the
     * {@linkplain Options#scalingTimeoutMs timeout}, and holds the server meanwhile (the event
     * loop waits too). ConnectionException (or TimeoutException) when Redis cannot be asked.
     */
    public long[] clusterClients() {
        return locked(server::cluster_clients);
    }

    /**
     * Scaling: the counters of every live server added up ({@link Stats#servers()} says how
     * many; the others' are at most a third of the lease old). Waits for Redis and fails as
     * {@link #clusterClients()} does. Without scaling: {@link #stats()}.
     */
    public Stats clusterStats() {
        return locked(() -> toStats(server.cluster_stats()));
    }

    /**
     * Scaling: this server's node id in the cluster, the part of its clients' ids that says which
     * server they are on (0 without scaling and before start).
     */
    public long nodeId() {
        return locked(server::node_id);
    }

    /** The connected clients' ids, in connection order. */
    public long[] clients() {
        return locked(server::clients);
    }

    /** How many clients are connected. */
    public int clientCount() {
        return locked(server::client_count);
    }

    /**
     * A client's address "ip:port" (also of another server's client the last
     * {@link #clusterClients()} returned). UnknownClientException.
     */
    public String peer(long client) {
        return info(client, NxWsClientInfo::getPeer);
    }

    /** The path of a client's upgrade request ("/" at least). UnknownClientException. */
    public String path(long client) {
        return info(client, NxWsClientInfo::getPath);
    }

    /** The query of a client's upgrade request, without '?' ("" when none). */
    public String query(long client) {
        return info(client, NxWsClientInfo::getQuery);
    }

    /** The Origin of a client's upgrade request ("" when none). */
    public String origin(long client) {
        return info(client, NxWsClientInfo::getOrigin);
    }

    /**
     * The first value of a header of a client's upgrade request (the name in any case), or
     * null when it had none. UnknownClientException.
     */
    public String header(long client, String name) {
        String lines = new String(info(client, NxWsClientInfo::headers), StandardCharsets.UTF_8);
        for (String line : lines.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    /** The data the application keeps with a client (empty until set). UnknownClientException. */
    public byte[] userData(long client) {
        return info(client, NxWsClientInfo::user_data);
    }

    /**
     * Replaces the data kept with a client, or with a request its {@link HandshakeHandler} is
     * deciding on (the client has it from its connect event on); copied, at most 64 KiB
     * (InvalidArgumentException NX_ETOOBIG). UnknownClientException.
     */
    public void setUserData(long client, byte[] data) {
        Objects.requireNonNull(data);
        locked(() -> {
            server.set_user_data(client, data);
            return null;
        });
    }

    private <T> T info(long client, java.util.function.Function<NxWsClientInfo, T> field) {
        return locked(() -> {
            NxWsClientInfo info = server.client_info(client);
            try {
                return field.apply(info);
            } finally {
                info.delete();
            }
        });
    }

    /**
     * Stops the server (see {@link #stop()}), waits for a listen() on another thread to return,
     * and frees it. Called from a listener, the free happens when listen() returns. Repeated
     * calls do nothing.
     */
    @Override
    public void close() {
        Thread p;
        synchronized (state) {
            if (freed || freeOnExit) {
                return;
            }
            p = poller;
            if (p == Thread.currentThread()) {
                freeOnExit = true;
            }
        }
        try {
            stop();
        } catch (NexusException e) {
            // stopping a server that failed is not worth an exception in close()
        }
        if (p == Thread.currentThread()) {
            return;
        }
        synchronized (state) {
            boolean interrupted = false;
            while (poller != null) {
                try {
                    state.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (freed) {
                return;
            }
            freeOnExit = true; // no listen() may start now
        }
        release();
    }

    private void release() {
        lock.lock();
        try {
            synchronized (wakeGuard) {
                if (!freed) {
                    freed = true;
                    server.delete();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private static long uint32(String name, long value) {
        if (value > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException(name + ": at most " + 0xFFFF_FFFFL + " ms",
                    NexusNative.NX_EINVAL);
        }
        return value;
    }

    private void ensureOpen() {
        if (freed) {
            throw new NexusException("the server is closed", NexusNative.NX_ESTATE);
        }
    }

    /** One native call under the lock; a caller other than the loop wakes the loop's poll. */
    private <T> T locked(Supplier<T> call) {
        boolean loop = Thread.currentThread() == poller;
        if (!loop) {
            waiting.incrementAndGet();
            synchronized (wakeGuard) {
                if (!freed) {
                    server.wake();
                }
            }
        }
        lock.lock();
        try {
            if (!loop) {
                waiting.decrementAndGet();
            }
            ensureOpen();
            return call.get();
        } finally {
            lock.unlock();
        }
    }
}
