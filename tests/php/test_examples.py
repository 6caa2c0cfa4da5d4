"""The PHP examples (examples/php/) and the `nexus` command, each started
under build/bin/php-nexus and driven by Python's websockets (Debian's
python3-websockets), an independent client. Every message each client
receives is asserted, in order; where a test must show that a client got
nothing more, the next message it gets is a marker sent after the fact.

Usage: test_examples.py PATH/TO/php-nexus [unittest arguments, e.g. ChatServer]
"""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.request
from pathlib import Path

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from php_apps import BOUND, EXAMPLES, ROOT, PhpApp, run  # noqa: E402

LAUNCHER = None


def example(name, *args, env=None):
    return PhpApp([LAUNCHER, EXAMPLES / name, *args], env=env)


async def recv(ws, timeout=BOUND):
    return await asyncio.wait_for(ws.recv(), timeout)


async def close_code(ws, timeout=BOUND):
    """The code of the close frame `ws` receives next (1006 when none came); fails on a message."""
    try:
        message = await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else 1006
    raise AssertionError("expected the connection to close, got %r" % (message[:80],))


def connect(url, **kwargs):
    kwargs.setdefault("open_timeout", BOUND)
    return websockets.connect(url, **kwargs)


class ChatServer(unittest.IsolatedAsyncioTestCase):
    """examples/php/chat_server.php: the seed's chat."""

    async def test_join_messages_and_leave_reach_everyone(self):
        with example("chat_server.php") as app:
            async with connect(app.url) as a, connect(app.url) as b:
                b_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                await a.send("hello from a")
                echoed = await recv(a)
                a_id = re.fullmatch(r"\[(\d+)\] hello from a", echoed).group(1)
                self.assertNotEqual(a_id, b_id)
                self.assertEqual(await recv(b), echoed)

                async with connect(app.url) as c:
                    c_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                    self.assertEqual(await recv(b), "%s joined the chat" % c_id)
                    self.assertEqual(len({a_id, b_id, c_id}), 3)
                    await b.send("hi, wörld ✓")
                    for ws in (a, b, c):
                        self.assertEqual(await recv(ws), "[%s] hi, wörld ✓" % b_id)
                for ws in (a, b):
                    self.assertEqual(await recv(ws), "%s left the chat" % c_id)
                # Nothing else came in between: the next message is this marker.
                await a.send("end")
                for ws in (a, b):
                    self.assertEqual(await recv(ws), "[%s] end" % a_id)
            app.wait_for("[%s] disconnected" % a_id)
            for line in ("[%s] connected" % b_id, "[%s] hello from a" % a_id,
                         "[%s] hi, wörld ✓" % b_id, "[%s] disconnected" % c_id):
                self.assertIn(line + "\n", app.stdout)

    async def test_a_binary_message_is_refused_with_1003(self):
        with example("chat_server.php") as app:
            async with connect(app.url) as a, connect(app.url) as b:
                b_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                await b.send(b"\x00\xff binary")
                self.assertEqual(await close_code(b), 1003)
                self.assertEqual(await recv(a), "%s left the chat" % b_id)

    async def test_max_clients_from_the_environment_refuses_with_503(self):
        with example("chat_server.php", env={"WEBSOCKET_MAX_CLIENTS": "2"}) as app:
            async with connect(app.url) as a, connect(app.url) as b:
                b_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                with self.assertRaises(websockets.InvalidStatusCode) as refused:
                    async with connect(app.url):
                        pass
                self.assertEqual(refused.exception.status_code, 503)
                await b.send("still two")
                for ws in (a, b):
                    self.assertEqual(await recv(ws), "[%s] still two" % b_id)

    async def test_a_silent_peer_is_dropped_after_the_ping_deadline(self):
        env = {"WEBSOCKET_PING_INTERVAL": "0.2", "WEBSOCKET_PONG_TIMEOUT": "0.3"}
        with example("chat_server.php", env=env) as app:
            async with connect(app.url) as a:
                # A raw client that completes the handshake, then never reads nor answers pings.
                silent = socket.create_connection(("127.0.0.1", app.port), timeout=BOUND)
                try:
                    silent.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                   b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   b"Sec-WebSocket-Version: 13\r\n\r\n")
                    head = b""
                    while b"\r\n\r\n" not in head:
                        chunk = silent.recv(4096)
                        self.assertTrue(chunk, "closed during the handshake")
                        head += chunk
                    self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
                    silent_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                    # `a` answers pings (websockets does), so only the silent one goes.
                    self.assertEqual(await recv(a), "%s left the chat" % silent_id)
                finally:
                    silent.close()
                await a.send("still here")
                self.assertRegex(await recv(a), r"^\[\d+\] still here$")


class Shutdown(unittest.IsolatedAsyncioTestCase):
    """SIGTERM and SIGINT stop gracefully: queued messages first, then close 1001, exit 0."""

    async def test_sigterm_flushes_queued_messages_then_closes_every_client_with_1001(self):
        count, size = 40, 60000
        with example("chat_server.php") as app:
            a = await connect(app.url)
            # b reads nothing until the stop: what it is sent piles up in the server's queue.
            b = await connect(app.url, max_queue=1, read_limit=2 ** 12)
            b_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
            c = await connect(app.url)
            c_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
            sent = ["%03d:" % i + "x" * size for i in range(count)]
            for message in sent:
                await a.send(message)
            # When a and c have each of them back, the server has queued all of them for b too.
            a_id = None
            for message in sent:
                got = await recv(a)
                a_id = a_id or got[1:got.index("]")]
                self.assertEqual(got, "[%s] %s" % (a_id, message))
                self.assertEqual(await recv(c), got)
            app.send_signal(signal.SIGTERM)
            self.assertEqual(await close_code(a), 1001)
            self.assertEqual(await close_code(c), 1001)
            self.assertEqual(await recv(b), "%s joined the chat" % c_id)
            for message in sent:
                self.assertEqual(await recv(b), "[%s] %s" % (a_id, message))
            self.assertEqual(await close_code(b), 1001)
            self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)
            for client in (a_id, b_id, c_id):
                self.assertIn("[%s] disconnected\n" % client, app.stdout)
            self.assertEqual(app.stderr, "")

    async def test_sigint_stops_the_broadcast_server(self):
        with example("broadcast_server.php") as app:
            async with connect(app.url) as a, connect(app.url) as b:
                self.assertEqual(await recv(a), "Total clients: 1")
                self.assertEqual(await recv(a), "Total clients: 2")
                self.assertEqual(await recv(b), "Total clients: 2")
                app.send_signal(signal.SIGINT)
                self.assertEqual(await close_code(a), 1001)
                self.assertEqual(await close_code(b), 1001)
            self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)


class BroadcastServer(unittest.IsolatedAsyncioTestCase):
    """examples/php/broadcast_server.php: the seed's broadcast server."""

    async def test_counts_and_broadcasts_to_everyone_but_the_sender(self):
        with example("broadcast_server.php") as app:
            async with connect(app.url) as a:
                self.assertEqual(await recv(a), "Total clients: 1")
                async with connect(app.url) as b:
                    self.assertEqual(await recv(a), "Total clients: 2")
                    self.assertEqual(await recv(b), "Total clients: 2")
                    async with connect(app.url) as c:
                        for ws in (a, b, c):
                            self.assertEqual(await recv(ws), "Total clients: 3")
                        await a.send("hi from a")
                        self.assertEqual(await recv(b), "hi from a")
                        self.assertEqual(await recv(c), "hi from a")
                        # a did not get its own message: the next thing it gets is b's.
                        await b.send("hi from b")
                        self.assertEqual(await recv(a), "hi from b")
                        self.assertEqual(await recv(c), "hi from b")
                    for ws in (a, b):
                        self.assertEqual(await recv(ws), "Client left. Total clients: 2")
                self.assertEqual(await recv(a), "Client left. Total clients: 1")


class NotificationServer(unittest.IsolatedAsyncioTestCase):
    """examples/php/notification_server.php: the seed's notification server."""

    SCRIPT = "notification_server.php"

    async def test_subscribe_notify_unsubscribe(self):
        def notification(channel, data):
            return {"type": "notification", "channel": channel, "data": data}

        async def got(ws):
            return json.loads(await recv(ws))

        async def request(ws, kind, channel, data=None):
            message = {"type": kind, "channel": channel}
            if data is not None:
                message["data"] = data
            await ws.send(json.dumps(message))

        with example(self.SCRIPT) as app:
            async with connect(app.url) as a, connect(app.url) as b, connect(app.url) as c:
                for ws, channel in ((a, "news"), (a, "alerts"), (b, "sports"), (c, "own")):
                    await request(ws, "subscribe", channel)
                    self.assertEqual(await got(ws), {"type": "subscribed", "channel": channel})
                await c.send("not json")  # ignored

                await request(c, "notify", "news", {"n": 1})
                self.assertEqual(await got(a), notification("news", {"n": 1}))
                await request(c, "notify", "sports", {"n": 2})
                self.assertEqual(await got(b), notification("sports", {"n": 2}))
                await request(c, "notify", "alerts", {"n": 3})
                self.assertEqual(await got(a), notification("alerts", {"n": 3}))  # not sports

                await request(a, "unsubscribe", "news")
                await request(c, "notify", "news", {"n": 4})
                await request(c, "notify", "alerts", {"n": 5})
                self.assertEqual(await got(a), notification("alerts", {"n": 5}))  # not news any more

                await b.close()
                await request(c, "notify", "sports", {"n": 6})
                await request(c, "notify", "own", {"n": 7})
                # c got nothing but its own channel (its "not json" and the others' notifications).
                self.assertEqual(await got(c), notification("own", {"n": 7}))
                await request(c, "notify", "alerts", {"n": 8})
                self.assertEqual(await got(a), notification("alerts", {"n": 8}))


class NotificationChannelsServer(NotificationServer):
    """examples/php/notification_channels_server.php: the same on the server's channels."""

    SCRIPT = "notification_channels_server.php"

    async def test_an_invalid_channel_name_is_reported(self):
        with example(self.SCRIPT) as app:
            async with connect(app.url) as a:
                await a.send(json.dumps({"type": "subscribe", "channel": "bad\nname"}))
                answer = json.loads(await recv(a))
                self.assertEqual(answer["type"], "error")
                await a.send(json.dumps({"type": "subscribe", "channel": "fine"}))
                self.assertEqual(json.loads(await recv(a)), {"type": "subscribed", "channel": "fine"})


class ClientManagement(unittest.IsolatedAsyncioTestCase):
    """examples/php/client_management.php: getClients(), disconnect(), stop()."""

    async def test_list_inspect_kick_and_stop(self):
        with example("client_management.php") as app:
            base = app.url
            a = await connect(base + "room?x=1&y=two", extra_headers={"X-Test": "yes"})
            a_id = re.fullmatch(r"welcome (\d+)", await recv(a)).group(1)
            b = await connect(base)
            b_id = re.fullmatch(r"welcome (\d+)", await recv(b)).group(1)

            await a.send("clients")
            self.assertEqual(await recv(a), "Client: %s from 127.0.0.1:%d\nClient: %s from 127.0.0.1:%d" % (
                a_id, a.local_address[1], b_id, b.local_address[1]))

            await a.send("whoami")
            me = json.loads(await recv(a))
            self.assertEqual(me["id"], a_id)
            self.assertEqual(me["peer"], "127.0.0.1:%d" % a.local_address[1])
            self.assertEqual(me["path"], "/room")
            self.assertEqual(me["query"], "x=1&y=two")
            self.assertEqual(me["headers"]["x-test"], "yes")
            self.assertEqual(me["subprotocol"], "")
            self.assertIsInstance(me["connected_at"], float)
            self.assertEqual(me["data"], [])

            await a.send("kick %s" % b_id)
            self.assertEqual(await recv(a), "kicked %s" % b_id)
            self.assertEqual(await close_code(b), 1000)

            await a.send("clients")
            self.assertEqual(await recv(a), "Client: %s from 127.0.0.1:%d" % (a_id, a.local_address[1]))
            await a.send("kick 999")
            self.assertEqual(await recv(a), "error: no connected client with id '999'")
            await a.send("kick %s" % b_id)
            self.assertEqual(await recv(a), "error: no connected client with id '%s'" % b_id)

            await a.send("stats")
            stats = json.loads(await recv(a))
            self.assertEqual(stats["clients"], 1)
            self.assertEqual(stats["connections_total"], 2)
            self.assertEqual(stats["messages_in"], 7)

            await a.send("stop")
            self.assertEqual(await recv(a), "server stopping")
            self.assertEqual(await close_code(a), 1001)
            self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)
            self.assertTrue(app.stdout.endswith("stopped\n"), app.stdout)


class EchoClient(unittest.IsolatedAsyncioTestCase):
    """examples/php/echo_client.php against examples/php/echo_server.php."""

    async def test_the_php_client_gets_text_and_binary_back(self):
        with example("echo_server.php") as server:
            status, out, err = run([LAUNCHER, EXAMPLES / "echo_client.php", server.url, "hello", "wörld ✓"])
            self.assertEqual((status, err), (0, ""), out)
            self.assertEqual(out, "connected to %s\nsent: hello\nreceived: hello\nsent: wörld ✓\n"
                                  "received: wörld ✓\nbinary echo: ok (256 bytes)\nclosed (1000)\n" % server.url)

    async def test_the_echo_server_keeps_the_kind_of_each_message(self):
        with example("echo_server.php") as server:
            async with connect(server.url) as ws:
                await ws.send("text ✓")
                self.assertEqual(await recv(ws), "text ✓")
                await ws.send(bytes(range(256)))
                self.assertEqual(await recv(ws), bytes(range(256)))

    async def test_the_client_reports_a_refused_connection(self):
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        status, out, err = run([LAUNCHER, EXAMPLES / "echo_client.php", "ws://127.0.0.1:%d/" % port])
        self.assertEqual(status, 1)
        self.assertIn("error: ", err)


class AuthServer(unittest.IsolatedAsyncioTestCase):
    """examples/php/auth_server.php: the handshake hook accepts or refuses with a status."""

    async def test_tokens_decide_and_the_handshake_data_stays_with_the_client(self):
        with example("auth_server.php") as app:
            for url in (app.url, app.url + "?token=wrong"):
                with self.assertRaises(websockets.InvalidStatusCode) as refused:
                    async with connect(url):
                        pass
                self.assertEqual(refused.exception.status_code, 401)
            async with connect(app.url + "?token=alice-token") as alice:
                self.assertEqual(await recv(alice), "hello alice")
                async with connect(app.url, extra_headers={"X-Token": "bob-token"}) as bob:
                    self.assertEqual(await recv(bob), "hello bob")
                    self.assertEqual(await recv(alice), "bob joined")
                    await bob.send("hi")
                    self.assertEqual(await recv(alice), "bob: hi")
                    self.assertEqual(await recv(bob), "bob: hi")


class NexusCommand(unittest.IsolatedAsyncioTestCase):
    """The `nexus` command line: php nexus websocket:serve."""

    def nexus(self, *args):
        return PhpApp([LAUNCHER, ROOT / "nexus", "websocket:serve", "--host=127.0.0.1", *args])

    async def test_serve_runs_the_chat_with_its_page(self):
        with self.nexus("--port=0") as app:
            page = await asyncio.to_thread(
                lambda: urllib.request.urlopen("http://127.0.0.1:%d/" % app.port, timeout=BOUND).read())
            self.assertIn(b"<title>nexus-socket chat</title>", page)
            async with connect(app.url) as a, connect(app.url) as b:
                b_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                await b.send("hello")
                self.assertEqual(await recv(a), "[%s] hello" % b_id)
                self.assertEqual(await recv(b), "[%s] hello" % b_id)
                await b.send(b"\x01\x02")  # relayed to everyone, still binary
                self.assertEqual(await recv(a), b"\x01\x02")
                self.assertEqual(await recv(b), b"\x01\x02")
            app.send_signal(signal.SIGTERM)
            self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)
            self.assertIn("WebSocket chat server stopped\n", app.stdout)

    async def test_serve_over_tls_gives_wss_and_the_page_over_https(self):
        with tempfile.TemporaryDirectory(prefix="nexus-php-wss-") as d:
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            Path(d, "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
            for step in (["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                          "-subj", "/CN=php test CA"],
                         ["req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
                          "-subj", "/CN=localhost"],
                         ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                          "-set_serial", "3", "-days", "2", "-out", "server.pem", "-extfile", "san.cnf"]):
                subprocess.run(["openssl", *step], cwd=d, check=True, capture_output=True)
            trust = ssl.create_default_context(cafile=str(Path(d, "ca.pem")))
            with self.nexus("--port=0", "--tls-cert=%s" % Path(d, "server.pem"),
                            "--tls-key", str(Path(d, "server.key"))) as app:
                self.assertTrue(app.url.startswith("wss://"), app.stdout)
                self.assertIn("(page: https://", app.stdout)
                page = await asyncio.to_thread(lambda: urllib.request.urlopen(
                    "https://localhost:%d/" % app.port, timeout=BOUND, context=trust).read())
                self.assertIn(b"<title>nexus-socket chat</title>", page)
                async with connect(app.url, ssl=trust) as a, connect(app.url, ssl=trust) as b:
                    b_id = re.fullmatch(r"(\d+) joined the chat", await recv(a)).group(1)
                    await b.send("hello over TLS")
                    self.assertEqual(await recv(a), "[%s] hello over TLS" % b_id)
                with self.assertRaises(ssl.SSLCertVerificationError):
                    await connect(app.url, ssl=ssl.create_default_context())
                app.send_signal(signal.SIGTERM)
                self.assertEqual(await asyncio.to_thread(app.wait), 0, app.stderr)

    async def test_serve_runs_an_application_file_with_host_and_port(self):
        with self.nexus("--port", "0", "--app=%s" % (EXAMPLES / "broadcast_server.php")) as app:
            async with connect(app.url) as a:
                self.assertEqual(await recv(a), "Total clients: 1")

    def test_usage(self):
        status, out, err = run([LAUNCHER, ROOT / "nexus", "--help"])
        self.assertEqual((status, err), (0, ""))
        self.assertIn("websocket:serve", out)
        status, out, _ = run([LAUNCHER, ROOT / "nexus", "websocket:serve", "-h"])
        self.assertEqual(status, 0)
        self.assertIn("--port=PORT", out)
        for args in (["bogus"], ["websocket:serve", "--bogus=1"], ["websocket:serve", "--port=http"],
                     ["websocket:serve", "--port=70000"], ["websocket:serve", "stray"], ["websocket:serve", "--host"]):
            status, out, err = run([LAUNCHER, ROOT / "nexus", *args])
            self.assertEqual(status, 2, args)
            self.assertEqual(out, "", args)
            self.assertIn("Usage: php nexus", err, args)

    def test_a_port_in_use_fails_with_status_1(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            status, out, err = run([LAUNCHER, ROOT / "nexus", "websocket:serve", "--host=127.0.0.1",
                                    "--port=%d" % port])
        self.assertEqual(status, 1, out)
        self.assertIn(str(port), err)

    def test_without_the_extension_it_says_how_to_build_it(self):
        php = os.environ.get("NX_PHP") or shutil.which("php")
        if not php:
            self.skipTest("no php")
        status, out, err = run([php, "-n", ROOT / "nexus", "websocket:serve"],
                               env={"NEXUS_SOCKET_EXTENSION": "/nonexistent/nexus_socket.so"})
        self.assertEqual(status, 1, out)
        self.assertIn("make build", err)

    async def test_plain_php_finds_the_built_extension(self):
        php = os.environ.get("NX_PHP") or shutil.which("php")
        extension = Path(LAUNCHER).resolve().parent.parent / "lib" / "nexus_socket.so"
        if not php or not extension.is_file():
            self.skipTest("no php, or no %s" % extension)
        command = [php, ROOT / "nexus", "websocket:serve", "--host=127.0.0.1", "--port=0"]
        with PhpApp(command, env={"NEXUS_SOCKET_EXTENSION": str(extension)}) as app:
            async with connect(app.url) as a:
                await a.send("plain php")
                self.assertRegex(await recv(a), r"^\[\d+\] plain php$")


if __name__ == "__main__":
    LAUNCHER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
