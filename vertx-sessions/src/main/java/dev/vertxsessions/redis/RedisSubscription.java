package dev.vertxsessions.redis;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One connection taken from the client's pool and held subscribed to one Pub/Sub channel, opened again after a
 * loss: what the near cache's invalidations ({@link RedisInvalidations}) and the expiry events
 * ({@link RedisExpiryEvents}) listen on. Each new connection first runs {@code prepare}, which returns the channel to
 * subscribe to; each message's channel and payload go to {@code onMessage}, on the connection's event loop. A
 * connection that fails or ends is reported to {@code onLost} and replaced after {@code retryMillis}; messages
 * published meanwhile are lost (Pub/Sub keeps nothing). Thread-safe.
 */
final class RedisSubscription {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    private final Vertx vertx;
    private final Redis client;
    /** Names the subscription in log lines ("near cache", "Redis expiry events"). */
    private final String name;

    private final long retryMillis;
    /** The level a failed or lost subscription is logged at. */
    private final Level lossLevel;

    private final Function<RedisConnection, Future<String>> prepare;
    private final BiConsumer<String, String> onMessage;
    private final Runnable onLost;

    private volatile RedisConnection subscriber;
    private volatile boolean closed;

    RedisSubscription(
            Vertx vertx,
            Redis client,
            String name,
            long retryMillis,
            Level lossLevel,
            Function<RedisConnection, Future<String>> prepare,
            BiConsumer<String, String> onMessage,
            Runnable onLost) {
        this.vertx = vertx;
        this.client = client;
        this.name = name;
        this.retryMillis = retryMillis;
        this.lossLevel = lossLevel;
        this.prepare = prepare;
        this.onMessage = onMessage;
        this.onLost = onLost;
    }

    /**
     * Connects and subscribes; completes once subscribed, and fails when this first attempt fails (it is tried again
     * after {@code retryMillis} all the same, so an application starts while Redis is down).
     */
    Future<Void> start() {
        return subscribe();
    }

    /** Returns the subscribed connection, or null while there is none. */
    RedisConnection current() {
        return subscriber;
    }

    private Future<Void> subscribe() {
        if (closed) {
            return Future.succeededFuture();
        }
        return client.connect()
                .compose(conn -> prepare.apply(conn)
                        .onFailure(e -> closeSocket(conn))
                        .compose(channel -> subscribe(conn, channel)))
                .onFailure(e -> {
                    LOG.log(
                            lossLevel,
                            name + ": cannot subscribe (" + e.getMessage() + "); trying again in " + retryMillis
                                    + " ms");
                    retryLater();
                });
    }

    private Future<Void> subscribe(RedisConnection conn, String channel) {
        synchronized (this) {
            if (closed) {
                closeSocket(conn);
                return Future.succeededFuture();
            }
            subscriber = conn;
        }
        conn.handler(this::heard);
        conn.exceptionHandler(e -> dropped(conn, "failed: " + e));
        conn.endHandler(v -> dropped(conn, "closed"));
        return conn.send(Request.cmd(Command.SUBSCRIBE).arg(channel))
                .<Void>mapEmpty()
                .onFailure(e -> {
                    synchronized (this) {
                        if (subscriber == conn) {
                            subscriber = null; // not a loss to report: nothing was heard on it; subscribe() retries
                        }
                    }
                    closeSocket(conn);
                });
    }

    private void heard(Response message) {
        // RESP2: ["message", channel, payload]; RESP3 pushes the same three elements. Other replies (subscribe
        // confirmations) are not messages.
        if (message == null
                || message.size() < 3
                || !"message".equals(message.get(0).toString())) {
            return;
        }
        onMessage.accept(message.get(1).toString(), message.get(2).toString(StandardCharsets.UTF_8));
    }

    private void retryLater() {
        if (!closed) {
            vertx.setTimer(retryMillis, t -> subscribe());
        }
    }

    /** Closes a subscription that cannot be trusted (a marker that did not come back); it is opened again. */
    void suspect(RedisConnection conn, String why) {
        closeSocket(conn);
        dropped(conn, why);
    }

    private void dropped(RedisConnection conn, String why) {
        synchronized (this) {
            if (subscriber != conn) {
                return; // already handled
            }
            subscriber = null;
        }
        LOG.log(lossLevel, name + ": the subscription " + why + "; subscribing again in " + retryMillis + " ms");
        onLost.run();
        retryLater();
    }

    /** Stops: closes the subscribed connection and opens no other. */
    Future<Void> close() {
        RedisConnection conn;
        synchronized (this) {
            closed = true;
            conn = subscriber;
            subscriber = null;
        }
        if (conn != null) {
            closeSocket(conn);
        }
        return Future.succeededFuture();
    }

    /** Closes the connection's socket, so that a subscribed connection never goes back to the pool. */
    private static void closeSocket(RedisConnection conn) {
        if (!RedisClientInternals.closeSocket(conn)) {
            conn.close(); // a connection whose socket cannot be reached (not used on Cluster)
        }
    }
}
