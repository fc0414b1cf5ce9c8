package dev.vertxsessions;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The store writes of this process still in flight, by session ID, so that a request for the same session waits
 * for them and reads what they wrote (read-your-writes). Thread-safe.
 */
final class SavesInFlight {

    /** A write of one ID in flight, and the change set it stores (null when it is a delete or several writes). */
    static final class Write {
        final Future<?> done;
        final SessionChanges changes;

        Write(Future<?> done, SessionChanges changes) {
            this.done = done;
            this.changes = changes;
        }
    }

    private final ConcurrentMap<String, Write> writes = new ConcurrentHashMap<>();

    /** Returns the write of {@code id} in flight, or null. */
    Write get(String id) {
        return writes.get(id);
    }

    /**
     * Remembers {@code write} of {@code id} until it completes. Two writes of one ID in flight: a load waits for
     * both and then reads the store (which one is last is the store's to say).
     */
    void track(String id, Future<?> write, SessionChanges changes) {
        Write tracked = writes.compute(
                id,
                (k, earlier) -> earlier == null
                        ? new Write(write, changes)
                        : new Write(Future.join(earlier.done, write).transform(ar -> Future.succeededFuture()), null));
        tracked.done.onComplete(ar -> writes.remove(id, tracked));
    }

    /** Completes (successfully, whatever their outcome) once every write in flight now has completed. */
    Future<Void> all() {
        if (writes.isEmpty()) {
            return Future.succeededFuture();
        }
        List<Future<?>> pending = new ArrayList<>();
        for (Write write : writes.values()) {
            pending.add(write.done);
        }
        return Future.join(pending).transform(ar -> Future.succeededFuture());
    }
}
