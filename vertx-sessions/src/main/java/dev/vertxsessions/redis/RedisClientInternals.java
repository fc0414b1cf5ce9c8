package dev.vertxsessions.redis;

import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.impl.PooledRedisConnection;

/**
 * The one place that touches vertx-redis-client internals, so that a client upgrade changes only this class.
 *
 * <p>In vertx-redis-client 5.0, {@code RedisConnection.close()} on a connection borrowed with
 * {@code Redis.connect()} does not close anything: {@code PooledRedisConnection.close()} hands the socket back to
 * the pool, with whatever commands are still waiting on it for an answer, and the next borrower queues behind
 * them. Only the internal {@code RedisConnectionInternal.forceClose()} closes the socket; the connection then
 * leaves the pool by itself (its close handler evicts it) and its waiting commands fail.
 */
final class RedisClientInternals {

    private RedisClientInternals() {}

    /**
     * Closes the socket under a borrowed connection instead of handing it back to the pool; returns false, having
     * handed it back, when the connection is of a kind whose socket cannot be reached (Cluster, whose one borrowed
     * connection wraps a pooled connection to every master, and Sentinel with {@code autoFailover}).
     */
    static boolean closeSocket(RedisConnection connection) {
        if (connection instanceof PooledRedisConnection pooled) {
            // Not close() afterwards: the socket closes asynchronously, and a close() before that would recycle a
            // connection the pool must not hand out again.
            pooled.actual().forceClose();
            return true;
        }
        connection.close();
        return false;
    }
}
