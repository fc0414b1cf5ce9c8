package dev.vertxsessions.redis;

import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/*
 * How the Redis backend stores sessions and keeps concurrent requests from losing data.
 *
 * Data model. One Redis HASH per session, at key <redis_key_prefix><id>, where <id> is a generated session ID
 * (SessionIds.isWellFormed; anything else never reaches Redis). Each session key is one field "k:<key>" whose
 * value is the key's JSON. Three meta fields cannot collide with them: "m:created" (epoch ms, set once),
 * "m:expires" (epoch ms by the application's clock, checked on load with restore(...)) and "m:expiry" (the
 * per-session expiry in seconds, only when setExpiry was called). The key's TTL is the session's expiry:
 * min(now + expiry, created + absolute_expiry), set on every write with PEXPIRE (relative, so clock skew between
 * the application and Redis does not matter). Redis deletes expired sessions itself: there is no sweeper.
 *
 * Eviction. With anonymous_expiry set, an anonymous session's key lives at most anonymous_expiry, and a promoted
 * session's key (regenerated, or holding a Vert.x-Web user) lives anonymous_expiry longer than its expiry, which
 * m:expires still enforces on load. So every promoted key outlives every anonymous key, and under
 * maxmemory-policy volatile-ttl Redis, which evicts the key closest to its expiry among those it samples, evicts
 * anonymous sessions before any promoted one. The price: a promoted session's key stays up to anonymous_expiry after
 * the session expired, and a request that loaded the session before it expired and saves after renews it (without
 * the margin, Redis would have deleted the key and the save would write nothing).
 *
 * Round trips. Load = one HGETALL. A request that changes the session = one EVALSHA of SAVE (EVAL once after a
 * NOSCRIPT, i.e. after Redis restarted). A read-only request writes nothing; with rolling, it runs SAVE with an
 * empty delta (EXISTS + HSET m:expires + PEXPIRE, one round trip). Logout = one EVALSHA of DELETE (a DEL in a
 * script, for the deadline below). regenerate() = one EVALSHA (RENAME inside SAVE). update()/increment() = one
 * EVALSHA of UPDATE per attempt, usually one attempt. Besides, one TIME every 30 s samples Redis's clock (see
 * Failover). Every call is bounded by redis_timeout_ms; a call that fails or times out fails the request with
 * SessionStoreUnavailableException (503). A script runs atomically, so nothing is ever written half.
 *
 * Per-key merge. SAVE applies only this request's delta to the hash as it is now: HDEL of the keys it removed,
 * HSET of the keys it put; a clear() drops every stored "k:" field except those this request updated atomically
 * after the clear. Two requests changing different keys both keep their change; for the same key the last script
 * to run wins.
 *
 * No resurrection. SAVE gets mustExist = !isNew(): when the session was loaded from Redis and its key is gone by
 * the time the script runs (a logout, invalidate, regenerate or expiry deleted it), the script writes nothing. A
 * slow request that loaded the session before a logout therefore cannot write it back.
 *
 * regenerate(). SAVE gets the previous key as KEYS[2]: it RENAMEs it to the new key and applies the delta in the
 * same script, so no request ever sees the data under both keys or under neither, and the old key is gone. When
 * the previous key is gone already the script does nothing (the logout wins). Redis Cluster cannot RENAME across
 * hash slots, so with a cluster client the move takes two round trips: CLAIM reads and deletes the old hash
 * atomically, then SAVE writes the merged data under the new key (a crash between the two loses the session:
 * the user logs in again).
 *
 * update(). Compare-and-set: UPDATE writes the new value of one field only if the field still holds the JSON the
 * function was applied to; otherwise it returns the current JSON and the function is applied again to that
 * (jittered backoff after the first retries, at most MAX_UPDATE_ATTEMPTS attempts, then a SessionException).
 * The first guess is the JSON loaded with the session, so an uncontended update costs one round trip. Updates of
 * the same session key in one process are queued and each starts from the JSON the previous one wrote, so they
 * never conflict with each other (100 parallel increments on one server cost 100 round trips, not 100^2/2);
 * only updates from other processes can conflict.
 *
 * Only keys under the prefix are ever named: every command and script takes its keys from key(id).
 *
 * Failover: what a successful commit() means. Redis replicates asynchronously: a master answers a write before
 * any replica has it, and a failover (Sentinel or Cluster promoting a replica) drops whatever the promoted replica
 * had not received. So by default a commit() that succeeded means "the master applied it", and a failover soon
 * after can still lose it. On a LAN the window is the replication lag, usually under a millisecond, except when
 * the master stalls: a master paused (a VM freeze, a long fork, SIGSTOP) while its replica is promoted reads, on
 * resuming, the writes its clients had sent it, runs and acknowledges them, and loses them when it is demoted and
 * resyncs from the new master. Two rules and one option close this:
 *
 * Timeout rule: a call that timed out never applies later. Each call borrows a pooled connection (Redis.connect(),
 * as Redis.send() does inside) and hands it back when it completes. At the deadline it closes the connection's
 * socket instead (RedisClientInternals: the client's close() would only hand it back, with the command still
 * queued on it, for the next call to queue behind); a connection that arrives from the pool's queue after the
 * deadline goes back unused, nothing sent. Closing cannot take back what the server has received, though: a paused
 * Redis reads its socket buffers when it resumes and runs what it finds, FIN or RST notwithstanding (measured on
 * Redis 7.0). So every write is a script, and every script starts with DEADLINE_GUARD: the last argument is the
 * call's deadline in Redis's clock, and a script that starts later writes nothing and fails with LATE. The deadline
 * is RedisClock's last TIME sample, plus the time from its arrival to the call's start (System.nanoTime), plus
 * redis_timeout_ms, so it is never later than the moment this process gives up; this process's wall clock and its
 * offset from Redis's do not matter. What can shift it: Redis's clock stepping between samples (30 s apart),
 * or Redis servers whose clocks disagree (Cluster nodes; a master and the replica that replaces it), which NTP
 * keeps to milliseconds; a LATE reply drops the sample so that the next call takes a new one. Reads need no guard.
 * A Cluster connection wraps one pooled connection per master and does not expose them (nor does Sentinel's with
 * autoFailover): it is handed back on a timeout, and the guard alone keeps its queued writes from applying late.
 *
 * Durability option (WaitForReplicas, off by default; redis_wait_replicas / redis_wait_timeout_ms): each write
 * script is followed, in the same batch and so on the same connection, by WAIT <replicas> <timeout ms>; the call
 * succeeds only when that many replicas acknowledged every write of the connection, the script's included, and
 * otherwise fails with SessionStoreUnavailableException (503; the master has the write, so it may survive). A batch,
 * because a Cluster connection sends a batch to the master of its key but a keyless WAIT alone to any master. The
 * paused master above now finds that its replica is gone, WAIT answers 0 and the request gets a 503 instead of a
 * 200 for a write about to vanish. With WAIT n and n replicas, every replica has each acknowledged write, so any
 * promoted one keeps it; with fewer, Sentinel and Cluster prefer the replica with the most data, which has it unless
 * a replica that had not acknowledged wins. The price: while fewer than n replicas are up, every write fails with
 * 503 (with one replica, from the failover until the old master has come back as a replica; Sentinel converts it
 * 8 s after it returns at the earliest), and each write waits for a replica's acknowledgement (no extra round trip
 * for this process, one between master and replica). Cluster batches are not redirected (MOVED, ASK): during a
 * slot migration, durable writes to the moving slots fail with 503 until the client's slot map catches up (1 s).
 *
 * Without the option, the server setting min-replicas-to-write N (with min-replicas-max-lag S) on each master
 * narrows the window: a master whose replicas have not acknowledged for S seconds refuses writes (NOREPLICAS, a
 * 503 here), so a master cut off from its replicas stops accepting writes after S seconds, and a master that was
 * paused for longer than S refuses what it finds queued when it resumes (measured on Redis 7.0). Writes it accepted
 * within those S seconds can still be lost; only WAIT makes an acknowledged write one a replica has.
 */
final class RedisSessionStore {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    /** Prefix of the hash field that holds one session key. */
    static final String DATA_FIELD = "k:";

    static final String CREATED_FIELD = "m:created";
    static final String EXPIRES_FIELD = "m:expires";
    static final String EXPIRY_FIELD = "m:expiry";

    /** Attempts of one update before it fails; this many conflicts means other processes hammer the same key. */
    static final int MAX_UPDATE_ATTEMPTS = 100;
    /** The random pause between later update attempts grows up to 2^6 = 64 ms. */
    private static final int MAX_BACKOFF_SHIFT = 6;

    /**
     * Runs first in every script: the last ARGV is the call's deadline in Redis's clock (epoch ms), and a script
     * that starts after it writes nothing. table.remove takes it out of ARGV, so each script sees its own arguments.
     */
    private static final String DEADLINE_GUARD = """
    local deadline = tonumber(table.remove(ARGV))
    local now = redis.call('TIME')
    if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline then
      return redis.error_reply('LATE this call reached Redis after its deadline (redis_timeout_ms); nothing written')
    end
    """;

    private static final Script SAVE = new Script("save", """
    -- KEYS[1]: the session's key; KEYS[2]: where its data is now (the previous key after regenerate)
    -- ARGV: mustExist, cleared, ttlMillis, createdAt, expiresAt, expirySeconds ('' = default), nRemoved, nKept,
    --       indexPrefix ('' = no user index), sessionPrefix, maxPerUser (0 = none), refuse, liveMillis,
    --       then nRemoved fields to delete, nKept fields a clear keeps, then field/value pairs to set
    -- Returns 1 when written, 0 when the session was gone (nothing written), -1 when refused by the limit.
    local key, source = KEYS[1], KEYS[2]
    local moving = source ~= key and redis.call('EXISTS', source) == 1
    if not moving and ARGV[1] == '1' and redis.call('EXISTS', key) == 0 then
      return 0
    end
    local held = key
    if moving then held = source end
    local ttl = tonumber(ARGV[3])
    local nRemoved, nKept = tonumber(ARGV[7]), tonumber(ARGV[8])
    local indexPrefix, prefix = ARGV[9], ARGV[10]
    local first = 14
    local pf = 'k:__vertx-sessions.principal'
    local oldP, newP, index, victims = false, false, false, {}
    if indexPrefix ~= '' then
      oldP = redis.call('HGET', held, pf)
      newP = oldP
      if ARGV[2] == '1' then
        newP = false
        for i = first + nRemoved, first + nRemoved + nKept - 1 do if ARGV[i] == pf then newP = oldP end end
      end
      for i = first, first + nRemoved - 1 do if ARGV[i] == pf then newP = false end end
      for i = first + nRemoved + nKept, #ARGV, 2 do if ARGV[i] == pf then newP = ARGV[i + 1] end end
    end
    local id, heldId = string.sub(key, #prefix + 1), string.sub(held, #prefix + 1)
    local time = redis.call('TIME')
    local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    if newP and ttl > 0 then
      index = indexPrefix .. cjson.decode(newP)
      redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
      local max = tonumber(ARGV[11])
      if max > 0 and not redis.call('ZSCORE', index, id) and not redis.call('ZSCORE', index, heldId) then
        local surplus = redis.call('ZCARD', index) + 1 - max
        if surplus > 0 then
          -- At the limit: first drop members whose key is gone without the index knowing (evicted by Redis).
          for _, member in ipairs(redis.call('ZRANGE', index, 0, -1)) do
            if redis.call('EXISTS', prefix .. member) == 0 then redis.call('ZREM', index, member) end
          end
          surplus = redis.call('ZCARD', index) + 1 - max
        end
        if surplus > 0 then
          if ARGV[12] == '1' then return -1 end
          victims = redis.call('ZRANGE', index, 0, surplus - 1)
        end
      end
    end
    if moving then redis.call('RENAME', source, key) end
    if oldP then redis.call('ZREM', indexPrefix .. cjson.decode(oldP), heldId) end
    if ttl <= 0 then
      redis.call('DEL', key)
      return 0
    end
    if ARGV[2] == '1' then
      local kept = {}
      for i = first + nRemoved, first + nRemoved + nKept - 1 do kept[ARGV[i]] = true end
      for _, field in ipairs(redis.call('HKEYS', key)) do
        if string.sub(field, 1, 2) == 'k:' and not kept[field] then redis.call('HDEL', key, field) end
      end
    end
    for i = first, first + nRemoved - 1 do redis.call('HDEL', key, ARGV[i]) end
    for i = first + nRemoved + nKept, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
    redis.call('HSETNX', key, 'm:created', ARGV[4])
    redis.call('HSET', key, 'm:expires', ARGV[5])
    if ARGV[6] ~= '' then redis.call('HSET', key, 'm:expiry', ARGV[6]) end
    redis.call('PEXPIRE', key, ARGV[3])
    for _, victim in ipairs(victims) do
      redis.call('DEL', prefix .. victim)
      redis.call('ZREM', index, victim)
    end
    if index then
      redis.call('ZADD', index, now + tonumber(ARGV[13]), id)
      if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
    end
    return 1
    """);

    private static final Script UPDATE = new Script("update", """
    -- KEYS[1]: the session's key
    -- ARGV: field, expectedPresent, expected, newPresent, newValue, mustExist, ttlMillis, createdAt, expiresAt,
    --       expirySeconds ('' = default), indexPrefix ('' = no user index), sessionPrefix, liveMillis
    -- Returns {1} when written, {0, current} (or {0} when absent) on a conflict, {-1} when the session is gone.
    local key, field = KEYS[1], ARGV[1]
    local exists = redis.call('EXISTS', key) == 1
    if not exists and ARGV[6] == '1' then return {-1} end
    local current = redis.call('HGET', key, field)
    if current == false then
      if ARGV[2] == '1' then return {0} end
    elseif ARGV[2] ~= '1' or current ~= ARGV[3] then
      return {0, current}
    end
    if not exists and ARGV[4] ~= '1' then return {1} end
    if ARGV[4] == '1' then redis.call('HSET', key, field, ARGV[5]) else redis.call('HDEL', key, field) end
    local stored = tonumber(redis.call('HGET', key, 'm:expires'))
    if not exists then
      redis.call('HSET', key, 'm:created', ARGV[8])
      if ARGV[10] ~= '' then redis.call('HSET', key, 'm:expiry', ARGV[10]) end
    end
    if stored == nil or stored < tonumber(ARGV[9]) then
      redis.call('HSET', key, 'm:expires', ARGV[9])
      redis.call('PEXPIRE', key, ARGV[7])
      local principal = ARGV[11] ~= '' and redis.call('HGET', key, 'k:__vertx-sessions.principal')
      if principal then
        local index = ARGV[11] .. cjson.decode(principal)
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('ZADD', index, 'XX', now + tonumber(ARGV[13]), string.sub(key, #ARGV[12] + 1))
        if redis.call('PTTL', index) < tonumber(ARGV[7]) then redis.call('PEXPIRE', index, ARGV[7]) end
      end
    end
    return {1}
    """);

    private static final Script CLAIM = new Script("claim", """
    -- KEYS[1]: a session's key. Returns its fields and deletes it atomically; an empty array when it is gone.
    local fields = redis.call('HGETALL', KEYS[1])
    if #fields > 0 then redis.call('DEL', KEYS[1]) end
    return fields
    """);

    private static final Script DELETE = new Script("delete", """
    -- KEYS[1]: a session's key; ARGV: indexPrefix ('' = no user index), sessionPrefix
    if ARGV[1] ~= '' then
      local principal = redis.call('HGET', KEYS[1], 'k:__vertx-sessions.principal')
      if principal then
        redis.call('ZREM', ARGV[1] .. cjson.decode(principal), string.sub(KEYS[1], #ARGV[2] + 1))
      end
    end
    return redis.call('DEL', KEYS[1])
    """);

    private static final Script SESSIONS_OF = new Script("sessionsOf", """
    -- KEYS[1]: a user's index; ARGV: sessionPrefix. Trims it; returns id, created, expires of each live member.
    local time = redis.call('TIME')
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
    local out = {}
    for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      local times = redis.call('HMGET', ARGV[1] .. member, 'm:created', 'm:expires')
      if times[1] and times[2] then
        table.insert(out, member)
        table.insert(out, times[1])
        table.insert(out, times[2])
      else
        redis.call('ZREM', KEYS[1], member)
      end
    end
    return out
    """);

    private static final Script DELETE_SESSIONS_OF = new Script("deleteSessionsOf", """
    -- KEYS[1]: a user's index; ARGV: sessionPrefix, the ID to keep ('' = none). Returns the IDs deleted.
    local out = {}
    for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      if member ~= ARGV[2] then
        if redis.call('DEL', ARGV[1] .. member) == 1 then table.insert(out, member) end
        redis.call('ZREM', KEYS[1], member)
      end
    end
    return out
    """);

    /** A session as loaded: values still as JSON bytes, keyed by session key. */
    static final class Stored {
        long createdAt;
        long expiresAt;
        Duration perSessionExpiry;
        final LinkedHashMap<String, byte[]> values = new LinkedHashMap<>();
    }

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
    private final Redis redis;
    private final ConcurrentHashMap<String, Tail> updatesInFlight = new ConcurrentHashMap<>();
    private final String keyPrefix;
    /**
     * Where the user index lives: {@code <prefix>user:<principal>}, a sorted set of session IDs scored by their expiry
     * in Redis's clock; empty on Redis Cluster, where a script cannot reach a key in another hash slot.
     */
    private final String indexPrefix;

    private final long timeoutMillis;
    private final boolean twoStepMove;
    /** Added to a promoted session's key TTL: anonymous_expiry, so volatile-ttl evicts anonymous keys first. */
    private final long promotedTtlMarginMillis;
    /** Whether the client was created here (and is closed here) rather than handed in by the application. */
    private final boolean ownsClient;

    // Failover safety (design note, "Failover"): the durability setting, and Redis's clock as last sampled.
    private final WaitForReplicas waitForReplicas;
    private volatile RedisClock redisClock;

    RedisSessionStore(
            Vertx vertx,
            RedisSessionOptions options,
            Redis client,
            boolean forceTwoStepMove,
            Duration promotedTtlMargin) {
        this.vertx = vertx;
        this.promotedTtlMarginMillis = promotedTtlMargin.toMillis();
        this.keyPrefix = options.getKeyPrefix();
        this.timeoutMillis = options.getTimeout().toMillis();
        this.waitForReplicas = options.waitForReplicas().checkAgainst(options.getTimeout());
        this.ownsClient = client == null;
        RedisOptions clientOptions = options.clientOptions();
        this.twoStepMove = forceTwoStepMove || clientOptions.getType() == RedisClientType.CLUSTER;
        this.redis = client != null ? client : Redis.createClient(vertx, clientOptions);
        this.indexPrefix = twoStepMove ? "" : keyPrefix + "user:";
    }

    /** Returns whether this store keeps the user index (not on Redis Cluster). */
    boolean hasUserIndex() {
        return !indexPrefix.isEmpty();
    }

    /** Returns the live sessions of {@code principal} as id, created, expires, oldest expiry first (one script). */
    Future<List<String[]>> sessionsOf(String principal) {
        return eval(SESSIONS_OF, List.of(indexPrefix + principal), List.of(keyPrefix))
                .transform(ar -> {
                    if (ar.failed()) {
                        return Future.failedFuture(failure("list a user's sessions", ar.cause()));
                    }
                    List<String[]> rows = new ArrayList<>();
                    Response response = ar.result();
                    for (int i = 0; i + 2 < response.size(); i += 3) {
                        rows.add(new String[] {
                            response.get(i).toString(),
                            response.get(i + 1).toString(),
                            response.get(i + 2).toString()
                        });
                    }
                    return Future.succeededFuture(rows);
                });
    }

    /** Deletes every session of {@code principal} but {@code exceptId} with the index, in one script. */
    Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return eval(
                        DELETE_SESSIONS_OF,
                        List.of(indexPrefix + principal),
                        List.of(keyPrefix, exceptId == null ? "" : exceptId))
                .transform(ar -> {
                    if (ar.failed()) {
                        return Future.failedFuture(failure("delete a user's sessions", ar.cause()));
                    }
                    List<String> ids = new ArrayList<>();
                    for (Response member : ar.result()) {
                        ids.add(member.toString());
                    }
                    return Future.succeededFuture(ids);
                });
    }

    /**
     * Returns the TTL of a session's key: its time to live, plus {@code anonymous_expiry} for a promoted session,
     * so that every promoted key outlives every anonymous one (design note, "Eviction"). The session's own expiry is
     * still {@code m:expires}, checked on load.
     */
    long ttlMillis(SessionChanges changes) {
        long ttl = changes.timeToLive().toMillis();
        return changes.isAnonymous() ? ttl : ttl + promotedTtlMarginMillis;
    }

    /** Returns the Redis key of a session. */
    String key(String id) {
        return keyPrefix + id;
    }

    /** Loads a session with one HGETALL; null when the ID is malformed, the key is absent or is not a session. */
    Future<Stored> load(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture(null);
        }
        return send(Request.cmd(Command.HGETALL).arg(key(id))).transform(ar -> {
            if (ar.failed()) {
                if (isRedisError(ar.cause(), "WRONGTYPE")) {
                    LOG.log(Level.DEBUG, "a Redis key under the session prefix is not a hash; it reads as no session");
                    return Future.succeededFuture(null);
                }
                return Future.failedFuture(failure("load a session", ar.cause()));
            }
            return Future.succeededFuture(parse(fields(ar.result())));
        });
    }

    /** Sends a PING, bounded by redis_timeout_ms; fails naming why Redis cannot be reached. */
    Future<Void> ping() {
        return send(Request.cmd(Command.PING))
                .transform(ar -> ar.succeeded()
                        ? Future.succeededFuture()
                        : Future.failedFuture(failure("answer a PING", ar.cause())));
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
            changed.put(entry.getKey(), JsonValues.write(entry.getValue()));
        }
        String id = changes.id();
        String previousId = changes.previousId();
        if (previousId != null && twoStepMove && !previousId.equals(id)) {
            return moveInTwoSteps(changes, kept, changed);
        }
        return save(
                id,
                previousId != null ? previousId : id,
                !changes.isNew(),
                changes.cleared(),
                ttlMillis(changes),
                changes.createdAtMillis(),
                changes.expiresAtMillis(),
                changes.perSessionExpiry(),
                changes.removed(),
                kept,
                changed,
                changes);
    }

    private Future<Boolean> save(
            String id,
            String source,
            boolean mustExist,
            boolean cleared,
            long ttlMillis,
            long createdAt,
            long expiresAt,
            Duration perSessionExpiry,
            Collection<String> removed,
            List<String> kept,
            Map<String, byte[]> changed,
            SessionChanges changes) {
        List<Object> args = new ArrayList<>();
        args.add(mustExist ? "1" : "0");
        args.add(cleared ? "1" : "0");
        args.add(Long.toString(ttlMillis));
        args.add(Long.toString(createdAt));
        args.add(Long.toString(expiresAt));
        args.add(perSessionExpiry == null ? "" : Long.toString(perSessionExpiry.toSeconds()));
        args.add(Integer.toString(removed.size()));
        args.add(Integer.toString(kept.size()));
        args.add(indexPrefix);
        args.add(keyPrefix);
        args.add(Integer.toString(changes.maxSessionsPerUser()));
        args.add(changes.refuseOverLimit() ? "1" : "0");
        args.add(Long.toString(changes.timeToLive().toMillis()));
        for (String key : removed) {
            args.add(DATA_FIELD + key);
        }
        for (String key : kept) {
            args.add(DATA_FIELD + key);
        }
        for (Map.Entry<String, byte[]> entry : changed.entrySet()) {
            args.add(DATA_FIELD + entry.getKey());
            args.add(entry.getValue());
        }
        return eval(SAVE, List.of(key(id), key(source)), args)
                .compose(response -> {
                    int status = response == null ? 0 : response.toInteger();
                    return status < 0
                            ? Future.failedFuture(SessionLimitException.atLimit(changes.maxSessionsPerUser()))
                            : Future.succeededFuture(status == 1);
                })
                .andThen(ar -> {
                    if (ar.succeeded() && !ar.result() && mustExist) {
                        LOG.log(Level.DEBUG, "session was deleted while a request used it; its changes are dropped");
                    }
                });
    }

    /**
     * Applies {@code function} to the stored value of one session key and writes the result, atomically: one UPDATE
     * script per attempt, repeated on a conflict. Updates of the same session key in this process run one after
     * the other, each starting from what the previous one wrote, so only other processes cause conflicts.
     */
    Future<Updated> update(SessionChanges session, String key, UnaryOperator<Object> function) {
        Context context = vertx.getOrCreateContext();
        String queue = key(session.id()) + '\n' + key;
        // The first guess of the compare-and-set: the value as the request saw it, written as Redis holds it.
        Object seen = session.data().get(key);
        byte[] guess = seen == null ? null : JsonValues.write(seen);
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
            Object input = expected == null ? null : readValue(expected);
            value = function.apply(input);
            json = value == null ? null : JsonValues.write(value);
        } catch (IOException e) {
            return Future.failedFuture(new SessionException(
                    "stored value of session key '" + key + "' is not valid JSON; it cannot be updated", e));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        List<Object> args = new ArrayList<>();
        args.add(DATA_FIELD + key);
        args.add(expected != null ? "1" : "0");
        args.add(expected != null ? expected : new byte[0]);
        args.add(json != null ? "1" : "0");
        args.add(json != null ? json : new byte[0]);
        args.add(session.isNew() ? "0" : "1");
        args.add(Long.toString(Math.max(1, ttlMillis(session))));
        args.add(Long.toString(session.createdAtMillis()));
        args.add(Long.toString(session.expiresAtMillis()));
        args.add(
                session.perSessionExpiry() == null
                        ? ""
                        : Long.toString(session.perSessionExpiry().toSeconds()));
        args.add(indexPrefix);
        args.add(keyPrefix);
        args.add(Long.toString(session.timeToLive().toMillis()));
        return eval(UPDATE, List.of(key(session.id())), args).compose(response -> {
            int status = response.get(0).toInteger();
            if (status == 1) {
                return Future.succeededFuture(new Updated(value, json));
            }
            if (status < 0) {
                return Future.failedFuture(new SessionException("session no longer exists (it was invalidated or "
                        + "expired); session key '" + key + "' was not updated"));
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
            long pause = 1L + ThreadLocalRandom.current().nextInt(1 << Math.min(attempt - 2, MAX_BACKOFF_SHIFT));
            return vertx.timer(pause).compose(v -> attempt(session, key, function, current, attempt + 1));
        });
    }

    /** Reads one stored value. */
    static Object readValue(byte[] json) throws IOException {
        return JsonValues.MAPPER.readValue(json, Object.class);
    }

    /** Deletes a session with one DEL. */
    Future<Void> delete(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture();
        }
        // A script rather than a DEL, so that a logout that timed out cannot happen later either (design note).
        return eval(DELETE, List.of(key(id)), List.of(indexPrefix, keyPrefix))
                .transform(ar -> ar.succeeded()
                        ? Future.<Void>succeededFuture()
                        : Future.failedFuture(failure("delete a session", ar.cause())));
    }

    Future<Void> close() {
        return ownsClient ? redis.close() : Future.succeededFuture();
    }

    /** regenerate() on Redis Cluster: CLAIM the old hash (read and delete), merge, SAVE under the new key. */
    private Future<Boolean> moveInTwoSteps(SessionChanges changes, List<String> kept, Map<String, byte[]> changed) {
        return eval(CLAIM, List.of(key(changes.previousId())), List.of()).compose(response -> {
            Map<String, byte[]> fields = fields(response);
            if (fields.isEmpty()) {
                LOG.log(Level.DEBUG, "session was deleted before regenerate could move it; its changes are dropped");
                return Future.succeededFuture(false);
            }
            Stored stored = parse(fields);
            LinkedHashMap<String, byte[]> values = stored == null ? new LinkedHashMap<>() : stored.values;
            if (changes.cleared()) {
                values.keySet().retainAll(kept);
            }
            changes.removed().forEach(values::remove);
            values.putAll(changed);
            Duration perSession = changes.perSessionExpiry() != null || stored == null
                    ? changes.perSessionExpiry()
                    : stored.perSessionExpiry;
            return save(
                    changes.id(),
                    changes.id(),
                    false,
                    false,
                    ttlMillis(changes),
                    stored == null ? changes.createdAtMillis() : stored.createdAt,
                    changes.expiresAtMillis(),
                    perSession,
                    List.of(),
                    List.of(),
                    values,
                    changes);
        });
    }

    /**
     * Runs a script (all of them write) on one pooled connection, bounded by redis_timeout_ms: EVALSHA, and EVAL
     * (which also caches it) when Redis does not know it yet. The script gets this call's deadline in Redis's clock
     * and writes nothing if it starts later; with {@link #waitForReplicas} on, a WAIT follows it on the same
     * connection and the call succeeds only when enough replicas acknowledged.
     */
    private Future<Response> eval(Script script, List<String> keys, List<Object> args) {
        long startNanos = System.nanoTime();
        return onOneConnection(connection -> redisClock(connection).compose(clock -> {
                    List<Object> guarded = new ArrayList<>(args);
                    guarded.add(Long.toString(clock.deadlineMillis(startNanos, timeoutMillis)));
                    return write(connection, script.request(Command.EVALSHA, keys, guarded))
                            .recover(error -> isNoScript(error)
                                    ? write(connection, script.request(Command.EVAL, keys, guarded))
                                    : Future.failedFuture(error));
                }))
                .transform(ar -> {
                    if (ar.succeeded()) {
                        return Future.succeededFuture(ar.result());
                    }
                    if (isLate(ar.cause())) {
                        // Usually a call that really was late. If Redis's clock stepped, or this server's clock
                        // differs from the one sampled (a new master after a failover), the next call samples it again.
                        redisClock = null;
                    }
                    return Future.failedFuture(failure("run the " + script.name + " script", ar.cause()));
                });
    }

    /**
     * Sends one command (a read: every write is a script) on one pooled connection, bounded by redis_timeout_ms. A
     * read is idempotent, so when its connection closes under it (a pooled connection that an idle timeout or the
     * server closed) it is sent once more on a fresh one.
     */
    private Future<Response> send(Request request) {
        return onOneConnection(connection -> connection.send(request))
                .recover(error -> isClosedConnection(error)
                        ? onOneConnection(connection -> connection.send(request))
                        : Future.failedFuture(error));
    }

    /** Whether a call failed because its connection closed, before or while it was sent (not a timeout). */
    private static boolean isClosedConnection(Throwable error) {
        return isRedisError(error, "CONNECTION_CLOSED") || "Connection is closed".equals(error.getMessage());
    }

    /**
     * Borrows a pooled connection, runs {@code call} on it and hands it back, all within redis_timeout_ms. A call
     * that runs out of time closes the connection's socket rather than handing it back, so nothing queued on it is
     * sent later; a connection that arrives after the deadline goes back to the pool unused.
     */
    private <T> Future<T> onOneConnection(Function<RedisConnection, Future<T>> call) {
        Promise<T> outcome = Promise.promise();
        Borrowed borrowed = new Borrowed();
        long timer = vertx.setTimer(timeoutMillis, id -> {
            RedisConnection stuck = borrowed.timeOut();
            if (stuck != null && !RedisClientInternals.closeSocket(stuck)) {
                LOG.log(
                        Level.DEBUG,
                        "a Redis call timed out on a connection whose socket cannot be closed; it went back "
                                + "to the pool, and the scripts' deadline keeps a late write from applying");
            }
            outcome.tryFail(new TimeoutException("redis_timeout_ms elapsed"));
        });
        redis.connect().onComplete(connected -> {
            if (connected.failed()) {
                if (borrowed.finish()) {
                    vertx.cancelTimer(timer);
                    outcome.tryFail(connected.cause());
                }
                return;
            }
            RedisConnection connection = connected.result();
            if (!borrowed.lend(connection)) {
                connection.close(); // waited past the deadline in the pool's queue: nothing was sent on it
                return;
            }
            Future<T> result;
            try {
                result = call.apply(connection);
            } catch (RuntimeException e) {
                result = Future.failedFuture(e);
            }
            result.onComplete(done -> {
                if (borrowed.finish()) {
                    vertx.cancelTimer(timer);
                    connection.close(); // back to the pool
                    outcome.handle(done);
                }
            });
        });
        return outcome.future();
    }

    /** Sends a script, then (durability on) a WAIT in the same batch, so that it runs on the same connection. */
    private Future<Response> write(RedisConnection connection, Request script) {
        if (!waitForReplicas.isOn()) {
            return connection.send(script);
        }
        // One batch, not two sends: a Cluster connection sends a batch to one node, the master of the script's key,
        // but a keyless WAIT sent alone to any master. WAIT counts the replicas that have every write this connection
        // made so far, the script's included.
        Request wait = Request.cmd(Command.WAIT)
                .arg(waitForReplicas.replicas())
                .arg(waitForReplicas.timeout().toMillis());
        return connection.batch(List.of(script, wait)).compose(replies -> {
            long acknowledged = replies.get(1) == null ? 0 : replies.get(1).toLong();
            if (acknowledged < waitForReplicas.replicas()) {
                return Future.failedFuture(new SessionStoreUnavailableException(
                        "only " + acknowledged + " of "
                                + waitForReplicas.replicas()
                                + " Redis replicas (redis_wait_replicas) acknowledged a write within "
                                + waitForReplicas.timeout().toMillis()
                                + " ms (redis_wait_timeout_ms); the master has it, but a failover "
                                + "could lose it",
                        null));
            }
            return Future.succeededFuture(replies.get(0));
        });
    }

    /**
     * Returns Redis's clock as sampled at most {@link RedisClock#MAX_AGE_NANOS} ago, sampling it with TIME on
     * {@code connection} when it is older (one round trip every half minute, not per call).
     */
    private Future<RedisClock> redisClock(RedisConnection connection) {
        RedisClock clock = redisClock;
        long now = System.nanoTime();
        if (clock != null && now - clock.receivedNanos < RedisClock.MAX_AGE_NANOS) {
            return Future.succeededFuture(clock);
        }
        return connection.send(Request.cmd(Command.TIME)).map(time -> {
            long received = System.nanoTime();
            long redisMillis = time.get(0).toLong() * 1000 + time.get(1).toLong() / 1000;
            RedisClock sampled = new RedisClock(redisMillis, received);
            redisClock = sampled;
            return sampled;
        });
    }

    /**
     * Redis's clock (TIME) as read in a reply received at {@code receivedNanos} (System.nanoTime). It was read before
     * the reply arrived, so {@code redisMillis + time elapsed here since} is never ahead of Redis's clock: a deadline
     * computed from it is, in Redis's clock, no later than the moment this process stops waiting. Neither this
     * process's wall clock nor its offset from Redis's matters; only a step of Redis's own clock between samples does.
     */
    private record RedisClock(long redisMillis, long receivedNanos) {
        static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(30);

        long deadlineMillis(long startNanos, long timeoutMillis) {
            return redisMillis + Math.floorDiv(startNanos - receivedNanos, 1_000_000L) + timeoutMillis; // rounds down
        }
    }

    /** Who owns a borrowed connection: the call until it finishes, or the timer once the deadline passed. */
    private static final class Borrowed {
        private RedisConnection connection;
        private boolean over;

        /** Records the connection; false when the deadline passed already. */
        synchronized boolean lend(RedisConnection connection) {
            this.connection = connection;
            return !over;
        }

        /** Ends the call normally; false when the deadline passed first. */
        synchronized boolean finish() {
            if (over) {
                return false;
            }
            over = true;
            return true;
        }

        /** Ends the call at the deadline; returns the connection it was running on, null when none or finished. */
        synchronized RedisConnection timeOut() {
            if (over) {
                return null;
            }
            over = true;
            return connection;
        }
    }

    private SessionException failure(String what, Throwable cause) {
        if (cause instanceof SessionException sessionException) {
            return sessionException;
        }
        if (cause instanceof TimeoutException) {
            return new SessionStoreUnavailableException(
                    "Redis did not answer within " + timeoutMillis + " ms (redis_timeout_ms) to " + what, cause);
        }
        if (cause instanceof Response) {
            return new SessionStoreUnavailableException("Redis refused to " + what + ": " + cause.getMessage(), cause);
        }
        return new SessionStoreUnavailableException("Redis could not be reached to " + what + ": " + cause, cause);
    }

    /** Returns whether a script failed because Redis does not know it: alone, or as the first command of a batch. */
    private static boolean isNoScript(Throwable error) {
        return isScriptError(error, "NOSCRIPT");
    }

    /** Returns whether a script's deadline guard refused to run it: alone, or as the first command of a batch. */
    private static boolean isLate(Throwable error) {
        return isScriptError(error, "LATE");
    }

    private static boolean isScriptError(Throwable error, String kind) {
        // A failed batch reports "ERR [<index>] <error>" for each command that failed.
        return isRedisError(error, kind) || isRedisError(error, "ERR [0] " + kind);
    }

    /** Returns whether {@code error} is a Redis error reply of the given kind (e.g. NOSCRIPT). */
    private static boolean isRedisError(Throwable error, String kind) {
        // Error replies fail the Future with a Throwable that is also a Response (the client's ErrorType).
        return error instanceof Response
                && error.getMessage() != null
                && error.getMessage().startsWith(kind);
    }

    /** Returns the fields of an HGETALL-like reply (a RESP2 array of pairs or a RESP3 map), in reply order. */
    private static LinkedHashMap<String, byte[]> fields(Response response) {
        LinkedHashMap<String, byte[]> fields = new LinkedHashMap<>();
        if (response == null) {
            return fields;
        }
        if (response.isMap()) {
            for (String field : response.getKeys()) {
                fields.put(field, response.get(field).toBytes());
            }
            return fields;
        }
        for (int i = 0; i + 1 < response.size(); i += 2) {
            fields.put(
                    response.get(i).toString(StandardCharsets.UTF_8),
                    response.get(i + 1).toBytes());
        }
        return fields;
    }

    /** Turns hash fields into a session; null (with a DEBUG line) when the meta fields are missing or wrong. */
    private static Stored parse(Map<String, byte[]> fields) {
        if (fields.isEmpty()) {
            return null;
        }
        Stored stored = new Stored();
        try {
            stored.createdAt = Long.parseLong(text(fields.get(CREATED_FIELD)));
            stored.expiresAt = Long.parseLong(text(fields.get(EXPIRES_FIELD)));
            byte[] expiry = fields.get(EXPIRY_FIELD);
            stored.perSessionExpiry = expiry == null ? null : Duration.ofSeconds(Long.parseLong(text(expiry)));
        } catch (RuntimeException e) {
            LOG.log(
                    Level.DEBUG,
                    "a Redis hash under the session prefix lacks valid meta fields; it reads as no session");
            return null;
        }
        for (Map.Entry<String, byte[]> entry : fields.entrySet()) {
            if (entry.getKey().startsWith(DATA_FIELD)) {
                stored.values.put(entry.getKey().substring(DATA_FIELD.length()), entry.getValue());
            }
        }
        return stored;
    }

    private static String text(byte[] bytes) {
        if (bytes == null) {
            throw new IllegalArgumentException("missing");
        }
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    /** A Lua script and its SHA-1, for EVALSHA. */
    private static final class Script {
        final String name;
        final String source;
        final String sha1;

        Script(String name, String body) {
            this.name = name;
            this.source = DEADLINE_GUARD + body;
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-1");
                this.sha1 = HexFormat.of().formatHex(digest.digest(source.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-1 is required by the Java platform", e);
            }
        }

        Request request(Command command, List<String> keys, List<Object> args) {
            Request request = Request.cmd(command)
                    .arg(command == Command.EVAL ? source : sha1)
                    .arg(keys.size());
            for (String key : keys) {
                request.arg(key);
            }
            for (Object arg : args) {
                if (arg instanceof byte[] array) {
                    request.arg(array);
                } else {
                    request.arg((String) arg);
                }
            }
            return request;
        }
    }
}
