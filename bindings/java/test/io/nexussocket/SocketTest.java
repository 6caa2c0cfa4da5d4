package io.nexussocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SocketTest {
    static final int WAIT = (int) TestSupport.WAIT_MS;

    @Test
    void tcpRoundTripLinesAndEndOfStream() {
        try (SocketServer server = new SocketServer(Socket.Type.TCP)) {
            server.listen("127.0.0.1", 0);
            assertNull(server.accept(0)); // nobody yet
            try (Socket client = Socket.connect(Socket.Type.TCP, "127.0.0.1", server.port(), Map.of(), WAIT);
                    Socket peer = server.accept(WAIT)) {
                assertNotNull(peer);
                assertTrue(client.isConnected());
                assertEquals(client.localAddress(), server.lastPeer());
                assertEquals(client.localAddress(), peer.peerAddress());

                byte[] bytes = {0, 1, 2, 0, (byte) 255};
                assertEquals(5, client.send(bytes, WAIT));
                assertArrayEquals(bytes, peer.receive(5, WAIT));

                peer.send("first line\nsecond", WAIT);
                assertEquals("first line\n", client.readLine(100, WAIT));
                TimeoutException t = assertThrows(TimeoutException.class, () -> client.readLine(100, 100));
                assertEquals(-8, t.status());
                peer.close();
                assertEquals("second", client.readLine(100, WAIT));
                assertNull(client.readLine(100, WAIT));
                assertEquals(0, client.receive(10, WAIT).length);
            }
        }
    }

    @Test
    void udpDatagrams() {
        try (Socket a = new Socket(Socket.Type.UDP); Socket b = new Socket(Socket.Type.UDP)) {
            a.bind("127.0.0.1", 0);
            b.bind("127.0.0.1", 0);
            String aAddr = a.localAddress();
            int aPort = Integer.parseInt(aAddr.substring(aAddr.lastIndexOf(':') + 1));
            assertEquals(3, b.sendTo("127.0.0.1", aPort, new byte[] {9, 0, 9}, WAIT));
            Socket.Datagram d = a.receiveFrom(100, WAIT);
            assertArrayEquals(new byte[] {9, 0, 9}, d.data());
            assertEquals(b.localAddress(), d.sender());
        }
    }

    @Test
    void errors() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertEquals(-12, assertThrows(ConnectionException.class,
                () -> Socket.connect(Socket.Type.TCP, "127.0.0.1", port, Map.of(), WAIT)).status());
        try (Socket s = new Socket(Socket.Type.TCP)) {
            assertThrows(InvalidArgumentException.class, () -> s.setOption("no_such_option", "1"));
            assertThrows(NexusException.class, () -> s.send("x", 0));
        }
        Socket closed = new Socket(Socket.Type.TCP);
        closed.close();
        closed.close();
        assertEquals(-3, assertThrows(NexusException.class, () -> closed.receive(1, 0)).status());
    }
}
