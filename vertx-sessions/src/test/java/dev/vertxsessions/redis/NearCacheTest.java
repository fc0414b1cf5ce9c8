package dev.vertxsessions.redis;

import static dev.vertxsessions.NearCacheProbe.await;
import static dev.vertxsessions.NearCacheProbe.awaitHit;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.NearCacheProbe;
import dev.vertxsessions.NearCacheProbe.Jar;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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

    @Test
    void aSavesReplyAndMessage_nameTheVersionItReplaced_soTheCacheNeedNotWaitForTheMessage(
            Vertx vertx, VertxTestContext test) {
        SessionConfig config = new SessionConfig()
                .setBackend(RedisSessionInterface.factory(new RedisSessionOptions().setUrl(redis.url())))
                .setNearCache(true);
        SessionBackend backend = config.getBackend().create(vertx, config);
        List<String> replies = new CopyOnWriteArrayList<>();
        List<String> reports = new CopyOnWriteArrayList<>();
        SessionInvalidations.Listener listener = new SessionInvalidations.Listener() {
            @Override
            public void changed(String id, String version) {
                reports.add(id + " " + version);
            }

            @Override
            public void changed(String id, String version, String previous) {
                reports.add(id + " " + previous + " -> " + version);
            }

            @Override
            public void holds(String id, String version, long readAtNanos) {}

            @Override
            public void lost() {}

            @Override
            public void saved(String id, String version, String previous) {
                replies.add(id + " " + previous + " -> " + version);
            }
        };
        String id = "a".repeat(43);
        String moved = "b".repeat(43);
        backend.start(BackendRecorder.NONE)
                .compose(v -> backend.invalidations().start(listener))
                .compose(v -> backend.save(SessionChanges.builder(id)
                        .put("counter", 1)
                        .put(SessionInvalidations.VERSION_KEY, "version-one")
                        .build()))
                .compose(v -> backend.save(SessionChanges.builder(id)
                        .stored()
                        .put("counter", 2)
                        .put(SessionInvalidations.VERSION_KEY, "version-two")
                        .build()))
                .compose(v -> backend.save(SessionChanges.builder(id)
                        .stored()
                        .put("counter", 3)
                        .build())) // a save that sets no version (not the middleware's): the hash keeps version-two
                .compose(v -> backend.save(SessionChanges.builder(moved)
                        .stored()
                        .movedFrom(id)
                        .put(SessionInvalidations.VERSION_KEY, "version-moved")
                        .build())) // a move is not predicted: no reply reported
                .compose(v -> backend.save(SessionChanges.builder(id)
                        .stored()
                        .put(SessionInvalidations.VERSION_KEY, "version-gone")
                        .build())) // gone (moved away): nothing written, nothing reported
                .compose(v -> backend.invalidations().sync()) // every report of those writes has come
                .eventually(() -> backend.invalidations().close().transform(ar -> backend.close()))
                .onComplete(test.succeeding(v -> test.verify(() -> {
                    assertEquals(
                            List.of(
                                    id + " null -> version-one",
                                    id + " version-one -> version-two",
                                    id + " version-two -> null"),
                            replies);
                    assertEquals(
                            List.of(
                                    id + " null -> version-one",
                                    id + " version-one -> version-two",
                                    id + " version-two -> version-two",
                                    id + " null",
                                    moved + " version-moved"),
                            reports);
                    test.completeNow();
                })));
    }
}
