--TEST--
A handler's exception without an 'error' handler ends listen() after a graceful stop: clients get close 1001
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

// threads => 2: clients of this same process complete their handshakes on the native threads.
// They answer the server's close only after listen() returns: a short stop_timeout bounds that wait.
$ws = new WebSocket('127.0.0.1', 0, ['threads' => 2, 'stop_timeout' => 0.3]);
$ws->start();
$disconnects = 0;
$ws->on('message', function ($clientId, $message) {
    throw new UnexpectedValueException("cannot handle '{$message}'");
});
$ws->on('disconnect', function () use (&$disconnects) { ++$disconnects; });

$a = (new WebSocketClient())->connect("ws://127.0.0.1:{$ws->getPort()}/");
$b = (new WebSocketClient())->connect("ws://127.0.0.1:{$ws->getPort()}/");
$a->send('crash');
try {
    $ws->listen();
    echo "listen returned\n";
} catch (UnexpectedValueException $e) {
    echo get_class($e), ': ', $e->getMessage(), "\n";
}
var_dump($ws->isRunning(), $disconnects);      // no handler runs once the loop is abandoned
var_dump($a->receive(5.0), $a->closeCode(), $b->receive(5.0), $b->closeCode());
var_dump($ws->poll(0));
?>
--EXPECT--
UnexpectedValueException: cannot handle 'crash'
bool(false)
int(0)
NULL
int(1001)
NULL
int(1001)
int(0)
