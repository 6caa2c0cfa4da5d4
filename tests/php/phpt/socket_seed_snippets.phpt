--TEST--
The seed's TCP/UDP socket and socket server snippets, as written, against local peers
--SKIPIF--
<?php
if (!class_exists('NxSocket')) die('skip nexus_socket extension not loaded');
if (!function_exists('pcntl_fork')) die('skip pcntl needed');
?>
--FILE--
<?php
use Nexus\Socket\Socket;
use Nexus\Socket\SocketServer;

// A plain PHP server in a child process: answers a request with a line, a
// second line, then a body, and closes (the peer of the client snippets).
$listener = stream_socket_server('tcp://127.0.0.1:0');
$port = (int) substr(strrchr(stream_socket_get_name($listener, false), ':'), 1);
$pid = pcntl_fork();
if ($pid === 0) {
    for ($i = 0; $i < 3; $i++) {
        $c = stream_socket_accept($listener, 10);
        $request = fread($c, 8192);
        fwrite($c, "HTTP/1.1 200 OK\r\nX-Request-Bytes: " . strlen($request) . "\r\n\r\nbody\n");
        fclose($c);
    }
    posix_kill(getmypid(), SIGKILL);
}
fclose($listener);

// TCP socket
$socket = Socket::tcp();
// UDP socket
$socket = Socket::udp();
// SSL socket
$socket = Socket::ssl();
// TLS socket
$socket = Socket::tls();
// Using helper
$socket = socket('tcp');

// With timeout
$socket->timeout(10)->connect('127.0.0.1', $port);

// Check if connected
if ($socket->isConnected()) {
    echo "Connected!\n";
}

// Send data
$bytes = $socket->send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
var_dump($bytes);

// Receive data, line, and all available data (the server sends and closes)
$line = $socket->readLine();
$data = $socket->receive(8192);
$allData = $socket->readAll();
var_dump($line, $data . $allData);

$socket->close();

// Socket options
$socket = Socket::tcp()
    ->timeout(30)
    ->setOption('verify_peer', false)
    ->connect('127.0.0.1', $port);
echo get_class($socket), "\n";
$socket->close();

// Connection refused
$free = stream_socket_server('tcp://127.0.0.1:0');
$freePort = (int) substr(strrchr(stream_socket_get_name($free, false), ':'), 1);
fclose($free);
try {
    $socket->connect('127.0.0.1', $freePort);
} catch (Exception $e) {
    echo "Connection failed: " . str_replace((string) $freePort, "PORT", $e->getMessage()) . "\n";
}
// Increase timeout
$socket = Socket::tcp();
$socket->timeout(60)->connect('127.0.0.1', $port);
$socket->send("x");
echo $socket->readLine();
$socket->close();
pcntl_waitpid($pid, $status);

// Socket servers: the handler of "Listening for Connections" serves a client process.
$server = SocketServer::tcp('127.0.0.1', 0);
$udp = SocketServer::udp('127.0.0.1', 0);
$server->start();
$port = $server->getPort();
$pid = pcntl_fork();
if ($pid === 0) {
    $s = Socket::tcp()->timeout(5)->connect('127.0.0.1', $port);
    $s->send('hi from the client');
    $reply = $s->readAll();
    $s = Socket::tcp()->timeout(5)->connect('127.0.0.1', $port);
    $s->send('second');
    file_put_contents('php://stderr', ''); // nothing to say
    $s->readAll();
    posix_kill(getmypid(), SIGKILL);
}
$served = 0;
$server->listen(function ($client, $peerName, $server) use (&$served) {
    echo "New connection from " . (preg_match('/^127\.0\.0\.1:\d+$/', $peerName) ? '127.0.0.1' : $peerName) . "\n";

    // Receive data from client
    $data = $server->receive($client, 1024);
    echo "Received: {$data}\n";

    // Send response
    $server->send($client, "Hello from server!\n");

    // Close client connection
    fclose($client);

    if (++$served === 2) {
        $server->stop();
    }
});
pcntl_waitpid($pid, $status);
var_dump($server->isListening(), $udp->getType());
?>
--EXPECT--
Connected!
int(37)
string(17) "HTTP/1.1 200 OK
"
string(28) "X-Request-Bytes: 37

body
"
Nexus\Socket\Socket
Connection failed: connection refused by 127.0.0.1:PORT
HTTP/1.1 200 OK
New connection from 127.0.0.1
Received: hi from the client
New connection from 127.0.0.1
Received: second
bool(false)
string(3) "udp"
