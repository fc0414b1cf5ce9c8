package dev.vertxsessions.samples;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionManager;
import dev.vertxsessions.SessionManagerFactory;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The seed guide's "Building Custom Session Backends" example, translated line by line: a Redis-backed session
 * interface in one class, written only against the public API. (The library's own
 * {@code dev.vertxsessions.redis.RedisSessionInterface} is the production-grade version: one round trip per
 * request, per-key merge, no resurrection, atomic updates.)
 */
public class SeedRedisSession extends BaseSessionInterface {

    private final RedisAPI redis;

    /** Creates the session of one request, using the shared client. */
    public SeedRedisSession(RedisAPI redis) {
        this.redis = redis;
    }

    /** Returns a backend that connects once to {@code redisUrl} and shares the client between requests. */
    public static SessionManagerFactory factory(String redisUrl) {
        return (vertx, config) -> {
            Redis client = Redis.createClient(vertx, redisUrl);
            RedisAPI api = RedisAPI.api(client);
            return new SessionManager() {
                @Override
                public BaseSessionInterface newSession() {
                    return new SeedRedisSession(api);
                }

                @Override
                public Future<Void> close() {
                    api.close();
                    return Future.succeededFuture();
                }
            };
        };
    }

    /** Loads the session data from Redis. */
    @Override
    protected Future<Void> load() {
        return redis.get("session:" + getSessionKey()).map(data -> {
            if (data != null) {
                restore(new JsonObject(data.toBuffer()).getMap());
            }
            return null;
        });
    }

    /** Saves the session data to Redis, with the session's expiry as the key's TTL. */
    @Override
    protected Future<Void> save() {
        long expiry = getExpiryAge();
        String json = new JsonObject(new LinkedHashMap<>(data())).encode();
        return redis.setex("session:" + getSessionKey(), String.valueOf(expiry), json)
                .mapEmpty();
    }

    /** Deletes the session from Redis (logout, regenerate). */
    @Override
    protected Future<Void> delete(String sessionKey) {
        return redis.del(List.of("session:" + sessionKey)).mapEmpty();
    }
}
