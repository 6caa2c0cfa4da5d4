package io.nexussocket;

/**
 * Scaling: the client is on another server and Redis cannot be reached now (NX_EUNAVAILABLE).
 * The client may be fine; the server reconnects to Redis by itself, so a later try may work.
 */
public class UnavailableException extends NexusException {
    private static final long serialVersionUID = 1L;

    /** An exception with the library's detail text and its status code. */
    public UnavailableException(String message, int status) {
        super(message, status);
    }
}
