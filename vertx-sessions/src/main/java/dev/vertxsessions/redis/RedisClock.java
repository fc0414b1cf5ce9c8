package dev.vertxsessions.redis;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.util.concurrent.TimeUnit;

/**
 * Redis's clock (TIME) as read in a reply received at {@code receivedNanos} (System.nanoTime). It was read before the
 * reply arrived, so {@code redisMillis + time elapsed here since} is never ahead of Redis's clock: a deadline
 * computed from it is, in Redis's clock, no later than the moment this process stops waiting. Neither this process's
 * wall clock nor its offset from Redis's matters; only a step of Redis's own clock between samples does. See
 * {@code docs/redis-backend.md}, "Deadlines in Redis's clock".
 */
record RedisClock(long redisMillis, long receivedNanos) {

    /** How long a sample is used before TIME is sent again: one round trip every half minute, not per call. */
    static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** Samples Redis's clock with TIME on {@code connection}. */
    static Future<RedisClock> sample(RedisConnection connection) {
        return connection.send(Request.cmd(Command.TIME)).map(time -> {
            long received = System.nanoTime();
            long redisMillis = time.get(0).toLong() * 1000 + time.get(1).toLong() / 1000;
            return new RedisClock(redisMillis, received);
        });
    }

    /** Returns whether this sample is still young enough at {@code nowNanos} (System.nanoTime). */
    boolean isFresh(long nowNanos) {
        return nowNanos - receivedNanos < MAX_AGE_NANOS;
    }

    /** Returns, in Redis's clock, the deadline of a call started at {@code startNanos} that may last timeoutMillis. */
    long deadlineMillis(long startNanos, long timeoutMillis) {
        return redisMillis + Math.floorDiv(startNanos - receivedNanos, 1_000_000L) + timeoutMillis; // rounds down
    }
}
