package dev.vertxsessions.samples.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionBackend.Capability;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.TestChanges;
import dev.vertxsessions.testkit.CountingRecorder;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The PostgreSQL backend on its SPI against a real server: what the demo's HTTP contract cannot reach (a logout
 * that lands between a load and a save, expired rows, the sweeper, the schema check), and the SQL of every save
 * path. Each test has a table of its own.
 */
@ExtendWith({VertxExtension.class, PostgresServer.Extension.class})
class PostgresSessionBackendTest {

    private static final String ID = "a".repeat(43);
    private static final String OTHER_ID = "b".repeat(43);
    private static final Duration LIFETIME = Duration.ofHours(1);

    private Vertx vertx;
    private PostgresServer postgres;
    private MutableClock clock;
    private CountingRecorder metrics;
    private String table;
    private PostgresSessionBackend backend;

    @BeforeEach
    void start(Vertx vertx, PostgresServer postgres) {
        this.vertx = vertx;
        this.postgres = postgres;
        clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        metrics = new CountingRecorder();
        table = PostgresServer.uniqueTable("backend");
        backend = start(table);
    }

    @AfterEach
    void close() {
        backend.close().await();
    }

    private PostgresSessionBackend start(String table) {
        PostgresSessionBackend started = PostgresSessionBackend.create(
                vertx, clock, PostgresSessionOptions.of(postgres.url()).withTable(table));
        started.start(metrics).await();
        return started;
    }

    private long now() {
        return clock.millis();
    }

    /** A request that loaded the session {@code id} (or not: isNew) and put {@code changed}. */
    private SessionChanges put(String id, boolean isNew, Map<String, Object> changed) {
        return TestChanges.of(
                id, null, isNew, false, changed, Set.of(), changed, now(), now() + LIFETIME.toMillis(), now(), null);
    }

    private static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    private String psql(String sql) throws Exception {
        return postgres.psql(sql);
    }

    @Test
    void capabilities_areThoseOfAServerSideSharedStore_withAUserIndex(VertxTestContext test) {
        test.verify(() -> {
            assertEquals(EnumSet.allOf(Capability.class), backend.capabilities());
        });
        test.completeNow();
    }

    @Test
    void save_thenLoad_givesPlainJsonBackInTheOrderKeysWerePut(VertxTestContext test) {
        test.verify(() -> {
            Map<String, Object> nested =
                    map("list", new ArrayList<>(List.of(1, "two", map("three", 3.5))), "empty", map(), "nothing", null);
            Map<String, Object> data = map(
                    "zebra",
                    "stripes \u00e9\u6f22 \"quoted\"",
                    "count",
                    7,
                    "big",
                    1L << 40,
                    "ratio",
                    0.1,
                    "yes",
                    true,
                    "nested",
                    nested);
            SessionChanges changes = TestChanges.of(
                    ID,
                    null,
                    true,
                    false,
                    data,
                    Set.of(),
                    data,
                    now() - 5000,
                    now() + LIFETIME.toMillis(),
                    now(),
                    Duration.ofMinutes(5));
            assertTrue(backend.save(changes).await());

            SessionRecord record = backend.load(ID).await();
            assertEquals(data, record.data());
            assertEquals(
                    List.of("zebra", "count", "big", "ratio", "yes", "nested"),
                    List.copyOf(record.data().keySet()));
            Map<?, ?> loadedNested = (Map<?, ?>) record.data().get("nested");
            assertInstanceOf(LinkedHashMap.class, loadedNested, "a plain map, not a JsonObject");
            assertInstanceOf(ArrayList.class, loadedNested.get("list"), "a plain list, not a JsonArray");
            assertInstanceOf(Long.class, record.data().get("big"));
            assertEquals(now() - 5000, record.createdAtMillis());
            assertEquals(now() + LIFETIME.toMillis(), record.expiresAtMillis());
            assertEquals(Duration.ofMinutes(5), record.perSessionExpiry());
            assertNull(backend.load(OTHER_ID).await());
        });
        test.completeNow();
    }

    @Test
    void saves_ofDifferentKeys_mergeAndKeepTheKeyOrder(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("a", 1, "b", 2, "c", 3))).await();
            // Two requests that loaded {a, b, c}: one changes b and adds d, the other removes a and adds e.
            assertTrue(backend.save(put(ID, false, map("b", 20, "d", 4))).await());
            SessionChanges removing = TestChanges.of(
                    ID,
                    null,
                    false,
                    false,
                    map("e", 5),
                    Set.of("a"),
                    map("b", 2, "c", 3, "e", 5),
                    now(),
                    now() + LIFETIME.toMillis(),
                    now(),
                    null);
            assertTrue(backend.save(removing).await());

            SessionRecord record = backend.load(ID).await();
            assertEquals(map("b", 20, "c", 3, "d", 4, "e", 5), record.data());
            assertEquals(List.of("b", "c", "d", "e"), List.copyOf(record.data().keySet()));
            assertEquals("{b,c,d,e}", psql("SELECT key_order FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void clear_keepsOnlyTheKeysTheRequestHolds(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("a", 1, "b", 2, "c", 3))).await();
            backend.save(put(ID, false, map("late", true))).await(); // another request, after this one loaded
            SessionChanges cleared = TestChanges.of(
                    ID,
                    null,
                    false,
                    true,
                    map("x", 9),
                    Set.of(),
                    map("c", 3, "x", 9),
                    now(),
                    now() + LIFETIME.toMillis(),
                    now(),
                    null);
            assertTrue(backend.save(cleared).await());
            SessionRecord record = backend.load(ID).await();
            assertEquals(map("c", 3, "x", 9), record.data());
            assertEquals(List.of("c", "x"), List.copyOf(record.data().keySet()));
        });
        test.completeNow();
    }

    @Test
    void save_ofASessionDeletedMeanwhile_writesNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("user_id", 42))).await();
            SessionChanges slowRequest = put(ID, false, map("cart", List.of("mug")));
            backend.delete(ID).await(); // a logout in another tab, after the slow request loaded the session
            assertFalse(backend.save(slowRequest).await());
            assertNull(backend.load(ID).await());
            assertEquals("0", psql("SELECT count(*) FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void save_ofAnExpiredSession_writesNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("user_id", 42))).await();
            clock.advance(LIFETIME.plusSeconds(1));
            assertFalse(backend.save(put(ID, false, map("user_id", 43))).await());
            SessionRecord expired = backend.load(ID).await();
            assertEquals(42, expired.data().get("user_id"), "an expired row is returned for the middleware to refuse");
            assertTrue(expired.expiresAtMillis() < now());
        });
        test.completeNow();
    }

    @Test
    void regenerate_movesTheDataToTheNewIdAndMergesInOneStatement(VertxTestContext test) {
        test.verify(() -> {
            long created = now() - 60_000;
            backend.save(TestChanges.of(
                            ID,
                            null,
                            true,
                            false,
                            map("cart", List.of("mug"), "step", 1),
                            Set.of(),
                            map("cart", List.of("mug"), "step", 1),
                            created,
                            now() + LIFETIME.toMillis(),
                            now(),
                            null))
                    .await();
            SessionChanges login = TestChanges.of(
                    OTHER_ID,
                    ID,
                    false,
                    false,
                    map("user_id", 42),
                    Set.of("step"),
                    map("cart", List.of("mug"), "user_id", 42),
                    created,
                    now() + LIFETIME.toMillis(),
                    now(),
                    null);
            assertTrue(backend.save(login).await());

            assertNull(backend.load(ID).await());
            SessionRecord moved = backend.load(OTHER_ID).await();
            assertEquals(map("cart", List.of("mug"), "user_id", 42), moved.data());
            assertEquals(created, moved.createdAtMillis());
            assertEquals("1", psql("SELECT count(*) FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void regenerate_ofASessionDeletedMeanwhile_writesNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("cart", List.of("mug")))).await();
            backend.delete(ID).await();
            SessionChanges login = TestChanges.of(
                    OTHER_ID,
                    ID,
                    false,
                    false,
                    map("user_id", 42),
                    Set.of(),
                    map("cart", List.of("mug"), "user_id", 42),
                    now(),
                    now() + LIFETIME.toMillis(),
                    now(),
                    null);
            assertFalse(backend.save(login).await());
            assertEquals("0", psql("SELECT count(*) FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void parallelUpdates_ofOneKey_loseNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("visits", 0))).await();
            SessionChanges session = put(ID, false, Map.of());
            List<Future<Object>> updates = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                updates.add(backend.update(session, "visits", value -> ((Number) value).intValue() + 1));
            }
            Future.all(updates).await();
            assertEquals(50, backend.load(ID).await().data().get("visits"));
            List<Object> results = new ArrayList<>();
            updates.forEach(update -> results.add(update.result()));
            assertEquals(50, results.stream().distinct().count(), "each update saw the one before: " + results);
        });
        test.completeNow();
    }

    @Test
    void update_ofANewSession_createsIt_andNullRemovesTheKey(VertxTestContext test) {
        test.verify(() -> {
            SessionChanges fresh = put(ID, true, Map.of());
            assertEquals(
                    List.of("a"),
                    backend.update(fresh, "items", value -> value == null ? List.of("a") : value)
                            .await());
            SessionRecord created = backend.load(ID).await();
            assertEquals(map("items", List.of("a")), created.data());
            assertNull(backend.update(put(ID, false, Map.of()), "items", value -> null)
                    .await());
            assertEquals(Map.of(), backend.load(ID).await().data());
        });
        test.completeNow();
    }

    @Test
    void newSession_savedAfterAnUpdateCreatedIt_keepsBothAndItsLifetime(VertxTestContext test) {
        test.verify(() -> {
            SessionChanges fresh = TestChanges.of(
                    ID,
                    null,
                    true,
                    false,
                    Map.of(),
                    Set.of(),
                    Map.of(),
                    now(),
                    now() + LIFETIME.toMillis(),
                    now(),
                    Duration.ofMinutes(5));
            backend.update(fresh, "visits", value -> 1).await();
            assertTrue(backend.save(put(ID, true, map("theme", "dark"))).await()); // still new: its first save
            SessionRecord record = backend.load(ID).await();
            assertEquals(map("visits", 1, "theme", "dark"), record.data());
            assertEquals(
                    Duration.ofMinutes(5), record.perSessionExpiry(), "a save without setExpiry keeps the stored one");
        });
        test.completeNow();
    }

    @Test
    void update_ofASessionDeletedMeanwhile_failsAndCreatesNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("visits", 1))).await();
            backend.delete(ID).await();
            Throwable failure = assertThrows(
                    Throwable.class,
                    () -> backend.update(put(ID, false, Map.of()), "visits", value -> 2)
                            .await());
            assertInstanceOf(SessionException.class, failure);
            assertTrue(failure.getMessage().startsWith("session no longer exists"), failure.getMessage());
            assertEquals("0", psql("SELECT count(*) FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void update_whoseFunctionThrows_failsWithThatExceptionAndChangesNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("visits", 1))).await();
            IllegalStateException thrown = new IllegalStateException("no more visits");
            Throwable failure = assertThrows(
                    Throwable.class,
                    () -> backend.update(put(ID, false, Map.of()), "visits", value -> {
                                throw thrown;
                            })
                            .await());
            assertSame(thrown, failure);
            assertEquals(1, backend.load(ID).await().data().get("visits"));
        });
        test.completeNow();
    }

    @Test
    void limit_endsTheSessionThatExpiresFirst_andReportsIt_onceCommitted(VertxTestContext test) {
        test.verify(() -> {
            String[] ids = {"c".repeat(43), "d".repeat(43), "e".repeat(43)};
            for (int i = 0; i < ids.length; i++) {
                backend.save(SessionChanges.builder(ids[i])
                                .put(BaseSessionInterface.PRINCIPAL_KEY, "alice")
                                .savedAt(now())
                                .expiresAt(now() + LIFETIME.toMillis() + i * 1_000L)
                                .maxSessionsPerUser(2, false)
                                .build())
                        .await();
            }
            assertNull(backend.load(ids[0]).await(), "the third login ended the session that expires first");
            assertEquals(java.util.List.of(ids[0]), metrics.endedByLimit());
            assertEquals(2, backend.sessionsOf("alice").await().size());
        });
        test.completeNow();
    }

    @Test
    void sweeper_deletesExpiredRowsOnlyAndCountsThem(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("k", 1))).await();
            clock.advance(Duration.ofMinutes(30));
            backend.save(put(OTHER_ID, true, map("k", 2))).await();
            clock.advance(Duration.ofMinutes(31)); // ID has expired, OTHER_ID has not
            assertEquals(1, backend.sweep().await());
            assertEquals(OTHER_ID, psql("SELECT id FROM " + table));
            assertEquals(1, metrics.sweeperDeletions());
            assertEquals(java.util.List.of(ID), metrics.expired(), "the sweep reports the session it expired");
            assertEquals(0, backend.sweep().await());
        });
        test.completeNow();
    }

    @Test
    void sweeper_deletesMoreThanOneBatch(VertxTestContext test) {
        test.verify(() -> {
            psql("INSERT INTO " + table
                    + " (id, created_at, expires_at) SELECT 'expired-' || n, now(), now() - interval "
                    + "'1 hour' FROM generate_series(1, " + (PostgresSessionBackend.SWEEP_BATCH + 5) + ") n");
            assertEquals(PostgresSessionBackend.SWEEP_BATCH + 5, backend.sweep().await());
            assertEquals("0", psql("SELECT count(*) FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void valuesWithANulCharacter_failTheSaveAtOnce_namingTheKeyButNeverTheValue(VertxTestContext test) {
        test.verify(() -> {
            List<Object> values = List.of(
                    "secret\u0000",
                    List.of("fine", "secret\u0000"),
                    map("nested", map("deeper", "secret\u0000")),
                    map("key\u0000", "fine"));
            for (Object value : values) {
                Future<Boolean> saved = backend.save(put(ID, true, map("profile", value)));
                // Failed before any I/O: the middleware, which saves when the headers go out, then answers 500 and
                // sends
                // no cookie instead of a success for a session that is not stored.
                assertTrue(saved.failed(), "failed at once for " + value);
                assertInstanceOf(SessionException.class, saved.cause());
                assertFalse(saved.cause() instanceof SessionStoreUnavailableException, "a data error, not an outage");
                assertEquals(
                        "session value of key 'profile' contains U+0000, which PostgreSQL jsonb cannot store",
                        saved.cause().getMessage());
            }
            Future<Boolean> badKey = backend.save(put(ID, true, map("pro\u0000file", 1)));
            assertTrue(badKey.failed());
            assertEquals(
                    "a session key contains U+0000, which PostgreSQL cannot store",
                    badKey.cause().getMessage());
            assertEquals("0", psql("SELECT count(*) FROM " + table));
        });
        test.completeNow();
    }

    @Test
    void update_toAValueWithANulCharacter_failsNamingTheKey_andChangesNothing(VertxTestContext test) {
        test.verify(() -> {
            backend.save(put(ID, true, map("name", "Ada"))).await();
            Throwable failure = assertThrows(
                    Throwable.class,
                    () -> backend.update(put(ID, false, Map.of()), "name", value -> value + "\u0000secret")
                            .await());
            assertInstanceOf(SessionException.class, failure);
            assertFalse(failure instanceof SessionStoreUnavailableException, "a data error, not an outage");
            assertEquals(
                    "session value of key 'name' contains U+0000, which PostgreSQL jsonb cannot store",
                    failure.getMessage());
            assertEquals(map("name", "Ada"), backend.load(ID).await().data());

            Future<Object> badKey = backend.update(put(ID, false, Map.of()), "na\u0000me", value -> 1);
            assertTrue(badKey.failed(), "failed at once");
            assertEquals(
                    "a session key contains U+0000, which PostgreSQL cannot store",
                    badKey.cause().getMessage());
        });
        test.completeNow();
    }

    @Test
    void start_ofSeveralInstancesAtOnce_createsTheTableOnce(VertxTestContext test) {
        test.verify(() -> {
            String shared = PostgresServer.uniqueTable("together");
            List<PostgresSessionBackend> backends = new ArrayList<>();
            List<Future<Void>> starts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                PostgresSessionBackend instance = PostgresSessionBackend.create(
                        vertx, clock, PostgresSessionOptions.of(postgres.url()).withTable(shared));
                backends.add(instance);
                starts.add(instance.start(BackendRecorder.NONE));
            }
            try {
                Future.all(starts).await();
                backends.get(0).save(put(ID, true, map("k", 1))).await();
                assertEquals(map("k", 1), backends.get(3).load(ID).await().data());
            } finally {
                backends.forEach(instance -> instance.close().await());
            }
        });
        test.completeNow();
    }

    @Test
    void start_onATableOfAnotherShape_failsNamingTheTable(VertxTestContext test) {
        test.verify(() -> {
            String theirs = PostgresServer.uniqueTable("theirs");
            psql("CREATE TABLE " + theirs + " (id integer PRIMARY KEY, payload text)");
            PostgresSessionBackend wrong = PostgresSessionBackend.create(
                    vertx, clock, PostgresSessionOptions.of(postgres.url()).withTable(theirs));
            Throwable failure = assertThrows(
                    Throwable.class, () -> wrong.start(BackendRecorder.NONE).await());
            assertInstanceOf(SessionStoreUnavailableException.class, failure);
            // The index on expires_at is created first, so that is the column the message names.
            assertTrue(
                    failure.getMessage()
                            .contains("(table " + theirs + "): ERROR: column \"expires_at\" does not exist"),
                    failure.getMessage());
        });
        test.completeNow();
    }

    @Test
    void schema_isWhatTheDesignNoteSays(VertxTestContext test) {
        test.verify(() -> {
            assertEquals(
                    String.join(
                            "\n",
                            Arrays.asList(
                                    "id|text|NO",
                                    "data|jsonb|NO",
                                    "key_order|ARRAY|NO",
                                    "created_at|timestamp with time zone|NO",
                                    "expires_at|timestamp with time zone|NO",
                                    "per_session_expiry_s|integer|YES",
                                    "anonymous|boolean|NO")),
                    psql(
                            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '"
                                    + table + "' ORDER BY ordinal_position"));
            assertEquals(
                    table + "_anonymous_idx|" + table + "_expires_at_idx|" + table + "_pkey|" + table
                            + "_principal_idx",
                    String.join(
                            "|",
                            psql("SELECT indexname FROM pg_indexes WHERE tablename = '" + table + "' ORDER BY 1")
                                    .split("\n")));
        });
        test.completeNow();
    }

    @Test
    void close_isIdempotentAndLaterCallsFail(VertxTestContext test) {
        test.verify(() -> {
            PostgresSessionBackend closing = start(PostgresServer.uniqueTable("closing"));
            closing.close().await();
            closing.close().await();
            assertThrows(Throwable.class, () -> closing.load(ID).await());
        });
        test.completeNow();
    }
}
