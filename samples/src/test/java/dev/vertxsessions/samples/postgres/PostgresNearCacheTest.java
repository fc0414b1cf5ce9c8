package dev.vertxsessions.samples.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.testkit.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The near cache on the PostgreSQL sample: two middleware instances on two HTTP servers share one table, and one
 * browser (one cookie) alternates between them; writes are reported by the table's trigger over LISTEN/NOTIFY.
 * Waits are for conditions (a hit counted, an invalidation heard), never for a time.
 */
@ExtendWith({VertxExtension.class, PostgresServer.Extension.class})
class PostgresNearCacheTest {

    private PostgresServer postgres;
    private String table;
    private TestServer a;
    private TestServer b;

    @BeforeEach
    void start(Vertx vertx, PostgresServer postgres) {
        this.postgres = postgres;
        table = PostgresServer.uniqueTable("near");
        a = server(vertx);
        b = server(vertx);
        a.middleware.ready().await();
        b.middleware.ready().await();
    }

    @AfterEach
    void stop() {
        a.close();
        b.close();
    }

    private TestServer server(Vertx vertx) {
        return server(vertx, table);
    }

    private TestServer server(Vertx vertx, String table) {
        SessionConfig config = new SessionConfig()
                .setBackend(PostgresSessionBackend.factory(
                        PostgresSessionOptions.of(postgres.url()).withTable(table)))
                .setNearCache(true)
                // Proven every second: a slow marker on a loaded machine does not turn a hit into a miss.
                .setNearCacheMaxLag(Duration.ofSeconds(4));
        return TestServer.start(vertx, config, PostgresNearCacheTest::routes);
    }

    private static void routes(Router router) {
        router.get("/counter").handler(ctx -> {
            Session session = ctx.session();
            Integer counter = session.get("counter");
            int next = (counter == null ? 0 : counter) + 1;
            session.put("counter", next);
            // Answers once the save is stored, so that the other server can read it at once.
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

    /** Sends requests with the jar's cookie and keeps whatever cookie a response sets. */
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

        String id() {
            return cookie.substring(0, 43);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 3000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Reads until {@code server} answers from its cache (once its channel is proven). */
    private static void awaitHit(TestServer server, Jar jar, String expected) throws InterruptedException {
        SessionMetrics metrics = server.middleware.metrics();
        long before = metrics.nearCacheHits();
        await("the near cache never answered", () -> {
            assertEquals(expected, jar.get(server, "/read"));
            return metrics.nearCacheHits() > before;
        });
    }

    /** Waits until {@code server} dropped a cached session: it heard a write, or cleared its cache. */
    private static void awaitInvalidation(TestServer server, long before, String what) throws InterruptedException {
        await(what, () -> server.middleware.metrics().nearCacheInvalidations() > before);
    }

    private String storedCounter(Jar jar) throws Exception {
        return postgres.psql("SELECT data ->> 'counter' FROM " + table + " WHERE id = '" + jar.id() + "'");
    }

    /** Returns how often the backend's load statement ran on this table, or -1 without pg_stat_statements. */
    private long loads() throws Exception {
        if (!postgres.hasStatementStatistics()) {
            return -1;
        }
        postgres.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        return Long.parseLong(postgres.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
                + " WHERE query LIKE 'SELECT data::text AS data, %FROM " + table + " WHERE id = $1'"));
    }

    @Test
    void readOnlyRequests_areServedFromTheCache_withoutAStatement(VertxTestContext test) throws Exception {
        Jar jar = new Jar();
        assertEquals("1", jar.get(a, "/counter"));
        assertTrue(jar.cookie.matches("[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{11}"), jar.cookie);
        awaitHit(a, jar, "1"); // a's own save, cached when its notification came back: a never loaded it
        awaitHit(b, jar, "1"); // b loaded it (a miss), then answers from its cache
        SessionMetrics metrics = b.middleware.metrics();
        long hits = metrics.nearCacheHits();
        long misses = metrics.nearCacheMisses();
        long loads = loads();
        assertTrue(loads != 0, "pg_stat_statements did not count b's load");
        for (int i = 0; i < 20; i++) {
            assertEquals("1", jar.get(b, "/read"));
            assertEquals("1", jar.get(a, "/read"));
        }
        assertEquals(hits + 20, metrics.nearCacheHits());
        assertEquals(misses, metrics.nearCacheMisses());
        assertEquals(loads, loads(), "a read-only request loaded the session from PostgreSQL");
        assertEquals(1, metrics.nearCacheEntries());

        String before = jar.cookie;
        assertEquals("2", jar.get(a, "/counter")); // a hit, then the save
        assertNotEquals(before, jar.cookie, "every save changes the version the cookie carries");
        awaitHit(a, jar, "2");
        awaitHit(b, jar, "2");
        test.completeNow();
    }

    @Test
    void oneBrowserAlternatingServers_seesEveryWrite_andLosesNone(VertxTestContext test) throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(a, jar, "1");
        awaitHit(b, jar, "1");
        for (int i = 2; i <= 40; i++) {
            TestServer writer = i % 2 == 0 ? a : b;
            TestServer reader = i % 2 == 0 ? b : a;
            assertEquals(Integer.toString(i), jar.get(writer, "/counter"), "a lost write");
            assertEquals(Integer.toString(i), jar.get(reader, "/read"), "a stale read");
        }
        assertEquals("40", storedCounter(jar));
        assertTrue(
                a.middleware.metrics().nearCacheHits() + b.middleware.metrics().nearCacheHits() > 0);
        test.completeNow();
    }

    @Test
    void logoutOnA_makesBRefuseTheOldCookie_andAReplayIsNeverServedFromTheCache(VertxTestContext test)
            throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        jar.get(a, "/counter");
        awaitHit(b, jar, "2"); // b holds the session
        String old = jar.cookie;
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        HttpResponse<Buffer> logout = a.post("/logout", old);
        assertEquals(200, logout.statusCode());
        assertEquals("bye", logout.bodyAsString());
        awaitInvalidation(b, invalidations, "b never heard of the logout");

        Jar replay = new Jar();
        replay.cookie = old;
        assertEquals("0", replay.get(b, "/read"), "the logged-out session was served");
        assertEquals("0", replay.get(a, "/read"));
        assertEquals("0", postgres.psql("SELECT count(*) FROM " + table + " WHERE id = '" + jar.id() + "'"));
        test.completeNow();
    }

    @Test
    void writesOfAnyClient_areHeard_anUpdateADeleteAndATruncate(VertxTestContext test) throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        // An operator's psql: the trigger reports it like the backend's own statements.
        long invalidations = b.middleware.metrics().nearCacheInvalidations();
        postgres.psql(
                "UPDATE " + table + " SET data = jsonb_set(data, '{counter}', '7') WHERE id = '" + jar.id() + "'");
        awaitInvalidation(b, invalidations, "b never heard of the UPDATE");
        assertEquals("7", jar.get(b, "/read"));

        awaitHit(b, jar, "7");
        invalidations = b.middleware.metrics().nearCacheInvalidations();
        postgres.psql("TRUNCATE " + table);
        awaitInvalidation(b, invalidations, "b never heard of the TRUNCATE");
        assertEquals("0", jar.get(b, "/read"));

        Jar other = new Jar();
        other.get(a, "/counter");
        awaitHit(b, other, "1");
        invalidations = b.middleware.metrics().nearCacheInvalidations();
        postgres.psql("DELETE FROM " + table + " WHERE id = '" + other.id() + "'");
        awaitInvalidation(b, invalidations, "b never heard of the DELETE");
        assertEquals("0", other.get(b, "/read"));
        test.completeNow();
    }

    @Test
    void listenConnectionKilled_bypassesAndClearsTheCache_untilItIsBack_andAMissedWriteIsNeverHidden(
            VertxTestContext test) throws Exception {
        Jar jar = new Jar();
        jar.get(a, "/counter");
        awaitHit(b, jar, "1");
        SessionMetrics metrics = b.middleware.metrics();
        long invalidations = metrics.nearCacheInvalidations();
        // Both servers' LISTEN connections end (waiting until they are gone: PostgreSQL 14+), then a write that no
        // listener hears; it keeps the version, so only a cleared cache can reveal it.
        postgres.psql(killListeners() + "; UPDATE " + table + " SET data = jsonb_set(data, '{counter}', '42')"
                + " WHERE id = '" + jar.id() + "'");
        awaitInvalidation(b, invalidations, "b did not clear its cache when its connection was killed");
        long hits = metrics.nearCacheHits();
        long misses = metrics.nearCacheMisses();
        assertEquals("42", jar.get(b, "/read"), "b served its stale entry after losing its channel");
        assertEquals(hits, metrics.nearCacheHits());
        assertEquals(misses + 1, metrics.nearCacheMisses());

        awaitHit(b, jar, "42"); // the connection is back: the cache answers again, with what the table holds
        await("each server listens again", () -> listeners().equals("2"));

        assertEquals("2", postgres.psql(killListeners()));
        long missesAfter = metrics.nearCacheMisses();
        await("the cache was not bypassed", () -> {
            assertEquals("42", jar.get(b, "/read"));
            return metrics.nearCacheMisses() > missesAfter;
        });
        awaitHit(b, jar, "42");
        test.completeNow();
    }

    @Test
    void aSchemaQualifiedTable_getsOneTriggerPairInItsSchema_howeverManyServersStart(Vertx vertx, VertxTestContext test)
            throws Exception {
        String schema = PostgresServer.uniqueTable("near_schema");
        postgres.psql("CREATE SCHEMA " + schema);
        String qualified = schema + ".sessions";
        TestServer c = server(vertx, qualified);
        TestServer d = server(vertx, qualified);
        try {
            c.middleware.ready().await();
            d.middleware.ready().await();
            assertEquals(
                    "sessions_near_cache|" + schema + ".sessions_near_cache\n" + "sessions_near_cache_truncate|"
                            + schema + ".sessions_near_cache",
                    postgres.psql("SELECT tgname, tgfoid::regprocedure::text FROM pg_trigger WHERE tgrelid = '"
                                    + qualified + "'::regclass AND NOT tgisinternal ORDER BY tgname")
                            .replace("()", ""));
            Jar jar = new Jar();
            assertEquals("1", jar.get(c, "/counter"));
            awaitHit(d, jar, "1");
            long invalidations = d.middleware.metrics().nearCacheInvalidations();
            assertEquals("2", jar.get(c, "/counter"));
            awaitInvalidation(d, invalidations, "d never heard of c's save");
            assertEquals("2", jar.get(d, "/read"));
        } finally {
            c.close();
            d.close();
        }
        test.completeNow();
    }

    /** Terminates every connection that LISTENs on this table's channel, and waits (5 s at most) until it is gone. */
    private String killListeners() {
        return "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE query = 'LISTEN \"" + table
                + PostgresSessionBackend.NEAR_CACHE + "\"'";
    }

    private String listeners() {
        try {
            return postgres.psql("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"" + table
                    + PostgresSessionBackend.NEAR_CACHE + "\"'");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
