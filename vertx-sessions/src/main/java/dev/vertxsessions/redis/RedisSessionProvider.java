package dev.vertxsessions.redis;

import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendProvider;
import dev.vertxsessions.SessionConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Makes the Redis backend choosable as {@code "manager": "redis"}, configured by {@link RedisSessionOptions}. It
 * names its keys even without {@code vertx-redis-client} on the class path, so a configuration is read the same
 * way; choosing the backend then fails at start-up naming the dependency to add.
 */
public final class RedisSessionProvider implements SessionBackendProvider {

    /** The JSON keys of the Redis backend (here, so reading them needs no Redis client class). */
    static final Set<String> JSON_KEYS = Collections.unmodifiableSet(new LinkedHashSet<>(List.of(
            "redis_url",
            "redis_key_prefix",
            "redis_pool_size",
            "redis_timeout_ms",
            "redis_options",
            "redis_wait_replicas",
            "redis_wait_timeout_ms",
            "redis_expiry_events")));

    @Override
    public String name() {
        return "redis";
    }

    @Override
    public Set<String> jsonKeys() {
        return JSON_KEYS;
    }

    @Override
    public SessionBackend create(Vertx vertx, SessionConfig config, JsonObject options) {
        try {
            Class.forName("io.vertx.redis.client.Redis", false, RedisSessionProvider.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException(
                    "manager 'redis' needs io.vertx:vertx-redis-client on the class path "
                            + "(it is an optional dependency of vertx-sessions): add it to your build",
                    e);
        }
        return RedisSessionInterface.create(vertx, config, new RedisSessionOptions(options), null, false);
    }
}
