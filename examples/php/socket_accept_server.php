<?php

/*
 * The seed's "Accepting Connections": listen() only binds, then a loop of
 * accept() with a timeout; each client's first message is answered with
 * "Echo: ..." and the connection closed.
 *
 *     build/bin/php-nexus examples/php/socket_accept_server.php [HOST [PORT [TIMEOUT]]]
 *
 * HOST and PORT default to SOCKET_HOST / SOCKET_PORT, else 0.0.0.0:8080;
 * TIMEOUT (seconds, default 5) is accept()'s. A line is printed for each
 * connection and for each accept() that timed out. SIGINT/SIGTERM end it.
 */

use Nexus\Socket\SocketServer;

$host = $argv[1] ?? env('SOCKET_HOST', '0.0.0.0');
$port = (int) ($argv[2] ?? env('SOCKET_PORT', 8080));
$timeout = (float) ($argv[3] ?? 5);

$server = SocketServer::tcp($host, $port);
$server->listen();
echo "Listening on tcp://{$host}:{$server->getPort()}\n";

if (function_exists('pcntl_async_signals')) {
    pcntl_async_signals(true);
    $stop = function () use ($server) {
        $server->stop(); // accept() returns null at once
    };
    pcntl_signal(SIGINT, $stop);
    pcntl_signal(SIGTERM, $stop);
}

while (!$server->isStopping()) {
    $connection = $server->accept($timeout); // $timeout second timeout

    if ($connection) {
        $client = $connection['socket'];
        $peer = $connection['peer'];
        echo "Accepted {$peer}\n";

        // Handle client
        $data = $server->receive($client, 1024);
        $server->send($client, "Echo: {$data}");

        fclose($client);
    } elseif (!$server->isStopping()) {
        echo "No connection within {$timeout} s\n";
    }
}

echo "Stopped\n";
