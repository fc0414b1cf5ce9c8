package dev.vertxsessions;

import io.vertx.core.Future;
import java.util.List;

/**
 * Manages sessions from outside the request that owns them: a user's devices, "log out everywhere", a password
 * change, an administrator ending a session. Returned by {@link SessionMiddleware#sessions()}; thread-safe, callable
 * from any verticle and outside requests.
 *
 * <pre>{@code
 * // after a password change: end every other session of the user, keep this one
 * middleware.sessions().deleteAllOf(user, session.id()).onSuccess(ended -> ...);
 * }</pre>
 *
 * <p>The methods about a user need a backend with {@link SessionBackend.Capability#USER_INDEX} (memory, files,
 * Redis); on any other they fail with {@link UnsupportedOperationException} naming why (signed cookies keep no
 * server state to find or end). A session deleted here stays deleted: a request of this process still running on it
 * neither writes it back nor sends its cookie, and the backends' no-resurrection rule covers the other processes.
 * Each call first waits for the saves and deletes this middleware has in flight, so it sees what a response already
 * sent (a login, a logout) wrote.
 */
public interface SessionAdmin {

    /** Returns the live sessions of {@code principal}, oldest expiry first. */
    Future<List<SessionInfo>> sessionsOf(String principal);

    /**
     * Returns the stored session {@code id} with its data and times, or null when there is none (never stored,
     * ended or expired). Needs a server-side backend: signed cookies live in the browsers.
     */
    Future<SessionDetails> get(String id);

    /**
     * Returns how many sessions the store holds, anonymous ones included. Where a backend deletes expired sessions
     * on a timer (the file backend's sweeper) the count includes those not yet deleted. It reads the whole store on
     * files (a directory listing) and Redis (a {@code SCAN} of the key prefix): an operator's call, not a
     * per-request one. Needs a server-side backend.
     */
    Future<Long> count();

    /** Returns how many live sessions {@code principal} holds. */
    Future<Integer> countOf(String principal);

    /**
     * Deletes the session {@code id} (succeeds when there is none). Needs a server-side backend: with signed cookies
     * the session lives in the browser's cookie and cannot be deleted from here.
     */
    Future<Void> delete(String id);

    /** Deletes every session of {@code principal} ("log out everywhere") and returns the IDs it deleted. */
    Future<List<String>> deleteAllOf(String principal);

    /**
     * Deletes every session of {@code principal} except {@code keepId} ("log out all other devices", a password
     * change) and returns the IDs it deleted.
     */
    Future<List<String>> deleteAllOf(String principal, String keepId);
}
