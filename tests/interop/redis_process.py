"""A redis-server of the test's own (Debian's redis-server) on a free loopback
port, in memory only; restarted on the same port; every wait bounded.
"""
import os
import select
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProcess:
    def __init__(self, start=True):
        self.port = free_port()
        self.proc = None
        if start:
            self.start()

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self, timeout=20.0):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = b""
        deadline = time.monotonic() + timeout
        while b"Ready to accept connections" not in output:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError("redis-server did not start: %r" % output)
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                output += os.read(self.proc.stdout.fileno(), 4096)

    def kill(self):
        """SIGKILL: everything Redis held is gone, as after a crash."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def restart(self):
        self.kill()
        self.start()

    def cli(self, *args):
        """A command through redis-cli; its raw output lines."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args],
                             check=True, capture_output=True, timeout=10).stdout
        return out.decode().split("\n")[:-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
