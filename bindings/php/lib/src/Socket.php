<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A client socket: TCP, TLS over TCP (ssl/tls), or UDP; the seed's Socket.
 *
 *     $socket = Socket::tcp()->timeout(10)->connect('example.com', 80);
 *     $socket->send("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
 *     $response = $socket->readAll();
 *     $socket->close();
 *
 * Every call waits at most the socket's timeout: timeout($seconds), else the
 * configuration's 'socket.timeout' (SOCKET_TIMEOUT), else 30 s. Failures
 * throw SocketException subclasses whose message says what failed and where
 * ("connection refused by 127.0.0.1:9"): ConnectionException (DNS, refused,
 * unreachable, TLS handshake or certificate, connection broken),
 * TimeoutException (a ConnectionException), InvalidArgumentException (bad
 * option or argument); getCode() is the native NX_E* status.
 *
 * TLS options are PHP's own ssl stream-context options (verify_peer,
 * verify_peer_name, allow_self_signed, cafile, capath, peer_name,
 * SNI_enabled, local_cert, local_pk, passphrase, ciphers); the peer and its
 * name are verified unless told otherwise, TLS 1.2 at least. Socket::ssl()
 * and Socket::tls() start from the configuration's 'socket.ssl' section
 * (SOCKET_SSL_VERIFY_PEER, SOCKET_SSL_VERIFY_PEER_NAME,
 * SOCKET_SSL_ALLOW_SELF_SIGNED), then apply $options.
 *
 * Binary-safe throughout. One thread at a time, as PHP is.
 */
class Socket
{
    public const TYPE_TCP = 'tcp';
    public const TYPE_UDP = 'udp';
    /** TLS right after connect (PHP's ssl://); the same as TYPE_TLS. */
    public const TYPE_SSL = 'ssl';
    /** TLS right after connect (PHP's tls://). */
    public const TYPE_TLS = 'tls';

    /** receive() without a length; readLine()'s longest line; readAll()'s most. */
    public const DEFAULT_LENGTH = 8192;
    public const MAX_LINE = 65536;
    public const MAX_READ_ALL = 67108864;

    /** The default timeout in seconds when neither timeout() nor SOCKET_TIMEOUT says one. */
    public const DEFAULT_TIMEOUT = 30;

    private string $type;
    private \NxSocket $native;
    private float $timeout;
    private bool $tls;
    private bool $detached = false;
    private ?string $lastPeer = null;

    /**
     * @param string $type one of the TYPE_* constants ('tcp', 'udp', 'ssl', 'tls')
     * @param array<string, mixed> $options setOption() names => values
     * @throws InvalidArgumentException an unknown type, option or value
     */
    public function __construct(string $type = self::TYPE_TCP, array $options = [])
    {
        Native::require();
        $this->type = self::normalizeType($type);
        $this->tls = $this->type === self::TYPE_SSL || $this->type === self::TYPE_TLS;
        $this->native = new \NxSocket(self::nativeType($this->type));
        $this->timeout(self::configuredTimeout());
        foreach ($options as $name => $value) {
            $this->setOption((string) $name, $value);
        }
    }

    public static function tcp(): static
    {
        return new static(self::TYPE_TCP);
    }

    public static function udp(): static
    {
        return new static(self::TYPE_UDP);
    }

    /**
     * A socket that does the TLS handshake right after connect().
     *
     * @param array<string, mixed> $options PHP's ssl context options (and socket options)
     */
    public static function ssl(array $options = []): static
    {
        return new static(self::TYPE_SSL, array_merge(self::tlsDefaults(), $options));
    }

    /** @param array<string, mixed> $options as ssl() */
    public static function tls(array $options = []): static
    {
        return new static(self::TYPE_TLS, array_merge(self::tlsDefaults(), $options));
    }

    /**
     * A socket of the type named by text ('tcp', 'udp', 'ssl', 'tls'), as the helper socket() does.
     *
     * @param array<string, mixed> $options
     */
    public static function create(string $type = self::TYPE_TCP, array $options = []): static
    {
        $type = self::normalizeType($type);
        if ($type === self::TYPE_SSL || $type === self::TYPE_TLS) {
            $options = array_merge(self::tlsDefaults(), $options);
        }
        return new static($type, $options);
    }

    /** The type: one of the TYPE_* constants. */
    public function getType(): string
    {
        return $this->type;
    }

    /**
     * The timeout of every later call (connect, send, receive, readLine,
     * readAll, enableCrypto), in seconds (fractions allowed).
     *
     * @throws InvalidArgumentException unless 0 < $seconds <= 86400
     */
    public function timeout(int|float $seconds): static
    {
        $seconds = (float) $seconds;
        if (!($seconds > 0.0) || $seconds > 86400.0) {
            throw new InvalidArgumentException(
                sprintf('socket timeout: expected seconds in (0, 86400], got %s', var_export($seconds, true)),
                Native::EINVAL
            );
        }
        $this->live()->set_option('timeout', self::number($seconds));
        $this->timeout = $seconds;
        return $this;
    }

    /** The timeout in seconds that calls use. */
    public function getTimeout(): float
    {
        return $this->timeout;
    }

    /**
     * Sets a TLS option (PHP's ssl context names) or a socket option
     * ('timeout', 'tcp_nodelay', 'keepalive', 'rcvbuf', 'sndbuf', 'broadcast'
     * for UDP). Booleans may be given as bool or as 1/0, true/false, yes/no,
     * on/off. TLS options apply to the next connect() or enableCrypto().
     *
     * @throws InvalidArgumentException an unknown name or a bad value
     */
    public function setOption(string $name, mixed $value): static
    {
        if ($name === 'timeout') {
            if (!is_int($value) && !is_float($value) && !(is_string($value) && is_numeric($value))) {
                throw new InvalidArgumentException('socket option timeout: expected seconds', Native::EINVAL);
            }
            return $this->timeout((float) $value);
        }
        $this->live()->set_option($name, self::optionText($name, $value));
        return $this;
    }

    /**
     * Connects (TCP, TLS: then the handshake) within $timeout seconds (null:
     * the socket's timeout). UDP: sets the peer of send() and receive().
     *
     * @throws ConnectionException DNS, refused, unreachable, TLS handshake or certificate
     * @throws TimeoutException    not connected in time
     */
    public function connect(string $host, int $port, int|float|null $timeout = null): static
    {
        $this->live()->connect($host, $port, self::milliseconds($timeout));
        return $this;
    }

    /** Whether the socket is connected and the peer has not ended the stream (UDP: bound or connected). */
    public function isConnected(): bool
    {
        return !$this->detached && $this->native->is_connected();
    }

    /**
     * Sends all of $data (binary-safe), waiting while the connection is full.
     * UDP: one datagram to the connected peer.
     *
     * @return int the bytes written: strlen($data)
     * @throws TimeoutException not all of it could be written in time (the message says how much was)
     * @throws ConnectionException the connection broke
     */
    public function send(string $data): int
    {
        $written = $this->live()->send($data, -1);
        if ($written < strlen($data)) {
            throw new TimeoutException(
                sprintf('sent %d of %d bytes to %s before the timeout (%s s)', $written, strlen($data),
                    $this->peerAddress() ?: 'the peer', self::number($this->timeout)),
                \NX_ETIMEDOUT
            );
        }
        return $written;
    }

    /**
     * At most $length bytes, as soon as some arrived; '' at the end of the
     * stream. UDP: one datagram (its sender in lastPeer()).
     *
     * @throws TimeoutException nothing arrived in time
     */
    public function receive(int $length = self::DEFAULT_LENGTH): string
    {
        if ($this->type === self::TYPE_UDP) {
            return $this->receiveFrom($length);
        }
        return $this->live()->receive($length, -1);
    }

    /**
     * One line including its "\n" (at the end of the stream the unterminated
     * rest); null once the stream has ended.
     *
     * @throws TimeoutException no whole line in time (what came stays buffered)
     * @throws InvalidArgumentException $maxLength bytes hold no "\n" (they stay buffered)
     */
    public function readLine(int $maxLength = self::MAX_LINE): ?string
    {
        return $this->live()->read_line($maxLength, -1);
    }

    /**
     * Everything until the peer closes the connection (the timeout is for the whole call).
     *
     * @throws TimeoutException the peer did not close in time
     * @throws InvalidArgumentException more than $maxLength bytes
     */
    public function readAll(int $maxLength = self::MAX_READ_ALL): string
    {
        return $this->live()->read_all($maxLength, -1);
    }

    /**
     * Turns TLS on over this connected TCP socket (STARTTLS), with the TLS
     * options set on it. $method is one of PHP's STREAM_CRYPTO_METHOD_*
     * constants: a *_CLIENT method (or true) handshakes as the client and
     * verifies the host given to connect() (or peer_name), a *_SERVER method
     * as the server (needs local_cert). TLS 1.2 or 1.3 is negotiated whatever
     * versions the method names. On a socket that already speaks TLS as that
     * side (Socket::ssl(), Socket::tls()) it does nothing.
     *
     * @throws ConnectionException the handshake failed
     * @throws InvalidArgumentException false (TLS cannot be turned off), or a UDP socket
     */
    public function enableCrypto(int|bool $method = STREAM_CRYPTO_METHOD_TLS_CLIENT, int|float|null $timeout = null): static
    {
        if ($method === false) {
            throw new InvalidArgumentException('enableCrypto: TLS cannot be turned off on a connection', Native::EINVAL);
        }
        if ($this->type === self::TYPE_UDP) {
            throw new InvalidArgumentException('enableCrypto: not for a UDP socket', Native::EINVAL);
        }
        $server = $method !== true && ($method & 1) === 0;
        if ($this->tls && !$server) {
            return $this;
        }
        $this->live()->start_tls($server ? 1 : 0, self::milliseconds($timeout));
        $this->tls = true;
        return $this;
    }

    /** Whether the connection speaks TLS (ssl/tls sockets, or after enableCrypto()). */
    public function isEncrypted(): bool
    {
        return $this->tls;
    }

    /** UDP: binds to $host:$port (0: any free port) to receive datagrams. */
    public function bind(string $host, int $port = 0): static
    {
        $this->live()->bind($host, $port);
        return $this;
    }

    /**
     * UDP: one datagram to $host:$port.
     *
     * @return int the bytes sent
     */
    public function sendTo(string $host, int $port, string $data): int
    {
        return $this->live()->send_to($host, $port, $data, -1);
    }

    /**
     * UDP: the next datagram (at most $length bytes); $peer and lastPeer()
     * tell its sender, "ip:port".
     *
     * @throws TimeoutException none arrived in time
     */
    public function receiveFrom(int $length = 65536, ?string &$peer = null): string
    {
        $data = $this->live()->receive_from($length, -1);
        $peer = $this->lastPeer = $this->native->last_sender();
        return $data;
    }

    /** The sender of the last datagram received ("ip:port"); null before one. */
    public function lastPeer(): ?string
    {
        return $this->lastPeer;
    }

    /** "ip:port" of the peer ("" when not connected). */
    public function peerAddress(): string
    {
        return $this->detached ? '' : $this->native->peer_address();
    }

    /** "ip:port" of this end ("" when there is none). */
    public function localAddress(): string
    {
        return $this->detached ? '' : $this->native->local_address();
    }

    /**
     * Closes the connection (TLS: sends close_notify). Idempotent; the
     * socket can connect() again afterwards.
     */
    public function close(): void
    {
        if (!$this->detached) {
            $this->native->close();
        }
    }

    /**
     * Hands the connection over to a PHP stream resource (fread, fwrite,
     * fgets, feof, fclose, stream_select, stream_set_timeout work on it),
     * which owns it from then on: this object is done, and fclose() closes
     * the connection.
     *
     * @return resource
     */
    public function detach(): mixed
    {
        $stream = $this->live()->stream($this->tls ? 1 : 0);
        $this->detached = true;
        return $stream;
    }

    /** @internal the native socket */
    public function native(): \NxSocket
    {
        return $this->live();
    }

    // ---------------------------------------------------------------- helpers

    private function live(): \NxSocket
    {
        if ($this->detached) {
            throw new SocketException('this socket was handed over to a stream with detach()', Native::ESTATE);
        }
        return $this->native;
    }

    /** @internal the type constant for 'tcp', 'TCP', 'ssl', ... */
    public static function normalizeType(string $type): string
    {
        $lower = strtolower($type);
        if (!in_array($lower, [self::TYPE_TCP, self::TYPE_UDP, self::TYPE_SSL, self::TYPE_TLS], true)) {
            throw new InvalidArgumentException(
                sprintf("socket type: expected 'tcp', 'udp', 'ssl' or 'tls', got '%s'", $type),
                Native::EINVAL
            );
        }
        return $lower;
    }

    /** @internal NX_SOCKET_* for a type constant */
    public static function nativeType(string $type): int
    {
        return match ($type) {
            self::TYPE_TCP => \NX_SOCKET_TCP,
            self::TYPE_UDP => \NX_SOCKET_UDP,
            default => \NX_SOCKET_TLS,
        };
    }

    /**
     * @internal the seconds of 'socket.timeout' (SOCKET_TIMEOUT), else 30
     * @throws InvalidArgumentException a value that is not a number of seconds
     */
    public static function configuredTimeout(): float
    {
        $value = Config::get('socket.timeout', self::DEFAULT_TIMEOUT);
        if ($value === null || $value === '') {
            return self::DEFAULT_TIMEOUT;
        }
        if ((!is_int($value) && !is_float($value) && !(is_string($value) && is_numeric($value)))
            || !((float) $value > 0.0) || (float) $value > 86400.0) {
            throw new InvalidArgumentException(
                sprintf("socket.timeout (SOCKET_TIMEOUT): expected seconds in (0, 86400], got '%s'",
                    is_scalar($value) ? (string) $value : get_debug_type($value)),
                Native::EINVAL
            );
        }
        return (float) $value;
    }

    /**
     * @internal 'socket.ssl' of the configuration (SOCKET_SSL_*)
     * @return array<string, mixed>
     */
    public static function tlsDefaults(): array
    {
        $ssl = Config::get('socket.ssl', []);
        if (!is_array($ssl)) {
            return [];
        }
        return array_filter($ssl, static fn ($value) => $value !== null && $value !== '');
    }

    /** @internal an option value as the native layer takes it */
    public static function optionText(string $name, mixed $value): string
    {
        return match (true) {
            is_bool($value) => $value ? 'true' : 'false',
            is_int($value) => (string) $value,
            is_float($value) => self::number($value),
            is_string($value) => $value,
            $value === null => '',
            default => throw new InvalidArgumentException(
                sprintf('socket option %s: expected a string, number or bool, got %s', $name, get_debug_type($value)),
                Native::EINVAL
            ),
        };
    }

    /** @internal seconds (null: the default) as the native milliseconds (-1: the default) */
    public static function milliseconds(int|float|null $seconds): int
    {
        if ($seconds === null) {
            return -1;
        }
        if (!((float) $seconds >= 0.0) || (float) $seconds > 86400.0) {
            throw new InvalidArgumentException(
                sprintf('timeout: expected seconds in [0, 86400], got %s', var_export($seconds, true)),
                Native::EINVAL
            );
        }
        return (int) round($seconds * 1000);
    }

    private static function number(float $value): string
    {
        $text = rtrim(rtrim(sprintf('%.6F', $value), '0'), '.');
        return $text === '' ? '0' : $text;
    }
}
