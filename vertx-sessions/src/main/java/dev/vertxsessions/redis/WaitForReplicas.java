package dev.vertxsessions.redis;

import java.time.Duration;
import java.util.Objects;

/**
 * The Redis backend's durability setting: after each write, wait until {@code replicas} replicas acknowledged it
 * ({@code WAIT replicas timeout} on the connection that wrote), or fail the write with a 503. {@link #OFF} (no
 * replica count) writes and answers as soon as the master did, which is the default.
 *
 * <p>Built from the options {@code redis_wait_replicas} and {@code redis_wait_timeout_ms}
 * ({@link RedisSessionOptions#setWaitReplicas}). Immutable and thread-safe.
 */
record WaitForReplicas(int replicas, Duration timeout) {

    /** Do not wait for replicas: the default. */
    static final WaitForReplicas OFF = new WaitForReplicas(0, Duration.ZERO);

    WaitForReplicas {
        Objects.requireNonNull(timeout, "timeout");
        if (replicas < 0) {
            throw new IllegalArgumentException("redis_wait_replicas must be 0 (off) or more, got " + replicas);
        }
        if (replicas > 0 && timeout.toMillis() < 1) {
            // WAIT n 0 blocks until n replicas answered, however long that takes: never what a request wants.
            throw new IllegalArgumentException(
                    "redis_wait_timeout_ms must be at least 1 when redis_wait_replicas is set, got "
                            + timeout.toMillis());
        }
    }

    /** Returns whether writes wait for replicas. */
    boolean isOn() {
        return replicas > 0;
    }

    /** Checks this setting against redis_timeout_ms, which bounds the write and the WAIT together. */
    WaitForReplicas checkAgainst(Duration redisTimeout) {
        if (isOn() && timeout.compareTo(redisTimeout) >= 0) {
            throw new IllegalArgumentException("redis_wait_timeout_ms (" + timeout.toMillis() + ") must be less than "
                    + "redis_timeout_ms (" + redisTimeout.toMillis()
                    + "), which bounds the write and the wait together: "
                    + "lower it, e.g. to half of redis_timeout_ms");
        }
        return this;
    }
}
