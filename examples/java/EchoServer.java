// A WebSocket echo server: every message goes back to its sender as it came, text as text and
// binary as binary. Prints the address once bound; stops gracefully on SIGINT or SIGTERM.
//
//   java -Djava.library.path=build/lib -cp build/java/nexus-socket.jar:build/java/examples \
//        EchoServer --host 127.0.0.1 --port 8080

import io.nexussocket.NexusException;
import io.nexussocket.WebSocket;
import java.util.concurrent.CountDownLatch;

public final class EchoServer {
    private EchoServer() {}

    public static void main(String[] args) throws InterruptedException {
        String host = "0.0.0.0";
        int port = 8080;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: EchoServer [--host HOST] [--port PORT]");
                    System.exit(2);
                }
            }
        }
        CountDownLatch done = new CountDownLatch(1);
        try (WebSocket server = new WebSocket(host, port)) {
            server.on("message", (id, msg, client) -> {
                try {
                    client.send(msg);
                } catch (NexusException e) {
                    // a client that is closing or over its send queue is on its way out
                }
            });
            server.start();
            // SIGINT/SIGTERM: stop, and let main close the server before the JVM exits.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.stop();
                try {
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            System.out.println("Echo server running on ws://" + host + ":" + server.port());
            System.out.flush();
            server.listen();
        } finally {
            done.countDown();
        }
    }
}
