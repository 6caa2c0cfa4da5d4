package io.nexussocket;

/** An operation did not finish in time (NX_ETIMEDOUT). */
public class TimeoutException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    /** An exception with the library's detail text and its status code. */
    public TimeoutException(String message, int status) {
        super(message, status);
    }
}
