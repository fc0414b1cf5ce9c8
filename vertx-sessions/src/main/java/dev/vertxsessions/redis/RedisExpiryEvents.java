package dev.vertxsessions.redis;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.lang.System.Logger.Level;
import java.util.function.Supplier;

/**
 * Hears Redis expire session keys ({@code redis_expiry_events}): one connection subscribed to the keyspace
 * notifications of expired keys ({@code __keyevent@<db>__:expired}) reports each session key under the prefix as
 * expired. Redis sends those notifications only when its {@code notify-keyspace-events} setting has {@code E} and
 * {@code x}; the subscriber adds them with {@code CONFIG SET} when they are missing, and logs an error naming the
 * setting when Redis refuses (managed services disable CONFIG: set it there). A lost connection is opened again
 * every second; expiries while it is down are not heard. Not on Redis Cluster (each master sends its own).
 * See {@code docs/redis-backend.md}, "Expiry events".
 */
final class RedisExpiryEvents {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");
    private static final long RETRY_MILLIS = 1000;

    private final Vertx vertx;
    private final Redis client;
    private final RedisKeys keys;
    private final Supplier<BackendRecorder> recorder;

    private final Object lock = new Object();
    private RedisConnection connection;
    private boolean closed;
    private boolean refusedLogged;

    RedisExpiryEvents(Vertx vertx, Redis client, RedisKeys keys, Supplier<BackendRecorder> recorder) {
        this.vertx = vertx;
        this.client = client;
        this.keys = keys;
        this.recorder = recorder;
    }

    /** Subscribes in the background (the application starts even while Redis is down). */
    void start() {
        connect();
    }

    private void connect() {
        synchronized (lock) {
            if (closed) {
                return;
            }
        }
        client.connect()
                .compose(opened ->
                        subscribe(opened).onFailure(e -> opened.close()).map(opened))
                .onComplete(ar -> {
                    if (ar.failed()) {
                        LOG.log(
                                Level.WARNING,
                                "Redis expiry events: cannot subscribe ({0}); trying again in 1 s",
                                ar.cause().getMessage());
                        retryLater();
                        return;
                    }
                    synchronized (lock) {
                        if (!closed) {
                            connection = ar.result();
                            return;
                        }
                    }
                    ar.result().close();
                });
    }

    private Future<Void> subscribe(RedisConnection opened) {
        return opened.send(Request.cmd(Command.CLIENT).arg("INFO"))
                .map(info -> databaseOf(info.toString()))
                .compose(db -> enableNotifications(opened).map(db))
                .compose(db -> {
                    String channel = "__keyevent@" + db + "__:expired";
                    opened.handler(message -> heard(channel, message));
                    opened.exceptionHandler(e -> lost(opened));
                    opened.endHandler(v -> lost(opened));
                    return opened.send(Request.cmd(Command.SUBSCRIBE).arg(channel))
                            .mapEmpty();
                });
    }

    /** Adds E and x to notify-keyspace-events when missing; a refusal is logged once, not fatal. */
    private Future<Void> enableNotifications(RedisConnection opened) {
        return opened.send(Request.cmd(Command.CONFIG).arg("GET").arg("notify-keyspace-events"))
                .compose(reply -> {
                    String flags = settingValue(reply);
                    if (hasExpiredEvents(flags)) {
                        return Future.succeededFuture();
                    }
                    String wanted = (flags.replace("E", "") + "Ex");
                    return opened.send(Request.cmd(Command.CONFIG)
                                    .arg("SET")
                                    .arg("notify-keyspace-events")
                                    .arg(wanted))
                            .<Void>mapEmpty();
                })
                .recover(e -> {
                    if (!refusedLogged) {
                        refusedLogged = true;
                        LOG.log(
                                Level.ERROR,
                                "Redis expiry events: Redis refused to read or change the setting "
                                        + "notify-keyspace-events ({0}); set it to include \"Ex\" on the server (e.g. "
                                        + "notify-keyspace-events Ex in redis.conf), or no expiry is heard",
                                e.getMessage());
                    }
                    return Future.succeededFuture();
                });
    }

    private void heard(String channel, Response message) {
        // RESP2: ["message", channel, key]; RESP3 pushes the same three elements.
        if (message == null
                || message.size() < 3
                || !"message".equals(message.get(0).toString())) {
            return;
        }
        if (!channel.equals(message.get(1).toString())) {
            return;
        }
        String key = message.get(2).toString();
        String prefix = keys.keyPrefix();
        if (key.startsWith(prefix)) {
            String id = key.substring(prefix.length());
            if (SessionIds.isWellFormed(id)) {
                recorder.get().reportExpired(id, null); // the key and its principal are gone
            }
        }
    }

    private void lost(RedisConnection lostConnection) {
        synchronized (lock) {
            if (connection != lostConnection || closed) {
                return;
            }
            connection = null;
        }
        LOG.log(Level.WARNING, "Redis expiry events: the subscription was lost; subscribing again in 1 s");
        retryLater();
    }

    private void retryLater() {
        synchronized (lock) {
            if (closed) {
                return;
            }
        }
        vertx.setTimer(RETRY_MILLIS, t -> connect());
    }

    /** Stops listening and closes the subscription. */
    Future<Void> close() {
        RedisConnection open;
        synchronized (lock) {
            closed = true;
            open = connection;
            connection = null;
        }
        return open == null ? Future.succeededFuture() : open.close();
    }

    /** Reads {@code db=N} from a CLIENT INFO line; 0 when absent. */
    static int databaseOf(String clientInfo) {
        for (String field : clientInfo.trim().split(" ")) {
            if (field.startsWith("db=")) {
                try {
                    return Integer.parseInt(field.substring(3));
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }

    /** Returns the value of a CONFIG GET reply (a name/value pair, as a list or a map). */
    private static String settingValue(Response reply) {
        if (reply == null) {
            return "";
        }
        try {
            if (reply.containsKey("notify-keyspace-events")) {
                return reply.get("notify-keyspace-events").toString();
            }
        } catch (RuntimeException notAMap) {
            // RESP2: a list of name and value
        }
        return reply.size() >= 2 ? reply.get(1).toString() : "";
    }

    /** Returns whether {@code flags} make Redis send keyevent notifications of expired keys. */
    static boolean hasExpiredEvents(String flags) {
        return flags.contains("E") && (flags.contains("x") || flags.contains("A"));
    }
}
