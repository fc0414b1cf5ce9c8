package dev.vertxsessions.samples.postgres;

import static dev.vertxsessions.testkit.NearCacheContract.await;
import static dev.vertxsessions.testkit.NearCacheContract.awaitHit;
import static dev.vertxsessions.testkit.NearCacheContract.awaitInvalidation;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.testkit.NearCacheContract;
import dev.vertxsessions.testkit.NearCacheContract.Jar;
import dev.vertxsessions.testkit.TestServer;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The near cache on the PostgreSQL sample where it differs from the other backends: writes of any client are reported
 * by the table's trigger over LISTEN/NOTIFY, a lost LISTEN connection bypasses the cache. What every backend with a
 * near cache must do across servers is the test kit's {@code NearCacheContract}, run here by
 * {@code PostgresContractTest}.
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
        return TestServer.start(vertx, config, NearCacheContract::routes);
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
