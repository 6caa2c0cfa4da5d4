package io.nexussocket;

/**
 * Decides on an upgrade request before the client is let in (authentication), given with
 * {@link WebSocket.Options#onHandshake}. It runs on the thread inside {@link WebSocket#listen()},
 * like the listeners. Returning accepts (the request still counts against max clients: over it
 * the client gets HTTP 503 and no connect event); throwing {@link HandshakeRejectedException}
 * answers with its HTTP status and body; any other RuntimeException answers HTTP 500 and reaches
 * the "error" listeners. The request's path, query, origin, headers and peer are on
 * {@code request}; what {@link Client#setUserData(byte[])} keeps with it is the client's from
 * its connect event on.
 */
@FunctionalInterface
public interface HandshakeHandler {
    void decide(Client request);
}
