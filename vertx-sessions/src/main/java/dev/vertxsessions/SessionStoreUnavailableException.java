package dev.vertxsessions;

/**
 * Signals that the session store cannot be reached or used right now (Redis down or slow, a session directory
 * that cannot be read or written). The middleware answers such a failure with {@code 503 Service Unavailable}.
 */
public class SessionStoreUnavailableException extends SessionException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception with a message that names the store and what failed. */
    public SessionStoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
