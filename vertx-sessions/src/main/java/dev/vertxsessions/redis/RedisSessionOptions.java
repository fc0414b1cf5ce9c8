package dev.vertxsessions.redis;

import dev.vertxsessions.OptionsReader;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.ProtocolVersion;
import io.vertx.redis.client.RedisOptions;
import java.time.Duration;
import java.util.Set;

/**
 * Options of the Redis backend, with the JSON keys {@code redis_url}, {@code redis_key_prefix},
 * {@code redis_pool_size}, {@code redis_timeout_ms} and {@code redis_options}.
 */
public class RedisSessionOptions {

    /** The JSON keys of these options. */
    public static final Set<String> JSON_KEYS = RedisSessionProvider.JSON_KEYS;

    /** Waiters for a pooled connection when redis_options does not say; Vert.x's default of 24 is too few. */
    private static final int DEFAULT_MAX_POOL_WAITING = 1024;

    private String url = "redis://127.0.0.1:6379";
    private String keyPrefix = "session:";
    private int poolSize = 16;
    private Duration timeout = Duration.ofSeconds(2);
    private JsonObject clientOptions;
    private int waitReplicas;
    private Duration waitTimeout = Duration.ofMillis(500);
    private boolean expiryEvents;

    /** Creates options with the defaults. */
    public RedisSessionOptions() {}

    /** Creates a copy of {@code other}. */
    public RedisSessionOptions(RedisSessionOptions other) {
        url = other.url;
        keyPrefix = other.keyPrefix;
        poolSize = other.poolSize;
        timeout = other.timeout;
        clientOptions = other.clientOptions == null ? null : other.clientOptions.copy();
        waitReplicas = other.waitReplicas;
        waitTimeout = other.waitTimeout;
        expiryEvents = other.expiryEvents;
    }

    /** Creates options from JSON; throws {@link IllegalArgumentException} naming the key for a bad value. */
    public RedisSessionOptions(JsonObject json) {
        OptionsReader options = OptionsReader.of(null, json, JSON_KEYS);
        if (options.has("redis_url")) {
            setUrl(options.string("redis_url", null));
        }
        if (options.has("redis_key_prefix")) {
            setKeyPrefix(options.string("redis_key_prefix", null));
        }
        setPoolSize((int) Math.min(Integer.MAX_VALUE, options.integer("redis_pool_size", poolSize)));
        setTimeout(options.millis("redis_timeout_ms", timeout));
        if (options.has("redis_options")) {
            setClientOptions(options.object("redis_options"));
        }
        setWaitReplicas((int) Math.min(Integer.MAX_VALUE, options.integer("redis_wait_replicas", waitReplicas)));
        setWaitTimeout(options.millis("redis_wait_timeout_ms", waitTimeout));
        setExpiryEvents(options.bool("redis_expiry_events", expiryEvents));
    }

    /** Returns these options as JSON; a password in {@code redis_url} is masked, so the result can be logged. */
    public JsonObject toJson() {
        JsonObject json = new JsonObject()
                .put("redis_url", OptionsReader.withoutPassword(url))
                .put("redis_key_prefix", keyPrefix)
                .put("redis_pool_size", poolSize)
                .put("redis_timeout_ms", timeout.toMillis())
                .put("redis_wait_replicas", waitReplicas)
                .put("redis_wait_timeout_ms", waitTimeout.toMillis())
                .put("redis_expiry_events", expiryEvents);
        if (clientOptions != null) {
            json.put("redis_options", clientOptions.copy());
        }
        return json;
    }

    /** Returns the Redis connection string. */
    public String getUrl() {
        return url;
    }

    /**
     * Sets the Redis connection string (JSON {@code redis_url}), e.g. {@code redis://:password@host:6379/0}.
     * Defaults to {@code redis://127.0.0.1:6379}.
     */
    public RedisSessionOptions setUrl(String url) {
        if (url == null || !(url.startsWith("redis://") || url.startsWith("rediss://") || url.startsWith("unix://"))) {
            throw new IllegalArgumentException("redis_url must start with redis://, rediss:// or unix://, got "
                    + (url == null ? "null" : "a value of " + url.length() + " characters"));
        }
        this.url = url;
        return this;
    }

    /** Returns the prefix of every Redis key the backend touches. */
    public String getKeyPrefix() {
        return keyPrefix;
    }

    /** Sets the prefix of every Redis key the backend touches (JSON {@code redis_key_prefix}). Defaults to {@code session:}. */
    public RedisSessionOptions setKeyPrefix(String keyPrefix) {
        if (keyPrefix == null || keyPrefix.isEmpty()) {
            throw new IllegalArgumentException(
                    "redis_key_prefix must not be empty: the Redis backend only touches keys under it");
        }
        this.keyPrefix = keyPrefix;
        return this;
    }

    /** Returns the size of the connection pool. */
    public int getPoolSize() {
        return poolSize;
    }

    /**
     * Sets the size of the connection pool (JSON {@code redis_pool_size}) for the calls that borrow a connection each
     * (calls off an event loop, scripts followed by WAIT, every call on Cluster); on standalone Redis and Sentinel
     * without autoFailover the pool holds one connection per event loop besides, which the calls made on that
     * event loop share. Defaults to 16.
     */
    public RedisSessionOptions setPoolSize(int poolSize) {
        if (poolSize < 1) {
            throw new IllegalArgumentException("redis_pool_size must be at least 1, got " + poolSize);
        }
        this.poolSize = poolSize;
        return this;
    }

    /** Returns how long one Redis call may take before the request gets a 503. */
    public Duration getTimeout() {
        return timeout;
    }

    /**
     * Sets how long one Redis call may take before the request gets a 503 (JSON {@code redis_timeout_ms}).
     * Defaults to 2000 ms.
     */
    public RedisSessionOptions setTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("redis_timeout_ms must be a positive number of milliseconds");
        }
        this.timeout = timeout;
        return this;
    }

    /** Returns extra Vert.x {@code RedisOptions} as JSON, or null. */
    public JsonObject getClientOptions() {
        return clientOptions;
    }

    /**
     * Sets Vert.x {@code RedisOptions} as JSON (JSON {@code redis_options}) for Sentinel, Cluster, TLS and the like;
     * {@code redis_pool_size} is applied on top, and so is {@code redis_url} unless these options list
     * {@code endpoints} (Sentinel and Cluster need several). Defaults to none.
     */
    public RedisSessionOptions setClientOptions(JsonObject clientOptions) {
        this.clientOptions = clientOptions == null ? null : clientOptions.copy();
        return this;
    }

    /** Returns how many replicas must acknowledge each write before it succeeds; 0 is off. */
    public int getWaitReplicas() {
        return waitReplicas;
    }

    /**
     * Sets how many replicas must acknowledge each write ({@code WAIT}, on the connection that wrote) before
     * {@code commit()} and the save succeed; fewer within {@code redis_wait_timeout_ms} fail the write with a 503
     * (JSON {@code redis_wait_replicas}). With all replicas, a confirmed write survives any failover. Defaults to 0
     * (off: a write succeeds once the master has it).
     */
    public RedisSessionOptions setWaitReplicas(int waitReplicas) {
        if (waitReplicas < 0) {
            throw new IllegalArgumentException("redis_wait_replicas must be 0 (off) or more, got " + waitReplicas);
        }
        this.waitReplicas = waitReplicas;
        return this;
    }

    /** Returns how long a write waits for its replicas. */
    public Duration getWaitTimeout() {
        return waitTimeout;
    }

    /**
     * Sets how long a write waits for {@code redis_wait_replicas} replicas (JSON {@code redis_wait_timeout_ms}); it
     * must be less than {@code redis_timeout_ms}, which bounds the write and the wait together. Defaults to 500 ms.
     */
    public RedisSessionOptions setWaitTimeout(Duration waitTimeout) {
        if (waitTimeout == null || waitTimeout.isNegative() || waitTimeout.isZero()) {
            throw new IllegalArgumentException("redis_wait_timeout_ms must be a positive number of milliseconds");
        }
        this.waitTimeout = waitTimeout;
        return this;
    }

    /** Returns whether the backend reports the sessions Redis expires. */
    public boolean isExpiryEvents() {
        return expiryEvents;
    }

    /**
     * Reports every session key Redis expires as an {@code EXPIRED} session event, heard through Redis's keyspace
     * notifications on one more connection (JSON {@code redis_expiry_events}). It turns on the server's
     * {@code notify-keyspace-events Ex} if it is off (CONFIG SET; where CONFIG is refused, set it on the server).
     * Defaults to false: without it, only a request that finds its session expired reports it. Not on Redis Cluster.
     */
    public RedisSessionOptions setExpiryEvents(boolean expiryEvents) {
        this.expiryEvents = expiryEvents;
        return this;
    }

    /** Returns the durability setting these options give. */
    WaitForReplicas waitForReplicas() {
        return waitReplicas == 0 ? WaitForReplicas.OFF : new WaitForReplicas(waitReplicas, waitTimeout);
    }

    /** Builds the client options: redis_options, then redis_url (unless it lists endpoints) and the pool size. */
    RedisOptions clientOptions() {
        JsonObject json = clientOptions == null ? new JsonObject() : clientOptions.copy();
        RedisOptions options;
        try {
            options = new RedisOptions(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "redis_options is not a valid JSON form of Vert.x RedisOptions (" + e.getMessage()
                            + "): check its field names and types",
                    e);
        }
        if (!json.containsKey("endpoints")) {
            // Sentinel and Cluster list several endpoints in redis_options; otherwise redis_url names the server.
            options.setConnectionString(url);
        }
        options.setMaxPoolSize(poolSize);
        if (!json.containsKey("maxPoolWaiting")) {
            options.setMaxPoolWaiting(DEFAULT_MAX_POOL_WAITING);
        }
        if (!json.containsKey("preferredProtocolVersion")) {
            // RESP2 returns HGETALL as an ordered array, so small sessions keep their keys in insertion order.
            options.setPreferredProtocolVersion(ProtocolVersion.RESP2);
        }
        JsonObject net = json.getJsonObject("netClientOptions");
        if (net == null || !net.containsKey("connectTimeout")) {
            // An unreachable host would otherwise hold a pooled connection attempt for 60 s.
            options.getNetClientOptions().setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        }
        return options;
    }
}
