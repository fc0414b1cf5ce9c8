package dev.vertxsessions;

/**
 * What the middleware does with a session when its response goes out (or on {@code commit()}): a pure function
 * of the session's state, so the rules can be read, and tested, in one place.
 */
enum SaveDecision {
    /** Nothing to store and nothing to forget. */
    NOTHING,
    /** An atomic update stored the session already: only the cookie is to be sent. */
    COOKIE_ONLY,
    /** Store the session and (see {@link #cookieNeeded}) send its cookie. */
    SAVE,
    /** Delete the stored session (logout, or emptied) and expire its cookie. */
    DELETE;

    /**
     * Decides.
     *
     * @param destroyed {@code invalidate()} or {@code destroy()} ran
     * @param empty the session holds no data besides the middleware's reserved keys
     * @param modified the session changed since it was loaded or last saved
     * @param stored the session is in the store (loaded, or saved earlier in this request)
     * @param movePending a {@code regenerate()} left the data under the previous ID
     * @param requestHadCookie the request carried a session cookie (a logout must expire it)
     * @param rolling every request renews the expiry ({@code rolling})
     * @param lazy new sessions are stored only once they hold data ({@code lazy_session})
     * @param cookieDue an atomic update stored the session without a save
     */
    static SaveDecision decide(
            boolean destroyed,
            boolean empty,
            boolean modified,
            boolean stored,
            boolean movePending,
            boolean requestHadCookie,
            boolean rolling,
            boolean lazy,
            boolean cookieDue) {
        if (destroyed || (empty && modified)) {
            return stored || movePending || requestHadCookie ? DELETE : NOTHING;
        }
        if (modified || (rolling && stored) || (!stored && !lazy)) {
            return SAVE;
        }
        return cookieDue ? COOKIE_ONLY : NOTHING;
    }

    /**
     * Returns whether a save sends the cookie. A cookie that carries the session (signed cookies) changes with
     * every save; a persistent cookie's lifetime moves with every save; otherwise only a new ID needs one.
     */
    static boolean cookieNeeded(
            boolean serverSide, boolean persistentCookie, boolean newId, boolean cookieChoiceChanged) {
        return !serverSide || persistentCookie || newId || cookieChoiceChanged;
    }
}
