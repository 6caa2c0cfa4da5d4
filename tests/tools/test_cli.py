"""The nexus-socket command line: every subcommand takes --host, --port and
--help; bad arguments get a usage message and exit status 2.

Usage: test_cli.py PATH/TO/nexus-socket
"""
import subprocess
import sys
import unittest

BINARY = None


def run(*args, timeout=20):
    return subprocess.run([BINARY, *args], capture_output=True, timeout=timeout)


class CommandLine(unittest.TestCase):
    def test_no_command_is_a_usage_error(self):
        result = run()
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"usage: nexus-socket COMMAND", result.stderr)

    def test_unknown_command(self):
        result = run("frobnicate")
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"unknown command", result.stderr)

    def test_every_subcommand_has_help_with_host_and_port(self):
        for command in ("serve", "echo", "connect", "bench"):
            with self.subTest(command=command):
                result = run(command, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn(b"--host", result.stdout)
                self.assertIn(b"--port", result.stdout)

    def test_bad_arguments_exit_2_with_a_message(self):
        cases = [
            ("serve", "--bogus"),
            ("serve", "--port", "70000"),
            ("serve", "--port"),
            ("echo", "--threads", "0"),
            ("echo", "--ping-interval", "soon"),
            ("echo", "--log-level", "loud"),
            ("echo", "extra-argument"),
            ("connect",),
            ("connect", "http://example.com/"),
            ("connect", "--deflate=yes", "ws://127.0.0.1:1/"),
        ]
        for args in cases:
            with self.subTest(args=args):
                result = run(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(b"nexus-socket", result.stderr)

    def test_tls_options(self):
        result = run("echo", "--port", "0", "--tls-key", "/tmp/key.pem")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(b"--tls-key needs --tls-cert", result.stderr)
        # A certificate that cannot be read stops the server before it listens.
        result = run("echo", "--host", "127.0.0.1", "--port", "0", "--tls-cert", "/nonexistent/cert.pem")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(b"/nonexistent/cert.pem", result.stderr)
        self.assertIn(b"No such file", result.stderr)
        result = subprocess.run([BINARY, "echo", "--port", "0", "--env-file", "/nonexistent"],
                                capture_output=True, timeout=20,
                                env={"WEBSOCKET_TLS_KEY": "k.pem", "PATH": "/usr/bin:/bin"})
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"WEBSOCKET_TLS_KEY is set but WEBSOCKET_TLS_CERT is not", result.stderr)

    def test_scaling_options(self):
        result = run("serve", "--port", "0", "--redis", "http://127.0.0.1:6379")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(b"--redis: expected redis://", result.stderr)
        result = run("echo", "--port", "0", "--scaling-prefix", "chat")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(b"--scaling-prefix needs --redis", result.stderr)
        # A password in a bad URL is never echoed back.
        result = run("serve", "--port", "0", "--redis", "redis://:hunter2@127.0.0.1:0")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn(b"hunter2", result.stderr)
        result = subprocess.run([BINARY, "echo", "--port", "0", "--env-file", "/nonexistent"],
                                capture_output=True, timeout=20,
                                env={"WEBSOCKET_SCALING": "zookeeper", "PATH": "/usr/bin:/bin"})
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"WEBSOCKET_SCALING", result.stderr)

    def test_bad_environment_names_the_variable(self):
        result = subprocess.run([BINARY, "echo", "--port", "0", "--env-file", "/nonexistent"],
                                capture_output=True, timeout=20,
                                env={"WEBSOCKET_MAX_CLIENTS": "lots", "PATH": "/usr/bin:/bin"})
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"WEBSOCKET_MAX_CLIENTS", result.stderr)

    def test_port_in_use_is_reported(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            result = run("echo", "--host", "127.0.0.1", "--port", str(port))
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"cannot listen", result.stderr)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
