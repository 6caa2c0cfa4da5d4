--TEST--
WebSocketClient: bad URL, refused connection, unknown option, use before connect
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\WebSocketClient;

function attempt(string $what, callable $call): void
{
    try {
        $call();
        echo "$what: no exception\n";
    } catch (Nexus\Socket\SocketException $e) {
        echo "$what: ", get_class($e), "\n";
    }
}

$free = stream_socket_server('tcp://127.0.0.1:0');
$port = (int) substr(strrchr(stream_socket_get_name($free, false), ':'), 1);
fclose($free);

attempt('bad url', fn () => (new WebSocketClient())->connect('http://127.0.0.1/'));
attempt('refused', fn () => (new WebSocketClient())->connect("ws://127.0.0.1:{$port}/", ['timeout' => 2]));
attempt('unknown option', fn () => (new WebSocketClient())->connect('ws://127.0.0.1/', ['retries' => 3]));
attempt('bad option', fn () => (new WebSocketClient())->connect('ws://127.0.0.1/', ['timeout' => -1]));
attempt('send first', fn () => (new WebSocketClient())->send('x'));
attempt('receive first', fn () => (new WebSocketClient())->receive(0.1));
$c = new WebSocketClient();
var_dump($c->isOpen(), $c->closeCode(), $c->httpStatus());
$c->close(); // nothing to close
?>
--EXPECT--
bad url: Nexus\Socket\InvalidArgumentException
refused: Nexus\Socket\ConnectionException
unknown option: Nexus\Socket\InvalidArgumentException
bad option: Nexus\Socket\InvalidArgumentException
send first: Nexus\Socket\SocketException
receive first: Nexus\Socket\SocketException
bool(false)
NULL
int(0)
