package dev.vertxsessions.redis;

import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Redis backend's invalidation channel for the near cache: every script that writes or deletes a session
 * publishes {@code "<id> <version>"} on {@code <prefix>near-cache} ({@link RedisScripts}, NOTIFY), and this class
 * keeps one connection subscribed to it. Pub/Sub rather than {@code CLIENT TRACKING}: a message can carry the
 * version the write left, so a process recognises its own saves and keeps their result cached (a counter costs one
 * round trip, not two), and the messages of one connection arrive in the order Redis ran the scripts.
 *
 * <p>{@link #sync()} publishes a marker {@code "~<node> <n>"} through the pool and completes when it comes back on
 * the subscription: Redis delivers a connection's messages in order, so every write it applied before the marker has
 * been reported by then. A marker that does not come back within {@code redis_timeout_ms} closes the subscription,
 * which reconnects. A lost subscription is reported ({@code lost()}) before anything else. Thread-safe.
 */
final class RedisInvalidations implements SessionInvalidations {

    private static final long RECONNECT_DELAY_MILLIS = 200;

    private final Vertx vertx;
    private final GuardedRedisConnection connection;
    private final String channel;
    private final long timeoutMillis;
    private final RedisSubscription subscription;
    /** This process's name in markers: another process's markers are not ours to complete. */
    private final String node =
            Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());

    private final AtomicLong markerSequence = new AtomicLong();
    private final Map<Long, Promise<Void>> markers = new ConcurrentHashMap<>();

    private volatile Listener listener;

    RedisInvalidations(
            Vertx vertx, Redis client, GuardedRedisConnection connection, String channel, long timeoutMillis) {
        this.vertx = vertx;
        this.connection = connection;
        this.channel = channel;
        this.timeoutMillis = timeoutMillis;
        this.subscription = new RedisSubscription(
                vertx,
                client,
                "near cache",
                RECONNECT_DELAY_MILLIS,
                Level.DEBUG,
                conn -> Future.succeededFuture(channel),
                (from, payload) -> onMessage(payload),
                this::lost);
    }

    @Override
    public Future<Void> start(Listener listener) {
        this.listener = listener;
        return subscription.start();
    }

    private void onMessage(String payload) {
        int space = payload.indexOf(' ');
        if (space < 0) {
            return;
        }
        if (payload.startsWith("~")) {
            if (payload.substring(1, space).equals(node)) {
                Promise<Void> marker = markers.remove(parse(payload.substring(space + 1)));
                if (marker != null) {
                    marker.tryComplete();
                }
            }
            return;
        }
        String version = payload.substring(space + 1);
        Listener current = listener;
        if (current != null) {
            current.changed(payload.substring(0, space), version.isEmpty() ? null : version);
        }
    }

    private static long parse(String number) {
        try {
            return Long.parseLong(number);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public Future<Void> sync() {
        RedisConnection conn = subscription.current();
        if (conn == null) {
            return Future.failedFuture(new SessionStoreUnavailableException("the near cache's channel is down", null));
        }
        long sequence = markerSequence.incrementAndGet();
        Promise<Void> marker = Promise.promise();
        markers.put(sequence, marker);
        long timer = vertx.setTimer(timeoutMillis, t -> {
            if (markers.remove(sequence) != null) {
                marker.tryFail(new SessionStoreUnavailableException(
                        "the near cache's marker did not come back within " + timeoutMillis + " ms", null));
                subscription.suspect(conn, "lost a marker for redis_timeout_ms");
            }
        });
        connection
                .send(Request.cmd(Command.PUBLISH).arg(channel).arg("~" + node + " " + sequence))
                .onFailure(e -> {
                    if (markers.remove(sequence) != null) {
                        marker.tryFail(e);
                    }
                });
        return marker.future().andThen(ar -> vertx.cancelTimer(timer));
    }

    /** The subscription was lost: reports may have been missed, and no marker in flight can come back. */
    private void lost() {
        Listener current = listener;
        if (current != null) {
            current.lost();
        }
        markers.values()
                .forEach(m ->
                        m.tryFail(new SessionStoreUnavailableException("the near cache's channel was lost", null)));
        markers.clear();
    }

    @Override
    public Future<Void> close() {
        return subscription.close();
    }
}
