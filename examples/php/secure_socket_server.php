<?php

/*
 * The seed's secure socket server: TLS with a certificate, key and
 * passphrase; each client's first message is answered with
 * "Secure response: ...".
 *
 *     SOCKET_TLS_CERT=cert.pem SOCKET_TLS_KEY=key.pem [SOCKET_TLS_PASSPHRASE=...] \
 *         build/bin/php-nexus examples/php/secure_socket_server.php [HOST [PORT]]
 *
 * HOST and PORT default to SOCKET_HOST / SOCKET_PORT, else 0.0.0.0:8443.
 * The client is closed when the handler returns. SIGINT/SIGTERM stop it.
 */

use Nexus\Socket\Socket;
use Nexus\Socket\SocketServer;

$host = $argv[1] ?? env('SOCKET_HOST', '0.0.0.0');
$port = (int) ($argv[2] ?? env('SOCKET_PORT', 8443));

$server = new SocketServer($host, $port, Socket::TYPE_SSL, [
    'ssl' => [
        'local_cert' => env('SOCKET_TLS_CERT', '/path/to/cert.pem'),
        'local_pk' => env('SOCKET_TLS_KEY', '/path/to/key.pem'),
        'passphrase' => (string) env('SOCKET_TLS_PASSPHRASE', ''),
        'verify_peer' => false,
    ]
]);

// A client that fails its handshake does not stop the server.
$server->onError(function (Throwable $e, ?string $peer) {
    echo "Client error: {$e->getMessage()}\n";
});

$server->start();
echo "Secure server listening on tls://{$host}:{$server->getPort()}\n";

$server->listen(function ($client, $peerName, $server) {
    // Handle secure connection
    $data = $server->receive($client, 1024);
    $server->send($client, "Secure response: {$data}");
});
