package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.ProtocolVersion;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the Redis backend turns the session configuration into Vert.x RedisOptions (no server needed). */
class RedisSessionOptionsTest {

    @Test
    void defaults_urlPoolTimeoutAndWaitQueue() {
        RedisOptions options = new RedisSessionOptions().clientOptions();
        assertEquals(List.of("redis://127.0.0.1:6379"), options.getEndpoints());
        assertEquals(16, options.getMaxPoolSize());
        assertEquals(1024, options.getMaxPoolWaiting());
        assertEquals(2000, options.getNetClientOptions().getConnectTimeout());
        assertEquals(ProtocolVersion.RESP2, options.getPreferredProtocolVersion());
        assertEquals(RedisClientType.STANDALONE, options.getType());
    }

    @Test
    void redisUrlAndPoolSize_areAppliedOnTopOfRedisOptions() {
        SessionConfig config = new SessionConfig()
                .setManager("redis")
                .setBackendOption("redis_url", "redis://10.0.0.5:6380/2")
                .setBackendOption("redis_pool_size", 4)
                .setBackendOption("redis_timeout_ms", 750)
                .setBackendOption(
                        "redis_options",
                        new JsonObject()
                                .put("maxPoolSize", 99)
                                .put("maxPoolWaiting", 10)
                                .put(
                                        "netClientOptions",
                                        new JsonObject()
                                                .put("connectTimeout", 5000)
                                                .put("ssl", true)));
        RedisOptions options = new RedisSessionOptions(config.getBackendOptions()).clientOptions();
        assertEquals(List.of("redis://10.0.0.5:6380/2"), options.getEndpoints());
        assertEquals(4, options.getMaxPoolSize());
        assertEquals(10, options.getMaxPoolWaiting());
        assertEquals(5000, options.getNetClientOptions().getConnectTimeout());
        assertTrue(options.getNetClientOptions().isSsl());
    }

    @Test
    void endpointsInRedisOptions_winOverRedisUrl_forSentinelAndCluster() {
        SessionConfig config = new SessionConfig()
                .setManager("redis")
                .setBackendOption(
                        "redis_options",
                        new JsonObject()
                                .put("type", "SENTINEL")
                                .put("masterName", "sessions")
                                .put(
                                        "endpoints",
                                        new JsonArray().add("redis://s1:26379").add("redis://s2:26379")));
        RedisOptions options = new RedisSessionOptions(config.getBackendOptions()).clientOptions();
        assertEquals(RedisClientType.SENTINEL, options.getType());
        assertEquals(List.of("redis://s1:26379", "redis://s2:26379"), options.getEndpoints());
        assertEquals("sessions", options.getMasterName());
    }

    @Test
    void invalidRedisOptions_failAtStartUpNamingTheKey() {
        SessionConfig config = new SessionConfig()
                .setManager("redis")
                .setBackendOption("redis_options", new JsonObject().put("type", "CLUSTERED"));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new RedisSessionOptions(config.getBackendOptions()).clientOptions());
        assertTrue(
                e.getMessage().startsWith("redis_options is not a valid JSON form of Vert.x RedisOptions"),
                e.getMessage());
    }
}
