package dev.vertxsessions.redis;

import static dev.vertxsessions.redis.RedisHashFormat.dataField;

import dev.vertxsessions.SessionChanges;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The Redis backend's Lua scripts, and how each is called: its keys and its arguments, in the order the script reads
 * them. Every write is one of these scripts, so that it applies atomically, and every script starts with a deadline
 * guard, so that a call that timed out never applies later ({@link GuardedRedisConnection} adds the deadline). See
 * {@code docs/redis-backend.md}, "The scripts".
 */
final class RedisScripts {

    private RedisScripts() {}

    /**
     * Runs second in every script: the ARGV before the deadline is the near cache's channel ('' = off), and
     * changed() publishes "<id> <version>" on it for every session a script writes or deletes, in the order Redis
     * applies them, or "<id> <version> <before>" for a save that names the version it replaced (NearCache's design
     * note; docs/redis-backend.md, "The near cache's channel").
     */
    private static final String NOTIFY = """
    local channel = table.remove(ARGV)
    local function changed(id, key, before, written)
      if channel ~= '' then
        local version = written or (key and redis.call('HGET', key, 'k:__vertx-sessions.version'))
        local message = id .. ' ' .. (version and string.sub(version, 2, -2) or '')
        if before then message = message .. ' ' .. before end
        redis.call('PUBLISH', channel, message)
      end
    end
    """;

    /**
     * Runs first in every script: the last ARGV is the call's deadline in Redis's clock (epoch ms), and a script
     * that starts after it writes nothing. table.remove takes it out of ARGV, so each script sees its own arguments.
     * startedAt (Redis's clock when the script began, epoch ms) is the script's "now".
     */
    private static final String DEADLINE_GUARD = """
    local deadline = tonumber(table.remove(ARGV))
    local clock = redis.call('TIME')
    local startedAt = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
    if startedAt > deadline then
      return redis.error_reply('LATE this call reached Redis after its deadline (redis_timeout_ms); nothing written')
    end
    """;

    private static final Script SAVE = new Script("save", """
    -- KEYS[1]: the session's key; KEYS[2]: where its data is now (the previous key after regenerate)
    -- ARGV: mustExist, cleared, ttlMillis, createdAt, expiresAt, expirySeconds ('' = default), nRemoved, nKept,
    --       indexPrefix ('' = no user index), sessionPrefix, maxPerUser (0 = none), refuse, liveMillis,
    --       then nRemoved fields to delete, nKept fields a clear keeps, then field/value pairs to set
    -- Returns 1 when written ({1, id...} when the limit ended those sessions of the user), 0 when the session was
    -- gone (nothing written), -1 when refused by the limit. With the near cache's channel, a write replies
    -- {1, before, id...}: before is the version the session held before this save ('' when none).
    local function inChunks(command, key, list, from, to)
      -- list[from..to] as the arguments of whole commands, at most 1000 each (unpack's stack has a limit)
      for i = from, to, 1000 do redis.call(command, key, unpack(list, i, math.min(i + 999, to))) end
    end
    local key, source = KEYS[1], KEYS[2]
    local moving = source ~= key and redis.call('EXISTS', source) == 1
    local held = key
    if moving then held = source end
    local pf, vf = 'k:__vertx-sessions.principal', 'k:__vertx-sessions.version'
    -- One read of all the save needs of the stored hash (every session hash holds m:created; EXISTS only without)
    local stored = redis.call('HMGET', held, 'm:created', vf, pf)
    if not moving and ARGV[1] == '1' and not stored[1] and redis.call('EXISTS', key) == 0 then
      return 0
    end
    local ended = {1}
    if channel ~= '' then
      table.insert(ended, stored[2] and string.sub(stored[2], 2, -2) or '')
    end
    local ttl = tonumber(ARGV[3])
    local nRemoved, nKept = tonumber(ARGV[7]), tonumber(ARGV[8])
    local indexPrefix, prefix = ARGV[9], ARGV[10]
    local first = 14
    local oldP, newP, index, victims = false, false, false, {}
    if indexPrefix ~= '' then
      oldP = stored[3]
      newP = oldP
      if ARGV[2] == '1' then
        newP = false
        for i = first + nRemoved, first + nRemoved + nKept - 1 do if ARGV[i] == pf then newP = oldP end end
      end
      for i = first, first + nRemoved - 1 do if ARGV[i] == pf then newP = false end end
      for i = first + nRemoved + nKept, #ARGV, 2 do if ARGV[i] == pf then newP = ARGV[i + 1] end end
    end
    local id, heldId = string.sub(key, #prefix + 1), string.sub(held, #prefix + 1)
    local now = startedAt
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
      if moving then changed(heldId) end
      changed(id)
      return 0
    end
    -- Whole commands, not one per field: fewer calls into Redis
    if ARGV[2] == '1' then
      local kept, cleared = {}, {}
      for i = first + nRemoved, first + nRemoved + nKept - 1 do kept[ARGV[i]] = true end
      for _, field in ipairs(redis.call('HKEYS', key)) do
        if string.sub(field, 1, 2) == 'k:' and not kept[field] then table.insert(cleared, field) end
      end
      inChunks('HDEL', key, cleared, 1, #cleared)
    end
    inChunks('HDEL', key, ARGV, first, first + nRemoved - 1)
    local fields, written = {}, false
    for i = first + nRemoved + nKept, #ARGV, 2 do
      table.insert(fields, ARGV[i])
      table.insert(fields, ARGV[i + 1])
      if ARGV[i] == vf then written = ARGV[i + 1] end
    end
    if not stored[1] then
      table.insert(fields, 'm:created')
      table.insert(fields, ARGV[4])
    end
    table.insert(fields, 'm:expires')
    table.insert(fields, ARGV[5])
    if ARGV[6] ~= '' then
      table.insert(fields, 'm:expiry')
      table.insert(fields, ARGV[6])
    end
    inChunks('HSET', key, fields, 1, #fields)
    redis.call('PEXPIRE', key, ARGV[3])
    if moving then
      changed(heldId)
      changed(id, key, nil, written)
    else
      changed(id, key, ended[2], written)
    end
    for _, victim in ipairs(victims) do
      if redis.call('DEL', prefix .. victim) == 1 then
        table.insert(ended, victim)
        changed(victim)
      end
      redis.call('ZREM', index, victim)
    end
    if index then
      redis.call('ZADD', index, now + tonumber(ARGV[13]), id)
      if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
    end
    if #ended > 1 then return ended end
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
    changed(string.sub(key, #ARGV[12] + 1))
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
        redis.call('ZADD', index, 'XX', startedAt + tonumber(ARGV[13]), string.sub(key, #ARGV[12] + 1))
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
    local deleted = redis.call('DEL', KEYS[1])
    changed(string.sub(KEYS[1], #ARGV[2] + 1))
    return deleted
    """);

    private static final Script SESSIONS_OF = new Script("sessionsOf", """
    -- KEYS[1]: a user's index; ARGV: sessionPrefix. Trims it; returns id, created, expires of each live member.
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', startedAt)
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
        if redis.call('DEL', ARGV[1] .. member) == 1 then
          table.insert(out, member)
          changed(member)
        end
        redis.call('ZREM', KEYS[1], member)
      end
    end
    return out
    """);

    /** One call of a script: the script, its keys and its arguments (the deadline not yet added). */
    record Call(Script script, List<String> keys, List<Object> args) {}

    /**
     * What one SAVE writes: the session {@code id}, held now under {@code source} (the previous ID when a regenerate
     * moves it, else {@code id}); whether it must exist (no resurrection); whether this request cleared it; the key's
     * TTL, the meta fields, and the delta: keys removed, keys a clear keeps, and keys put with their JSON.
     */
    record SessionWrite(
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
            Map<String, byte[]> changed) {}

    /** Returns the call of SAVE: 1 when written, 0 when the session was gone, -1 when refused by the user limit. */
    static Call save(RedisKeys keys, SessionWrite write, SessionChanges changes) {
        List<Object> args = new ArrayList<>();
        args.add(write.mustExist() ? "1" : "0");
        args.add(write.cleared() ? "1" : "0");
        args.add(Long.toString(write.ttlMillis()));
        args.add(Long.toString(write.createdAt()));
        args.add(Long.toString(write.expiresAt()));
        args.add(RedisHashFormat.expiryField(write.perSessionExpiry()));
        args.add(Integer.toString(write.removed().size()));
        args.add(Integer.toString(write.kept().size()));
        args.add(keys.indexPrefix());
        args.add(keys.keyPrefix());
        args.add(Integer.toString(changes.maxSessionsPerUser()));
        args.add(changes.refuseOverLimit() ? "1" : "0");
        args.add(Long.toString(changes.timeToLive().toMillis()));
        for (String key : write.removed()) {
            args.add(dataField(key));
        }
        for (String key : write.kept()) {
            args.add(dataField(key));
        }
        for (Map.Entry<String, byte[]> entry : write.changed().entrySet()) {
            args.add(dataField(entry.getKey()));
            args.add(entry.getValue());
        }
        return call(SAVE, List.of(keys.key(write.id()), keys.key(write.source())), args, keys);
    }

    /**
     * Returns the call of UPDATE, the compare-and-set of one session key: writes {@code json} (null: removes the
     * key) only if the field still holds {@code expected} (null: absent). Replies {1} when written, {0, current} (or
     * {0} when absent) on a conflict, {-1} when the session is gone.
     */
    static Call update(RedisKeys keys, SessionChanges session, String key, byte[] expected, byte[] json) {
        List<Object> args = new ArrayList<>();
        args.add(dataField(key));
        args.add(expected != null ? "1" : "0");
        args.add(expected != null ? expected : new byte[0]);
        args.add(json != null ? "1" : "0");
        args.add(json != null ? json : new byte[0]);
        args.add(session.isNew() ? "0" : "1");
        args.add(Long.toString(Math.max(1, keys.ttlMillis(session))));
        args.add(Long.toString(session.createdAtMillis()));
        args.add(Long.toString(session.expiresAtMillis()));
        args.add(RedisHashFormat.expiryField(session.perSessionExpiry()));
        args.add(keys.indexPrefix());
        args.add(keys.keyPrefix());
        args.add(Long.toString(session.timeToLive().toMillis()));
        return call(UPDATE, List.of(keys.key(session.id())), args, keys);
    }

    /** Returns the call of CLAIM: reads and deletes a session's hash (regenerate on Redis Cluster). */
    static Call claim(RedisKeys keys, String id) {
        return call(CLAIM, List.of(keys.key(id)), List.of(), keys);
    }

    /** Returns the call of DELETE: deletes a session and takes it out of its user's index. */
    static Call delete(RedisKeys keys, String id) {
        return call(DELETE, List.of(keys.key(id)), List.of(keys.indexPrefix(), keys.keyPrefix()), keys);
    }

    /** Returns the call of SESSIONS_OF: id, created, expires of each live session of a user, in the index's order. */
    static Call sessionsOf(RedisKeys keys, String principal) {
        return call(SESSIONS_OF, List.of(keys.indexKey(principal)), List.of(keys.keyPrefix()), keys);
    }

    /** Returns the call of DELETE_SESSIONS_OF: deletes a user's sessions but {@code exceptId}; replies their IDs. */
    static Call deleteSessionsOf(RedisKeys keys, String principal, String exceptId) {
        return call(
                DELETE_SESSIONS_OF,
                List.of(keys.indexKey(principal)),
                List.of(keys.keyPrefix(), exceptId == null ? "" : exceptId),
                keys);
    }

    /** Returns a call of {@code script} with the near cache's channel after its own arguments (NOTIFY reads it). */
    private static Call call(Script script, List<String> keys, List<Object> args, RedisKeys redisKeys) {
        List<Object> all = new ArrayList<>(args.size() + 1);
        all.addAll(args);
        all.add(redisKeys.channel());
        return new Call(script, keys, all);
    }

    /** A Lua script and its SHA-1, for EVALSHA. */
    static final class Script {
        final String name;
        final String source;
        final String sha1;

        Script(String name, String body) {
            this.name = name;
            this.source = DEADLINE_GUARD + NOTIFY + body;
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-1");
                this.sha1 = HexFormat.of().formatHex(digest.digest(source.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-1 is required by the Java platform", e);
            }
        }

        /** Returns the EVALSHA (by SHA-1) or EVAL (with the source, which also caches it) of this script. */
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
