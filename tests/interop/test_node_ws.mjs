// nexus-socket against Node's `ws` (npm), an independent RFC 6455 / 7692
// implementation, with node's own test runner.
//
// Usage: node --test test_node_ws.mjs   (NEXUS_SOCKET=path/to/nexus-socket)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';

const binary = process.env.NEXUS_SOCKET;
if (!binary) throw new Error('set NEXUS_SOCKET to the nexus-socket binary');

/** Starts a subcommand on port 0; resolves with {proc, url} once it prints its port. */
function start(...args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, [...args, '--host', '127.0.0.1', '--port', '0']);
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('no port: ' + out)); }, 10000);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/ws:\/\/[^:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc, url: `ws://127.0.0.1:${m[1]}/` }); }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

async function open(url, options = {}) {
  const ws = new WebSocket(url, options);
  await once(ws, 'open');
  return ws;
}

/** Resolves with the next message as {data, isBinary}. */
function nextMessage(ws) {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
}

for (const deflate of [false, true]) {
  const label = deflate ? 'with permessage-deflate' : 'without compression';

  test(`echo ${label}: text, binary, sizes`, async (t) => {
    const server = await start('echo', ...(deflate ? ['--deflate'] : []));
    t.after(() => server.proc.kill('SIGKILL'));
    const ws = await open(server.url, { perMessageDeflate: deflate, maxPayload: 1 << 24 });
    if (deflate) assert.match(ws.extensions, /permessage-deflate/);
    for (const message of ['hello', '', 'κόσμε 🎉', 'a'.repeat(126), 'b'.repeat(70000)]) {
      ws.send(message);
      const { data, isBinary } = await nextMessage(ws);
      assert.equal(isBinary, false);
      assert.equal(data.toString('utf8'), message);
    }
    for (const message of [Buffer.from([0, 255, 1]), Buffer.alloc(0), Buffer.alloc(1 << 20, 7)]) {
      ws.send(message);
      const { data, isBinary } = await nextMessage(ws);
      assert.equal(isBinary, true);
      assert.deepEqual(Buffer.from(data), message);
    }
    ws.close(1000);
    const [code] = await once(ws, 'close');
    assert.equal(code, 1000);
  });

  test(`echo ${label}: fragments, pings, order`, async (t) => {
    const server = await start('echo', ...(deflate ? ['--deflate'] : []));
    t.after(() => server.proc.kill('SIGKILL'));
    const ws = await open(server.url, { perMessageDeflate: deflate });
    ws.send('frag', { fin: false });
    ws.send('ment', { fin: false });
    ws.send('ed', { fin: true });
    assert.equal((await nextMessage(ws)).data.toString(), 'fragmented');
    ws.ping('hb');
    const [payload] = await once(ws, 'pong');
    assert.equal(payload.toString(), 'hb');
    const received = [];
    const all = new Promise((resolve) => ws.on('message', (d) => {
      received.push(d.toString());
      if (received.length === 500) resolve();
    }));
    for (let i = 0; i < 500; i++) ws.send(`m${i}`);
    await all;
    assert.deepEqual(received, Array.from({ length: 500 }, (_, i) => `m${i}`));
    ws.terminate();
  });
}

test('invalid UTF-8 from the client closes with 1007', async (t) => {
  const server = await start('echo');
  t.after(() => server.proc.kill('SIGKILL'));
  const ws = await open(server.url);
  // ws sends a Buffer as text when told so, without checking it.
  ws.send(Buffer.from([0xce, 0xba, 0xe1, 0xbd]), { binary: false });
  const [code] = await once(ws, 'close');
  assert.equal(code, 1007);
});

test('chat: join notice, broadcast, leave notice', async (t) => {
  const server = await start('serve');
  t.after(() => server.proc.kill('SIGKILL'));
  const alice = await open(server.url);
  const joined = nextMessage(alice);
  const bob = await open(server.url);
  const notice = (await joined).data.toString();
  assert.match(notice, /^\d+ joined the chat$/);
  const bobId = notice.split(' ')[0];
  const atAlice = nextMessage(alice);
  const atBob = nextMessage(bob);
  bob.send('hello from bob');
  assert.equal((await atAlice).data.toString(), `[${bobId}] hello from bob`);
  assert.equal((await atBob).data.toString(), `[${bobId}] hello from bob`);
  const left = nextMessage(alice);
  bob.close();
  assert.equal((await left).data.toString(), `${bobId} left the chat`);
  alice.close();
});

test('SIGTERM closes every client with 1001 and exits 0', async () => {
  const server = await start('echo');
  const ws = await open(server.url);
  const closed = once(ws, 'close');
  const exited = once(server.proc, 'exit');
  server.proc.kill('SIGTERM');
  const [code] = await closed;
  assert.equal(code, 1001);
  const [status] = await exited;
  assert.equal(status, 0);
});

for (const deflate of [false, true]) {
  test(`our client (connect --echo) against a ws server ${deflate ? 'with' : 'without'} permessage-deflate`, async (t) => {
    const { WebSocketServer } = await import('ws');
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate });
    await once(server, 'listening');
    t.after(() => server.close());
    const { port } = server.address();
    const messages = ['hello', 'κόσμε 🎉', 'x'.repeat(70000), Buffer.from([0, 1, 255]), Buffer.alloc(0)];
    const done = new Promise((resolve, reject) => {
      server.on('connection', (ws, request) => {
        if (deflate) assert.match(request.headers['sec-websocket-extensions'] || '', /permessage-deflate/);
        const received = [];
        let next = 0;
        const sendNext = () => {
          const m = messages[next++];
          ws.send(m, { binary: Buffer.isBuffer(m) });
        };
        ws.on('message', (data, isBinary) => {
          received.push(isBinary ? Buffer.from(data) : data.toString('utf8'));
          if (next < messages.length) sendNext();
          else ws.close(1000, 'done');
        });
        ws.on('close', () => resolve(received));
        ws.on('error', reject);
        sendNext();
      });
    });
    const client = spawn(binary, ['connect', '--echo', ...(deflate ? ['--deflate'] : []),
                                  `ws://127.0.0.1:${port}/echo`]);
    const exited = once(client, 'exit');
    const received = await done;
    assert.equal(received.length, messages.length);
    messages.forEach((m, i) => assert.deepEqual(received[i], m));
    const [status] = await exited;
    assert.equal(status, 0);
  });
}
