"""The C++ examples, driven by Python's websockets as an independent client.

Usage: test_examples.py PATH/TO/example-broadcast-server
"""
import asyncio
import os
import re
import select
import subprocess
import sys
import time
import unittest

import websockets

BINARY = None


def start(binary, timeout=10.0):
    proc = subprocess.Popen([binary, "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            raise RuntimeError("no port printed: %r" % out)
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("exited: %r" % out)
            out += chunk
            match = re.search(rb"ws://[^:]+:(\d+)", out)
            if match:
                return proc, "ws://127.0.0.1:%d/" % int(match.group(1))


class BroadcastServerExample(unittest.TestCase):
    def test_counts_and_broadcasts_to_everyone_but_the_sender(self):
        proc, url = start(BINARY)
        try:
            async def go():
                a = await websockets.connect(url)
                self.assertEqual(await a.recv(), "Total clients: 1")
                b = await websockets.connect(url)
                self.assertEqual(await a.recv(), "Total clients: 2")
                self.assertEqual(await b.recv(), "Total clients: 2")
                await a.send("hi from a")
                self.assertEqual(await b.recv(), "hi from a")
                await b.close()
                self.assertEqual(await a.recv(), "Client left. Total clients: 1")
                await a.close()

            asyncio.run(asyncio.wait_for(go(), 20))
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
