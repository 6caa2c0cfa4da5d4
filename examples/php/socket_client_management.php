<?php

/*
 * The seed's "Managing Clients": addClient(), broadcast(), removeClient().
 *
 *     build/bin/php-nexus examples/php/socket_client_management.php [HOST [PORT]]
 *
 * Connections are served one after the other. Each new client is added and
 * everyone added hears "New client connected: PEER". The handler then reads
 * the client's command lines:
 *   say TEXT   everyone added hears "[PEER] TEXT"
 *   clients    the client is told "clients: N" (how many are added)
 *   stay       the handler returns; the client stays added (it keeps hearing
 *              the broadcasts) while the server takes the next connection
 *   quit       (or the end of its stream) the client is removed, closed, and
 *              everyone else hears "Client left: PEER"
 * HOST and PORT default to SOCKET_HOST / SOCKET_PORT, else 0.0.0.0:8080.
 */

use Nexus\Socket\SocketServer;

$host = $argv[1] ?? env('SOCKET_HOST', '0.0.0.0');
$port = (int) ($argv[2] ?? env('SOCKET_PORT', 8080));

$server = SocketServer::tcp($host, $port);
$server->start();
echo "Client management server on tcp://{$host}:{$server->getPort()}\n";

$server->listen(function ($client, $peerName, $server) {
    // Add client to tracked clients
    $server->addClient($client);

    // Broadcast to all clients
    $server->broadcast("New client connected: {$peerName}\n");

    // Handle client...
    while (($line = fgets($client)) !== false) {
        $line = rtrim($line, "\r\n");
        if (str_starts_with($line, 'say ')) {
            $server->broadcast("[{$peerName}] " . substr($line, 4) . "\n");
        } elseif ($line === 'clients') {
            $server->send($client, 'clients: ' . count($server->getClients()) . "\n");
        } elseif ($line === 'stay') {
            echo "{$peerName} stays\n";
            return; // still added: it keeps getting broadcasts
        } elseif ($line === 'quit') {
            break;
        }
    }

    // Remove client
    $server->removeClient($client);
    fclose($client);
    $server->broadcast("Client left: {$peerName}\n");
    echo "{$peerName} left\n";
});
