<?php

/*
 * A redis-server of a test's own (Debian's) on a free loopback port, in
 * memory only, for the scaling tests (phpt/websocket_scaling*.phpt):
 *
 *     require dirname(NEXUS_SOCKET_LIB_DIR, 3) . '/tests/php/redis_server.php';
 *     $redis = new TestRedisServer();   // ready: $redis->url, $redis->port
 *     ...
 *     $redis->stop();                   // also on destruction and at exit
 *
 * Start it before any server or client of the test: a child inherits the
 * descriptors PHP has open, and would hold their connections open.
 *
 * It runs under a small sh that kills it when this process's pipe to that
 * sh closes: when stop() closes it, and also when PHP itself dies (a crash,
 * run-tests' timeout), so no redis-server outlives its test.
 */

final class TestRedisServer
{
    /** The output line that says it accepts connections. */
    private const READY = 'Ready to accept connections';

    private const WATCHDOG = <<<'SH'
        exec 3<&0
        redis-server "$@" </dev/null &
        pid=$!
        { read -r _ <&3; kill -9 "$pid"; } >/dev/null 2>&1 &
        exec 3<&-
        wait "$pid"
        SH;

    public readonly int $port;

    public readonly string $url;

    /** @var resource|null */
    private $process = null;

    /** @var array<int, resource> */
    private array $pipes = [];

    private string $output = '';

    /**
     * Starts it and waits (at most $timeout seconds) until it is ready.
     *
     * @param list<string> $args more redis-server arguments (--requirepass ...)
     * @throws RuntimeException when it cannot be started (the message has its output)
     */
    public function __construct(array $args = [], float $timeout = 20.0)
    {
        $why = '';
        for ($attempt = 0; $attempt < 3; ++$attempt) { // a port free a moment ago may be taken
            $port = self::freePort();
            if ($this->start($port, $args, $timeout, $why)) {
                $this->port = $port;
                $this->url = "redis://127.0.0.1:{$port}/0";
                register_shutdown_function([$this, 'stop']);
                return;
            }
        }
        throw new RuntimeException($why);
    }

    public function __destruct()
    {
        $this->stop();
    }

    /** Kills it (SIGKILL: what it held is gone) and waits for it. Idempotent. */
    public function stop(): void
    {
        if ($this->process === null) {
            return;
        }
        foreach ($this->pipes as $pipe) {
            fclose($pipe); // the watchdog's stdin ends: it kills redis-server, then sh exits
        }
        $this->pipes = [];
        proc_close($this->process);
        $this->process = null;
    }

    /** @param list<string> $args */
    private function start(int $port, array $args, float $timeout, string &$why): bool
    {
        $command = ['/bin/sh', '-c', self::WATCHDOG, 'sh', '--bind', '127.0.0.1', '--port', (string) $port,
            '--save', '', '--appendonly', 'no', '--loglevel', 'notice', ...$args];
        $process = proc_open($command, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes);
        if ($process === false) {
            $why = 'cannot start redis-server through /bin/sh';
            return false;
        }
        $this->process = $process;
        $this->pipes = $pipes;
        $this->output = '';
        $deadline = microtime(true) + $timeout;
        while (!str_contains($this->output, self::READY)) {
            $left = $deadline - microtime(true);
            $read = [$pipes[1]];
            $write = $except = null;
            if ($left <= 0 || @stream_select($read, $write, $except, 0, (int) ($left * 1e6)) < 1) {
                break;
            }
            $chunk = fread($pipes[1], 8192);
            if ($chunk === false || $chunk === '') {
                break; // it exited (the port was taken, or there is no redis-server)
            }
            $this->output .= $chunk;
        }
        if (str_contains($this->output, self::READY)) {
            // Its later output (a line now and then) fits the pipe; keep the pipe open.
            return true;
        }
        $this->stop();
        $why = "redis-server on port {$port} did not get ready within {$timeout} s "
            . "(scripts/install-deps installs it): " . substr($this->output, -800);
        return false;
    }

    private static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        if ($socket === false) {
            throw new RuntimeException("no free port: {$error}");
        }
        $name = stream_socket_get_name($socket, false);
        fclose($socket);
        return (int) substr($name, strrpos($name, ':') + 1);
    }
}

/** A key prefix no other test shares: servers with it see only each other. */
function test_scaling_prefix(): string
{
    return 'nxphp' . getmypid() . '-' . bin2hex(random_bytes(4));
}
