package dev.vertxsessions;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.vertxsessions.internal.JsonValues;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/*
 * The near cache: why a cached session served to a request is current.
 *
 * Versions. With the cache on, every save puts a fresh random version (64 bits) under the reserved data key
 * __vertx-sessions.version, so every backend stores it like any key (the last save's wins, as the per-key merge
 * says), and the cookie becomes <id>.<version>, sent again with every save. A request is served from the cache only
 * when the cached entry's version equals the one its cookie holds: the browser's own writes are never missed,
 * whatever the invalidations do (read-your-writes without waiting). A missing, malformed or forged version matches
 * nothing and costs a store read; the ID alone still names the session, so it can never name another user's.
 *
 * Invalidations. The backend reports every write to a session, by any process, in the order the store applied them
 * (SessionInvalidations; Redis: the scripts PUBLISH "<id> <version>"). A report drops the entry and poisons every
 * fill of that ID in flight (a load whose reply may predate the write). Fills: a load registers before it is sent
 * and fills only if no report for its ID arrived meanwhile; a save of this process registers its predicted result
 * (the cached entry with the change set applied, the store's own merge) and that result is cached only when the
 * save's own report arrives, with its version, before any other report for the ID, so nothing ran between the
 * entry and the save. Deletes and atomic updates of this process drop the entry when they start and when they end,
 * which covers this process before the report arrives. All per-ID steps run under a lock striped by ID, held for
 * map operations only.
 *
 * Saves that name their base (Redis since 2026-12-08). An atomic save can tell which version it replaced: Redis's
 * SAVE script replies it and publishes "<id> <version> <before>". Then the prediction is cached by whichever comes
 * first, the reply (Listener.saved) or the report (changed with a base), when that base is the entry it was
 * predicted from and no later save or delete of this process started on the ID (superseded): the base proves that
 * nothing ran between the entry and the save, so reports of earlier writes, even the previous save's own, no longer
 * poison it (they did for 4 % of a counter benchmark's loads: the previous save's report, heard after the next save
 * had started, dropped that save's result). The reply poisons the loads in flight, which may have read the store
 * before the save; once the reply cached it, the save's report only poisons, so a later entry stays.
 *
 * States instead of events (files). A directory watch learns that a file changed, not what each write left: by the
 * time it reads the file, later writes may have landed and earlier ones are folded in. Such a source reports what it
 * read (holds: an entry of another version is dropped, fills in flight are poisoned, an entry of the same version
 * stays, which is sound because every write changes or removes the version; a state read before an entry was known
 * current, its fill's registration or its save's write, says nothing about it), and reports the saves of its own
 * process from inside their lock together with the version they were applied on (changed(id, version, previous)):
 * the predicted result is cached when that base is the entry it was predicted from, whatever order the reports of
 * others came in, because then the store applied exactly these changes to exactly that entry.
 *
 * The window. A hit is served only while the channel has proved, within near_cache_max_lag, that it delivers:
 * every maxLag/4 a sync() marker goes through the store and comes back after every report of a write the store
 * applied before it. A hit at time t therefore misses at most the writes of other processes applied after the send
 * time of the last marker that came back, which is later than t - maxLag. When no marker comes back in time, or the
 * source says reports were lost, the cache is cleared and bypassed (every request reads the store) until a marker
 * sent after that comes back.
 *
 * Memory. Entries hold each value as JsonValues.freeze keeps it (strings, numbers and booleans as they are, maps and
 * lists as JSON bytes decoded again for every hit, so no request shares a mutable object with another) and are
 * weighed by an estimate of the heap they take (estimatedBytes: the values, the ID and a fixed overhead per entry
 * measured from outside), but at least maxBytes/maxEntries each (rounded up), so one Caffeine weight bound keeps both
 * the bytes and the count. The state of a fill ends with its load or with its save's report. An entry expires from
 * the cache when its session does.
 */
final class NearCache implements SessionInvalidations.Listener {

    private static final System.Logger LOG = System.getLogger(SessionMiddleware.class.getName());

    /** Characters of a version: 64 random bits, base64url without padding. */
    static final int VERSION_LENGTH = 11;

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final int STRIPES = 64;

    /** A cached session: its values as {@link JsonValues#freeze} keeps them, its times and its version. Immutable. */
    private record Entry(
            Map<String, Object> values,
            String version,
            long createdAt,
            long expiresAt,
            Duration perSessionExpiry,
            int weight,
            long validSince) {

        /**
         * Returns this entry as known current from {@code nanoTime} on (a fill: when it was registered, before its
         * read; a save: once written): a state read before that tells nothing about it.
         */
        Entry since(long nanoTime) {
            return new Entry(values, version, createdAt, expiresAt, perSessionExpiry, weight, nanoTime);
        }
    }

    /** A fill in flight: a load (no result yet) or a save of this process (its predicted result and version). */
    private static final class Fill {
        final long epoch;
        final Entry predicted;
        /** A save's: the version of the entry it was predicted from (null: none), and whether that was no session. */
        final String baseVersion;

        final boolean fromNothing;

        final long registeredAt = System.nanoTime();

        boolean poisoned;

        /** A save's: a later save or a delete of this process started on the same ID. */
        boolean superseded;

        /** A save's: its reply proved the prediction and cached it ({@link #saved}); its event needs nothing more. */
        boolean acknowledged;

        /** A save's: whether it was predicted from the session at version {@code previous} (null: no session). */
        boolean startedFrom(String previous) {
            return previous != null ? previous.equals(baseVersion) : fromNothing;
        }

        Fill(long epoch, Entry predicted, String baseVersion, boolean fromNothing) {
            this.epoch = epoch;
            this.predicted = predicted;
            this.baseVersion = baseVersion;
            this.fromNothing = fromNothing;
        }
    }

    private final Vertx vertx;
    private final SessionInvalidations source;
    private final SessionMetrics metrics;
    private final Clock clock;
    private final long maxLagNanos;
    private final long minWeight;
    private final Cache<String, Entry> cache;
    /** Fills in flight by ID; changed only under the ID's stripe. */
    private final Map<String, List<Fill>> fills = new ConcurrentHashMap<>();

    private final Object[] stripes = new Object[STRIPES];

    /** Bumped whenever reports may have been lost: fills registered before are dropped. */
    private volatile long epoch;
    /** Whether the channel has delivered since the last loss; hits need it, and so do fills. */
    private volatile boolean live;
    /** The send time (nanoTime) of the latest marker that came back: hits need it within maxLag. */
    private volatile long provenAt;

    private long timer = -1;
    private volatile boolean closed;

    NearCache(Vertx vertx, SessionConfig config, SessionInvalidations source, SessionMetrics metrics) {
        this.vertx = vertx;
        this.source = source;
        this.metrics = metrics;
        this.clock = config.getClock();
        this.maxLagNanos = config.getNearCacheMaxLag().toNanos();
        // Rounded up, so that max_entries + 1 entries of the least weight never fit in max_bytes.
        long maxEntries = config.getNearCacheMaxEntries();
        this.minWeight = Math.max(1, (config.getNearCacheMaxBytes() + maxEntries - 1) / maxEntries);
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
        this.cache = Caffeine.newBuilder()
                .maximumWeight(config.getNearCacheMaxBytes())
                .weigher((String id, Entry entry) -> entry.weight())
                .expireAfter(new Expiry<String, Entry>() {
                    @Override
                    public long expireAfterCreate(String id, Entry entry, long now) {
                        return TimeUnit.MILLISECONDS.toNanos(Math.max(0, entry.expiresAt() - clock.millis()));
                    }

                    @Override
                    public long expireAfterUpdate(String id, Entry entry, long now, long current) {
                        return expireAfterCreate(id, entry, now);
                    }

                    @Override
                    public long expireAfterRead(String id, Entry entry, long now, long current) {
                        return current;
                    }
                })
                .executor(Runnable::run) // eviction work on the caller, a few map operations: no pool thread
                .build();
    }

    /** Returns whether Caffeine is on the class path (the near cache's one optional dependency). */
    static boolean caffeinePresent() {
        try {
            ClassLoader loader = NearCache.class.getClassLoader();
            Class.forName("com.github.benmanes.caffeine.cache.Caffeine", false, loader);
            Class.forName("com.github.benmanes.caffeine.cache.Expiry", false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Starts listening, and proving the channel every maxLag/4. */
    void start() {
        metrics.nearCacheSize(this::size);
        source.start(this).onFailure(e -> LOG.log(Level.DEBUG, "near cache: invalidations not flowing yet: " + e));
        long period = Math.max(1, TimeUnit.NANOSECONDS.toMillis(maxLagNanos) / 4);
        timer = vertx.setPeriodic(period, t -> prove());
    }

    private void prove() {
        if (closed) {
            return;
        }
        if (live && System.nanoTime() - provenAt > maxLagNanos) {
            lapse("no invalidation marker came back within near_cache_max_lag_ms");
        }
        long sentAt = System.nanoTime();
        long sentEpoch = epoch;
        source.sync().onSuccess(v -> {
            synchronized (this) {
                if (sentEpoch != epoch) {
                    return; // reports were lost after it was sent: a later marker must prove the channel again
                }
                if (sentAt - provenAt > 0) {
                    provenAt = sentAt;
                }
                if (!live && System.nanoTime() - sentAt <= maxLagNanos) {
                    live = true;
                    LOG.log(Level.DEBUG, "near cache: invalidations flow, cache in use");
                }
            }
        });
    }

    /** Returns whether a hit may be served now. */
    private boolean usable() {
        return live && System.nanoTime() - provenAt <= maxLagNanos;
    }

    /** Stops listening. */
    Future<Void> close() {
        closed = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        cache.invalidateAll();
        return source.close();
    }

    // ------------------------------------------------------------------ versions and cookies

    /** Returns a new random version. */
    static String newVersion() {
        byte[] bytes = new byte[8];
        ThreadLocalRandom.current().nextBytes(bytes);
        return ENCODER.encodeToString(bytes);
    }

    /** Returns {@code value} when it has a version's format, else null (it then matches no entry). */
    static String wellFormedVersion(String value) {
        if (value.length() != VERSION_LENGTH) {
            return null;
        }
        for (int i = 0; i < VERSION_LENGTH; i++) {
            char c = value.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return null;
            }
        }
        return value;
    }

    /** Returns the cookie value of session {@code id} holding {@code data}: {@code <id>.<version>}, or the ID. */
    static String cookieValue(String id, Map<String, Object> data) {
        String version = SessionInvalidations.versionOf(data);
        return version != null ? id + "." + version : id;
    }

    /**
     * Returns whether a {@code rolling} renewal is due: with the cache on, only once half the session's lifetime
     * has passed since it was last stored, so that most read-only requests write nothing.
     */
    static boolean renewalDue(long storedExpiresAt, long now, Duration lifetime) {
        return storedExpiresAt - now <= lifetime.toMillis() / 2;
    }

    // ------------------------------------------------------------------ loads

    /**
     * Answers the load of session {@code id} for a cookie holding {@code version}: from the cache when it holds that
     * version and the channel is proven, else through {@code loader}, whose result is cached unless a write
     * of the session was reported meanwhile.
     */
    Future<SessionRecord> load(String id, String version, Supplier<Future<SessionRecord>> loader) {
        SessionRecord hit = lookup(id, version);
        if (hit != null) {
            metrics.nearCacheHit();
            return Future.succeededFuture(hit);
        }
        metrics.nearCacheMiss();
        Fill fill = register(id, null);
        Future<SessionRecord> loading;
        try {
            loading = loader.get();
        } catch (RuntimeException e) {
            abandon(id, fill);
            throw e;
        }
        if (loading == null) {
            abandon(id, fill);
            return null;
        }
        return fill == null ? loading : loading.andThen(ar -> loaded(id, fill, ar));
    }

    private SessionRecord lookup(String id, String version) {
        if (version == null || !usable()) {
            return null;
        }
        Entry entry = cache.getIfPresent(id);
        if (entry == null || !version.equals(entry.version())) {
            return null;
        }
        Map<String, Object> data = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Object> value : entry.values().entrySet()) {
                data.put(value.getKey(), JsonValues.thaw(value.getValue()));
            }
        } catch (IOException | RuntimeException e) {
            return null; // cannot happen: the bytes were written by JsonValues; the store answers instead
        }
        return new SessionRecord(id, data, entry.createdAt(), entry.expiresAt(), entry.perSessionExpiry());
    }

    private void loaded(String id, Fill fill, AsyncResult<SessionRecord> ar) {
        if (ar.failed() || ar.result() == null || !id.equals(ar.result().id())) {
            abandon(id, fill);
            return;
        }
        SessionRecord record = ar.result();
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<String, Object> value : record.data().entrySet()) {
            values.put(value.getKey(), JsonValues.freeze(value.getValue()));
        }
        Entry entry = entry(
                id,
                values,
                SessionInvalidations.versionOf(record.data()),
                record.createdAtMillis(),
                record.expiresAtMillis(),
                record.perSessionExpiry());
        synchronized (stripe(id)) {
            if (unregister(id, fill) && !fill.poisoned && fill.epoch == epoch && live) {
                cache.put(id, entry.since(fill.registeredAt));
            }
        }
    }

    // ------------------------------------------------------------------ writes of this process

    /**
     * Wraps the save of {@code changes}: the entry it started from is dropped at once, and the result the save
     * produces in the store is cached when the save's own report arrives (a move or a per-session expiry removed is
     * not predicted: the next load fills the cache).
     */
    Supplier<Future<Boolean>> saving(SessionChanges changes, Supplier<Future<Boolean>> save) {
        return () -> {
            String id = changes.id();
            Fill fill = null;
            if (changes.previousId() != null) {
                dropLocal(changes.previousId());
                dropLocal(id);
            } else {
                fill = registerSave(changes);
            }
            Fill registered = fill;
            Future<Boolean> saved;
            try {
                saved = save.get();
            } catch (RuntimeException e) {
                abandon(id, registered);
                throw e;
            }
            return saved.andThen(ar -> {
                if (changes.previousId() != null) {
                    dropLocal(changes.previousId());
                    dropLocal(id);
                } else if (ar.failed() || !Boolean.TRUE.equals(ar.result())) {
                    abandon(id, registered); // nothing written, or not known: no report will fill it
                    dropLocal(id);
                }
            });
        };
    }

    @SuppressWarnings("ReferenceEquality") // this very entry, not an equal one that a later fill put
    private Fill registerSave(SessionChanges changes) {
        String id = changes.id();
        String version = SessionInvalidations.versionOf(changes.data());
        Entry base;
        if (changes.isNew()) {
            base = new Entry(Map.of(), null, changes.createdAtMillis(), 0, null, 0, 0);
        } else {
            base = cache.getIfPresent(id);
        }
        Entry predicted = null;
        if (base != null
                && version != null
                && !(changes.perSessionExpiry() == null && base.perSessionExpiry() != null)) {
            Map<String, Object> values = new LinkedHashMap<>(base.values());
            changes.applyTo(values, JsonValues::freeze);
            predicted = entry(
                    id,
                    values,
                    version,
                    base.createdAt(),
                    changes.expiresAtMillis(),
                    changes.perSessionExpiry() != null ? changes.perSessionExpiry() : base.perSessionExpiry());
        }
        synchronized (stripe(id)) {
            Entry current = cache.getIfPresent(id);
            if (current != null) {
                cache.invalidate(id);
                metrics.nearCacheInvalidated(1);
            }
            poison(id);
            supersede(id);
            // Predicted from the entry only while it is still the cached one (no report came in between).
            boolean sameBase = changes.isNew() ? current == null : current == base;
            if (predicted == null || !sameBase || !live) {
                return null;
            }
            Fill fill = new Fill(epoch, predicted, base.version(), changes.isNew());
            fills.computeIfAbsent(id, k -> new ArrayList<>(2)).add(fill);
            return fill;
        }
    }

    /**
     * Drops session {@code id} for a write of this process that the cache does not predict (a delete, an atomic
     * update): call it when the write starts and when it ends.
     */
    void dropLocal(String id) {
        synchronized (stripe(id)) {
            drop(id);
            supersede(id);
        }
    }

    // ------------------------------------------------------------------ reports

    @Override
    public void changed(String id, String version) {
        synchronized (stripe(id)) {
            // The report of a save of this process ends its fill, used or not (versions are never reused).
            Fill own = ownSave(id, version);
            if (own != null && own.acknowledged) {
                // Cached by its reply, which poisoned every load then in flight; a later entry (a later save's,
                // or a load's that read the store after this save) stays.
                poison(id);
                return;
            }
            if (own != null && !own.poisoned && own.epoch == epoch && live) {
                cachePrediction(id, own); // the save of this process, and nothing between it and its base
                return;
            }
            drop(id);
        }
    }

    @Override
    public void changed(String id, String version, String previous) {
        synchronized (stripe(id)) {
            Fill own = ownSave(id, version);
            if (own != null && own.acknowledged) {
                poison(id); // cached by its reply already; a later entry stays
                return;
            }
            // Reports of others may be read after this save, or have come before it: the base proves the result.
            if (own != null && provenByBase(own, previous)) {
                cachePrediction(id, own); // called right after the write, in its lock
                return;
            }
            drop(id);
        }
    }

    /**
     * The reply of a save of this process: its prediction is cached at once when the store says it applied the
     * save to the version the prediction started from, and no later save or delete of this process started on the
     * ID. Reports heard meanwhile do not matter: while the fill waits for its own event, every report heard is of a
     * write the store applied before this save (events come in the store's order), and the base proves that none came
     * between the entry and the save. The fill stays until its event arrives, which then changes nothing.
     */
    @Override
    public void saved(String id, String version, String previous) {
        if (version == null) {
            return;
        }
        synchronized (stripe(id)) {
            Fill fill = pendingSave(id, version); // null: its event came first and settled it
            if (fill != null && !fill.acknowledged && provenByBase(fill, previous)) {
                fill.acknowledged = true;
                cachePrediction(id, fill);
            }
        }
    }

    /**
     * Returns whether the store's word that the save of {@code fill} turned version {@code previous} into its own
     * proves the prediction: the save started from that version, no later save or delete of this process started on
     * the ID, and the cache has been live since the fill began.
     */
    private boolean provenByBase(Fill fill, String previous) {
        return !fill.superseded && fill.startedFrom(previous) && fill.epoch == epoch && live;
    }

    /** Caches a save's proven prediction; loads in flight may have read the store before the save: poisoned. */
    private void cachePrediction(String id, Fill fill) {
        poison(id);
        cache.put(id, fill.predicted.since(System.nanoTime()));
    }

    @Override
    public void holds(String id, String version, long readAtNanos) {
        synchronized (stripe(id)) {
            List<Fill> pending = fills.get(id);
            if (pending != null) {
                for (Fill fill : pending) {
                    if (readAtNanos - fill.registeredAt >= 0) {
                        fill.poisoned = true; // the state may be newer than what the fill reads
                    }
                }
            }
            Entry entry = cache.getIfPresent(id);
            if (entry != null
                    && (version == null || !version.equals(entry.version()))
                    && readAtNanos - entry.validSince() >= 0) {
                cache.invalidate(id);
                metrics.nearCacheInvalidated(1);
            }
        }
    }

    @Override
    public void lost() {
        lapse("the invalidation channel was lost");
    }

    private void lapse(String why) {
        synchronized (this) {
            epoch++;
            boolean was = live;
            live = false;
            if (was) {
                LOG.log(Level.DEBUG, "near cache: " + why + "; cleared and bypassed until it is proven again");
            }
        }
        long size = cache.estimatedSize();
        cache.invalidateAll();
        if (size > 0) {
            metrics.nearCacheInvalidated(size);
        }
        fills.clear();
    }

    // ------------------------------------------------------------------ per-ID steps, under the ID's stripe

    private Fill register(String id, Entry predicted) {
        if (!live) {
            return null;
        }
        synchronized (stripe(id)) {
            Fill fill = new Fill(epoch, predicted, null, false);
            fills.computeIfAbsent(id, k -> new ArrayList<>(2)).add(fill);
            return fill;
        }
    }

    /**
     * Removes and returns the fill of the save of this process that wrote {@code version} to session {@code id}, or
     * null. Its report has come: whether or not the fill is used, nothing else would remove it.
     */
    private Fill ownSave(String id, String version) {
        Fill fill = pendingSave(id, version);
        if (fill != null) {
            unregister(id, fill);
        }
        return fill;
    }

    /** Returns the fill of the save of this process that writes {@code version} to session {@code id}, or null. */
    private Fill pendingSave(String id, String version) {
        List<Fill> pending = fills.get(id);
        if (pending == null || version == null) {
            return null;
        }
        for (Fill fill : pending) {
            if (fill.predicted != null && version.equals(fill.predicted.version())) {
                return fill;
            }
        }
        return null;
    }

    /** Returns how many sessions have fills in flight. For tests: 0 once every load and save has completed. */
    int pendingFills() {
        return fills.size();
    }

    private void abandon(String id, Fill fill) {
        if (fill != null) {
            synchronized (stripe(id)) {
                unregister(id, fill);
            }
        }
    }

    private boolean unregister(String id, Fill fill) {
        List<Fill> pending = fills.get(id);
        if (pending == null || !pending.remove(fill)) {
            return false;
        }
        if (pending.isEmpty()) {
            fills.remove(id);
        }
        return true;
    }

    private void drop(String id) {
        if (cache.asMap().remove(id) != null) {
            metrics.nearCacheInvalidated(1);
        }
        poison(id);
    }

    private void poison(String id) {
        List<Fill> pending = fills.get(id);
        if (pending != null) {
            for (Fill fill : pending) {
                fill.poisoned = true;
            }
        }
    }

    /** Marks the saves of this process in flight on {@code id} as no longer the latest it started. */
    private void supersede(String id) {
        List<Fill> pending = fills.get(id);
        if (pending != null) {
            for (Fill fill : pending) {
                fill.superseded = true;
            }
        }
    }

    private Object stripe(String id) {
        return stripes[id.hashCode() & (STRIPES - 1)];
    }

    /**
     * The heap an entry takes besides its values, in bytes (64-bit JVM, compressed references): Caffeine's node (56)
     * and its map's node (32 and a table slot), the Entry (56), the values' LinkedHashMap with its table (56 + 80),
     * the ID's String and array without its characters (40), and each entry's share of the cache's own tables
     * (frequency sketch, hash tables). Set from what bench/memory.sh measured: 558 to 617 bytes of heap per entry
     * of a session holding a counter, with a 43-character ID (BENCHMARKS.md, "Near cache: heap after 100,000
     * sessions").
     */
    static final int ENTRY_OVERHEAD = 360;

    /** Per value besides its key's characters and the value's own size: the map's entry (40) and its table slot. */
    static final int VALUE_OVERHEAD = 48;

    /**
     * Returns an estimate of the heap the entry of session {@code id} holding {@code values} takes, in bytes: the
     * bound {@code near_cache_max_bytes} counts these.
     */
    static long estimatedBytes(String id, Map<String, Object> values) {
        long bytes = (long) ENTRY_OVERHEAD + id.length();
        for (Map.Entry<String, Object> value : values.entrySet()) {
            bytes += value.getKey().length() + JsonValues.frozenBytes(value.getValue()) + VALUE_OVERHEAD;
        }
        return bytes;
    }

    private Entry entry(
            String id,
            Map<String, Object> values,
            String version,
            long createdAt,
            long expiresAt,
            Duration perSessionExpiry) {
        int weight = (int) Math.min(Integer.MAX_VALUE, Math.max(estimatedBytes(id, values), minWeight));
        return new Entry(values, version, createdAt, expiresAt, perSessionExpiry, weight, 0);
    }

    /** Returns how many sessions the cache holds (after pending evictions). For tests and gauges. */
    long size() {
        cache.cleanUp();
        return cache.estimatedSize();
    }
}
