--TEST--
WebSocket::on() with an unknown event name throws Nexus\Socket\InvalidArgumentException
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\WebSocket;

$ws = new WebSocket('127.0.0.1', 0);
foreach (['connect', 'message', 'binary', 'disconnect', 'error', 'handshake'] as $event) {
    var_dump($ws->on($event, fn () => true) === $ws);
}
foreach (['open', 'Message', ''] as $event) {
    try {
        $ws->on($event, fn () => null);
    } catch (Nexus\Socket\InvalidArgumentException $e) {
        echo get_class($e), ' (', $e->getCode(), '): ', $e->getMessage(), "\n";
    }
}
var_dump(new Nexus\Socket\InvalidArgumentException() instanceof Nexus\Socket\SocketException);

// 'handshake' decides how the native server is made: too late once it runs without one.
$late = new WebSocket('127.0.0.1', 0);
$late->start();
try {
    $late->on('handshake', fn () => true);
} catch (Nexus\Socket\SocketException $e) {
    echo $e->getMessage(), "\n";
}
$late->stop();
?>
--EXPECT--
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
Nexus\Socket\InvalidArgumentException (-1): unknown WebSocket event 'open'; events: connect, message, binary, disconnect, error, handshake
Nexus\Socket\InvalidArgumentException (-1): unknown WebSocket event 'Message'; events: connect, message, binary, disconnect, error, handshake
Nexus\Socket\InvalidArgumentException (-1): unknown WebSocket event ''; events: connect, message, binary, disconnect, error, handshake
bool(true)
the 'handshake' handler must be set before the server starts (start(), listen() or poll())
