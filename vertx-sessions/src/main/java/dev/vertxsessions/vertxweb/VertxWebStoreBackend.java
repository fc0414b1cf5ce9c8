package dev.vertxsessions.vertxweb;

import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.internal.SessionIds;
import dev.vertxsessions.internal.VertxWebBridge;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.sstore.ClusteredSessionStore;
import io.vertx.ext.web.sstore.SessionStore;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/*
 * How a Vert.x-Web SessionStore serves as a backend.
 *
 * A store keeps whole Vert.x-Web sessions (ID, timeout, last access, a version, a map of values) under
 * session.id(), with get, put and delete: no per-key merge, no atomic update, no conditional write.
 *
 * - load: get(id). The values are copied into plain JSON (StoreValues); two reserved keys hold the creation time
 *   and the per-session expiry; the expiry is lastAccessed + timeout, both written by our save.
 * - save: a whole-session write. Unless the session is new, it is read first (under previousId after a
 *   regenerate): gone means deleted meanwhile (a logout, or the store's own expiry), and nothing is written (false).
 *   The session to put comes from the store's createSession(timeout), so it is of the store's own class, and is
 *   given our ID, the stored version, lastAccessed = savedAt and timeout = expiresAt - savedAt
 *   (VertxWebBridge.reidentify), then every value of changes.data().
 * - Every Vert.x-Web store refuses a put whose version differs from the stored session's ("Session version
 *   mismatch"): another save landed between our get and put. We read again and retry, so the last save wins,
 *   whole. After a regenerate, the previous ID is deleted once the new one is stored.
 * - The read and the put are two calls, so a delete that lands between them (a logout in another tab) is undone by
 *   the put. The window is one store round trip; the README says so.
 * - Contexts: the stores take vertx.getOrCreateContext() on each call, and complete on it; one that completes
 *   elsewhere (on the context it was created on) would run the rest of the request on the wrong event loop. Each
 *   store call is therefore completed on the caller's context, whatever the store does.
 */

/**
 * Runs a Vert.x-Web {@link SessionStore} ({@code LocalSessionStore}, {@code ClusteredSessionStore}, the Redis,
 * Infinispan or Caffeine stores) as a vertx-sessions backend: sessions stay where they are stored today, and gain
 * the middleware's lazy writes, fixation protection at login, enforced expiry and metrics.
 *
 * <pre>{@code
 * SessionConfig config = new SessionConfig()
 *     .setBackend(VertxWebStoreBackend.factory(ClusteredSessionStore::create));
 * router.route().handler(SessionMiddleware.create(vertx, config));
 * }</pre>
 *
 * <p><b>Where the store is created.</b> {@link #factory} calls {@code storeFactory} once, in
 * {@code SessionMiddleware.create}, on the thread that calls it. A Vert.x-Web store keeps that thread's context for
 * its own timers (the local store's reaper) and its random generator, so create the middleware where that context
 * lives as long as the middleware: before deploying your verticles, or in a verticle that is never undeployed
 * first. Then share the middleware between verticle instances, as for every backend: the store is called from
 * every event loop, which Vert.x-Web's stores allow (each call takes the caller's context), and this backend
 * completes every call on the caller's event loop even for a store that would not. Creating one middleware per
 * verticle instance also works, as Vert.x-Web's guide creates one store per verticle: local and clustered stores
 * with the same map name share their sessions.
 *
 * <p><b>What a store like this cannot give</b> (the built-in file and Redis backends can):
 * <ul>
 *   <li>no per-key merge: a save writes the whole session, so of two parallel requests that change different keys
 *       the last save wins;</li>
 *   <li>no atomic update: {@code update()} and {@code increment()} run in the request and are saved with the
 *       session, so parallel increments can be lost;</li>
 *   <li>the no-resurrection check is a read before the write, not atomic with it: a logout that lands between the
 *       two is undone.</li>
 * </ul>
 *
 * <p>The store's {@code retryTimeout()} is not used: a session that is not found is no session at once. Keys
 * starting with {@code __vertx-sessions.} are reserved. Sessions written by Vert.x-Web's {@code SessionHandler}
 * are not loaded (their IDs are not of our format), so users sign in again once after the switch.
 * {@link #close()} closes the store, which the factory created for this middleware (closing a
 * {@code LocalSessionStore} removes its map's name from Vert.x's shared data: stores created afterwards under that
 * name start empty, so with one middleware per verticle, close them together).
 *
 * <p>Thread-safe: one instance serves every event loop.
 */
public final class VertxWebStoreBackend implements SessionBackend {

    /** The reserved session key under which the session's creation time (epoch milliseconds) is stored. */
    public static final String CREATED_KEY = "__vertx-sessions.created";
    /** The reserved session key under which a per-session expiry (milliseconds) is stored. */
    public static final String EXPIRY_KEY = "__vertx-sessions.expiry";

    /** How often a save reads again after the store refused its write for a version changed by a parallel save. */
    static final int MAX_WRITE_ATTEMPTS = 5;
    /** The failure message of every Vert.x-Web store's put when the version changed under it. */
    private static final String VERSION_MISMATCH = "Session version mismatch";

    private final SessionStore store;
    private final boolean shared;

    private VertxWebStoreBackend(SessionStore store, boolean shared) {
        this.store = store;
        this.shared = shared;
    }

    /**
     * Returns the factory of a backend on the store {@code storeFactory} creates. The store counts as
     * {@link Capability#SHARED} when it is a {@link ClusteredSessionStore}; say so with
     * {@link #factory(Function, boolean)} for other shared stores (Redis, Infinispan).
     */
    public static SessionBackendFactory factory(Function<Vertx, SessionStore> storeFactory) {
        return factory(storeFactory, null);
    }

    /**
     * Returns the factory of a backend on the store {@code storeFactory} creates, stating whether several processes
     * share that store ({@link Capability#SHARED}).
     */
    public static SessionBackendFactory factory(Function<Vertx, SessionStore> storeFactory, boolean shared) {
        return factory(storeFactory, Boolean.valueOf(shared));
    }

    private static SessionBackendFactory factory(Function<Vertx, SessionStore> storeFactory, Boolean shared) {
        Objects.requireNonNull(storeFactory, "storeFactory");
        return (vertx, config) -> {
            SessionStore store = storeFactory.apply(vertx);
            if (store == null) {
                throw new IllegalArgumentException(
                        "manager: the SessionStore factory returned null instead of a store");
            }
            try {
                check(store);
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
            return new VertxWebStoreBackend(store, shared != null ? shared : store instanceof ClusteredSessionStore);
        };
    }

    /** Fails at start-up for a store whose sessions cannot take our IDs, rather than at the first save. */
    private static void check(SessionStore store) {
        if (store.getClass().getName().startsWith("io.vertx.ext.web.sstore.cookie.")) {
            throw new IllegalArgumentException("manager: Vert.x-Web's CookieSessionStore keeps the session in the "
                    + "cookie, not in a store; use the signed-cookie backend (the default) instead");
        }
        try {
            VertxWebBridge.reidentify(store.createSession(1000), SessionIds.generate(), 1000, 0, 0);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "manager: " + store.getClass().getName() + " cannot be used: " + e.getMessage(), e);
        }
    }

    @Override
    public Set<Capability> capabilities() {
        return shared ? EnumSet.of(Capability.SERVER_SIDE, Capability.SHARED) : EnumSet.of(Capability.SERVER_SIDE);
    }

    @Override
    public Future<SessionRecord> load(String id) {
        return call(Vertx.currentContext(), "read", () -> store.get(id))
                .map(session -> session == null ? null : record(id, session));
    }

    @Override
    public Future<Boolean> save(SessionChanges changes) {
        Map<String, Object> values = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Object> entry : changes.data().entrySet()) {
                if (entry.getValue() != null) {
                    values.put(entry.getKey(), StoreValues.toStore(entry.getKey(), entry.getValue()));
                }
            }
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(new SessionException("session could not be saved: " + e.getMessage(), e));
        }
        values.put(CREATED_KEY, changes.createdAtMillis());
        if (changes.perSessionExpiry() != null) {
            values.put(EXPIRY_KEY, changes.perSessionExpiry().toMillis());
        }
        return write(Vertx.currentContext(), changes, values, 1);
    }

    @Override
    public Future<Void> delete(String id) {
        return call(Vertx.currentContext(), "delete", () -> store.delete(id));
    }

    /** Counts with the store's own {@code size()}. */
    @Override
    public Future<Long> countSessions() {
        return call(Vertx.currentContext(), "count", store::size).map(Integer::longValue);
    }

    @Override
    public Future<Void> close() {
        try {
            store.close();
            return Future.succeededFuture();
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    private Future<Boolean> write(Context caller, SessionChanges changes, Map<String, Object> values, int attempt) {
        String previousId = changes.previousId();
        // A new session has nothing to check and, under a fresh random ID, no version: unless a write was refused.
        Future<Session> stored = changes.isNew() && attempt == 1
                ? Future.succeededFuture()
                : call(caller, "read", () -> store.get(previousId != null ? previousId : changes.id()));
        return stored.compose(current -> {
            if (current == null && !changes.isNew()) {
                return Future.succeededFuture(false); // deleted meanwhile: no resurrection
            }
            // After a regenerate the new ID has never been stored, so it has no version yet.
            int version = current == null || previousId != null ? 0 : VertxWebBridge.version(current);
            Session session = session(changes, values, version);
            return call(caller, "write", () -> store.put(session)).transform(put -> {
                if (put.succeeded()) {
                    return previousId == null
                            ? Future.succeededFuture(true)
                            : call(caller, "delete", () -> store.delete(previousId))
                                    .map(true);
                }
                if (!isVersionMismatch(put.cause())) {
                    return Future.failedFuture(put.cause());
                }
                if (attempt < MAX_WRITE_ATTEMPTS) {
                    return write(caller, changes, values, attempt + 1);
                }
                return Future.failedFuture(new SessionException(
                        "session could not be saved: the store refused " + MAX_WRITE_ATTEMPTS
                                + " writes because parallel saves kept changing it",
                        put.cause()));
            });
        });
    }

    /** Returns the Vert.x-Web session to put: of the store's own class, with our ID and expiry, and the values. */
    private Session session(SessionChanges changes, Map<String, Object> values, int version) {
        long savedAt = changes.savedAtMillis();
        // At least 1 ms: a zero TTL means "never expires" to some stores (Hazelcast).
        long timeout = Math.max(1, changes.expiresAtMillis() - savedAt);
        Session session =
                VertxWebBridge.reidentify(store.createSession(timeout), changes.id(), timeout, savedAt, version);
        for (Map.Entry<String, Object> value : values.entrySet()) {
            session.put(value.getKey(), value.getValue());
        }
        return session;
    }

    private static SessionRecord record(String id, Session session) {
        Map<String, Object> data = new LinkedHashMap<>();
        Object created = null;
        Object expiry = null;
        if (!session.isEmpty()) { // data() would create a map inside a session the store may share
            for (Map.Entry<String, Object> entry : session.data().entrySet()) {
                String key = entry.getKey();
                if (CREATED_KEY.equals(key)) {
                    created = entry.getValue();
                } else if (EXPIRY_KEY.equals(key)) {
                    expiry = entry.getValue();
                } else {
                    data.put(key, StoreValues.fromStore(key, entry.getValue()));
                }
            }
        }
        long lastAccessed = session.lastAccessed();
        long timeout = session.timeout();
        long expiresAt = timeout > Long.MAX_VALUE - lastAccessed ? Long.MAX_VALUE : lastAccessed + timeout;
        long createdAt = created instanceof Number ? ((Number) created).longValue() : lastAccessed;
        Duration perSessionExpiry = expiry instanceof Number ? Duration.ofMillis(((Number) expiry).longValue()) : null;
        return new SessionRecord(id, data, createdAt, expiresAt, perSessionExpiry);
    }

    /**
     * Calls the store and completes on {@code caller}'s context (when there is one); a failure of the store, or an
     * exception it throws, becomes a {@link SessionStoreUnavailableException} (a 503).
     */
    private static <T> Future<T> call(Context caller, String operation, Supplier<Future<T>> call) {
        Future<T> future;
        try {
            future = call.get();
        } catch (RuntimeException e) {
            return Future.failedFuture(unavailable(operation, e));
        }
        if (future == null) {
            return Future.failedFuture(new SessionException(
                    "the Vert.x-Web session store returned null instead of a Future (" + operation + ")"));
        }
        Promise<T> promise = Promise.promise();
        future.onComplete(ar -> {
            AsyncResult<T> result = ar.succeeded() ? ar : Future.failedFuture(unavailable(operation, ar.cause()));
            if (caller == null || Vertx.currentContext() == caller) {
                promise.handle(result);
            } else {
                caller.runOnContext(v -> promise.handle(result));
            }
        });
        return promise.future();
    }

    private static SessionStoreUnavailableException unavailable(String operation, Throwable cause) {
        return new SessionStoreUnavailableException(
                "Vert.x-Web session store could not " + operation + " a session: " + cause.getMessage(), cause);
    }

    private static boolean isVersionMismatch(Throwable failure) {
        return failure instanceof SessionStoreUnavailableException
                && failure.getCause() != null
                && VERSION_MISMATCH.equals(failure.getCause().getMessage());
    }
}
