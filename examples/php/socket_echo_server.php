<?php

/*
 * The seed's simple echo server: TCP, each client's $client a PHP stream
 * (feof, fread, fwrite, fclose), one client after the other.
 *
 *     build/bin/php-nexus examples/php/socket_echo_server.php [HOST [PORT]]
 *
 * HOST and PORT default to SOCKET_HOST / SOCKET_PORT, else 0.0.0.0:8080
 * (port 0 picks a free one; the line printed says which). With
 * SOCKET_TLS_CERT and SOCKET_TLS_KEY (and SOCKET_TLS_PASSPHRASE for an
 * encrypted key) it is a TLS server: the same handler then reads and writes
 * decrypted bytes. SIGINT/SIGTERM stop it.
 */

use Nexus\Socket\Socket;
use Nexus\Socket\SocketServer;

$host = $argv[1] ?? env('SOCKET_HOST', '0.0.0.0');
$port = (int) ($argv[2] ?? env('SOCKET_PORT', 8080));
$cert = env('SOCKET_TLS_CERT');

if ($cert) {
    $server = new SocketServer($host, $port, Socket::TYPE_TLS, [
        'ssl' => [
            'local_cert' => $cert,
            'local_pk' => env('SOCKET_TLS_KEY', $cert),
            'passphrase' => (string) env('SOCKET_TLS_PASSPHRASE', ''),
        ],
    ]);
} else {
    $server = SocketServer::tcp($host, $port);
}

$server->start(); // binds now, so that the line below can tell the real port
$scheme = $cert ? 'tls' : 'tcp';
echo "Echo server listening on port {$server->getPort()} ({$scheme}://{$host}:{$server->getPort()})\n";

$server->listen(function ($client, $peerName, $server) {
    echo "Connection from {$peerName}\n";

    while (!feof($client)) {
        $data = fread($client, 1024);

        if ($data === false || $data === '') {
            break;
        }

        // Echo back to client
        fwrite($client, "Echo: {$data}");
    }

    fclose($client);
    echo "Client {$peerName} disconnected\n";
});

echo "Echo server stopped\n";
