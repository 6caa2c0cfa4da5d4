package io.nexussocket;

/** An argument the library refused: invalid value, text that is not UTF-8, too big, a malformed URL, unusable TLS options. */
public class InvalidArgumentException extends NexusException {
    private static final long serialVersionUID = 1L;

    /** An exception with the library's detail text and its status code. */
    public InvalidArgumentException(String message, int status) {
        super(message, status);
    }
}
