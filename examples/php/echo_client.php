<?php

/*
 * A WebSocket client: sends each argument as a text message and prints the
 * reply, then one binary message (the bytes 0..255) and checks that it comes
 * back binary and unchanged, then closes.
 *
 *     build/bin/php-nexus examples/php/echo_client.php ws://127.0.0.1:8080/ hello "second message"
 *
 * Against examples/php/echo_server.php (or `nexus-socket echo`). Exit status
 * 0 when every reply matched, 1 otherwise.
 */

use Nexus\Socket\SocketException;
use Nexus\Socket\WebSocketClient;

$url = $argv[1] ?? 'ws://127.0.0.1:8080/';
$messages = array_slice($argv, 2) ?: ['Hello server!'];

try {
    $client = (new WebSocketClient())->connect($url, ['timeout' => 5]);
    echo "connected to {$url}\n";

    $ok = true;
    foreach ($messages as $message) {
        $client->send($message);
        $reply = $client->receive(5.0);
        echo "sent: {$message}\n";
        echo 'received: ' . ($reply ?? '(nothing)') . "\n";
        $ok = $ok && $reply === $message && !$client->lastMessageIsBinary();
    }

    $bytes = implode('', array_map('chr', range(0, 255)));
    $client->sendBinary($bytes);
    $reply = $client->receive(5.0);
    $binaryOk = $reply === $bytes && $client->lastMessageIsBinary();
    echo 'binary echo: ' . ($binaryOk ? 'ok' : 'wrong') . ' (' . strlen($reply ?? '') . " bytes)\n";

    $client->close();
    echo "closed ({$client->closeCode()})\n";
    exit($ok && $binaryOk ? 0 : 1);
} catch (SocketException $e) {
    fwrite(STDERR, 'error: ' . $e->getMessage() . "\n");
    exit(1);
}
