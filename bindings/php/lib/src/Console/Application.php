<?php

declare(strict_types=1);

namespace Nexus\Socket\Console;

use Nexus\Socket\Config;
use Nexus\Socket\Env;
use Nexus\Socket\Native;
use Nexus\Socket\SocketException;
use Nexus\Socket\WebSocket;

/**
 * The `nexus` command (in the manner of Laravel's artisan):
 *
 *     php nexus websocket:serve [--host=HOST] [--port=PORT] [--app=FILE] [--static-dir=DIR]
 *                               [--redis=URL [--scaling-prefix=PREFIX] [--scaling-lease=SECONDS]]
 *
 * Exit status: 0 done (also after a stop by SIGINT/SIGTERM), 1 failure (bind,
 * extension missing, the application failed), 2 usage error.
 */
final class Application
{
    public const USAGE = <<<'TEXT'
        Usage: php nexus <command> [options]

        Commands:
          websocket:serve   Start the WebSocket server: the chat server, with its browser
                            page at http://HOST:PORT/, or the application --app names.

        Options of websocket:serve (each also as --name VALUE):
          --host=HOST        address to bind (WEBSOCKET_HOST, default 0.0.0.0)
          --port=PORT        port; 0 picks a free one (WEBSOCKET_PORT, default 8080)
          --app=FILE         run this PHP application file instead of the chat server;
                             --host and --port reach it as WEBSOCKET_HOST and WEBSOCKET_PORT
          --static-dir=DIR   files served over plain HTTP on the same port
                             (WEBSOCKET_STATIC_DIR; the chat page by default)
          --tls-cert=FILE    serve wss:// (and the page over https) with this PEM
                             certificate chain (WEBSOCKET_TLS_CERT); the key may be in it
          --tls-key=FILE     its PEM private key (WEBSOCKET_TLS_KEY)
          --tls-passphrase=TEXT  of an encrypted key (WEBSOCKET_TLS_PASSPHRASE; prefer
                             the variable: arguments are visible to ps)
          --redis=URL        share clients, broadcasts and channels with every server
                             on this Redis (WEBSOCKET_SCALING=redis, REDIS_URL:
                             redis://[:password@]host[:port][/db], rediss:// for TLS;
                             prefer the variable when there is a password)
          --scaling-prefix=PREFIX  Redis key and channel prefix: servers with the same
                             one act as one (WEBSOCKET_SCALING_PREFIX, default nexus)
          --scaling-lease=SECONDS  presence lease: a server that dies leaves the cluster,
                             with its clients, within it (WEBSOCKET_SCALING_LEASE, default 10)
          -h, --help         this text

        Settings also come from the environment and .env (docs/configuration.md) and
        config/socket.php. SIGINT or SIGTERM stops the server gracefully.

        TEXT;

    /** Options that take a value, by command. */
    private const VALUED = [
        'host', 'port', 'app', 'static-dir', 'tls-cert', 'tls-key', 'tls-passphrase', 'redis', 'scaling-prefix',
        'scaling-lease',
    ];

    /** Options that set a setting: option => [WebSocket option, environment variable]. */
    private const SETTINGS = [
        'host' => [null, 'WEBSOCKET_HOST'],
        'port' => [null, 'WEBSOCKET_PORT'],
        'static-dir' => ['static_dir', 'WEBSOCKET_STATIC_DIR'],
        'tls-cert' => ['tls_cert', 'WEBSOCKET_TLS_CERT'],
        'tls-key' => ['tls_key', 'WEBSOCKET_TLS_KEY'],
        'tls-passphrase' => ['tls_passphrase', 'WEBSOCKET_TLS_PASSPHRASE'],
        'redis' => ['redis_url', 'REDIS_URL'], // and turns scaling on (WEBSOCKET_SCALING=redis)
        'scaling-prefix' => ['scaling_prefix', 'WEBSOCKET_SCALING_PREFIX'],
        'scaling-lease' => ['scaling_lease', 'WEBSOCKET_SCALING_LEASE'],
    ];

    /** @param string $root the directory of the `nexus` script: config/, .env and examples/chat are there */
    public function __construct(private readonly string $root)
    {
    }

    /**
     * Runs the command line.
     *
     * @param list<string> $argv the script's $argv
     * @return int the exit status
     */
    public function run(array $argv): int
    {
        $args = array_slice($argv, 1);
        if ($args === [] || in_array($args[0], ['-h', '--help', 'help', 'list'], true)) {
            fwrite(STDOUT, self::USAGE);
            return 0;
        }
        $command = array_shift($args);
        if ($command !== 'websocket:serve') {
            return $this->usageError("unknown command '{$command}'");
        }
        try {
            $options = self::parseOptions($args);
        } catch (\InvalidArgumentException $e) {
            return $this->usageError($e->getMessage());
        }
        if (isset($options['help'])) {
            fwrite(STDOUT, self::USAGE);
            return 0;
        }
        if (isset($options['port']) && preg_match('/\A\d{1,5}\z/', $options['port']) !== 1
            || (int) ($options['port'] ?? 0) > 65535) {
            return $this->usageError("--port: expected a port number from 0 to 65535, got '{$options['port']}'");
        }
        if (isset($options['redis']) && preg_match('#\Arediss?://[^/?]#i', $options['redis']) !== 1) {
            return $this->usageError('--redis: expected redis://[:password@]host[:port][/db], or rediss:// for TLS');
        }
        if (!Native::loaded()) {
            $this->reexecWithExtension($argv);
            fwrite(STDERR, 'nexus: ' . Native::missingMessage() . "\n");
            return 1;
        }
        Config::setBasePath($this->root);
        try {
            foreach (['scaling-prefix', 'scaling-lease'] as $option) {
                if (isset($options[$option]) && !isset($options['redis']) && !self::scalingConfigured()) {
                    return $this->usageError("--{$option} needs --redis (or WEBSOCKET_SCALING=redis)");
                }
            }
            return isset($options['app']) ? $this->serveApp($options) : $this->serveChat($options);
        } catch (SocketException $e) {
            fwrite(STDERR, 'nexus: ' . $e->getMessage() . "\n");
            return 1;
        }
    }

    /** @param array<string, string> $options */
    private function serveChat(array $options): int
    {
        $settings = [];
        foreach (self::SETTINGS as $option => [$setting]) {
            if ($setting !== null && isset($options[$option])) {
                $settings[$setting] = $options[$option];
            }
        }
        if (isset($options['redis'])) {
            $settings['scaling'] = 'redis';
        }
        if (!isset($options['static-dir'])
            && Config::get('socket.websocket.static_dir') === null && Env::raw('WEBSOCKET_STATIC_DIR') === null) {
            $settings['static_dir'] = $this->root . '/examples/chat';
        }
        $ws = new WebSocket(
            $options['host'] ?? null,
            isset($options['port']) ? (int) $options['port'] : null,
            $settings
        );
        ChatServer::attach($ws);
        $ws->start(); // bound now: the line below shows the real port (also for --port=0)
        $address = $ws->getHost() . ':' . $ws->getPort();
        [$wsScheme, $pageScheme] = $ws->isSecure() ? ['wss', 'https'] : ['ws', 'http'];
        echo "WebSocket chat server running on {$wsScheme}://{$address} (page: {$pageScheme}://{$address}/)\n";
        if ($ws->getNodeId() !== 0) {
            $redis = self::redisWhere((string) $ws->getOptions()['redis_url']);
            echo "sharing clients through redis {$redis} as server {$ws->getNodeId()}\n";
        }
        $ws->listen();
        echo "WebSocket chat server stopped\n";
        return 0;
    }

    /** @param array<string, string> $options */
    private function serveApp(array $options): int
    {
        $file = realpath($options['app']);
        if ($file === false || !is_file($file)) {
            fwrite(STDERR, "nexus: --app: no such file: {$options['app']}\n");
            return 1;
        }
        // The application builds its own WebSocket; without explicit arguments
        // it reads these, like any other setting.
        $variables = [];
        foreach (self::SETTINGS as $option => [, $variable]) {
            if (isset($options[$option])) {
                $variables[$variable] = $options[$option];
            }
        }
        if (isset($options['redis'])) {
            $variables['WEBSOCKET_SCALING'] = 'redis';
        }
        foreach ($variables as $variable => $value) {
            putenv("{$variable}={$value}");
            $_ENV[$variable] = $value;
        }
        Config::reset(); // read with these when the application asks
        // Done when it returns (an application sets another status with exit()):
        // `require` gives 1 for a file without a return statement, which is no failure.
        (static function (string $file): void {
            require $file;
        })($file);
        return 0;
    }

    /**
     * --name=value, --name value, -h.
     *
     * @param list<string> $args
     * @return array<string, string>
     * @throws \InvalidArgumentException for an unknown option, a missing value or a stray argument
     */
    private static function parseOptions(array $args): array
    {
        $options = [];
        for ($i = 0; $i < count($args); ++$i) {
            $arg = $args[$i];
            if ($arg === '-h' || $arg === '--help') {
                $options['help'] = '1';
                continue;
            }
            if (!str_starts_with($arg, '--')) {
                throw new \InvalidArgumentException("unexpected argument '{$arg}'");
            }
            [$name, $value] = str_contains($arg, '=') ? explode('=', substr($arg, 2), 2) : [substr($arg, 2), null];
            if (!in_array($name, self::VALUED, true)) {
                throw new \InvalidArgumentException("unknown option '--{$name}'");
            }
            if ($value === null) {
                if ($i + 1 >= count($args)) {
                    throw new \InvalidArgumentException("option '--{$name}' needs a value");
                }
                $value = $args[++$i];
            }
            $options[$name] = $value;
        }
        return $options;
    }

    /** Whether the configuration (WEBSOCKET_SCALING, config/socket.php) turns scaling on. */
    private static function scalingConfigured(): bool
    {
        $value = Config::get('socket.websocket.scaling', Env::get('WEBSOCKET_SCALING'));
        return $value === true || (is_string($value) && strtolower(trim($value)) === 'redis');
    }

    /** "host:port" of a Redis URL, for messages: never its credentials. */
    private static function redisWhere(string $url): string
    {
        $parts = parse_url($url);
        $host = is_array($parts) ? ($parts['host'] ?? '127.0.0.1') : '?';
        $port = is_array($parts) ? ($parts['port'] ?? 6379) : 6379;
        return (str_contains($host, ':') && $host[0] !== '[' ? "[{$host}]" : $host) . ':' . $port;
    }

    private function usageError(string $message): int
    {
        fwrite(STDERR, "nexus: {$message}\n\n" . self::USAGE);
        return 2;
    }

    /**
     * `php nexus ...` without the extension in php.ini: when the build has
     * made it (make build), run the same command again with it loaded, so
     * the seed's command line works as written. Returns only when it could not.
     *
     * @param list<string> $argv
     */
    private function reexecWithExtension(array $argv): void
    {
        $extension = getenv('NEXUS_SOCKET_EXTENSION') ?: $this->root . '/build/lib/nexus_socket.so';
        if (!is_file($extension) || !function_exists('pcntl_exec') || getenv('NEXUS_SOCKET_REEXEC') !== false) {
            return;
        }
        putenv('NEXUS_SOCKET_REEXEC=1'); // once: never loop when the extension fails to load
        $script = realpath($argv[0]) ?: $argv[0];
        @pcntl_exec(PHP_BINARY, [
            '-d', 'extension=' . $extension,
            '-d', 'auto_prepend_file=' . NEXUS_SOCKET_LIB_DIR . '/bootstrap.php',
            $script,
            ...array_slice($argv, 1),
        ]);
    }
}
