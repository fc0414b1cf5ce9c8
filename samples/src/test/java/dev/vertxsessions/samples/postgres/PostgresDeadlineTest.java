package dev.vertxsessions.samples.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.TestChanges;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * No write of the PostgreSQL backend applies after the middleware gave up on it: with another transaction holding
 * the row past {@code backend_timeout_ms} (500 ms here, the lock held 1.5 s), each write fails as unavailable (a 503)
 * and the row is as it was once the lock is gone. The backend is created as the middleware creates it, from a
 * {@link SessionConfig}, so it knows the middleware's timeout.
 */
@ExtendWith({VertxExtension.class, PostgresServer.Extension.class})
@Tag("slow") // excluded by the fast set: mvn -B test -DexcludedGroups=slow
class PostgresDeadlineTest {

    private static final Duration BACKEND_TIMEOUT = Duration.ofMillis(500);
    private static final Duration LOCK_HELD = Duration.ofMillis(1500);
    private static final Duration LIFETIME = Duration.ofHours(1);
    private static final String ID = "a".repeat(43);
    private static final String OTHER_ID = "b".repeat(43);

    /** What the other transaction does to the row, and whether it then commits. */
    enum Holder {
        /** Locks the row and commits without changing it: PostgreSQL does not re-check a waiting UPDATE's WHERE. */
        SELECT_FOR_UPDATE("SELECT 1 FROM %s WHERE id = '%s' FOR UPDATE", true),
        /** The weaker lock an UPDATE that keeps the key takes. */
        SELECT_FOR_NO_KEY_UPDATE("SELECT 1 FROM %s WHERE id = '%s' FOR NO KEY UPDATE", true),
        /** Changes the row and rolls back: the waiting UPDATE then goes on without re-checking its WHERE either. */
        UPDATE_ROLLED_BACK("UPDATE %s SET data = data || '{\"admin\": true}' WHERE id = '%s'", false),
        /** Changes the row and commits: the waiting UPDATE re-reads the new row. */
        UPDATE_COMMITTED("UPDATE %s SET data = data || '{\"admin\": true}' WHERE id = '%s'", true);

        final String sql;
        final boolean commits;

        Holder(String sql, boolean commits) {
            this.sql = sql;
            this.commits = commits;
        }
    }

    private Vertx vertx;
    private PostgresServer postgres;
    private MutableClock clock;
    private String table;
    private final List<SessionBackend> backends = new java.util.ArrayList<>();

    @BeforeEach
    void start(Vertx vertx, PostgresServer postgres) {
        this.vertx = vertx;
        this.postgres = postgres;
        clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        table = PostgresServer.uniqueTable("deadline");
    }

    @AfterEach
    void close() {
        backends.forEach(backend -> backend.close().await());
    }

    /** Starts a backend the way the middleware does, with backend_timeout_ms = 500 and a pool of {@code poolSize}. */
    private SessionBackend backend(int poolSize) {
        PostgresSessionOptions options = PostgresSessionOptions.fromJson(
                new JsonObject().put("url", postgres.url()).put("table", table).put("pool_size", poolSize));
        SessionBackend backend = PostgresSessionBackend.factory(options)
                .create(vertx, new SessionConfig().setClock(clock).setBackendTimeout(BACKEND_TIMEOUT));
        backends.add(backend);
        backend.start(BackendRecorder.NONE).await();
        return backend;
    }

    private LockHolder lock(Holder holder, String id) {
        return LockHolder.take(vertx, postgres, String.format(holder.sql, table, id));
    }

    private long now() {
        return clock.millis();
    }

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

    private String rows() throws Exception {
        return postgres.psql("SELECT id, data::text FROM " + table + " ORDER BY id");
    }

    /** Waits for {@code write} (never for longer than the lock is held) and returns why it failed. */
    private static Throwable failure(Future<?> write) {
        Throwable failure = assertThrows(Throwable.class, write::await, "the write succeeded");
        assertInstanceOf(SessionStoreUnavailableException.class, failure);
        return failure;
    }

    @ParameterizedTest
    @EnumSource(Holder.class)
    void save_ofALoadedSession_whileAnotherTransactionHoldsTheRow_failsUnavailable_andNeverAppliesLater(
            Holder holder, VertxTestContext test) {
        test.verify(() -> {
            SessionBackend backend = backend(4);
            backend.save(put(ID, true, map("cart", List.of("mug")))).await();
            LockHolder other = lock(holder, ID);
            Future<Boolean> addToCart = backend.save(put(ID, false, map("cart", List.of("mug", "tee"))));
            Future<Void> released = other.releaseAfter(LOCK_HELD, holder.commits, table);

            Throwable failure = failure(addToCart);
            released.await();
            assertTrue(
                    failure.getMessage()
                            .matches("PostgreSQL at 127\\.0\\.0\\.1:\\d+/postgres did not save a session within the"
                                    + " \\d+ ms left of backend_timeout_ms \\(500 ms\\): another transaction held the row,"
                                    + " or the server was slow; nothing was written"),
                    failure.getMessage());
            String stored = holder == Holder.UPDATE_COMMITTED
                    ? "{\"cart\": [\"mug\"], \"admin\": true}"
                    : "{\"cart\": [\"mug\"]}";
            assertEquals(ID + "|" + stored, rows());
        });
        test.completeNow();
    }

    @Test
    void delete_whileAnotherTransactionHoldsTheRow_failsUnavailable_andTheSessionStays(VertxTestContext test) {
        test.verify(() -> {
            SessionBackend backend = backend(4);
            backend.save(put(ID, true, map("user_id", 42))).await();
            LockHolder other = lock(Holder.SELECT_FOR_UPDATE, ID);
            Future<Void> logout = backend.delete(ID);
            Future<Void> released = other.releaseAfter(LOCK_HELD, true, table);

            failure(logout);
            released.await();
            assertEquals(ID + "|{\"user_id\": 42}", rows());
        });
        test.completeNow();
    }

    @Test
    void regenerate_whileAnotherTransactionHoldsThePreviousRow_failsUnavailable_andNothingMoves(VertxTestContext test) {
        test.verify(() -> {
            SessionBackend backend = backend(4);
            backend.save(put(ID, true, map("cart", List.of("mug")))).await();
            LockHolder other = lock(Holder.SELECT_FOR_UPDATE, ID);
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
            Future<Boolean> moved = backend.save(login);
            Future<Void> released = other.releaseAfter(LOCK_HELD, true, table);

            failure(moved);
            released.await();
            assertEquals(ID + "|{\"cart\": [\"mug\"]}", rows(), "the cart stays under the ID the browser holds");
        });
        test.completeNow();
    }

    @Test
    void newSession_whoseIdAnotherTransactionIsInserting_failsUnavailable_andNeverAppliesLater(VertxTestContext test) {
        test.verify(() -> {
            SessionBackend backend = backend(4);
            LockHolder other = LockHolder.take(
                    vertx,
                    postgres,
                    "INSERT INTO " + table + " (id, created_at, expires_at) VALUES ('" + ID + "', now(), now())");
            Future<Boolean> created = backend.save(put(ID, true, map("theme", "dark")));
            Future<Void> released = other.releaseAfter(LOCK_HELD, false, table);

            failure(created);
            released.await();
            assertEquals("", rows());
        });
        test.completeNow();
    }

    @Test
    void update_whileAnotherTransactionHoldsTheRow_failsUnavailable_changesNothing_andKeepsNoLock(
            VertxTestContext test) {
        test.verify(() -> {
            SessionBackend backend = backend(4);
            backend.save(put(ID, true, map("visits", 1))).await();
            LockHolder other = lock(Holder.SELECT_FOR_UPDATE, ID);
            Future<Object> increment =
                    backend.update(put(ID, false, Map.of()), "visits", value -> ((Number) value).intValue() + 1);
            Future<Void> released = other.releaseAfter(LOCK_HELD, true, table);

            failure(increment);
            released.await();
            assertEquals(ID + "|{\"visits\": 1}", rows());
            assertEquals(
                    2,
                    backend.update(put(ID, false, Map.of()), "visits", value -> ((Number) value).intValue() + 1)
                            .await(),
                    "the failed update left no lock behind");
        });
        test.completeNow();
    }

    @Test
    void write_thatWaitedForAConnectionUntilItsDeadline_isNeverSent(VertxTestContext test) {
        test.verify(() -> {
            SessionBackend backend = backend(1);
            backend.save(put(ID, true, map("visits", 1))).await();
            // A load has no deadline of its own (it writes nothing): blocked by the table lock, it holds the pool's
            // only
            // connection for the 1.5 s the lock is held, longer than the save behind it may wait.
            LockHolder other = LockHolder.take(vertx, postgres, "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
            Future<?> blocked = backend.load(ID);
            Future<Boolean> queued = backend.save(put(OTHER_ID, true, map("theme", "dark")));
            Future<Void> released = other.releaseAfter(LOCK_HELD, true, table);

            Throwable late = failure(queued);
            released.await();
            blocked.await();
            assertTrue(
                    late.getMessage()
                            .matches(
                                    "PostgreSQL at 127\\.0\\.0\\.1:\\d+/postgres: no time was left of backend_timeout_ms"
                                            + " \\(500 ms\\) to save a session after waiting \\d+ ms for a connection"
                                            + " \\(pool_size 1\\); nothing was sent"),
                    late.getMessage());
            assertEquals(ID + "|{\"visits\": 1}", rows());
        });
        test.completeNow();
    }
}
