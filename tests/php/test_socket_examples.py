"""The socket examples (examples/php/socket_*.php, secure_socket_server.php,
udp_echo_server.php, socket_http_client.php, port_scanner.php), each started
under build/bin/php-nexus on 127.0.0.1 port 0 and driven by Python's own
socket and ssl modules (independent peers). TLS certificates (a CA and a
"localhost" certificate signed by it, one with an encrypted key) are made at
test time with `openssl req`/`openssl x509`; `openssl s_client` is a second
TLS peer. Every wait is bounded; nothing sleeps to wait for something.

Usage: test_socket_examples.py PATH/TO/php-nexus [unittest arguments, e.g. SocketEchoServer]
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from php_apps import BOUND, EXAMPLES, PhpApp, run  # noqa: E402

LAUNCHER = None
ADDRESS_LINE = re.compile(r"(?:tcp|tls|udp)://[^\s]+:(\d+)")
OPENSSL = shutil.which("openssl")


def example(name, *args, env=None):
    """An example on 127.0.0.1 port 0 (SOCKET_HOST, SOCKET_PORT); `port` is the one it printed."""
    env = dict({"SOCKET_HOST": "127.0.0.1", "SOCKET_PORT": "0"}, **(env or {}))
    app = PhpApp([LAUNCHER, EXAMPLES / name, *args], env=env, announce=False)
    try:
        app.port = int(app.wait_for(ADDRESS_LINE).group(1))
    except BaseException:
        app.close()
        raise
    return app


def connect(port, timeout=BOUND):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AssertionError("the connection ended after %d of %d bytes: %r" % (len(data), size, data[:80]))
        data += chunk
    return data


def recv_until_closed(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def recv_line(sock, buffered):
    """One line (with its "\\n") from `sock`; `buffered` is a bytearray kept between calls."""
    while b"\n" not in buffered:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError("the connection ended before a whole line: %r" % bytes(buffered))
        buffered.extend(chunk)
    end = buffered.index(b"\n") + 1
    line = bytes(buffered[:end])
    del buffered[:end]
    return line.decode()


class Certificates:
    """A CA and a certificate for localhost/127.0.0.1 signed by it (also with an encrypted key)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="nexus-php-tls-"))
        d = self.dir
        self.ca = d / "ca.pem"
        self.cert = d / "server.pem"
        self.key = d / "server.key"
        self.encrypted_key = d / "server-encrypted.key"
        self.passphrase = "s3cret phrase"

        def openssl(*args):
            subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True, timeout=BOUND)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "ca.key", "-out", self.ca,
                "-days", "2", "-subj", "/CN=nexus-socket test CA")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", d / "server.csr",
                "-subj", "/CN=localhost")
        (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        openssl("x509", "-req", "-in", d / "server.csr", "-CA", self.ca, "-CAkey", d / "ca.key",
                "-CAcreateserial", "-out", self.cert, "-days", "2", "-extfile", d / "ext.cnf")
        openssl("pkey", "-in", self.key, "-out", self.encrypted_key, "-aes256",
                "-passout", "pass:" + self.passphrase)

    def client_context(self):
        context = ssl.create_default_context(cafile=str(self.ca))
        return context

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


CERTS = None


def setUpModule():
    global CERTS
    if OPENSSL:
        CERTS = Certificates()


def tearDownModule():
    if CERTS:
        CERTS.close()


def tls_connect(port):
    raw = connect(port)
    try:
        return CERTS.client_context().wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def needs_openssl(test):
    return unittest.skipUnless(OPENSSL, "no openssl command")(test)


class SocketEchoServer(unittest.TestCase):
    """examples/php/socket_echo_server.php: the seed's echo server (feof/fread/fwrite/fclose on $client)."""

    def test_echoes_every_read_to_clients_one_after_another(self):
        with example("socket_echo_server.php") as app:
            self.assertIn("Echo server listening on port %d" % app.port, app.stdout)
            for round_ in range(2):
                with connect(app.port) as a:
                    a.sendall(b"hello")
                    self.assertEqual(recv_exactly(a, 11), b"Echo: hello")
                    # 1500 bytes come back as fread(1024) pieces, each prefixed, none stuck.
                    payload = bytes(range(256)) * 6
                    a.sendall(payload[:1500])
                    got = b""
                    while got.replace(b"Echo: ", b"") != payload[:1500]:
                        chunk = a.recv(65536)
                        self.assertTrue(chunk, "closed early after %r" % got[:60])
                        got += chunk
                    self.assertTrue(got.startswith(b"Echo: "))
                    peer = "127.0.0.1:%d" % a.getsockname()[1]
                app.wait_for("Client %s disconnected" % peer)
                self.assertIn("Connection from %s\n" % peer, app.stdout)

    def test_a_client_waits_while_another_is_served_and_sigterm_stops(self):
        with example("socket_echo_server.php") as app:
            with connect(app.port) as a, connect(app.port) as b:
                b.sendall(b"second")  # waits in the backlog until a is done
                a.sendall(b"first")
                self.assertEqual(recv_exactly(a, 11), b"Echo: first")
                a.close()
                self.assertEqual(recv_exactly(b, 12), b"Echo: second")
            app.send_signal(signal.SIGTERM)
            self.assertEqual(app.wait(), 0, app.stderr)
            self.assertTrue(app.stdout.endswith("Echo server stopped\n"), app.stdout)
            self.assertEqual(app.stderr, "")

    def test_a_port_in_use_is_an_error_naming_it(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            status, out, err = run([LAUNCHER, EXAMPLES / "socket_echo_server.php", "127.0.0.1", str(port)])
        self.assertNotEqual(status, 0)
        self.assertIn("127.0.0.1:%d" % port, out + err)
        self.assertIn("SocketException", out + err)


@needs_openssl
class TlsEchoServer(unittest.TestCase):
    """socket_echo_server.php with SOCKET_TLS_CERT/KEY: the same feof/fread/fwrite/fclose over TLS."""

    def env(self, encrypted=False):
        env = {"SOCKET_TLS_CERT": str(CERTS.cert), "SOCKET_TLS_KEY": str(CERTS.key)}
        if encrypted:
            env.update(SOCKET_TLS_KEY=str(CERTS.encrypted_key), SOCKET_TLS_PASSPHRASE=CERTS.passphrase)
        return env

    def test_python_ssl_client_gets_its_data_back(self):
        with example("socket_echo_server.php", env=self.env()) as app:
            self.assertRegex(app.stdout, r"tls://127\.0\.0\.1:%d" % app.port)
            with tls_connect(app.port) as s:
                self.assertEqual(s.version() in ("TLSv1.2", "TLSv1.3"), True, s.version())
                s.sendall(b"over tls")
                self.assertEqual(recv_exactly(s, 14), b"Echo: over tls")
                big = os.urandom(40000)  # more than one TLS record
                s.sendall(big)
                got = b""
                while got.replace(b"Echo: ", b"") != big:
                    chunk = s.recv(65536)
                    self.assertTrue(chunk, "closed early")
                    got += chunk
                port = s.getsockname()[1]
            app.wait_for("Client 127.0.0.1:%d disconnected" % port)

    def test_an_encrypted_key_with_its_passphrase(self):
        with example("socket_echo_server.php", env=self.env(encrypted=True)) as app:
            with tls_connect(app.port) as s:
                s.sendall(b"locked key")
                self.assertEqual(recv_exactly(s, 16), b"Echo: locked key")

    def test_a_client_that_fails_the_handshake_does_not_stop_the_server(self):
        with example("socket_echo_server.php", env=self.env()) as app:
            with connect(app.port) as plain:
                plain.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not TLS
                try:
                    self.assertNotIn(b"Echo", plain.recv(4096))
                except ConnectionResetError:
                    pass
            with tls_connect(app.port) as s:
                s.sendall(b"still there")
                self.assertEqual(recv_exactly(s, 17), b"Echo: still there")


class SocketAcceptServer(unittest.TestCase):
    """examples/php/socket_accept_server.php: listen() without a handler, accept($timeout)."""

    def test_accept_with_timeout_then_answer(self):
        with example("socket_accept_server.php", "127.0.0.1", "0", "0.2") as app:
            app.wait_for("No connection within 0.2 s")  # accept() returned null at its timeout
            for text in (b"one", b"two"):
                with connect(app.port) as a:
                    a.sendall(text)
                    self.assertEqual(recv_until_closed(a), b"Echo: " + text)
                    app.wait_for("Accepted 127.0.0.1:%d" % a.getsockname()[1])
            app.send_signal(signal.SIGINT)
            self.assertEqual(app.wait(), 0, app.stderr)
            self.assertTrue(app.stdout.endswith("Stopped\n"), app.stdout)


class SocketClientManagement(unittest.TestCase):
    """examples/php/socket_client_management.php: addClient(), broadcast(), removeClient()."""

    def test_added_clients_hear_broadcasts_until_removed(self):
        with example("socket_client_management.php") as app:
            with connect(app.port) as a:
                abuf = bytearray()
                a_peer = "127.0.0.1:%d" % a.getsockname()[1]
                self.assertEqual(recv_line(a, abuf), "New client connected: %s\n" % a_peer)
                a.sendall(b"clients\nstay\n")
                self.assertEqual(recv_line(a, abuf), "clients: 1\n")
                app.wait_for("%s stays" % a_peer)
                with connect(app.port) as b:
                    bbuf = bytearray()
                    b_peer = "127.0.0.1:%d" % b.getsockname()[1]
                    joined = "New client connected: %s\n" % b_peer
                    self.assertEqual(recv_line(a, abuf), joined)
                    self.assertEqual(recv_line(b, bbuf), joined)
                    b.sendall(b"clients\nsay hi all\nquit\n")
                    self.assertEqual(recv_line(b, bbuf), "clients: 2\n")
                    said = "[%s] hi all\n" % b_peer
                    self.assertEqual(recv_line(a, abuf), said)
                    self.assertEqual(recv_line(b, bbuf), said)
                    self.assertEqual(b.recv(100), b"")  # b was removed and closed
                self.assertEqual(recv_line(a, abuf), "Client left: %s\n" % b_peer)
                app.wait_for("%s left" % b_peer)
                # A third client: only a (still added) and itself hear about it.
                with connect(app.port) as c:
                    cbuf = bytearray()
                    c_peer = "127.0.0.1:%d" % c.getsockname()[1]
                    self.assertEqual(recv_line(a, abuf), "New client connected: %s\n" % c_peer)
                    self.assertEqual(recv_line(c, cbuf), "New client connected: %s\n" % c_peer)
                    c.sendall(b"clients\n")
                    self.assertEqual(recv_line(c, cbuf), "clients: 2\n")


@needs_openssl
class SecureSocketServer(unittest.TestCase):
    """examples/php/secure_socket_server.php: the seed's TLS server with a passphrase-protected key."""

    def test_secure_response_and_a_refused_certificate(self):
        env = {"SOCKET_TLS_CERT": str(CERTS.cert), "SOCKET_TLS_KEY": str(CERTS.encrypted_key),
               "SOCKET_TLS_PASSPHRASE": CERTS.passphrase}
        with example("secure_socket_server.php", env=env) as app:
            with tls_connect(app.port) as s:
                s.sendall(b"secret")
                self.assertEqual(recv_until_closed(s), b"Secure response: secret")
            done = subprocess.run(
                [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % app.port, "-CAfile", str(CERTS.ca),
                 "-verify_return_error", "-servername", "localhost", "-quiet"],
                input=b"from s_client\n", capture_output=True, timeout=BOUND)
            self.assertEqual(done.stdout, b"Secure response: from s_client\n", done.stderr)
            # A client that does not trust the certificate aborts the handshake; the server goes on.
            with connect(app.port) as raw:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
            app.wait_for("Client error: ")
            with tls_connect(app.port) as s:
                s.sendall(b"again")
                self.assertEqual(recv_until_closed(s), b"Secure response: again")

    def test_a_wrong_passphrase_fails_at_start(self):
        env = {"SOCKET_TLS_CERT": str(CERTS.cert), "SOCKET_TLS_KEY": str(CERTS.encrypted_key),
               "SOCKET_TLS_PASSPHRASE": "wrong"}
        status, out, err = run([LAUNCHER, EXAMPLES / "secure_socket_server.php", "127.0.0.1", "0"], env=env)
        self.assertNotEqual(status, 0)
        self.assertIn("Nexus\\Socket\\", out + err)


class UdpEchoServer(unittest.TestCase):
    """examples/php/udp_echo_server.php: datagrams answered to their sender."""

    def test_each_datagram_goes_back_to_its_sender(self):
        with example("udp_echo_server.php") as app:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                for s in (a, b):
                    s.settimeout(BOUND)
                    s.bind(("127.0.0.1", 0))
                a.sendto(b"from a", ("127.0.0.1", app.port))
                self.assertEqual(a.recvfrom(100), (b"Echo: from a", ("127.0.0.1", app.port)))
                b.sendto(b"\x00\xffbinary", ("127.0.0.1", app.port))
                self.assertEqual(b.recv(100), b"Echo: \x00\xffbinary")
                a.sendto(b"stop", ("127.0.0.1", app.port))
                self.assertEqual(a.recv(100), b"Echo: stop")
                a_port = a.getsockname()[1]
            self.assertEqual(app.wait(), 0, app.stderr)
            self.assertIn("Datagram from 127.0.0.1:%d: 6 bytes\n" % a_port, app.stdout)
            self.assertTrue(app.stdout.endswith("UDP echo server stopped\n"), app.stdout)


class SocketHttpClient(unittest.TestCase):
    """examples/php/socket_http_client.php against `python3 -m http.server`."""

    def test_get_returns_the_whole_response(self):
        with tempfile.TemporaryDirectory(prefix="nexus-php-http-") as root:
            body = "hello over a socket\n" * 500
            Path(root, "page.txt").write_text(body)
            server = PhpApp([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                             "--directory", root], announce=False)
            with server:
                port = int(server.wait_for(re.compile(r"port (\d+)")).group(1))
                status, out, err = run([LAUNCHER, EXAMPLES / "socket_http_client.php",
                                        "http://127.0.0.1:%d/page.txt" % port])
                self.assertEqual((status, err), (0, ""))
                head, _, got = out.partition("\r\n\r\n")
                self.assertRegex(head, r"\AHTTP/1\.[01] 200 OK\r\n")
                self.assertIn("Content-Length: %d" % len(body), head)
                self.assertEqual(got, body)

                status, out, err = run([LAUNCHER, EXAMPLES / "socket_http_client.php",
                                        "http://127.0.0.1:%d/missing" % port])
                self.assertEqual(status, 0)
                self.assertRegex(out, r"\AHTTP/1\.[01] 404 ")

    @needs_openssl
    def test_https_over_socket_ssl(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(CERTS.cert), str(CERTS.key))
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            listener.settimeout(BOUND)
            port = listener.getsockname()[1]
            requests = []

            def serve():
                conn, _ = listener.accept()
                with context.wrap_socket(conn, server_side=True) as s:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += s.recv(4096)
                    requests.append(request)
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure")

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            status, out, err = run([LAUNCHER, EXAMPLES / "socket_http_client.php",
                                    "https://localhost:%d/x?y=1" % port],
                                   env={"SOCKET_TLS_CAFILE": str(CERTS.ca)})
            thread.join(BOUND)
            self.assertEqual((status, err), (0, ""))
            self.assertTrue(out.endswith("\r\n\r\nsecure"), out)
            self.assertTrue(requests[0].startswith(b"GET /x?y=1 HTTP/1.1\r\nHost: localhost\r\n"), requests)

    def test_a_refused_connection_says_where(self):
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        status, out, err = run([LAUNCHER, EXAMPLES / "socket_http_client.php", "http://127.0.0.1:%d/" % port])
        self.assertEqual((status, out), (1, ""))
        self.assertIn("refused", err)
        self.assertIn("127.0.0.1:%d" % port, err)


class PortScanner(unittest.TestCase):
    """examples/php/port_scanner.php over local ports: listening ones are open, the others not."""

    def test_reports_exactly_the_listening_ports(self):
        listeners, closed = [], []
        try:
            for _ in range(2):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen()
                listeners.append(s)
            for _ in range(2):  # bound but not listening: connections are refused
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                closed.append(s)
            open_ports = [s.getsockname()[1] for s in listeners]
            closed_ports = [s.getsockname()[1] for s in closed]
            ports = [closed_ports[0], open_ports[0], closed_ports[1], open_ports[1]]
            status, out, err = run([LAUNCHER, EXAMPLES / "port_scanner.php", "127.0.0.1",
                                    ",".join(map(str, ports)), "2"])
        finally:
            for s in listeners + closed:
                s.close()
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, "Array\n(\n    [0] => %d\n    [1] => %d\n)\n" % tuple(open_ports))


if __name__ == "__main__":
    LAUNCHER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
