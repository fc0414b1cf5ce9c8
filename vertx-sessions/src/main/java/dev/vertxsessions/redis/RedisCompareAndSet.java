package dev.vertxsessions.redis;

import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;

/**
 * The Redis backend's {@code update()}: a compare-and-set of one session key with the UPDATE script, applied again
 * to the current value on a conflict (jittered backoff after the first retries, at most {@link #MAX_UPDATE_ATTEMPTS}
 * attempts). Updates of the same session key in this process are queued, each starting from what the previous one
 * wrote, so only other processes cause conflicts. See {@code docs/redis-backend.md}, "UPDATE". Thread-safe.
 */
final class RedisCompareAndSet {

    /** Attempts of one update before it fails; this many conflicts means other processes hammer the same key. */
    static final int MAX_UPDATE_ATTEMPTS = 100;
    /** The random pause between later update attempts grows up to 2^6 = 64 ms. */
    private static final int MAX_BACKOFF_SHIFT = 6;

    /** The outcome of an update: the new value and its JSON (null when the function returned null). */
    static final class Updated {
        final Object value;
        final byte[] json;

        Updated(Object value, byte[] json) {
            this.value = value;
            this.json = json;
        }
    }

    /** What the previous update of the same field in this process left in Redis. */
    private static final class Tail {
        final Future<Updated> done;

        Tail(Future<Updated> done) {
            this.done = done;
        }
    }

    private final Vertx vertx;
    private final GuardedRedisConnection connection;
    private final RedisKeys keys;
    private final ConcurrentHashMap<String, Tail> updatesInFlight = new ConcurrentHashMap<>();

    RedisCompareAndSet(Vertx vertx, GuardedRedisConnection connection, RedisKeys keys) {
        this.vertx = vertx;
        this.connection = connection;
        this.keys = keys;
    }

    /**
     * Applies {@code function} to the stored value of one session key and writes the result, atomically: one UPDATE
     * script per attempt, repeated on a conflict. Updates of the same session key in this process run one after
     * the other, each starting from what the previous one wrote, so only other processes cause conflicts.
     */
    Future<Updated> update(SessionChanges session, String key, UnaryOperator<Object> function) {
        Context context = vertx.getOrCreateContext();
        String queue = keys.key(session.id()) + '\n' + key;
        // The first guess of the compare-and-set: the value as the request saw it, written as Redis holds it.
        Object seen = session.data().get(key);
        byte[] guess = seen == null ? null : RedisHashFormat.writeValue(seen);
        Promise<Updated> promise = Promise.promise();
        Tail mine = new Tail(promise.future());
        Tail previous = updatesInFlight.put(queue, mine);
        promise.future().onComplete(ar -> updatesInFlight.remove(queue, mine));
        if (previous == null) {
            attempt(session, key, function, guess, 1).onComplete(promise);
        } else {
            previous.done.onComplete(ar -> context.runOnContext(v -> {
                byte[] expected = ar.succeeded() ? ar.result().json : guess;
                attempt(session, key, function, expected, 1).onComplete(promise);
            }));
        }
        return promise.future();
    }

    private Future<Updated> attempt(
            SessionChanges session, String key, UnaryOperator<Object> function, byte[] expected, int attempt) {
        Object value;
        byte[] json;
        try {
            Object input = expected == null ? null : RedisHashFormat.readValue(expected);
            value = function.apply(input);
            json = value == null ? null : RedisHashFormat.writeValue(value);
        } catch (IOException e) {
            return Future.failedFuture(new SessionException(
                    "stored value of session key '" + key + "' is not valid JSON; it cannot be updated", e));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        return connection
                .eval(RedisScripts.update(keys, session, key, expected, json))
                .compose(response -> {
                    int status = response.get(0).toInteger();
                    if (status == 1) {
                        return Future.succeededFuture(new Updated(value, json));
                    }
                    if (status < 0) {
                        return Future.failedFuture(new SessionException("session no longer exists (it was "
                                + "invalidated or expired); session key '" + key + "' was not updated"));
                    }

                    if (attempt >= MAX_UPDATE_ATTEMPTS) {
                        return Future.failedFuture(new SessionException("session key '" + key + "' changed under "
                                + MAX_UPDATE_ATTEMPTS + " attempts to update it; not updated"));
                    }
                    byte[] current = response.size() > 1 ? response.get(1).toBytes() : null;
                    if (attempt < 3) {
                        return attempt(session, key, function, current, attempt + 1);
                    }
                    // Other processes keep winning: pause a little, at random, so that they do not collide again.
                    long pause =
                            1L + ThreadLocalRandom.current().nextInt(1 << Math.min(attempt - 2, MAX_BACKOFF_SHIFT));
                    return vertx.timer(pause).compose(v -> attempt(session, key, function, current, attempt + 1));
                });
    }
}
