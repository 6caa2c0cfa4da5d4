--TEST--
Connected clients: Connection fields and data, getClients(), send/broadcast/channels, disconnect with a code, errors from handlers
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Connection;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

// threads => 2: the native loops run on their own threads, so clients of this
// same process complete their handshakes while this thread waits in connect().
$ws = new WebSocket('127.0.0.1', 0, ['threads' => 2, 'subprotocols' => ['chat.v2', 'chat.v1']]);
$ws->start();
$events = [];
$ws->on('connect', function ($id, Connection $client) use (&$events) {
    $client->data['seen'] = 1;
    $events[] = ['connect', $id];
});
$ws->on('message', function ($id, $message, Connection $client) use (&$events, $ws) {
    $client->set('seen', $client->get('seen') + 1);
    $events[] = ['message', $id, $message];
    if ($message === 'fail') {
        throw new DomainException("handler failed for $id");
    }
});
$ws->on('disconnect', function ($id, $code, $reason, Connection $client) use (&$events, $ws) {
    $events[] = ['disconnect', $id, $code, $reason, $client->get('seen'), count($ws->getClients())];
});
$ws->on('error', function ($id, Throwable $e, ?Connection $client) use (&$events) {
    $events[] = ['error', $id, get_class($e), $e->getMessage(), $client?->id];
});

function pump(WebSocket $ws, array &$events, int $count): void
{
    for ($i = 0; count($events) < $count && $i < 100; ++$i) {
        $ws->poll(0.1);
    }
}

$url = "ws://127.0.0.1:{$ws->getPort()}";
$a = (new WebSocketClient())->connect("$url/room/1?user=ann&x[]=1", [
    'headers' => ['X-Token' => 'secret'],
    'subprotocols' => ['chat.v1'],
    'origin' => 'http://example.test',
]);
$b = (new WebSocketClient())->connect("$url/");
pump($ws, $events, 2);
[$aId, $bId] = [$events[0][1], $events[1][1]];
var_dump(is_string($aId), $aId !== $bId, $a->subprotocol());

$client = $ws->getClient($aId);
var_dump($client->id === $aId, $client['peer'] === $client->peer, (bool) preg_match('/^127\.0\.0\.1:\d+$/', $client->peer));
var_dump($client->path, $client->query, $client->queryParams(), $client->header('x-token'), $client['headers']['x-token']);
var_dump($client->origin, $client->subprotocol, $client['subprotocol'], is_float($client->connectedAt), $client->isPending());
var_dump(isset($client['peer']), isset($client['nope']), $client->data);
try {
    $client['peer'] = 'x';
} catch (LogicException $e) {
    echo get_class($e), "\n";
}
try {
    $client['nope'];
} catch (Nexus\Socket\InvalidArgumentException $e) {
    echo $e->getMessage(), "\n";
}
$clients = $ws->getClients();
var_dump(array_map('strval', array_keys($clients)) === [$aId, $bId], array_keys($clients[$aId]));

// Sending, by id as string, int or Connection.
var_dump($ws->send($aId, 'to a'), $ws->send((int) $bId, 'to b'), $client->send('via client'));
var_dump($a->receive(5.0), $b->receive(5.0), $a->receive(5.0));
var_dump($ws->broadcast('all but a', $client));
var_dump($b->receive(5.0));

// Channels.
var_dump($ws->subscribe($aId, 'news'), $ws->subscribe($aId, 'sport'), $ws->getChannels($aId));
var_dump($ws->publish('news', 'news item'), $ws->publish('nobody', 'x'));
var_dump($a->receive(5.0));
var_dump($ws->unsubscribe($aId, 'news'), $ws->getChannels($aId), $ws->publish('news', 'late'));

// A handler's exception goes to the 'error' handler; the server carries on.
$a->send('fail');
$a->send('after');
pump($ws, $events, 5);
print_r(array_slice($events, 2));

// disconnect() with a code and reason: the client sees them; 'disconnect' follows.
var_dump($ws->disconnect($bId, 4000, 'bye now'));
var_dump($b->receive(5.0), $b->closeCode(), $b->closeReason(), $b->isOpen());
pump($ws, $events, 6);
print_r($events[5]);

// A client that leaves by itself.
$a->close(1000, 'done');
var_dump($a->closeCode());
pump($ws, $events, 7);
[$kind, $id, $code] = $events[6];
var_dump($kind, $id === $aId, $code, $ws->getClients());
print_r(array_intersect_key($ws->getStats(), array_flip(['clients', 'connections_total', 'messages_in'])));
$ws->stop();
while ($ws->isRunning()) {
    $ws->poll(0.1);
}
?>
--EXPECTF--
bool(true)
bool(true)
string(7) "chat.v1"
bool(true)
bool(true)
bool(true)
string(7) "/room/1"
string(14) "user=ann&x[]=1"
array(2) {
  ["user"]=>
  string(3) "ann"
  ["x"]=>
  array(1) {
    [0]=>
    string(1) "1"
  }
}
string(6) "secret"
string(6) "secret"
string(19) "http://example.test"
string(7) "chat.v1"
string(7) "chat.v1"
bool(true)
bool(false)
bool(true)
bool(false)
array(1) {
  ["seen"]=>
  int(1)
}
LogicException
a client has no field 'nope'; fields: id, peer, path, query, headers, origin, subprotocol, connected_at, compressed, data
bool(true)
array(10) {
  [0]=>
  string(2) "id"
  [1]=>
  string(4) "peer"
  [2]=>
  string(4) "path"
  [3]=>
  string(5) "query"
  [4]=>
  string(7) "headers"
  [5]=>
  string(6) "origin"
  [6]=>
  string(11) "subprotocol"
  [7]=>
  string(12) "connected_at"
  [8]=>
  string(10) "compressed"
  [9]=>
  string(4) "data"
}
bool(true)
bool(true)
bool(true)
string(4) "to a"
string(4) "to b"
string(10) "via client"
int(1)
string(9) "all but a"
bool(true)
bool(true)
array(2) {
  [0]=>
  string(4) "news"
  [1]=>
  string(5) "sport"
}
int(1)
int(0)
string(9) "news item"
bool(true)
array(1) {
  [0]=>
  string(5) "sport"
}
int(0)
Array
(
    [0] => Array
        (
            [0] => message
            [1] => %d
            [2] => fail
        )

    [1] => Array
        (
            [0] => error
            [1] => %d
            [2] => DomainException
            [3] => handler failed for %d
            [4] => %d
        )

    [2] => Array
        (
            [0] => message
            [1] => %d
            [2] => after
        )

)
bool(true)
NULL
int(4000)
string(7) "bye now"
bool(false)
Array
(
    [0] => disconnect
    [1] => %d
    [2] => 4000
    [3] => bye now
    [4] => 1
    [5] => 1
)
int(1000)
string(10) "disconnect"
bool(true)
int(1000)
array(0) {
}
Array
(
    [clients] => 0
    [connections_total] => 2
    [messages_in] => 2
)
