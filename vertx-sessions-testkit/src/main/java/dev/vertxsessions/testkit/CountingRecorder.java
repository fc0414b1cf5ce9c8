package dev.vertxsessions.testkit;

import dev.vertxsessions.BackendRecorder;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link BackendRecorder} that keeps what a backend recorded, for a backend's own tests that start it outside a
 * middleware: {@code backend.start(recorder)}, then assert on {@link #sweeperDeletions()}, {@link #expired()}, ...
 * Thread-safe.
 */
public final class CountingRecorder implements BackendRecorder {

    private final AtomicLong loadsFromSaves = new AtomicLong();
    private final AtomicLong sweeperDeletions = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final List<String> expired = new CopyOnWriteArrayList<>();
    private final List<String> endedByLimit = new CopyOnWriteArrayList<>();

    @Override
    public void recordLoadFromSave() {
        loadsFromSaves.incrementAndGet();
    }

    @Override
    public void recordSweeperDeletions(long count) {
        sweeperDeletions.addAndGet(count);
    }

    @Override
    public void recordEviction() {
        evictions.incrementAndGet();
    }

    @Override
    public void reportExpired(String id, String principal) {
        expired.add(id);
    }

    @Override
    public void reportEndedByLimit(String id, String principal) {
        endedByLimit.add(id);
    }

    /** Returns how many loads the backend answered from a save in flight. */
    public long loadsFromSaves() {
        return loadsFromSaves.get();
    }

    /** Returns how many sessions the backend's sweeper deleted. */
    public long sweeperDeletions() {
        return sweeperDeletions.get();
    }

    /** Returns how many sessions the backend evicted to stay within its size limit. */
    public long evictions() {
        return evictions.get();
    }

    /** Returns the IDs of the sessions the backend reported expired, in order. */
    public List<String> expired() {
        return List.copyOf(expired);
    }

    /** Returns the IDs of the sessions the backend reported ended by {@code max_sessions_per_user}, in order. */
    public List<String> endedByLimit() {
        return List.copyOf(endedByLimit);
    }
}
