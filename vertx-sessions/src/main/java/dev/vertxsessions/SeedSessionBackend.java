package dev.vertxsessions;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Runs a backend written the seed's way (a {@link BaseSessionInterface} subclass with {@code load()} and
 * {@code save()}) on the {@link SessionBackend} SPI. A request's load (and its logout's delete) runs on the request's
 * own instance, the one route handlers see; a save, a move (its look at the previous key, then {@code replace()})
 * and an atomic update each run on one fresh instance filled with that call's state, because the request's instance
 * goes on changing while the write is in flight. It has {@link Capability#ATOMIC_UPDATE} when the subclass overrides
 * {@code updateStored}.
 */
final class SeedSessionBackend implements SessionBackend {

    private final Vertx vertx;
    private final SessionConfig config;
    private final SessionManager manager;
    private final Set<Capability> capabilities;
    private volatile SessionMetrics metrics;

    SeedSessionBackend(Vertx vertx, SessionConfig config, SessionManager manager) {
        this.vertx = vertx;
        this.config = config;
        this.manager = manager;
        BaseSessionInterface sample = manager.newSession();
        if (sample == null) {
            throw new IllegalArgumentException("manager: the session factory returned null instead of a session");
        }
        this.capabilities = overridesUpdateStored(sample.getClass())
                ? EnumSet.of(Capability.SERVER_SIDE, Capability.ATOMIC_UPDATE)
                : EnumSet.of(Capability.SERVER_SIDE);
    }

    /** Returns the object route handlers see: an instance of the backend's own class, bound to {@code state}. */
    BaseSessionInterface newRequestSession(SessionState state) {
        return bound(manager.newSession(), state);
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilities;
    }

    @Override
    public Future<SessionRecord> load(String id) {
        return load(id, fresh());
    }

    /**
     * Loads session {@code id} into {@code session} (the request's own instance, so the request builds no other):
     * returns what it loaded, or null with the session left fresh.
     */
    Future<SessionRecord> load(String id, BaseSessionInterface session) {
        SessionState state = session.state();
        state.beginLoad(id);
        return session.load().map(v -> state.endLoad());
    }

    @Override
    public Future<Boolean> save(SessionChanges changes) {
        BaseSessionInterface session = fresh();
        String previousId = changes.previousId();
        if (previousId == null) {
            session.state().fill(changes);
            session.state().returnConflicts();
            return session.save().map(v -> !session.state().conflicted());
        }
        // A move: replace() saves under the new key as a new session, so it cannot see that a logout deleted the
        // previous key meanwhile, and would bring the session back under the new key. Look first (a load() of the
        // previous key on the same instance, whose state is then refilled); move nothing if it is gone. (A logout
        // between the look and the move can still win; a replace() that moves atomically closes that window.)
        return load(previousId, session).compose(found -> {
            if (found == null) {
                return Future.succeededFuture(false);
            }
            session.state().fill(changes);
            session.state().returnConflicts();
            return session.replace(previousId).map(v -> !session.state().conflicted());
        });
    }

    @Override
    public Future<Void> delete(String id) {
        return fresh().delete(id);
    }

    /** Deletes session {@code id} through {@code session}, the request's own instance. */
    Future<Void> delete(String id, BaseSessionInterface session) {
        return session.delete(id);
    }

    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        BaseSessionInterface instance = fresh();
        instance.state().fill(session);
        return instance.updateStored(key, update);
    }

    /** Gives the adapter the middleware's counters, for the conflicts and tampered cookies its sessions report. */
    void useMetrics(SessionMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public Future<Void> start(BackendRecorder recorder) {
        manager.useRecorder(recorder);
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> close() {
        return manager.close();
    }

    /** Returns a new instance for one backend call, attached to no request. */
    private BaseSessionInterface fresh() {
        return bound(manager.newSession(), new SessionState(vertx, config, metrics, null));
    }

    /** Binds {@code session} to {@code state} and returns it. */
    static BaseSessionInterface bound(BaseSessionInterface session, SessionState state) {
        session.bind(state);
        return session;
    }

    private static boolean overridesUpdateStored(Class<?> type) {
        for (Class<?> c = type; c != null && c != BaseSessionInterface.class; c = c.getSuperclass()) {
            try {
                return c.getDeclaredMethod("updateStored", String.class, UnaryOperator.class) != null;
            } catch (NoSuchMethodException e) {
                // not declared here: look further up
            }
        }
        return false;
    }
}
