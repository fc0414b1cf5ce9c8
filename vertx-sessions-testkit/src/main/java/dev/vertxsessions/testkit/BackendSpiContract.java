package dev.vertxsessions.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackend.Capability;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionRecord;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The backend contract at the SPI level: calls {@link SessionBackend#load}, {@link SessionBackend#save},
 * {@link SessionBackend#update}, {@link SessionBackend#delete} and the user index directly, on a Vert.x event loop
 * as the middleware does, with change sets built by {@link SessionChanges#builder(String)}: round trip of every JSON
 * type and of the times, per-key merge, clear, remove, move on regenerate, no resurrection after a delete, atomic
 * update under parallel calls, the user index and its limit. {@link BackendContract} checks the same backend through
 * the middleware over HTTP; run both.
 *
 * <p>Extend it and return the backend's configuration from {@link #config(Clock)}, choosing the backend with
 * {@code setBackend(factory)} (or the seed's {@code setManager(SessionManagerFactory)}). Tests that need a
 * {@link Capability} the backend does not declare are skipped with the reason. Every test fails when the backend
 * blocks an event loop ({@link EventLoopBlockingDetector}).
 */
@ExtendWith(VertxExtension.class)
public abstract class BackendSpiContract {

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Fails any test during which the backend blocked an event loop. */
    @RegisterExtension
    final EventLoopBlockingDetector blockingDetector = new EventLoopBlockingDetector();

    protected Vertx vertx;
    /** The clock the backend is configured with; move it to test expiry without sleeping. */
    protected MutableClock clock;
    /** The backend under test, started. */
    protected SessionBackend backend;

    private Context context;

    /**
     * Returns a new configuration choosing the backend under test with {@code setBackend(...)} (or the seed's
     * {@code setManager(SessionManagerFactory)}); {@code clock} is the clock the backend must measure time with.
     */
    protected abstract SessionConfig config(Clock clock);

    @BeforeEach
    final void startBackend(Vertx vertx) throws Exception {
        this.vertx = vertx;
        this.clock = new MutableClock(Instant.now());
        SessionConfig config = config(clock).setClock(clock);
        SessionBackendFactory factory = config.getBackend();
        assertNotNull(
                factory,
                "config(Clock) must choose the backend with setBackend(factory) or setManager(SessionManagerFactory): "
                        + "the SPI contract creates the backend itself");
        context = vertx.getOrCreateContext();
        backend = onEventLoop(() -> Future.succeededFuture(createBackend(factory, config)));
        onEventLoop(() -> backend.start(BackendRecorder.NONE));
    }

    /**
     * Creates the backend, on the event loop as a verticle's {@code start()} would. Not checked for blocking: creation
     * is start-up, where brief local work such as checking a directory is allowed ({@link SessionBackendFactory}).
     */
    private SessionBackend createBackend(SessionBackendFactory factory, SessionConfig config) {
        return factory.create(vertx, config);
    }

    @AfterEach
    final void closeBackend(VertxTestContext test) {
        if (backend == null) {
            test.completeNow();
            return;
        }
        context.runOnContext(v -> backend.close().onComplete(test.succeedingThenComplete()));
    }

    // ------------------------------------------------------------------ load and save

    @Test
    void load_ofAnUnknownId_isNull(VertxTestContext test) {
        test.verify(() -> {
            serverSide();
            assertNull(load(newId()), "load of an ID never saved");
        });
        test.completeNow();
    }

    @Test
    void save_ofANewSession_thenLoad_returnsEveryJsonTypeAndTheTimes(VertxTestContext test) {
        test.verify(() -> {
            long now = clock.millis();
            Map<String, Object> nested = Map.of("street", "Main St", "number", 12, "tags", List.of("a", "b"));
            SessionChanges changes = SessionChanges.builder(newId())
                    .put("string", "héllo \"quoted\" <tag>")
                    .put("int", 42)
                    .put("long", 9_007_199_254_740_993L)
                    .put("double", 2.5)
                    .put("true", true)
                    .put("list", List.of(1, "two", false))
                    .put("map", nested)
                    .savedAt(now)
                    .createdAt(now - 1_000)
                    .expiresAt(now + 3_600_000)
                    .perSessionExpiry(Duration.ofHours(1))
                    .build();
            SessionRecord record = load(save(changes));
            assertNotNull(record, "the saved session loads");
            assertEquals(new JsonObject(changes.data()), new JsonObject(record.data()), "the data, as saved");
            assertTimes(changes, record);
            assertEquals(Duration.ofHours(1), record.perSessionExpiry(), "the per-session expiry, as saved");
        });
        test.completeNow();
    }

    @Test
    void save_ofAnUpdate_keepsTheCreationTime_andMovesTheExpiry(VertxTestContext test) {
        test.verify(() -> {
            long now = clock.millis();
            String handle = save(
                    builder(newId()).put("a", 1).createdAt(now).savedAt(now).expiresAt(now + 60_000));
            SessionRecord first = load(handle);
            clock.advance(Duration.ofSeconds(30));
            long later = clock.millis();
            SessionChanges update = builder(first.id())
                    .stored()
                    .loaded(first.data())
                    .put("b", 2)
                    .createdAt(first.createdAtMillis())
                    .savedAt(later)
                    .expiresAt(later + 60_000)
                    .build();
            SessionRecord second = load(save(update));
            assertEquals(new JsonObject().put("a", 1).put("b", 2), new JsonObject(second.data()));
            assertTimes(update, second);
        });
        test.completeNow();
    }

    @Test
    void save_thatRemovesAKey_andOneThatClears_storeExactlyWhatIsLeft(VertxTestContext test) {
        test.verify(() -> {
            SessionRecord stored =
                    load(save(builder(newId()).put("a", 1).put("b", 2).put("c", 3)));
            SessionRecord removed = load(
                    save(builder(stored.id()).stored().loaded(stored.data()).remove("a")));
            assertEquals(new JsonObject().put("b", 2).put("c", 3), new JsonObject(removed.data()), "after remove(a)");
            SessionRecord cleared = load(save(builder(removed.id())
                    .stored()
                    .loaded(removed.data())
                    .clear()
                    .put("d", 4)));
            assertEquals(new JsonObject().put("d", 4), new JsonObject(cleared.data()), "after clear() and put(d)");
        });
        test.completeNow();
    }

    @Test
    void save_byTwoRequestsThatLoadedTheSameSession_keepsBothKeys(VertxTestContext test) {
        test.verify(() -> {
            capability(Capability.PER_KEY_MERGE);
            SessionRecord stored = load(save(builder(newId()).put("base", 0)));
            SessionChanges first = builder(stored.id())
                    .stored()
                    .loaded(stored.data())
                    .put("a", 1)
                    .build();
            SessionChanges second = builder(stored.id())
                    .stored()
                    .loaded(stored.data())
                    .put("b", 2)
                    .build();
            assertTrue(onEventLoop(() -> backend.save(first)), "first save");
            assertTrue(onEventLoop(() -> backend.save(second)), "second save");
            assertEquals(
                    new JsonObject().put("base", 0).put("a", 1).put("b", 2),
                    new JsonObject(load(stored.id()).data()),
                    "per-key merge keeps what each request changed");
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ delete, move, no resurrection

    @Test
    void delete_removesTheSession_andDeletingAnUnknownIdSucceeds(VertxTestContext test) {
        test.verify(() -> {
            serverSide();
            String id = save(builder(newId()).put("a", 1));
            onEventLoop(() -> backend.delete(id));
            assertNull(load(id), "deleted");
            onEventLoop(() -> backend.delete(newId()));
        });
        test.completeNow();
    }

    @Test
    void save_ofASessionDeletedMeanwhile_completesFalse_andStoresNothing(VertxTestContext test) {
        test.verify(() -> {
            serverSide();
            String id = save(builder(newId()).put("a", 1));
            SessionRecord loaded = load(id);
            onEventLoop(() -> backend.delete(id));
            SessionChanges late =
                    builder(id).stored().loaded(loaded.data()).put("b", 2).build();
            assertFalse(onEventLoop(() -> backend.save(late)), "a save after the delete reports nothing written");
            assertNull(load(id), "no resurrection");
        });
        test.completeNow();
    }

    @Test
    void save_afterRegenerate_movesTheSessionToTheNewId(VertxTestContext test) {
        test.verify(() -> {
            serverSide();
            String before = save(builder(newId()).put("cart", List.of("book")));
            SessionRecord loaded = load(before);
            String after = newId();
            SessionChanges move = builder(after)
                    .movedFrom(before)
                    .loaded(loaded.data())
                    .put("user", "alice")
                    .createdAt(loaded.createdAtMillis())
                    .build();
            assertTrue(onEventLoop(() -> backend.save(move)), "the move is stored");
            assertNull(load(before), "nothing left under the old ID");
            assertEquals(
                    new JsonObject().put("cart", new JsonArray().add("book")).put("user", "alice"),
                    new JsonObject(load(after).data()),
                    "everything under the new ID");
        });
        test.completeNow();
    }

    @Test
    void save_afterRegenerate_ofASessionDeletedMeanwhile_completesFalse_andStoresNothing(VertxTestContext test) {
        test.verify(() -> {
            serverSide();
            String before = save(builder(newId()).put("a", 1));
            onEventLoop(() -> backend.delete(before));
            String after = newId();
            SessionChanges move =
                    builder(after).movedFrom(before).put("user", "alice").build();
            assertFalse(onEventLoop(() -> backend.save(move)), "nothing to move");
            assertNull(load(after), "no session created under the new ID");
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ atomic update

    @Test
    void update_underParallelCalls_losesNoIncrement(VertxTestContext test) {
        test.verify(() -> {
            capability(Capability.ATOMIC_UPDATE);
            String id = save(builder(newId()).put("counter", 0));
            SessionRecord loaded = load(id);
            SessionChanges session = builder(id)
                    .stored()
                    .loaded(loaded.data())
                    .createdAt(loaded.createdAtMillis())
                    .build();
            int calls = 20;
            List<Future<Object>> updates = new ArrayList<>();
            onEventLoop(() -> {
                for (int i = 0; i < calls; i++) {
                    updates.add(backend.update(session, "counter", old -> ((Number) old).intValue() + 1));
                }
                return Future.all(updates).mapEmpty();
            });
            assertEquals(calls, ((Number) load(id).data().get("counter")).intValue(), "every increment kept");
        });
        test.completeNow();
    }

    @Test
    void update_ofASessionDeletedMeanwhile_failsWithASessionException(VertxTestContext test) {
        test.verify(() -> {
            capability(Capability.ATOMIC_UPDATE);
            String id = save(builder(newId()).put("counter", 0));
            SessionChanges session = builder(id).stored().build();
            onEventLoop(() -> backend.delete(id));
            ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(
                    ExecutionException.class, () -> onEventLoop(() -> backend.update(session, "counter", old -> 1)));
            assertInstanceOf(
                    SessionException.class, failure.getCause(), "the failure of an update of a deleted session");
            assertNull(load(id), "no resurrection");
        });
        test.completeNow();
    }

    @Test
    void countSessions_countsWhatIsSaved_andForgetsWhatIsDeleted(VertxTestContext test) {
        test.verify(() -> {
            capability(Capability.SERVER_SIDE);
            long before;
            try {
                before = onEventLoop(() -> backend.countSessions());
            } catch (ExecutionException e) {
                org.junit.jupiter.api.Assumptions.assumeFalse(
                        e.getCause() instanceof UnsupportedOperationException, "the backend cannot count its sessions");
                throw e;
            }
            String first = save(builder(newId()).put("n", 1));
            save(builder(newId()).put("n", 2));
            assertEquals(before + 2, onEventLoop(() -> backend.countSessions()));
            onEventLoop(() -> backend.delete(first));
            assertEquals(before + 1, onEventLoop(() -> backend.countSessions()));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ user index

    @Test
    void userIndex_listsAUsersSessions_andEndsAllButOne(VertxTestContext test) {
        test.verify(() -> {
            capability(Capability.USER_INDEX);
            String user = "spi-user-" + newId().substring(0, 8);
            String first = save(builder(newId()).put(BaseSessionInterface.PRINCIPAL_KEY, user));
            String second = save(builder(newId()).put(BaseSessionInterface.PRINCIPAL_KEY, user));
            String other = save(builder(newId()).put(BaseSessionInterface.PRINCIPAL_KEY, user + "-other"));
            assertEquals(
                    Set.of(first, second), ids(onEventLoop(() -> backend.sessionsOf(user))), "the user's sessions");
            List<String> ended = onEventLoop(() -> backend.deleteSessionsOf(user, second));
            assertEquals(List.of(first), ended, "every session but the one kept");
            assertNull(load(first), "ended");
            assertNotNull(load(second), "kept");
            assertNotNull(load(other), "another user's session is untouched");
            assertEquals(Set.of(second), ids(onEventLoop(() -> backend.sessionsOf(user))), "the index follows");
            onEventLoop(() -> backend.delete(second));
            assertEquals(Set.of(), ids(onEventLoop(() -> backend.sessionsOf(user))), "a delete leaves the index");
        });
        test.completeNow();
    }

    @Test
    void userIndex_withALimit_endsTheSessionThatExpiresFirst(VertxTestContext test) {
        test.verify(() -> {
            capability(Capability.USER_INDEX);
            String user = "spi-limit-" + newId().substring(0, 8);
            long now = clock.millis();
            String oldest = save(builder(newId())
                    .put(BaseSessionInterface.PRINCIPAL_KEY, user)
                    .expiresAt(now + 60_000)
                    .maxSessionsPerUser(2, false));
            String middle = save(builder(newId())
                    .put(BaseSessionInterface.PRINCIPAL_KEY, user)
                    .expiresAt(now + 120_000)
                    .maxSessionsPerUser(2, false));
            String newest = save(builder(newId())
                    .put(BaseSessionInterface.PRINCIPAL_KEY, user)
                    .expiresAt(now + 180_000)
                    .maxSessionsPerUser(2, false));
            assertNull(load(oldest), "past the limit the session that expires first ends");
            assertEquals(Set.of(middle, newest), ids(onEventLoop(() -> backend.sessionsOf(user))));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ tools

    /** Returns a change-set builder whose times follow the test {@link #clock}. */
    protected SessionChanges.Builder builder(String id) {
        long now = clock.millis();
        return SessionChanges.builder(id)
                .savedAt(now)
                .expiresAt(now + Duration.ofDays(1).toMillis());
    }

    /** Returns a new, well-formed session ID (what the middleware generates: 32 random bytes, base64url). */
    protected static String newId() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Saves {@code changes} as the middleware does and returns what loads it: the ID, or the cookie value. */
    protected String save(SessionChanges changes) throws Exception {
        String cookieValue = onEventLoop(() -> Future.succeededFuture(backend.cookieValue(changes)));
        assertTrue(onEventLoop(() -> backend.save(changes)), "save reports the session stored");
        return serverSideBackend() ? changes.id() : cookieValue;
    }

    private String save(SessionChanges.Builder changes) throws Exception {
        return save(changes.build());
    }

    /** Loads what {@code handle} (an ID, or a signed cookie's value) names. */
    protected SessionRecord load(String handle) throws Exception {
        return onEventLoop(() -> backend.load(handle));
    }

    /** Runs {@code call} on the event loop of the backend's context and waits for its Future. */
    protected <T> T onEventLoop(Supplier<Future<T>> call)
            throws InterruptedException, ExecutionException, TimeoutException {
        Promise<T> result = Promise.promise();
        context.runOnContext(v -> {
            try {
                call.get().onComplete(result);
            } catch (RuntimeException e) {
                result.fail(e);
            }
        });
        return result.future()
                .toCompletionStage()
                .toCompletableFuture()
                .get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private boolean serverSideBackend() {
        return backend.capabilities().contains(Capability.SERVER_SIDE);
    }

    private void serverSide() {
        assumeTrue(serverSideBackend(), "the backend keeps sessions in the cookie (no SERVER_SIDE capability)");
    }

    private void capability(Capability capability) {
        assumeTrue(
                backend.capabilities().contains(capability),
                "the backend does not declare " + capability + " ("
                        + backend.getClass().getSimpleName() + ")");
    }

    private static Set<String> ids(List<SessionInfo> sessions) {
        return sessions.stream().map(SessionInfo::id).collect(java.util.stream.Collectors.toSet());
    }

    /** Times may be stored to the second (a signed cookie's format): equal within a second. */
    private static void assertTimes(SessionChanges saved, SessionRecord loaded) {
        assertTrue(
                Math.abs(saved.createdAtMillis() - loaded.createdAtMillis()) < 1_000,
                "created at " + saved.createdAtMillis() + ", loaded " + loaded.createdAtMillis());
        assertTrue(
                Math.abs(saved.expiresAtMillis() - loaded.expiresAtMillis()) < 1_000,
                "expires at " + saved.expiresAtMillis() + ", loaded " + loaded.expiresAtMillis());
    }
}
