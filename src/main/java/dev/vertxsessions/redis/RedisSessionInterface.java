package dev.vertxsessions.redis;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionManager;
import dev.vertxsessions.SessionManagerFactory;
import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The Redis backend: one Redis hash per session, shared by every application server that points at the same
 * Redis, with the session's expiry as the key's TTL.
 *
 * <p>Choose it with {@code setManager("redis")} (JSON {@code "manager": "redis"}) or
 * {@code setManager(RedisSessionInterface.factory())}; it is configured by {@code redis_url},
 * {@code redis_key_prefix}, {@code redis_pool_size}, {@code redis_timeout_ms} and {@code redis_options}, and needs
 * {@code io.vertx:vertx-redis-client} on the class path. Every call goes through the non-blocking Vert.x Redis
 * client: loading a session is one {@code HGETALL}, a request that changes it is one Lua script, a read-only
 * request writes nothing. Saves merge per key, never bring back a session that a logout deleted, and
 * {@link #update}/{@link #increment} are atomic across servers. When Redis is down or slower than
 * {@code redis_timeout_ms}, requests that use the session get a 503 and the rest of the application keeps
 * working; the client reconnects by itself. The design note at the top of {@code RedisSessionStore.java} explains
 * the data model and the scripts.
 *
 * <p>Instances serve one request; the manager that creates them is thread-safe.
 */
public class RedisSessionInterface extends BaseSessionInterface {

  private static final System.Logger LOG = System.getLogger(RedisSessionInterface.class.getName());

  private final RedisSessionStore store;
  /** Each key's JSON as this request last saw it in Redis: the first guess of a compare-and-set. */
  private final Map<String, byte[]> storedJson = new HashMap<>();

  RedisSessionInterface(RedisSessionStore store) {
    this.store = store;
  }

  /**
   * Returns the factory of this backend. It creates one shared Vert.x Redis client per middleware from
   * {@code redis_options}, {@code redis_url} (unless {@code redis_options} lists {@code endpoints}) and
   * {@code redis_pool_size}; the middleware's {@code close()} closes it. Nothing connects at start-up: the first
   * request does, so an application starts even while Redis is down.
   */
  public static SessionManagerFactory factory() {
    return factory(false);
  }

  /** Same as {@link #factory()}; {@code twoStepRegenerate} forces the Redis Cluster way of moving a session. */
  static SessionManagerFactory factory(boolean twoStepRegenerate) {
    return (vertx, config) -> {
      RedisSessionStore store = new RedisSessionStore(vertx, config, twoStepRegenerate);
      return new SessionManager() {
        @Override
        public BaseSessionInterface newSession() {
          return new RedisSessionInterface(store);
        }

        @Override
        public Future<Void> close() {
          return store.close();
        }
      };
    };
  }

  @Override
  protected Future<Void> load() {
    String id = getSessionKey();
    if (!SessionIds.isWellFormed(id)) {
      reportTamperedCookie();
      return Future.succeededFuture(); // never reaches Redis
    }
    return store.load(id).map(stored -> {
      if (stored == null) {
        return null;
      }
      Map<String, Object> data = new LinkedHashMap<>();
      try {
        for (Map.Entry<String, byte[]> entry : stored.values.entrySet()) {
          data.put(entry.getKey(), RedisSessionStore.readValue(entry.getValue()));
        }
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.DEBUG, "a stored session value is not valid JSON; the session reads as absent: " + e);
        return null;
      }
      if (restore(id, data, stored.createdAt, stored.expiresAt, stored.perSessionExpiry)) {
        storedJson.putAll(stored.values);
      }
      return null;
    });
  }

  @Override
  protected Future<Void> save() {
    return write(changes(null));
  }

  @Override
  protected Future<Void> replace(String previousKey) {
    return write(changes(previousKey));
  }

  private Future<Void> write(RedisSessionStore.Changes changes) {
    return conflictUnlessWritten(store.save(changes));
  }

  @Override
  protected Future<Void> delete(String sessionKey) {
    return store.delete(sessionKey);
  }

  /**
   * Compare-and-set on the key's hash field: the function is applied to the stored value and the result written
   * only if the field has not changed meanwhile, else applied again to the new value.
   */
  @Override
  protected Future<Object> updateStored(String key, UnaryOperator<Object> update) {
    RedisSessionStore.Update request = new RedisSessionStore.Update();
    // Before a regenerate is saved, the data still lives under the previous key.
    request.id = getPreviousSessionKey() != null ? getPreviousSessionKey() : getSessionKey();
    request.key = key;
    boolean wasNew = isNew();
    request.mustExist = !wasNew;
    request.expected = storedJson.get(key);
    // A key this request removed (or cleared) starts from nothing, whatever Redis holds until the save.
    request.startFromNothing = !containsKey(key) && (isCleared() || removedKeys().contains(key));
    request.expiresAt = expiresAtMillis();
    request.ttlMillis = request.expiresAt - currentTimeMillis();
    request.createdAt = getCreatedAt();
    request.perSessionExpiry = perSessionExpiry();
    return store.update(request, update).map(updated -> {
      if (updated.json == null) {
        storedJson.remove(key);
      } else {
        storedJson.put(key, updated.json);
        if (wasNew && isNew()) {
          // The update created the session in Redis (the base class sends its cookie with the response).
          markStored();
        }
      }
      return updated.value;
    });
  }

  private RedisSessionStore.Changes changes(String previousKey) {
    RedisSessionStore.Changes changes = new RedisSessionStore.Changes();
    Map<String, Object> data = data();
    Set<String> changed = changedKeys();
    changes.id = getSessionKey();
    changes.previousId = previousKey;
    changes.mustExist = !isNew();
    changes.cleared = isCleared();
    if (changes.cleared) {
      // Keys present but not put were updated atomically after the clear: Redis holds their value already.
      for (String key : data.keySet()) {
        if (!changed.contains(key)) {
          changes.kept.add(key);
        }
      }
      storedJson.keySet().retainAll(changes.kept);
    } else {
      for (String key : removedKeys()) {
        if (!data.containsKey(key)) { // removed, then set again by update(): keep the updated value
          changes.removed.add(key);
          storedJson.remove(key);
        }
      }
    }
    for (String key : changed) {
      byte[] json = JsonValues.write(JsonValues.toStorable(data.get(key)));
      changes.changed.put(key, json);
      storedJson.put(key, json);
    }
    changes.createdAt = getCreatedAt();
    changes.expiresAt = expiresAtMillis();
    changes.ttlMillis = changes.expiresAt - currentTimeMillis();
    changes.perSessionExpiry = perSessionExpiry();
    return changes;
  }

}
