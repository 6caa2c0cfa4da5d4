// Headless Chromium loads the chat page from `php nexus websocket:serve` (the
// PHP chat server, run by build/bin/php-nexus); two pages talk to each other
// (tests/interop/chromium_chat.mjs), then SIGTERM ends the server gracefully.
//
// Usage: node --test test_chromium_php_chat.mjs   (NX_PHP_LAUNCHER=.../php-nexus, CHROMIUM=/usr/bin/chromium)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chatPagesTalk, until, waitFor } from '../interop/chromium_chat.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const launcher = process.env.NX_PHP_LAUNCHER;
const nexus = join(here, '..', '..', 'nexus');

test('two chat pages served by php nexus websocket:serve talk to each other', async (t) => {
  assert.ok(launcher, 'NX_PHP_LAUNCHER must name build/bin/php-nexus');
  const server = spawn(launcher, [nexus, 'websocket:serve', '--host=127.0.0.1', '--port=0']);
  let serverOutput = '';
  server.stdout.on('data', (chunk) => { serverOutput += chunk; });
  t.after(() => server.kill('SIGKILL'));
  const [, port] = await waitFor(server.stdout, /ws:\/\/[^:]+:(\d+)/, 'port');
  const { first, secondId } = await chatPagesTalk(t, port, 'hello from page one ✓');

  // SIGTERM: the open page is told the server is going away (1001), and the command ends with 0.
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  assert.equal(await until(first, "window.chatSocket.readyState === 3 && document.getElementById('log').textContent.match(/Disconnected \\((\\d+)\\)/)[1]"), '1001');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(serverOutput, new RegExp(`\\[${secondId}\\] hello from page two\\n`));
});
