"""Three `nexus-socket serve` processes sharing one redis-server (Debian's),
with Python's `websockets` (Debian python3-websockets) as the chat clients,
spread over them: the seed's chat works across servers, each sender's order
holds, a Redis restart and a SIGKILLed server are survived.

Usage: test_scaling.py PATH/TO/nexus-socket
"""
import asyncio
import random
import re
import sys
import time
import unittest

import websockets

from nexus_process import NexusProcess
from redis_process import RedisProcess

BINARY = None
LEASE = 1.5  # seconds: a killed server leaves presence within it (and a heartbeat)


async def receive(ws, timeout=10.0):
    return await asyncio.wait_for(ws.recv(), timeout)


async def receive_until(ws, predicate, timeout=10.0):
    """The first message that satisfies `predicate`, skipping others."""
    deadline = time.monotonic() + timeout
    while True:
        message = await receive(ws, max(0.01, deadline - time.monotonic()))
        if predicate(message):
            return message


def eventually(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class ThreeServers(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.redis = RedisProcess()
        self.prefix = "nxinterop%d" % random.randrange(10**9)
        self.servers = []
        self.nodes = []
        for _ in range(3):
            server = NexusProcess(BINARY, "serve", "--redis", self.redis.url,
                                  "--scaling-prefix", self.prefix,
                                  "--scaling-lease", str(LEASE))
            self.servers.append(server)
            match = server.wait_output(rb"as server (\d+)")
            self.nodes.append(int(match.group(1)))
        self.assertEqual(len(set(self.nodes)), 3, self.nodes)
        self.wait_linked()

    def tearDown(self):
        for server in self.servers:
            server.__exit__()
        self.redis.kill()

    def wait_linked(self, servers=3):
        """Every server registered (presence) and subscribed (pub/sub)."""
        def linked():
            nodes = self.redis.cli("SMEMBERS", self.prefix + ":nodes")
            alive = [n for n in nodes
                     if self.redis.cli("EXISTS", "%s:alive:%s" % (self.prefix, n)) == ["1"]]
            subscribers = self.redis.cli("PUBSUB", "NUMSUB", self.prefix + ":all")
            return len(alive) == servers and subscribers[1:] == [str(servers)]
        self.assertTrue(eventually(linked), "the servers did not all reach Redis")

    async def join(self, index):
        """A chat client of server `index`. (A client may still be told of
        clients that joined just before it: their notice crossed Redis after
        it arrived. Tests skip what they do not look for.)"""
        return await websockets.connect(self.servers[index].url)

    def joined_on(self, index):
        """Matches the notice of a client joining server `index`."""
        def match(message):
            found = re.fullmatch(r"(\d+) joined the chat", message)
            return found is not None and int(found.group(1)) >> 40 == self.nodes[index]
        return match

    async def test_chat_crosses_servers(self):
        c1 = await self.join(0)
        c2 = await self.join(1)
        # Server 2's notice, through Redis; ids carry their server's node id.
        await receive_until(c1, self.joined_on(1))
        c3 = await self.join(2)
        notices = [await receive_until(c, self.joined_on(2)) for c in (c1, c2)]
        self.assertEqual(notices[0], notices[1])
        id3 = int(notices[0].split()[0])

        await c1.send("hello from server 1")
        said = lambda m: m.startswith("[")
        lines = [await receive_until(c, said) for c in (c1, c2, c3)]
        self.assertEqual(len(set(lines)), 1, lines)  # everyone, once, the same
        self.assertRegex(lines[0], r"^\[\d+\] hello from server 1$")
        id1 = int(lines[0][1:lines[0].index("]")])
        self.assertEqual(id1 >> 40, self.nodes[0])

        await c3.close()
        for c in (c1, c2):
            self.assertEqual(await receive(c), "%d left the chat" % id3)
        await c1.close()
        await c2.close()

    async def test_each_senders_order_holds(self):
        c1 = await self.join(0)
        c3 = await self.join(2)
        await receive_until(c1, self.joined_on(2))
        count = 300
        for i in range(count):
            await c1.send("m%d" % i)
        first = await receive_until(c3, lambda m: m.startswith("["))
        self.assertTrue(first.endswith("] m0"), first)
        for i in range(1, count):
            line = await receive(c3)
            self.assertTrue(line.endswith("] m%d" % i), (i, line))
        await c1.close()
        await c3.close()

    async def test_redis_restart_is_survived(self):
        c1 = await self.join(0)
        c2 = await self.join(1)
        await receive_until(c1, self.joined_on(1))
        said = lambda m: m.startswith("[")
        await c1.send("before")
        self.assertTrue((await receive_until(c2, said)).endswith("] before"))
        self.assertTrue((await receive(c1)).endswith("] before"))  # senders hear themselves

        self.redis.kill()
        # The servers go on serving their own clients meanwhile; what was
        # meant for other servers is dropped, not replayed later.
        await c1.send("during")
        self.assertTrue((await receive(c1)).endswith("] during"))
        self.redis.start()
        self.wait_linked()
        await c1.send("after")
        self.assertTrue((await receive(c2)).endswith("] after"))
        # Presence was written again: each server's clients are in Redis.
        self.assertEqual(self.redis.cli("HLEN", "%s:clients:%d" % (self.prefix, self.nodes[0])),
                         ["1"])
        await c1.close()
        await c2.close()

    async def test_a_killed_server_leaves_presence_and_its_clients_move(self):
        c1 = await self.join(0)
        c2 = await self.join(1)
        await receive_until(c1, self.joined_on(1))
        clients2 = "%s:clients:%d" % (self.prefix, self.nodes[1])
        alive2 = "%s:alive:%d" % (self.prefix, self.nodes[1])
        self.assertTrue(eventually(lambda: self.redis.cli("HLEN", clients2) == ["1"]))

        self.servers[1].kill()  # SIGKILL: no goodbye
        with self.assertRaises(websockets.ConnectionClosed):
            await receive_until(c2, lambda m: False)
        # Gone from presence within the lease (its key expires in Redis).
        killed = time.monotonic()
        self.assertTrue(eventually(lambda: self.redis.cli("EXISTS", alive2) == ["0"]
                                   and self.redis.cli("EXISTS", clients2) == ["0"],
                                   timeout=LEASE + 3))
        self.assertLess(time.monotonic() - killed, LEASE + 1)

        # Its client reconnects elsewhere and the chat goes on.
        moved = await self.join(2)
        await receive_until(c1, self.joined_on(2))
        await moved.send("moved over")
        self.assertTrue((await receive_until(c1, lambda m: m.startswith("["))).endswith(
            "] moved over"))
        await c1.close()
        await moved.close()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
