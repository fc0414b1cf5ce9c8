package dev.vertxsessions.redis;

import dev.vertxsessions.SessionInfo;
import io.vertx.core.Future;
import io.vertx.redis.client.Response;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * The Redis backend's queries of the user index: a sorted set per user, {@code <prefix>user:<principal>}, of
 * session IDs scored by their key's expiry in Redis's clock. The scripts that save, move and delete sessions keep it
 * up to date in the same atomic step ({@link RedisScripts}); there is none on Redis Cluster, where a script cannot
 * reach a key in another hash slot. See {@code docs/redis-backend.md}, "The user index". Thread-safe.
 */
final class RedisUserIndex {

    private final GuardedRedisConnection connection;
    private final RedisKeys keys;
    private final Clock clock;

    RedisUserIndex(GuardedRedisConnection connection, RedisKeys keys, Clock clock) {
        this.connection = connection;
        this.keys = keys;
        this.clock = clock;
    }

    /** Returns whether sessions are indexed by user (not on Redis Cluster). */
    boolean isKept() {
        return keys.hasUserIndex();
    }

    /** Returns the live sessions of {@code principal}, oldest expiry first, with one script that trims the index. */
    Future<List<SessionInfo>> sessionsOf(String principal) {
        return connection.eval(RedisScripts.sessionsOf(keys, principal)).transform(ar -> {
            if (ar.failed()) {
                return Future.failedFuture(connection.failure("list a user's sessions", ar.cause()));
            }
            long now = clock.millis();
            List<SessionInfo> infos = new ArrayList<>();
            Response response = ar.result();
            for (int i = 0; i + 2 < response.size(); i += 3) {
                long expiresAt = Long.parseLong(response.get(i + 2).toString());
                if (expiresAt > now) { // a promoted key outlives its session by anonymous_expiry ("Eviction")
                    infos.add(new SessionInfo(
                            response.get(i).toString(),
                            principal,
                            Long.parseLong(response.get(i + 1).toString()),
                            expiresAt));
                }
            }
            return Future.succeededFuture(infos);
        });
    }

    /** Deletes every session of {@code principal} but {@code exceptId} with the index, in one script. */
    Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return connection
                .eval(RedisScripts.deleteSessionsOf(keys, principal, exceptId))
                .transform(ar -> {
                    if (ar.failed()) {
                        return Future.failedFuture(connection.failure("delete a user's sessions", ar.cause()));
                    }
                    List<String> ids = new ArrayList<>();
                    for (Response member : ar.result()) {
                        ids.add(member.toString());
                    }
                    return Future.succeededFuture(ids);
                });
    }
}
