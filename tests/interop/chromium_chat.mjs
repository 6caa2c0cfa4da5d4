// The chat page in headless Chromium (Debian's chromium), driven over the
// DevTools protocol with Node's `ws`: two pages on one chat server talk to
// each other, asserted from inside the pages. Shared by the chat tests of
// `nexus-socket serve` (here) and `php nexus websocket:serve` (tests/php).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const BOUND_MS = 20000;

/** Resolves with the first match of `pattern` in the output of `stream`. */
export function waitFor(stream, pattern, what) {
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
export async function until(page, expression) {
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

/**
 * Opens two chat pages of the server on `port` in a fresh headless Chromium
 * (closed when the test ends), has each send a message (the first sends
 * `text`), and asserts what both pages show. Returns the pages and ids.
 */
export async function chatPagesTalk(t, port, text) {
  const profile = mkdtempSync(join(tmpdir(), 'nexus-chromium-'));
  const browser = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank',
  ], { detached: true }); // its own process group: the renderers and zygotes go with it
  t.after(async () => {
    const exited = once(browser, 'exit');
    try {
      process.kill(-browser.pid, 'SIGKILL');
    } catch {
      browser.kill('SIGKILL');
    }
    await exited;
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    } catch (error) {
      // A helper process may still be writing its last files: a leftover
      // directory in the temporary folder is no test failure.
      console.warn(`could not remove ${profile}: ${error}`);
    }
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
  await first.evaluate(`window.sendMessage(${JSON.stringify(text)})`);
  const atFirst = await until(first, `window.chatMessages.includes('[${secondId}] hello from page two') &&
                                      window.chatMessages.find((m) => m.endsWith(${JSON.stringify('] ' + text)}))`);
  assert.equal(atFirst.slice(atFirst.indexOf(']') + 2), text);
  const firstId = atFirst.slice(1, atFirst.indexOf(']'));
  assert.notEqual(firstId, secondId);
  assert.ok(await until(second, `window.chatMessages.includes(${JSON.stringify(`[${firstId}] ${text}`)})`));
  // The page itself shows the messages to a person.
  const shown = await first.evaluate("document.getElementById('log').textContent");
  assert.match(shown, /hello from page two/);

  await second.evaluate("window.chatSocket.close(1000, 'bye')");
  assert.ok(await until(first, `window.chatMessages.includes('${secondId} left the chat')`));
  return { first, second, firstId, secondId };
}
