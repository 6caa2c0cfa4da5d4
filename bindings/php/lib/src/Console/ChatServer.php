<?php

declare(strict_types=1);

namespace Nexus\Socket\Console;

use Nexus\Socket\WebSocket;

/**
 * The seed's "Chat Server Example", as `php nexus websocket:serve` runs it:
 * "ID joined the chat" to the others when a client connects, "[ID] text" to
 * everyone for each message, "ID left the chat" when one leaves, and a line
 * on the output for each of those. Binary messages are relayed to everyone
 * unchanged (the native `nexus-socket serve` does the same).
 */
final class ChatServer
{
    private function __construct()
    {
    }

    /** Sets the chat's handlers on $ws. */
    public static function attach(WebSocket $ws): void
    {
        $ws->on('connect', function ($clientId, $client) use ($ws) {
            echo "[{$clientId}] connected\n";
            $ws->broadcast("{$clientId} joined the chat", $clientId);
        });

        $ws->on('message', function ($clientId, $message, $client) use ($ws) {
            echo "[{$clientId}] {$message}\n";

            // Broadcast message to all clients
            $ws->broadcast("[{$clientId}] {$message}");
        });

        $ws->on('binary', function ($clientId, $data) use ($ws) {
            $ws->broadcastBinary($data);
        });

        $ws->on('disconnect', function ($clientId) use ($ws) {
            echo "[{$clientId}] disconnected\n";
            $ws->broadcast("{$clientId} left the chat");
        });
    }
}
