package dev.vertxsessions;

/**
 * Signals that a session cookie would exceed the size browsers keep (4096 bytes for name and value), so saving
 * it would silently lose the session. Keep large data server-side (file or Redis backend).
 */
public class CookieTooLargeException extends SessionTooLargeException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception for a cookie of {@code size} bytes against a {@code limit}. */
    public CookieTooLargeException(int size, int limit) {
        super(
                "session cookie would be " + size + " bytes, over the browser limit of " + limit
                        + " bytes; store less in the session or use a server-side backend (file, redis)",
                size,
                limit);
    }
}
