<?php

/*
 * The seed's "Broadcast Server": everyone hears the client count when a
 * client joins or leaves, and every message goes to everyone but its sender.
 *
 *     build/bin/php-nexus examples/php/broadcast_server.php [HOST [PORT]]
 *
 * Address as in chat_server.php (command line, else WEBSOCKET_HOST /
 * WEBSOCKET_PORT, else 0.0.0.0:8080; bound before the "running" line so that
 * it shows the real port).
 */

use Nexus\Socket\WebSocket;

$ws = new WebSocket($argv[1] ?? null, isset($argv[2]) ? (int) $argv[2] : null);

$ws->on('connect', function ($clientId) use ($ws) {
    $clients = count($ws->getClients());
    $ws->broadcast("Total clients: {$clients}");
});

$ws->on('message', function ($clientId, $message) use ($ws) {
    // Broadcast to everyone except sender
    $ws->broadcast($message, $clientId);
});

$ws->on('disconnect', function ($clientId) use ($ws) {
    $clients = count($ws->getClients());
    $ws->broadcast("Client left. Total clients: {$clients}");
});

$ws->start();
echo "Broadcast server running on ws://{$ws->getHost()}:{$ws->getPort()}\n";
$ws->listen();
