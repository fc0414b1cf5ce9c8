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

    private final RedisKeys keys;
    private final Supplier<BackendRecorder> recorder;
    private final RedisSubscription subscription;

    private volatile boolean refusedLogged;

    RedisExpiryEvents(Vertx vertx, Redis client, RedisKeys keys, Supplier<BackendRecorder> recorder) {
        this.keys = keys;
        this.recorder = recorder;
        this.subscription = new RedisSubscription(
                vertx,
                client,
                "Redis expiry events",
                RETRY_MILLIS,
                Level.WARNING,
                this::prepare,
                this::heard,
                () -> {});
    }

    /** Subscribes in the background (the application starts even while Redis is down). */
    void start() {
        subscription.start();
    }

    /** Reads the connection's database and turns the notifications on; returns the channel to subscribe to. */
    private Future<String> prepare(RedisConnection opened) {
        return opened.send(Request.cmd(Command.CLIENT).arg("INFO"))
                .map(info -> databaseOf(info.toString()))
                .compose(db -> enableNotifications(opened).map(v -> "__keyevent@" + db + "__:expired"));
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

    /** Reports a session key Redis expired (the one channel subscribed to names nothing else). */
    private void heard(String channel, String key) {
        String prefix = keys.keyPrefix();
        if (key.startsWith(prefix)) {
            String id = key.substring(prefix.length());
            if (SessionIds.isWellFormed(id)) {
                recorder.get().reportExpired(id, null); // the key and its principal are gone
            }
        }
    }

    /** Stops listening and closes the subscription. */
    Future<Void> close() {
        return subscription.close();
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
