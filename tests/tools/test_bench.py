"""`nexus-socket bench` against `nexus-socket echo`: every mode for about a
second with --json, bad arguments, and a refused port.

Usage: python3 test_bench.py PATH/TO/nexus-socket [unittest options]
Every run has a timeout; nothing sleeps.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from nexus_process import NexusProcess  # noqa: E402

BINARY = None
RUN_TIMEOUT = 60


def bench(*args, timeout=RUN_TIMEOUT):
    return subprocess.run([BINARY, "bench", *args], capture_output=True, timeout=timeout)


class BenchAgainstEcho(unittest.TestCase):
    server_args = ["echo"]

    @classmethod
    def setUpClass(cls):
        cls.server = NexusProcess(BINARY, *cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def run_json(self, mode, *args, server_pid=True):
        extra = ["--server-pid", str(self.server.proc.pid)] if server_pid else []
        result = bench("--port", str(self.server.port), mode, *args, *extra, "--json")
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        report = json.loads(result.stdout)
        for field in ("mode", "parameters", "messages", "seconds", "rate",
                      "per_server_cpu_second", "server_cpu_seconds", "latency_us", "errors"):
            self.assertIn(field, report)
        self.assertEqual(report["mode"], mode)
        self.assertEqual(report["errors"], 0, report)
        self.assertGreater(report["messages"], 0)
        self.assertGreater(report["seconds"], 0)
        self.assertGreater(report["rate"], 0)
        latency = report["latency_us"]
        for field in ("p50", "p99", "p999", "max"):
            self.assertIn(field, latency)
        self.assertLessEqual(latency["p50"], latency["p99"])
        self.assertLessEqual(latency["p99"], latency["p999"])
        self.assertLessEqual(latency["p999"], latency["max"])
        if server_pid:
            self.assertEqual(report["parameters"]["server_pid"], self.server.proc.pid)
            self.assertIsNotNone(report["server_cpu_seconds"])
        return report


class EchoModes(BenchAgainstEcho):
    def test_echo(self):
        report = self.run_json("echo", "--connections", "4", "--size", "32",
                               "--duration", "1", "--warmup", "0.2")
        self.assertEqual(report["parameters"]["connections"], 4)
        self.assertEqual(report["bytes"], report["messages"] * 32)
        # A second of ping-pong keeps the server busy for well over a tick.
        self.assertGreater(report["per_server_cpu_second"], 0)

    def test_echo_binary_without_server_pid(self):
        report = self.run_json("echo", "--connections", "2", "--size", "1000", "--binary",
                               "--duration", "1", "--warmup", "0", server_pid=False)
        self.assertIsNone(report["per_server_cpu_second"])
        self.assertTrue(report["parameters"]["binary"])

    def test_pipelined(self):
        report = self.run_json("pipelined", "--connections", "4", "--in-flight", "8",
                               "--size", "64", "--duration", "1", "--warmup", "0.2")
        self.assertEqual(report["parameters"]["in-flight"], 8)
        self.assertGreater(report["bytes_per_second"], 0)
        self.assertGreater(report["per_server_cpu_second"], 0)

    def test_storm(self):
        report = self.run_json("storm", "--duration", "1", "--concurrency", "4")
        self.assertGreater(report["per_server_cpu_second"], 0)

    def test_idle(self):
        report = self.run_json("idle", "--connections", "200", "--sources", "2")
        self.assertEqual(report["messages"], 200)
        self.assertEqual(report["connections_open"], 200)
        self.assertIn("server_rss_per_connection_bytes", report)
        # Opening 200 connections may cost the server less than a clock
        # tick: the figure is there, possibly null.
        self.assertIn("per_server_cpu_second", report)

    def test_deflate_needs_a_server_that_agrees(self):
        result = bench("--port", str(self.server.port), "echo", "--connections", "2",
                       "--deflate", "--duration", "1", "--warmup", "0", "--json")
        self.assertEqual(result.returncode, 1, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["messages"], 0)
        self.assertIn("permessage-deflate", report["error_kinds"]["handshake"]["first"])

    def test_text_progress_and_summary(self):
        result = bench("--port", str(self.server.port), "echo", "--connections", "2",
                       "--duration", "1.2", "--warmup", "0")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"messages in", result.stdout)
        self.assertIn(b"latency us: p50", result.stdout)
        # Not a terminal: one plain progress line a second, no carriage return.
        self.assertIn(b"[bench echo", result.stderr)
        self.assertNotIn(b"\r", result.stderr)


class BroadcastMode(BenchAgainstEcho):
    server_args = ["echo", "--broadcast"]

    def test_broadcast(self):
        report = self.run_json("broadcast", "--connections", "5", "--size", "16",
                               "--duration", "1", "--warmup", "0.2")
        # Every message goes to all five connections, the sender included.
        self.assertGreaterEqual(report["messages"], 5)
        self.assertGreater(report["messages_sent"], 0)
        self.assertGreater(report["per_server_cpu_second"], 0)


class DeflateModes(BenchAgainstEcho):
    server_args = ["echo", "--deflate"]

    def check_compressed(self, report, size):
        self.assertTrue(report["parameters"]["deflate"])
        # The echoes came compressed (the texts shrink to about a third);
        # what we sent went plain, frame headers and all.
        self.assertLess(report["frame_bytes_received"], report["bytes"] * 0.6, report)
        self.assertGreaterEqual(report["frame_bytes_sent"], report["messages"] * size)

    def test_echo_deflate(self):
        report = self.run_json("echo", "--connections", "3", "--size", "4000", "--deflate",
                               "--duration", "1", "--warmup", "0.2")
        self.check_compressed(report, 4000)

    def test_pipelined_deflate(self):
        report = self.run_json("pipelined", "--connections", "2", "--in-flight", "4",
                               "--size", "300", "--deflate", "--duration", "1",
                               "--warmup", "0.2")
        self.check_compressed(report, 300)

    def test_without_deflate_nothing_is_compressed(self):
        report = self.run_json("echo", "--connections", "2", "--size", "4000",
                               "--duration", "1", "--warmup", "0.2")
        self.assertFalse(report["parameters"]["deflate"])
        self.assertGreaterEqual(report["frame_bytes_received"], report["bytes"])


class BadArguments(unittest.TestCase):
    def assert_usage(self, *args):
        result = bench(*args, timeout=10)
        self.assertEqual(result.returncode, 2, (args, result.stdout, result.stderr))
        self.assertIn(b"nexus-socket bench", result.stderr)
        self.assertIn(b"--help", result.stderr)
        self.assertEqual(result.stdout, b"")

    def test_bad_arguments(self):
        cases = [
            [],                                          # no mode
            ["flood"],                                   # unknown mode
            ["echo", "storm"],                           # two modes
            ["echo", "--connections", "0"],
            ["echo", "--connections", "ten"],
            ["echo", "--size", "-1"],
            ["echo", "--size", "99999999999"],
            ["echo", "--duration", "0"],
            ["echo", "--duration", "soon"],
            ["echo", "--warmup", "-1"],
            ["echo", "--port", "0"],
            ["echo", "--port", "70000"],
            ["echo", "--host", "192.0.2.1"],             # not loopback
            ["echo", "--host", "example.com"],
            ["echo", "--path", "nopath"],
            ["echo", "--in-flight", "4"],                # pipelined only
            ["echo", "--bogus"],
            ["echo", "--json=yes"],                      # a flag with a value
            ["echo", "--size"],                          # missing value
            ["storm", "--size", "10"],
            ["storm", "--concurrency", "0"],
            ["idle", "--sources", "255"],
            ["idle", "--duration", "1"],
            ["broadcast", "--size", "4"],                # below the sequence number
            ["broadcast", "--binary"],
            ["broadcast", "--deflate"],
            ["storm", "--deflate"],
            ["echo", "--server-pid", "0"],
            ["echo", "--server-pid", str(2**22)],        # above pid_max
        ]
        for args in cases:
            with self.subTest(args=args):
                self.assert_usage(*args)

    def test_help(self):
        result = bench("--help", timeout=10)
        self.assertEqual(result.returncode, 0)
        for mode in (b"echo", b"pipelined", b"storm", b"idle", b"broadcast"):
            self.assertIn(mode, result.stdout)

    def test_top_level_usage_lists_bench(self):
        result = subprocess.run([BINARY, "--help"], capture_output=True, timeout=10)
        self.assertIn(b"bench", result.stdout)


def unused_port():
    """A port nothing listens on: bound, then released without listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Refuser:
    """A TCP server that answers every request with 403 and closes: the
    WebSocket handshake is refused."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


class RefusedPort(unittest.TestCase):
    def run_refused(self, mode, *args):
        result = bench("--port", str(unused_port()), mode, *args, "--json")
        # Errors are reported, not crashed on: exit 1 with the JSON figures.
        self.assertEqual(result.returncode, 1, result.stderr)
        report = json.loads(result.stdout)
        self.assertGreater(report["errors"], 0)
        self.assertIn("connect", report["error_kinds"])
        self.assertEqual(report["messages"], 0)
        self.assertIsNone(report["latency_us"])
        return report

    def test_echo_refused(self):
        report = self.run_refused("echo", "--connections", "3", "--duration", "1")
        self.assertEqual(report["errors"], 3)

    def test_storm_refused(self):
        self.run_refused("storm", "--duration", "0.5")

    def test_handshake_refused(self):
        refuser = Refuser()
        try:
            result = bench("--port", str(refuser.port), "echo", "--connections", "3",
                           "--duration", "1", "--json")
        finally:
            refuser.close()
        self.assertEqual(result.returncode, 1, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["errors"], 3)
        self.assertEqual(report["error_kinds"]["handshake"]["count"], 3)
        self.assertIn("403", report["error_kinds"]["handshake"]["first"])

    def test_idle_refused(self):
        report = self.run_refused("idle", "--connections", "5")
        self.assertEqual(report["connections_open"], 0)


class TlsModes(unittest.TestCase):
    """bench --tls against `echo --tls-cert` (a self-signed certificate made
    with the openssl command: the load generator does not verify)."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.dir = tempfile.TemporaryDirectory(prefix="nexus-bench-tls-")
        cls.cert = os.path.join(cls.dir.name, "cert.pem")
        cls.key = os.path.join(cls.dir.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", cls.key, "-out", cls.cert,
                        "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
        cls.server = NexusProcess(BINARY, "echo", "--tls-cert", cls.cert, "--tls-key", cls.key)

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.dir.cleanup()

    def run_json(self, *args):
        result = bench("--port", str(self.server.port), "--tls", *args,
                       "--server-pid", str(self.server.proc.pid), "--json")
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        report = json.loads(result.stdout)
        self.assertTrue(report["parameters"]["tls"])
        self.assertEqual(report["errors"], 0, report)
        self.assertGreater(report["messages"], 0)
        return report

    def test_echo_16k_over_tls(self):
        report = self.run_json("echo", "--connections", "4", "--size", "16384",
                               "--duration", "1", "--warmup", "0.2")
        self.assertEqual(report["bytes"], report["messages"] * 16384)

    def test_storm_makes_tls_handshakes(self):
        self.run_json("storm", "--duration", "1", "--concurrency", "4")

    def test_tls_against_a_plain_server_fails_the_handshakes(self):
        with NexusProcess(BINARY, "echo") as plain:
            result = bench("--port", str(plain.port), "--tls", "echo", "--connections", "2",
                           "--duration", "0.5", "--warmup", "0", "--json")
        self.assertEqual(result.returncode, 1)
        report = json.loads(result.stdout)
        self.assertGreater(report["errors"], 0)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_bench.py PATH/TO/nexus-socket [unittest options]")
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
