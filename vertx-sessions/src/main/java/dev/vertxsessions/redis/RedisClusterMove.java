package dev.vertxsessions.redis;

import dev.vertxsessions.SessionChanges;
import io.vertx.core.Future;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The first step of {@code regenerate()} on Redis Cluster, which cannot RENAME across hash slots: the CLAIM script
 * reads and deletes the old hash atomically, and the request's changes are merged into what it held; the store then
 * SAVEs the result under the new key (a crash between the two loses the session: the user logs in again). See
 * {@code docs/redis-backend.md}, "Sentinel and Cluster". Thread-safe.
 */
final class RedisClusterMove {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    private final GuardedRedisConnection connection;
    private final RedisKeys keys;

    RedisClusterMove(GuardedRedisConnection connection, RedisKeys keys) {
        this.connection = connection;
        this.keys = keys;
    }

    /**
     * Claims the session under {@code changes.previousId()} and returns the write of the merged session under the new
     * ID; null when the old session was gone (a logout won), so nothing is to be written.
     */
    Future<RedisScripts.SessionWrite> claim(SessionChanges changes, List<String> kept, Map<String, byte[]> changed) {
        return connection.eval(RedisScripts.claim(keys, changes.previousId())).map(response -> {
            Map<String, byte[]> fields = RedisHashFormat.fields(response);
            if (fields.isEmpty()) {
                LOG.log(Level.DEBUG, "session was deleted before regenerate could move it; its changes are dropped");
                return null;
            }
            RedisHashFormat.Stored stored = RedisHashFormat.parse(fields);
            LinkedHashMap<String, byte[]> values = stored == null ? new LinkedHashMap<>() : stored.values;
            if (changes.cleared()) {
                values.keySet().retainAll(kept);
            }
            changes.removed().forEach(values::remove);
            values.putAll(changed);
            Duration perSession = changes.perSessionExpiry() != null || stored == null
                    ? changes.perSessionExpiry()
                    : stored.perSessionExpiry;
            return new RedisScripts.SessionWrite(
                    changes.id(),
                    changes.id(),
                    false,
                    false,
                    keys.ttlMillis(changes),
                    stored == null ? changes.createdAtMillis() : stored.createdAt,
                    changes.expiresAtMillis(),
                    perSession,
                    List.of(),
                    List.of(),
                    values);
        });
    }
}
