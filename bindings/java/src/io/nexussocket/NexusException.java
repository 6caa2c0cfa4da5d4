package io.nexussocket;

/**
 * Every failure of the library: the C API's status code ({@link #status()}, negative, one of
 * the {@code NX_E*} values) and its detail as the message. Subclasses group the codes:
 * {@link ConnectionException} (DNS, refused, handshake, I/O, closed, TLS, certificate),
 * {@link TimeoutException}, {@link InvalidArgumentException} (bad argument, UTF-8, too big, URL,
 * TLS configuration), {@link UnknownClientException}, {@link UnavailableException} (scaling:
 * Redis out of reach); the rest (state, memory, internal) are plain NexusExceptions. The table
 * lives in bindings/java/nexus_socket.i.
 */
public class NexusException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    /** An exception with the library's detail text and its status code. */
    public NexusException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** The C API's status code (negative), e.g. -8 for NX_ETIMEDOUT. */
    public int status() {
        return status;
    }
}
