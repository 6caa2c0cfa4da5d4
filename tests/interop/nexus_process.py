"""Starts `nexus-socket` subcommands for interoperability tests and stops them.

The tool is started on port 0 and prints the port it got; every wait has a
bound, nothing sleeps.
"""
import os
import re
import select
import signal
import subprocess
import time

PORT_LINE = re.compile(rb"(wss?)://[^:]+:(\d+)")


class NexusProcess:
    def __init__(self, binary, *args, timeout=10.0):
        self.proc = subprocess.Popen(
            [binary, *args, "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.output = b""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise RuntimeError("nexus-socket printed no port: %r" % self.output)
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("nexus-socket exited: %r %r" % (self.output, self.proc.stderr.read()))
            self.output += chunk
            match = PORT_LINE.search(self.output)
            if match:
                self.port = int(match.group(2))
                self.url = "%s://127.0.0.1:%d/" % (match.group(1).decode(), self.port)
                return

    def wait_output(self, pattern, timeout=10.0):
        """The first match of `pattern` (bytes regex) in what the process
        printed, reading more as needed; RuntimeError after `timeout`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output)
            if match:
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no %r in %r" % (pattern, self.output))
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError("exited before %r: %r" % (pattern, self.output))
                self.output += chunk

    def terminate(self, timeout=15.0):
        """SIGTERM, then the exit status (the graceful stop must end it)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.proc.stdout.close()
        self.proc.stderr.close()
