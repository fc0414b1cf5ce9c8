package dev.vertxsessions;

import io.vertx.core.Future;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sessions this process recently moved (a {@code regenerate()}, a login) or deleted (a logout), so that a request
 * that loaded one of them before, and finishes after, neither sends a cookie for it nor writes it back: its write
 * follows a move to the new ID, or is dropped. The store's own checks (no resurrection) keep the data safe; this
 * keeps the browser's cookie right, which the store cannot: the slow request's response would otherwise replace the
 * new cookie with the dead one and log the browser out.
 *
 * <p>An entry lives {@link #MAX_AGE_NANOS} or until {@link #MAX_ENTRIES} newer ones push it out, whichever comes
 * first. Thread-safe; a lookup costs one map read.
 */
final class EndedSessions {

    /** How long an entry is kept: longer than a request that is still running could have loaded the session before. */
    static final long MAX_AGE_NANOS = TimeUnit.MINUTES.toNanos(10);
    /** At most this many entries (about 100 bytes each); under a flood of logins the oldest go first. */
    static final int MAX_ENTRIES = 100_000;

    /** How a session ended: moved to {@link #movedTo}, or deleted when that is null. */
    static final class Ended {
        final long sequence;
        final String id;
        final String movedTo;
        final Future<?> write;
        /** The request that ended it, which is never told about its own doing. */
        final Object by;

        final long atNanos;

        Ended(long sequence, String id, String movedTo, Future<?> write, Object by) {
            this.sequence = sequence;
            this.id = id;
            this.movedTo = movedTo;
            this.write = write;
            this.by = by;
            this.atNanos = System.nanoTime();
        }

        boolean isDelete() {
            return movedTo == null;
        }
    }

    private final AtomicLong sequence = new AtomicLong();
    private final ConcurrentHashMap<String, Ended> ended = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Ended> oldestFirst = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();

    /** Returns the current position: a request notes it when it loads its session. */
    long position() {
        return sequence.get();
    }

    /** Records that {@code by} moves session {@code id} to {@code movedTo} with {@code write}. */
    void moved(String id, String movedTo, Future<?> write, Object by) {
        add(new Ended(sequence.incrementAndGet(), id, movedTo, write, by));
    }

    /** Records that {@code by} deletes session {@code id} with {@code write}. */
    void deleted(String id, Future<?> write, Object by) {
        add(new Ended(sequence.incrementAndGet(), id, null, write, by));
    }

    /**
     * Returns how session {@code id}, loaded by {@code reader} at {@code since}, ended afterwards at another request's
     * hands, following moves (a session moved twice ends where the last move took it): the last move or the delete,
     * or null when it did not end, or only by a write that failed.
     */
    Ended endOf(String id, long since, Object reader) {
        if (size.get() == 0) {
            return null;
        }
        Ended last = null;
        String current = id;
        for (int hops = 0; hops < 16; hops++) {
            Ended next = ended.get(current);
            if (next == null || next.sequence <= since || next.by == reader || next.write.failed()) {
                return last;
            }
            last = next;
            if (next.isDelete()) {
                return last;
            }
            current = next.movedTo;
        }
        return last;
    }

    private void add(Ended entry) {
        ended.put(entry.id, entry);
        oldestFirst.add(entry);
        int count = size.incrementAndGet();
        long now = System.nanoTime();
        Ended oldest;
        while ((oldest = oldestFirst.peek()) != null
                && (count > MAX_ENTRIES || now - oldest.atNanos > MAX_AGE_NANOS)
                && oldestFirst.remove(oldest)) {
            ended.remove(oldest.id, oldest);
            count = size.decrementAndGet();
        }
    }
}
