package dev.vertxsessions;

/**
 * Signals that a login was refused because its user holds {@code max_sessions_per_user} sessions already and the
 * policy is {@code refuse}. Nothing was written: the session stays where it was (the pre-login session keeps its ID
 * and data) and no cookie is sent. Unless the route answers the failed {@code commit()} itself, the response is a
 * 429.
 */
public class SessionLimitException extends SessionException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception with a message that names the limit (never the principal or a session ID). */
    public SessionLimitException(String message) {
        super(message);
    }

    /** Returns the failure of a login refused at a limit of {@code max} sessions per user: what backends fail with. */
    public static SessionLimitException atLimit(int max) {
        return new SessionLimitException("this user holds " + max + " sessions already (max_sessions_per_user, "
                + "policy refuse): log out elsewhere first; the login was not stored");
    }
}
