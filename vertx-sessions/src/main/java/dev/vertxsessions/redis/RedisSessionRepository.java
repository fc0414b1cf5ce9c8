package dev.vertxsessions.redis;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The Redis backend's store: one Redis hash per session ({@link RedisHashFormat}), written only by Lua scripts
 * ({@link RedisScripts}) that merge per key, never bring back a deleted session and move a session atomically on
 * regenerate, each call guarded by {@link GuardedRedisConnection}. Loading is one HGETALL, a save
 * one script. The design note is {@code docs/redis-backend.md}.
 */
final class RedisSessionRepository {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    /** What the store reports sessions its limit ended with; {@link BackendRecorder#NONE} until start. */
    private volatile BackendRecorder recorder = BackendRecorder.NONE;

    private final RedisKeys keys;
    private final GuardedRedisConnection connection;
    private final RedisCompareAndSet compareAndSet;
    private final RedisUserIndex userIndex;
    /** Set on Redis Cluster (or forced by tests): regenerate() claims the old hash, then saves the new one. */
    private final RedisClusterMove clusterMove;
    /** Whether the client is a Redis Cluster client (its keys spread over several masters). */
    private final boolean cluster;
    /** Hears Redis expire session keys (redis_expiry_events); null when off. */
    private final RedisExpiryEvents expiryEvents;
    /** The near cache's channel, when it is on. */
    private final RedisInvalidations invalidations;

    RedisSessionRepository(
            Vertx vertx,
            RedisSessionOptions options,
            Redis client,
            boolean forceTwoStepMove,
            Duration promotedTtlMargin,
            Clock clock,
            boolean nearCache) {
        RedisOptions clientOptions = options.clientOptions();
        this.cluster = clientOptions.getType() == RedisClientType.CLUSTER;
        if (nearCache && cluster) {
            throw new IllegalArgumentException("near_cache is not available on Redis Cluster: its Pub/Sub messages "
                    + "from different masters arrive in no common order; leave near_cache off");
        }
        boolean twoStepMove = forceTwoStepMove || cluster;
        this.keys = new RedisKeys(options.getKeyPrefix(), !twoStepMove, promotedTtlMargin.toMillis(), nearCache);
        // One pipelined connection per event loop where a connection is one socket to the one master: standalone,
        // and Sentinel without autoFailover. Cluster (a connection per master, behind one that follows the slot
        // map), replication and autoFailover keep a pooled connection per call, and so does a client the
        // application handed in, whose pool this store cannot size.
        boolean perEventLoop = !GuardedRedisConnection.POOL_ONLY
                && client == null
                && (clientOptions.getType() == RedisClientType.STANDALONE
                        || (clientOptions.getType() == RedisClientType.SENTINEL && !clientOptions.isAutoFailover()));
        if (perEventLoop) {
            // Each event loop that calls holds one connection; redis_pool_size remains for the rest.
            clientOptions.setMaxPoolSize(options.getPoolSize() + GuardedRedisConnection.eventLoopCount(vertx));
        }
        Redis redis = client != null ? client : Redis.createClient(vertx, clientOptions);
        this.connection = new GuardedRedisConnection(
                vertx,
                redis,
                client == null,
                perEventLoop,
                options.getTimeout().toMillis(),
                options.waitForReplicas().checkAgainst(options.getTimeout()));
        this.compareAndSet = new RedisCompareAndSet(vertx, connection, keys);
        this.userIndex = new RedisUserIndex(connection, keys, clock);
        this.clusterMove = twoStepMove ? new RedisClusterMove(connection, keys) : null;
        if (options.isExpiryEvents() && cluster) {
            throw new IllegalArgumentException("redis_expiry_events is not available on Redis Cluster (each master "
                    + "sends its own notifications); remove it, or use Redis standalone or Sentinel");
        }
        this.expiryEvents = options.isExpiryEvents() ? new RedisExpiryEvents(vertx, redis, keys, () -> recorder) : null;
        this.invalidations = nearCache
                ? new RedisInvalidations(
                        vertx,
                        redis,
                        connection,
                        keys.channel(),
                        options.getTimeout().toMillis())
                : null;
    }

    /** Returns the near cache's invalidation channel, or null when the near cache is off. */
    RedisInvalidations invalidations() {
        return invalidations;
    }

    /** Returns whether this store keeps the user index (not on Redis Cluster). */
    boolean hasUserIndex() {
        return userIndex.isKept();
    }

    /** Returns the live sessions of {@code principal}, oldest expiry first (one script). */
    Future<List<SessionInfo>> sessionsOf(String principal) {
        return userIndex.sessionsOf(principal);
    }

    /** Deletes every session of {@code principal} but {@code exceptId} with the index, in one script. */
    Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return userIndex.deleteSessionsOf(principal, exceptId);
    }

    /** Loads a session with one HGETALL; null when the ID is malformed, the key is absent or is not a session. */
    Future<SessionRecord> load(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture(null);
        }
        return connection.send(Request.cmd(Command.HGETALL).arg(keys.key(id))).transform(ar -> {
            if (ar.failed()) {
                if (GuardedRedisConnection.isRedisError(ar.cause(), "WRONGTYPE")) {
                    LOG.log(Level.DEBUG, "a Redis key under the session prefix is not a hash; it reads as no session");
                    return Future.succeededFuture(null);
                }
                return Future.failedFuture(connection.failure("load a session", ar.cause()));
            }
            RedisHashFormat.Stored stored = RedisHashFormat.parse(RedisHashFormat.fields(ar.result()));
            return Future.succeededFuture(stored == null ? null : RedisHashFormat.toRecord(id, stored));
        });
    }

    /**
     * Counts the session keys with a {@code SCAN} of the key prefix (1,000 keys a step, each step bounded by
     * redis_timeout_ms); refused on Redis Cluster, whose keys spread over several servers.
     */
    Future<Long> countSessions() {
        if (cluster) {
            return Future.failedFuture(new UnsupportedOperationException("counting sessions on Redis Cluster would "
                    + "scan every master; count them with your own tooling (SCAN on each master)"));
        }
        return countFrom("0", 0);
    }

    private Future<Long> countFrom(String cursor, long counted) {
        Request scan = Request.cmd(Command.SCAN)
                .arg(cursor)
                .arg("MATCH")
                .arg(globEscaped(keys.keyPrefix()) + "*")
                .arg("COUNT")
                .arg(1000);
        return connection.send(scan).transform(ar -> {
            if (ar.failed()) {
                return Future.failedFuture(connection.failure("count the sessions", ar.cause()));
            }
            long total = counted;
            for (Response key : ar.result().get(1)) {
                if (SessionIds.isWellFormed(
                        key.toString().substring(keys.keyPrefix().length()))) {
                    total++; // not a user's index key
                }
            }
            String next = ar.result().get(0).toString();
            return next.equals("0") ? Future.succeededFuture(total) : countFrom(next, total);
        });
    }

    /** Returns {@code text} with the characters a Redis MATCH pattern treats specially escaped. */
    private static String globEscaped(String text) {
        StringBuilder escaped = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
                escaped.append('\\');
            }
            escaped.append(c);
        }
        return escaped.toString();
    }

    /** Sends a PING, bounded by redis_timeout_ms; fails naming why Redis cannot be reached. */
    Future<Void> ping() {
        return connection
                .send(Request.cmd(Command.PING))
                .transform(ar -> ar.succeeded()
                        ? Future.succeededFuture()
                        : Future.failedFuture(connection.failure("answer a PING", ar.cause())));
    }

    /** Applies a request's changes with one script; false when the session was gone and nothing was written. */
    Future<Boolean> save(SessionChanges changes) {
        List<String> kept = new ArrayList<>();
        if (changes.cleared()) {
            // Keys the session still holds but did not put: updated atomically after the clear, Redis has them.
            for (String key : changes.data().keySet()) {
                if (!changes.changed().containsKey(key)) {
                    kept.add(key);
                }
            }
        }
        LinkedHashMap<String, byte[]> changed = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : changes.changed().entrySet()) {
            changed.put(entry.getKey(), RedisHashFormat.writeValue(entry.getValue()));
        }
        String id = changes.id();
        String previousId = changes.previousId();
        if (previousId != null && clusterMove != null && !previousId.equals(id)) {
            return clusterMove
                    .claim(changes, kept, changed)
                    .compose(write -> write == null ? Future.succeededFuture(false) : save(write, changes));
        }
        return save(
                new RedisScripts.SessionWrite(
                        id,
                        previousId != null ? previousId : id,
                        !changes.isNew(),
                        changes.cleared(),
                        keys.ttlMillis(changes),
                        changes.createdAtMillis(),
                        changes.expiresAtMillis(),
                        changes.perSessionExpiry(),
                        changes.removed(),
                        kept,
                        changed),
                changes);
    }

    /** Hands the store what it reports its own work with (sessions its limit ends or Redis expires), and starts hearing expiries. */
    void useRecorder(BackendRecorder recorder) {
        this.recorder = recorder;
        if (expiryEvents != null) {
            expiryEvents.start();
        }
    }

    private Future<Boolean> save(RedisScripts.SessionWrite write, SessionChanges changes) {
        return connection
                .eval(RedisScripts.save(keys, write, changes))
                .compose(response -> {
                    int status;
                    if (response != null && response.type() == ResponseType.MULTI) {
                        // written: {1, [the version before, with the near cache,] the sessions the limit ended...}
                        status = response.get(0).toInteger();
                        int ended = 1;
                        if (!keys.channel().isEmpty()) {
                            ended = 2;
                            if (invalidations != null && write.source().equals(write.id())) {
                                String before = response.get(1).toString();
                                invalidations.saved(
                                        write.id(),
                                        SessionInvalidations.versionOf(changes.data()),
                                        before.isEmpty() ? null : before);
                            }
                        }
                        for (int i = ended; i < response.size(); i++) {
                            recorder.reportEndedByLimit(response.get(i).toString(), changes.principal());
                        }
                    } else {
                        status = response == null ? 0 : response.toInteger();
                    }
                    return status < 0
                            ? Future.failedFuture(SessionLimitException.atLimit(changes.maxSessionsPerUser()))
                            : Future.succeededFuture(status == 1);
                })
                .andThen(ar -> {
                    if (ar.succeeded() && !ar.result() && write.mustExist()) {
                        LOG.log(Level.DEBUG, "session was deleted while a request used it; its changes are dropped");
                    }
                });
    }

    /**
     * Applies {@code function} to the stored value of one session key and writes the result atomically
     * ({@link RedisCompareAndSet}); returns the new value.
     */
    Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> function) {
        return compareAndSet.update(session, key, function).map(updated -> updated.value);
    }

    /** Deletes a session with one script (a DEL, and the session out of its user's index). */
    Future<Void> delete(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture();
        }
        // A script rather than a DEL, so that a logout that timed out cannot happen later either (docs).
        return connection
                .eval(RedisScripts.delete(keys, id))
                .transform(ar -> ar.succeeded()
                        ? Future.<Void>succeededFuture()
                        : Future.failedFuture(connection.failure("delete a session", ar.cause())));
    }

    /** Closes the Redis client if the store created it. */
    Future<Void> close() {
        return expiryEvents == null ? connection.close() : expiryEvents.close().transform(ar -> connection.close());
    }
}
