package io.nexussocket;

/** Thrown by a {@link HandshakeHandler} to answer an upgrade request with an HTTP error. */
public class HandshakeRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int httpStatus;
    private final String body;

    /**
     * Answers with {@code httpStatus} and {@code body} (may be empty). IllegalArgumentException
     * for a status outside 400..599 (thrown from a handler, that answers 500).
     */
    public HandshakeRejectedException(int httpStatus, String body) {
        super("handshake rejected with HTTP " + httpStatus);
        if (httpStatus < 400 || httpStatus > 599) {
            throw new IllegalArgumentException("an HTTP error status is 400..599, not " + httpStatus);
        }
        this.httpStatus = httpStatus;
        this.body = body == null ? "" : body;
    }

    /** The HTTP status the request is answered with. */
    public int httpStatus() {
        return httpStatus;
    }

    /** The response body. */
    public String body() {
        return body;
    }
}
