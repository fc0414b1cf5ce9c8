/**
 * The Redis backend, {@link dev.vertxsessions.redis.RedisSessionInterface}: sessions shared by several application
 * servers, stored as Redis hashes whose TTL is the session's expiry. Needs {@code io.vertx:vertx-redis-client}.
 */
package dev.vertxsessions.redis;
