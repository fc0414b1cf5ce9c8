package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionRoutes;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.redis.RedisServerExtension;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The seed's Redis example, as README shows it, against a real redis-server. */
@ExtendWith(VertxExtension.class)
class SeedRedisSessionTest {

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

    private Vertx vertx;

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
    }

    @Test
    void seedExample_countsExpiresAndLogsOut(VertxTestContext test) {
        test.verify(() -> {
            try (TestServer server = TestServer.start(
                    vertx,
                    new SessionConfig().setManager(SeedRedisSession.factory(redis.url())),
                    SessionRoutes::install)) {
                HttpResponse<Buffer> first = server.get("/");
                assertEquals("You've visited this page 1 times", first.bodyAsString());
                String key = TestServer.sessionCookie(first);
                assertEquals(
                        "You've visited this page 2 times", server.get("/", key).bodyAsString());
                assertEquals("{\"counter\":2}", redis.command("GET", "session:" + key));
                long ttl = (Long) redis.command("TTL", "session:" + key);
                assertTrue(ttl > 86390 && ttl <= 86400, "TTL " + ttl);
                assertEquals(302, server.post("/logout", key).statusCode());
                server.get("/peek", key); // waits for the deletion in flight
                assertNull(redis.command("GET", "session:" + key));
            }
        });
        test.completeNow();
    }
}
