package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Redis backend against a real redis-server, over real HTTP. The class gets its own server on a free port,
 * emptied (and restarted or resumed if a test killed or paused it) before each test; a key outside the prefix
 * ({@code other:x}) is put before each test and must survive it.
 */
@ExtendWith(VertxExtension.class)
class RedisSessionInterfaceTest {

    private static final String COOKIE = "session_id";
    private static final String PREFIX = "session:";

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

    private Vertx vertx;
    /** Second application servers' own Vert.x instances, closed after each test. */
    private final List<Vertx> extraVertx = new ArrayList<>();

    private final List<TestServer> servers = new ArrayList<>();
    /** Completed by /slow once it has loaded its session, with the context it runs on. */
    private final CompletableFuture<Context> slowEntered = new CompletableFuture<>();

    private final Promise<Void> slowRelease = Promise.promise();

    @BeforeEach
    void setUp(Vertx vertx) throws Exception {
        this.vertx = vertx;
        redis.command("SET", "other:x", "keep");
    }

    @AfterEach
    void stop() throws Exception {
        try {
            for (TestServer server : servers) {
                server.close();
            }
        } finally {
            for (Vertx other : extraVertx) {
                other.close().await();
            }
        }
        if (redis.isRunning()) { // else the test was skipped: no redis-server
            assertEquals("keep", redis.command("GET", "other:x"), "a key outside the prefix was touched");
            @SuppressWarnings("unchecked")
            List<Object> keys = (List<Object>) redis.command("KEYS", "*");
            for (Object key : keys) {
                String name = (String) key;
                assertTrue(
                        name.equals("other:x")
                                || (name.startsWith(PREFIX)
                                        && SessionIds.isWellFormed(name.substring(PREFIX.length()))),
                        "unexpected key " + name);
            }
        }
    }

    // ------------------------------------------------------------------ basics

    @Test
    void counter_storesOneHashPerSessionWithTtl(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            HttpResponse<Buffer> first = get(server, "/", null);
            assertEquals(200, first.statusCode());
            assertEquals("You've visited this page 1 times", first.bodyAsString());
            String setCookie = TestServer.setCookie(first, COOKIE);
            assertNotNull(setCookie);
            assertTrue(setCookie.contains("Max-Age=86400"), setCookie);
            assertTrue(setCookie.contains("Path=/"), setCookie);
            assertTrue(setCookie.contains("HTTPOnly") || setCookie.contains("HttpOnly"), setCookie);
            assertTrue(setCookie.contains("SameSite=Lax"), setCookie);
            String id = TestServer.cookieValue(setCookie);
            assertTrue(SessionIds.isWellFormed(id), id);

            HttpResponse<Buffer> second = get(server, "/", id);
            assertEquals("You've visited this page 2 times", second.bodyAsString());
            HttpResponse<Buffer> third = get(server, "/", id);
            assertEquals("You've visited this page 3 times", third.bodyAsString());
            get(server, "/peek", id); // waits for the save of the third request

            assertEquals("hash", redis.command("TYPE", PREFIX + id));
            assertEquals("3", redis.command("HGET", PREFIX + id, "k:counter"));
            assertNotNull(redis.command("HGET", PREFIX + id, "m:created"));
            assertNotNull(redis.command("HGET", PREFIX + id, "m:expires"));
            assertNull(redis.command("HGET", PREFIX + id, "m:expiry"));
            assertEquals(2L, redis.command("DBSIZE"));
        });
        test.completeNow();
    }

    @Test
    void configByName_usesRedisUrlAndKeyPrefix(VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig(new JsonObject()
                    .put("manager", "redis")
                    .put("redis_url", redis.url())
                    .put("redis_key_prefix", "app1:")
                    .put("redis_pool_size", 4)
                    .put("redis_timeout_ms", 1000));
            TestServer server = start(config);
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            assertEquals(
                    "You've visited this page 2 times", get(server, "/", id).bodyAsString());
            get(server, "/peek", id);
            assertEquals("2", redis.command("HGET", "app1:" + id, "k:counter"));
            assertEquals(0L, redis.command("EXISTS", PREFIX + id));
            redis.command("DEL", "app1:" + id); // keep the after-test check of key names simple
        });
        test.completeNow();
    }

    @Test
    void twoApplicationServers_loginOnOne_dashboardOnTheOther(VertxTestContext test) {
        test.verify(() -> {
            Vertx vertxB = Vertx.vertx(); // a second application server needs its own Vert.x instance: closed in stop()
            extraVertx.add(vertxB);
            TestServer serverA = start(vertx, config());
            TestServer serverB = start(vertxB, config());
            assertNotEquals(serverA.port(), serverB.port());

            assertEquals("anonymous", get(serverB, "/dashboard", null).bodyAsString());
            HttpResponse<Buffer> login = get(serverA, "/login?user=alice", null);
            assertEquals(200, login.statusCode());
            String id = TestServer.cookieValue(TestServer.setCookie(login, COOKIE));

            HttpResponse<Buffer> dashboard = get(serverB, "/dashboard", id);
            assertEquals(200, dashboard.statusCode());
            assertEquals("alice", dashboard.bodyAsString());
            assertNull(TestServer.setCookie(dashboard, COOKIE), "a read-only request sets no cookie");

            // A change made on B is seen on A.
            assertEquals(200, get(serverB, "/put?k=theme&v=dark&commit=1", id).statusCode());
            assertEquals("dark", get(serverA, "/get?k=theme", id).bodyAsString());

            // Logout on A is seen on B.
            assertEquals(200, get(serverA, "/logout", id).statusCode());
            assertEquals("anonymous", get(serverB, "/dashboard", id).bodyAsString());
            assertEquals(0L, redis.command("EXISTS", PREFIX + id));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ expiry

    @Test
    void expiry_isTheKeysTtl(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config().setExpiry(Duration.ofSeconds(3600)));
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            get(server, "/peek", id);
            assertBetween(3599_000, 3600_000, pttl(id));

            HttpResponse<Buffer> perSession = get(server, "/expiry?s=120", id);
            assertTrue(TestServer.setCookie(perSession, COOKIE).contains("Max-Age=120"));
            get(server, "/peek", id);
            assertBetween(119_000, 120_000, pttl(id));
            assertEquals("120", redis.command("HGET", PREFIX + id, "m:expiry"));

            // The per-session expiry is kept by later saves.
            get(server, "/", id);
            get(server, "/peek", id);
            assertBetween(119_000, 120_000, pttl(id));
        });
        test.completeNow();
    }

    @Test
    void absoluteExpiry_capsTheTtl(VertxTestContext test) {
        test.verify(() -> {
            TestServer server =
                    start(config().setExpiry(Duration.ofSeconds(60)).setAbsoluteExpiry(Duration.ofSeconds(120)));
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            get(server, "/peek", id);
            assertBetween(59_000, 60_000, pttl(id));
            get(server, "/expiry?s=3600", id);
            get(server, "/peek", id);
            assertBetween(119_000, 120_000, pttl(id));
        });
        test.completeNow();
    }

    @Test
    void expiredSession_byTheConfiguredClock_loadsAsFresh(VertxTestContext test) {
        test.verify(() -> {
            MutableClock clock = new MutableClock();
            TestServer server = start(config().setExpiry(Duration.ofSeconds(60)).setClock(clock));
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            assertEquals(
                    "You've visited this page 2 times", get(server, "/", id).bodyAsString());
            clock.advance(Duration.ofSeconds(61));
            HttpResponse<Buffer> after = get(server, "/", id);
            assertEquals("You've visited this page 1 times", after.bodyAsString());
            assertNotEquals(id, TestServer.cookieValue(TestServer.setCookie(after, COOKIE)));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ logout, regenerate

    @Test
    void logoutWhileSlowRequestInFlight_doesNotResurrectTheSession(VertxTestContext test) {
        test.verify(() -> {
            logoutWhileSlowRequestInFlight("/slow");
        });
        test.completeNow();
    }

    @Test
    void logoutWhileSlowRequestInFlight_thatRegenerates_createsNoKey(VertxTestContext test) {
        test.verify(() -> {
            logoutWhileSlowRequestInFlight("/slow?regenerate=1");
        });
        test.completeNow();
    }

    private void logoutWhileSlowRequestInFlight(String slowPath) throws Exception {
        TestServer server = start(config());
        String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/login?user=alice", null), COOKIE));
        assertEquals(1L, redis.command("EXISTS", PREFIX + id));

        Future<HttpResponse<Buffer>> slow = request(server, slowPath, id).send();
        Context slowContext = slowEntered.get(10, TimeUnit.SECONDS); // the slow request has loaded the session

        HttpResponse<Buffer> logout = get(server, "/logout", id);
        assertEquals(200, logout.statusCode());
        String expired = TestServer.setCookie(logout, COOKIE);
        assertTrue(expired.startsWith(COOKIE + "=;") && expired.contains("Max-Age=0"), expired);
        assertEquals(0L, redis.command("EXISTS", PREFIX + id));

        slowContext.runOnContext(v -> slowRelease.complete());
        HttpResponse<Buffer> slowResponse = slow.await();
        assertEquals(200, slowResponse.statusCode());
        assertEquals("slow done", slowResponse.bodyAsString());

        // The next request (which waits for the slow request's save) finds no session.
        HttpResponse<Buffer> next = get(server, "/dashboard", id);
        assertEquals("anonymous", next.bodyAsString());
        String slowCookie = TestServer.setCookie(slowResponse, COOKIE);
        if (slowCookie != null && !TestServer.cookieValue(slowCookie).isEmpty()) {
            assertEquals(
                    "anonymous",
                    get(server, "/dashboard", TestServer.cookieValue(slowCookie))
                            .bodyAsString());
        }
        assertEquals(0L, redis.command("EXISTS", PREFIX + id));
        assertEquals(1L, redis.command("DBSIZE"), "only other:x is left");
    }

    @Test
    void regenerate_movesDataToNewKeyAndDeletesOldOne(VertxTestContext test) {
        test.verify(() -> {
            regenerate(config());
        });
        test.completeNow();
    }

    @Test
    void regenerate_inTwoSteps_asOnRedisCluster(VertxTestContext test) {
        test.verify(() -> {
            regenerate(config().setBackend(RedisSessionInterface.factory(true)));
        });
        test.completeNow();
    }

    private void regenerate(SessionConfig config) throws Exception {
        TestServer server = start(config);
        String before = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
        assertEquals(
                "You've visited this page 2 times", get(server, "/", before).bodyAsString());
        get(server, "/peek", before);

        HttpResponse<Buffer> login = get(server, "/login?user=bob", before);
        assertEquals(200, login.statusCode());
        String after = TestServer.cookieValue(TestServer.setCookie(login, COOKIE));
        assertNotEquals(before, after);
        assertTrue(SessionIds.isWellFormed(after));

        assertEquals(0L, redis.command("EXISTS", PREFIX + before));
        assertEquals("\"bob\"", redis.command("HGET", PREFIX + after, "k:user"));
        assertEquals("2", redis.command("HGET", PREFIX + after, "k:counter"));
        assertBetween(86_399_000, 86_400_000, pttl(after));
        assertEquals("You've visited this page 3 times", get(server, "/", after).bodyAsString());

        HttpResponse<Buffer> old = get(server, "/", before);
        assertEquals("You've visited this page 1 times", old.bodyAsString());
        assertNotEquals(before, TestServer.cookieValue(TestServer.setCookie(old, COOKIE)));
    }

    // ------------------------------------------------------------------ concurrency

    @Test
    void parallelRequests_eachPuttingItsOwnKey_allKeysKept(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id =
                    TestServer.cookieValue(TestServer.setCookie(get(server, "/put?k=seed&v=0&commit=1", null), COOKIE));
            List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                responses.add(request(server, "/put?k=key" + i + "&v=" + i, id).send());
            }
            for (Future<HttpResponse<Buffer>> response : responses) {
                assertEquals(200, response.await().statusCode());
            }
            String keys = get(server, "/keys", id).bodyAsString(); // waits for every save in flight
            Set<String> expected = new TreeSet<>();
            expected.add("seed");
            IntStream.range(0, 200).forEach(i -> expected.add("key" + i));
            assertEquals(String.join(",", expected), keys);
            assertEquals(203L, redis.command("HLEN", PREFIX + id)); // 201 keys, m:created, m:expires
            assertEquals("\"42\"", redis.command("HGET", PREFIX + id, "k:key42"));
        });
        test.completeNow();
    }

    @Test
    void parallelWritesOfTheSameKey_endWithOneOfTheWrittenValues(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id =
                    TestServer.cookieValue(TestServer.setCookie(get(server, "/put?k=seed&v=0&commit=1", null), COOKIE));
            List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
            Set<String> written = new TreeSet<>();
            for (int i = 0; i < 50; i++) {
                String value = ("v" + i + "-").repeat(200); // long, so a mix of two writes would show
                written.add(value);
                responses.add(request(server, "/put?k=same&v=" + value, id).send());
            }
            for (Future<HttpResponse<Buffer>> response : responses) {
                assertEquals(200, response.await().statusCode());
            }
            String value = get(server, "/get?k=same", id).bodyAsString();
            assertTrue(written.contains(value), "not one of the written values: " + value.substring(0, 40));
            assertEquals("0", get(server, "/get?k=seed", id).bodyAsString());
        });
        test.completeNow();
    }

    /** Awaits every increment, asserting each answered 200, and returns the values they answered. */
    private static Set<Long> incrementsSeen(List<Future<HttpResponse<Buffer>>> responses) {
        Set<Long> values = new HashSet<>();
        for (Future<HttpResponse<Buffer>> response : responses) {
            HttpResponse<Buffer> result = response.await();
            assertEquals(200, result.statusCode(), result.bodyAsString());
            values.add(Long.parseLong(result.bodyAsString()));
        }
        return values;
    }

    @Test
    void parallelIncrements_countEveryOne(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/login?user=alice", null), COOKIE));
            List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                responses.add(request(server, "/inc", id).send());
            }
            assertEquals(longRange(1, 100), incrementsSeen(responses), "each increment saw a distinct value");
            assertEquals("100", redis.command("HGET", PREFIX + id, "k:counter"));
            assertEquals("100", get(server, "/get?k=counter", id).bodyAsString());
            assertEquals("alice", get(server, "/dashboard", id).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void parallelIncrements_fromTwoApplicationServers_countEveryOne(VertxTestContext test) {
        test.verify(() -> {
            Vertx vertxB = Vertx.vertx(); // a second application server needs its own Vert.x instance: closed in stop()
            extraVertx.add(vertxB);
            TestServer serverA = start(config());
            TestServer serverB = start(vertxB, config());
            String id = TestServer.cookieValue(TestServer.setCookie(get(serverA, "/login?user=alice", null), COOKIE));
            List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                responses.add(request(serverA, "/inc", id).send());
                responses.add(request(serverB, "/inc", id).send());
            }
            assertEquals(longRange(1, 100), incrementsSeen(responses), "each increment saw a distinct value");
            assertEquals("100", redis.command("HGET", PREFIX + id, "k:counter"));
        });
        test.completeNow();
    }

    @Test
    void increment_onNewSession_createsItAndSetsTheCookie(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            HttpResponse<Buffer> first = get(server, "/inc", null);
            assertEquals("1", first.bodyAsString());
            String id = TestServer.cookieValue(TestServer.setCookie(first, COOKIE));
            assertEquals("2", get(server, "/inc", id).bodyAsString());
            assertEquals("2", redis.command("HGET", PREFIX + id, "k:counter"));
            assertBetween(86_399_000, 86_400_000, pttl(id));
        });
        test.completeNow();
    }

    @Test
    void clearThenIncrement_inOneRequest_keepsOnlyTheNewValues(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/login?user=alice", null), COOKIE));
            get(server, "/inc", id);
            assertEquals("2", get(server, "/inc", id).bodyAsString());
            HttpResponse<Buffer> reset = get(server, "/reset", id);
            assertEquals("1", reset.bodyAsString());
            get(server, "/peek", id);
            assertNull(redis.command("HGET", PREFIX + id, "k:user"));
            assertEquals("1", redis.command("HGET", PREFIX + id, "k:counter"));
            assertEquals("true", redis.command("HGET", PREFIX + id, "k:fresh"));
            assertEquals("counter,fresh", get(server, "/keys", id).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void aSaveOfThousandsOfKeys_writesAndRemovesThemAll(VertxTestContext test) {
        // SAVE sends a request's fields, and a clear's, as whole HSET and HDEL commands, at most 1000 arguments each
        test.verify(() -> {
            TestServer server = start(config());
            HttpResponse<Buffer> first = get(server, "/many?remove=0&from=0&put=2500", null);
            assertEquals("ok", first.bodyAsString());
            String id = TestServer.cookieValue(TestServer.setCookie(first, COOKIE));
            assertEquals(2500L + 2, redis.command("HLEN", PREFIX + id)); // with m:created and m:expires
            assertEquals(
                    "ok",
                    get(server, "/many?remove=1500&from=2500&put=1200", id).bodyAsString());
            assertEquals(2200L + 2, redis.command("HLEN", PREFIX + id));
            assertNull(redis.command("HGET", PREFIX + id, "k:k0"));
            assertNull(redis.command("HGET", PREFIX + id, "k:k1499"));
            assertEquals("1500", redis.command("HGET", PREFIX + id, "k:k1500"));
            assertEquals("2499", redis.command("HGET", PREFIX + id, "k:k2499"));
            assertEquals("3699", redis.command("HGET", PREFIX + id, "k:k3699"));
            assertEquals("3699", get(server, "/get?k=k3699", id).bodyAsString());
            assertEquals("1", get(server, "/reset", id).bodyAsString()); // a clear of 2,200 keys, then two keys
            get(server, "/peek", id); // waits for the save
            assertEquals(2L + 2, redis.command("HLEN", PREFIX + id));
            assertEquals("counter,fresh", get(server, "/keys", id).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void keys_keepTheirInsertionOrder(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id = TestServer.cookieValue(
                    TestServer.setCookie(get(server, "/put?k=zebra&v=1&commit=1", null), COOKIE));
            get(server, "/put?k=apple&v=2&commit=1", id);
            get(server, "/put?k=mango&v=3&commit=1", id);
            assertEquals("zebra,apple,mango", get(server, "/keys?sorted=0", id).bodyAsString());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void malformedOrOversizedCookie_freshSession_noRedisCall(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            warmUp(server);
            String wellFormed = SessionIds.generate();
            List<String> bad = List.of(
                    "abc",
                    "x".repeat(43),
                    wellFormed.substring(0, 42) + "B",
                    "../../etc/passwd",
                    "other:x",
                    PREFIX + wellFormed,
                    wellFormed + "A",
                    "a".repeat(5000),
                    "%00",
                    "*");
            try (RedisServerProcess.Monitor monitor = redis.monitor()) {
                for (String value : bad) {
                    HttpResponse<Buffer> response = get(server, "/peek", value);
                    assertEquals(200, response.statusCode(), value);
                    assertEquals("none", response.bodyAsString());
                    assertNull(TestServer.setCookie(response, COOKIE), "nothing to store, no cookie");
                }
                assertEquals(List.of(), monitor.drain(), "no Redis call for a malformed session ID");

                HttpResponse<Buffer> writing = get(server, "/put?k=a&v=1&commit=1", "x".repeat(43));
                String id = TestServer.cookieValue(TestServer.setCookie(writing, COOKIE));
                assertNotEquals("x".repeat(43), id, "a client never chooses its session ID");
                assertTrue(SessionIds.isWellFormed(id));
            }
            assertEquals(3L, redis.command("DBSIZE")); // other:x, the first session, the new one
        });
        test.completeNow();
    }

    @Test
    void unknownWellFormedId_oneLookup_freshSession(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String unknown = SessionIds.generate();
            HttpResponse<Buffer> response = get(server, "/", unknown);
            assertEquals("You've visited this page 1 times", response.bodyAsString());
            String id = TestServer.cookieValue(TestServer.setCookie(response, COOKIE));
            assertNotEquals(unknown, id);
            assertEquals(0L, redis.command("EXISTS", PREFIX + unknown));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ round trips

    @Test
    void roundTrips_oneReadAndOneWritePerRequest(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            warmUp(server);
            try (RedisServerProcess.Monitor monitor = redis.monitor()) {
                HttpResponse<Buffer> created = get(server, "/", null);
                String id = TestServer.cookieValue(TestServer.setCookie(created, COOKIE));
                assertCommands(monitor, "EVALSHA");

                get(server, "/", id);
                assertCommands(monitor, "HGETALL", "EVALSHA");

                get(server, "/peek", id);
                assertCommands(monitor, "HGETALL");

                get(server, "/put?k=a&v=1&commit=1", id);
                assertCommands(monitor, "HGETALL", "EVALSHA");

                get(server, "/inc", id);
                assertCommands(monitor, "HGETALL", "EVALSHA");

                get(server, "/login?user=carol", id); // regenerate + put, committed
                assertCommands(monitor, "HGETALL", "EVALSHA");
                assertEquals(0L, redis.command("EXISTS", PREFIX + id));

                get(server, "/logout", id);
                assertCommands(monitor, "HGETALL"); // the old ID is gone: nothing to delete
            }
        });
        test.completeNow();
    }

    @Test
    void roundTrips_rollingRefreshesWithOneScriptAndLogoutIsOneScript(VertxTestContext test) {
        test.verify(() -> {
            MutableClock clock = new MutableClock();
            TestServer server = start(config().setRolling(true).setClock(clock));
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            get(server, "/peek", id);
            redis.command("PEXPIRE", PREFIX + id, "5000");
            clock.advance(Duration.ofSeconds(60)); // the expiry moves to another minute: the cookie is renewed
            try (RedisServerProcess.Monitor monitor = redis.monitor()) {
                HttpResponse<Buffer> read = get(server, "/peek", id);
                assertTrue(TestServer.setCookie(read, COOKIE).contains("Max-Age=86400"));
                assertCommands(monitor, "HGETALL", "EVALSHA");
                assertBetween(86_399_000, 86_400_000, pttl(id));

                get(server, "/logout", id);
                assertCommands(monitor, "HGETALL", "EVALSHA", "EVAL"); // the delete script's first run loads it
                String other = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
                assertCommands(monitor, "EVALSHA");
                get(server, "/logout", other);
                assertCommands(monitor, "HGETALL", "EVALSHA");
            }
        });
        test.completeNow();
    }

    @Test
    void scriptsAreReloadedAfterScriptFlush(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id =
                    TestServer.cookieValue(TestServer.setCookie(get(server, "/put?k=a&v=1&commit=1", null), COOKIE));
            redis.command("SCRIPT", "FLUSH");
            try (RedisServerProcess.Monitor monitor = redis.monitor()) {
                assertEquals(
                        "You've visited this page 1 times", get(server, "/", id).bodyAsString());
                assertCommands(monitor, "HGETALL", "EVALSHA", "EVAL");
                assertEquals(
                        "You've visited this page 2 times", get(server, "/", id).bodyAsString());
                assertCommands(monitor, "HGETALL", "EVALSHA");
            }
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ Redis down or slow

    @Test
    void redisKilled_sessionRoutes503_otherRoutesServe_thenRecovers(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config());
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            assertEquals(
                    "You've visited this page 2 times", get(server, "/", id).bodyAsString());

            redis.kill();
            HttpResponse<Buffer> down = get(server, "/", id);
            assertEquals(503, down.statusCode());
            assertNull(TestServer.setCookie(down, COOKIE));
            assertEquals(503, get(server, "/peek", id).statusCode());
            HttpResponse<Buffer> health = get(server, "/health", id);
            assertEquals(200, health.statusCode());
            assertEquals("ok", health.bodyAsString());

            redis.restart(); // empty: the sessions are lost, the application is not restarted
            redis.command("SET", "other:x", "keep");
            HttpResponse<Buffer> back = untilNot503(server, "/", id);
            assertEquals(200, back.statusCode());
            assertEquals("You've visited this page 1 times", back.bodyAsString());
            String newId = TestServer.cookieValue(TestServer.setCookie(back, COOKIE));
            assertEquals(
                    "You've visited this page 2 times", get(server, "/", newId).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void redisNotAnswering_503WithinTimeout_thenRecoversWithDataIntact(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config().setBackendOption("redis_timeout_ms", 300));
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            get(server, "/peek", id);

            redis.pause();
            try {
                assertEquals(503, get(server, "/", id).statusCode());
                assertEquals(200, get(server, "/health", id).statusCode());
            } finally {
                redis.resume();
            }
            HttpResponse<Buffer> back = untilNot503(server, "/", id);
            assertEquals("You've visited this page 2 times", back.bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void redisDownAtStartUp_applicationStarts_andServesOnceRedisIsUp(VertxTestContext test) {
        test.verify(() -> {
            redis.kill();
            TestServer server = start(config());
            assertEquals(200, get(server, "/health", null).statusCode());
            assertEquals(503, get(server, "/peek", SessionIds.generate()).statusCode());
            redis.restart();
            redis.command("SET", "other:x", "keep");
            assertEquals(
                    "none", untilNot503(server, "/peek", SessionIds.generate()).bodyAsString());
            String id = TestServer.cookieValue(TestServer.setCookie(get(server, "/", null), COOKIE));
            assertEquals(
                    "You've visited this page 2 times", get(server, "/", id).bodyAsString());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ helpers

    /** Loads the scripts into Redis and opens a pooled connection, and waits until that is done. */
    private static void warmUp(TestServer server) {
        HttpResponse<Buffer> response = get(server, "/put?k=warm&v=up&commit=1", null);
        assertEquals(
                "1",
                get(server, "/inc", TestServer.cookieValue(TestServer.setCookie(response, COOKIE)))
                        .bodyAsString());
    }

    @Test
    void aReadWhoseConnectionClosesUnderIt_isRetriedOnceOnAFreshConnection(VertxTestContext test) {
        test.verify(() -> {
            ClosingProxy proxy = ClosingProxy.start(vertx, redis.url());
            try {
                TestServer server = start(config().setBackendOption("redis_url", proxy.url()));
                String cookie = TestServer.sessionCookie(server.get("/put?k=user&v=ada&commit=1"));
                assertEquals("ada", server.get("/peek", cookie).bodyAsString());
                proxy.closeOnNext("HGETALL");
                HttpResponse<Buffer> response = server.get("/peek", cookie);
                assertEquals(1, proxy.closedConnections(), "the load's connection was closed under it");
                assertEquals(200, response.statusCode());
                assertEquals("ada", response.bodyAsString());
            } finally {
                proxy.close();
            }
        });
        test.completeNow();
    }

    private SessionConfig config() {
        return new SessionConfig()
                .setManager("redis")
                .setBackendOption("redis_url", redis.url())
                .setBackendOption("redis_timeout_ms", 2 * 1000);
    }

    private TestServer start(SessionConfig config) {
        return start(vertx, config);
    }

    private TestServer start(Vertx on, SessionConfig config) {
        TestServer server = TestServer.start(on, config, this::routes);
        servers.add(server);
        return server;
    }

    private void routes(Router router) {
        router.get("/health").order(-1).handler(ctx -> ctx.end("ok")); // before the middleware: no session
        TestServer.counter(router);
        router.get("/peek").handler(ctx -> ctx.end(String.valueOf(session(ctx).get("user", "none"))));
        router.get("/dashboard")
                .handler(ctx -> ctx.end(String.valueOf(session(ctx).get("user", "anonymous"))));
        router.get("/login").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            session.regenerate();
            session.put("user", ctx.request().getParam("user"));
            session.commit().onComplete(ar -> ctx.end(ar.succeeded() ? "logged in" : "failed: " + ar.cause()));
        });
        router.get("/logout").handler(ctx -> {
            session(ctx).clear();
            session(ctx).commit().onComplete(ar -> ctx.end(ar.succeeded() ? "bye" : "failed: " + ar.cause()));
        });
        router.get("/put").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            session.put(ctx.request().getParam("k"), ctx.request().getParam("v"));
            if ("1".equals(ctx.request().getParam("commit"))) {
                session.commit().onComplete(ar -> ctx.end(ar.succeeded() ? "ok" : "failed: " + ar.cause()));
            } else {
                ctx.end("ok");
            }
        });
        router.get("/many")
                .handler(
                        ctx -> { // removes k0..k<remove - 1>, puts k<from>..k<from + put - 1>
                            BaseSessionInterface session = session(ctx);
                            int from = Integer.parseInt(ctx.request().getParam("from"));
                            for (int i = 0; i < Integer.parseInt(ctx.request().getParam("remove")); i++) {
                                session.remove("k" + i);
                            }
                            for (int i = from;
                                    i < from + Integer.parseInt(ctx.request().getParam("put"));
                                    i++) {
                                session.put("k" + i, i);
                            }
                            session.commit().onComplete(ar -> ctx.end(ar.succeeded() ? "ok" : "failed: " + ar.cause()));
                        });
        router.get("/get").handler(ctx -> {
            Object value = session(ctx).get(ctx.request().getParam("k"));
            ctx.end(String.valueOf(value));
        });
        router.get("/keys")
                .handler(ctx -> ctx.end(String.join(
                        ",",
                        "0".equals(ctx.request().getParam("sorted"))
                                ? session(ctx).keys()
                                : new TreeSet<>(session(ctx).keys()))));
        router.get("/inc")
                .handler(ctx -> session(ctx)
                        .increment("counter")
                        .onComplete(
                                ar -> ctx.end(ar.succeeded() ? String.valueOf(ar.result()) : "failed: " + ar.cause())));
        router.get("/reset").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            session.clear();
            session.increment("counter").onComplete(ar -> {
                session.put("fresh", true);
                ctx.end(ar.succeeded() ? String.valueOf(ar.result()) : "failed: " + ar.cause());
            });
        });
        router.get("/expiry").handler(ctx -> {
            session(ctx).setExpiry(Long.parseLong(ctx.request().getParam("s")));
            session(ctx).put("x", 1);
            ctx.end("ok");
        });
        router.get("/slow").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            slowEntered.complete(Vertx.currentContext());
            slowRelease.future().onComplete(ar -> {
                if ("1".equals(ctx.request().getParam("regenerate"))) {
                    session.regenerate();
                }
                session.put("late", "written after logout");
                ctx.end("slow done");
            });
        });
    }

    private static BaseSessionInterface session(RoutingContext ctx) {
        return SessionMiddleware.session(ctx);
    }

    private static HttpRequest<Buffer> request(TestServer server, String path, String cookie) {
        HttpRequest<Buffer> request = server.client.get(path);
        if (cookie != null) {
            request.putHeader("cookie", COOKIE + "=" + cookie);
        }
        return request;
    }

    private static HttpResponse<Buffer> get(TestServer server, String path, String cookie) {
        return request(server, path, cookie).send().await();
    }

    /** Retries a request while it gets 503: the client reconnects on its own, at its own pace. */
    private static HttpResponse<Buffer> untilNot503(TestServer server, String path, String cookie)
            throws InterruptedException {
        HttpResponse<Buffer> response = null;
        for (int i = 0; i < 100; i++) {
            response = get(server, path, cookie);
            if (response.statusCode() != 503) {
                return response;
            }
            Thread.sleep(50);
        }
        return response;
    }

    private long pttl(String id) throws Exception {
        return (Long) redis.command("PTTL", PREFIX + id);
    }

    private static void assertBetween(long low, long high, long value) {
        assertTrue(value > low && value <= high, value + " not in (" + low + ", " + high + "]");
    }

    /**
     * Asserts which commands clients sent since the last check. A save runs while the response goes out, so the
     * check waits (a bounded number of times) until the expected number arrived, then looks once more for extras.
     */
    private static void assertCommands(RedisServerProcess.Monitor monitor, String... expected) throws Exception {
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 100 && seen.size() < expected.length; i++) {
            seen.addAll(monitor.drain());
            if (seen.size() < expected.length) {
                Thread.sleep(20);
            }
        }
        Thread.sleep(50);
        seen.addAll(monitor.drain());
        // A new pooled connection starts with HELLO: once per connection, not per request.
        seen.removeIf(line -> line.startsWith("\"hello\""));
        List<String> names = seen.stream()
                .map(line -> line.substring(1, line.indexOf('"', 1)).toUpperCase(Locale.ROOT))
                .collect(Collectors.toList());
        assertEquals(List.of(expected), names, String.join("\n", seen));
        for (String line : seen) {
            assertTrue(line.contains("\"" + PREFIX), "every command names a session key: " + line);
            assertFalse(line.contains("other:"), line);
        }
    }

    private static Set<Long> longRange(long from, long to) {
        Set<Long> set = new HashSet<>();
        for (long i = from; i <= to; i++) {
            set.add(i);
        }
        return set;
    }
}
