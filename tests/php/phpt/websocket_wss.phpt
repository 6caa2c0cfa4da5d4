--TEST--
wss://: a WebSocket server with tls_cert/tls_key, 'ssl' options or WEBSOCKET_TLS_* variables; WebSocketClient over wss:// with cafile; certificate and configuration errors
--SKIPIF--
<?php
if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded');
exec('openssl version 2>/dev/null', $out, $status);
if ($status !== 0) die('skip no openssl command');
?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\ConnectionException;
use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

/** A CA and a certificate for localhost and 127.0.0.1 signed by it; the key also encrypted. */
function make_certificates(): string
{
    $dir = sys_get_temp_dir() . '/nexus-phpt-wss-' . getmypid();
    @mkdir($dir);
    $run = function (string $command) use ($dir): void {
        exec('cd ' . escapeshellarg($dir) . ' && ' . $command . ' 2>&1', $out, $status);
        if ($status !== 0) {
            throw new RuntimeException("$command: " . implode("\n", $out));
        }
    };
    $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    $run("openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj '/CN=phpt CA'");
    $run("openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost");
    file_put_contents("$dir/ext.cnf", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    $run('openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 5 -out server.pem -days 2 -extfile ext.cnf');
    $run('openssl pkey -in server.key -aes256 -passout pass:secret -out server-enc.key');
    return $dir;
}

/** An echo server over wss:// on its own loops (threads 2), started. */
function echo_server(array $options): WebSocket
{
    $ws = new WebSocket('127.0.0.1', 0, ['threads' => 2] + $options);
    $ws->on('message', function ($id, $message) use ($ws) {
        $ws->send($id, "echo: $message");
    });
    $ws->start();
    return $ws;
}

/** Sends $text over wss:// and pumps $ws until the echo arrives (bounded). */
function round_trip(WebSocket $ws, string $text, array $ssl): string
{
    $client = (new WebSocketClient())->connect("wss://localhost:{$ws->getPort()}/", ['ssl' => $ssl]);
    $client->send($text);
    for ($i = 0; $i < 100; ++$i) {
        $ws->poll(0.05);
        $reply = $client->receive(0.05);
        if ($reply !== null) {
            $client->close();
            return $reply;
        }
    }
    return '(no reply)';
}

$dir = make_certificates();
$trust = ['cafile' => "$dir/ca.pem"];

echo "-- tls_cert and tls_key options\n";
$ws = echo_server(['tls_cert' => "$dir/server.pem", 'tls_key' => "$dir/server.key"]);
echo round_trip($ws, 'hello over wss', $trust), "\n";
echo "-- a 1 MiB message\n";
$client = (new WebSocketClient())->connect("wss://localhost:{$ws->getPort()}/", ['ssl' => $trust]);
$big = str_repeat('0123456789abcdef', 65536);
$client->send($big);
$reply = null;
for ($i = 0; $i < 200 && $reply === null; ++$i) {
    $ws->poll(0.05);
    $reply = $client->receive(0.05);
}
var_dump($reply === "echo: $big");
$client->close();

echo "-- a client without the CA is refused\n";
try {
    (new WebSocketClient())->connect("wss://localhost:{$ws->getPort()}/");
} catch (ConnectionException $e) {
    echo get_class($e), ': ', str_contains($e->getMessage(), 'certificate verify failed') ? 'certificate verify failed' : $e->getMessage(), "\n";
}
echo "-- verify_peer_name false accepts the certificate for another name\n";
echo round_trip($ws, 'by address', $trust + ['peer_name' => 'not-the-name.test', 'verify_peer_name' => false]), "\n";
$ws->stop();

echo "-- 'ssl' => PHP ssl context options, encrypted key\n";
$ws = echo_server(['ssl' => ['local_cert' => "$dir/server.pem", 'local_pk' => "$dir/server-enc.key", 'passphrase' => 'secret']]);
echo round_trip($ws, 'via ssl options', $trust), "\n";
$ws->stop();

echo "-- WEBSOCKET_TLS_* variables\n";
putenv("WEBSOCKET_TLS_CERT=$dir/server.pem");
putenv("WEBSOCKET_TLS_KEY=$dir/server-enc.key");
putenv('WEBSOCKET_TLS_PASSPHRASE=secret');
$ws = echo_server([]);
echo round_trip($ws, 'via the environment', $trust), "\n";
$ws->stop();
putenv('WEBSOCKET_TLS_CERT');
putenv('WEBSOCKET_TLS_KEY');
putenv('WEBSOCKET_TLS_PASSPHRASE');

echo "-- errors\n";
foreach ([
    fn () => new WebSocket('127.0.0.1', 0, ['ssl' => 'cert.pem']),
    fn () => (new WebSocket('127.0.0.1', 0, ['tls_cert' => "$dir/missing.pem"]))->start(),
    fn () => (new WebSocket('127.0.0.1', 0, ['tls_cert' => "$dir/server.pem", 'tls_key' => "$dir/server-enc.key", 'tls_passphrase' => 'wrong']))->start(),
    fn () => (new WebSocket('127.0.0.1', 0, ['ssl' => ['no_such_option' => 1]]))->start(),
    fn () => (new WebSocketClient())->connect('wss://localhost:1/', ['ssl' => 'x']),
] as $i => $make) {
    try {
        $make();
        echo "$i: no exception\n";
    } catch (InvalidArgumentException $e) {
        $message = $e->getMessage();
        foreach (['No such file', 'wrong passphrase', 'unknown TLS option', 'expected'] as $needle) {
            if (str_contains($message, $needle)) {
                $message = $needle;
                break;
            }
        }
        echo "$i: InvalidArgumentException: $message\n";
    }
}
exec('rm -rf ' . escapeshellarg($dir));
?>
--EXPECT--
-- tls_cert and tls_key options
echo: hello over wss
-- a 1 MiB message
bool(true)
-- a client without the CA is refused
Nexus\Socket\ConnectionException: certificate verify failed
-- verify_peer_name false accepts the certificate for another name
echo: by address
-- 'ssl' => PHP ssl context options, encrypted key
echo: via ssl options
-- WEBSOCKET_TLS_* variables
echo: via the environment
-- errors
0: InvalidArgumentException: expected
1: InvalidArgumentException: No such file
2: InvalidArgumentException: wrong passphrase
3: InvalidArgumentException: unknown TLS option
4: InvalidArgumentException: expected
