package dev.vertxsessions;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters an operator reads to see traffic, attacks and faults: loads, saves, failures, tampered cookies,
 * expired sessions, conflicts, oversize rejections and sweeper deletions. Get it with
 * {@link SessionMiddleware#metrics()}; export it to any metrics system by polling {@link #toJson()}.
 * Thread-safe and cheap (one {@code LongAdder} increment per event). Read-only: backends record through the
 * {@link BackendRecorder} the middleware hands them.
 */
public final class SessionMetrics {

    private final LongAdder loads = new LongAdder();
    private final LongAdder loadsFromSaves = new LongAdder();
    private final LongAdder saves = new LongAdder();
    private final LongAdder saveFailures = new LongAdder();
    private final LongAdder deletes = new LongAdder();
    private final LongAdder loadFailures = new LongAdder();
    private final LongAdder tamperedCookies = new LongAdder();
    private final LongAdder expiredSessions = new LongAdder();
    private final LongAdder conflicts = new LongAdder();
    private final LongAdder oversizeRejections = new LongAdder();
    private final LongAdder sweeperDeletions = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder nearCacheHits = new LongAdder();
    private final LongAdder nearCacheMisses = new LongAdder();
    private final LongAdder nearCacheInvalidations = new LongAdder();

    /** Created by the middleware only; read it with {@link SessionMiddleware#metrics()}. */
    SessionMetrics() {}

    /** Returns how many requests carried a session cookie and were looked up in the backend. */
    public long loads() {
        return loads.sum();
    }

    /**
     * Returns how many of the {@link #loads()} took the session from a save of the same session that was still in
     * flight when the request arrived, without reading it back from the store (a backend that knows what it wrote).
     */
    public long loadsFromSaves() {
        return loadsFromSaves.sum();
    }

    /** Returns how many saves completed successfully. */
    public long saves() {
        return saves.sum();
    }

    /** Returns how many saves failed (store errors, oversize cookies). */
    public long saveFailures() {
        return saveFailures.sum();
    }

    /** Returns how many sessions were deleted by logout, {@code clear()} or {@code invalidate()}. */
    public long deletes() {
        return deletes.sum();
    }

    /** Returns how many loads failed because the store could not answer (the request got a 5xx). */
    public long loadFailures() {
        return loadFailures.sum();
    }

    /** Returns how many cookies were rejected as forged, tampered, truncated or malformed. */
    public long tamperedCookies() {
        return tamperedCookies.sum();
    }

    /** Returns how many sessions were refused because they had expired (idle or absolute lifetime). */
    public long expiredSessions() {
        return expiredSessions.sum();
    }

    /** Returns how many writes were dropped because the session had been deleted meanwhile (no resurrection). */
    public long conflicts() {
        return conflicts.sum();
    }

    /**
     * Returns how many saves were refused because the session was too large for its backend
     * ({@link SessionTooLargeException}): a cookie over the browser's limit, a session file over
     * {@code file_max_session_bytes}.
     */
    public long oversizeRejections() {
        return oversizeRejections.sum();
    }

    /** Returns how many expired session files the sweeper deleted. */
    public long sweeperDeletions() {
        return sweeperDeletions.sum();
    }

    /**
     * Returns how many sessions a backend deleted before their expiry to stay within its size limit: the file
     * backend's quota ({@code file_max_sessions}, {@code file_max_bytes}) evicts anonymous sessions only; the memory
     * backend evicts its least recently used sessions, anonymous ones first, promoted ones when no other is left.
     */
    public long evictions() {
        return evictions.sum();
    }

    /**
     * Returns how many loads the near cache ({@code near_cache}) answered without the store: its entry was current
     * and at least as new as the version the request's cookie holds. 0 without the near cache.
     */
    public long nearCacheHits() {
        return nearCacheHits.sum();
    }

    /** Returns how many loads the near cache could not answer (no entry, an older one, or the cache bypassed). */
    public long nearCacheMisses() {
        return nearCacheMisses.sum();
    }

    /**
     * Returns how many near-cache entries were dropped because their session changed or ended (a write of this
     * process or, told by the store, of another), or because the invalidation channel was lost; evictions by the
     * cache's bounds are not counted.
     */
    public long nearCacheInvalidations() {
        return nearCacheInvalidations.sum();
    }

    /** What {@link #nearCacheEntries()} reads: the near cache's size, when there is one. */
    private volatile java.util.function.LongSupplier nearCacheSize = () -> 0;

    /** Returns how many sessions the near cache holds now (within {@code near_cache_max_entries}); 0 without it. */
    public long nearCacheEntries() {
        return nearCacheSize.getAsLong();
    }

    void nearCacheSize(java.util.function.LongSupplier size) {
        this.nearCacheSize = size;
    }

    /** Returns every counter as JSON, keyed by the method names in snake_case. */
    public JsonObject toJson() {
        return new JsonObject()
                .put("loads", loads())
                .put("loads_from_saves", loadsFromSaves())
                .put("saves", saves())
                .put("save_failures", saveFailures())
                .put("deletes", deletes())
                .put("load_failures", loadFailures())
                .put("tampered_cookies", tamperedCookies())
                .put("expired_sessions", expiredSessions())
                .put("conflicts", conflicts())
                .put("oversize_rejections", oversizeRejections())
                .put("sweeper_deletions", sweeperDeletions())
                .put("evictions", evictions())
                .put("near_cache_hits", nearCacheHits())
                .put("near_cache_misses", nearCacheMisses())
                .put("near_cache_invalidations", nearCacheInvalidations());
    }

    void loaded() {
        loads.increment();
    }

    void saved() {
        saves.increment();
    }

    void saveFailed(Throwable cause) {
        saveFailures.increment();
        if (cause instanceof SessionTooLargeException) {
            oversizeRejections.increment();
        }
    }

    void deleted() {
        deletes.increment();
    }

    void loadFailed() {
        loadFailures.increment();
    }

    void tampered() {
        tamperedCookies.increment();
    }

    void expired() {
        expiredSessions.increment();
    }

    void conflict() {
        conflicts.increment();
    }

    void nearCacheHit() {
        nearCacheHits.increment();
    }

    void nearCacheMiss() {
        nearCacheMisses.increment();
    }

    void nearCacheInvalidated(long entries) {
        nearCacheInvalidations.add(entries);
    }

    // ------------------------------------------------------------------ sessions a backend ended itself

    /** Where backends' reports of sessions they ended go: the middleware's listeners, or nowhere. */
    private volatile SessionEvents events;

    void events(SessionEvents events) {
        this.events = events;
    }

    /** What backends record into these counters and the middleware's events: handed to their start(). */
    private final BackendRecorder recorder = new BackendRecorder() {
        @Override
        public void recordLoadFromSave() {
            loadsFromSaves.increment();
        }

        @Override
        public void recordSweeperDeletions(long count) {
            sweeperDeletions.add(count);
        }

        @Override
        public void recordEviction() {
            evictions.increment();
        }

        @Override
        public void reportExpired(String id, String principal) {
            SessionEvents current = events;
            if (current != null) {
                current.expired(id, principal);
            }
        }

        @Override
        public void reportEndedByLimit(String id, String principal) {
            SessionEvents current = events;
            if (current != null) {
                current.destroyed(id, SessionEvent.Cause.LIMIT, principal);
            }
        }
    };

    /** Returns what backends record with: these counters and the middleware's events. */
    BackendRecorder recorder() {
        return recorder;
    }

    // ------------------------------------------------------------------ timings of backend calls

    private final List<BackendCallListener> backendCallListeners = new CopyOnWriteArrayList<>();

    /** Receives the duration and outcome of each backend call of the middleware: load, save, update, delete. */
    @FunctionalInterface
    public interface BackendCallListener {
        /** Called once per call, on the thread that completed it, with its wall-clock time in nanoseconds. */
        void called(String operation, boolean succeeded, long nanos);
    }

    /**
     * Adds a listener of backend call timings ({@code SessionMeters} records them as Micrometer timers). With none,
     * the middleware does not read the clock for them.
     */
    public void addBackendCallListener(BackendCallListener listener) {
        backendCallListeners.add(listener);
    }

    boolean timesBackendCalls() {
        return !backendCallListeners.isEmpty();
    }

    void backendCalled(String operation, boolean succeeded, long nanos) {
        for (BackendCallListener listener : backendCallListeners) {
            listener.called(operation, succeeded, nanos);
        }
    }
}
