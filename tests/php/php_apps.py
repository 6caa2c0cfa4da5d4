"""Starts PHP applications (examples/php/*, the `nexus` command) under
build/bin/php-nexus for the tests, and stops them.

Each application is started on 127.0.0.1 port 0 (WEBSOCKET_HOST and
WEBSOCKET_PORT) in an empty working directory (no stray .env), and prints a
line with ws://HOST:PORT once it has bound; that gives the port. Its output is
read continuously on threads (an application that prints every chat message
would otherwise block on a full pipe), and every wait has a bound: nothing
sleeps.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "php"
PORT_LINE = re.compile(r"(wss?)://[^:\s]+:(\d+)")
BOUND = 15.0


def clean_environment(extra=None):
    """The test's environment without settings of ours inherited from outside."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WEBSOCKET_", "SOCKET_", "NEXUS_SOCKET_"))}
    env.update({"WEBSOCKET_HOST": "127.0.0.1", "WEBSOCKET_PORT": "0"})
    env.update(extra or {})
    return env


class PhpApp:
    """One PHP process; `port` and `url` once it has announced them."""

    def __init__(self, command, env=None, cwd=None, announce=True, timeout=BOUND):
        self._tmp = None
        if cwd is None:
            self._tmp = tempfile.mkdtemp(prefix="nexus-php-test-")
            cwd = self._tmp
        self.command = [str(c) for c in command]
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=cwd, env=clean_environment(env))
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._changed = threading.Condition()
        self._open_streams = 2
        for stream, sink in ((self.proc.stdout, self._stdout), (self.proc.stderr, self._stderr)):
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True).start()
        self.port = None
        self.url = None
        if announce:
            match = self.wait_for(PORT_LINE, timeout)
            self.port = int(match.group(2))
            # wss://: the name the test certificates carry.
            host = "localhost" if match.group(1) == "wss" else "127.0.0.1"
            self.url = "%s://%s:%d/" % (match.group(1), host, self.port)

    def _drain(self, stream, sink):
        while True:
            chunk = stream.read1(65536)
            with self._changed:
                if not chunk:
                    self._open_streams -= 1
                    self._changed.notify_all()
                    return
                sink.extend(chunk)
                self._changed.notify_all()

    @property
    def stdout(self):
        with self._changed:
            return self._stdout.decode("utf-8", "replace")

    @property
    def stderr(self):
        with self._changed:
            return self._stderr.decode("utf-8", "replace")

    def wait_for(self, pattern, timeout=BOUND):
        """The first match of `pattern` (regex or text) in the standard output, within `timeout`."""
        regex = re.compile(re.escape(pattern) if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                match = regex.search(self._stdout.decode("utf-8", "replace"))
                if match:
                    return match
                left = deadline - time.monotonic()
                if left <= 0 or self._open_streams == 0:
                    raise AssertionError("%s: no %r in the output\nstdout: %s\nstderr: %s" % (
                        " ".join(self.command), regex.pattern, self._stdout.decode(errors="replace"),
                        self._stderr.decode(errors="replace")))
                self._changed.wait(left)

    def wait_output_closed(self, timeout=BOUND):
        """Waits until the process has closed its output (it has exited), within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._open_streams > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s did not finish its output" % " ".join(self.command))
                self._changed.wait(left)

    def send_signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)

    def wait(self, timeout=BOUND):
        """The exit status, within `timeout`; and all of the output read."""
        status = self.proc.wait(timeout)
        self.wait_output_closed(timeout)
        return status

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(command, env=None, cwd=None, timeout=BOUND):
    """Runs a short command; (status, stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="nexus-php-test-") as tmp:
        done = subprocess.run([str(c) for c in command], capture_output=True, cwd=cwd or tmp,
                              env=clean_environment(env), timeout=timeout)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
