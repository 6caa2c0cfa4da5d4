--TEST--
TLS: Socket::ssl()/tls() against a TLS SocketServer (certificates made with openssl req), verification failures, STARTTLS both ways, fread/fwrite/feof/fclose on a TLS $client
--SKIPIF--
<?php
if (!class_exists('NxSocket')) die('skip nexus_socket extension not loaded');
if (!function_exists('pcntl_fork')) die('skip pcntl needed');
exec('openssl version 2>/dev/null', $out, $status);
if ($status !== 0) die('skip no openssl command');
?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Socket;
use Nexus\Socket\SocketServer;

/** A CA and a certificate for localhost and 127.0.0.1 signed by it. */
function make_certificates(): string
{
    $dir = sys_get_temp_dir() . '/nexus-phpt-tls-' . getmypid();
    @mkdir($dir);
    $run = function (string $command) use ($dir): void {
        exec('cd ' . escapeshellarg($dir) . ' && ' . $command . ' 2>&1', $out, $status);
        if ($status !== 0) {
            throw new RuntimeException("$command: " . implode("\n", $out));
        }
    };
    $run('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=phpt CA"');
    $run('openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"');
    file_put_contents("$dir/ext.cnf", "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
    $run('openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf');
    return $dir;
}

/** Runs $client in a child process; its return value (a string) comes back after $server ran here. */
function with_peer(callable $client, callable $server): string
{
    [$mine, $theirs] = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, STREAM_IPPROTO_IP);
    $pid = pcntl_fork();
    if ($pid === 0) {
        fclose($mine);
        try {
            $result = (string) $client();
        } catch (Throwable $e) {
            $result = get_class($e) . ' (' . $e->getCode() . '): ' . $e->getMessage();
        }
        fwrite($theirs, $result);
        fclose($theirs);
        posix_kill(getmypid(), SIGKILL); // no shutdown of the parent's objects in the child
    }
    fclose($theirs);
    $server();
    $result = stream_get_contents($mine);
    fclose($mine);
    pcntl_waitpid($pid, $status);
    return $result;
}

$dir = make_certificates();
$ssl = ['local_cert' => "$dir/server.pem", 'local_pk' => "$dir/server.key"];
$server = new SocketServer('127.0.0.1', 0, Socket::TYPE_SSL, ['ssl' => $ssl + ['verify_peer' => false]]);
$server->listen();
$port = $server->getPort();

echo "-- verified client, echo over fgets/fwrite/fread/feof/fclose\n";
echo with_peer(
    function () use ($dir, $port) {
        $s = Socket::ssl(['cafile' => "$dir/ca.pem"])->timeout(5)->connect('localhost', $port);
        $s->send("hello tls\n");
        $out = $s->readLine();
        $big = random_bytes(40000);
        $s->send($big);
        $back = '';
        while (strlen($back) < strlen($big)) {
            $back .= $s->receive(65536);
        }
        $out .= ($back === $big ? "40000 bytes back\n" : "mismatch\n");
        $s->send("bye\n");
        $out .= $s->readAll();
        $out .= var_export($s->readLine(), true) . "\n";
        return $out;
    },
    function () use ($server) {
        $conn = $server->accept(5);
        $client = $conn['socket'];
        echo 'peer: ', $conn['peer'] === stream_socket_get_name($client, true) ? 'ok' : 'wrong', "\n";
        fwrite($client, 'echo: ' . fgets($client));
        $got = '';
        while (strlen($got) < 40000 && !feof($client)) {
            $chunk = fread($client, 1024);
            $got .= $chunk;
            fwrite($client, $chunk);
        }
        echo 'server read ', strlen($got), "\n";
        echo 'line: ', fgets($client);
        fwrite($client, "closing\n");
        fclose($client);
    }
);

echo "-- the system's CAs do not know ours\n";
echo with_peer(
    fn () => Socket::ssl()->timeout(5)->connect('localhost', $port),
    function () use ($server) {
        var_dump($server->accept(1));
        echo get_class($server->lastError()), "\n";
    }
), "\n";

echo "-- a name the certificate does not have\n";
echo with_peer(
    fn () => Socket::ssl(['cafile' => "$dir/ca.pem", 'peer_name' => 'other.example'])->timeout(5)->connect('127.0.0.1', $port),
    fn () => $server->accept(1)
), "\n";

echo "-- verification off (the seed's troubleshooting), and an IP checked against its SAN\n";
echo with_peer(
    function () use ($port, $dir) {
        $a = Socket::ssl(['verify_peer' => false, 'verify_peer_name' => false])->timeout(5)->connect('localhost', $port);
        $a->send("a\n");
        $b = Socket::tls(['cafile' => "$dir/ca.pem"])->timeout(5)->connect('127.0.0.1', $port);
        $b->enableCrypto(STREAM_CRYPTO_METHOD_TLS_CLIENT); // already on: nothing to do (the seed's TLS Socket)
        $b->send("b\n");
        return $a->readLine() . $b->readLine();
    },
    function () use ($server) {
        foreach ([1, 2] as $_) {
            $client = $server->accept(5)['socket'];
            fwrite($client, 'got ' . fgets($client));
            fclose($client);
        }
    }
);

echo "-- STARTTLS: client enableCrypto(), server stream_socket_enable_crypto() on \$client\n";
$plain = new SocketServer('127.0.0.1', 0, Socket::TYPE_TCP, ['ssl' => $ssl]);
$plain->start();
echo with_peer(
    function () use ($plain, $dir) {
        $s = new Socket(Socket::TYPE_TCP, ['cafile' => "$dir/ca.pem", 'timeout' => 5]);
        $s->connect('localhost', $plain->getPort());
        $s->send("STARTTLS\n");
        $out = $s->readLine();
        $s->enableCrypto(STREAM_CRYPTO_METHOD_TLS_CLIENT);
        $out .= var_export($s->isEncrypted(), true) . "\n";
        $s->send("secret\n");
        return $out . $s->readLine();
    },
    function () use ($plain) {
        $plain->listen(function ($client, $peer, $server) {
            echo 'clear: ', fgets($client);
            fwrite($client, "GO\n");
            var_dump(stream_socket_enable_crypto($client, true, STREAM_CRYPTO_METHOD_TLS_SERVER));
            fwrite($client, 'encrypted: ' . fgets($client));
            var_dump(stream_socket_enable_crypto($client, true, STREAM_CRYPTO_METHOD_TLS_SERVER)); // on already
            $server->stop();
        });
    }
);

echo "-- STARTTLS the other way: the client socket is the TLS server\n";
$plain = SocketServer::tcp('127.0.0.1', 0)->start();
echo with_peer(
    function () use ($plain, $ssl) {
        $s = new Socket(Socket::TYPE_TCP, $ssl + ['timeout' => 5]);
        $s->connect('127.0.0.1', $plain->getPort());
        $s->enableCrypto(STREAM_CRYPTO_METHOD_TLS_SERVER);
        $s->send("from the TLS server side\n");
        return 'done';
    },
    function () use ($plain, $dir) {
        $client = $plain->accept(5)['socket'];
        stream_set_timeout($client, 5);
        set_error_handler(function ($no, $message) { echo "warning: $message\n"; return true; });
        var_dump(stream_socket_enable_crypto($client, true, STREAM_CRYPTO_METHOD_TLS_CLIENT)); // not trusted: fails
        restore_error_handler();
        fclose($client);
    }
), "\n";

echo "-- the seed's secure server: listen() with receive()/send()\n";
echo with_peer(
    function () use ($dir, $port) {
        $s = Socket::ssl(['cafile' => "$dir/ca.pem"])->timeout(5)->connect('localhost', $port);
        $s->send('data');
        return $s->readAll();
    },
    function () use ($server) {
        $server->listen(function ($client, $peerName, $server) {
            $data = $server->receive($client, 1024);
            $server->send($client, "Secure response: {$data}");
            $server->stop();
        });
    }
), "\n";
var_dump($server->isListening());
array_map('unlink', glob("$dir/*"));
rmdir($dir);
?>
--EXPECTF--
-- verified client, echo over fgets/fwrite/fread/feof/fclose
peer: ok
server read 40000
line: bye
echo: hello tls
40000 bytes back
closing
NULL
-- the system's CAs do not know ours
NULL
Nexus\Socket\ConnectionException
Nexus\Socket\ConnectionException (-18): %s
-- a name the certificate does not have
Nexus\Socket\ConnectionException (-18): %scertificate is not valid for host other.example
-- verification off (the seed's troubleshooting), and an IP checked against its SAN
got a
got b
-- STARTTLS: client enableCrypto(), server stream_socket_enable_crypto() on $client
clear: STARTTLS
bool(true)
bool(true)
GO
true
encrypted: secret
-- STARTTLS the other way: the client socket is the TLS server
warning: stream_socket_enable_crypto(): %s
bool(false)
Nexus\Socket\ConnectionException (-%d): %s
-- the seed's secure server: listen() with receive()/send()
Secure response: data
bool(false)
