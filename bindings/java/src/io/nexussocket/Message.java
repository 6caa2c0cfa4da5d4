package io.nexussocket;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What a listener or {@link WebSocketClient#receive} gets. For "message": the payload, text or
 * binary; for "disconnect": the reason as text and {@link #closeCode()}; for "error": the error
 * text; for "connect": empty. The bytes are a copy owned by this object.
 */
public final class Message {
    private final byte[] data;
    private final boolean binary;
    private final int closeCode;

    Message(byte[] data, boolean binary, int closeCode) {
        this.data = data;
        this.binary = binary;
        this.closeCode = closeCode;
    }

    /** A text message. */
    public static Message text(String text) {
        return new Message(text.getBytes(StandardCharsets.UTF_8), false, 0);
    }

    /** A binary message (the array is copied). */
    public static Message binary(byte[] data) {
        return new Message(data.clone(), true, 0);
    }

    /** Whether the message was a binary frame. */
    public boolean isBinary() {
        return binary;
    }

    /** Whether the message was a text frame (also the kind of reasons and error texts). */
    public boolean isText() {
        return !binary;
    }

    /** The payload decoded as UTF-8 (for binary data, malformed bytes become U+FFFD). */
    public String text() {
        return new String(data, StandardCharsets.UTF_8);
    }

    /** A copy of the payload's bytes. */
    public byte[] bytes() {
        return data.clone();
    }

    /** The payload's length in bytes. */
    public int size() {
        return data.length;
    }

    /** For a disconnect: the close code (1005 none given, 1006 no close frame); else 0. */
    public int closeCode() {
        return closeCode;
    }

    byte[] raw() {
        return data;
    }

    @Override
    public String toString() {
        return binary ? "binary(" + data.length + " bytes)" : text();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Message m && m.binary == binary && m.closeCode == closeCode
                && Arrays.equals(m.data, data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(data) * 31 + (binary ? 1 : 0) + closeCode * 7;
    }
}
