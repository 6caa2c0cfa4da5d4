<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A WebSocket server's settings: resolved from, in rising order, the native
 * defaults, the environment (WEBSOCKET_*, .env), config/socket.php's
 * 'websocket' section and the options given in code; checked; and turned
 * into the extension's NxWsServerOptions.
 *
 * Names and units are those of config/socket.php: times in seconds (fractions
 * allowed), sizes in bytes, lists as arrays or comma-separated strings. The
 * environment variables are those of docs/configuration.md.
 *
 * @internal used by WebSocket
 */
final class ServerOptions
{
    /**
     * key => [environment variable or null, kind, native field, min, max].
     * Kinds: host, port, count, seconds, rate, list, bool, dir, level, int, text, scaling, redis_url.
     */
    private const SETTINGS = [
        'host' => ['WEBSOCKET_HOST', 'host', 'host', 0, 0],
        'port' => ['WEBSOCKET_PORT', 'port', 'port', 0, 65535],
        'threads' => ['WEBSOCKET_THREADS', 'count', 'threads', 1, 256],
        'max_clients' => ['WEBSOCKET_MAX_CLIENTS', 'count', 'max_clients', 0, 10_000_000],
        'ping_interval' => ['WEBSOCKET_PING_INTERVAL', 'seconds', 'ping_interval_ms', 0, 0],
        'pong_timeout' => ['WEBSOCKET_PONG_TIMEOUT', 'seconds', 'pong_timeout_ms', 0, 0],
        'handshake_timeout' => ['WEBSOCKET_HANDSHAKE_TIMEOUT', 'seconds', 'handshake_timeout_ms', 0, 0],
        'idle_timeout' => ['WEBSOCKET_IDLE_TIMEOUT', 'seconds', 'idle_timeout_ms', 0, 0],
        'stop_timeout' => ['WEBSOCKET_STOP_TIMEOUT', 'seconds', 'close_timeout_ms', 0, 0],
        'max_header_bytes' => ['WEBSOCKET_MAX_HEADER_BYTES', 'count', 'max_header_bytes', 1, 1 << 20],
        'max_frame_size' => ['WEBSOCKET_MAX_FRAME_SIZE', 'count', 'max_frame_size', 1, 1 << 40],
        'max_message_size' => ['WEBSOCKET_MAX_MESSAGE_SIZE', 'count', 'max_message_size', 1, 1 << 40],
        'max_send_queue' => ['WEBSOCKET_MAX_SEND_QUEUE', 'count', 'max_send_queue', 1, 1 << 40],
        'rate_limit' => ['WEBSOCKET_RATE_LIMIT', 'rate', 'max_messages_per_second', 0, 0],
        'allowed_origins' => ['WEBSOCKET_ALLOWED_ORIGINS', 'list', 'allowed_origins', 0, 0],
        'subprotocols' => ['WEBSOCKET_SUBPROTOCOLS', 'list', 'subprotocols', 0, 0],
        'compression' => ['WEBSOCKET_COMPRESSION', 'bool', 'permessage_deflate', 0, 0],
        'deflate_level' => ['WEBSOCKET_COMPRESSION_LEVEL', 'int', 'deflate_level', -1, 9],
        'static_dir' => ['WEBSOCKET_STATIC_DIR', 'dir', 'static_dir', 0, 0],
        'log_level' => ['WEBSOCKET_LOG_LEVEL', 'level', 'log_level', 0, 0],
        // Tuning without environment variables: options or config/socket.php only.
        'deflate_server_no_context_takeover' => [null, 'bool', 'deflate_server_no_context_takeover', 0, 0],
        'deflate_client_no_context_takeover' => [null, 'bool', 'deflate_client_no_context_takeover', 0, 0],
        'deflate_server_max_window_bits' => [null, 'int', 'deflate_server_max_window_bits', 8, 15],
        'deflate_client_max_window_bits' => [null, 'int', 'deflate_client_max_window_bits', 8, 15],
        'deflate_memory_level' => [null, 'int', 'deflate_memory_level', 1, 9],
        'max_event_queue' => [null, 'count', 'max_event_queue', 1, 1 << 40],
        // Scaling (docs/scaling.md): 'redis' shares clients, broadcasts, channels and
        // presence with every server on the same Redis and prefix; 'none' (default) is off.
        'scaling' => ['WEBSOCKET_SCALING', 'scaling', 'scaling_redis', 0, 0],
        'redis_url' => ['REDIS_URL', 'redis_url', 'redis_url', 0, 0],
        'scaling_prefix' => ['WEBSOCKET_SCALING_PREFIX', 'text', 'scaling_prefix', 0, 0],
        'scaling_lease' => ['WEBSOCKET_SCALING_LEASE', 'seconds', 'scaling_lease_ms', 0, 0],
        'scaling_timeout' => ['WEBSOCKET_SCALING_TIMEOUT', 'seconds', 'scaling_timeout_ms', 0, 0],
        'scaling_backlog' => ['WEBSOCKET_SCALING_BACKLOG', 'count', 'scaling_max_backlog', 1, 1 << 40],
        // wss://: applied with set_tls_option (no native field); see tls().
        'tls_cert' => ['WEBSOCKET_TLS_CERT', 'text', null, 0, 0],
        'tls_key' => ['WEBSOCKET_TLS_KEY', 'text', null, 0, 0],
        'tls_passphrase' => ['WEBSOCKET_TLS_PASSPHRASE', 'text', null, 0, 0],
    ];

    /** What tls_cert, tls_key and tls_passphrase are in PHP's ssl context. */
    private const TLS_NAMES = ['tls_cert' => 'local_cert', 'tls_key' => 'local_pk', 'tls_passphrase' => 'passphrase'];

    /** The longest time a native uint32 millisecond field holds, in seconds. */
    private const MAX_SECONDS = 4_294_967.0;

    /**
     * @param array<string, mixed> $values checked values, by key; absent keys keep the native default
     * @param array<string, string> $ssl the 'ssl' option as native TLS options
     */
    private function __construct(private readonly array $values, private readonly array $ssl)
    {
    }

    /**
     * Resolves every setting.
     *
     * @param array<string, mixed> $options the code's options (config/socket.php's names)
     * @throws InvalidArgumentException for an unknown option or a value that does not parse;
     *         the message names the setting and where the value came from
     */
    public static function resolve(?string $host, ?int $port, array $options): self
    {
        foreach (array_keys($options) as $key) {
            if ($key === 'ssl') {
                continue;
            }
            if (!is_string($key) || !isset(self::SETTINGS[$key])) {
                throw new InvalidArgumentException(
                    "unknown WebSocket option '{$key}'; known: " . implode(', ', [...array_keys(self::SETTINGS), 'ssl']),
                    Native::EINVAL
                );
            }
        }
        if ($host !== null) {
            $options['host'] = $host;
        }
        if ($port !== null) {
            $options['port'] = $port;
        }
        $config = Config::get('socket.websocket', []);
        $config = is_array($config) ? $config : [];

        $values = [];
        foreach (self::SETTINGS as $key => [$variable, $kind, , $min, $max]) {
            if (array_key_exists($key, $options)) {
                [$raw, $source] = [$options[$key], "option '{$key}'"];
            } elseif (array_key_exists($key, $config) && $config[$key] !== null) {
                [$raw, $source] = [$config[$key], "websocket.{$key}" . ($variable ? " ({$variable})" : '')];
            } elseif (($fromEnv = self::variableFor($key, $variable)) !== null) {
                [$raw, $source] = [Env::get($fromEnv), $fromEnv];
            } else {
                continue; // the native default
            }
            if ($raw === null) {
                continue;
            }
            $values[$key] = self::check($raw, $kind, $min, $max, $source);
        }
        // PHP's ssl context options for wss:// (local_cert, local_pk, passphrase,
        // SNI_server_certs, ciphers, verify_peer + cafile for client certificates).
        $ssl = array_key_exists('ssl', $options) ? $options['ssl'] : ($config['ssl'] ?? []);
        if (!is_array($ssl)) {
            throw new InvalidArgumentException(
                "WebSocket option ssl: expected an array of PHP ssl context options, got " . get_debug_type($ssl),
                Native::EINVAL
            );
        }
        return new self($values, TlsOptions::toNative($ssl, 'WebSocket option ssl'));
    }

    /**
     * The TLS options for wss:// (native names => text): the 'ssl' option with
     * tls_cert, tls_key and tls_passphrase over it; empty for plain ws://.
     *
     * @return array<string, string>
     */
    public function tls(): array
    {
        $tls = $this->ssl;
        foreach (self::TLS_NAMES as $key => $name) {
            if (($this->values[$key] ?? '') !== '') {
                $tls[$name] = $this->values[$key];
            }
        }
        return $tls;
    }

    /**
     * The environment variable that sets $key when the configuration file does
     * not mention it: its own, or for the pong deadline the seed's general
     * SOCKET_TIMEOUT (as the native tool does); null when none is set.
     */
    private static function variableFor(string $key, ?string $variable): ?string
    {
        $candidates = $key === 'pong_timeout' ? [$variable, 'SOCKET_TIMEOUT'] : [$variable];
        foreach ($candidates as $name) {
            if ($name !== null && Env::raw($name) !== null) {
                return $name;
            }
        }
        return null;
    }

    /** A resolved setting (config/socket.php's units), or $default when it keeps the native default. */
    public function get(string $key, mixed $default = null): mixed
    {
        return $this->values[$key] ?? $default;
    }

    /** @return array<string, mixed> the resolved settings */
    public function all(): array
    {
        return $this->values;
    }

    /** The extension's options: native defaults, overwritten by every resolved setting. */
    public function toNative(bool $handshakeEvents): \NxWsServerOptions
    {
        Native::require();
        $native = new \NxWsServerOptions();
        foreach ($this->values as $key => $value) {
            [, $kind, $field] = self::SETTINGS[$key];
            if ($field === null) {
                continue; // applied another way (tls())
            }
            $native->{$field} = match ($kind) {
                'seconds' => (int) round($value * 1000),
                'bool' => $value ? 1 : 0,
                'list' => implode(',', $value),
                'dir' => $value ?? '',
                'level' => Native::LOG_LEVELS[$value],
                'scaling' => $value === 'redis' ? 1 : 0,
                default => $value,
            };
        }
        $native->handshake_events = $handshakeEvents ? 1 : 0;
        return $native;
    }

    private static function check(mixed $raw, string $kind, int $min, int $max, string $source): mixed
    {
        $fail = static function (string $expected) use ($raw, $source): never {
            $shown = is_scalar($raw) ? var_export($raw, true) : get_debug_type($raw);
            throw new InvalidArgumentException("{$source}: expected {$expected}, got {$shown}", Native::EINVAL);
        };
        switch ($kind) {
            case 'host':
                if (!is_string($raw) || trim($raw) === '') {
                    $fail('a host name or address');
                }
                return trim($raw);
            case 'port':
            case 'count':
            case 'int':
                $number = self::wholeNumber($raw);
                if ($number === null || $number < $min || $number > $max) {
                    $fail(($kind === 'port' ? 'a port number' : 'a whole number') . " from {$min} to {$max}");
                }
                return $number;
            case 'seconds':
            case 'rate':
                $number = self::number($raw);
                if ($number === null || $number < 0 || ($kind === 'seconds' && $number > self::MAX_SECONDS)) {
                    $fail($kind === 'seconds' ? 'seconds (a number >= 0)' : 'messages per second (a number >= 0)');
                }
                return $number;
            case 'list':
                $items = is_array($raw) ? $raw : (is_string($raw) ? explode(',', $raw) : $fail('a list'));
                $out = [];
                foreach ($items as $item) {
                    if (!is_string($item) || str_contains($item, ',')) {
                        $fail('a list of names without commas');
                    }
                    if (trim($item) !== '') {
                        $out[] = trim($item);
                    }
                }
                return $out;
            case 'bool':
                $bool = self::boolean($raw);
                if ($bool === null) {
                    $fail('true or false');
                }
                return $bool;
            case 'dir':
                if (!is_string($raw)) {
                    $fail('a directory');
                }
                if ($raw === '') {
                    return null; // none: plain HTTP requests get 404
                }
                $real = realpath($raw);
                if ($real === false || !is_dir($real)) {
                    $fail('an existing directory');
                }
                return $real;
            case 'text':
                if (!is_string($raw)) {
                    $fail('text');
                }
                return $raw;
            case 'scaling':
                // As the native tool reads WEBSOCKET_SCALING; a boolean says on (redis) or off.
                if (is_bool($raw)) {
                    return $raw ? 'redis' : 'none';
                }
                return match (is_string($raw) ? strtolower(trim($raw)) : null) {
                    'redis' => 'redis',
                    '', 'none', 'off' => 'none',
                    default => $fail('redis or none'),
                };
            case 'redis_url':
                // The rest (host, port, database, TLS options) the native side checks at start().
                // Never shown: it may hold a password.
                if (!is_string($raw) || preg_match('#\Arediss?://#i', trim($raw)) !== 1) {
                    throw new InvalidArgumentException(
                        "{$source}: expected redis://[[user]:password@]host[:port][/database], or rediss:// for TLS",
                        Native::EINVAL
                    );
                }
                return trim($raw);
            case 'level':
                $level = is_string($raw) ? strtolower(trim($raw)) : null;
                if ($level === null || !isset(Native::LOG_LEVELS[$level])) {
                    $fail(implode(', ', array_keys(Native::LOG_LEVELS)));
                }
                return $level;
        }
        throw new \LogicException("unknown setting kind {$kind}");
    }

    private static function wholeNumber(mixed $raw): ?int
    {
        if (is_int($raw)) {
            return $raw;
        }
        if (is_string($raw) && preg_match('/\A\s*\d{1,18}\s*\z/', $raw) === 1) {
            return (int) $raw;
        }
        return null;
    }

    private static function number(mixed $raw): ?float
    {
        if (is_int($raw) || is_float($raw)) {
            return is_finite((float) $raw) ? (float) $raw : null;
        }
        if (is_string($raw) && is_numeric(trim($raw))) {
            return (float) trim($raw);
        }
        return null;
    }

    private static function boolean(mixed $raw): ?bool
    {
        if (is_bool($raw)) {
            return $raw;
        }
        if ($raw === 0 || $raw === 1) {
            return $raw === 1;
        }
        if (!is_string($raw)) {
            return null;
        }
        return match (strtolower(trim($raw))) {
            '1', 'true', 'yes', 'on' => true,
            '0', 'false', 'no', 'off', '' => false,
            default => null,
        };
    }
}
