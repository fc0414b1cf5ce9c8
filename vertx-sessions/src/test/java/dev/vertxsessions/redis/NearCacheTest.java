package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.client.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The near cache on Redis: two middleware instances on two HTTP servers share one redis-server, and one browser
 * (one cookie) alternates between them. Waits are for conditions (a hit counted, an invalidation heard), never for
 * a time.
 */
class NearCacheTest {

    @RegisterExtension
    static final RedisServerExtension redis = new RedisServerExtension();

    private Vertx vertx;
    private TestServer a;
    private TestServer b;

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        a = server(c -> c);
        b = server(c -> c);
    }

    @AfterEach
    void stop() {
        vertx.close().await();
    }

    private TestServer server(java.util.function.UnaryOperator<SessionConfig> tune) {
        SessionConfig config = tune.apply(new SessionConfig()
                .setBackend(RedisSessionInterface.factory(new RedisSessionOptions().setUrl(redis.url())))
                .setNearCache(true));
        return TestServer.start(vertx, config, NearCacheTest::routes);
    }

    private static void routes(Router router) {
        router.get("/counter").handler(ctx -> {
            Session session = ctx.session();
            Integer counter = session.get("counter");
            int next = (counter == null ? 0 : counter) + 1;
            session.put("counter", next);
            // Answers once the save is stored, so that the other node can read it at once.
            SessionMiddleware.session(ctx)
                    .commit()
                    .onSuccess(v -> ctx.end(Integer.toString(next)))
                    .onFailure(ctx::fail);
        });
        router.get("/read").handler(ctx -> {
            Object counter = ctx.session().get("counter");
            ctx.end(String.valueOf(counter == null ? 0 : counter));
        });
        router.post("/logout").handler(ctx -> {
            ctx.session().destroy();
            ctx.end("bye");
        });
    }

    /** Sends {@code path} with the jar's cookie and keeps whatever cookie the response sets. */
    private static final class Jar {
        String cookie;

        String get(TestServer server, String path) {
            HttpResponse<Buffer> response = server.get(path, cookie);
            assertEquals(200, response.statusCode(), response.bodyAsString());
            String set = TestServer.setCookie(response, "session_id");
            if (set != null) {
                cookie = TestServer.cookieValue(set);
            }
            return response.bodyAsString();
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 3000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Reads until {@code server} answers from its cache (its channel is proven once it starts). */
    private static void awaitHit(TestServer server, Jar jar, String expected) throws InterruptedException {
        SessionMetrics metrics = server.middleware.metrics();
        long before = metrics.nearCacheHits();
        await("the near cache never answered", () -> {
            assertEquals(expected, jar.get(server, "/read"));
            return metrics.nearCacheHits() > before;
        });
    }

    @Test
    void readAfterAWrite_onTheSameNode_isServedFromTheCache_andTheCountersCount() throws Exception {
        Jar jar = new Jar();
        assertEquals("1", jar.get(a, "/counter"));
        assertTrue(jar.cookie.matches("[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{11}"), jar.cookie);
        awaitHit(a, jar, "1");
        long hits = a.middleware.metrics().nearCacheHits();
        long misses = a.middleware.metrics().nearCacheMisses();
        String firstVersion = jar.cookie;
        assertEquals("2", jar.get(a, "/counter")); // a hit, then the save
        assertNotEquals(firstVersion, jar.cookie, "every save changes the version the cookie carries");
        await("the save's own result was not cached", () -> {
            long before = a.middleware.metrics().nearCacheHits();
            assertEquals("2", jar.get(a, "/read"));
            return a.middleware.metrics().nearCacheHits() > before;
        });
        assertTrue(a.middleware.metrics().nearCacheHits() >= hits + 2);
        assertTrue(a.middleware.metrics().nearCacheMisses() >= misses);
        assertEquals(1, a.middleware.metrics().nearCacheEntries());
    }

    @Test
    void oneBrowserAlternatingNodes_seesEveryWrite_andLosesNone() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(a, jar, "1");
        awaitHit(b, jar, "1");
        int staleReads = 0;
        for (int i = 2; i <= 60; i++) {
            TestServer writer = i % 2 == 0 ? a : b;
            TestServer reader = i % 2 == 0 ? b : a;
            assertEquals(Integer.toString(i), jar.get(writer, "/counter"), "a lost write");
            if (!jar.get(reader, "/read").equals(Integer.toString(i))) {
                staleReads++;
            }
        }
        assertEquals(0, staleReads);
        assertEquals("60", redisCounter(jar));
        assertTrue(
                a.middleware.metrics().nearCacheHits() + b.middleware.metrics().nearCacheHits() > 0);
    }

    private static String redisCounter(Jar jar) throws Exception {
        Object value = redis.command("HGET", "session:" + jar.cookie.substring(0, 43), "k:counter");
        return value instanceof byte[] bytes
                ? new String(bytes, java.nio.charset.StandardCharsets.UTF_8)
                : (String) value;
    }

    @Test
    void logoutOnA_makesBRefuseTheOldCookie_andAReplayIsNeverServedFromTheCache() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1"); // b holds the session
        String old = jar.cookie;
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        HttpResponse<Buffer> logout = a.post("/logout", old);
        assertEquals(200, logout.statusCode());
        await("b never heard of the logout", () -> b.middleware.metrics().nearCacheInvalidations() > invalidations);
        Jar replay = new Jar();
        replay.cookie = old;
        assertEquals("0", replay.get(b, "/read"), "the logged-out session was served");
        assertEquals("0", replay.get(a, "/read"));
        assertEquals(0L, redis.command("EXISTS", "session:" + old.substring(0, 43)));
    }

    @Test
    void adminDeleteOnA_makesBRefuseTheCookie() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        a.middleware.sessions().delete(jar.cookie.substring(0, 43)).await();
        await("b never heard of the deletion", () -> b.middleware.metrics().nearCacheInvalidations() > invalidations);
        String old = jar.cookie;
        assertEquals("0", jar.get(b, "/read"));
        assertEquals(0L, redis.command("EXISTS", "session:" + old.substring(0, 43)));
    }

    @Test
    void channelDown_bypassesAndClearsTheCache_untilItIsBack_andAMissedWriteIsNeverHidden() throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        String key = "session:" + jar.cookie.substring(0, 43);
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
    }

    @Test
    void entriesStayWithinTheirBound() throws Exception {
        TestServer small = server(c -> c.setNearCacheMaxEntries(5).setNearCacheMaxBytes(5 * 1024));
        List<Jar> jars = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Jar jar = new Jar();
            jar.get(small, "/counter");
            jars.add(jar);
        }
        Jar last = jars.get(19);
        awaitHit(small, last, "1");
        for (Jar jar : jars) {
            assertEquals("1", jar.get(small, "/read"));
            assertTrue(small.middleware.metrics().nearCacheEntries() <= 5);
        }
    }

    @Test
    void forgedVersions_giveAStoreReadOrAFreshSession_neverAnErrorNorAnotherSession() throws Exception {
        Jar alice = new Jar();
        alice.get(a, "/counter");
        alice.get(a, "/counter");
        awaitHit(a, alice, "2");
        Jar bob = new Jar();
        bob.get(a, "/counter");
        String aliceId = alice.cookie.substring(0, 43);
        String aliceVersion = alice.cookie.substring(44);
        String bobId = bob.cookie.substring(0, 43);
        // A well-formed but wrong version: a store read of the session the ID names.
        assertEquals("2", a.get("/read", aliceId + ".AAAAAAAAAAA").bodyAsString());
        assertEquals("2", a.get("/read", aliceId).bodyAsString());
        // Bob's ID with Alice's version: Bob's session, never Alice's.
        assertEquals("1", a.get("/read", bobId + "." + aliceVersion).bodyAsString());
        for (String forged : List.of(
                aliceId + ".",
                aliceId + ".x",
                aliceId + "." + aliceVersion + "x",
                aliceId + ".%%%%%%%%%%%",
                aliceId + "." + aliceVersion + "." + aliceVersion,
                "." + aliceVersion)) {
            HttpResponse<Buffer> response = a.get("/read", forged);
            assertEquals(200, response.statusCode(), forged);
            assertEquals("0", response.bodyAsString(), forged);
        }
    }
}
