<?php
// Exercises the extension under valgrind (ctest php.valgrind): a server
// driven by a Python websockets client in a child process (handshake hook,
// text, binary, channels, broadcast, client info, errors), then our PHP
// client against a Python echo server. Every object is released before the
// end, so anything valgrind still finds lost is ours.
declare(strict_types=1);

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
gc_collect_cycles();
echo "workload done\n";
