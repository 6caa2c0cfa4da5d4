--TEST--
WebSocket settings: environment, then config/socket.php, then explicit options; bad values and unknown options are refused
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\WebSocket;

putenv('WEBSOCKET_MAX_CLIENTS=7');
putenv('WEBSOCKET_PING_INTERVAL=0.5');
putenv('SOCKET_TIMEOUT=12');               // the pong deadline, as WEBSOCKET_PONG_TIMEOUT is not set
putenv('WEBSOCKET_SUBPROTOCOLS=chat.v2, chat.v1');
putenv('WEBSOCKET_COMPRESSION=true');
putenv('WEBSOCKET_COMPRESSION_LEVEL=1');
putenv('WEBSOCKET_LOG_LEVEL=error');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
$ws = new WebSocket('127.0.0.1', 0, ['max_clients' => 3, 'stop_timeout' => 1.5]);
$o = $ws->getOptions();
var_dump($o['max_clients'], $o['ping_interval'], $o['pong_timeout'], $o['subprotocols'],
    $o['compression'], $o['log_level'], $o['stop_timeout'], $o['port'], $o['host'],
    $o['deflate_level']);
putenv('WEBSOCKET_PONG_TIMEOUT=3');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
var_dump((new WebSocket('127.0.0.1', 0))->getOptions()['pong_timeout']);

// Starts with them: the native options took every value.
$ws->start();
var_dump($ws->getPort() > 0, $ws->isRunning());
$ws->stop();
while ($ws->isRunning()) {
    $ws->poll(0.1);
}

function attempt(callable $call): void
{
    try {
        $call();
        echo "no exception\n";
    } catch (InvalidArgumentException $e) {
        echo $e->getMessage(), "\n";
    }
}
attempt(fn () => new WebSocket('127.0.0.1', 0, ['max_client' => 1]));
attempt(fn () => new WebSocket('127.0.0.1', 0, ['ping_interval' => -1]));
attempt(fn () => new WebSocket('127.0.0.1', 0, ['threads' => 0]));
attempt(fn () => new WebSocket('127.0.0.1', 0, ['static_dir' => '/no/such/dir']));
attempt(fn () => new WebSocket('127.0.0.1', 0, ['log_level' => 'loud']));
putenv('WEBSOCKET_MAX_CLIENTS=lots');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
attempt(fn () => new WebSocket('127.0.0.1', 0));
putenv('WEBSOCKET_MAX_CLIENTS');
putenv('WEBSOCKET_COMPRESSION=maybe');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
attempt(fn () => new WebSocket('127.0.0.1', 0));
putenv('WEBSOCKET_COMPRESSION=true');
putenv('WEBSOCKET_COMPRESSION_LEVEL=fast');
Nexus\Socket\Config::reset(); // config/socket.php is read once: re-read it
attempt(fn () => new WebSocket('127.0.0.1', 0));
?>
--EXPECTF--
int(3)
float(0.5)
float(12)
array(2) {
  [0]=>
  string(7) "chat.v2"
  [1]=>
  string(7) "chat.v1"
}
bool(true)
string(5) "error"
float(1.5)
int(0)
string(9) "127.0.0.1"
int(1)
float(3)
bool(true)
bool(true)
unknown WebSocket option 'max_client'; known: host, port, threads, max_clients, %s
option 'ping_interval': expected seconds (a number >= 0), got -1
option 'threads': expected a whole number from 1 to 256, got 0
option 'static_dir': expected an existing directory, got '/no/such/dir'
option 'log_level': expected trace, debug, info, warning, error, off, got 'loud'
websocket.max_clients (WEBSOCKET_MAX_CLIENTS): expected a whole number from 0 to 10000000, got 'lots'
websocket.compression (WEBSOCKET_COMPRESSION): expected true or false, got 'maybe'
websocket.deflate_level (WEBSOCKET_COMPRESSION_LEVEL): expected a whole number from -1 to 9, got 'fast'
