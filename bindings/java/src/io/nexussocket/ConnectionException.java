package io.nexussocket;

/** The connection failed or is gone: DNS, refused, unreachable, a refused handshake, I/O, closed, TLS, certificate. */
public class ConnectionException extends NexusException {
    private static final long serialVersionUID = 1L;

    /** An exception with the library's detail text and its status code. */
    public ConnectionException(String message, int status) {
        super(message, status);
    }
}
