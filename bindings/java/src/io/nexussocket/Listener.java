package io.nexussocket;

/**
 * A server event handler: {@code server.on("message", (id, msg, client) -> client.send(msg))}.
 * Runs on the thread inside {@link WebSocket#listen()}, with no lock held, so it may call any
 * server or client operation (including {@link WebSocket#stop()}). An exception it throws stops
 * the server and is thrown again from listen().
 */
@FunctionalInterface
public interface Listener {
    /**
     * @param id the client's id (0 for an error of the server itself)
     * @param message the event's payload (see {@link Message})
     * @param client the client, to answer it
     */
    void handle(long id, Message message, Client client);
}
