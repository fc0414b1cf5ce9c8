package dev.vertxsessions.redis;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The Redis backend: one Redis hash per session, shared by every application server that points at the same
 * Redis, with the session's expiry as the key's TTL.
 *
 * <p>Choose it with {@code "manager": "redis"} in JSON, or in code with {@link #factory(RedisSessionOptions)} or,
 * for an application that already has a Vert.x Redis client, {@link #factory(Redis, RedisSessionOptions)}; it
 * needs {@code io.vertx:vertx-redis-client} on the class path. Every call goes through the non-blocking Vert.x
 * Redis client: loading a session is one {@code HGETALL}, a request that changes it is one Lua script, a read-only
 * request writes nothing. Saves merge per key, never bring back a session that a logout deleted, and updates are
 * atomic across servers. When Redis is down or slower than {@code redis_timeout_ms}, requests that use the session
 * get a 503 and the rest of the application keeps working; the client reconnects by itself. The design note,
 * {@code docs/redis-backend.md}, explains the data model, the scripts and the round trips.
 */
public final class RedisSessionInterface implements SessionBackend {

    private final RedisSessionRepository store;

    RedisSessionInterface(RedisSessionRepository store) {
        this.store = store;
    }

    /** Returns the factory of this backend with the default options ({@code redis://127.0.0.1:6379}). */
    public static SessionBackendFactory factory() {
        return factory(new RedisSessionOptions());
    }

    /**
     * Returns the factory of this backend. It creates one Vert.x Redis client per middleware from the options;
     * the middleware's {@code close()} closes it. Nothing connects at start-up: the first request does, so an
     * application starts even while Redis is down; await {@link dev.vertxsessions.SessionMiddleware#checkHealth()}
     * to refuse to start instead.
     */
    public static SessionBackendFactory factory(RedisSessionOptions options) {
        RedisSessionOptions copy = new RedisSessionOptions(options);
        return (vertx, config) -> create(vertx, config, copy, null, false);
    }

    /**
     * Returns the factory of this backend on an existing client, which the application keeps and closes; only the
     * key prefix and the timeout of {@code options} apply.
     */
    public static SessionBackendFactory factory(Redis client, RedisSessionOptions options) {
        Objects.requireNonNull(client, "client");
        RedisSessionOptions copy = new RedisSessionOptions(options);
        return (vertx, config) -> create(vertx, config, copy, client, false);
    }

    /**
     * Returns the factory of this backend configured by the JSON keys in the configuration (as
     * {@code "manager": "redis"} is); {@code twoStepMove} forces the Redis Cluster way of moving a session.
     */
    static SessionBackendFactory factory(boolean twoStepMove) {
        return (vertx, config) -> {
            JsonObject own = new JsonObject();
            config.getBackendOptions().forEach(entry -> {
                if (RedisSessionOptions.JSON_KEYS.contains(entry.getKey())) {
                    own.put(entry.getKey(), entry.getValue());
                }
            });
            return create(vertx, config, new RedisSessionOptions(own), null, twoStepMove);
        };
    }

    static RedisSessionInterface create(
            Vertx vertx, SessionConfig config, RedisSessionOptions options, Redis client, boolean twoStepMove) {
        Duration anonymous = config.getAnonymousExpiry();
        return new RedisSessionInterface(new RedisSessionRepository(
                vertx,
                options,
                client,
                twoStepMove,
                anonymous == null ? Duration.ZERO : anonymous,
                config.getClock(),
                config.isNearCache()));
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> capabilities = EnumSet.allOf(Capability.class);
        if (!store.hasUserIndex()) {
            capabilities.remove(Capability.USER_INDEX); // Redis Cluster: no script reaches the index atomically
        }
        return capabilities;
    }

    @Override
    public Future<Long> countSessions() {
        return store.countSessions();
    }

    @Override
    public Future<List<SessionInfo>> sessionsOf(String principal) {
        return store.hasUserIndex() ? store.sessionsOf(principal) : SessionBackend.super.sessionsOf(principal);
    }

    @Override
    public Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return store.hasUserIndex()
                ? store.deleteSessionsOf(principal, exceptId)
                : SessionBackend.super.deleteSessionsOf(principal, exceptId);
    }

    @Override
    public Future<SessionRecord> load(String id) {
        return store.load(id);
    }

    @Override
    public Future<Boolean> save(SessionChanges changes) {
        return store.save(changes);
    }

    @Override
    public Future<Void> delete(String id) {
        return store.delete(id);
    }

    /**
     * Compare-and-set on the key's hash field: the function is applied to the stored value and the result written
     * only if the field has not changed meanwhile, else applied again to the new value.
     */
    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        return store.update(session, key, update);
    }

    /** Hands the store the recorder it reports the sessions its limit ends with. */
    @Override
    public Future<Void> start(BackendRecorder recorder) {
        store.useRecorder(recorder);
        return Future.succeededFuture();
    }

    /**
     * Returns the near cache's channel when {@code near_cache} is on: every script that writes or deletes a session
     * publishes it ({@code docs/redis-backend.md}, "The near cache's channel").
     */
    @Override
    public SessionInvalidations invalidations() {
        return store.invalidations();
    }

    @Override
    public Future<Void> checkHealth() {
        return store.ping();
    }

    @Override
    public Future<Void> close() {
        return store.close();
    }
}
