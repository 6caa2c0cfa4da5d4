"""nexus-socket against Python's `websockets` (Debian python3-websockets), an
independent RFC 6455 / RFC 7692 implementation.

Usage: test_python_websockets.py PATH/TO/nexus-socket
"""
import asyncio
import sys
import unittest

import websockets

from nexus_process import NexusProcess

BINARY = None


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class EchoServer(unittest.TestCase):
    compression = None
    args = ()

    def setUp(self):
        self.server = NexusProcess(BINARY, "echo", *self.args)

    def tearDown(self):
        self.server.kill()
        self.server.__exit__()

    def test_text_binary_and_sizes(self):
        async def go():
            async with websockets.connect(self.server.url, compression=self.compression,
                                          max_size=2**24) as ws:
                for message in ["hello", "", "κόσμε 🎉", "x" * 125, "y" * 126, "z" * 65536,
                                b"\x00\xff\x01", b"", bytes(range(256)) * 4096]:
                    await ws.send(message)
                    echoed = await ws.recv()
                    self.assertEqual(echoed, message)
                    self.assertIs(type(echoed), type(message))
        run(go())

    def test_fragmented_message_comes_back_whole(self):
        async def go():
            async with websockets.connect(self.server.url, compression=self.compression) as ws:
                await ws.send(["frag", "ment", "ed ✓"])  # one message in three frames
                self.assertEqual(await ws.recv(), "fragmented ✓")
        run(go())

    def test_ping_gets_pong(self):
        async def go():
            async with websockets.connect(self.server.url, compression=self.compression) as ws:
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, 5)
        run(go())

    def test_close_code_is_echoed(self):
        async def go():
            ws = await websockets.connect(self.server.url, compression=self.compression)
            await ws.close(4001, "done here")
            # RFC 6455 §5.5.1: the answer echoes the status code.
            self.assertEqual(ws.close_code, 4001)
        run(go())

    def test_many_messages_in_flight_keep_order(self):
        async def go():
            async with websockets.connect(self.server.url, compression=self.compression) as ws:
                for i in range(1000):
                    await ws.send("message %d" % i)
                for i in range(1000):
                    self.assertEqual(await ws.recv(), "message %d" % i)
        run(go())

    def test_sigterm_closes_clients_with_1001(self):
        async def go():
            ws = await websockets.connect(self.server.url, compression=self.compression)
            loop = asyncio.get_running_loop()
            status = loop.run_in_executor(None, self.server.terminate)
            with self.assertRaises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            self.assertEqual(closed.exception.rcvd.code, 1001)
            self.assertEqual(await status, 0)
        run(go())


class DeflateEchoServer(EchoServer):
    compression = "deflate"
    args = ("--deflate",)

    def test_permessage_deflate_is_negotiated(self):
        async def go():
            async with websockets.connect(self.server.url, compression="deflate") as ws:
                self.assertIn("permessage-deflate",
                              ws.response_headers.get("Sec-WebSocket-Extensions", ""))
                text = "compress me " * 10000
                await ws.send(text)
                self.assertEqual(await ws.recv(), text)
        run(go())


class ChatServer(unittest.TestCase):
    def setUp(self):
        self.server = NexusProcess(BINARY, "serve")

    def tearDown(self):
        self.server.kill()
        self.server.__exit__()

    def test_join_broadcast_and_leave(self):
        async def go():
            alice = await websockets.connect(self.server.url)
            bob = await websockets.connect(self.server.url)
            joined = await alice.recv()  # bob's arrival, not shown to bob
            self.assertRegex(joined, r"^\d+ joined the chat$")
            bob_id = joined.split()[0]
            await bob.send("hi all")
            self.assertEqual(await alice.recv(), "[%s] hi all" % bob_id)
            self.assertEqual(await bob.recv(), "[%s] hi all" % bob_id)
            await bob.close()
            self.assertEqual(await alice.recv(), "%s left the chat" % bob_id)
            await alice.close()
        run(go())


class PythonServerOurClient(unittest.TestCase):
    """`nexus-socket connect --echo` against a websockets server."""

    def run_client_against(self, compression, args=()):
        async def go():
            received = []
            done = asyncio.get_running_loop().create_future()

            async def handler(ws):
                messages = ["hello", "κόσμε", "x" * 70000, b"\x00\x01\xff", b"", ""]
                for m in messages:
                    await ws.send(m)
                    received.append(await ws.recv())
                await ws.send(["frag", "mented"])
                received.append(await ws.recv())
                await ws.close(1000, "done")
                done.set_result(messages + ["fragmented"])

            async with websockets.serve(handler, "127.0.0.1", 0, compression=compression) as server:
                port = server.sockets[0].getsockname()[1]
                proc = await asyncio.create_subprocess_exec(
                    BINARY, "connect", "--echo", *args, "ws://127.0.0.1:%d/chat" % port)
                expected = await asyncio.wait_for(done, 20)
                self.assertEqual(await asyncio.wait_for(proc.wait(), 20), 0)
            self.assertEqual(received, expected)

        run(go())

    def test_echo_client(self):
        self.run_client_against(None)

    def test_echo_client_with_deflate(self):
        self.run_client_against("deflate", ("--deflate",))

    def test_refused_connection_says_so(self):
        import socket
        import subprocess
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, not listening: refused
            result = subprocess.run([BINARY, "connect", "ws://127.0.0.1:%d/" % port],
                                    capture_output=True, timeout=20)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"connection refused", result.stderr)

    def test_bad_url_is_a_usage_error(self):
        import subprocess
        result = subprocess.run([BINARY, "connect", "http://example.com/"], capture_output=True,
                                timeout=20)
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
