package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The near cache keeps no state for a save once its report has come, whether the save's predicted result was
 * cached or not: with 100,000 new sessions its heap stayed flat only within its bound (bench/memory.sh, issue 22).
 */
@ExtendWith(VertxExtension.class)
class NearCacheFillsTest {

    /** A source that reports nothing by itself: the tests call the listener as the store would. */
    private static final class Reports implements SessionInvalidations {
        SessionInvalidations.Listener listener;

        @Override
        public Future<Void> start(Listener listener) {
            this.listener = listener;
            return Future.succeededFuture();
        }

        @Override
        public Future<Void> sync() {
            return Future.succeededFuture();
        }

        @Override
        public Future<Void> close() {
            return Future.succeededFuture();
        }
    }

    private Reports reports;
    private NearCache cache;
    private int next;

    @BeforeEach
    void start(Vertx vertx) throws InterruptedException {
        reports = new Reports();
        SessionConfig config = new SessionConfig()
                .setNearCache(true)
                .setNearCacheMaxEntries(100)
                .setNearCacheMaxBytes(100 * 1024) // each of these entries weighs max_bytes / max_entries
                .setNearCacheMaxLag(Duration.ofMillis(40));
        cache = new NearCache(vertx, config, reports, new SessionMetrics());
        cache.start();
        // The channel is proven within a few periods of 10 ms; until then nothing is cached.
        for (int i = 0; i < 300 && cache.size() == 0; i++) {
            Thread.sleep(10);
            save(version -> reports.listener.changed(lastId(), version));
        }
        assertEquals(1, cache.size(), "the near cache never went live");
    }

    @AfterEach
    void stop() {
        cache.close(); // then the extension closes the Vert.x instance
    }

    private String lastId() {
        return "session-" + next;
    }

    /** Saves a new session, calling {@code whileSaving} with its version as the store's write would. */
    private void save(Consumer<String> whileSaving) {
        next++;
        String version = NearCache.newVersion();
        long now = System.currentTimeMillis();
        SessionChanges changes = SessionChanges.builder(lastId())
                .put("counter", 1)
                .put(SessionInvalidations.VERSION_KEY, version)
                .createdAt(now)
                .savedAt(now)
                .expiresAt(now + 3_600_000)
                .build();
        Future<Boolean> saved = cache.saving(changes, () -> {
                    whileSaving.accept(version);
                    return Future.succeededFuture(true);
                })
                .get();
        assertTrue(saved.succeeded() && saved.result());
    }

    @Test
    void savesWhoseReportsCame_leaveNoFill_andTheEntriesStayWithinTheBound(VertxTestContext test) {
        test.verify(() -> {
            for (int i = 0; i < 1000; i++) {
                save(version -> reports.listener.changed(lastId(), version));
            }
            assertEquals(0, cache.pendingFills());
            assertEquals(100, cache.size());
        });
        test.completeNow();
    }

    @Test
    void aSaveOvertakenByAnotherWrite_isNotCached_andLeavesNoFill(VertxTestContext test) {
        test.verify(() -> {
            cache.dropLocal(lastId());
            for (int i = 0; i < 10; i++) {
                save(version -> {
                    reports.listener.changed(lastId(), NearCache.newVersion()); // another process wrote first
                    reports.listener.changed(lastId(), version);
                });
            }
            assertEquals(0, cache.pendingFills());
            assertEquals(0, cache.size());
        });
        test.completeNow();
    }

    @Test
    void aSaveReportedWithItsBase_isCachedOnlyFromThatBase_andLeavesNoFillEitherWay(VertxTestContext test) {
        test.verify(() -> {
            cache.dropLocal(lastId());
            save(version -> reports.listener.changed(lastId(), version, "AAAAAAAAAAA")); // not from nothing: not cached
            assertEquals(0, cache.pendingFills());
            assertEquals(0, cache.size());
            save(version -> reports.listener.changed(lastId(), version, null));
            assertEquals(0, cache.pendingFills());
            assertEquals(1, cache.size());
        });
        test.completeNow();
    }

    /** Returns the change set of the save that creates session {@code id} with {@code counter} 1 and {@code version}. */
    private static SessionChanges newSave(String id, String version) {
        long now = System.currentTimeMillis();
        return SessionChanges.builder(id)
                .put("counter", 1)
                .put(SessionInvalidations.VERSION_KEY, version)
                .createdAt(now)
                .savedAt(now)
                .expiresAt(now + 3_600_000)
                .build();
    }

    /** Returns the change set of a save of the stored session {@code id} that puts {@code counter} and {@code version}. */
    private static SessionChanges storedSave(String id, Map<String, Object> loaded, int counter, String version) {
        long now = System.currentTimeMillis();
        return SessionChanges.builder(id)
                .stored()
                .loaded(loaded)
                .put("counter", counter)
                .put(SessionInvalidations.VERSION_KEY, version)
                .createdAt(now)
                .savedAt(now)
                .expiresAt(now + 3_600_000)
                .build();
    }

    private static void assertSaved(Future<Boolean> saved) {
        assertTrue(saved.succeeded() && saved.result(), "the save failed");
    }

    /** Loads {@code id} for a cookie holding {@code version}; returns how many times the store was asked. */
    private int storeReadsOf(String id, String version) {
        AtomicInteger reads = new AtomicInteger();
        Future<SessionRecord> loaded = cache.load(id, version, () -> {
            reads.incrementAndGet();
            return Future.succeededFuture(null);
        });
        assertTrue(loaded.succeeded());
        return reads.get();
    }

    @Test
    void aSaveAcknowledgedByItsReply_isServedBeforeItsReport_andTheReportKeepsIt(VertxTestContext test) {
        test.verify(() -> {
            String id = lastId() + "-acked";
            String v1 = NearCache.newVersion();
            Future<Boolean> saved = cache.saving(storedSave(id, Map.of(), 1, v1), () -> {
                        // no session cached: a new one, written from nothing (the reply names no version before)
                        return Future.succeededFuture(true);
                    })
                    .get();
            assertTrue(saved.succeeded());
            assertEquals(1, storeReadsOf(id, v1), "a stored session not cached is read from the store");

            SessionChanges created = newSave(id, v1);
            assertSaved(cache.saving(created, () -> {
                        reports.listener.saved(id, v1, null);
                        return Future.succeededFuture(true);
                    })
                    .get());
            assertEquals(0, storeReadsOf(id, v1), "the reply cached the save: no store read before its report");
            assertEquals(1, cache.pendingFills(), "the fill waits for its report");

            String v2 = NearCache.newVersion();
            assertSaved(cache.saving(storedSave(id, Map.of("counter", 1), 2, v2), () -> {
                        reports.listener.changed(id, v1); // the first save's report comes during the second save
                        reports.listener.saved(id, v2, v1);
                        return Future.succeededFuture(true);
                    })
                    .get());
            assertEquals(0, storeReadsOf(id, v2), "a report of an earlier save does not undo the reply's proof");
            reports.listener.changed(id, v2, v1);
            assertEquals(0, storeReadsOf(id, v2), "its own report keeps the entry");
            assertEquals(0, cache.pendingFills());

            // The reply of the next save comes before the report of this one, which then names its base.
            String v3 = NearCache.newVersion();
            assertSaved(cache.saving(storedSave(id, Map.of("counter", 2), 3, v3), () -> {
                        reports.listener.saved(id, v3, v2);
                        return Future.succeededFuture(true);
                    })
                    .get());
            String v4 = NearCache.newVersion();
            assertSaved(cache.saving(storedSave(id, Map.of("counter", 3), 4, v4), () -> {
                        reports.listener.saved(id, v4, v3);
                        return Future.succeededFuture(true);
                    })
                    .get());
            reports.listener.changed(id, v3, v2);
            assertEquals(0, storeReadsOf(id, v4), "a late report of an acknowledged save does not bring it back");
            reports.listener.changed(id, v4, v3);
            assertEquals(0, storeReadsOf(id, v4));
            assertEquals(1, storeReadsOf(id, v3));
            assertEquals(0, cache.pendingFills());
        });
        test.completeNow();
    }

    @Test
    void aReplyFromAnotherBase_orOvertakenByASaveOfThisProcess_isNotCached(VertxTestContext test) {
        test.verify(() -> {
            String id = lastId() + "-overtaken";
            String v1 = NearCache.newVersion();
            long now = System.currentTimeMillis();
            SessionChanges created = newSave(id, v1);
            assertSaved(cache.saving(created, () -> {
                        reports.listener.saved(id, v1, "AAAAAAAAAAA"); // another process wrote it first
                        return Future.succeededFuture(true);
                    })
                    .get());
            assertEquals(1, storeReadsOf(id, v1), "a reply from another base proves nothing");
            reports.listener.changed(id, "AAAAAAAAAAA");
            reports.listener.changed(id, v1);
            assertEquals(0, cache.pendingFills());

            // v1 is cached by a load; a save (v2) starts, then a second one before the first's reply
            cache.load(
                    id,
                    v1,
                    () -> Future.succeededFuture(new SessionRecord(
                            id,
                            Map.of("counter", 1, SessionInvalidations.VERSION_KEY, v1),
                            now,
                            now + 3_600_000,
                            null)));
            assertEquals(0, storeReadsOf(id, v1));
            String v2 = NearCache.newVersion();
            Promise<Boolean> first = Promise.promise();
            Future<Boolean> firstSaved = cache.saving(
                            storedSave(id, Map.of("counter", 1, SessionInvalidations.VERSION_KEY, v1), 2, v2),
                            first::future)
                    .get();
            String v3 = NearCache.newVersion();
            Promise<Boolean> second = Promise.promise();
            Future<Boolean> secondSaved = cache.saving(
                            storedSave(id, Map.of("counter", 1, SessionInvalidations.VERSION_KEY, v1), 3, v3),
                            second::future)
                    .get();
            reports.listener.saved(id, v2, v1);
            first.complete(true);
            assertTrue(firstSaved.succeeded());
            assertEquals(1, storeReadsOf(id, v2), "a save overtaken by a later one of this process is not cached");
            reports.listener.changed(id, v2, v1);
            assertEquals(1, storeReadsOf(id, v2), "not by its report either");
            second.complete(true);
            assertSaved(secondSaved);
            reports.listener.changed(id, v3);
            assertEquals(0, cache.pendingFills());
        });
        test.completeNow();
    }

    @Test
    void aLoadThatReadTheStoreBeforeAnAcknowledgedSave_doesNotReplaceIt(VertxTestContext test) {
        test.verify(() -> {
            String id = lastId() + "-late-load";
            String v0 = NearCache.newVersion();
            Promise<SessionRecord> store = Promise.promise();
            AtomicReference<Future<SessionRecord>> loading = new AtomicReference<>();
            String v1 = NearCache.newVersion();
            long now = System.currentTimeMillis();
            SessionChanges created = newSave(id, v1);
            assertSaved(cache.saving(created, () -> {
                        // a request holding the older cookie reads the store, on another connection, before the
                        // save reaches it
                        loading.set(cache.load(id, v0, store::future));
                        reports.listener.saved(id, v1, null);
                        return Future.succeededFuture(true);
                    })
                    .get());
            // the load's reply: what the store held before the save
            store.complete(new SessionRecord(
                    id, Map.of("counter", 0, SessionInvalidations.VERSION_KEY, v0), now, now + 3_600_000, null));
            assertTrue(loading.get().succeeded());
            assertEquals(1, storeReadsOf(id, v0), "the older state is not cached");
            assertEquals(0, storeReadsOf(id, v1), "the save's is");
            reports.listener.changed(id, v1);
            assertEquals(0, storeReadsOf(id, v1));
            assertEquals(0, cache.pendingFills());
        });
        test.completeNow();
    }
}
