--TEST--
A disconnect handler still reads who left: peer, path and data of the departed client
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Connection;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

// threads => 2 so that this process's own client can connect while we wait.
$ws = new WebSocket('127.0.0.1', 0, ['threads' => 2]);
$ws->start();
$left = null;
$ws->on('connect', function ($id, Connection $client) {
    $client->data['name'] = 'ann';
});
$ws->on('message', function ($id, $message) use ($ws) {
    $ws->disconnect($id, 4001, 'bye');
});
$ws->on('disconnect', function ($id, $code, $reason, Connection $client) use (&$left) {
    // Only the id is kept in PHP for an idle client: these facts come from
    // the extension, which keeps them until this handler is done.
    $left = [$code, $reason, $client->path, $client->query, $client->get('name'),
             (bool) preg_match('/^127\.0\.0\.1:\d+$/', $client->peer)];
});
$c = (new WebSocketClient())->connect("ws://127.0.0.1:{$ws->getPort()}/room/7?x=1");
$c->send('hi');
for ($i = 0; $left === null && $i < 100; ++$i) {
    $ws->poll(0.1);
}
var_dump($left);
$ws->stop();
while ($ws->poll(0.1) > 0 || $ws->isRunning()) {
}
?>
--EXPECT--
array(6) {
  [0]=>
  int(4001)
  [1]=>
  string(3) "bye"
  [2]=>
  string(7) "/room/7"
  [3]=>
  string(3) "x=1"
  [4]=>
  string(3) "ann"
  [5]=>
  bool(true)
}
