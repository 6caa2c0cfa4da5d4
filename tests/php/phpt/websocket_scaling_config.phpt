--TEST--
Scaling settings from the environment and options; a server whose Redis is out of reach serves its own clients and says why
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Config;
use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\SocketException;
use Nexus\Socket\UnknownClientException;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

function attempt(string $what, callable $call): void
{
    try {
        $result = $call();
        echo "$what: ", is_object($result) ? get_class($result) : var_export($result, true), "\n";
    } catch (SocketException $e) {
        echo "$what: ", get_class($e), ' (', $e->getCode(), '): ', $e->getMessage(), "\n";
    }
}

// A port nothing listens on: Redis is out of reach.
$probe = stream_socket_server('tcp://127.0.0.1:0');
$name = stream_socket_get_name($probe, false);
fclose($probe);
$port = (int) substr($name, strrpos($name, ':') + 1);

echo "-- off by default\n";
$plain = new WebSocket('127.0.0.1', 0);
var_dump($plain->getOptions()['scaling'], $plain->getOptions()['scaling_prefix']);
$plain->start();
var_dump($plain->getNodeId(), $plain->getClusterClients(), $plain->getClusterStats() === $plain->getStats());
attempt('send to an id of another node', fn () => $plain->send((7 << 40) | 1, 'x'));
$plain->stop();

echo "-- the environment, with options over it\n";
putenv('WEBSOCKET_SCALING=redis');
putenv("REDIS_URL=redis://127.0.0.1:{$port}");
putenv('WEBSOCKET_SCALING_PREFIX=from-env');
putenv('WEBSOCKET_SCALING_LEASE=2.5');
putenv('WEBSOCKET_SCALING_TIMEOUT=0.5');
putenv('WEBSOCKET_SCALING_BACKLOG=65536');
Config::reset(); // config/socket.php is read once: re-read it
$ws = new WebSocket('127.0.0.1', 0, ['threads' => 2, 'scaling_prefix' => 'explicit', 'log_level' => 'off']);
$o = $ws->getOptions();
var_dump($o['scaling'], $o['redis_url'] === "redis://127.0.0.1:{$port}", $o['scaling_prefix'],
    $o['scaling_lease'], $o['scaling_timeout'], $o['scaling_backlog']);
var_dump((new WebSocket('127.0.0.1', 0, ['scaling' => false]))->getOptions()['scaling']);
var_dump((new WebSocket('127.0.0.1', 0, ['scaling' => 'NONE']))->getOptions()['scaling']);

echo "-- Redis out of reach at start\n";
$errors = [];
$messages = [];
$ws->on('error', function ($id, Throwable $e, $client) use (&$errors) {
    $errors[] = [$id, get_class($e), $e->getMessage(), $client];
});
$ws->on('message', function ($id, $message) use (&$messages) {
    $messages[] = $message;
});
$ws->start(); // starts anyway
var_dump($ws->isRunning(), $ws->getNodeId() > 0);
$deadline = microtime(true) + 10;
while ($errors === [] && microtime(true) < $deadline) {
    $ws->poll(0.05);
}
[$id, $class, $text, $client] = $errors[0];
var_dump($id, $class, $client, stripos($text, 'redis') !== false, str_contains($text, (string) $port));

// Its own clients are served meanwhile.
$c = (new WebSocketClient())->connect("ws://127.0.0.1:{$ws->getPort()}/");
$c->send('hello');
$deadline = microtime(true) + 10;
while ($messages === [] && microtime(true) < $deadline) {
    $ws->poll(0.05);
}
var_dump($messages, $ws->broadcast('lonely'), $c->receive(5.0));
$own = array_key_first($ws->getClients());
var_dump($ws->send($own, 'direct'), $c->receive(5.0));

// Another server's client cannot be reached now; the cluster cannot be asked.
$elsewhere = (($ws->getNodeId() === 1 ? 2 : 1) << 40) | 1;
attempt('send elsewhere', fn () => $ws->send($elsewhere, 'x'));
attempt('disconnect elsewhere', fn () => $ws->disconnect($elsewhere));
foreach (['getClusterClients', 'getClusterStats'] as $method) {
    try {
        $ws->{$method}();
        echo "$method: no exception\n";
    } catch (SocketException $e) {
        echo "$method: ", $e instanceof UnknownClientException ? 'UnknownClientException' : 'SocketException',
            ' ', $e->getCode() < 0 ? 'negative code' : 'code ' . $e->getCode(), "\n";
    }
}
$stats = $ws->getStats();
var_dump($stats['servers'], $stats['backplane_up'], $stats['backplane_errors'] >= 1, $stats['remote_dropped'] >= 1,
    $stats['clients']);
$c->close();
$ws->stop();
while ($ws->isRunning()) {
    $ws->poll(0.1);
}

echo "-- bad settings\n";
putenv('WEBSOCKET_SCALING=memcached');
Config::reset();
attempt('WEBSOCKET_SCALING=memcached', fn () => new WebSocket('127.0.0.1', 0));
putenv('WEBSOCKET_SCALING');
putenv('REDIS_URL');
putenv('WEBSOCKET_SCALING_PREFIX');
putenv('WEBSOCKET_SCALING_LEASE');
putenv('WEBSOCKET_SCALING_TIMEOUT');
putenv('WEBSOCKET_SCALING_BACKLOG');
Config::reset();
attempt('scaling yes', fn () => new WebSocket('127.0.0.1', 0, ['scaling' => 'yes']));
attempt('scaling_backlog 0', fn () => new WebSocket('127.0.0.1', 0, ['scaling_backlog' => 0]));
attempt('scaling_lease -1', fn () => new WebSocket('127.0.0.1', 0, ['scaling_lease' => -1]));
attempt('lease too short', fn () => (new WebSocket('127.0.0.1', 0, ['scaling' => 'redis', 'scaling_lease' => 0.1]))->start());
attempt('prefix with a space', fn () => (new WebSocket('127.0.0.1', 0, ['scaling' => 'redis', 'scaling_prefix' => 'a b']))->start());
attempt('not a redis url', fn () => new WebSocket('127.0.0.1', 0, ['redis_url' => 'http://user:secret@x']));
attempt('bad redis port', fn () => (new WebSocket('127.0.0.1', 0, ['scaling' => 'redis', 'redis_url' => 'redis://:secret@x:99999']))->start());
try {
    (new WebSocket('127.0.0.1', 0, ['scaling' => 'redis', 'redis_url' => 'redis://:secret@x:99999']))->start();
} catch (InvalidArgumentException $e) {
    var_dump(str_contains($e->getMessage(), 'secret')); // never the password
}
?>
--EXPECTF--
-- off by default
string(4) "none"
string(5) "nexus"
int(0)
array(0) {
}
bool(true)
send to an id of another node: Nexus\Socket\UnknownClientException (-4): no connected client with id '7696581394433'
-- the environment, with options over it
string(5) "redis"
bool(true)
string(8) "explicit"
float(2.5)
float(0.5)
int(65536)
string(4) "none"
string(4) "none"
-- Redis out of reach at start
bool(true)
bool(true)
NULL
string(28) "Nexus\Socket\SocketException"
NULL
bool(true)
bool(true)
array(1) {
  [0]=>
  string(5) "hello"
}
int(1)
string(6) "lonely"
bool(true)
string(6) "direct"
send elsewhere: Nexus\Socket\SocketException (-22): client %d is on another server and Redis is out of reach
disconnect elsewhere: Nexus\Socket\SocketException (-22): client %d is on another server and Redis is out of reach
getClusterClients: SocketException negative code
getClusterStats: SocketException negative code
int(1)
int(0)
bool(true)
bool(true)
int(1)
-- bad settings
WEBSOCKET_SCALING=memcached: Nexus\Socket\InvalidArgumentException (-1): websocket.scaling (WEBSOCKET_SCALING): expected redis or none, got 'memcached'
scaling yes: Nexus\Socket\InvalidArgumentException (-1): option 'scaling': expected redis or none, got 'yes'
scaling_backlog 0: Nexus\Socket\InvalidArgumentException (-1): option 'scaling_backlog': expected a whole number from 1 to 1099511627776, got 0
scaling_lease -1: Nexus\Socket\InvalidArgumentException (-1): option 'scaling_lease': expected seconds (a number >= 0), got -1
lease too short: Nexus\Socket\InvalidArgumentException (-1): scaling presence lease: at least 0.3 s
prefix with a space: Nexus\Socket\InvalidArgumentException (-1): scaling prefix: 1 or more characters, none of space, CR, LF, * ? [ ]
not a redis url: Nexus\Socket\InvalidArgumentException (-1): option 'redis_url': expected redis://[[user]:password@]host[:port][/database], or rediss:// for TLS
bad redis port: Nexus\Socket\InvalidArgumentException (-1): %s
bool(false)
