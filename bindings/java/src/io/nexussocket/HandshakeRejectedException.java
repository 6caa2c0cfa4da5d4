package io.nexussocket;

/** Thrown by a {@link HandshakeHandler} to answer an upgrade request with an HTTP error. */
public class HandshakeRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int httpStatus;
    private final String body;

    /** Answers with {@code httpStatus} (400..599) and {@code body} (may be empty). */
    public HandshakeRejectedException(int httpStatus, String body) {
        super("handshake rejected with HTTP " + httpStatus);
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
