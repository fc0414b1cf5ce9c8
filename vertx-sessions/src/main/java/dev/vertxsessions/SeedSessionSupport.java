package dev.vertxsessions;

import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The seed's way to write a backend, as the part of {@link BaseSessionInterface} that a subclass implements
 * ({@link #load()}, {@link #save()}, {@link #delete(String)}, optionally {@link #replace(String)} and
 * {@link #updateStored(String, UnaryOperator)}) and the protected helpers it calls. Package-private: applications see
 * these members on {@link BaseSessionInterface}, whose other members are what route handlers use.
 */
abstract class SeedSessionSupport {

    /** The values, times and change tracking of this session; set once, when the middleware creates the session. */
    private SessionState state;

    SeedSessionSupport() {}

    /**
     * Loads the session named by {@link BaseSessionInterface#getSessionKey()} (the value of the request's cookie) and calls
     * {@link #restore} when it exists. A key that names nothing must leave the session empty and succeed: the
     * middleware then starts a fresh session. Fail the Future only when the store cannot answer
     * ({@link SessionStoreUnavailableException} gives a 503).
     */
    protected abstract Future<Void> load();

    /**
     * Stores the session under {@link BaseSessionInterface#getSessionKey()}; the Future completes when the data is durable. Write
     * {@link BaseSessionInterface#data()} (the whole session), or merge {@link #changedKeys()} and {@link #removedKeys()} into what is
     * stored. When {@link BaseSessionInterface#isNew()} is false and the key no longer exists in the store, the session was deleted
     * meanwhile (a logout): write nothing, so it is not brought back.
     */
    protected abstract Future<Void> save();

    /** Deletes the stored session {@code sessionKey}. Defaults to doing nothing. */
    protected Future<Void> delete(String sessionKey) {
        return Future.succeededFuture();
    }

    /**
     * Moves the session to its new key after {@link BaseSessionInterface#regenerate()} and deletes {@code previousKey}. Defaults to
     * {@link #save()} then {@link #delete(String)}; during that save {@link BaseSessionInterface#isNew()} is true and
     * {@link #changedKeys()} holds every key, so a save written by the rules above stores the whole session under
     * the new key. It is called only after {@link #load()} found {@code previousKey} still stored, so a session that
     * a logout deleted meanwhile is not moved back into the store. Override it to move atomically.
     */
    protected Future<Void> replace(String previousKey) {
        return save().compose(v -> delete(previousKey));
    }

    /**
     * Applies {@code update} to the stored value of {@code key} atomically and returns the new value. Override it
     * only when your store can do that (a compare-and-set, a transaction); the default changes the value in the
     * session, which is then saved with it. When overridden, it is called with no other change pending (they are
     * saved first), and {@link BaseSessionInterface#isNew()} says whether the session may be created.
     */
    protected Future<Object> updateStored(String key, UnaryOperator<Object> update) {
        return state().updateLocally(key, update);
    }

    /**
     * Fills the session with data loaded from the store. Returns false, leaving the session empty, when the entry
     * has expired by {@code expiresAtMillis} or by the configured absolute lifetime.
     *
     * @param id the session's key ({@link BaseSessionInterface#getSessionKey()})
     * @param storedData the stored values: plain JSON types, as {@link #save()} found them in {@link BaseSessionInterface#data()}
     * @param createdAtMillis when the session was first created ({@link BaseSessionInterface#getCreatedAt()} at its first save)
     * @param expiresAtMillis when the entry expires ({@link #expiresAtMillis()} at its last save)
     * @param perSessionExpiry the expiry set with {@link BaseSessionInterface#setExpiry(long)} ({@link #perSessionExpiry()}), or null
     */
    protected final boolean restore(
            String id,
            Map<String, Object> storedData,
            long createdAtMillis,
            long expiresAtMillis,
            Duration perSessionExpiry) {
        return state().restore(id, storedData, createdAtMillis, expiresAtMillis, perSessionExpiry);
    }

    /**
     * Fills the session from a store that enforces expiry itself (e.g. with a TTL). The creation time is taken as
     * now, so {@code absolute_expiry} cannot be enforced: store the creation time and use the five-argument form.
     */
    protected final void restore(Map<String, Object> storedData) {
        restore(state().id(), storedData, currentTimeMillis(), Long.MAX_VALUE, null);
    }

    /** Returns the keys put since the session was loaded or last saved. */
    protected final Set<String> changedKeys() {
        return state().changedKeys();
    }

    /** Returns the keys removed since the session was loaded or last saved. */
    protected final Set<String> removedKeys() {
        return state().removedKeys();
    }

    /** Returns whether {@link BaseSessionInterface#clear()} was called since the session was loaded or last saved. */
    protected final boolean isCleared() {
        return state().isCleared();
    }

    /** Returns the key this session had before {@link BaseSessionInterface#regenerate()}, while that key is still stored. */
    protected final String getPreviousSessionKey() {
        return state().previousId();
    }

    /** Returns a new random session ID: 256 bits, base64url. */
    protected final String generateSid() {
        return SessionIds.generate();
    }

    /** Returns the Vert.x instance the session runs on. */
    protected final Vertx vertx() {
        return state().vertx();
    }

    /** Returns the configuration of the middleware. */
    protected final SessionConfig config() {
        return state().config();
    }

    /** Returns the current time of the configured clock, in epoch milliseconds. */
    protected final long currentTimeMillis() {
        return state().now();
    }

    /** Returns when a session saved now expires, in epoch milliseconds (expiry and absolute lifetime applied). */
    protected final long expiresAtMillis() {
        return state().expiresAtIfSavedNow();
    }

    /** Returns the expiry set on this session with {@link BaseSessionInterface#setExpiry(long)}, or null when it uses the default. */
    protected final Duration perSessionExpiry() {
        return state().perSessionExpiry();
    }

    /** Counts a cookie rejected as forged, tampered or malformed (see {@link SessionMetrics#tamperedCookies()}). */
    protected final void reportTamperedCookie() {
        state().countTampered();
    }

    /**
     * Counts a write dropped because the session was deleted meanwhile (see {@link SessionMetrics#conflicts()}).
     */
    protected final void reportConflict() {
        state().countConflict();
    }

    /**
     * Returns a Future that completes when {@code written} does, counting a conflict when the store reports (false)
     * that it dropped the write because the session was deleted meanwhile.
     */
    protected final Future<Void> conflictUnlessWritten(Future<Boolean> written) {
        return written.map(isStored -> {
            if (!isStored) {
                reportConflict();
            }
            return null;
        });
    }

    /** Gives the session its state, once: the middleware and the seed adapter create both together. */
    final void bind(SessionState state) {
        if (this.state != null) {
            throw new IllegalStateException(
                    "session already in use: a session factory must return a new one each call");
        }
        this.state = state;
    }

    final SessionState state() {
        if (state == null) {
            throw new IllegalStateException("session not bound: only the middleware creates usable sessions");
        }
        return state;
    }
}
