<?php
// Exercises the extension under valgrind (ctest php.valgrind): a server
// driven by a Python websockets client in a child process (handshake hook,
// text, binary, channels, broadcast, client info, errors), then our PHP
// client against a Python echo server. Every object is released before the
// end, so anything valgrind still finds lost is ours.
declare(strict_types=1);

use Nexus\Socket\Socket;
use Nexus\Socket\SocketServer;
use Nexus\Socket\WebSocket;
use Nexus\Socket\WebSocketClient;

const PYTHON = '/usr/bin/python3';

/** Starts Python with `code`; its stdout is a pipe we can read. */
function spawn(string $code): array
{
    $process = proc_open([PYTHON, '-c', $code], [1 => ['pipe', 'w']], $pipes);
    if ($process === false) {
        fwrite(STDERR, "cannot start python\n");
        exit(1);
    }
    return [$process, $pipes[1]];
}

function wait_for(array $child): int
{
    fclose($child[1]);
    return proc_close($child[0]);
}

function check(bool $ok, string $what): void
{
    if (!$ok) {
        fwrite(STDERR, "FAILED: $what\n");
        exit(1);
    }
}

// ---- server side
$ws = new WebSocket('127.0.0.1', 0, ['ping_interval' => 0]);
$seen = [];
$ws->on('handshake', fn ($request) => $request->path === '/ok' ? true : [401, 'no']);
$ws->on('connect', function ($id, $client) use ($ws, &$seen) {
    $seen[] = "connect {$client['path']}";
    $ws->subscribe($id, 'room');
    $ws->getClients();
});
$ws->on('message', function ($id, $message) use ($ws, &$seen) {
    $seen[] = "text $message";
    try {
        $ws->send('987654', 'nobody');
    } catch (\Nexus\Socket\UnknownClientException) {
        $seen[] = 'unknown client';
    }
    try {
        $ws->send($id, "\xff\xfe");
    } catch (\Nexus\Socket\InvalidArgumentException) {
        $seen[] = 'bad utf8';
    }
    $ws->publish('room', "room: $message");
    $ws->broadcast("all: $message");
    if ($message === 'bye') {
        $ws->stop();
    } else {
        $ws->send($id, "echo: $message");
    }
});
$ws->on('binary', function ($id, $data) use ($ws, &$seen) {
    $seen[] = 'binary ' . bin2hex($data);
    $ws->sendBinary($id, $data);
});
$ws->start();
$port = $ws->getPort();
$client = spawn(<<<PY
import asyncio, websockets
async def main():
    try:
        await websockets.connect('ws://127.0.0.1:$port/denied')
        raise SystemExit('denied request was accepted')
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 401, e.status_code
    async with websockets.connect('ws://127.0.0.1:$port/ok') as w:
        for i in range(20):
            await w.send(str(i))
            got = {await w.recv(), await w.recv(), await w.recv()}
            assert got == {f'room: {i}', f'all: {i}', f'echo: {i}'}, got
        await w.send(bytes([0, 1, 255]))
        assert await w.recv() == bytes([0, 1, 255])
        await w.send('bye')
        try:
            while True:
                await w.recv()
        except websockets.ConnectionClosed as e:
            assert e.code == 1001, e.code
asyncio.run(main())
PY);
$ws->listen();
check(wait_for($client) === 0, 'the Python client saw what it expected');
check(in_array('text 19', $seen, true) && in_array('binary 0001ff', $seen, true), 'server events');
check(in_array('unknown client', $seen, true) && in_array('bad utf8', $seen, true), 'exceptions');
unset($ws);

// ---- client side: our WebSocketClient against Python's echo server
$server = spawn(<<<PY
import asyncio, sys, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, '127.0.0.1', 0) as s:
        print(s.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(30)
asyncio.run(main())
PY);
stream_set_timeout($server[1], 10); // the port line, or give up after 10 s
$echoPort = (int) fgets($server[1]);
check($echoPort > 0, 'the echo server started');
$c = new WebSocketClient();
$c->connect("ws://127.0.0.1:$echoPort/");
$c->send('héllo');
check($c->receive(5.0) === 'héllo', 'text echo');
$c->sendBinary("\x00\x01");
check($c->receive(5.0) === "\x00\x01" && $c->lastMessageIsBinary(), 'binary echo');
try {
    $c->send("\xff");
    check(false, 'invalid UTF-8 was sent');
} catch (\Nexus\Socket\InvalidArgumentException) {
}
$c->close();
unset($c);
proc_terminate($server[0]);
wait_for($server);

// ---- sockets: a SocketServer echoing over the $client stream to Python
$tcp = SocketServer::tcp('127.0.0.1', 0, ['timeout' => 10]);
$tcp->start();
$tcpPort = $tcp->getPort();
$client = spawn(<<<PY
import socket
with socket.create_connection(('127.0.0.1', $tcpPort), timeout=10) as s:
    s.sendall(b'echo\\n')
    for size in (5, 1500, 70000):
        data = bytes(range(256)) * (size // 256) + b'x' * (size % 256)
        s.sendall(data)
        got = b''
        while len(got) < size:
            got += s.recv(65536)
        assert got == data, (size, len(got))
    s.sendall(b'line\\n')
    got = s.recv(100)
    assert got == b'got line\\n', got
with socket.create_connection(('127.0.0.1', $tcpPort), timeout=10) as s:
    s.sendall(b'stop\\n')
    got = s.recv(100)
    assert got == b'got stop\\n', got
PY);
$tcp->listen(function ($stream, $peer, $server) {
    stream_set_timeout($stream, 10);
    $command = fgets($stream);
    $total = 0;
    while ($command === "echo\n" && $total < 5 + 1500 + 70000 && !feof($stream)) {
        $r = [$stream];
        $w = $e = null;
        stream_select($r, $w, $e, 10);
        $data = fread($stream, 1024);
        if ($data === false || $data === '') {
            break;
        }
        $total += strlen($data);
        fwrite($stream, $data);
    }
    $line = $command === "echo\n" ? fgets($stream) : $command;
    $server->addClient($stream);
    $server->send($stream, "got $line");
    $server->removeClient($stream);
    if ($line === "stop\n") {
        $server->stop();
    }
});
check(wait_for($client) === 0, 'the Python client of the SocketServer');
unset($tcp);

// ---- our Socket against a Python server
$server = spawn(<<<PY
import socket, sys
l = socket.socket()
l.bind(('127.0.0.1', 0))
l.listen()
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
req = b''
while not req.endswith(b'\\n'):
    req += c.recv(100)
c.sendall(b'one\\ntwo\\n' + req + b'rest of it')
c.close()
PY);
stream_set_timeout($server[1], 10);
$pyPort = (int) fgets($server[1]);
$s = Socket::tcp()->timeout(10)->connect('127.0.0.1', $pyPort);
$s->send("request\n");
check($s->readLine() === "one\n" && $s->receive(4) === "two\n", 'readLine and receive');
check($s->readAll() === "request\nrest of it" && $s->readLine() === null, 'readAll');
$s->close();
try {
    $s->receive();
} catch (\Nexus\Socket\SocketException) {
}
wait_for($server);
try {
    Socket::tcp()->connect('127.0.0.1', $pyPort, 2);
    check(false, 'connected to a closed port');
} catch (\Nexus\Socket\ConnectionException) {
}
$detached = Socket::udp()->bind('127.0.0.1')->detach();
fclose($detached);

// ---- UDP both ways, and a receive timeout
$udp = SocketServer::udp('127.0.0.1', 0, ['timeout' => 10]);
$udp->start();
$u = Socket::udp()->timeout(10)->connect('127.0.0.1', $udp->getPort());
$u->send('ping');
check($udp->receive() === 'ping', 'UDP server receive');
$udp->send($udp->lastPeer(), 'pong');
check($u->receive() === 'pong', 'UDP client receive');
try {
    $u->timeout(0.05)->receive();
    check(false, 'a datagram from nowhere');
} catch (\Nexus\Socket\TimeoutException) {
}
$udp->stop();
unset($udp, $u, $s);

gc_collect_cycles();
echo "workload done\n";
