--TEST--
A bad port (argument, WEBSOCKET_PORT, config) throws InvalidArgumentException naming it; a port in use throws at start()
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\SocketException;
use Nexus\Socket\WebSocket;

function attempt(callable $call): void
{
    try {
        $call();
        echo "no exception\n";
    } catch (InvalidArgumentException $e) {
        echo get_class($e), ': ', $e->getMessage(), "\n";
    }
}

attempt(fn () => new WebSocket('127.0.0.1', 70000));
attempt(fn () => new WebSocket('127.0.0.1', -1));
attempt(fn () => new WebSocket('', 8080));
putenv('WEBSOCKET_PORT=http');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
attempt(fn () => new WebSocket('127.0.0.1'));
putenv('WEBSOCKET_PORT=9001');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
var_dump((new WebSocket('127.0.0.1'))->getPort());
var_dump((new WebSocket('127.0.0.1', 9002))->getPort()); // explicit wins
putenv('WEBSOCKET_PORT');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
var_dump((new WebSocket('127.0.0.1'))->getPort());   // the default

// In use: the native bind error, naming the address.
$taken = stream_socket_server('tcp://127.0.0.1:0');
$port = (int) substr(strrchr(stream_socket_get_name($taken, false), ':'), 1);
$ws = new WebSocket('127.0.0.1', $port);
try {
    $ws->start();
} catch (SocketException $e) {
    echo get_class($e), ' ', $e->getCode(), ' names the port: ', var_export(str_contains($e->getMessage(), "127.0.0.1:{$port}"), true), "\n";
}
?>
--EXPECT--
Nexus\Socket\InvalidArgumentException: option 'port': expected a port number from 0 to 65535, got 70000
Nexus\Socket\InvalidArgumentException: option 'port': expected a port number from 0 to 65535, got -1
Nexus\Socket\InvalidArgumentException: option 'host': expected a host name or address, got ''
Nexus\Socket\InvalidArgumentException: websocket.port (WEBSOCKET_PORT): expected a port number from 0 to 65535, got 'http'
int(9001)
int(9002)
int(8080)
Nexus\Socket\SocketException -9 names the port: true
