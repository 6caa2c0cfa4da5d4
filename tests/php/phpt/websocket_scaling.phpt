--TEST--
Scaling through Redis: two servers share broadcast, publish, send and disconnect by id, getClusterClients() and getClusterStats()
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

// First, before any socket of ours exists: the child must inherit none.
require dirname(NEXUS_SOCKET_LIB_DIR, 3) . '/tests/php/redis_server.php';
$redis = new TestRedisServer();

use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\SocketException;
use Nexus\Socket\UnknownClientException;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

// threads => 2: the native loops run on their own threads, so the blocking
// clients of this same process are served while this thread waits in them.
$options = [
    'threads' => 2,
    'scaling' => 'redis',
    'redis_url' => $redis->url,
    'scaling_prefix' => test_scaling_prefix(), // these two servers see only each other
    'scaling_lease' => 1.5,
    'scaling_timeout' => 1,
];
$a = new WebSocket('127.0.0.1', 0, $options);
$b = new WebSocket('127.0.0.1', 0, $options);
$events = ['a' => [], 'b' => []];
foreach (['a' => $a, 'b' => $b] as $name => $ws) {
    $ws->on('connect', function ($id) use (&$events, $name) {
        $events[$name][] = ['connect', $id];
    });
    $ws->on('message', function ($id, $message) use (&$events, $name) {
        $events[$name][] = ['message', $id, $message];
    });
    $ws->on('disconnect', function ($id, $code, $reason) use (&$events, $name) {
        $events[$name][] = ['disconnect', $id, $code, $reason];
    });
    $ws->on('error', function ($id, Throwable $e) use (&$events, $name) {
        $events[$name][] = ['error', $id, $e->getMessage()];
    });
}

/** Polls both servers until $condition holds (true) or 15 s passed (false). */
function eventually(callable $condition, WebSocket ...$servers): bool
{
    $deadline = microtime(true) + 15.0;
    while (!$condition()) {
        if (microtime(true) > $deadline) {
            return false;
        }
        foreach ($servers as $ws) {
            $ws->poll(0.01);
        }
    }
    return true;
}

/** Whether $from can reach a client of $to's node (the link through Redis is up). */
function reaches(WebSocket $from, WebSocket $to): bool
{
    try {
        return $from->send(($to->getNodeId() << WebSocket::NODE_SHIFT) | 0xFFFFFFFF, 'probe');
    } catch (SocketException) {
        return false; // no such node yet, or Redis not reached yet
    }
}

function attempt(string $what, callable $call): void
{
    try {
        $result = $call();
        echo "$what: ", var_export($result, true), "\n";
    } catch (SocketException $e) {
        echo "$what: ", get_class($e), ' (', $e->getCode(), '): ', $e->getMessage(), "\n";
    }
}

echo "-- node ids\n";
var_dump($a->getNodeId()); // before start
$a->start();
$b->start();
var_dump($a->getNodeId() > 0, $b->getNodeId() > 0, $a->getNodeId() !== $b->getNodeId());
var_dump(eventually(fn () => reaches($a, $b) && reaches($b, $a), $a, $b));

$ca = (new WebSocketClient())->connect("ws://127.0.0.1:{$a->getPort()}/room?name=blue");
$cb = (new WebSocketClient())->connect("ws://127.0.0.1:{$b->getPort()}/lobby");
// (Closures with use (&$events): an arrow function would see a copy.)
var_dump(eventually(function () use (&$events) {
    return count($events['a']) === 1 && count($events['b']) === 1;
}, $a, $b));
$aId = $events['a'][0][1];
$bId = $events['b'][0][1];
var_dump((int) $aId >> 40 === $a->getNodeId(), (int) $bId >> 40 === $b->getNodeId(), strlen($bId) >= 13);

echo "-- broadcast and publish reach the other server's clients\n";
var_dump($a->broadcast('hello all'), $ca->receive(5.0), $cb->receive(5.0));
var_dump($a->broadcast('not for cb', $bId), $ca->receive(5.0));
var_dump($b->broadcast('marker'), $cb->receive(5.0), $ca->receive(5.0)); // cb's next is the marker
var_dump($b->subscribe($bId, 'news'), $a->publish('news', 'extra'), $cb->receive(5.0));

echo "-- send to a client of the other server\n";
var_dump($a->send($bId, 'for cb'), $cb->receive(5.0));
var_dump($b->send((int) $aId, "\x00\x01", true), bin2hex($ca->receive(5.0)), $ca->lastMessageIsBinary());
attempt('not UTF-8', fn () => $a->send($bId, "\xff"));
attempt('unknown node', fn () => $a->send((4000000 << 40) | 1, 'x'));
attempt('unknown node, disconnect', fn () => $a->disconnect((string) ((4000000 << 40) | 1)));
$ownAbsent = ($a->getNodeId() << 40) | 99999;
attempt('own node, no such client', fn () => $a->send($ownAbsent, 'x') ? 'sent' : 'not sent');
try {
    $a->send($ownAbsent, 'x');
} catch (UnknownClientException $e) {
    var_dump($e->getMessage() === "no connected client with id '{$ownAbsent}'");
}
attempt('not an id', fn () => $a->send('12345678901234567890', 'x')); // over PHP_INT_MAX
$ca->send('from ca');
var_dump(eventually(function () use (&$events) {
    return count($events['a']) === 2;
}, $a, $b), $events['a'][1] === ['message', $aId, 'from ca']);

echo "-- getClusterClients\n";
$all = [];
var_dump(eventually(function () use ($a, &$all) {
    $all = $a->getClusterClients();
    return count($all) === 2;
}, $a, $b));
var_dump(array_map('strval', array_keys($all)) === [$aId, $bId]); // ascending: A's node is the lower
var_dump($all[$aId] === $a->getClients()[$aId], array_keys($all[$bId]) === array_keys($all[$aId]));
$remote = $all[$bId];
var_dump($remote['id'] === $bId, $remote['path'], $remote['query'], $remote['data'],
    (bool) preg_match('/^127\.0\.0\.1:\d+$/', $remote['peer']), is_float($remote['connected_at']),
    $remote['headers']['upgrade'] ?? null);
var_dump(count($a->getClients()), count($b->getClusterClients())); // getClients() stays local
var_dump(array_keys($a->getClients(true)) === array_keys($all)); // unless asked for the cluster

echo "-- getClusterStats and the new counters\n";
$total = [];
var_dump(eventually(function () use ($b, &$total) {
    $total = $b->getClusterStats();
    return $total['servers'] === 2 && $total['clients'] === 2;
}, $a, $b));
var_dump(array_keys($total) === array_keys($b->getStats()), $total['backplane_up']);
$own = $a->getStats();
var_dump($own['servers'], $own['backplane_up'], $own['clients'], $own['remote_out'] >= 4);
var_dump(eventually(fn () => $b->getStats()['remote_in'] >= 3, $a, $b));
var_dump(array_slice(array_keys($own), -6));

echo "-- disconnect a client of the other server\n";
var_dump($a->disconnect($bId, 4001, 'moved'), $cb->receive(5.0), $cb->closeCode(), $cb->closeReason());
var_dump(eventually(function () use (&$events, $bId) {
    return end($events['b']) === ['disconnect', $bId, 4001, 'moved'];
}, $a, $b));
var_dump(eventually(fn () => array_keys($a->getClusterClients()) === [(int) $aId], $a, $b));

echo "-- a server that stops leaves the cluster at once\n";
$b->stop();
var_dump(eventually(fn () => !$b->isRunning(), $a, $b));
var_dump(eventually(fn () => $a->getClusterStats()['servers'] === 1, $a));
attempt('its node is gone', fn () => $a->send($bId, 'x'));
$ca->close();
$a->stop();
var_dump(eventually(fn () => !$a->isRunning(), $a));
var_dump(array_filter([...$events['a'], ...$events['b']], fn ($e) => $e[0] === 'error'));
$redis->stop();
?>
--EXPECTF--
-- node ids
int(0)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
-- broadcast and publish reach the other server's clients
int(1)
string(9) "hello all"
string(9) "hello all"
int(1)
string(10) "not for cb"
int(1)
string(6) "marker"
string(6) "marker"
bool(true)
int(0)
string(5) "extra"
-- send to a client of the other server
bool(true)
string(6) "for cb"
bool(true)
string(4) "0001"
bool(true)
not UTF-8: Nexus\Socket\InvalidArgumentException (-5): text message is not valid UTF-8
unknown node: Nexus\Socket\UnknownClientException (-4): no connected client with id '4398046511104000001': no server of the cluster has node 4000000
unknown node, disconnect: Nexus\Socket\UnknownClientException (-4): no connected client with id '4398046511104000001': no server of the cluster has node 4000000
own node, no such client: Nexus\Socket\UnknownClientException (-4): no connected client with id '%d'
bool(true)
not an id: Nexus\Socket\UnknownClientException (-4): no connected client with id '12345678901234567890'
bool(true)
bool(true)
-- getClusterClients
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
string(6) "/lobby"
string(0) ""
array(0) {
}
bool(true)
bool(true)
string(9) "websocket"
int(1)
int(2)
bool(true)
-- getClusterStats and the new counters
bool(true)
bool(true)
int(2)
int(1)
int(1)
int(1)
bool(true)
bool(true)
array(6) {
  [0]=>
  string(10) "remote_out"
  [1]=>
  string(9) "remote_in"
  [2]=>
  string(14) "remote_dropped"
  [3]=>
  string(16) "backplane_errors"
  [4]=>
  string(12) "backplane_up"
  [5]=>
  string(7) "servers"
}
-- disconnect a client of the other server
bool(true)
NULL
int(4001)
string(5) "moved"
bool(true)
bool(true)
-- a server that stops leaves the cluster at once
bool(true)
bool(true)
its node is gone: Nexus\Socket\UnknownClientException (-4): no connected client with id '%d': no server of the cluster has node %d
bool(true)
array(0) {
}
