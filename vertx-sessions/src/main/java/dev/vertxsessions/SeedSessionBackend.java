package dev.vertxsessions;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Runs a backend written the seed's way (a {@link BaseSessionInterface} subclass with {@code load()} and
 * {@code save()}) on the {@link SessionBackend} SPI: each call runs on a fresh instance filled with that call's
 * state. It has {@link Capability#ATOMIC_UPDATE} when the subclass overrides {@code updateStored}.
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

    /** Returns the object route handlers see: an instance of the backend's own class. */
    BaseSessionInterface newRequestSession() {
        return manager.newSession();
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilities;
    }

    @Override
    public Future<SessionRecord> load(String id) {
        BaseSessionInterface session = fresh();
        session.setCandidateKey(id);
        return session.load().map(v -> session.toRecord());
    }

    @Override
    public Future<Boolean> save(SessionChanges changes) {
        BaseSessionInterface session = fresh();
        session.fill(changes);
        String previousId = changes.previousId();
        if (previousId == null) {
            return session.save().map(true);
        }
        // A move: replace() saves under the new key as a new session, so it cannot see that a logout deleted the
        // previous key meanwhile, and would bring the session back under the new key. Look first; move nothing if
        // it is gone. (A logout between the look and the move can still win; a replace() that moves atomically
        // closes that window.)
        return isStored(previousId)
                .compose(stored -> stored ? session.replace(previousId).map(true) : Future.succeededFuture(false));
    }

    /** Returns whether the session {@code id} is stored and has not expired. */
    private Future<Boolean> isStored(String id) {
        BaseSessionInterface probe = fresh();
        probe.setCandidateKey(id);
        return probe.load().map(v -> probe.toRecord() != null);
    }

    @Override
    public Future<Void> delete(String id) {
        return fresh().delete(id);
    }

    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        BaseSessionInterface instance = fresh();
        instance.fill(session);
        return instance.updateStored(key, update);
    }

    @Override
    public Future<Void> start(SessionMetrics metrics) {
        this.metrics = metrics;
        manager.useMetrics(metrics);
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> close() {
        return manager.close();
    }

    private BaseSessionInterface fresh() {
        BaseSessionInterface session = manager.newSession();
        session.bind(vertx, config, metrics, null);
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
