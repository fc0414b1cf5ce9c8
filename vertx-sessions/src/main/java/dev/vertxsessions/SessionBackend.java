package dev.vertxsessions;

import io.vertx.core.Future;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Where sessions are kept: the backend SPI. The middleware drives every session's lifecycle and calls a backend
 * only to load, save and delete; the built-in backends (signed cookies, files, Redis, memory) implement it, and
 * so can yours. A backend written the seed's way, by extending {@link BaseSessionInterface}, runs on this SPI
 * through an adapter.
 *
 * <p><b>What an implementation must guarantee.</b>
 * <ul>
 *   <li>It is thread-safe: one instance serves every event loop, and must never block one (use Vert.x's
 *       asynchronous clients, or {@code executeBlocking}).</li>
 *   <li>{@link #load(String)} completes with null for an ID it does not know; it fails only when the store cannot
 *       answer, preferably with {@link SessionStoreUnavailableException} (the request then gets a 503).</li>
 *   <li>{@link #save(SessionChanges)} follows the rules of {@link SessionChanges}: move on regenerate, and never
 *       recreate a session that was deleted meanwhile (complete with false). Its Future completes when the data is
 *       durable; a failed Future never pretends the data was stored.</li>
 *   <li>Expiry: store {@link SessionChanges#expiresAtMillis()}, {@link SessionChanges#createdAtMillis()} and
 *       {@link SessionChanges#perSessionExpiry()} and return them in the {@link SessionRecord}; the middleware
 *       enforces expiry on load. Deleting expired entries (a TTL, a sweeper) is the backend's job.</li>
 * </ul>
 * Everything else has a default that is correct for every backend.
 */
public interface SessionBackend {

    /** What a backend can do beyond the minimum; the middleware and the backend contract test read them. */
    enum Capability {
        /**
         * The cookie carries only the session's ID and the data lives in the store, so a logout revokes the
         * session everywhere. Without it, the cookie carries the session itself (signed cookies): the middleware
         * hands the backend the raw cookie value and re-sends the cookie on every save.
         */
        SERVER_SIDE,
        /** {@link #update} is atomic against parallel requests (no lost update). */
        ATOMIC_UPDATE,
        /** Saves merge per key, so parallel requests that change different keys both keep their change. */
        PER_KEY_MERGE,
        /** Several processes or servers can share the store (two application instances see the same sessions). */
        SHARED,
        /**
         * The backend keeps an index from each principal ({@link SessionChanges#principal()}) to its sessions' IDs,
         * updated by the same atomic operation as the save, move and delete that change it, never holding an ID of
         * a session that is gone (deleted, moved, expired); it answers {@link #sessionsOf} and
         * {@link #deleteSessionsOf}, and enforces {@link SessionChanges#maxSessionsPerUser()} in {@link #save}.
         */
        USER_INDEX
    }

    /**
     * Loads a session. For a {@link Capability#SERVER_SIDE} backend {@code cookieValue} is an ID the middleware
     * generated (its format is checked before this call); otherwise it is the raw cookie value, to decode and
     * verify. Completes with null when there is no such session, or it is malformed or forged.
     */
    Future<SessionRecord> load(String cookieValue);

    /**
     * Stores a change set (see {@link SessionChanges} for the rules). Completes with true when stored, false when
     * the session had been deleted meanwhile and nothing was written.
     */
    Future<Boolean> save(SessionChanges changes);

    /** Deletes the stored session {@code id}; succeeds when there is none. */
    Future<Void> delete(String id);

    /** Returns what this backend can do beyond the minimum. Defaults to {@link Capability#SERVER_SIDE} only. */
    default Set<Capability> capabilities() {
        return EnumSet.of(Capability.SERVER_SIDE);
    }

    /**
     * Returns the cookie value for a session about to be saved with {@code changes}. Called before
     * {@link #save(SessionChanges)}, on the event loop, and must not block. Defaults to the session's ID; the
     * signed-cookie backend encodes the session here (and may throw {@link CookieTooLargeException}).
     */
    default String cookieValue(SessionChanges changes) {
        return changes.id();
    }

    /**
     * Applies {@code update} to the stored value of {@code key} atomically and completes with the new value (null
     * removes the key). Called only when {@link #capabilities()} has {@link Capability#ATOMIC_UPDATE}, with a change
     * set that changes nothing (the middleware saves pending changes first), whose ID, expiry and
     * {@link SessionChanges#isNew()} say which session to update, how long it lives, and whether it may be created.
     * A session deleted meanwhile fails the Future with a {@link SessionException}. {@code update} receives plain
     * JSON values and may be called more than once. Defaults to failing: backends without the capability get local
     * updates, saved with the session.
     */
    default Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        return Future.failedFuture(new UnsupportedOperationException("backend has no atomic update"));
    }

    /**
     * Loads the session {@code id} right after {@code saved}, the save of an earlier request with the same ID that
     * this request waited for. A backend that knows what that save stored may answer without reading the store.
     * Defaults to {@link #load(String)}.
     */
    default Future<SessionRecord> loadAfterSave(String id, SessionChanges saved) {
        return load(id);
    }

    /**
     * Returns the live sessions of {@code principal}, oldest expiry first. Called only when {@link #capabilities()}
     * has {@link Capability#USER_INDEX}. Defaults to failing with {@link UnsupportedOperationException}.
     */
    default Future<List<SessionInfo>> sessionsOf(String principal) {
        return Future.failedFuture(noUserIndex(this));
    }

    /**
     * Deletes every session of {@code principal} except {@code exceptId} (null: none kept) and completes with the
     * IDs it deleted, atomically with the index. Called only when {@link #capabilities()} has
     * {@link Capability#USER_INDEX}. Defaults to failing with {@link UnsupportedOperationException}.
     */
    default Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return Future.failedFuture(noUserIndex(this));
    }

    /**
     * Counts the sessions the store holds (anonymous ones included; expired ones its expiry has not deleted yet may
     * count), for {@link SessionAdmin#count()}. Defaults to {@link #activeSessions()} when that knows, else fails
     * with {@link UnsupportedOperationException}.
     */
    default Future<Long> countSessions() {
        long known = activeSessions();
        return known >= 0
                ? Future.succeededFuture(known)
                : Future.failedFuture(new UnsupportedOperationException("the session backend "
                        + getClass().getSimpleName() + " cannot count its sessions (no countSessions())"));
    }

    /** Returns the failure of a user-index operation on {@code backend}, which lacks the capability. */
    static UnsupportedOperationException noUserIndex(SessionBackend backend) {
        return new UnsupportedOperationException(
                "the session backend " + backend.getClass().getSimpleName()
                        + " keeps no index of sessions by user (no USER_INDEX capability): use the memory, file or Redis "
                        + "backend to list, end or limit a user's sessions");
    }

    /**
     * Prepares shared resources (a schema, a connection check, a sweeper timer) and hands the backend the
     * {@link BackendRecorder} it reports its own work with (sweeps, evictions, sessions it ended); until then a
     * backend holds {@link BackendRecorder#NONE}. Called once, from {@link SessionMiddleware#create}, on the thread
     * that creates the middleware. The middleware serves no request that needs the store before this completes, and
     * a failure fails {@link SessionMiddleware#ready()}. Defaults to doing nothing.
     */
    default Future<Void> start(BackendRecorder recorder) {
        return Future.succeededFuture();
    }

    /**
     * Checks that the backend can serve requests now, with one bounded round trip to its store (Redis: a PING), and
     * fails with a {@link SessionStoreUnavailableException} naming the reason when it cannot. Defaults to success, for
     * backends with nothing to reach.
     */
    default Future<Void> checkHealth() {
        return Future.succeededFuture();
    }

    /**
     * Returns how many sessions the store holds when the backend knows without I/O (a count it keeps, e.g. the size
     * of a map), or -1 when it does not; a metrics gauge reads it. Defaults to -1.
     */
    default long activeSessions() {
        return -1;
    }

    /**
     * Returns how this backend tells every process of every write to its sessions, which the near cache
     * ({@code near_cache}) needs, or null when it cannot (the middleware then refuses to start with the near cache
     * on). Called once, when the middleware is created; the middleware starts and closes what it returns. Defaults
     * to null.
     */
    default SessionInvalidations invalidations() {
        return null;
    }

    /** Releases what the backend holds (timers, connections). Defaults to doing nothing. */
    default Future<Void> close() {
        return Future.succeededFuture();
    }
}
