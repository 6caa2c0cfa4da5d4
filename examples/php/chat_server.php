<?php

/*
 * The seed's "Chat Server Example": every client sees who joins and leaves,
 * and every message as "[ID] text".
 *
 *     build/bin/php-nexus examples/php/chat_server.php [HOST [PORT]]
 *
 * The one change to the seed: the address comes from the command line, else
 * from WEBSOCKET_HOST / WEBSOCKET_PORT (environment or .env), else
 * 0.0.0.0:8080; and the server binds (start()) before the "running" line, so
 * that the line shows the real port when port 0 picked a free one.
 * Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
 *
 * Several of these are one chat when they share a Redis (docs/scaling.md),
 * with no change to the code: give each the same settings, and its own port,
 *
 *     WEBSOCKET_SCALING=redis REDIS_URL=redis://127.0.0.1:6379 \
 *         build/bin/php-nexus examples/php/chat_server.php 0.0.0.0 8081
 *     WEBSOCKET_SCALING=redis REDIS_URL=redis://127.0.0.1:6379 \
 *         build/bin/php-nexus examples/php/chat_server.php 0.0.0.0 8082
 *
 * and a client of either sees who joins and leaves, and what is said, on both
 * (the broadcasts go through Redis; ids are unique across the servers).
 */

use Nexus\Socket\WebSocket;

$ws = new WebSocket($argv[1] ?? null, isset($argv[2]) ? (int) $argv[2] : null);
$ws->start();

echo "WebSocket chat server running on ws://{$ws->getHost()}:{$ws->getPort()}\n";

$ws->on('connect', function ($clientId, $client) use ($ws) {
    echo "[{$clientId}] connected\n";
    $ws->broadcast("{$clientId} joined the chat", $clientId);
});

$ws->on('message', function ($clientId, $message, $client) use ($ws) {
    echo "[{$clientId}] {$message}\n";

    // Broadcast message to all clients
    $ws->broadcast("[{$clientId}] {$message}");
});

$ws->on('disconnect', function ($clientId) use ($ws) {
    echo "[{$clientId}] disconnected\n";
    $ws->broadcast("{$clientId} left the chat");
});

$ws->listen();
