package dev.vertxsessions.file;

import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The quota of a session directory ({@code file_max_sessions}, {@code file_max_bytes}): admits each write that adds
 * or grows a file, evicting the oldest anonymous sessions (never a promoted one) when a limit would be exceeded, and
 * keeps the directory's count ({@link SharedCount}) with the files, whichever processes share it; scans the directory
 * in the background at start-up and drains a surplus in the background.
 *
 * <p>Thread-safe; one instance per directory, prefix and JVM. See {@code docs/file-backend.md}, "Quota".
 */
@SuppressWarnings("try") // the file locks are held for their blocks and need no reference in them
final class FileQuota {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");
    /** What an evictor returns for a file that is not to be evicted: a promoted session, or not a session file. */
    static final long KEPT = -1;
    /** What an evictor returns for a file whose stripe is locked now: it stays a candidate. */
    static final long BUSY = -2;
    /** What an evictor returns for a file that is gone (or is no longer a regular file). */
    static final long GONE = -3;

    private static final int READS_PER_ADMISSION = 16;
    private static final int READS_PER_DRAIN_ROUND = 64;
    private static final long RESCAN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final ConcurrentHashMap<Path, FileQuota> SHARED = new ConcurrentHashMap<>();

    /** The limits of one store. */
    record Limits(long maxSessions, long maxBytes) {
        boolean fits(SharedCount.Counts counts) {
            return counts.sessions() <= maxSessions && counts.bytes() <= maxBytes;
        }
    }

    /** Deletes a session's file for an eviction if it holds an anonymous or expired session. */
    interface Evictor {
        /**
         * Returns the counted length of the file it deleted, {@link #KEPT} when the file is not to be evicted,
         * {@link #GONE} when there is none, or {@link #BUSY} when its stripe is locked now.
         */
        long tryEvict(String id) throws IOException;
    }

    /** What a store lends to the background work it starts: where it runs, how it evicts, up to which limits. */
    record Host(WorkerExecutor workers, Evictor evictor, Limits limits) {}

    /**
     * What a locked write does to the directory: the counted length of the file of {@code id} before and after it,
     * and of the file of {@code previousId} (a regenerate's source, deleted by the write) before it; -1 for no file.
     */
    record Change(String id, long before, long after, String previousId, long previousBefore, boolean anonymous) {
        long sessions() {
            return present(after) - present(before) - present(previousBefore);
        }

        long bytes() {
            return Math.max(after, 0) - Math.max(before, 0) - Math.max(previousBefore, 0);
        }
    }

    private final Path file;
    private final Path directory;
    private final String prefix;
    private final SharedCount count;
    private final ReentrantLock lock = new ReentrantLock();
    private final EvictionCandidates candidates = new EvictionCandidates();

    private final Promise<Void> startupScan = Promise.promise();
    private int users;
    private Future<Void> started;
    /** The scan running now, or null. */
    private QuotaScan scan;

    private long lastScanEnd = System.nanoTime() - RESCAN_INTERVAL_NANOS;
    private boolean draining;
    private volatile boolean closed;

    private FileQuota(Path file, Path directory, String prefix, FileAttribute<?>[] privateFile) throws IOException {
        this.file = file;
        this.directory = directory;
        this.prefix = prefix;
        this.count = new SharedCount(directory, prefix, privateFile);
    }

    /** Returns the quota of the files named {@code prefix + id} in {@code directory}, shared in this process. */
    static FileQuota acquire(Path directory, String prefix, FileAttribute<?>[] privateFile) {
        return SHARED.compute(directory.resolve(SharedCount.FILE_PREFIX + prefix), (path, shared) -> {
            try {
                FileQuota quota = shared != null ? shared : new FileQuota(path, directory, prefix, privateFile);
                quota.users++;
                return quota;
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "directory " + directory + ": cannot create the quota file " + path + " (" + e.getMessage()
                                + ")",
                        e);
            }
        });
    }

    /** Ends one store's use; the last one closes the count file and stops the background work. */
    void release() {
        SHARED.computeIfPresent(file, (path, shared) -> {
            if (--shared.users > 0) {
                return shared;
            }
            shared.closed = true;
            try {
                shared.count.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "quota file close failed: " + e);
            }
            return null;
        });
    }

    /**
     * Joins the directory's count and starts the scan of the directory in the background, once per process; the
     * returned Future does not wait for the scan.
     */
    Future<Void> start(Host host) {
        lock.lock();
        try {
            if (started == null) {
                started = host.workers()
                        .executeBlocking(
                                () -> {
                                    join(host);
                                    return null;
                                },
                                false);
            }
            return started;
        } finally {
            lock.unlock();
        }
    }

    /** Completes when the start-up scan has ended (for tests). */
    Future<Void> startupScan() {
        return startupScan.future();
    }

    private void join(Host host) throws IOException {
        lock.lock();
        try {
            boolean recount = count.join();
            try (FileLock held = count.lock()) {
                beginScan(recount, readCount(), true);
            }
        } finally {
            lock.unlock();
        }
        scanLater(host);
    }

    /**
     * Admits a locked write that changes the directory as {@code change} says, evicting the oldest candidates when
     * it would exceed a limit, and counts it. Throws {@link SessionStoreUnavailableException} when no eviction can
     * make room.
     */
    void admit(Change change, Host host) throws IOException {
        boolean over = false;
        lock.lock();
        try {
            long sessions = change.sessions();
            long bytes = change.bytes();
            if (sessions != 0 || bytes != 0) {
                try (FileLock held = count.lock()) {
                    SharedCount.Counts before = readCount();
                    SharedCount.Counts after =
                            new SharedCount.Counts(before.sessions() + sessions, before.bytes() + bytes);
                    if (sessions > 0 || bytes > 0) {
                        after = evict(after, host, READS_PER_ADMISSION, before, change.id(), change.previousId());
                        boolean noLarger = after.sessions() <= before.sessions() && after.bytes() <= before.bytes();
                        if (!host.limits().fits(after) && !noLarger && !(scan != null && scan.lenient)) {
                            count.write(new SharedCount.Counts(after.sessions() - sessions, after.bytes() - bytes));
                            rescanLater(host);
                            throw new SessionStoreUnavailableException(
                                    "session directory is full: "
                                            + (after.sessions() > host.limits().maxSessions()
                                                    ? "file_max_sessions"
                                                    : "file_max_bytes")
                                            + " is reached and no anonymous session is left to evict; raise the limit",
                                    null);
                        }
                    }
                    count.write(after);
                    over = !host.limits().fits(after);
                }
                counted(sessions, bytes);
            }
            touch(change.id(), change.after());
            if (change.previousId() != null) {
                touch(change.previousId(), -1);
                candidates.forget(change.previousId());
            }
            candidates.forget(change.id());
            candidates.unkeep(change.id());
            if (change.after() >= 0 && change.anonymous()) {
                candidates.remember(change.id(), System.currentTimeMillis());
            }
            if (over) {
                drainLater(host);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Counts a write that failed after its admission: {@code after} and {@code previousAfter} are the counted
     * lengths the files of {@code change} have now (-1: none).
     */
    void settle(Change change, long after, long previousAfter) throws IOException {
        Change happened = new Change(
                change.id(), change.before(), after, change.previousId(), change.previousBefore(), change.anonymous());
        long sessions = happened.sessions() - change.sessions() + present(previousAfter);
        long bytes = happened.bytes() - change.bytes() + Math.max(previousAfter, 0);
        lock.lock();
        try {
            if (sessions != 0 || bytes != 0) {
                try (FileLock held = count.lock()) {
                    SharedCount.Counts now = readCount();
                    count.write(new SharedCount.Counts(now.sessions() + sessions, now.bytes() + bytes));
                }
                counted(sessions, bytes);
            }
            touch(change.id(), after);
            if (after < 0) {
                candidates.forget(change.id());
            }
            if (change.previousId() != null) {
                touch(change.previousId(), previousAfter);
                if (previousAfter >= 0) {
                    candidates.remember(change.previousId(), System.currentTimeMillis()); // read before it is evicted
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Counts the deletion of the file of {@code id}, whose counted length was {@code length}. */
    void deleted(String id, long length) throws IOException {
        lock.lock();
        try {
            try (FileLock held = count.lock()) {
                SharedCount.Counts now = readCount();
                count.write(new SharedCount.Counts(now.sessions() - 1, now.bytes() - length));
            }
            counted(-1, -length);
            touch(id, -1);
            candidates.forget(id);
            candidates.unkeep(id);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Evicts the oldest candidates, except {@code spared} and {@code alsoSpared}, while {@code counts} exceeds the
     * limits and, when {@code floor} is not null, exceeds {@code floor}; reads at most {@code reads} of them. Returns
     * the counts after the evictions. Under both locks.
     */
    private SharedCount.Counts evict(
            SharedCount.Counts counts, Host host, int reads, SharedCount.Counts floor, String spared, String alsoSpared)
            throws IOException {
        long sessions = counts.sessions();
        long bytes = counts.bytes();
        int read = 0;
        Iterator<String> oldest = candidates.oldestFirst();
        while (read < reads && oldest.hasNext()) {
            SharedCount.Counts now = new SharedCount.Counts(sessions, bytes);
            if (host.limits().fits(now) || (floor != null && sessions <= floor.sessions() && bytes <= floor.bytes())) {
                break;
            }
            String victim = oldest.next();
            if (victim.equals(spared) || victim.equals(alsoSpared)) {
                continue;
            }
            read++;
            long length;
            try {
                length = host.evictor().tryEvict(victim);
            } catch (IOException e) {
                length = KEPT; // unreadable (a directory put in its place): not ours to delete
            }
            if (length == BUSY) {
                continue;
            }
            oldest.remove();
            if (length == KEPT) {
                candidates.keep(victim);
            } else if (length >= 0) {
                sessions--;
                bytes -= length;
                counted(-1, -length);
                touch(victim, -1);
            }
        }
        return new SharedCount.Counts(sessions, bytes);
    }

    /** Starts evicting the surplus in the background, unless that runs already or a scan will start it. Under lock. */
    private void drainLater(Host host) {
        if (draining || scan != null || closed) {
            return;
        }
        draining = true;
        inBackground(host, "evicting the surplus in", () -> drain(host), e -> draining = false);
    }

    private void drain(Host host) throws IOException {
        while (true) {
            lock.lock();
            try (FileLock held = count.lock()) {
                int before = candidates.size();
                SharedCount.Counts now = readCount();
                SharedCount.Counts after = evict(now, host, READS_PER_DRAIN_ROUND, null, null, null);
                if (!after.equals(now)) {
                    count.write(after);
                }
                if (closed || host.limits().fits(after) || candidates.size() == before) {
                    draining = false; // done, or nothing left to try now: the next admission over the limit retries
                    return;
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** Starts a scan for files other processes wrote, at most every 10 s. Under lock. */
    private void rescanLater(Host host) {
        if (scan != null || closed || System.nanoTime() - lastScanEnd < RESCAN_INTERVAL_NANOS) {
            return;
        }
        beginScan(false, null, false);
        scanLater(host);
    }

    private void beginScan(boolean recount, SharedCount.Counts base, boolean startup) {
        scan = new QuotaScan(recount, base, startup);
    }

    private void scanLater(Host host) {
        QuotaScan current = scan;
        inBackground(host, "the scan of", () -> scan(host, current), e -> {
            endScan();
            startupScan.tryFail(e);
        });
    }

    /** A piece of background work. */
    private interface Work {
        void run() throws IOException;
    }

    /**
     * Runs {@code work} on the host's worker pool; when it fails, logs it (unless the quota is closed) and runs
     * {@code failed} under the lock.
     */
    private void inBackground(Host host, String what, Work work, Consumer<Throwable> failed) {
        host.workers()
                .executeBlocking(
                        () -> {
                            work.run();
                            return null;
                        },
                        false)
                .onFailure(e -> {
                    if (!closed) {
                        LOG.log(Level.WARNING, "session quota: " + what + " " + directory + " failed: " + e);
                    }
                    lock.lock();
                    try {
                        failed.accept(e);
                    } finally {
                        lock.unlock();
                    }
                });
    }

    /** Lists the directory, lstat only; adds the files it finds as candidates and, when recounting, counts them. */
    private void scan(Host host, QuotaScan current) throws IOException {
        if (QuotaScan.list(directory, prefix, () -> closed, batch -> found(batch, current))) {
            finishScan(host, current);
        }
    }

    /** Takes a batch of files a scan found, and empties it. */
    private void found(List<QuotaScan.Found> batch, QuotaScan current) {
        lock.lock();
        try {
            for (QuotaScan.Found found : batch) {
                if (!current.found(found)
                        && candidates.isNew(found.id())
                        && !SessionFileLayout.isMarkedPromoted(found.length())) {
                    candidates.remember(found.id(), found.modified());
                }
            }
        } finally {
            lock.unlock();
        }
        batch.clear();
    }

    private void finishScan(Host host, QuotaScan current) throws IOException {
        lock.lock();
        try (FileLock held = count.lock()) {
            SharedCount.Counts now = readCount();
            if (current.recount) {
                now = current.recounted(now);
                count.write(now);
            }
            endScan();
            if (!host.limits().fits(now)) {
                drainLater(host);
            }
        } finally {
            lock.unlock();
        }
        startupScan.tryComplete();
    }

    private void endScan() {
        scan = null;
        lastScanEnd = System.nanoTime();
    }

    private SharedCount.Counts readCount() throws IOException {
        SharedCount.Counts counts = count.read();
        return counts != null ? counts : new SharedCount.Counts(0, 0); // overwritten by hand: the next start recounts
    }

    private void counted(long sessions, long bytes) {
        if (scan != null) {
            scan.counted(sessions, bytes);
        }
    }

    private void touch(String id, long length) {
        if (scan != null) {
            scan.touch(id, length);
        }
    }

    /** Returns 1 for a counted length that stands for a file, 0 for -1 (none). */
    static long present(long length) {
        return length >= 0 ? 1 : 0;
    }
}
