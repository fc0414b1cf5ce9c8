package dev.vertxsessions.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The near cache's contract, for a backend that offers it ({@code SessionBackend.invalidations()}): two middleware
 * instances on two HTTP servers share one store with {@code near_cache} on, and one browser (one cookie) goes from
 * one to the other. Extend it and return, from {@link #config()}, a configuration whose every instance uses the same
 * store. Waits are for conditions (a hit counted, an invalidation heard), never for a time.
 */
@ExtendWith(VertxExtension.class)
public abstract class NearCacheContract {

    /** The servers' routes: {@code /counter} (answers once saved), {@code /read}, {@code /inc} (atomic), {@code /n}, {@code POST /logout}. */
    public static void routes(Router router) {
        router.get("/counter").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int next = session.get("counter", 0) + 1;
            session.put("counter", next);
            TestServer.endAfterCommit(ctx, session, Integer.toString(next));
        });
        router.get("/read").handler(TestServer.text(s -> s.get("counter", 0)));
        router.get("/inc")
                .handler(ctx -> SessionMiddleware.session(ctx)
                        .increment("n")
                        .onSuccess(n -> ctx.end(String.valueOf(n)))
                        .onFailure(ctx::fail));
        router.get("/n").handler(TestServer.text(s -> s.get("n", 0)));
        router.post("/logout").handler(ctx -> {
            SessionMiddleware.session(ctx).destroy();
            ctx.end("bye");
        });
    }

    protected Vertx vertx;
    protected TestServer a;
    protected TestServer b;

    /** Returns the configuration of a server of the contract: every one it returns shares one store. */
    protected abstract SessionConfig config();

    @BeforeEach
    void startTwoServers(Vertx vertx) {
        this.vertx = vertx;
        a = server(c -> c);
        b = server(c -> c);
    }

    /** Starts a server with the near cache on, {@code tune} applied to its configuration. */
    protected TestServer server(UnaryOperator<SessionConfig> tune) {
        return TestServer.start(vertx, tune.apply(config().setNearCache(true)), NearCacheContract::routes);
    }

    /** Sends requests with one cookie and keeps whatever cookie the responses set. */
    public static final class Jar {
        /** The cookie's value, {@code <id>.<version>}. */
        public String cookie;

        /** Sends {@code GET path} to {@code server}, expects a 200 and returns the body. */
        public String get(TestServer server, String path) {
            return keep(server.get(path, cookie));
        }

        /** Keeps the cookie {@code response} sets, expects a 200 and returns the body. */
        public String keep(HttpResponse<Buffer> response) {
            assertEquals(200, response.statusCode(), response.bodyAsString());
            String set = TestServer.setCookie(response, "session_id");
            if (set != null) {
                cookie = TestServer.cookieValue(set);
            }
            return response.bodyAsString();
        }

        /** Returns the session's ID. */
        public String id() {
            return cookie.substring(0, 43);
        }
    }

    /** Waits (at most 30 s) until {@code condition} holds. */
    public static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 3000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Reads {@code /read} until {@code server} answers from its cache, always with {@code expected}. */
    public static void awaitHit(TestServer server, Jar jar, String expected) throws InterruptedException {
        SessionMetrics metrics = server.middleware.metrics();
        long before = metrics.nearCacheHits();
        await("the near cache never answered", () -> {
            assertEquals(expected, jar.get(server, "/read"));
            return metrics.nearCacheHits() > before;
        });
    }

    /** Waits until {@code server} has dropped a cached session since its count was {@code before}. */
    public static void awaitInvalidation(TestServer server, long before, String what) throws InterruptedException {
        await(what, () -> server.middleware.metrics().nearCacheInvalidations() > before);
    }

    /** Reads the counter the store holds, through a server without the near cache. */
    private String storedCounter(String id) {
        TestServer plain = TestServer.start(vertx, config(), NearCacheContract::routes);
        try {
            return plain.get("/read", id).bodyAsString();
        } finally {
            plain.close();
        }
    }

    @Test
    void aReadAfterAWrite_onTheSameServer_isServedFromTheCache_andEverySaveChangesTheVersion(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            assertEquals("1", jar.get(a, "/counter"));
            assertTrue(jar.cookie.matches("[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{11}"), jar.cookie);
            awaitHit(a, jar, "1");
            String first = jar.cookie;
            assertEquals("2", jar.get(a, "/counter"));
            assertNotEquals(first, jar.cookie, "every save changes the version the cookie carries");
            awaitHit(a, jar, "2");
            assertEquals(1, a.middleware.metrics().nearCacheEntries());
        });
        test.completeNow();
    }

    @Test
    void oneBrowserAlternatingServers_seesEveryWrite_andLosesNone(VertxTestContext test) {
        test.verify(() -> {
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
            assertEquals("60", storedCounter(jar.id()));
            long hits = a.middleware.metrics().nearCacheHits()
                    + b.middleware.metrics().nearCacheHits();
            assertTrue(hits > 0);
        });
        test.completeNow();
    }

    @Test
    void aWriteOnA_dropsBsCopy_soThatARequestWithTheOlderCookieReadsTheStore(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            jar.get(a, "/counter");
            awaitHit(b, jar, "1");
            String older = jar.cookie; // a request sent before the next response arrived carries it
            long invalidations = b.middleware.metrics().nearCacheInvalidations();
            assertEquals("2", jar.get(a, "/counter"));
            awaitInvalidation(b, invalidations, "b never heard of the write");
            Jar late = new Jar();
            late.cookie = older;
            assertEquals("2", late.get(b, "/read"));
        });
        test.completeNow();
    }

    @Test
    void anAtomicUpdateOnA_dropsBsCopy_andBReadsTheUpdatedValue(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            jar.get(a, "/counter");
            awaitHit(b, jar, "1");
            long invalidations = b.middleware.metrics().nearCacheInvalidations();
            String before = jar.cookie;
            assertEquals("1", jar.get(a, "/inc"));
            awaitInvalidation(b, invalidations, "b never heard of the update");
            Jar late = new Jar();
            late.cookie = before;
            assertEquals("1", late.get(b, "/n"));
            assertEquals("1", jar.get(b, "/n"));
        });
        test.completeNow();
    }

    @Test
    void logoutOnA_makesBRefuseTheOldCookie_andAReplayIsNeverServedFromTheCache(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            jar.get(a, "/counter");
            awaitHit(b, jar, "1"); // b holds the session
            String old = jar.cookie;
            long invalidations = b.middleware.metrics().nearCacheInvalidations();
            HttpResponse<Buffer> logout = a.post("/logout", old);
            assertEquals(200, logout.statusCode());
            awaitInvalidation(b, invalidations, "b never heard of the logout");
            Jar replay = new Jar();
            replay.cookie = old;
            assertEquals("0", replay.get(b, "/read"), "the logged-out session was served");
            assertEquals("0", replay.get(a, "/read"));
            assertEquals("0", storedCounter(old.substring(0, 43)));
        });
        test.completeNow();
    }

    @Test
    void adminDeleteOnA_makesBRefuseTheCookie(VertxTestContext test) {
        test.verify(() -> {
            Jar jar = new Jar();
            jar.get(a, "/counter");
            awaitHit(b, jar, "1");
            long invalidations = b.middleware.metrics().nearCacheInvalidations();
            a.middleware.sessions().delete(jar.id()).await(10, TimeUnit.SECONDS);
            awaitInvalidation(b, invalidations, "b never heard of the deletion");
            assertEquals("0", jar.get(b, "/read"));
            assertEquals("0", storedCounter(jar.id()));
        });
        test.completeNow();
    }

    @Test
    void entriesStayWithinTheirBound(VertxTestContext test) {
        test.verify(() -> {
            TestServer small = server(c -> c.setNearCacheMaxEntries(5).setNearCacheMaxBytes(5 * 1024));
            List<Jar> jars = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Jar jar = new Jar();
                jar.get(small, "/counter");
                jars.add(jar);
            }
            awaitHit(small, jars.get(19), "1");
            for (Jar jar : jars) {
                assertEquals("1", jar.get(small, "/read"));
                assertTrue(small.middleware.metrics().nearCacheEntries() <= 5);
            }
        });
        test.completeNow();
    }

    @Test
    void forgedVersions_giveAStoreReadOrAFreshSession_neverAnErrorNorAnotherSession(VertxTestContext test) {
        test.verify(() -> {
            Jar alice = new Jar();
            alice.get(a, "/counter");
            alice.get(a, "/counter");
            awaitHit(a, alice, "2");
            Jar bob = new Jar();
            bob.get(a, "/counter");
            String aliceId = alice.id();
            String aliceVersion = alice.cookie.substring(44);
            // A well-formed but wrong version: a store read of the session the ID names.
            assertEquals("2", a.get("/read", aliceId + ".AAAAAAAAAAA").bodyAsString());
            assertEquals("2", a.get("/read", aliceId).bodyAsString());
            // Bob's ID with Alice's version: Bob's session, never Alice's.
            assertEquals("1", a.get("/read", bob.id() + "." + aliceVersion).bodyAsString());
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
        });
        test.completeNow();
    }
}
