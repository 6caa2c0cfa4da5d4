package io.nexussocket;

/**
 * One connected client as listeners see it (or a request awaiting its {@link HandshakeHandler}):
 * its id and operations that target it.
 */
public final class Client {
    private final WebSocket server;
    private final long id;

    Client(WebSocket server, long id) {
        this.server = server;
        this.id = id;
    }

    /** The client's id (never reused by the server). */
    public long id() {
        return id;
    }

    /** The server the client belongs to. */
    public WebSocket server() {
        return server;
    }

    /** Sends text. See {@link WebSocket#send(long, String)}. */
    public void send(String text) {
        server.send(id, text);
    }

    /** Sends binary data. See {@link WebSocket#send(long, byte[])}. */
    public void send(byte[] data) {
        server.send(id, data);
    }

    /** Sends a message as it came: text as text, binary as binary (an echo). */
    public void send(Message message) {
        server.send(id, message);
    }

    /** Closes with 1000. See {@link WebSocket#disconnect(long, int, String)}. */
    public void disconnect() {
        server.disconnect(id);
    }

    /** Closes with a code and reason. */
    public void disconnect(int code, String reason) {
        server.disconnect(id, code, reason);
    }

    /** The peer address ("ip:port"). */
    public String peer() {
        return server.peer(id);
    }

    /** The path of the upgrade request. See {@link WebSocket#path(long)}. */
    public String path() {
        return server.path(id);
    }

    /** The query of the upgrade request, without '?'. */
    public String query() {
        return server.query(id);
    }

    /** The Origin of the upgrade request ("" when none). */
    public String origin() {
        return server.origin(id);
    }

    /** A header of the upgrade request, or null. See {@link WebSocket#header(long, String)}. */
    public String header(String name) {
        return server.header(id, name);
    }

    /** The data kept with this client (empty until set). */
    public byte[] userData() {
        return server.userData(id);
    }

    /** Replaces the data kept with this client. See {@link WebSocket#setUserData(long, byte[])}. */
    public void setUserData(byte[] data) {
        server.setUserData(id, data);
    }

    @Override
    public String toString() {
        return "Client(" + id + ")";
    }
}
