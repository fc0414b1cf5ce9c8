package dev.vertxsessions;

import java.time.Duration;

/**
 * What the middleware does with a session when its response goes out (or on {@code commit()}): a pure function
 * of the session's state and the response's status, so the rules can be read, and tested, in one place.
 *
 * <p>The status rules: a logout ({@code invalidate()}, {@code destroy()}, or a session emptied by {@code clear()})
 * is a security decision and deletes the session whatever the status. A {@code regenerate()} is one too: on a 5xx
 * response, which saves nothing else, the stored session still moves to its new ID ({@link #MOVE}), so the ID the
 * browser held before is dead. Otherwise 5xx saves nothing; 4xx saves a session that holds data (a form that
 * answers 422 keeps its flash message), but never stores or sends a new session that holds nothing.
 */
enum SaveDecision {
    /** Nothing to store and nothing to forget. */
    NOTHING,
    /** An atomic update stored the session already: only the cookie is to be sent. */
    COOKIE_ONLY,
    /** Store the session and (see {@link #cookieNeeded}) send its cookie. */
    SAVE,
    /** Only move the stored session, as it was loaded, to the new ID a {@code regenerate()} gave it. */
    MOVE,
    /** Delete the stored session (logout, or emptied) and expire its cookie. */
    DELETE;

    /**
     * The state of a session when its response goes out.
     *
     * @param destroyed {@code invalidate()} or {@code destroy()} ran
     * @param empty the session holds no data besides the middleware's reserved keys
     * @param modified the session changed since it was loaded or last saved
     * @param stored the session is in the store (loaded, or saved earlier in this request)
     * @param movePending a {@code regenerate()} left the data under the previous ID
     * @param requestHadCookie the request carried a session cookie (a logout must expire it)
     * @param cookieDue an atomic update stored the session without a save
     */
    record State(
            boolean destroyed,
            boolean empty,
            boolean modified,
            boolean stored,
            boolean movePending,
            boolean requestHadCookie,
            boolean cookieDue) {}

    /**
     * Decides.
     *
     * @param state the session's state
     * @param rolling every request renews the expiry ({@code rolling})
     * @param lazy new sessions are stored only once they hold data ({@code lazy_session})
     * @param status the response's status code
     */
    static SaveDecision decide(State state, boolean rolling, boolean lazy, int status) {
        if (state.destroyed() || (state.empty() && state.modified())) {
            return state.stored() || state.movePending() || state.requestHadCookie() ? DELETE : NOTHING;
        }
        if (status >= 500) {
            return state.movePending() ? MOVE : NOTHING;
        }
        boolean isNewAndEmpty = !state.stored() && !state.movePending() && state.empty();
        if (status >= 400 && isNewAndEmpty) {
            return NOTHING;
        }
        if (state.modified() || (rolling && state.stored()) || (!state.stored() && !lazy)) {
            return SAVE;
        }
        return state.cookieDue() ? COOKIE_ONLY : NOTHING;
    }

    /**
     * Returns whether a save sends the cookie. A cookie that carries the session (signed cookies) changes with
     * every save; a persistent cookie is renewed when its session's expiry moved to another step
     * ({@link #cookieRenewalDue}); otherwise only a new ID needs one.
     */
    static boolean cookieNeeded(
            boolean serverSide, boolean persistentCookieDue, boolean newId, boolean cookieChoiceChanged) {
        return !serverSide || persistentCookieDue || newId || cookieChoiceChanged;
    }

    /** The longest step of a persistent cookie's renewal: a minute. */
    static final long MAX_COOKIE_RENEWAL_STEP_MILLIS = 60_000;

    /**
     * Returns whether a server-side session's persistent cookie, last given an expiry of {@code cookieExpiresAt}
     * (epoch ms; 0 when unknown), must be sent again for the session's expiry of {@code expiresAt}. Time is cut into
     * steps of a hundredth of the {@code lifetime}, at most {@link #MAX_COOKIE_RENEWAL_STEP_MILLIS}: the cookie is
     * renewed when the expiry moves to another step, so a browser busy with one session gets its cookie again about
     * once a minute, not with every response, and its cookie expires at most one step before the session does.
     */
    static boolean cookieRenewalDue(long cookieExpiresAt, long expiresAt, Duration lifetime) {
        long step = Math.max(1, Math.min(MAX_COOKIE_RENEWAL_STEP_MILLIS, lifetime.toMillis() / 100));
        return cookieExpiresAt == 0 || Math.floorDiv(cookieExpiresAt, step) != Math.floorDiv(expiresAt, step);
    }
}
