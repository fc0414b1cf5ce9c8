package dev.vertxsessions.redis;

import dev.vertxsessions.SessionChanges;

/**
 * Where the Redis backend's keys live and how long: a session at {@code <redis_key_prefix><id>}, a user's index at
 * {@code <redis_key_prefix>user:<principal>} (none on Redis Cluster), and the TTL of a session's key, which lets
 * {@code volatile-ttl} evict anonymous sessions first. Only keys under the prefix are ever named. See
 * {@code docs/redis-backend.md}, "Keys and hash layout" and "Eviction". Immutable and thread-safe.
 */
final class RedisKeys {

    private final String keyPrefix;
    /** {@code <prefix>user:}, or empty on Redis Cluster, where a script cannot reach a key in another hash slot. */
    private final String indexPrefix;
    /** Added to a promoted session's key TTL: anonymous_expiry, so volatile-ttl evicts anonymous keys first. */
    private final long promotedTtlMarginMillis;

    /** Where the scripts publish the sessions they write, for near caches; empty when no near cache listens. */
    private final String channel;

    RedisKeys(String keyPrefix, boolean userIndex, long promotedTtlMarginMillis) {
        this(keyPrefix, userIndex, promotedTtlMarginMillis, false);
    }

    RedisKeys(String keyPrefix, boolean userIndex, long promotedTtlMarginMillis, boolean nearCache) {
        this.keyPrefix = keyPrefix;
        this.channel = nearCache ? keyPrefix + "near-cache" : "";
        this.indexPrefix = userIndex ? keyPrefix + "user:" : "";
        this.promotedTtlMarginMillis = promotedTtlMarginMillis;
    }

    /** Returns the Redis key of a session. */
    String key(String id) {
        return keyPrefix + id;
    }

    /** Returns the prefix of every session key, which the scripts strip to get an ID back. */
    String keyPrefix() {
        return keyPrefix;
    }

    /** Returns whether sessions are indexed by user (not on Redis Cluster). */
    boolean hasUserIndex() {
        return !indexPrefix.isEmpty();
    }

    /** Returns the prefix of the users' index keys, the empty string when there is no user index (as scripts take it). */
    String indexPrefix() {
        return indexPrefix;
    }

    /**
     * Returns the Pub/Sub channel the scripts publish {@code "<id> <version>"} on for every session they write or
     * delete ({@code <prefix>near-cache}), or the empty string when the near cache is off (nothing is published).
     */
    String channel() {
        return channel;
    }

    /** Returns the key of a user's index: a sorted set of session IDs scored by their expiry in Redis's clock. */
    String indexKey(String principal) {
        return indexPrefix + principal;
    }

    /**
     * Returns the TTL of a session's key: its time to live, plus {@code anonymous_expiry} for a promoted session,
     * so that every promoted key outlives every anonymous one (docs/redis-backend.md, "Eviction"). The session's own
     * expiry is still {@code m:expires}, checked on load.
     */
    long ttlMillis(SessionChanges changes) {
        long ttl = changes.timeToLive().toMillis();
        return changes.isAnonymous() ? ttl : ttl + promotedTtlMarginMillis;
    }
}
