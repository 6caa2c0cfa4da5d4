// The seed's chat server: every client sees who joins and leaves, and every message as
// "[ID] text".
//
//   java -Djava.library.path=build/lib -cp build/java/nexus-socket.jar:build/java/examples \
//        ChatServer --port 8080

import io.nexussocket.WebSocket;
import java.util.concurrent.CountDownLatch;

public final class ChatServer {
    private ChatServer() {}

    public static void main(String[] args) throws InterruptedException {
        String host = "0.0.0.0";
        int port = 8080;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: ChatServer [--host HOST] [--port PORT]");
                    System.exit(2);
                }
            }
        }
        CountDownLatch done = new CountDownLatch(1);
        try (WebSocket server = new WebSocket(host, port)) {
            // Listeners run one at a time on listen()'s thread; a broadcast while the server
            // stops counts 0 clients and is no error.
            server.on("connect", (id, msg, client) -> {
                System.out.println("[" + id + "] connected");
                server.broadcast(id + " joined the chat", id);
            });
            server.on("message", (id, msg, client) -> {
                System.out.println("[" + id + "] " + msg.text());
                server.broadcast("[" + id + "] " + msg.text());
            });
            server.on("disconnect", (id, msg, client) -> {
                System.out.println("[" + id + "] disconnected");
                server.broadcast(id + " left the chat");
            });
            server.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.stop();
                try {
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            System.out.println("WebSocket chat server running on ws://" + host + ":" + server.port());
            System.out.flush();
            server.listen();
        } finally {
            done.countDown();
        }
    }
}
