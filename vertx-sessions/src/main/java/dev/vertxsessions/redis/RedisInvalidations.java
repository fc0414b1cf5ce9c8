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
import io.vertx.redis.client.Response;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
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

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");
    private static final long RECONNECT_DELAY_MILLIS = 200;

    private final Vertx vertx;
    private final Redis client;
    private final GuardedRedisConnection connection;
    private final String channel;
    private final long timeoutMillis;
    /** This process's name in markers: another process's markers are not ours to complete. */
    private final String node =
            Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());

    private final AtomicLong markerSequence = new AtomicLong();
    private final Map<Long, Promise<Void>> markers = new ConcurrentHashMap<>();

    private volatile Listener listener;
    private volatile RedisConnection subscriber;
    private volatile boolean closed;

    RedisInvalidations(
            Vertx vertx, Redis client, GuardedRedisConnection connection, String channel, long timeoutMillis) {
        this.vertx = vertx;
        this.client = client;
        this.connection = connection;
        this.channel = channel;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public Future<Void> start(Listener listener) {
        this.listener = listener;
        return subscribe();
    }

    private Future<Void> subscribe() {
        if (closed) {
            return Future.succeededFuture();
        }
        return client.connect()
                .compose(conn -> {
                    synchronized (this) {
                        if (closed) {
                            RedisClientInternals.closeSocket(conn);
                            return Future.succeededFuture();
                        }
                        subscriber = conn;
                    }
                    conn.handler(this::onMessage);
                    conn.exceptionHandler(e -> dropped(conn, "failed: " + e));
                    conn.endHandler(v -> dropped(conn, "closed"));
                    return conn.send(Request.cmd(Command.SUBSCRIBE).arg(channel))
                            .<Void>mapEmpty()
                            .onFailure(e -> suspect(conn, "SUBSCRIBE failed: " + e));
                })
                .onFailure(e -> {
                    LOG.log(Level.DEBUG, "near cache: cannot subscribe to the invalidation channel yet: " + e);
                    reconnectLater();
                });
    }

    private void reconnectLater() {
        if (!closed) {
            vertx.setTimer(RECONNECT_DELAY_MILLIS, t -> subscribe());
        }
    }

    private void onMessage(Response message) {
        if (message == null
                || message.size() < 3
                || !"message".equals(message.get(0).toString())) {
            return; // subscribe confirmations and the like
        }
        String payload = message.get(2).toString(StandardCharsets.UTF_8);
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
        RedisConnection conn = subscriber;
        if (conn == null || closed) {
            return Future.failedFuture(new SessionStoreUnavailableException("the near cache's channel is down", null));
        }
        long sequence = markerSequence.incrementAndGet();
        Promise<Void> marker = Promise.promise();
        markers.put(sequence, marker);
        long timer = vertx.setTimer(timeoutMillis, t -> {
            if (markers.remove(sequence) != null) {
                marker.tryFail(new SessionStoreUnavailableException(
                        "the near cache's marker did not come back within " + timeoutMillis + " ms", null));
                suspect(conn, "a marker did not come back within redis_timeout_ms");
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

    /** Closes a subscription that cannot be trusted; it reconnects. */
    private void suspect(RedisConnection conn, String why) {
        RedisClientInternals.closeSocket(conn);
        dropped(conn, why);
    }

    private void dropped(RedisConnection conn, String why) {
        synchronized (this) {
            if (subscriber != conn) {
                return; // already handled
            }
            subscriber = null;
        }
        LOG.log(Level.DEBUG, "near cache: the invalidation channel " + why + "; reconnecting");
        Listener current = listener;
        if (current != null) {
            current.lost();
        }
        markers.values()
                .forEach(m ->
                        m.tryFail(new SessionStoreUnavailableException("the near cache's channel was lost", null)));
        markers.clear();
        reconnectLater();
    }

    @Override
    public Future<Void> close() {
        RedisConnection conn;
        synchronized (this) {
            closed = true;
            conn = subscriber;
            subscriber = null;
        }
        if (conn != null) {
            RedisClientInternals.closeSocket(conn);
        }
        return Future.succeededFuture();
    }

    /** Closes the subscription's socket, as a network failure would (tests). */
    void dropForTest() {
        RedisConnection conn = subscriber;
        if (conn != null) {
            suspect(conn, "was closed by a test");
        }
    }
}
