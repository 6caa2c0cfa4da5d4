"""nexus-socket against Python's `websockets` (Debian python3-websockets), an
independent RFC 6455 / RFC 7692 implementation.

Usage: test_python_websockets.py PATH/TO/nexus-socket
"""
import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.request

import websockets

from nexus_process import NexusProcess

BINARY = None
CERTS = None


class Certificates:
    """A test CA and a certificate it signs for localhost and 127.0.0.1,
    made with the openssl command in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nexus-wss-")
        self.ca = os.path.join(self.dir, "ca.pem")
        self.cert = os.path.join(self.dir, "server.pem")
        self.key = os.path.join(self.dir, "server.key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        steps = [
            ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=nexus test CA"],
            ["req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", "7", "-days", "2", "-out", "server.pem", "-extfile", "san.cnf"],
        ]
        with open(os.path.join(self.dir, "san.cnf"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        for step in steps:
            subprocess.run(["openssl", *step], cwd=self.dir, check=True, capture_output=True)

    def client_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def server_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def server_args(self):
        return ("--tls-cert", self.cert, "--tls-key", self.key)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global CERTS
    CERTS = Certificates()


def tearDownModule():
    CERTS.remove()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class EchoServer(unittest.TestCase):
    compression = None
    args = ()
    tls = False

    def setUp(self):
        args = (*self.args, *CERTS.server_args()) if self.tls else self.args
        self.server = NexusProcess(BINARY, "echo", *args)
        self.assertEqual(self.server.url.startswith("wss://"), self.tls)

    def connect(self, **kwargs):
        """websockets' client for this server: wss:// trusting the test CA."""
        ssl_context = CERTS.client_context() if self.tls else None
        return websockets.connect(self.server.url, compression=self.compression,
                                  ssl=ssl_context, **kwargs)

    def tearDown(self):
        self.server.kill()
        self.server.__exit__()

    def test_text_binary_and_sizes(self):
        async def go():
            async with self.connect(max_size=2**24) as ws:
                for message in ["hello", "", "κόσμε 🎉", "x" * 125, "y" * 126, "z" * 65536,
                                b"\x00\xff\x01", b"", bytes(range(256)) * 4096]:
                    await ws.send(message)
                    echoed = await ws.recv()
                    self.assertEqual(echoed, message)
                    self.assertIs(type(echoed), type(message))
        run(go())

    def test_fragmented_message_comes_back_whole(self):
        async def go():
            async with self.connect() as ws:
                await ws.send(["frag", "ment", "ed ✓"])  # one message in three frames
                self.assertEqual(await ws.recv(), "fragmented ✓")
        run(go())

    def test_ping_gets_pong(self):
        async def go():
            async with self.connect() as ws:
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, 5)
        run(go())

    def test_close_code_is_echoed(self):
        async def go():
            ws = await self.connect()
            await ws.close(4001, "done here")
            # RFC 6455 §5.5.1: the answer echoes the status code.
            self.assertEqual(ws.close_code, 4001)
        run(go())

    def test_many_messages_in_flight_keep_order(self):
        async def go():
            async with self.connect() as ws:
                for i in range(1000):
                    await ws.send("message %d" % i)
                for i in range(1000):
                    self.assertEqual(await ws.recv(), "message %d" % i)
        run(go())

    def test_sigterm_closes_clients_with_1001(self):
        async def go():
            ws = await self.connect()
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
            async with self.connect() as ws:
                self.assertIn("permessage-deflate",
                              ws.response_headers.get("Sec-WebSocket-Extensions", ""))
                text = "compress me " * 10000
                await ws.send(text)
                self.assertEqual(await ws.recv(), text)
        run(go())


class TlsEchoServer(EchoServer):
    """The same cases over wss:// (TLS in the server's event loop)."""
    tls = True


class TlsDeflateEchoServer(DeflateEchoServer):
    tls = True


class TlsAbruptClients(unittest.TestCase):
    """TLS clients that vanish (RST) right after their request: the server's
    writes to them fail, and it must go on serving everyone else."""

    def setUp(self):
        self.server = NexusProcess(BINARY, "echo", *CERTS.server_args())

    def tearDown(self):
        self.server.kill()
        self.server.__exit__()

    def test_vanishing_clients_do_not_stall_the_server(self):
        import socket
        import struct
        context = CERTS.client_context()
        request = ("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        for i in range(60):
            raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            tls = context.wrap_socket(raw, server_hostname="localhost")
            tls.sendall(request)
            if i % 2:
                # Linger 0: close() sends RST, so what the server writes next fails.
                tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Otherwise a FIN without close_notify, which OpenSSL reads as a
            # close_notify: the server's 101 then meets a closed TLS stream.
            tls.close()

        async def go():
            async with websockets.connect(self.server.url, ssl=CERTS.client_context(),
                                          open_timeout=5) as ws:
                await ws.send("still here")
                self.assertEqual(await asyncio.wait_for(ws.recv(), 5), "still here")
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


class TlsChatServer(unittest.TestCase):
    """`serve --tls-cert`: the page over https and the chat over wss:// on one port."""

    def setUp(self):
        self.server = NexusProcess(BINARY, "serve", *CERTS.server_args())

    def tearDown(self):
        self.server.kill()
        self.server.__exit__()

    def test_page_over_https_and_chat_over_wss(self):
        page = urllib.request.urlopen("https://localhost:%d/" % self.server.port,
                                      context=CERTS.client_context(), timeout=10)
        self.assertEqual(page.status, 200)
        self.assertIn(b"WebSocket", page.read())

        async def go():
            url = "wss://localhost:%d/" % self.server.port
            alice = await websockets.connect(url, ssl=CERTS.client_context())
            bob = await websockets.connect(url, ssl=CERTS.client_context())
            bob_id = (await alice.recv()).split()[0]
            await bob.send("secret hello")
            self.assertEqual(await alice.recv(), "[%s] secret hello" % bob_id)
            await bob.close()
            await alice.close()
        run(go())

    def test_a_client_that_does_not_trust_the_certificate_cannot_connect(self):
        async def go():
            with self.assertRaises(ssl.SSLCertVerificationError):
                await websockets.connect("wss://localhost:%d/" % self.server.port,
                                         ssl=ssl.create_default_context())
        run(go())


class PythonServerOurClient(unittest.TestCase):
    """`nexus-socket connect --echo` against a websockets server."""

    def run_client_against(self, compression, args=(), tls=False):
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

            async with websockets.serve(handler, "127.0.0.1", 0, compression=compression,
                                        ssl=CERTS.server_context() if tls else None) as server:
                port = server.sockets[0].getsockname()[1]
                url = ("wss://localhost:%d/chat" if tls else "ws://127.0.0.1:%d/chat") % port
                tls_args = ("--cafile", CERTS.ca) if tls else ()
                proc = await asyncio.create_subprocess_exec(
                    BINARY, "connect", "--echo", *args, *tls_args, url)
                expected = await asyncio.wait_for(done, 20)
                self.assertEqual(await asyncio.wait_for(proc.wait(), 20), 0)
            self.assertEqual(received, expected)

        run(go())

    def test_echo_client(self):
        self.run_client_against(None)

    def test_echo_client_with_deflate(self):
        self.run_client_against("deflate", ("--deflate",))

    def test_echo_client_over_wss(self):
        self.run_client_against(None, tls=True)

    def test_echo_client_over_wss_with_deflate(self):
        self.run_client_against("deflate", ("--deflate",), tls=True)

    def test_untrusted_server_certificate_is_refused(self):
        async def go():
            async def handler(ws):
                await ws.wait_closed()

            async with websockets.serve(handler, "127.0.0.1", 0,
                                        ssl=CERTS.server_context()) as server:
                port = server.sockets[0].getsockname()[1]
                proc = await asyncio.create_subprocess_exec(
                    BINARY, "connect", "wss://localhost:%d/" % port,
                    stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
                _, stderr = await asyncio.wait_for(proc.communicate(), 20)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(b"certificate verify failed", stderr)
        run(go())

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
