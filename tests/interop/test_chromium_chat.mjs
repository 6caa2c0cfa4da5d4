// Headless Chromium loads the chat page from `nexus-socket serve`; two pages
// talk to each other (chromium_chat.mjs).
//
// Usage: node --test test_chromium_chat.mjs   (NEXUS_SOCKET=..., CHROMIUM=/usr/bin/chromium)
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { chatPagesTalk, waitFor } from './chromium_chat.mjs';

const binary = process.env.NEXUS_SOCKET;

test('two chat pages served by nexus-socket talk to each other', async (t) => {
  const server = spawn(binary, ['serve', '--host', '127.0.0.1', '--port', '0']);
  t.after(() => server.kill('SIGKILL'));
  const [, port] = await waitFor(server.stdout, /ws:\/\/[^:]+:(\d+)/, 'port');
  await chatPagesTalk(t, port, 'hello from page one');
});
