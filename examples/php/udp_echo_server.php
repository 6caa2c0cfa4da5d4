<?php

/*
 * A UDP echo server: SocketServer::udp(), each datagram answered with
 * "Echo: ..." to its sender.
 *
 *     build/bin/php-nexus examples/php/udp_echo_server.php [HOST [PORT]]
 *
 * HOST and PORT default to SOCKET_HOST / SOCKET_PORT, else 0.0.0.0:8080.
 * A datagram "stop" stops it, as SIGINT/SIGTERM do.
 */

use Nexus\Socket\SocketServer;

$host = $argv[1] ?? env('SOCKET_HOST', '0.0.0.0');
$port = (int) ($argv[2] ?? env('SOCKET_PORT', 8080));

$server = SocketServer::udp($host, $port);
$server->start();
echo "UDP echo server on udp://{$host}:{$server->getPort()}\n";

// For UDP the handler gets each datagram and its sender "ip:port".
$server->listen(function ($data, $peerName, $server) {
    echo "Datagram from {$peerName}: " . strlen($data) . " bytes\n";
    $server->send($peerName, "Echo: {$data}");
    if ($data === 'stop') {
        $server->stop();
    }
});

// The same without listen():
//   while (($data = $server->receive()) !== null) {
//       $server->sendTo($server->lastPeer(), "Echo: {$data}");
//   }

echo "UDP echo server stopped\n";
