--TEST--
The 'handshake' handler: true accepts (its data stays with the client), false is 403, a status or [status, body] rejects, anything else is 500 and an error
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Connection;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

$ws = new WebSocket('127.0.0.1', 0);
$ws->on('handshake', function (Connection $request) {
    var_dump($request->isPending(), $request->path);
    $request->data['token'] = $request->queryParams()['token'] ?? null;
    return match ($request->path) {
        '/ok' => true,
        '/no' => false,
        '/teapot' => 418,
        '/body' => [401, 'who are you?'],
        '/odd' => 'yes',
        '/throw' => throw new RuntimeException('hook failed'),
    };
});
$ws->on('connect', function ($id, Connection $client) {
    echo "connect: token=", $client->data['token'], ' pending=', var_export($client->isPending(), true), "\n";
});
$ws->on('error', function (?string $id, Throwable $e) {
    echo 'error: ', get_class($e), ': ', $e->getMessage(), "\n";
});
$ws->start();
$url = "ws://127.0.0.1:{$ws->getPort()}";
// The extension this process loaded, for the child below.
preg_match('~\s(/\S+/nexus_socket\.so)$~m', file_get_contents('/proc/self/maps'), $m);
$extension = $m[1];

// The client blocks in connect() while this process must answer the handshake:
// run it in a child process, and poll here until it has finished.
foreach (['/ok?token=t1', '/no', '/teapot', '/body', '/odd', '/throw'] as $path) {
    $code = '$c = new Nexus\Socket\WebSocketClient(); try { $c->connect(' . var_export($url . $path, true)
        . ', ["timeout" => 5]); echo "open\n"; $c->close(); } catch (Nexus\Socket\ConnectionException $e) { echo "refused ", $c->httpStatus(), "\n"; }';
    $child = proc_open([PHP_BINARY, '-n', '-d', 'extension=' . $extension, '-r', 'require ' . var_export(NEXUS_SOCKET_LIB_DIR . '/bootstrap.php', true) . '; ' . $code],
        [1 => ['pipe', 'w']], $pipes);
    stream_set_blocking($pipes[1], false);
    $out = '';
    $deadline = microtime(true) + 10;
    while (!str_contains($out, "\n") && microtime(true) < $deadline) {
        $ws->poll(0.05);
        $out .= stream_get_contents($pipes[1]);
    }
    while (proc_get_status($child)['running'] && microtime(true) < $deadline) {
        $ws->poll(0.05);
    }
    $out .= stream_get_contents($pipes[1]);
    proc_close($child);
    echo "$path: $out";
}
$ws->stop();
while ($ws->isRunning()) {
    $ws->poll(0.1);
}
?>
--EXPECT--
bool(true)
string(3) "/ok"
connect: token=t1 pending=false
/ok?token=t1: open
bool(true)
string(3) "/no"
/no: refused 403
bool(true)
string(7) "/teapot"
/teapot: refused 418
bool(true)
string(5) "/body"
/body: refused 401
bool(true)
string(4) "/odd"
error: Nexus\Socket\InvalidArgumentException: the handshake handler must return true (accept), false (403), an HTTP status 400..599 or [status, body]; it returned string
/odd: refused 500
bool(true)
string(6) "/throw"
error: RuntimeException: hook failed
/throw: refused 500
