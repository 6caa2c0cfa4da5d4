--TEST--
Socket (client): types, helper, fluent timeout/setOption, connect, send/receive/readLine/readAll, end of stream, timeouts and errors
--SKIPIF--
<?php if (!class_exists('NxSocket')) die('skip nexus_socket extension not loaded'); ?>
--ENV--
SOCKET_TIMEOUT=7.5
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

// Types, constants and the helper.
var_dump([Socket::TYPE_TCP, Socket::TYPE_UDP, Socket::TYPE_SSL, Socket::TYPE_TLS]);
foreach ([Socket::tcp(), Socket::udp(), Socket::ssl(), Socket::tls(), socket('tcp'), socket('UDP'), socket('ssl'), socket('tls')] as $s) {
    echo get_class($s), ' ', $s->getType(), ' ', $s->isEncrypted() ? 'tls' : 'plain', "\n";
}
attempt('bad type', fn () => socket('sctp'));
// SOCKET_TIMEOUT is the default, timeout() changes it; both fluent.
$s = Socket::tcp();
var_dump($s->getTimeout());
var_dump($s->timeout(2) === $s, $s->getTimeout(), $s->setOption('verify_peer', false) === $s);
var_dump($s->setOption('tcp_nodelay', true)->setOption('keepalive', 'on')->setOption('timeout', 0.5)->getTimeout());
attempt('unknown option', fn () => Socket::tcp()->setOption('retries', 3));
attempt('bad boolean', fn () => Socket::tcp()->setOption('verify_peer', 'maybe'));
attempt('array value', fn () => Socket::tcp()->setOption('cafile', ['x']));
attempt('zero timeout', fn () => Socket::tcp()->timeout(0));
attempt('option at construction', fn () => new Socket('tcp', ['bogus' => 1]));

// A server in this process: connect() completes from the listen backlog.
$server = SocketServer::tcp('127.0.0.1', 0);
$server->listen();
$port = $server->getPort();
$s = Socket::tcp()->timeout(5);
var_dump($s->isConnected());
var_dump($s->connect('127.0.0.1', $port) === $s, $s->isConnected());
$conn = $server->accept(5);
$client = $conn['socket'];
var_dump($conn['peer'] === $s->localAddress(), $s->peerAddress() === "127.0.0.1:$port");
attempt('connect twice', fn () => $s->connect('127.0.0.1', $port));

var_dump($s->send("GET / HTTP/1.1\r\n\0binary\xff\r\n"));
var_dump(bin2hex($server->receive($client, 100)));
$server->send($client, "line 1\nline 2\r\npartial");
var_dump($s->readLine(), $s->readLine());
$s->timeout(0.2);
attempt('readLine timeout', fn () => $s->readLine()); // "partial" stays buffered
var_dump($s->receive(3), $s->receive());
attempt('receive timeout', fn () => $s->receive());
fwrite($client, "tail without newline");
attempt('readAll timeout', fn () => $s->readAll()); // the peer has not closed
fclose($client);
$s->timeout(5);
var_dump($s->readAll());
var_dump($s->readLine(), $s->receive(), $s->isConnected());
$s->close();
$s->close();
attempt('receive after close', fn () => $s->receive());

// readLine's limit, readAll's limit.
$s = Socket::tcp()->timeout(5)->connect('127.0.0.1', $port);
$client = $server->accept(5)['socket'];
fwrite($client, str_repeat('x', 20) . "\nmore");
attempt('line too long', fn () => $s->readLine(10));
var_dump($s->readLine(100));
fclose($client);
attempt('readAll over its limit', fn () => (function () use ($server, $port) {
    $t = Socket::tcp()->connect('127.0.0.1', $port);
    $c = $server->accept(5)['socket'];
    fwrite($c, str_repeat('y', 50));
    fclose($c);
    $t->readAll(10);
})());

// Refused, with where; a bad port.
$free = stream_socket_server('tcp://127.0.0.1:0');
$freePort = (int) substr(strrchr(stream_socket_get_name($free, false), ':'), 1);
fclose($free);
try {
    Socket::tcp()->connect('127.0.0.1', $freePort, 2);
} catch (Nexus\Socket\ConnectionException $e) {
    var_dump(str_contains($e->getMessage(), "127.0.0.1:$freePort"), str_contains($e->getMessage(), 'refused'));
}
attempt('port out of range', fn () => Socket::tcp()->connect('127.0.0.1', 70000));
attempt('negative timeout', fn () => Socket::tcp()->connect('127.0.0.1', $port, -1));
attempt('send unconnected', fn () => Socket::tcp()->send('x'));
attempt('enableCrypto off', fn () => Socket::tcp()->enableCrypto(false));
attempt('enableCrypto udp', fn () => Socket::udp()->enableCrypto(STREAM_CRYPTO_METHOD_TLS_CLIENT));

// detach(): the connection becomes a stream resource.
$s = Socket::tcp()->connect('127.0.0.1', $port);
$client = $server->accept(5)['socket'];
$stream = $s->detach();
var_dump(get_resource_type($stream), fwrite($stream, "via stream\n"), fgets($client));
attempt('use after detach', fn () => $s->send('x'));
var_dump($s->isConnected());
fclose($stream);
var_dump(fread($client, 10), feof($client));
$server->stop();
var_dump($server->isListening());
?>
--EXPECTF--
array(4) {
  [0]=>
  string(3) "tcp"
  [1]=>
  string(3) "udp"
  [2]=>
  string(3) "ssl"
  [3]=>
  string(3) "tls"
}
Nexus\Socket\Socket tcp plain
Nexus\Socket\Socket udp plain
Nexus\Socket\Socket ssl tls
Nexus\Socket\Socket tls tls
Nexus\Socket\Socket tcp plain
Nexus\Socket\Socket udp plain
Nexus\Socket\Socket ssl tls
Nexus\Socket\Socket tls tls
bad type: Nexus\Socket\InvalidArgumentException (-1): socket type: expected 'tcp', 'udp', 'ssl' or 'tls', got 'sctp'
float(7.5)
bool(true)
float(2)
bool(true)
float(0.5)
unknown option: Nexus\Socket\InvalidArgumentException (-1): unknown socket option 'retries'
bad boolean: Nexus\Socket\InvalidArgumentException (-1): %s
array value: Nexus\Socket\InvalidArgumentException (-1): socket option cafile: expected a string, number or bool, got array
zero timeout: Nexus\Socket\InvalidArgumentException (-1): socket timeout: expected seconds in (0, 86400], got 0.0
option at construction: Nexus\Socket\InvalidArgumentException (-1): unknown socket option 'bogus'
bool(false)
bool(true)
bool(true)
bool(true)
bool(true)
connect twice: Nexus\Socket\SocketException (-3): the socket is already connected
int(26)
string(52) "474554202f20485454502f312e310d0a0062696e617279ff0d0a"
string(7) "line 1
"
string(8) "line 2
"
readLine timeout: Nexus\Socket\TimeoutException (-8): no complete line from 127.0.0.1:%d within 200 ms
string(3) "par"
string(4) "tial"
receive timeout: Nexus\Socket\TimeoutException (-8): receive from 127.0.0.1:%d: nothing arrived within the timeout
readAll timeout: Nexus\Socket\TimeoutException (-8): 127.0.0.1:%d did not close within 200 ms
string(20) "tail without newline"
NULL
string(0) ""
bool(false)
receive after close: Nexus\Socket\SocketException (-3): the socket is not connected
line too long: Nexus\Socket\InvalidArgumentException (-20): %s
string(21) "xxxxxxxxxxxxxxxxxxxx
"
readAll over its limit: Nexus\Socket\InvalidArgumentException (-20): more than 10 bytes from 127.0.0.1:%d
bool(true)
bool(true)
port out of range: Nexus\Socket\InvalidArgumentException (-1): host is NULL or port is not in 0..65535
negative timeout: Nexus\Socket\InvalidArgumentException (-1): timeout: expected seconds in [0, 86400], got -1
send unconnected: Nexus\Socket\SocketException (-3): the socket is not connected
enableCrypto off: Nexus\Socket\InvalidArgumentException (-1): enableCrypto: TLS cannot be turned off on a connection
enableCrypto udp: Nexus\Socket\InvalidArgumentException (-1): enableCrypto: not for a UDP socket
string(6) "stream"
int(11)
string(11) "via stream
"
use after detach: Nexus\Socket\SocketException (-3): this socket was handed over to a stream with detach()
bool(false)
string(0) ""
bool(true)
bool(false)
