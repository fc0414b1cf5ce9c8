package dev.vertxsessions;

/**
 * Signals that a session is larger than its backend can store: the save fails, so nothing pretends it was stored
 * and the session as it was stays intact. {@link SessionMetrics#oversizeRejections()} counts these failures.
 */
public class SessionTooLargeException extends SessionException {

    private static final long serialVersionUID = 1L;

    private final int size;
    private final int limit;

    /** Creates an exception for a session needing {@code size} bytes against a {@code limit}, with its message. */
    public SessionTooLargeException(String message, int size, int limit) {
        super(message);
        this.size = size;
        this.limit = limit;
    }

    /** Returns the size in bytes the session would have needed. */
    public int size() {
        return size;
    }

    /** Returns the limit in bytes that was exceeded. */
    public int limit() {
        return limit;
    }
}
