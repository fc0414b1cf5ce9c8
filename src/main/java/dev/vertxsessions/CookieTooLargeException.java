package dev.vertxsessions;

/**
 * Signals that a session cookie would exceed the size browsers keep (4096 bytes for name and value), so saving
 * it would silently lose the session. Keep large data server-side (file or Redis backend).
 */
public class CookieTooLargeException extends SessionException {

    private static final long serialVersionUID = 1L;

    private final int size;
    private final int limit;

    /** Creates an exception for a cookie of {@code size} bytes against a {@code limit}. */
    public CookieTooLargeException(int size, int limit) {
        super("session cookie would be " + size + " bytes, over the browser limit of " + limit
                + " bytes; store less in the session or use a server-side backend (file, redis)");
        this.size = size;
        this.limit = limit;
    }

    /** Returns the size in bytes the cookie would have had. */
    public int size() {
        return size;
    }

    /** Returns the limit in bytes that was exceeded. */
    public int limit() {
        return limit;
    }
}
