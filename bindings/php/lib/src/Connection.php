<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * One client of a WebSocket server, as the server's callbacks receive it
 * ($client): what its opening handshake said, and the application's own data
 * about it.
 *
 * Read it as properties ($client->peer) or as an array ($client['peer'], the
 * keys of getClients()). The request facts are read-only; $client->data (or
 * set()/get()) holds whatever the application wants for the connection's life:
 * what a 'handshake' handler stores there is still there in 'connect',
 * 'message' and 'disconnect'.
 *
 * The same object is given to every callback about that client; a handshake
 * request awaiting its decision is a Connection too, with isPending() true.
 *
 * @implements \ArrayAccess<string, mixed>
 */
final class Connection implements \ArrayAccess, \JsonSerializable
{
    /** The request facts, read as properties ($client->peer) or array keys. */
    private const FACTS = [
        'peer', 'path', 'query', 'headers', 'origin', 'subprotocol', 'connectedAt', 'compressed',
    ];

    /** @var array<string, mixed> the application's data about this client */
    public array $data = [];

    /**
     * The request facts (FACTS => value), read from the extension the first
     * time one is asked for: an idle client costs the PHP side nothing but
     * its id, so a PHP server holds as many idle clients as a native one.
     *
     * @var array<string, mixed>|null
     */
    private ?array $facts;

    /** @var \WeakReference<WebSocket>|null the server, for the facts and the shortcuts send() etc. */
    private ?\WeakReference $server;

    /**
     * @param string $id the client's id, unique for the server's life
     * @param array<string, mixed>|null $facts the request facts when known (see FACTS), else read on demand
     * @param array<string, mixed> $data initial application data
     */
    public function __construct(
        public readonly string $id,
        ?array $facts = null,
        ?WebSocket $server = null,
        array $data = [],
    ) {
        $this->facts = $facts;
        $this->server = $server === null ? null : \WeakReference::create($server);
        $this->data = $data;
    }

    /**
     * From what the extension knows of a client.
     *
     * @param array<string, mixed> $data the application's data so far (from the handshake)
     * @internal
     */
    public static function fromInfo(\NxWsClientInfo $info, ?WebSocket $server, array $data = []): self
    {
        return new self((string) $info->id, self::factsOf($info), $server, $data);
    }

    /**
     * The facts of a client (peer: "ip:port", path: "/" at least, query: without
     * '?', headers: lower-case name => value, origin, subprotocol: "" when none,
     * connectedAt: Unix seconds or null while pending, compressed: permessage-deflate).
     *
     * @return array<string, mixed>
     * @internal
     */
    public static function factsOf(\NxWsClientInfo $info): array
    {
        $connectedMs = (int) $info->connected_at_ms;
        return [
            'peer' => (string) $info->peer,
            'path' => (string) $info->path,
            'query' => (string) $info->query,
            'headers' => self::parseHeaders((string) $info->headers()),
            'origin' => (string) $info->origin,
            'subprotocol' => (string) $info->subprotocol,
            'connectedAt' => ((int) $info->pending !== 0 || $connectedMs === 0) ? null : $connectedMs / 1000,
            'compressed' => (int) $info->compressed !== 0,
        ];
    }

    /** What a client that left before anything was known of it shows. */
    private const UNKNOWN_FACTS = [
        'peer' => '', 'path' => '/', 'query' => '', 'headers' => [], 'origin' => '', 'subprotocol' => '',
        'connectedAt' => null, 'compressed' => false,
    ];

    /** The request facts as read-only properties: $client->peer, ->path, ->headers, ... */
    public function __get(string $name): mixed
    {
        if (!in_array($name, self::FACTS, true)) {
            throw new \Error('Undefined property: ' . self::class . '::$' . $name);
        }
        return $this->facts()[$name];
    }

    public function __isset(string $name): bool
    {
        return in_array($name, self::FACTS, true);
    }

    public function __set(string $name, mixed $value): void
    {
        throw new \LogicException("a client's {$name} is read-only; keep your own values in \$client->data or \$client->set()");
    }

    /** @return array<string, mixed> */
    private function facts(): array
    {
        if ($this->facts === null) {
            $this->facts = $this->server?->get()?->factsOf($this->id) ?? self::UNKNOWN_FACTS;
        }
        return $this->facts;
    }

    /**
     * "Name: value\r\n" lines as lower-case name => value; a repeated header's
     * values are joined with ", " (RFC 9110 §5.3).
     *
     * @return array<string, string>
     */
    public static function parseHeaders(string $lines): array
    {
        $headers = [];
        foreach (explode("\r\n", $lines) as $line) {
            $colon = strpos($line, ':');
            if ($colon === false || $colon === 0) {
                continue;
            }
            $name = strtolower(trim(substr($line, 0, $colon)));
            $value = trim(substr($line, $colon + 1));
            $headers[$name] = isset($headers[$name]) ? $headers[$name] . ', ' . $value : $value;
        }
        return $headers;
    }

    /** Whether this is a handshake request still awaiting the 'handshake' handler's decision. */
    public function isPending(): bool
    {
        return $this->connectedAt === null;
    }

    /** A request header by name, any case; null when absent. */
    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)] ?? null;
    }

    /** @return array<mixed> the query string parsed as PHP parses one ("a=1&b[]=2") */
    public function queryParams(): array
    {
        parse_str($this->query, $params);
        return $params;
    }

    /** A value of the application's data, $default when not set. */
    public function get(string $key, mixed $default = null): mixed
    {
        return array_key_exists($key, $this->data) ? $this->data[$key] : $default;
    }

    /** Sets a value of the application's data. */
    public function set(string $key, mixed $value): static
    {
        $this->data[$key] = $value;
        return $this;
    }

    /** WebSocket::send() to this client. */
    public function send(string $message): bool
    {
        return $this->server()->send($this->id, $message);
    }

    /** WebSocket::sendBinary() to this client. */
    public function sendBinary(string $data): bool
    {
        return $this->server()->sendBinary($this->id, $data);
    }

    /** WebSocket::disconnect() of this client. */
    public function disconnect(int $code = 1000, string $reason = ''): bool
    {
        return $this->server()->disconnect($this->id, $code, $reason);
    }

    /**
     * What getClients() shows for this client.
     *
     * @return array{id: string, peer: string, path: string, query: string, headers: array<string, string>,
     *               origin: string, subprotocol: string, connected_at: float|null, compressed: bool,
     *               data: array<string, mixed>}
     */
    public function toArray(): array
    {
        return [
            'id' => $this->id,
            'peer' => $this->peer,
            'path' => $this->path,
            'query' => $this->query,
            'headers' => $this->headers,
            'origin' => $this->origin,
            'subprotocol' => $this->subprotocol,
            'connected_at' => $this->connectedAt,
            'compressed' => $this->compressed,
            'data' => $this->data,
        ];
    }

    /** @return array<string, mixed> */
    public function jsonSerialize(): array
    {
        return $this->toArray();
    }

    public function offsetExists(mixed $offset): bool
    {
        return array_key_exists($offset, $this->toArray());
    }

    public function offsetGet(mixed $offset): mixed
    {
        $fields = $this->toArray();
        if (!array_key_exists($offset, $fields)) {
            throw new InvalidArgumentException(
                "a client has no field '{$offset}'; fields: " . implode(', ', array_keys($fields)),
                Native::EINVAL
            );
        }
        return $fields[$offset];
    }

    /** The request facts are read-only; the application's data goes in ->data or set(). */
    public function offsetSet(mixed $offset, mixed $value): void
    {
        throw new \LogicException('a client\'s fields are read-only; keep your own values in $client->data or $client->set()');
    }

    public function offsetUnset(mixed $offset): void
    {
        throw new \LogicException('a client\'s fields are read-only; keep your own values in $client->data or $client->set()');
    }

    private function server(): WebSocket
    {
        $server = $this->server?->get();
        if ($server === null) {
            throw new SocketException("client {$this->id} has no server any more", Native::ESTATE);
        }
        return $server;
    }
}
