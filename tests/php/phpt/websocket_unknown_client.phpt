--TEST--
Operations on a client id that is not connected throw Nexus\Socket\UnknownClientException
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\UnknownClientException;
use Nexus\Socket\WebSocket;

function attempt(string $what, callable $call): void
{
    try {
        $call();
        echo "$what: no exception\n";
    } catch (UnknownClientException $e) {
        echo "$what: ", get_class($e), ' (', $e->getCode(), '): ', $e->getMessage(), "\n";
    }
}

$ws = new WebSocket('127.0.0.1', 0);
attempt('before start', fn () => $ws->send('1', 'hello'));
$ws->start();
attempt('send', fn () => $ws->send('42', 'hello'));
attempt('send int', fn () => $ws->send(42, 'hello'));
attempt('sendBinary', fn () => $ws->sendBinary('42', "\x00"));
attempt('disconnect', fn () => $ws->disconnect('42'));
attempt('getClient', fn () => $ws->getClient('nope'));
attempt('subscribe', fn () => $ws->subscribe('0', 'news'));
attempt('unsubscribe', fn () => $ws->unsubscribe('-3', 'news'));
attempt('getChannels', fn () => $ws->getChannels('7'));
var_dump($ws->hasClient('42'), $ws->getClients(), $ws->clientCount());

// Nobody to exclude is fine (the client may have just left); something that is no id is not.
var_dump($ws->broadcast('to nobody', '42'));
try {
    $ws->broadcast('to nobody', 'abc');
} catch (Nexus\Socket\InvalidArgumentException $e) {
    echo $e->getMessage(), "\n";
}
$ws->stop();
?>
--EXPECT--
before start: Nexus\Socket\UnknownClientException (-4): no connected client with id '1'
send: Nexus\Socket\UnknownClientException (-4): no connected client with id '42'
send int: Nexus\Socket\UnknownClientException (-4): no connected client with id '42'
sendBinary: Nexus\Socket\UnknownClientException (-4): no connected client with id '42'
disconnect: Nexus\Socket\UnknownClientException (-4): no connected client with id '42'
getClient: Nexus\Socket\UnknownClientException (-4): no connected client with id 'nope'
subscribe: Nexus\Socket\UnknownClientException (-4): no connected client with id '0'
unsubscribe: Nexus\Socket\UnknownClientException (-4): no connected client with id '-3'
getChannels: Nexus\Socket\UnknownClientException (-4): no connected client with id '7'
bool(false)
array(0) {
}
int(0)
int(0)
'abc' is not a client id
