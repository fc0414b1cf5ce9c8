package dev.vertxsessions;

/**
 * Signals that a session could not be loaded, saved or deleted. Backends fail their {@code Future}s with this
 * type or one of its subclasses, never with a bare string.
 */
public class SessionException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception with a message that names what failed. */
    public SessionException(String message) {
        super(message);
    }

    /** Creates an exception with a message and the underlying cause. */
    public SessionException(String message, Throwable cause) {
        super(message, cause);
    }
}
