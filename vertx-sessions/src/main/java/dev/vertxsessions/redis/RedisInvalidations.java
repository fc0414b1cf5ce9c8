package dev.vertxsessions.redis;

import dev.vertxsessions.InvalidationMarkers;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.lang.System.Logger.Level;

/**
 * The Redis backend's invalidation channel for the near cache: every script that writes or deletes a session
 * publishes {@code "<id> <version>"} on {@code <prefix>near-cache} ({@link RedisScripts}, NOTIFY), and this class
 * keeps one connection subscribed to it. Pub/Sub rather than {@code CLIENT TRACKING}: a message can carry the
 * version the write left, so a process recognises its own saves and keeps their result cached (a counter costs one
 * round trip, not two), and the messages of one connection arrive in the order Redis ran the scripts.
 *
 * <p>{@link #sync()} publishes a marker {@code "~<token>"} ({@link InvalidationMarkers}) and completes when it comes
 * back on the subscription: Redis delivers a connection's messages in order, so every write it applied before the marker has
 * been reported by then. A marker that does not come back within {@code redis_timeout_ms} closes the subscription,
 * which reconnects. A lost subscription is reported ({@code lost()}) before anything else. Thread-safe.
 */
final class RedisInvalidations implements SessionInvalidations {

    private static final long RECONNECT_DELAY_MILLIS = 200;

    private final GuardedRedisConnection connection;
    private final String channel;
    private final RedisSubscription subscription;
    private final InvalidationMarkers markers;

    private volatile Listener listener;

    RedisInvalidations(
            Vertx vertx, Redis client, GuardedRedisConnection connection, String channel, long timeoutMillis) {
        this.connection = connection;
        this.channel = channel;
        this.markers = new InvalidationMarkers(vertx, timeoutMillis);
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
        markers.handle(payload, listener);
    }

    @Override
    public Future<Void> sync() {
        RedisConnection conn = subscription.current();
        if (conn == null) {
            return Future.failedFuture(new SessionStoreUnavailableException("the near cache's channel is down", null));
        }
        return markers.send(
                token -> connection.send(
                        Request.cmd(Command.PUBLISH).arg(channel).arg("~" + token)),
                token -> subscription.suspect(conn, "lost a marker for redis_timeout_ms"));
    }

    /**
     * Reports the reply of a save of this process to the listener ({@link Listener#saved}): the SAVE script
     * returns the version it found, so the near cache need not wait for the save's own message.
     */
    void saved(String id, String version, String previous) {
        Listener current = listener;
        if (current != null) {
            current.saved(id, version, previous);
        }
    }

    /** The subscription was lost: reports may have been missed, and no marker in flight can come back. */
    private void lost() {
        Listener current = listener;
        if (current != null) {
            current.lost();
        }
        markers.failAll("the near cache's channel was lost");
    }

    @Override
    public Future<Void> close() {
        return subscription.close();
    }
}
