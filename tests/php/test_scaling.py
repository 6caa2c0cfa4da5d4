"""Scaling from PHP: the seed's chat (examples/php/chat_server.php, unchanged:
WEBSOCKET_SCALING=redis and REDIS_URL do it) and `php nexus websocket:serve
--redis=URL` run as two server processes on one redis-server of the test's
own, with clients (Python's websockets, an independent client) split across
them: what one server's client says, the other server's clients read, in the
seed's chat format, joins and leaves included.

Usage: test_scaling.py PATH/TO/php-nexus [unittest arguments, e.g. ScaledChat]
"""
import asyncio
import os
import re
import signal
import sys
import unittest

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from php_apps import BOUND, EXAMPLES, ROOT, PhpApp, run  # noqa: E402
from redis_server import RedisServer, unique_prefix  # noqa: E402

LAUNCHER = None
NODE_SHIFT = 40  # a client id's bits above this are its server's node id


async def recv(ws, timeout=BOUND):
    return await asyncio.wait_for(ws.recv(), timeout)


def connect(url, **kwargs):
    kwargs.setdefault("open_timeout", BOUND)
    return websockets.connect(url, **kwargs)


async def read_until(ws, expected, timeout=BOUND):
    """Reads until the message `expected` (skipping others); fails after `timeout`."""
    skipped = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("no %r within %s s; got %r" % (expected, timeout, skipped))
        message = await recv(ws, left)
        if message == expected:
            return
        skipped.append(message)


async def until_heard(speaker, speaker_id, listener, word):
    """Has `speaker` say numbered `word`s until `listener` (on the other server)
    hears one in the chat's format: that server's link through Redis works."""
    pattern = re.compile(r"\[%s\] %s-\d+" % (speaker_id, word))
    for i in range(200):
        await speaker.send("%s-%d" % (word, i))
        try:
            while True:
                message = await recv(listener, 0.1)
                if pattern.fullmatch(message):
                    return
        except asyncio.TimeoutError:
            continue
    raise AssertionError("%s never heard %r from client %s" % ("the other server", word, speaker_id))


async def linked(one_client, one_id, two_client, two_id):
    """Waits until both servers hear each other (each server's publisher and
    the other's subscriber are up), then leaves both clients with nothing
    unread: a marker from each, read by both, ends what came before (each
    server's messages arrive in the order it sent them)."""
    await until_heard(one_client, one_id, two_client, "sync")
    await one_client.send("marker one")
    for ws in (one_client, two_client):
        await read_until(ws, "[%s] marker one" % one_id)
    await until_heard(two_client, two_id, one_client, "sync")
    await two_client.send("marker two")
    for ws in (one_client, two_client):
        await read_until(ws, "[%s] marker two" % two_id)


async def first_id(one_url, two_url):
    """Connects a client to each server; returns them with their ids (from
    their own echo: a join message may or may not have crossed yet)."""
    a = await connect(one_url)
    b = await connect(two_url)
    ids = []
    for ws, word in ((a, "who-a"), (b, "who-b")):
        await ws.send(word)
        while True:  # its own echo comes from its own server: no Redis involved
            match = re.fullmatch(r"\[(\d+)\] %s" % word, await recv(ws))
            if match:
                ids.append(match.group(1))
                break
    return a, ids[0], b, ids[1]


class ScaledChat(unittest.IsolatedAsyncioTestCase):
    """The seed's chat example as two server processes on one Redis."""

    def setUp(self):
        self.redis = RedisServer()
        self.addCleanup(self.redis.stop)
        self.env = {"WEBSOCKET_SCALING": "redis", "REDIS_URL": self.redis.url,
                    "WEBSOCKET_SCALING_PREFIX": unique_prefix(), "WEBSOCKET_SCALING_LEASE": "1.5"}

    def chat(self):
        app = PhpApp([LAUNCHER, EXAMPLES / "chat_server.php"], env=self.env)
        self.addCleanup(app.close)
        return app

    async def test_two_servers_are_one_chat(self):
        one, two = self.chat(), self.chat()
        a, a_id, b, b_id = await first_id(one.url, two.url)
        try:
            await linked(a, a_id, b, b_id)
            self.assertNotEqual(int(a_id) >> NODE_SHIFT, int(b_id) >> NODE_SHIFT)

            # A client joins server two: the client of server one is told, in the seed's words.
            async with connect(two.url) as c:
                c_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                self.assertEqual(await recv(b), "%s joined the chat" % c_id)
                self.assertEqual(int(c_id) >> NODE_SHIFT, int(b_id) >> NODE_SHIFT)

                # A message on server one reaches every client of both.
                await a.send("hello from one")
                for ws in (a, b, c):
                    self.assertEqual(await recv(ws), "[%s] hello from one" % a_id)
                # And one on server two, UTF-8 intact.
                await c.send("hi, wörld ✓")
                for ws in (a, b, c):
                    self.assertEqual(await recv(ws), "[%s] hi, wörld ✓" % c_id)

                # A second client of server one: ids stay unique across the servers.
                async with connect(one.url) as d:
                    d_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                    for ws in (b, c):
                        self.assertEqual(await recv(ws), "%s joined the chat" % d_id)
                    self.assertEqual(len({a_id, b_id, c_id, d_id}), 4)
                    await d.send("from d")
                    for ws in (a, b, c, d):
                        self.assertEqual(await recv(ws), "[%s] from d" % d_id)
                for ws in (a, b, c):
                    self.assertEqual(await recv(ws), "%s left the chat" % d_id)
            # c left server two: server one's client hears it too.
            for ws in (a, b):
                self.assertEqual(await recv(ws), "%s left the chat" % c_id)
            # Nothing else came in between: the next message is this marker.
            await b.send("end")
            for ws in (a, b):
                self.assertEqual(await recv(ws), "[%s] end" % b_id)
        finally:
            await a.close()
            await b.close()
        # Each server printed its own clients' lines, as the seed's example does.
        one.wait_for("[%s] disconnected" % a_id)
        two.wait_for("[%s] disconnected" % b_id)
        for line in ("[%s] hello from one" % a_id, "[%s] connected" % d_id, "[%s] from d" % d_id):
            self.assertIn(line + "\n", one.stdout)
        for line in ("[%s] connected" % c_id, "[%s] hi, wörld ✓" % c_id, "[%s] disconnected" % c_id):
            self.assertIn(line + "\n", two.stdout)
        self.assertNotIn("[%s] connected" % c_id, one.stdout)
        for app in (one, two):
            app.send_signal(signal.SIGTERM)
            self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)

    async def test_a_server_that_stops_takes_only_its_own_clients(self):
        one, two = self.chat(), self.chat()
        a, a_id, b, b_id = await first_id(one.url, two.url)
        try:
            await linked(a, a_id, b, b_id)
            two.send_signal(signal.SIGTERM)  # graceful: its clients get 1001
            with self.assertRaises(websockets.ConnectionClosed) as closed:
                while True:
                    await recv(b)
            self.assertEqual(closed.exception.rcvd.code, 1001)
            self.assertEqual(await asyncio.to_thread(two.wait), 0, two.stderr)
            # Server one carries on; its client talks on, and b's user comes back there.
            await a.send("still here")
            await read_matching(a, re.escape("[%s] still here" % a_id))
            async with connect(one.url) as back:
                back_id = (await read_matching(a, r"(\d+) joined the chat")).group(1)
                self.assertEqual(int(back_id) >> NODE_SHIFT, int(a_id) >> NODE_SHIFT)
                await back.send("back again")
                for ws in (a, back):
                    self.assertEqual(await recv(ws), "[%s] back again" % back_id)
        finally:
            await a.close()
            await b.close()


async def read_matching(ws, pattern):
    """The match of the first message that matches `pattern` whole (others,
    such as what the stopped server said while leaving, are skipped)."""
    while True:
        match = re.fullmatch(pattern, await recv(ws))
        if match:
            return match


class ScaledNexusCommand(unittest.IsolatedAsyncioTestCase):
    """php nexus websocket:serve --redis=URL, with the chat and with --app."""

    async def test_serve_with_redis_shares_the_chat(self):
        with RedisServer() as redis:
            prefix = unique_prefix()
            common = [LAUNCHER, ROOT / "nexus", "websocket:serve", "--host=127.0.0.1", "--port=0",
                      "--redis=%s" % redis.url, "--scaling-prefix", prefix, "--scaling-lease=1.5"]
            with PhpApp(common) as one, \
                    PhpApp([*common, "--app=%s" % (EXAMPLES / "chat_server.php")]) as two:
                match = one.wait_for(re.compile(
                    r"sharing clients through redis 127\.0\.0\.1:%d as server (\d+)\n" % redis.port))
                a, a_id, b, b_id = await first_id(one.url, two.url)
                try:
                    self.assertEqual(int(a_id) >> NODE_SHIFT, int(match.group(1)))
                    await linked(a, a_id, b, b_id)
                    await b.send("across")
                    for ws in (a, b):
                        self.assertEqual(await recv(ws), "[%s] across" % b_id)
                finally:
                    await a.close()
                    await b.close()
                for app in (one, two):
                    app.send_signal(signal.SIGTERM)
                    self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)

    def test_usage_errors(self):
        nexus = [LAUNCHER, ROOT / "nexus", "websocket:serve", "--port=0"]
        status, _, err = run([*nexus, "--scaling-prefix=x"])
        self.assertEqual(status, 2, err)
        self.assertIn("--scaling-prefix needs --redis", err)
        status, _, err = run([*nexus, "--redis=http://user:secret@host"])
        self.assertEqual(status, 2, err)
        self.assertIn("--redis: expected redis://", err)
        self.assertNotIn("secret", err)
        status, out, _ = run([LAUNCHER, ROOT / "nexus", "--help"])
        self.assertEqual(status, 0)
        for option in ("--redis=URL", "--scaling-prefix", "--scaling-lease"):
            self.assertIn(option, out)


if __name__ == "__main__":
    LAUNCHER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
