<?php

/*
 * The seed's "Client Management": getClients(), disconnect() and stop(),
 * driven by text commands from the clients themselves:
 *
 *   clients      -> one line per client, the seed's "Client: ID from IP:PORT"
 *   whoami       -> this client's details as JSON (peer, path, query, headers, ...)
 *   kick ID      -> disconnects client ID (close 1000); "kicked ID", or the error
 *   stats        -> the server's counters as JSON
 *   stop         -> "server stopping" to everyone, then a graceful stop (close 1001)
 *
 * Every client is greeted with "welcome ID".
 *
 *     build/bin/php-nexus examples/php/client_management.php [HOST [PORT]]
 */

use Nexus\Socket\UnknownClientException;
use Nexus\Socket\WebSocket;

$ws = new WebSocket($argv[1] ?? null, isset($argv[2]) ? (int) $argv[2] : null);

$ws->on('connect', function ($clientId, $client) use ($ws) {
    $ws->send($clientId, "welcome {$clientId}");
});

$ws->on('message', function ($clientId, $message, $client) use ($ws) {
    [$command, $argument] = explode(' ', $message, 2) + [1 => ''];

    switch ($command) {
        case 'clients':
            // Get all connected clients
            $clients = $ws->getClients();

            $lines = [];
            foreach ($clients as $id => $clientData) {
                $lines[] = "Client: {$id} from {$clientData['peer']}";
            }
            $ws->send($clientId, implode("\n", $lines));
            break;

        case 'whoami':
            $ws->send($clientId, json_encode($client));
            break;

        case 'kick':
            try {
                // Disconnect a client
                $ws->disconnect($argument);
                $ws->send($clientId, "kicked {$argument}");
            } catch (UnknownClientException $e) {
                $ws->send($clientId, "error: {$e->getMessage()}");
            }
            break;

        case 'stats':
            $ws->send($clientId, json_encode($ws->getStats()));
            break;

        case 'stop':
            $ws->broadcast('server stopping');

            // Stop server
            $ws->stop();
            break;

        default:
            $ws->send($clientId, "unknown command: {$command}");
    }
});

$ws->start();
echo "Client management server running on ws://{$ws->getHost()}:{$ws->getPort()}\n";
$ws->listen();
echo "stopped\n";
