package dev.vertxsessions.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisServerExtension;
import dev.vertxsessions.redis.RedisSessionInterface;
import dev.vertxsessions.redis.RedisSessionOptions;
import dev.vertxsessions.testkit.BackendContract;
import dev.vertxsessions.testkit.BackendSpiContract;
import dev.vertxsessions.testkit.NearCacheContract;
import dev.vertxsessions.testkit.TestServer;
import io.vertx.junit5.VertxTestContext;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The backend contract for Redis, against one private redis-server for the class ({@link RedisServerExtension}:
 * emptied before each test); a second server uses the same Redis. Skipped, naming {@code redis-server}, when it is
 * not installed.
 */
class RedisContractTest extends BackendContract {

    @RegisterExtension
    static final RedisServerExtension redis = new RedisServerExtension();

    @Test
    void userIndex_dropsASessionRedisExpired_andOneRedisEvicted_soTheLimitCountsOnlyLiveOnes(VertxTestContext test) {
        test.verify(() -> {
            TestServer server =
                    start(c -> c.setMaxSessionsPerUser(2).setUserLimitPolicy(SessionConfig.UserLimitPolicy.REFUSE));
            String expiring = TestServer.sessionCookie(server.post("/login-as/alice", null));
            String evicted = TestServer.sessionCookie(server.post("/login-as/alice", null));
            assertEquals(2L, redis.command("ZCARD", "session:user:alice"));
            assertEquals(200, server.get("/expire/1", expiring).statusCode()); // its key now lives 1 s
            redis.command("DEL", "session:" + evicted); // as maxmemory eviction would: the index is not told
            while (redis.command("EXISTS", "session:" + expiring).equals(1L)) {
                Thread.sleep(50);
            }
            assertEquals(
                    List.of(), server.middleware.sessions().sessionsOf("alice").await());
            assertEquals(0L, redis.command("ZCARD", "session:user:alice"), "the index kept a gone session");

            String again = TestServer.sessionCookie(server.post("/login-as/alice", null));
            redis.command("DEL", "session:" + again);
            assertEquals(200, server.post("/login-as/alice", null).statusCode());
            assertEquals(200, server.post("/login-as/alice", null).statusCode(), "a gone session still counted");
            assertEquals(429, server.post("/login-as/alice", null).statusCode());
            assertEquals(2L, redis.command("ZCARD", "session:user:alice"));
            long indexTtl = (Long) redis.command("PTTL", "session:user:alice");
            assertTrue(
                    indexTtl > 0 && indexTtl <= DAY_SECONDS * 1000,
                    "the index must expire with its sessions: " + indexTtl);
        });
        test.completeNow();
    }

    @Override
    protected SessionConfig config(Clock clock) {
        return new SessionConfig()
                .setBackend(RedisSessionInterface.factory(new RedisSessionOptions().setUrl(redis.url())));
    }

    @Override
    protected SessionConfig sharedStoreConfig(Clock clock) {
        return config(clock); // the same Redis
    }

    /**
     * The whole HTTP contract again with the near cache on: cookies carry {@code <id>.<version>}, reads are answered
     * from the cache when it is provably current, and every write still goes through the scripts.
     */
    @Nested
    class NearCache extends BackendContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return RedisContractTest.this.config(clock).setNearCache(true);
        }

        @Override
        protected SessionConfig sharedStoreConfig(Clock clock) {
            return config(clock);
        }
    }

    /** The near cache across two servers on one store: what another server's writes do to a cached copy. */
    @Nested
    class NearCacheAcrossServers extends NearCacheContract {
        @Override
        protected SessionConfig config() {
            return RedisContractTest.this.config(Clock.systemUTC());
        }
    }

    /** The SPI-level contract on the same backend, configured the same way. */
    @Nested
    class Spi extends BackendSpiContract {
        @Override
        protected SessionConfig config(Clock clock) {
            return RedisContractTest.this.config(clock);
        }
    }
}
