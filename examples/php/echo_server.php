<?php

/*
 * An echo server: text comes back as text, binary as binary.
 *
 *     build/bin/php-nexus examples/php/echo_server.php [HOST [PORT]]
 *
 * 'message' receives text messages only (always valid UTF-8); binary messages
 * go to 'binary'. A server without a 'binary' handler closes a client that
 * sends binary with 1003 (unsupported data).
 */

use Nexus\Socket\WebSocket;

$ws = new WebSocket($argv[1] ?? null, isset($argv[2]) ? (int) $argv[2] : null);

$ws->on('message', function ($clientId, $message) use ($ws) {
    $ws->send($clientId, $message);
});

$ws->on('binary', function ($clientId, $data) use ($ws) {
    $ws->sendBinary($clientId, $data); // or $ws->send($clientId, $data, binary: true)
});

$ws->start();
echo "Echo server running on ws://{$ws->getHost()}:{$ws->getPort()}\n";
$ws->listen();
