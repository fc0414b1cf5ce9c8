package dev.vertxsessions.redis;

import static dev.vertxsessions.NearCacheProbe.await;
import static dev.vertxsessions.NearCacheProbe.awaitHit;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vertxsessions.NearCacheProbe;
import dev.vertxsessions.NearCacheProbe.Jar;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The near cache on Redis when its channel fails: two middleware instances on two HTTP servers share one
 * redis-server. What every backend with a near cache must do across servers is the test kit's
 * {@code NearCacheContract}, run on Redis by {@code RedisContractTest}. Waits are for conditions, never for a time.
 */
@ExtendWith(VertxExtension.class)
class NearCacheTest {

    @RegisterExtension
    static final RedisServerExtension redis = new RedisServerExtension();

    private TestServer a;
    private TestServer b;

    @BeforeEach
    void start(Vertx vertx) {
        a = server(vertx);
        b = server(vertx);
    }

    private static TestServer server(Vertx vertx) {
        SessionConfig config = new SessionConfig()
                .setBackend(RedisSessionInterface.factory(new RedisSessionOptions().setUrl(redis.url())))
                .setNearCache(true);
        return TestServer.start(vertx, config, NearCacheProbe::routes);
    }

    @Test
    void channelDown_bypassesAndClearsTheCache_untilItIsBack_andAMissedWriteIsNeverHidden(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            jar.get(a, "/counter");
            awaitHit(b, jar, "1");
            String key = "session:" + jar.id();
            redis.command("CLIENT", "KILL", "TYPE", "pubsub");
            // A write that b cannot hear: the version stays, only a cleared cache can reveal it.
            redis.command("HSET", key, "k:counter", "42");
            await(
                    "b served its stale entry after losing its channel",
                    () -> jar.get(b, "/read").equals("42"));
            awaitHit(b, jar, "42"); // the channel is back: the cache answers again, with what Redis holds
            redis.command("CLIENT", "KILL", "TYPE", "pubsub");
            long misses = b.middleware.metrics().nearCacheMisses();
            await("the cache was not bypassed", () -> {
                assertEquals("42", jar.get(b, "/read"));
                return b.middleware.metrics().nearCacheMisses() > misses;
            });
        });
        test.completeNow();
    }
}
