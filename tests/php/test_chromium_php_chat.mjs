// Headless Chromium (Debian's chromium) loads the chat page from
// `php nexus websocket:serve` (the PHP chat server, run by build/bin/php-nexus);
// two pages talk to each other, asserted from inside the pages. Driven over
// the DevTools protocol with Node's `ws` (tests/interop/node_modules, installed
// by scripts/install-deps), so no browser download is needed.
//
// Usage: node --test test_chromium_php_chat.mjs   (NX_PHP_LAUNCHER=.../php-nexus, CHROMIUM=/usr/bin/chromium)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
const WebSocket = createRequire(join(here, '..', 'interop', 'package.json'))('ws');
const launcher = process.env.NX_PHP_LAUNCHER;
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const nexus = join(here, '..', '..', 'nexus');
const BOUND_MS = 20000;

/** Resolves with the first match of `pattern` in the output of `stream`. */
function waitFor(stream, pattern, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${what} in: ${seen}`)), BOUND_MS);
    stream.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(pattern);
      if (m) { clearTimeout(timer); resolve(m); }
    });
  });
}

/** A minimal DevTools protocol client over one browser connection. */
class DevTools {
  constructor(url) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.nextId = 1;
    this.pending = new Map();
    this.ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.id && this.pending.has(msg.id)) {
        const { resolve, reject } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) reject(new Error(JSON.stringify(msg.error)));
        else resolve(msg.result);
      }
    });
  }
  opened() { return new Promise((resolve, reject) => { this.ws.once('open', resolve); this.ws.once('error', reject); }); }
  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params, sessionId }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }
  async openPage(url) {
    const { targetId } = await this.send('Target.createTarget', { url });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    return {
      evaluate: async (expression) => {
        const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
        return r.result.value;
      },
    };
  }
}

/** Polls `expression` in `page` until it is truthy, within the bound. A page
 *  that is still navigating has no context yet: that is retried too. */
async function until(page, expression) {
  const started = Date.now();
  for (;;) {
    try {
      return await poll(page, expression);
    } catch (error) {
      const navigating = /context was destroyed|Cannot find context|not found/i.test(String(error));
      if (!navigating || Date.now() - started > BOUND_MS) throw error;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function poll(page, expression) {
  return page.evaluate(`new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      const value = (${expression});
      if (value) return resolve(value);
      if (Date.now() - started > ${BOUND_MS}) return reject(new Error('timed out: ' + ${JSON.stringify(expression)}));
      setTimeout(check, 20);
    };
    check();
  })`);
}

test('two chat pages served by php nexus websocket:serve talk to each other', async (t) => {
  assert.ok(launcher, 'NX_PHP_LAUNCHER must name build/bin/php-nexus');
  const server = spawn(launcher, [nexus, 'websocket:serve', '--host=127.0.0.1', '--port=0']);
  let serverOutput = '';
  server.stdout.on('data', (chunk) => { serverOutput += chunk; });
  t.after(() => server.kill('SIGKILL'));
  const [, port] = await waitFor(server.stdout, /ws:\/\/[^:]+:(\d+)/, 'port');
  const profile = mkdtempSync(join(tmpdir(), 'nexus-php-chromium-'));
  const browser = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank',
  ]);
  t.after(async () => {
    const exited = once(browser, 'exit');
    browser.kill('SIGKILL');
    await exited;
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  });
  const [, devtoolsUrl] = await waitFor(browser.stderr, /DevTools listening on (ws:\/\/\S+)/, 'DevTools URL');
  const devtools = new DevTools(devtoolsUrl);
  await devtools.opened();
  t.after(() => devtools.ws.terminate());

  const pageUrl = `http://127.0.0.1:${port}/`;
  const first = await devtools.openPage(pageUrl);
  await until(first, "window.chatSocket && window.chatSocket.readyState === 1");
  const second = await devtools.openPage(pageUrl);
  await until(second, "window.chatSocket && window.chatSocket.readyState === 1");

  // The first page sees the second join, then both see each other's words.
  const joined = await until(first, "window.chatMessages.find((m) => / joined the chat$/.test(m))");
  const secondId = joined.split(' ')[0];
  await second.evaluate("window.sendMessage('hello from page two')");
  await first.evaluate("window.sendMessage('hello from page one ✓')");
  const atFirst = await until(first, `window.chatMessages.includes('[${secondId}] hello from page two') &&
                                      window.chatMessages.find((m) => m.endsWith('] hello from page one ✓'))`);
  assert.match(atFirst, /^\[\d+\] hello from page one ✓$/);
  const firstId = atFirst.slice(1, atFirst.indexOf(']'));
  assert.notEqual(firstId, secondId);
  assert.ok(await until(second, `window.chatMessages.includes('[${firstId}] hello from page one ✓')`));
  // The page itself shows the messages to a person.
  const shown = await first.evaluate("document.getElementById('log').textContent");
  assert.match(shown, /hello from page two/);

  await second.evaluate("window.chatSocket.close(1000, 'bye')");
  assert.ok(await until(first, `window.chatMessages.includes('${secondId} left the chat')`));

  // SIGTERM: the open page is told the server is going away (1001), and the command ends with 0.
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  assert.equal(await until(first, "window.chatSocket.readyState === 3 && document.getElementById('log').textContent.match(/Disconnected \\((\\d+)\\)/)[1]"), '1001');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(serverOutput, new RegExp(`\\[${secondId}\\] hello from page two\\n`));
});
