package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
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
}
