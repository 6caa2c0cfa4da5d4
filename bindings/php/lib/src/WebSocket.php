<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A WebSocket server (RFC 6455), event-driven, over the extension's NxWsServer.
 *
 *     $ws = new WebSocket('0.0.0.0', 8080);
 *     $ws->on('message', function ($clientId, $message, $client) use ($ws) {
 *         $ws->broadcast("User {$clientId}: {$message}", $clientId);
 *     });
 *     $ws->listen();
 *
 * Everything happens on the thread that calls listen() or poll(): the native
 * server only queues events, and this class pulls them and calls the
 * handlers. Handlers may call any method (send, broadcast, disconnect, stop...).
 *
 * Events (on()):
 * - 'connect'    fn(string $clientId, Connection $client)
 * - 'message'    fn(string $clientId, string $message, Connection $client): a text
 *                message, always valid UTF-8
 * - 'binary'     fn(string $clientId, string $data, Connection $client): a binary
 *                message. Without a 'binary' handler binary messages are refused:
 *                the client is closed with 1003 (RFC 6455 §7.4.1, "unsupported data"),
 *                so a text-only application never mistakes bytes for text
 * - 'disconnect' fn(string $clientId, int $code, string $reason, Connection $client)
 * - 'error'      fn(?string $clientId, \Throwable $error, ?Connection $client): an
 *                exception thrown by a handler or timer, or a native error
 *                (SocketException; $clientId null when it concerns the server, such as
 *                Redis out of reach with scaling)
 * - 'handshake'  fn(Connection $request): true|false|int|array{int, string}: decides
 *                each opening handshake (authentication): true accepts, false
 *                answers 403, an int answers that HTTP status (400..599), [status,
 *                body] adds a body. What it stores in $request->data stays with
 *                the client. Set it before the server starts.
 * Handlers get extra arguments beyond what they declare; closures ignore them.
 * A client is known (send, getClients, ...) from its 'connect' until its
 * 'disconnect' has been delivered.
 *
 * Exceptions thrown by handlers and timers go to the 'error' handler when
 * there is one (and the server carries on); without one they end listen()
 * (after a graceful stop, so the clients get close 1001) or leave poll().
 *
 * Client ids are strings of digits ("17"), unique for the server's life. PHP
 * turns such strings into integer keys of arrays (getClients(), your own
 * maps), so every method takes an id as string, int or Connection.
 *
 * Scaling (option 'scaling' => 'redis', WEBSOCKET_SCALING=redis; docs/scaling.md):
 * servers sharing a Redis and a prefix act as one. broadcast() and publish()
 * reach the clients of every server; send() and disconnect() take the id of a
 * client of any server; getClusterClients() and getClusterStats() describe
 * them all. Ids are then unique across the servers: an id carries its
 * server's node id (getNodeId()) in the bits above 40, node = id >> 40.
 */
class WebSocket
{
    /** The event names on() knows. */
    public const EVENTS = ['connect', 'message', 'binary', 'disconnect', 'error', 'handshake'];

    /** The close code for a binary message nobody handles (RFC 6455 §7.4.1). */
    public const CLOSE_UNSUPPORTED_DATA = 1003;

    /**
     * The longest a native wait in listen() lasts. The native poll resumes its
     * wait after a signal interrupts it, so this bounds how long SIGINT/SIGTERM
     * wait for their PHP handler (PHP runs it between opcodes).
     */
    private const LISTEN_SLICE = 0.2;

    /** Events handled in one step before timers get their turn. */
    private const MAX_EVENTS_PER_STEP = 256;

    /** Native statistics, in the order of nx_ws_server_stats. */
    private const STATS = [
        'clients', 'connections_total', 'handshakes_rejected', 'http_requests', 'messages_in',
        'messages_out', 'bytes_in', 'bytes_out', 'dropped_handshake_timeout', 'dropped_pong_timeout',
        'dropped_idle_timeout', 'dropped_send_queue_full', 'dropped_rate_limited',
        'dropped_protocol_error', 'dropped_server_stopping', 'dropped_pending_limit',
        'dropped_tls_handshake', 'remote_out', 'remote_in', 'remote_dropped', 'backplane_errors',
        'backplane_up', 'servers',
    ];

    /** A client id's bits above this are its server's node id (scaling). */
    public const NODE_SHIFT = 40;

    private readonly ServerOptions $settings;

    private readonly TimerQueue $timers;

    /** The native server, from start() on. */
    private ?\NxWsServer $server = null;

    /** Whether the native server was made with handshake_events. */
    private bool $handshakeEvents = false;

    /** @var array<string, callable> event => handler */
    private array $handlers = [];

    /**
     * Connected clients ('connect' delivered, 'disconnect' not yet), in
     * connection order: id => true. Only the id: the request facts stay in
     * the extension until asked for, so an idle client costs PHP ~32 bytes.
     *
     * @var array<int|string, true>
     */
    private array $clients = [];

    /**
     * The Connection objects that carry application data, by id. Others are
     * made per event (cheap: they read their facts on demand) and dropped.
     *
     * @var array<int|string, Connection>
     */
    private array $connections = [];

    /** @var array<int|string, array{Connection, float}> accepted handshakes awaiting their connect event, with the time */
    private array $pending = [];

    private float $lastPendingSweep = 0.0;

    /** Whether stop() was called. */
    private bool $stopping = false;

    /** Whether the server has finished (NX_EVENT_STOPPED, or stopped before it started). */
    private bool $stopped = false;

    /** @var resource|null the stream of getStream() */
    private $stream = null;

    /**
     * Makes a server; nothing is bound until start(), listen() or poll().
     *
     * @param string|null $host address to bind; default config websocket.host (WEBSOCKET_HOST, 0.0.0.0)
     * @param int|null $port port, 0 picks a free one; default config websocket.port (WEBSOCKET_PORT, 8080)
     * @param array<string, mixed> $options any key of config/socket.php's 'websocket' section
     *        (max_clients, ping_interval, static_dir, subprotocols, compression, ...); they win over
     *        the configuration, as $host and $port do. wss://: tls_cert, tls_key, tls_passphrase
     *        (WEBSOCKET_TLS_*), or 'ssl' => PHP's ssl context options (local_cert, local_pk,
     *        passphrase, SNI_server_certs, ciphers, verify_peer + cafile for client certificates)
     * @throws InvalidArgumentException for an unknown option or a value that does not parse
     * @throws SocketException when the nexus_socket extension is not loaded
     */
    public function __construct(?string $host = null, ?int $port = null, array $options = [])
    {
        Native::require();
        $this->settings = ServerOptions::resolve($host, $port, $options);
        $this->timers = new TimerQueue();
    }

    /**
     * Sets the handler of an event (replacing the previous one); see the class comment.
     *
     * @throws InvalidArgumentException for an unknown event name
     * @throws SocketException for 'handshake' after the server started without one
     */
    public function on(string $event, callable $handler): static
    {
        if (!in_array($event, self::EVENTS, true)) {
            throw new InvalidArgumentException(
                "unknown WebSocket event '{$event}'; events: " . implode(', ', self::EVENTS),
                Native::EINVAL
            );
        }
        if ($event === 'handshake' && $this->server !== null && !$this->handshakeEvents) {
            throw new SocketException(
                "the 'handshake' handler must be set before the server starts (start(), listen() or poll())",
                Native::ESTATE
            );
        }
        $this->handlers[$event] = $handler;
        return $this;
    }

    /** Removes the handler of an event. */
    public function off(string $event): static
    {
        unset($this->handlers[$event]);
        return $this;
    }

    /** Whether the server speaks TLS (wss://, and https for its static files). */
    public function isSecure(): bool
    {
        return isset($this->settings->tls()['local_cert']);
    }

    /**
     * Binds and listens, without handling anything yet: after it getPort() is
     * the real port (useful with port 0). listen() and poll() call it; calling
     * it again does nothing.
     *
     * @throws SocketException the address cannot be bound (the message names it), or the server was stopped
     * @throws InvalidArgumentException wss:// certificate, key or passphrase that cannot be used
     *         (the message says which file and why), or an unknown ssl option
     */
    public function start(): static
    {
        if ($this->server !== null) {
            return $this;
        }
        if ($this->stopped) {
            throw new SocketException('this server was stopped; make a new WebSocket', Native::ESTATE);
        }
        $this->handshakeEvents = isset($this->handlers['handshake']);
        $server = new \NxWsServer($this->settings->toNative($this->handshakeEvents));
        foreach ($this->settings->tls() as $name => $text) {
            $server->set_tls_option($name, $text);
        }
        $server->start();
        $this->server = $server;
        return $this;
    }

    /**
     * Runs the server: handles events and timers until stop() (from a handler
     * or timer) or SIGINT/SIGTERM. Stopping is graceful: every client gets
     * close 1001 after its queued messages (bounded by stop_timeout), and
     * 'disconnect' is delivered for each before listen() returns.
     *
     * While it runs, SIGINT and SIGTERM stop the server (when the pcntl
     * functions exist); the previous signal handlers come back afterwards.
     *
     * @throws \Throwable what a handler threw when there is no 'error' handler (after a graceful stop)
     * @throws SocketException the address cannot be bound
     */
    public function listen(): void
    {
        if ($this->stopped) {
            return;
        }
        $this->start();
        $restoreSignals = $this->trapSignals();
        try {
            while (!$this->stopped) {
                $this->step(self::LISTEN_SLICE);
            }
        } catch (\Throwable $e) {
            $this->abandon();
            throw $e;
        } finally {
            $restoreSignals();
        }
    }

    /**
     * One step of the loop, for embedding the server in another event loop:
     * waits at most $timeout seconds (less when a timer is due sooner) for
     * events, handles those that are ready, runs the due timers. Starts the
     * server first if needed. With 0 it never waits. Wait on getStream() with
     * stream_select() to know when to call it.
     *
     * @return int the number of events and timers handled (0 after the server stopped)
     * @throws \Throwable what a handler threw when there is no 'error' handler
     */
    public function poll(float $timeout = 0.0): int
    {
        if (!($timeout >= 0.0) || is_infinite($timeout)) {
            throw new InvalidArgumentException('poll timeout must be a finite number of seconds >= 0', Native::EINVAL);
        }
        if ($this->stopped) {
            return 0;
        }
        $this->start();
        return $this->step($timeout);
    }

    /**
     * Stops gracefully: no new connections; every client gets close 1001 after
     * its queued messages; listen() returns (poll() keeps delivering the
     * disconnects) once that is done. Safe from handlers, timers and signal
     * handlers; repeated calls do nothing more. Before the server started,
     * it just means listen() returns at once.
     */
    public function stop(): void
    {
        $this->stopping = true;
        if ($this->server === null) {
            $this->stopped = true;
            return;
        }
        $this->server->stop();
    }

    /** Whether the server is started and not yet stopped (stop() may be in progress). */
    public function isRunning(): bool
    {
        return $this->server !== null && !$this->stopped;
    }

    /** Whether stop() was called (or a stop signal arrived). */
    public function isStopping(): bool
    {
        return $this->stopping;
    }

    /** The address the server binds. */
    public function getHost(): string
    {
        return (string) $this->settings->get('host', '0.0.0.0');
    }

    /** The bound port once started (the real one for port 0); before, the configured port. */
    public function getPort(): int
    {
        return $this->server !== null ? (int) $this->server->port() : (int) $this->settings->get('port', 8080);
    }

    /** @return array<string, mixed> the settings in force (config/socket.php's names and units) */
    public function getOptions(): array
    {
        return $this->settings->all();
    }

    /**
     * Sends a message to one client: text (UTF-8) unless $binary.
     *
     * With scaling, $clientId may be a client of another server: the message
     * goes there through Redis (true once handed over; an id that server does
     * not have is dropped there quietly, as the client may just have left).
     *
     * @return bool true when queued; false when the client is closing or the server is stopping
     *         (its 'disconnect' is on the way; nothing more reaches it)
     * @throws UnknownClientException no connected client has that id (scaling: nor does any
     *         live server have the node the id names)
     * @throws InvalidArgumentException text that is not UTF-8, or a message over max_message_size
     * @throws SocketException code Native::EUNAVAILABLE: the client is on another server and
     *         Redis cannot be reached now
     */
    public function send(Connection|string|int $clientId, string $message, bool $binary = false): bool
    {
        $opcode = $binary ? Native::OPCODE_BINARY : Native::OPCODE_TEXT;
        $remote = $this->remoteId($clientId);
        if ($remote !== null) {
            return $this->remotely(fn () => $this->server->send($remote, $message, $opcode), $remote);
        }
        $id = $this->knownId($clientId);
        return $this->quietly(fn () => $this->server->send($id, $message, $opcode));
    }

    /** send() of a binary message. */
    public function sendBinary(Connection|string|int $clientId, string $data): bool
    {
        return $this->send($clientId, $data, true);
    }

    /**
     * Sends a message to every connected client, but $exceptClientId when
     * given; text unless $binary. Encoded (and compressed) once.
     *
     * @return int how many clients it was queued for (0 before start and while stopping)
     * @throws InvalidArgumentException text that is not UTF-8, a message over max_message_size, a malformed id
     */
    public function broadcast(string $message, Connection|string|int|null $exceptClientId = null, bool $binary = false): int
    {
        $except = $exceptClientId === null ? 0 : $this->parseId($exceptClientId);
        $opcode = $binary ? Native::OPCODE_BINARY : Native::OPCODE_TEXT;
        return $this->count(
            fn (): int => (int) $this->server->broadcast($message, $opcode, $except),
            $message,
            $binary
        );
    }

    /** broadcast() of a binary message. */
    public function broadcastBinary(string $data, Connection|string|int|null $exceptClientId = null): int
    {
        return $this->broadcast($data, $exceptClientId, true);
    }

    /**
     * Closes a client's connection with $code (1000, or 3000..4999) and a
     * reason of at most 123 bytes; its 'disconnect' follows (on the server
     * that has the client: with scaling, $clientId may be a client of another
     * server, closed there through Redis).
     *
     * @return bool true when the close began (scaling: was handed to Redis); false when it was
     *         closing already
     * @throws UnknownClientException no connected client has that id (scaling: nor does any
     *         live server have the node the id names)
     * @throws InvalidArgumentException a code that may not be sent, a reason too long or not UTF-8
     * @throws SocketException code Native::EUNAVAILABLE: the client is on another server and
     *         Redis cannot be reached now
     */
    public function disconnect(Connection|string|int $clientId, int $code = 1000, string $reason = ''): bool
    {
        $remote = $this->remoteId($clientId);
        if ($remote !== null) {
            return $this->remotely(fn () => $this->server->disconnect($remote, $code, $reason), $remote);
        }
        $id = $this->knownId($clientId);
        return $this->quietly(fn () => $this->server->disconnect($id, $code, $reason));
    }

    /**
     * The connected clients, in connection order: id => the fields of
     * Connection::toArray() ('peer' => 'ip:port', 'path', 'query', 'headers',
     * 'origin', 'subprotocol', 'connected_at', 'compressed', 'data').
     *
     * With `$cluster` (and scaling on): every server's clients, as
     * getClusterClients().
     *
     * @return array<int|string, array<string, mixed>>
     */
    public function getClients(bool $cluster = false): array
    {
        if ($cluster) {
            return $this->getClusterClients();
        }
        $out = [];
        foreach ($this->clients as $id => $_) {
            $out[$id] = $this->connection((string) $id)->toArray();
        }
        return $out;
    }

    /**
     * A connected client.
     *
     * @throws UnknownClientException no connected client has that id
     */
    public function getClient(Connection|string|int $clientId): Connection
    {
        return $this->connection((string) $this->knownId($clientId));
    }

    public function hasClient(Connection|string|int $clientId): bool
    {
        $id = $this->parseIdOrNull($clientId);
        return $id !== null && isset($this->clients[$id]);
    }

    /** How many clients are connected (as getClients() counts them). */
    public function clientCount(): int
    {
        return count($this->clients);
    }

    /**
     * Subscribes a client to a channel (1..256 bytes, no NUL, CR or LF);
     * publish() reaches it until it unsubscribes or leaves.
     *
     * @return bool true when subscribed; false when the client is closing
     * @throws UnknownClientException no connected client has that id
     * @throws InvalidArgumentException an invalid channel name
     */
    public function subscribe(Connection|string|int $clientId, string $channel): bool
    {
        $id = $this->knownId($clientId);
        return $this->quietly(fn () => $this->server->subscribe($id, $channel));
    }

    /**
     * @return bool true when done; false when the client is closing
     * @throws UnknownClientException no connected client has that id
     * @throws InvalidArgumentException an invalid channel name
     */
    public function unsubscribe(Connection|string|int $clientId, string $channel): bool
    {
        $id = $this->knownId($clientId);
        return $this->quietly(fn () => $this->server->unsubscribe($id, $channel));
    }

    /**
     * Sends a message to the clients subscribed to $channel now; text unless $binary.
     *
     * @return int how many clients it was queued for
     * @throws InvalidArgumentException an invalid channel name, text that is not UTF-8, a message too big
     */
    public function publish(string $channel, string $message, bool $binary = false): int
    {
        $opcode = $binary ? Native::OPCODE_BINARY : Native::OPCODE_TEXT;
        return $this->count(
            fn (): int => (int) $this->server->publish($channel, $message, $opcode),
            $message,
            $binary
        );
    }

    /**
     * The channels a client is subscribed to.
     *
     * @return list<string>
     * @throws UnknownClientException no connected client has that id
     */
    public function getChannels(Connection|string|int $clientId): array
    {
        $id = $this->knownId($clientId);
        try {
            $channels = (string) $this->server->client_info($id)->channels();
        } catch (UnknownClientException) {
            return []; // gone natively; its disconnect is on the way
        }
        return $channels === '' ? [] : explode("\n", rtrim($channels, "\n"));
    }

    /**
     * Counters since start: clients, connections_total, handshakes_rejected,
     * http_requests, messages_in, messages_out, bytes_in, bytes_out (payload
     * bytes), and the dropped_* counts by reason (handshake_timeout,
     * pong_timeout, idle_timeout, send_queue_full, rate_limited,
     * protocol_error, server_stopping, pending_limit, tls_handshake). All 0
     * before start.
     *
     * Scaling adds (0 without it): remote_out (broadcasts, publishes, sends
     * handed to Redis), remote_in (messages from other servers acted on here),
     * remote_dropped (not handed to Redis: unreachable, or over
     * scaling_backlog), backplane_errors (connections to Redis lost or
     * refused), backplane_up (1 while the links to Redis work); and servers
     * (1 once started; the live servers in getClusterStats()).
     *
     * With `$cluster` (and scaling on): every server's, as getClusterStats().
     *
     * @return array<string, int>
     */
    public function getStats(bool $cluster = false): array
    {
        if ($cluster) {
            return $this->getClusterStats();
        }
        if ($this->server === null) {
            return array_fill_keys(self::STATS, 0);
        }
        return self::statsArray($this->server->stats());
    }

    /**
     * The statistics of every live server of the cluster added up: the keys
     * of getStats(), with servers saying how many servers they cover and
     * backplane_up how many of them reach Redis. Another server's figures
     * are at most a third of its lease (scaling_lease) old. Without scaling,
     * and before start, getStats().
     *
     * Asks Redis (a few round trips, each bounded by scaling_timeout).
     *
     * @return array<string, int>
     * @throws SocketException (ConnectionException, TimeoutException) when Redis cannot be asked
     */
    public function getClusterStats(): array
    {
        if ($this->getNodeId() === 0) {
            return $this->getStats();
        }
        return self::statsArray($this->server->cluster_stats());
    }

    /**
     * Every client of every live server, by id ascending: this server's
     * clients as getClients() shows them, and the other servers' from the
     * presence they keep in Redis, with the same fields ('data' is [] for
     * those: application data stays with the server that has the client).
     * A server that stopped leaves at once; one that died, with its clients,
     * within its lease (scaling_lease). Without scaling, and before start,
     * getClients().
     *
     * Asks Redis (a few round trips, each bounded by scaling_timeout).
     *
     * @return array<int|string, array<string, mixed>>
     * @throws SocketException (ConnectionException, TimeoutException) when Redis cannot be asked
     */
    public function getClusterClients(): array
    {
        $node = $this->getNodeId();
        $local = $this->getClients();
        if ($node === 0) {
            return $local;
        }
        $all = $local;
        foreach ($this->server->cluster_clients() as $id) {
            $id = (int) $id;
            if ($id >> self::NODE_SHIFT === $node) {
                continue; // this server's: as getClients() shows them
            }
            try {
                // The extension keeps what the last cluster_clients() saw.
                $all[$id] = Connection::fromInfo($this->server->client_info($id), $this)->toArray();
            } catch (UnknownClientException) {
                continue;
            }
        }
        ksort($all, SORT_NUMERIC);
        return $all;
    }

    /**
     * This server's node id in the cluster (the bits of its client ids above
     * 40: node = id >> 40); 0 without scaling and before start.
     */
    public function getNodeId(): int
    {
        return $this->server === null ? 0 : (int) $this->server->node_id();
    }

    /**
     * Calls $callback every $seconds (fn(int $timerId)), from the loop.
     *
     * @return int the timer's id, for cancelTimer()
     */
    public function every(float $seconds, callable $callback): int
    {
        if (!($seconds > 0.0) || is_infinite($seconds)) {
            throw new InvalidArgumentException('a repeating timer needs a finite interval > 0 seconds', Native::EINVAL);
        }
        return $this->timers->add($seconds, $seconds, $callback);
    }

    /**
     * Calls $callback once, $seconds from now (fn(int $timerId)), from the loop.
     *
     * @return int the timer's id, for cancelTimer()
     */
    public function after(float $seconds, callable $callback): int
    {
        if (!($seconds >= 0.0) || is_infinite($seconds)) {
            throw new InvalidArgumentException('a timer needs a finite delay >= 0 seconds', Native::EINVAL);
        }
        return $this->timers->add($seconds, null, $callback);
    }

    /** Cancels a timer; false when it is not pending (ran already, cancelled, unknown). */
    public function cancelTimer(int $timerId): bool
    {
        return $this->timers->cancel($timerId);
    }

    /**
     * A stream that becomes readable when poll() has work, for
     * stream_select() in another event loop. Starts the server if needed.
     * (A duplicate of the native descriptor: closing it is harmless.)
     *
     * @return resource
     */
    public function getStream()
    {
        $this->start();
        if ($this->stream === null) {
            $stream = fopen('php://fd/' . (int) $this->server->fd(), 'r');
            if ($stream === false) {
                throw new SocketException('cannot open the server\'s descriptor as a stream');
            }
            $this->stream = $stream;
        }
        return $this->stream;
    }

    // ------------------------------------------------------------- the loop

    /** Waits at most $maxWait seconds (less for a due timer), handles the events, runs due timers. */
    private function step(float $maxWait): int
    {
        $wait = $maxWait;
        $nextTimer = $this->timers->nextDelay();
        if ($nextTimer !== null && $nextTimer < $wait) {
            $wait = $nextTimer;
        }
        // Round up: a timer 0.3 ms away must not turn into a busy loop of 0 ms waits.
        $handled = $this->pump((int) ceil($wait * 1000));
        if (!$this->stopped) {
            $handled += $this->runTimers();
        }
        if ($this->pending !== []) {
            $this->sweepPending();
        }
        return $handled;
    }

    /** Handles the events that are ready, waiting at most $waitMs for the first. */
    private function pump(int $waitMs): int
    {
        $handled = 0;
        while ($handled < self::MAX_EVENTS_PER_STEP && !$this->stopped) {
            $kind = (int) $this->server->poll($waitMs);
            if ($kind === Native::EVENT_NONE) {
                break;
            }
            ++$handled;
            $this->handle($kind);
            $waitMs = 0;
        }
        return $handled;
    }

    private function handle(int $kind): void
    {
        $server = $this->server;
        $id = (string) $server->event_client();
        switch ($kind) {
            case Native::EVENT_CONNECT:
                $this->onConnect($id);
                break;
            case Native::EVENT_MESSAGE:
                $this->onMessage($id, (int) $server->event_opcode(), (string) $server->event_data());
                break;
            case Native::EVENT_DISCONNECT:
                $this->onDisconnect($id, (int) $server->event_close_code(), (string) $server->event_data());
                break;
            case Native::EVENT_ERROR:
                $this->onError($id, (string) $server->event_data());
                break;
            case Native::EVENT_HANDSHAKE:
                $this->onHandshake($id);
                break;
            case Native::EVENT_STOPPED:
                // The native server delivered a disconnect per client before this.
                $this->stopped = true;
                $this->clients = [];
                $this->connections = [];
                $this->pending = [];
                break;
        }
    }

    private function onConnect(string $id): void
    {
        [$request] = $this->pending[$id] ?? [null];
        unset($this->pending[$id]);
        // The facts are read when first asked for (the handshake's request
        // has no subprotocol or connection time yet); its data carries over.
        $client = new Connection($id, null, $this, $request?->data ?? []);
        $this->clients[$id] = true;
        $this->call('connect', $id, $client, [$id, $client]);
        $this->keep($client);
    }

    private function onMessage(string $id, int $opcode, string $data): void
    {
        if (!isset($this->clients[$id])) {
            return; // not announced (cannot happen: events come in order); nobody to give it to
        }
        $client = $this->connection($id);
        if ($opcode === Native::OPCODE_BINARY) {
            if (!isset($this->handlers['binary'])) {
                $this->quietly(fn () => $this->server->disconnect(
                    (int) $id,
                    self::CLOSE_UNSUPPORTED_DATA,
                    'binary messages are not accepted'
                ));
                return;
            }
            $this->call('binary', $id, $client, [$id, $data, $client]);
        } else {
            $this->call('message', $id, $client, [$id, $data, $client]);
        }
        $this->keep($client);
    }

    private function onDisconnect(string $id, int $code, string $reason): void
    {
        unset($this->pending[$id]);
        if (!isset($this->clients[$id])) {
            return; // never announced with 'connect': nothing to tell the application
        }
        $client = $this->connection($id);
        // Gone before the handler runs: getClients() in it no longer counts this client.
        unset($this->clients[$id], $this->connections[$id]);
        $this->call('disconnect', $id, $client, [$id, $code, $reason, $client]);
    }

    private function onError(string $id, string $text): void
    {
        // For a request the handshake handler saw: it ended without a
        // connection (timeout, 503 over max_clients, peer gone).
        unset($this->pending[$id]);
        if (!isset($this->handlers['error'])) {
            return; // the native log (log_level) has reported it
        }
        $clientId = $id === '0' ? null : $id;
        $client = $clientId !== null && isset($this->clients[$clientId]) ? $this->connection($clientId) : null;
        ($this->handlers['error'])($clientId, new SocketException($text), $client);
    }

    /** The object callbacks get for a connected client: the kept one, or a fresh one. */
    private function connection(string $id): Connection
    {
        return $this->connections[$id] ?? new Connection($id, null, $this);
    }

    /** Keeps a client's Connection while it carries application data. */
    private function keep(Connection $client): void
    {
        if (!isset($this->clients[$client->id])) {
            return;
        }
        if ($client->data !== []) {
            $this->connections[$client->id] = $client;
        } else {
            unset($this->connections[$client->id]);
        }
    }

    /**
     * The request facts of a client (Connection reads them on demand).
     *
     * @return array<string, mixed>|null null when the extension no longer knows it
     * @internal
     */
    public function factsOf(string $id): ?array
    {
        if ($this->server === null) {
            return null;
        }
        try {
            return Connection::factsOf($this->server->client_info((int) $id));
        } catch (SocketException) {
            return null;
        }
    }

    private function onHandshake(string $id): void
    {
        $request = $this->describe($id);
        if ($request === null) {
            return; // dropped meanwhile (handshake timeout)
        }
        $handler = $this->handlers['handshake'] ?? null;
        $decision = true;
        if ($handler !== null) {
            try {
                $decision = $handler($request, $this);
            } catch (\Throwable $e) {
                $this->answer($id, [500, '']);
                $this->report($e, $id, $request);
                return;
            }
        }
        $answer = self::decision($decision);
        if ($answer === null) {
            $this->answer($id, [500, '']);
            $this->report(new InvalidArgumentException(
                'the handshake handler must return true (accept), false (403), an HTTP status 400..599 '
                . 'or [status, body]; it returned ' . get_debug_type($decision),
                Native::EINVAL
            ), $id, $request);
            return;
        }
        if ($answer === true) {
            $this->pending[$id] = [$request, TimerQueue::now()];
        }
        $this->answer($id, $answer);
    }

    /**
     * The handshake handler's return value as true (accept) or [status, body]; null when invalid.
     *
     * @return true|array{int, string}|null
     */
    private static function decision(mixed $decision): true|array|null
    {
        $valid = static fn (mixed $status): bool => is_int($status) && $status >= 400 && $status <= 599;
        return match (true) {
            $decision === true => true,
            $decision === false => [403, ''],
            $valid($decision) => [$decision, ''],
            is_array($decision) && count($decision) === 2 && $valid($decision[0] ?? null)
                && is_string($decision[1] ?? null) => [$decision[0], $decision[1]],
            default => null,
        };
    }

    /** @param true|array{int, string} $answer */
    private function answer(string $id, true|array $answer): void
    {
        // A request that timed out meanwhile is gone: nothing to answer.
        $this->quietly(fn () => $answer === true
            ? $this->server->accept((int) $id)
            : $this->server->reject((int) $id, $answer[0], $answer[1]));
    }

    /**
     * Forgets accepted handshakes that never became connections (refused at
     * max_clients, or dropped before their connect event), once a second.
     */
    private function sweepPending(): void
    {
        $now = TimerQueue::now();
        if ($now - $this->lastPendingSweep < 1.0) {
            return;
        }
        $this->lastPendingSweep = $now;
        $grace = 2 * (float) $this->settings->get('handshake_timeout', 10.0) + 1.0;
        foreach ($this->pending as $id => [, $since]) {
            if ($now - $since > $grace && $this->describe((string) $id) === null) {
                unset($this->pending[$id]);
            }
        }
    }

    private function runTimers(): int
    {
        $ran = 0;
        foreach ($this->timers->dueIds() as $timerId) {
            $callback = $this->timers->take($timerId);
            if ($callback === null) {
                continue; // cancelled by an earlier timer of this round
            }
            ++$ran;
            try {
                $callback($timerId, $this);
            } catch (\Throwable $e) {
                $this->report($e, null, null);
            }
        }
        return $ran;
    }

    /**
     * Calls an event's handler, sending what it throws to report().
     *
     * @param list<mixed> $args
     */
    private function call(string $event, ?string $clientId, ?Connection $client, array $args): void
    {
        $handler = $this->handlers[$event] ?? null;
        if ($handler === null) {
            return;
        }
        try {
            $handler(...$args);
        } catch (\Throwable $e) {
            $this->report($e, $clientId, $client);
        }
    }

    /** Gives a handler's exception to the 'error' handler, or rethrows it when there is none. */
    private function report(\Throwable $e, ?string $clientId, ?Connection $client): void
    {
        $handler = $this->handlers['error'] ?? null;
        if ($handler === null) {
            throw $e;
        }
        $handler($clientId, $e, $client);
    }

    /**
     * After an exception ends listen(): stops gracefully without calling
     * handlers, so clients get close 1001 instead of hanging, within the
     * stop timeout.
     */
    private function abandon(): void
    {
        if ($this->server === null || $this->stopped) {
            return;
        }
        try {
            $this->server->stop();
            $deadline = TimerQueue::now() + (float) $this->settings->get('stop_timeout', 5.0) + 1.0;
            while (TimerQueue::now() < $deadline) {
                if ((int) $this->server->poll(100) === Native::EVENT_STOPPED) {
                    break;
                }
            }
        } catch (\Throwable) {
            // The exception that ended listen() is the one to report.
        }
        $this->stopped = true;
        $this->clients = [];
        $this->connections = [];
        $this->pending = [];
    }

    /** SIGINT and SIGTERM stop the server while listen() runs; returns the undo. */
    private function trapSignals(): \Closure
    {
        return StopSignals::trap(function (): void {
            $this->stop();
        });
    }

    // ---------------------------------------------------------------- helpers

    /** What the extension knows of a client or request now; null when it is gone. */
    private function describe(string $id, array $data = []): ?Connection
    {
        try {
            return Connection::fromInfo($this->server->client_info((int) $id), $this, $data);
        } catch (UnknownClientException) {
            return null;
        }
    }

    /**
     * Runs a native call that may find the client closing or the server
     * stopping: those are part of a connection's life, not errors of the
     * caller, and give false. Other failures are thrown.
     */
    private function quietly(\Closure $call): bool
    {
        try {
            $call();
            return true;
        } catch (UnknownClientException) {
            return false; // gone natively; its disconnect event is on the way
        } catch (SocketException $e) {
            if (in_array($e->getCode(), [Native::ECLOSING, Native::EQUEUEFULL, Native::ESTATE], true)) {
                return false;
            }
            throw $e;
        }
    }

    /**
     * Runs a native broadcast or publish; 0 when there is no one to reach
     * (before start, while stopping). Text is checked in all cases, so a bad
     * message fails the same way whether or not anyone is connected.
     *
     * @param \Closure(): int $call
     */
    private function count(\Closure $call, string $message, bool $binary): int
    {
        if ($this->server === null || $this->stopped) {
            if (!$binary && preg_match('//u', $message) !== 1) {
                throw new InvalidArgumentException('text messages must be valid UTF-8', Native::EUTF8);
            }
            return 0;
        }
        try {
            return $call();
        } catch (SocketException $e) {
            if ($e->getCode() === Native::ESTATE) {
                return 0;
            }
            throw $e;
        }
    }

    /**
     * The id when it names a client of another server of the cluster (its
     * node is neither this server's nor 0); null otherwise, and without
     * scaling or before start.
     */
    private function remoteId(Connection|string|int $clientId): ?int
    {
        $own = $this->stopped ? 0 : $this->getNodeId();
        $id = $own === 0 ? null : $this->parseIdOrNull($clientId);
        if ($id === null) {
            return null;
        }
        $node = $id >> self::NODE_SHIFT;
        return $node !== 0 && $node !== $own ? $id : null;
    }

    /**
     * Runs a native send or disconnect to a client of another server: true
     * once handed to Redis, false while this server stops. No such node:
     * UnknownClientException; Redis out of reach: the extension's
     * SocketException (code Native::EUNAVAILABLE) as it is.
     */
    private function remotely(\Closure $call, int $id): bool
    {
        try {
            $call();
            return true;
        } catch (UnknownClientException $e) {
            throw new UnknownClientException(
                "no connected client with id '{$id}': no server of the cluster has node "
                . ($id >> self::NODE_SHIFT),
                Native::ENOCLIENT,
                $e
            );
        } catch (SocketException $e) {
            if ($e->getCode() === Native::ESTATE) {
                return false; // this server is stopping
            }
            throw $e;
        }
    }

    /** @return array<string, int> the native statistics by name */
    private static function statsArray(\NxWsServerStats $stats): array
    {
        $out = [];
        foreach (self::STATS as $name) {
            $out[$name] = (int) $stats->{$name};
        }
        return $out;
    }

    /**
     * The native id of a connected client.
     *
     * @throws UnknownClientException
     */
    private function knownId(Connection|string|int $clientId): int
    {
        $id = $this->parseIdOrNull($clientId);
        if ($id === null || !isset($this->clients[$id])) {
            $shown = $clientId instanceof Connection ? $clientId->id : (string) $clientId;
            throw new UnknownClientException("no connected client with id '{$shown}'", Native::ENOCLIENT);
        }
        return $id;
    }

    /** @throws InvalidArgumentException when it cannot be a client id */
    private function parseId(Connection|string|int $clientId): int
    {
        $id = $this->parseIdOrNull($clientId);
        if ($id === null) {
            $shown = $clientId instanceof Connection ? $clientId->id : (string) $clientId;
            throw new InvalidArgumentException("'{$shown}' is not a client id", Native::EINVAL);
        }
        return $id;
    }

    private function parseIdOrNull(Connection|string|int $clientId): ?int
    {
        if ($clientId instanceof Connection) {
            $clientId = $clientId->id;
        }
        if (is_int($clientId)) {
            return $clientId > 0 ? $clientId : null;
        }
        // Up to PHP_INT_MAX: with scaling, ids run to 2^63 - 1.
        if (preg_match('/\A[1-9][0-9]{0,18}\z/', $clientId) !== 1
            || (strlen($clientId) === 19 && strcmp($clientId, (string) PHP_INT_MAX) > 0)) {
            return null;
        }
        return (int) $clientId;
    }
}
