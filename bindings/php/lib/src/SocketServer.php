<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A listening TCP or TLS server, or a bound UDP socket; the seed's SocketServer.
 *
 *     $server = SocketServer::tcp('0.0.0.0', 8080);
 *     $server->listen(function ($client, $peerName, $server) {
 *         while (!feof($client)) {
 *             $data = fread($client, 1024);
 *             if ($data === false || $data === '') {
 *                 break;
 *             }
 *             fwrite($client, "Echo: {$data}");
 *         }
 *         fclose($client);
 *     });
 *
 * Each $client is a real PHP stream resource (fread, fwrite, fgets, feof,
 * fclose, stream_select, stream_set_timeout, stream_socket_get_name work on
 * it, on TLS servers too) that owns its connection; its calls wait at most
 * the server's 'timeout' option (else SOCKET_TIMEOUT, else 30 s) unless
 * stream_set_timeout() says otherwise. Connections are served one at a
 * time: the handler runs, then the next connection is accepted. A client
 * the handler did not close is closed after it returns, unless it was
 * added with addClient() (it then stays open for broadcast() until
 * removeClient() and fclose()).
 *
 * TLS: new SocketServer($host, $port, Socket::TYPE_SSL, ['ssl' => ['local_cert'
 * => ..., 'local_pk' => ..., 'passphrase' => ...]]) with PHP's ssl context
 * option names ('SNI_server_certs' => [host => cert file or [local_cert,
 * local_pk, passphrase]] too). A client that fails its handshake is no error
 * of the server: it goes to onError() (or lastError()) and the server goes on.
 *
 * UDP: receive() returns the next datagram and lastPeer() its sender,
 * send($peer, $data) / sendTo() answer; listen($handler) calls
 * $handler($datagram, $peerName, $server) for each.
 */
class SocketServer
{
    /** How long one native wait lasts at most, so that stop() and signals act soon. */
    private const SLICE_MS = 200;

    private string $host;
    private int $port;
    private string $type;
    private ?\NxSocketServer $server = null;
    private ?\NxSocket $udp = null;
    private bool $bound = false;
    private bool $closed = false;
    private bool $running = false;
    private bool $stopping = false;
    /** @var array<int, resource> */
    private array $clients = [];
    private ?string $lastPeer = null;
    private ?\Throwable $lastError = null;
    /** @var (callable(\Throwable, ?string, SocketServer): void)|null */
    private $errorHandler = null;

    /**
     * Nothing binds until start(), listen() or accept().
     *
     * @param string $type Socket::TYPE_TCP, TYPE_UDP, TYPE_SSL or TYPE_TLS
     * @param array<string, mixed> $options 'ssl' => [PHP ssl context options], 'timeout' (seconds: the
     *        default of accepted clients), 'backlog', 'handshake_timeout' (seconds), 'tcp_nodelay',
     *        'keepalive'; UDP: 'timeout', 'rcvbuf', 'sndbuf', 'broadcast'
     * @throws InvalidArgumentException a bad port, type, option or value
     */
    public function __construct(string $host = '0.0.0.0', int $port = 8080, string $type = Socket::TYPE_TCP, array $options = [])
    {
        Native::require();
        if ($port < 0 || $port > 65535) {
            throw new InvalidArgumentException(
                sprintf('server port: expected 0..65535, got %d', $port),
                Native::EINVAL
            );
        }
        $this->host = $host;
        $this->port = $port;
        $this->type = Socket::normalizeType($type);
        if ($this->type === Socket::TYPE_UDP) {
            $this->udp = new \NxSocket(\NX_SOCKET_UDP);
        } else {
            $this->server = new \NxSocketServer(Socket::nativeType($this->type));
        }
        if (!array_key_exists('timeout', $options)) {
            $this->setOption('timeout', Socket::configuredTimeout());
        }
        foreach ($options as $name => $value) {
            if ($name === 'ssl') {
                if (!is_array($value) || $this->type === Socket::TYPE_UDP) {
                    throw new InvalidArgumentException(
                        "server option ssl: expected an array of TLS options, for a TCP, SSL or TLS server",
                        Native::EINVAL
                    );
                }
                foreach (TlsOptions::toNative($value, 'server option ssl') as $tlsName => $text) {
                    $this->setOption($tlsName, $text);
                }
            } else {
                $this->setOption((string) $name, $value);
            }
        }
    }

    public static function tcp(string $host = '0.0.0.0', int $port = 8080, array $options = []): static
    {
        return new static($host, $port, Socket::TYPE_TCP, $options);
    }

    public static function udp(string $host = '0.0.0.0', int $port = 8080, array $options = []): static
    {
        return new static($host, $port, Socket::TYPE_UDP, $options);
    }

    /** A TLS server: $ssl are PHP's ssl context options (local_cert, local_pk, passphrase, ...). */
    public static function tls(string $host, int $port, array $ssl, array $options = []): static
    {
        return new static($host, $port, Socket::TYPE_TLS, ['ssl' => $ssl] + $options);
    }

    /**
     * Binds and listens (UDP: binds); nothing more. Repeated calls do nothing.
     *
     * @throws SocketException the address cannot be bound (NX_EBIND), or unusable TLS files
     */
    public function start(): static
    {
        if ($this->closed) {
            throw new SocketException('this server was stopped; make a new SocketServer', Native::ESTATE);
        }
        if (!$this->bound) {
            if ($this->udp !== null) {
                $this->udp->bind($this->host, $this->port);
            } else {
                $this->server->listen($this->host, $this->port);
            }
            $this->bound = true;
        }
        return $this;
    }

    /**
     * Without a handler: binds and listens, as start(); accept() then takes
     * connections. With one: serves connections one after the other, calling
     * $handler($client, $peerName, $server) with $client a stream resource
     * and $peerName "ip:port" (UDP: $handler($datagram, $peerName, $server)),
     * until stop() (from the handler) or SIGINT/SIGTERM (when pcntl is
     * there; the previous handlers come back afterwards), then closes the
     * server and its added clients and returns. An exception from the
     * handler goes to onError() when set, else closes the server and
     * propagates.
     *
     * @param (callable(mixed, string, SocketServer): mixed)|null $handler
     */
    public function listen(?callable $handler = null): static
    {
        $this->start();
        if ($handler === null) {
            return $this;
        }
        $restoreSignals = $this->trapSignals();
        $this->running = true;
        try {
            while (!$this->stopping) {
                if ($this->udp !== null) {
                    $datagram = $this->receiveFrom(65536, self::SLICE_MS / 1000);
                    if ($datagram !== null) {
                        $this->serve($handler, $datagram['data'], $datagram['peer'], false);
                    }
                    continue;
                }
                $connection = $this->acceptFor(self::SLICE_MS);
                if ($connection !== null) {
                    $this->serve($handler, $connection['socket'], $connection['peer'], true);
                }
            }
        } finally {
            $this->running = false;
            $restoreSignals();
            $this->close();
        }
        return $this;
    }

    /**
     * The next connection within $timeoutSeconds (null: until one comes or
     * stop()): ['socket' => stream resource, 'peer' => 'ip:port'], or null
     * (at once after stop(), also from a signal handler). Binds first if needed. Clients that fail their TLS handshake are
     * skipped (onError(), lastError()).
     *
     * @return array{socket: resource, peer: string}|null
     */
    public function accept(int|float|null $timeoutSeconds = null): ?array
    {
        if ($this->udp !== null) {
            throw new InvalidArgumentException('accept: a UDP server has no connections; use receive()', Native::EINVAL);
        }
        if ($this->stopping) {
            return null;
        }
        $this->start();
        $deadline = $timeoutSeconds === null ? null : microtime(true) + Socket::milliseconds($timeoutSeconds) / 1000;
        do {
            if ($this->stopping) {
                return null;
            }
            $slice = self::SLICE_MS;
            if ($deadline !== null) {
                $slice = (int) min($slice, max(0, ceil(($deadline - microtime(true)) * 1000)));
            }
            $connection = $this->acceptFor($slice);
            if ($connection !== null) {
                return $connection;
            }
        } while (!$this->stopping && ($deadline === null || microtime(true) < $deadline));
        return null;
    }

    /**
     * TCP/TLS: at most $length bytes from $client, as soon as some arrived;
     * '' at the end of its stream. UDP (receive() or receive($length)): the
     * next datagram, its sender in lastPeer(); waits until one comes (null
     * after stop()).
     *
     * @param resource|int|null $client
     * @throws TimeoutException nothing arrived within the client's timeout
     * @throws ConnectionException the connection broke
     */
    public function receive(mixed $client = null, ?int $length = null): ?string
    {
        if ($this->udp !== null) {
            if (is_int($client) && $length === null) {
                $length = $client;
            }
            do {
                $datagram = $this->receiveFrom($length ?? 65536, self::SLICE_MS / 1000);
                if ($datagram !== null) {
                    return $datagram['data'];
                }
            } while (!$this->stopping);
            return null;
        }
        $stream = self::stream($client, 'receive');
        $length ??= Socket::DEFAULT_LENGTH;
        if ($length < 1) {
            throw new InvalidArgumentException('receive: the length must be at least 1', Native::EINVAL);
        }
        $data = fread($stream, $length);
        if ($data === false) {
            throw new ConnectionException(sprintf('receiving from %s failed: the connection broke', self::name($stream)), Native::ECLOSED);
        }
        if ($data === '' && !feof($stream) && (stream_get_meta_data($stream)['timed_out'] ?? false)) {
            throw new TimeoutException(sprintf('nothing from %s within the timeout', self::name($stream)), \NX_ETIMEDOUT);
        }
        return $data;
    }

    /**
     * UDP: the next datagram within $timeoutSeconds (null: the server's
     * timeout) as ['data' => ..., 'peer' => 'ip:port'], or null.
     *
     * @return array{data: string, peer: string}|null
     */
    public function receiveFrom(int $length = 65536, int|float|null $timeoutSeconds = null): ?array
    {
        if ($this->udp === null) {
            throw new InvalidArgumentException('receiveFrom: only for a UDP server; use receive($client)', Native::EINVAL);
        }
        if ($this->closed) {
            return null;
        }
        $this->start();
        try {
            $data = $this->udp->receive_from($length, Socket::milliseconds($timeoutSeconds));
        } catch (TimeoutException) {
            return null;
        }
        $this->lastPeer = $this->udp->last_sender();
        return ['data' => $data, 'peer' => $this->lastPeer];
    }

    /**
     * TCP/TLS: writes all of $data to $client. UDP: send($peer, $data) sends
     * one datagram to "ip:port" (as sendTo()).
     *
     * @param resource|string $client
     * @return int the bytes written
     * @throws ConnectionException the connection broke or stayed full until the timeout
     */
    public function send(mixed $client, string $data): int
    {
        if ($this->udp !== null) {
            if (!is_string($client)) {
                throw new InvalidArgumentException("send: a UDP server sends to a peer 'ip:port'", Native::EINVAL);
            }
            return $this->sendTo($client, $data);
        }
        $stream = self::stream($client, 'send');
        $written = 0;
        $size = strlen($data);
        while ($written < $size) {
            error_clear_last();
            $n = @fwrite($stream, $written === 0 ? $data : substr($data, $written));
            if ($n === false || $n === 0) {
                $error = error_get_last();
                throw new ConnectionException(sprintf('sending %d bytes to %s failed%s', $size - $written,
                    self::name($stream), $error !== null ? ': ' . preg_replace('/^fwrite\(\): /', '', $error['message']) : ''),
                    Native::ECLOSED);
            }
            $written += $n;
        }
        return $written;
    }

    /**
     * UDP: one datagram to $peer ("ip:port", "[v6]:port"); the peer of the
     * last datagram is lastPeer().
     */
    public function sendTo(string $peer, string $data): int
    {
        if ($this->udp === null) {
            throw new InvalidArgumentException('sendTo: only for a UDP server', Native::EINVAL);
        }
        if (preg_match('/\A\[?([^\[\]]*?)\]?:(\d{1,5})\z/', $peer, $m) !== 1) {
            throw new InvalidArgumentException(sprintf("sendTo: expected a peer 'ip:port', got '%s'", $peer), Native::EINVAL);
        }
        $this->start();
        return $this->udp->send_to($m[1], (int) $m[2], $data, -1);
    }

    /**
     * Keeps $client open after the handler returns and includes it in
     * broadcast(), until removeClient().
     *
     * @param resource $client
     */
    public function addClient(mixed $client): static
    {
        $stream = self::stream($client, 'addClient');
        $this->clients[(int) $stream] = $stream;
        return $this;
    }

    /** Forgets $client (does not close it). @param resource $client */
    public function removeClient(mixed $client): static
    {
        if (is_resource($client) || get_debug_type($client) === 'resource (closed)') {
            unset($this->clients[(int) $client]);
        }
        return $this;
    }

    /**
     * The added clients that are still open, by resource id.
     *
     * @return array<int, resource>
     */
    public function getClients(): array
    {
        foreach ($this->clients as $id => $client) {
            if (!is_resource($client)) {
                unset($this->clients[$id]);
            }
        }
        return $this->clients;
    }

    /**
     * Writes $data to every added client (but $except); a client whose
     * connection broke is closed and forgotten.
     *
     * @param resource|null $except
     * @return int how many clients it was written to
     */
    public function broadcast(string $data, mixed $except = null): int
    {
        $count = 0;
        foreach ($this->getClients() as $id => $client) {
            if ($except !== null && $client === $except) {
                continue;
            }
            try {
                $this->send($client, $data);
                $count++;
            } catch (ConnectionException) {
                unset($this->clients[$id]);
                fclose($client);
            }
        }
        return $count;
    }

    /**
     * Stops: listen() returns (after the handler running now), and the
     * server, with its added clients, is closed; outside listen() at once.
     * Safe from handlers and signal handlers.
     */
    public function stop(): void
    {
        $this->stopping = true;
        if (!$this->running) {
            $this->close();
        }
    }

    /** Closes the listening socket and every added client. Idempotent. */
    public function close(): void
    {
        $this->stopping = true;
        if ($this->closed) {
            return;
        }
        $this->closed = true;
        $this->server?->close();
        $this->udp?->close();
        foreach ($this->clients as $client) {
            if (is_resource($client)) {
                fclose($client);
            }
        }
        $this->clients = [];
    }

    /**
     * Where failures of single clients go (a TLS handshake that failed, an
     * exception from the handler): fn(\Throwable $e, ?string $peerName, SocketServer $server).
     */
    public function onError(?callable $handler): static
    {
        $this->errorHandler = $handler;
        return $this;
    }

    /** The last failure of a single client (see onError()); null when none. */
    public function lastError(): ?\Throwable
    {
        return $this->lastError;
    }

    /** The peer of the last accepted connection or datagram ("ip:port"); null before one. */
    public function lastPeer(): ?string
    {
        return $this->lastPeer;
    }

    /** The bound port once started (the real one for port 0); before, the configured port. */
    public function getPort(): int
    {
        if (!$this->bound || $this->closed) {
            return $this->port;
        }
        if ($this->udp !== null) {
            $address = $this->udp->local_address();
            return (int) substr($address, strrpos($address, ':') + 1);
        }
        return $this->server->port();
    }

    public function getHost(): string
    {
        return $this->host;
    }

    public function getType(): string
    {
        return $this->type;
    }

    /** Whether the server is bound and not closed. */
    public function isListening(): bool
    {
        return $this->bound && !$this->closed;
    }

    /** Whether stop() was called (or a stop signal arrived). */
    public function isStopping(): bool
    {
        return $this->stopping;
    }

    // ---------------------------------------------------------------- helpers

    private function setOption(string $name, mixed $value): void
    {
        if ($name === 'timeout' && !is_int($value) && !is_float($value) && !(is_string($value) && is_numeric($value))) {
            throw new InvalidArgumentException('server option timeout: expected seconds', Native::EINVAL);
        }
        $text = Socket::optionText($name, $value);
        if ($this->udp !== null) {
            $this->udp->set_option($name, $text);
        } else {
            $this->server->set_option($name, $text);
        }
    }

    /** One native accept of at most $ms; a client's failed handshake is reported and counts as none. */
    private function acceptFor(int $ms): ?array
    {
        if ($this->closed) {
            return null;
        }
        try {
            $native = $this->server->accept($ms);
        } catch (ConnectionException $e) {
            $this->report($e, null);
            return null;
        }
        if ($native === null) {
            return null;
        }
        $this->lastPeer = $this->server->last_peer();
        return ['socket' => $native->stream($this->type === Socket::TYPE_TCP ? 0 : 1), 'peer' => $this->lastPeer];
    }

    /** Runs the handler for one connection or datagram; closes a client it left open and did not add. */
    private function serve(callable $handler, mixed $client, string $peer, bool $isStream): void
    {
        try {
            $handler($client, $peer, $this);
        } catch (\Throwable $e) {
            if ($isStream) {
                $this->release($client);
            }
            if ($this->errorHandler === null) {
                throw $e;
            }
            $this->report($e, $peer);
            return;
        }
        if ($isStream) {
            $this->release($client);
        }
    }

    private function release(mixed $client): void
    {
        if (is_resource($client) && !isset($this->clients[(int) $client])) {
            fclose($client);
        }
    }

    private function report(\Throwable $e, ?string $peer): void
    {
        $this->lastError = $e;
        if ($this->errorHandler !== null) {
            ($this->errorHandler)($e, $peer, $this);
        }
    }

    /** @return resource */
    private static function stream(mixed $client, string $what): mixed
    {
        if (!is_resource($client) || get_resource_type($client) !== 'stream') {
            throw new InvalidArgumentException(
                sprintf('%s: expected an open client stream, got %s', $what, get_debug_type($client)),
                Native::EINVAL
            );
        }
        return $client;
    }

    /** @param resource $stream */
    private static function name(mixed $stream): string
    {
        $name = @stream_socket_get_name($stream, true);
        return $name === false || $name === '' ? 'the client' : $name;
    }

    /** SIGINT and SIGTERM stop the server while listen() runs; returns the undo. */
    private function trapSignals(): \Closure
    {
        return StopSignals::trap(function (): void {
            $this->stopping = true;
        });
    }
}
