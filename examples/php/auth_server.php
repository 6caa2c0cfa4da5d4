<?php

/*
 * Authentication at the handshake: the 'handshake' handler sees each
 * opening request (path, query, headers, peer) before the connection is
 * accepted, and lets it in, or refuses it with an HTTP status.
 *
 *     build/bin/php-nexus examples/php/auth_server.php
 *     ws://HOST:PORT/?token=alice-token   -> accepted, greeted "hello alice"
 *     ws://HOST:PORT/                     -> HTTP 401
 *
 * A real application would check a session or a signed token; what the
 * handler keeps in $request->data stays with the client ($client->data).
 */

use Nexus\Socket\Connection;
use Nexus\Socket\WebSocket;

$users = ['alice-token' => 'alice', 'bob-token' => 'bob'];

$ws = new WebSocket($argv[1] ?? null, isset($argv[2]) ? (int) $argv[2] : null);

$ws->on('handshake', function (Connection $request) use ($users) {
    $token = $request->queryParams()['token'] ?? $request->header('X-Token');
    if (!is_string($token) || !isset($users[$token])) {
        return [401, "a valid token is needed\n"];
    }
    $request->data['user'] = $users[$token];
    return true;
});

$ws->on('connect', function ($clientId, Connection $client) use ($ws) {
    $ws->send($clientId, "hello {$client->data['user']}");
    $ws->broadcast("{$client->data['user']} joined", $clientId);
});

$ws->on('message', function ($clientId, $message, Connection $client) use ($ws) {
    $ws->broadcast("{$client->get('user')}: {$message}");
});

$ws->start();
echo "Auth server running on ws://{$ws->getHost()}:{$ws->getPort()}\n";
$ws->listen();
