package dev.vertxsessions.samples;

import io.vertx.core.Future;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An in-memory key-value store with the few Redis commands a session backend needs ({@code GET}, {@code SET ... EX},
 * {@code SET ... EX ... XX}, {@code DEL}), answering with Futures like an asynchronous Redis client would. It
 * stands in for a real client in {@link KeyValueSessionInterface}, the custom-backend example.
 *
 * <p>Thread-safe: one store serves every event loop.
 */
public final class KeyValueStore {

    private record Entry(String value, long expiresAtMillis) {}

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Clock clock;

    /** Creates an empty store whose entries expire by {@code clock}. */
    public KeyValueStore(Clock clock) {
        this.clock = clock;
    }

    /** Returns the value of {@code key}, or null when it is absent or expired ({@code GET}). */
    public Future<String> get(String key) {
        Entry entry = entries.get(key);
        if (entry != null && entry.expiresAtMillis() <= clock.millis()) {
            entries.remove(key, entry);
            entry = null;
        }
        return Future.succeededFuture(entry == null ? null : entry.value());
    }

    /** Sets {@code key} to {@code value} for {@code seconds} ({@code SET key value EX seconds}). */
    public Future<Void> setex(String key, long seconds, String value) {
        entries.put(key, new Entry(value, clock.millis() + seconds * 1000));
        return Future.succeededFuture();
    }

    /**
     * Sets {@code key} only when it exists and has not expired ({@code SET key value EX seconds XX}); returns
     * whether it was set.
     */
    public Future<Boolean> setexIfExists(String key, long seconds, String value) {
        long now = clock.millis();
        Entry updated = entries.computeIfPresent(
                key, (k, entry) -> entry.expiresAtMillis() <= now ? null : new Entry(value, now + seconds * 1000));
        return Future.succeededFuture(updated != null);
    }

    /** Deletes {@code key} ({@code DEL}). */
    public Future<Void> del(String key) {
        entries.remove(key);
        return Future.succeededFuture();
    }

    /** Returns how many keys are stored, expired ones included (like {@code DBSIZE}). */
    public int size() {
        return entries.size();
    }

    /** Returns whether {@code key} is stored and has not expired. */
    public boolean contains(String key) {
        Entry entry = entries.get(key);
        return entry != null && entry.expiresAtMillis() > clock.millis();
    }
}
