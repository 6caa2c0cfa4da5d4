<?php
// The PHP chat server of the installed php-nexus-socket answers a client
// (scripts/package-test): `php chat_client.php PORT` connects twice, checks
// the join notice and the broadcast of a message, and fetches the chat page.
// Loads the library the way an application would: from PHP's include_path.

declare(strict_types=1);

require 'NexusSocket/bootstrap.php';

use Nexus\Socket\WebSocketClient;

function check(bool $ok, string $what): void
{
    if (!$ok) {
        fwrite(STDERR, "chat_client: FAILED: {$what}\n");
        exit(1);
    }
    echo "chat_client: ok: {$what}\n";
}

$port = (int) ($argv[1] ?? 0);
$url = "ws://127.0.0.1:{$port}/";
$alice = (new WebSocketClient())->connect($url, ['timeout' => 10]);
$bob = (new WebSocketClient())->connect($url, ['timeout' => 10]);
$joined = $alice->receive(10.0);
check(is_string($joined) && preg_match('/^\d+ joined the chat$/', $joined) === 1, "join notice ({$joined})");
$bob->send('hello from bob');
$got = $alice->receive(10.0);
check(is_string($got) && preg_match('/^\[\d+\] hello from bob$/', $got) === 1, "broadcast to the other client ({$got})");
$echo = $bob->receive(10.0);
check($echo === $got, 'broadcast to the sender');
$bob->close();
$alice->close();
$page = @file_get_contents("http://127.0.0.1:{$port}/");
check(is_string($page) && stripos($page, '<html') !== false, 'the chat page over HTTP');
