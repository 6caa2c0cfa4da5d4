--TEST--
UDP: Socket::udp() bind/sendTo/receiveFrom/connect; SocketServer::udp() receive()/lastPeer()/send($peer)/receiveFrom(), listen($handler) per datagram
--SKIPIF--
<?php if (!class_exists('NxSocket')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Socket;
use Nexus\Socket\SocketServer;

function attempt(string $what, callable $call): void
{
    try {
        $call();
        echo "$what: no exception\n";
    } catch (Nexus\Socket\SocketException $e) {
        echo "$what: ", get_class($e), ' (', $e->getCode(), '): ', $e->getMessage(), "\n";
    }
}

function port_of(string $address): int
{
    return (int) substr($address, strrpos($address, ':') + 1);
}

// Two plain UDP sockets.
$a = Socket::udp()->timeout(5)->bind('127.0.0.1', 0);
$b = Socket::udp()->timeout(5)->bind('127.0.0.1');
var_dump($a->isConnected(), $a->lastPeer());
var_dump($b->sendTo('127.0.0.1', port_of($a->localAddress()), "\x00datagram\xff"));
var_dump(bin2hex($a->receiveFrom(100, $peer)), $peer === $b->localAddress(), $a->lastPeer() === $peer);
$a->sendTo('127.0.0.1', port_of($peer), 'back');
var_dump($b->receive());
$a->timeout(0.1);
attempt('nothing came', fn () => $a->receive());
// Truncated to the length asked for.
$b->sendTo('127.0.0.1', port_of($a->localAddress()), 'abcdefgh');
var_dump($a->timeout(5)->receive(3));
// A connected UDP socket: send() and receive() with its peer.
$c = Socket::udp()->timeout(5)->connect('127.0.0.1', port_of($a->localAddress()));
var_dump($c->send('connected'), $a->receiveFrom(100, $cPeer));
$a->sendTo('127.0.0.1', port_of($cPeer), 'reply');
var_dump($c->receive(), $c->lastPeer() === $a->localAddress());
attempt('send without a peer', fn () => Socket::udp()->send('x'));
attempt('readLine on UDP', fn () => $a->readLine());

// The UDP server.
$server = SocketServer::udp('127.0.0.1', 0, ['timeout' => 5]);
var_dump($server->getType(), $server->start()->isListening());
$port = $server->getPort();
$c = Socket::udp()->timeout(5)->connect('127.0.0.1', $port);
$c->send('ping');
var_dump($server->receive(), $server->lastPeer() === $c->localAddress());
var_dump($server->send($server->lastPeer(), 'pong'), $c->receive());
$c->send('12345678');
var_dump($server->receive(4));
var_dump($server->sendTo($server->lastPeer(), 'via sendTo'), $c->receive());
var_dump($server->receiveFrom(100, 0.1));
$c->send('with peer');
$got = $server->receiveFrom(100, 5);
var_dump($got['data'], $got['peer'] === $c->localAddress());
attempt('send to a stream', fn () => $server->send(STDOUT, 'x'));
attempt('bad peer', fn () => $server->sendTo('nowhere', 'x'));

// listen($handler): each datagram with its sender, until stop().
foreach (['one', 'two', 'stop', 'after stop'] as $text) {
    $c->send($text);
}
$server->listen(function ($data, $peerName, $server) use ($c) {
    echo "handler: $data from ", $peerName === $c->localAddress() ? 'c' : $peerName, "\n";
    $server->send($peerName, "echo $data");
    if ($data === 'stop') {
        $server->stop();
    }
});
var_dump($c->receive(), $c->receive(), $c->receive(), $server->isListening(), $server->receive());
?>
--EXPECTF--
bool(true)
NULL
int(10)
string(20) "00646174616772616dff"
bool(true)
bool(true)
string(4) "back"
nothing came: Nexus\Socket\TimeoutException (-8): receive on 127.0.0.1:%d: no datagram within the timeout
string(3) "abc"
int(9)
string(9) "connected"
string(5) "reply"
bool(true)
send without a peer: Nexus\Socket\SocketException (-3): the UDP socket has no peer: connect
readLine on UDP: Nexus\Socket\InvalidArgumentException (-1): not for a UDP socket
string(3) "udp"
bool(true)
string(4) "ping"
bool(true)
int(4)
string(4) "pong"
string(4) "1234"
int(10)
string(10) "via sendTo"
NULL
string(9) "with peer"
bool(true)
send to a stream: Nexus\Socket\InvalidArgumentException (-1): send: a UDP server sends to a peer 'ip:port'
bad peer: Nexus\Socket\InvalidArgumentException (-1): sendTo: expected a peer 'ip:port', got 'nowhere'
handler: one from c
handler: two from c
handler: stop from c
string(8) "echo one"
string(8) "echo two"
string(9) "echo stop"
bool(false)
NULL
