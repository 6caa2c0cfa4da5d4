<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A WebSocket client (ws:// and wss://), blocking and simple, over the extension's NxWsClient.
 *
 *     $client = (new WebSocketClient())->connect('ws://127.0.0.1:8080/chat');
 *     $client->send('hello');
 *     $reply = $client->receive(5.0);        // a string, or null (timeout or closed)
 *     $client->close();
 *
 * receive() returns text and binary messages alike, as strings;
 * lastMessageIsBinary() tells which the last one was. Pings from the server are
 * answered on their own (auto_pong) while receive() waits.
 *
 * wss:// verifies the server's certificate against the system's CAs and its
 * name against the host, unless the 'ssl' option (PHP's ssl context options:
 * cafile, verify_peer, verify_peer_name, allow_self_signed, peer_name, ...)
 * says otherwise; its defaults come from config/socket.php's 'ssl' section
 * (SOCKET_SSL_*), as for Socket::ssl().
 */
class WebSocketClient
{
    /** Client options: name => [native field, kind]. */
    private const OPTIONS = [
        'timeout' => 'connect_timeout_ms',
        'subprotocols' => 'subprotocols',
        'headers' => 'headers',
        'origin' => 'origin',
        'compression' => 'permessage_deflate',
        'max_message_size' => 'max_message_size',
        'auto_pong' => 'auto_pong',
    ];

    private ?\NxWsClient $client = null;

    private bool $lastBinary = false;

    private ?int $closeCode = null;

    private string $closeReason = '';

    private string $url = '';

    /**
     * @throws SocketException when the nexus_socket extension is not loaded
     */
    public function __construct()
    {
        Native::require();
    }

    /**
     * Connects and completes the opening handshake.
     *
     * @param string $url ws:// or wss://host[:port][/path][?query]
     * @param array{timeout?: float|int, subprotocols?: list<string>|string, headers?: array<string, string>,
     *              origin?: string, compression?: bool, max_message_size?: int, auto_pong?: bool,
     *              ssl?: array<string, mixed>} $options
     *        timeout: seconds for DNS + TCP + handshake (10); subprotocols offered in order;
     *        extra request headers; the Origin header; offer permessage-deflate (false);
     *        the largest message accepted (16 MiB); answer pings at once (true); for wss://
     *        PHP's ssl context options
     * @throws InvalidArgumentException a malformed URL or option
     * @throws TimeoutException not connected within the timeout
     * @throws ConnectionException DNS, refused, unreachable, a failed TLS handshake, a refused
     *         certificate, or a refused handshake (httpStatus() tells the status)
     */
    public function connect(string $url, array $options = []): static
    {
        if ($this->client !== null && $this->isOpen()) {
            throw new SocketException("already connected to {$this->url}", Native::ESTATE);
        }
        $ssl = $options['ssl'] ?? [];
        unset($options['ssl']);
        if (!is_array($ssl)) {
            self::bad('ssl', 'an array of PHP ssl context options');
        }
        $client = new \NxWsClient(self::nativeOptions($options));
        foreach (TlsOptions::toNative($ssl + Socket::tlsDefaults(), 'WebSocketClient option ssl') as $name => $text) {
            $client->set_tls_option($name, $text);
        }
        $this->client = $client;
        $this->url = $url;
        $this->closeCode = null;
        $this->closeReason = '';
        $client->connect($url);
        return $this;
    }

    /** Whether the connection is open (connected, not closed). */
    public function isOpen(): bool
    {
        return $this->client !== null && $this->closeCode === null && (bool) $this->client->is_open();
    }

    /** The HTTP status of a refused handshake (0 when there was none). */
    public function httpStatus(): int
    {
        return $this->client === null ? 0 : (int) $this->client->http_status();
    }

    /** The subprotocol the server chose ("" when none). */
    public function subprotocol(): string
    {
        return $this->client === null ? '' : (string) $this->client->subprotocol();
    }

    /**
     * Sends a text message (UTF-8).
     *
     * @throws InvalidArgumentException text that is not UTF-8
     * @throws ConnectionException the connection is closed or broke
     */
    public function send(string $message): void
    {
        $this->native()->send($message, Native::OPCODE_TEXT);
    }

    /**
     * Sends a binary message.
     *
     * @throws ConnectionException the connection is closed or broke
     */
    public function sendBinary(string $data): void
    {
        $this->native()->send($data, Native::OPCODE_BINARY);
    }

    /**
     * Sends a ping with at most 125 bytes of payload; the server's pong is
     * consumed by receive().
     */
    public function ping(string $data = ''): void
    {
        $this->native()->ping($data);
    }

    /**
     * The next message, waiting at most $timeout seconds (null: without limit).
     *
     * @return string|null the message (text or binary: lastMessageIsBinary()); null when the
     *         time ran out, or when the connection closed (then isOpen() is false and
     *         closeCode()/closeReason() say how)
     */
    public function receive(?float $timeout = null): ?string
    {
        if ($this->client === null) {
            throw new SocketException('not connected: call connect() first', Native::ESTATE);
        }
        $deadline = $timeout === null ? null : TimerQueue::now() + max(0.0, $timeout);
        while ($this->closeCode === null) {
            $waitMs = $deadline === null ? -1 : (int) ceil(max(0.0, $deadline - TimerQueue::now()) * 1000);
            try {
                $kind = (int) $this->client->poll($waitMs);
            } catch (ConnectionException $e) {
                // The transport broke without a close frame: that is close 1006 (RFC 6455 §7.1.5).
                $this->closeCode = 1006;
                $this->closeReason = $e->getMessage();
                return null;
            }
            switch ($kind) {
                case Native::EVENT_MESSAGE:
                    $this->lastBinary = (int) $this->client->event_opcode() === Native::OPCODE_BINARY;
                    return (string) $this->client->event_data();
                case Native::EVENT_DISCONNECT:
                    $this->closeCode = (int) $this->client->event_close_code();
                    $this->closeReason = (string) $this->client->event_data();
                    return null;
                case Native::EVENT_NONE:
                    if ($deadline !== null && TimerQueue::now() >= $deadline) {
                        return null;
                    }
                    break;
                default:
                    break; // ping (answered already) or pong: keep waiting
            }
        }
        return null;
    }

    /** Whether the message last returned by receive() was binary. */
    public function lastMessageIsBinary(): bool
    {
        return $this->lastBinary;
    }

    /** The close code once the connection closed (1005: none given, 1006: no close frame); null while open. */
    public function closeCode(): ?int
    {
        return $this->closeCode;
    }

    /** The close reason once the connection closed. */
    public function closeReason(): string
    {
        return $this->closeReason;
    }

    /**
     * Closes with $code and $reason and waits (at most $timeout seconds) for
     * the server's answer, dropping messages that still arrive. Closing a
     * closed client does nothing.
     */
    public function close(int $code = 1000, string $reason = '', float $timeout = 5.0): void
    {
        if ($this->client === null || $this->closeCode !== null) {
            return;
        }
        try {
            $this->client->close($code, $reason);
        } catch (ConnectionException) {
            $this->closeCode = 1006; // broke already
            return;
        }
        $deadline = TimerQueue::now() + $timeout;
        while ($this->closeCode === null && TimerQueue::now() < $deadline) {
            try {
                $this->receive(max(0.0, $deadline - TimerQueue::now()));
            } catch (ConnectionException) {
                $this->closeCode = 1006;
            }
        }
    }

    private function native(): \NxWsClient
    {
        if ($this->client === null) {
            throw new SocketException('not connected: call connect() first', Native::ESTATE);
        }
        return $this->client;
    }

    /** @param array<string, mixed> $options */
    private static function nativeOptions(array $options): \NxWsClientOptions
    {
        $native = new \NxWsClientOptions();
        foreach ($options as $name => $value) {
            $field = self::OPTIONS[$name] ?? null;
            if ($field === null) {
                throw new InvalidArgumentException(
                    "unknown WebSocketClient option '{$name}'; known: ssl, " . implode(', ', array_keys(self::OPTIONS)),
                    Native::EINVAL
                );
            }
            $native->{$field} = match ($name) {
                'timeout' => (is_int($value) || is_float($value)) && $value >= 0
                    ? (int) round($value * 1000)
                    : self::bad($name, 'seconds >= 0'),
                'subprotocols' => is_array($value) ? implode(',', $value)
                    : (is_string($value) ? $value : self::bad($name, 'a list of names')),
                'headers' => is_array($value) ? self::headerLines($value) : self::bad($name, 'name => value pairs'),
                'origin' => is_string($value) ? $value : self::bad($name, 'a string'),
                'compression', 'auto_pong' => is_bool($value) ? (int) $value : self::bad($name, 'true or false'),
                'max_message_size' => is_int($value) && $value > 0 ? $value : self::bad($name, 'bytes > 0'),
            };
        }
        return $native;
    }

    /** @param array<string, string> $headers */
    private static function headerLines(array $headers): string
    {
        $lines = '';
        foreach ($headers as $name => $value) {
            if (!is_string($name) || !is_scalar($value) || preg_match('/[\r\n:]/', $name) === 1
                || preg_match('/[\r\n]/', (string) $value) === 1) {
                self::bad('headers', 'name => value pairs without line breaks');
            }
            $lines .= "{$name}: {$value}\r\n";
        }
        return $lines;
    }

    private static function bad(string $name, string $expected): never
    {
        throw new InvalidArgumentException("WebSocketClient option '{$name}': expected {$expected}", Native::EINVAL);
    }
}
