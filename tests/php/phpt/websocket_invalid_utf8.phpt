--TEST--
Text that is not UTF-8 throws Nexus\Socket\InvalidArgumentException (server and client); binary is any bytes
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

function attempt(string $what, callable $call): void
{
    try {
        var_dump($call());
    } catch (InvalidArgumentException $e) {
        echo "$what: ", get_class($e), ' (', $e->getCode() === -5 ? 'NX_EUTF8' : $e->getCode(), ")\n";
    }
}

$bad = "caf\xC3\x28";
// threads => 2: the native loops run on threads of their own, so a client in
// this same process can complete its handshake while this thread waits in connect().
$ws = new WebSocket('127.0.0.1', 0, ['threads' => 2]);
attempt('broadcast before start', fn () => $ws->broadcast($bad));
$ws->start();
attempt('broadcast', fn () => $ws->broadcast($bad));
attempt('publish', fn () => $ws->publish('news', $bad));

$client = (new WebSocketClient())->connect("ws://127.0.0.1:{$ws->getPort()}/");
$id = null;
$ws->on('connect', function ($clientId) use (&$id) { $id = $clientId; });
for ($i = 0; $id === null && $i < 100; ++$i) {
    $ws->poll(0.1);
}
var_dump(is_string($id));
attempt('send', fn () => $ws->send($id, $bad));
attempt('client send', fn () => $client->send($bad));

// Binary takes any bytes, both ways.
$got = null;
$ws->on('binary', function ($clientId, $data) use (&$got) { $got = $data; });
$client->sendBinary($bad);
for ($i = 0; $got === null && $i < 100; ++$i) {
    $ws->poll(0.1);
}
var_dump($got === $bad);
var_dump($ws->sendBinary($id, $bad));
var_dump($client->receive(5.0) === $bad, $client->lastMessageIsBinary());
var_dump($ws->broadcast('still fine ✓'));
var_dump($client->receive(5.0), $client->lastMessageIsBinary());
$client->close();
$ws->stop();
while ($ws->isRunning()) {
    $ws->poll(0.1);
}
?>
--EXPECT--
broadcast before start: Nexus\Socket\InvalidArgumentException (NX_EUTF8)
broadcast: Nexus\Socket\InvalidArgumentException (NX_EUTF8)
publish: Nexus\Socket\InvalidArgumentException (NX_EUTF8)
bool(true)
send: Nexus\Socket\InvalidArgumentException (NX_EUTF8)
client send: Nexus\Socket\InvalidArgumentException (NX_EUTF8)
bool(true)
bool(true)
bool(true)
bool(true)
int(1)
string(14) "still fine ✓"
bool(false)
