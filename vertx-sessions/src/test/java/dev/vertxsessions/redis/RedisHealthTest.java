package dev.vertxsessions.redis;

import static dev.vertxsessions.health.SessionHealthChecksTest.assertHealth;
import static dev.vertxsessions.health.SessionHealthChecksTest.serverWithHealth;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The Redis backend in a Vert.x health report: down while redis-server is stopped, up again once it is back. */
@ExtendWith(VertxExtension.class)
class RedisHealthTest {

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

    @Test
    void redisBackend_isDownWhileRedisIsStopped_andUpAgainAfter(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = serverWithHealth(
                    vertx,
                    new SessionConfig()
                            .setManager("redis")
                            .setBackendOption("redis_url", redis.url())
                            .setBackendOption("redis_timeout_ms", 500));
            try {
                assertEquals(new JsonObject().put("backend", "redis"), assertHealth(server, 200, "UP"));
                redis.kill();
                JsonObject down = assertHealth(server, 503, "DOWN");
                assertEquals("redis", down.getString("backend"));
                assertTrue(
                        down.getString("reason").startsWith("Redis could not be reached to answer a PING"),
                        down.encode());
                redis.restart();
                assertHealth(server, 200, "UP");
            } finally {
                server.close();
            }
        });
        test.completeNow();
    }
}
