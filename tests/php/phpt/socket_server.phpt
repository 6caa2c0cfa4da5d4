--TEST--
SocketServer: accept() with timeout, $client as a real stream (fread/fwrite/fgets/feof/fclose/select/timeouts/meta data), receive/send, addClient/removeClient/broadcast, stop, errors
--SKIPIF--
<?php if (!class_exists('NxSocketServer')) die('skip nexus_socket extension not loaded'); ?>
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

$server = SocketServer::tcp('127.0.0.1', 0);
var_dump($server->isListening(), $server->getPort(), $server->getHost(), $server->getType());
var_dump($server->listen() === $server, $server->isListening(), $server->getPort() > 0);
$port = $server->getPort();
$t = microtime(true);
var_dump($server->accept(0.2), microtime(true) - $t >= 0.19);

$a = Socket::tcp()->timeout(5)->connect('127.0.0.1', $port);
$conn = $server->accept(5);
var_dump(array_keys($conn), is_resource($conn['socket']), get_resource_type($conn['socket']));
$client = $conn['socket'];
var_dump($conn['peer'] === $a->localAddress(), $server->lastPeer() === $conn['peer']);
var_dump(stream_socket_get_name($client, true) === $conn['peer'], stream_socket_get_name($client, false) === "127.0.0.1:$port");
$meta = stream_get_meta_data($client);
var_dump($meta['stream_type'], $meta['timed_out'], $meta['blocked'], $meta['eof']);

// fwrite/fread/fgets, and a read does not wait once it has data.
$a->send("first line\nsecond");
var_dump(fgets($client));
var_dump(feof($client), fread($client, 1024));
$a->send(str_repeat('z', 1500));
$t = microtime(true);
var_dump(strlen(fread($client, 1024)), strlen(fread($client, 1024)), microtime(true) - $t < 1);
var_dump(fwrite($client, "reply\n"), $a->readLine());

// stream_select: nothing, then readable.
$r = [$client]; $w = null; $e = null;
var_dump(stream_select($r, $w, $e, 0, 50000));
$a->send('x');
$r = [$client];
var_dump(stream_select($r, $w, $e, 5), fread($client, 10));

// Timeouts: stream_set_timeout, then receive() turns one into TimeoutException.
var_dump(stream_set_timeout($client, 0, 100000));
var_dump(fread($client, 10), stream_get_meta_data($client)['timed_out'], feof($client));
attempt('receive timeout', fn () => $server->receive($client, 10));
// Non-blocking: nothing is no timeout.
var_dump(stream_set_blocking($client, false), fread($client, 10), stream_get_meta_data($client)['timed_out']);
stream_set_blocking($client, true);
stream_set_timeout($client, 5);

// receive/send helpers, binary-safe.
var_dump($server->send($client, "\x00\x01\xff"), bin2hex($a->receive()));
$a->send("\xfe\x00");
var_dump(bin2hex($server->receive($client, 100)));

// End of stream: the peer closes.
$a->close();
var_dump(fread($client, 10), feof($client), $server->receive($client));
fclose($client);
var_dump(is_resource($client));
attempt('receive on a closed stream', fn () => $server->receive($client));
attempt('send to something else', fn () => $server->send('x', 'data'));

// addClient/removeClient/getClients/broadcast.
$peers = [];
$sockets = [];
for ($i = 0; $i < 3; $i++) {
    $sockets[$i] = Socket::tcp()->timeout(5)->connect('127.0.0.1', $port);
    $c = $server->accept(5)['socket'];
    var_dump($server->addClient($c) === $server);
    $peers[$i] = $c;
}
var_dump(count($server->getClients()), array_values($server->getClients()) === $peers);
var_dump($server->broadcast("to all\n"));
foreach ($sockets as $s) {
    echo $s->readLine();
}
var_dump($server->broadcast("not to 0\n", $peers[0]));
echo $sockets[1]->readLine(), $sockets[2]->readLine();
$server->removeClient($peers[1]);
fclose($peers[2]); // closed ones drop out by themselves
var_dump(count($server->getClients()), $server->broadcast("only 0\n"));
echo $sockets[0]->readLine();
$sockets[0]->timeout(0.1);
attempt('1 got nothing more', fn () => $sockets[1]->timeout(0.1)->readLine());
attempt('add a closed stream', fn () => $server->addClient($peers[2]));

// stop(): closes the listener and the added clients.
$server->stop();
var_dump($server->isListening(), $server->isStopping(), is_resource($peers[0]), is_resource($peers[1]));
var_dump($sockets[0]->timeout(5)->readLine(), $server->accept(0.1));
attempt('start after stop', fn () => $server->start());
fclose($peers[1]);

// Errors.
$busy = SocketServer::tcp('127.0.0.1', 0)->start();
try {
    SocketServer::tcp('127.0.0.1', $busy->getPort())->start();
} catch (Nexus\Socket\SocketException $e) {
    var_dump(get_class($e), $e->getCode() === NX_EBIND, str_contains($e->getMessage(), '127.0.0.1:' . $busy->getPort()));
}
attempt('bad port', fn () => new SocketServer('127.0.0.1', 65536));
attempt('bad type', fn () => new SocketServer('127.0.0.1', 0, 'quic'));
attempt('unknown option', fn () => new SocketServer('127.0.0.1', 0, Socket::TYPE_TCP, ['bogus' => 1]));
attempt('bad backlog', fn () => new SocketServer('127.0.0.1', 0, Socket::TYPE_TCP, ['backlog' => 0]));
attempt('ssl for udp', fn () => new SocketServer('127.0.0.1', 0, Socket::TYPE_UDP, ['ssl' => []]));
attempt('tls without certificate', fn () => (new SocketServer('127.0.0.1', 0, Socket::TYPE_TLS))->start());
attempt('missing certificate file', fn () => SocketServer::tls('127.0.0.1', 0, ['local_cert' => '/nonexistent/cert.pem'])->start());
attempt('accept on udp', fn () => SocketServer::udp('127.0.0.1', 0)->accept(0));
?>
--EXPECTF--
bool(false)
int(0)
string(9) "127.0.0.1"
string(3) "tcp"
bool(true)
bool(true)
bool(true)
NULL
bool(true)
array(2) {
  [0]=>
  string(6) "socket"
  [1]=>
  string(4) "peer"
}
bool(true)
string(6) "stream"
bool(true)
bool(true)
bool(true)
bool(true)
string(12) "nexus_socket"
bool(false)
bool(true)
bool(false)
string(11) "first line
"
bool(false)
string(6) "second"
int(1024)
int(476)
bool(true)
int(6)
string(6) "reply
"
int(0)
int(1)
string(1) "x"
bool(true)
string(0) ""
bool(true)
bool(false)
receive timeout: Nexus\Socket\TimeoutException (-8): nothing from 127.0.0.1:%d within the timeout
bool(true)
string(0) ""
bool(false)
int(3)
string(6) "0001ff"
string(4) "fe00"
string(0) ""
bool(true)
string(0) ""
bool(false)
receive on a closed stream: Nexus\Socket\InvalidArgumentException (-1): receive: expected an open client stream, got resource (closed)
send to something else: Nexus\Socket\InvalidArgumentException (-1): send: expected an open client stream, got string
bool(true)
bool(true)
bool(true)
int(3)
bool(true)
int(3)
to all
to all
to all
int(2)
not to 0
not to 0
int(1)
int(1)
only 0
1 got nothing more: Nexus\Socket\TimeoutException (-8): no complete line from 127.0.0.1:%d within 100 ms
add a closed stream: Nexus\Socket\InvalidArgumentException (-1): addClient: expected an open client stream, got resource (closed)
bool(false)
bool(true)
bool(false)
bool(true)
NULL
NULL
start after stop: Nexus\Socket\SocketException (-3): this server was stopped; make a new SocketServer
string(28) "Nexus\Socket\SocketException"
bool(true)
bool(true)
bad port: Nexus\Socket\InvalidArgumentException (-1): server port: expected 0..65535, got 65536
bad type: Nexus\Socket\InvalidArgumentException (-1): socket type: expected 'tcp', 'udp', 'ssl' or 'tls', got 'quic'
unknown option: Nexus\Socket\InvalidArgumentException (-1): unknown server option 'bogus'
bad backlog: Nexus\Socket\InvalidArgumentException (-1): backlog: a positive number
ssl for udp: Nexus\Socket\InvalidArgumentException (-1): server option ssl: expected an array of TLS options, for a TCP, SSL or TLS server
tls without certificate: Nexus\Socket\InvalidArgumentException (-1): a TLS server needs local_cert (and local_pk)
missing certificate file: Nexus\Socket\InvalidArgumentException (-21): cannot load local_cert /nonexistent/cert.pem%s
accept on udp: Nexus\Socket\InvalidArgumentException (-1): accept: a UDP server has no connections; use receive()
