// nexus-socket against Node's `ws` (npm), an independent RFC 6455 / 7692
// implementation, with node's own test runner.
//
// Usage: node --test test_node_ws.mjs   (NEXUS_SOCKET=path/to/nexus-socket)
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
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
      const m = out.match(/(wss?):\/\/[^:]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        // wss://: the name the test certificate carries.
        const host = m[1] === 'wss' ? 'localhost' : '127.0.0.1';
        resolve({ proc, url: `${m[1]}://${host}:${m[2]}/` });
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

/** A test CA and a certificate it signs for localhost, made with the openssl command. */
function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-node-wss-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const step of [
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=nexus test CA'],
    ['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'],
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '9',
      '-days', '2', '-out', 'server.pem', '-extfile', 'san.cnf'],
  ]) {
    execFileSync('openssl', step, { cwd: dir, stdio: 'pipe' });
  }
  return { dir, ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

const certs = makeCertificates();
after(() => rmSync(certs.dir, { recursive: true, force: true }));
const tlsArgs = ['--tls-cert', certs.cert, '--tls-key', certs.key];

/**
 * Serves the first connection to `server` (a ws WebSocketServer): sends each of `messages`
 * after the echo of the one before, then closes with 1000. Resolves with what came back.
 */
function driveEchoClient(server, messages, onConnection = () => {}) {
  return new Promise((resolve, reject) => {
    server.on('connection', (ws, request) => {
      onConnection(request);
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
    const done = driveEchoClient(server, messages, (request) => {
      if (deflate) assert.match(request.headers['sec-websocket-extensions'] || '', /permessage-deflate/);
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

for (const deflate of [false, true]) {
  test(`wss:// echo ${deflate ? 'with' : 'without'} permessage-deflate: text, binary, 4 MiB`, async (t) => {
    const server = await start('echo', ...tlsArgs, ...(deflate ? ['--deflate'] : []));
    t.after(() => server.proc.kill('SIGKILL'));
    assert.match(server.url, /^wss:/);
    const ws = await open(server.url, { ca: readFileSync(certs.ca), perMessageDeflate: deflate,
                                        maxPayload: 1 << 24 });
    for (const message of ['hello over TLS', 'κόσμε 🎉', 'c'.repeat(70000)]) {
      ws.send(message);
      assert.equal((await nextMessage(ws)).data.toString('utf8'), message);
    }
    const big = Buffer.alloc(4 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    ws.send(big);
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, true);
    assert.ok(Buffer.from(data).equals(big));
    ws.close(1000);
    const [code] = await once(ws, 'close');
    assert.equal(code, 1000);
  });
}

test('wss://: a client that does not trust the certificate is refused', async (t) => {
  const server = await start('echo', ...tlsArgs);
  t.after(() => server.proc.kill('SIGKILL'));
  const ws = new WebSocket(server.url); // Node's own CA store: our test CA is not in it
  const [error] = await once(ws, 'error');
  assert.match(error.code, /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
});

test('our client (connect --echo --cafile) against a ws server over wss://', async (t) => {
  const { WebSocketServer } = await import('ws');
  const https = createHttpsServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) });
  const server = new WebSocketServer({ server: https });
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  t.after(() => { server.close(); https.close(); });
  const { port } = https.address();
  const messages = ['secure hello', 'y'.repeat(100000), Buffer.from([9, 8, 7])];
  const done = driveEchoClient(server, messages);
  const client = spawn(binary, ['connect', '--echo', '--cafile', certs.ca, `wss://localhost:${port}/echo`]);
  const exited = once(client, 'exit');
  const received = await done;
  messages.forEach((m, i) => assert.deepEqual(received[i], m));
  const [status] = await exited;
  assert.equal(status, 0);
});
