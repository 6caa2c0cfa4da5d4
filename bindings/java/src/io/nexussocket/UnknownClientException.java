package io.nexussocket;

/** No client with that id (never was, or gone): NX_ENOCLIENT. */
public class UnknownClientException extends NexusException {
    private static final long serialVersionUID = 1L;

    /** An exception with the library's detail text and its status code. */
    public UnknownClientException(String message, int status) {
        super(message, status);
    }
}
