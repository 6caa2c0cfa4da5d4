<?php
// `php echo_client.php PORT TEXT`: TEXT must come back from the echo server
// on 127.0.0.1:PORT (scripts/package-test, against the C program built with
// pkg-config). Exit 0 when it did.

declare(strict_types=1);

require 'NexusSocket/bootstrap.php';

$client = (new Nexus\Socket\WebSocketClient())->connect("ws://127.0.0.1:{$argv[1]}/", ['timeout' => 10]);
$client->send($argv[2]);
$reply = $client->receive(10.0);
$client->close();
echo "echo_client: got ", var_export($reply, true), "\n";
exit($reply === $argv[2] ? 0 : 1);
