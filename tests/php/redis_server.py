"""A redis-server of a test's own (Debian's) on a free loopback port, in
memory only, for the PHP scaling tests (test_scaling.py).

It runs under a small sh that kills it when our pipe to that sh closes: when
stop() closes it, and also when this Python process dies however it dies
(ctest's timeout included), so no redis-server outlives its test. Nothing of
ours is inherited (subprocess closes other descriptors).
"""
import os
import select
import socket
import subprocess
import time
import uuid

READY = b"Ready to accept connections"

WATCHDOG = """
exec 3<&0
redis-server "$@" </dev/null &
pid=$!
{ read -r _ <&3; kill -9 "$pid"; } >/dev/null 2>&1 &
exec 3<&-
wait "$pid"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_prefix():
    """A key prefix no other test shares: servers with it see only each other."""
    return "nxphp%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])


class RedisServer:
    def __init__(self, timeout=20.0):
        why = ""
        for _ in range(3):  # a port free a moment ago may be taken meanwhile
            self.port = free_port()
            self.url = "redis://127.0.0.1:%d/0" % self.port
            why = self._start(timeout)
            if not why:
                return
        raise AssertionError(why)

    def _start(self, timeout):
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", WATCHDOG, "sh", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--loglevel", "notice"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = b""
        deadline = time.monotonic() + timeout
        while READY not in output:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                break
            chunk = os.read(self.proc.stdout.fileno(), 8192)
            if not chunk:
                break  # it exited: the port was taken, or there is no redis-server
            output += chunk
        if READY in output:
            return ""
        self.stop()
        return ("redis-server on port %d did not get ready within %s s (scripts/install-deps "
                "installs it): %s" % (self.port, timeout, output[-800:].decode(errors="replace")))

    def stop(self):
        """Kills it (what it held is gone) and waits for it. Idempotent."""
        if self.proc is None:
            return
        self.proc.stdin.close()  # the watchdog kills redis-server, then sh exits
        try:
            self.proc.wait(20)
        finally:
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
