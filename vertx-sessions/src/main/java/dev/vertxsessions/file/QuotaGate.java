package dev.vertxsessions.file;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionRecord;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.time.Clock;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The store's side of the quota: asks {@link FileQuota} for room before a locked write changes a session file,
 * counts deletions and failed writes, and evicts a candidate the quota chose under its stripe lock, tried, never
 * waited for. Without limits it does nothing (and reads no file metadata).
 *
 * <p>Thread-safe. See {@code docs/file-backend.md}, "Quota".
 */
final class QuotaGate {

    /** Null without a limit. */
    private final FileQuota quota;

    private final FileQuota.Host host;
    private final SessionFileIO sessions;
    private final DirectoryLocks locks;
    private final Clock clock;
    private final Supplier<BackendRecorder> recorder;

    /**
     * Joins the quota of the directory of {@code files} when {@code limits} sets one; evictions run under
     * {@code locks}, on {@code workers} for background work.
     */
    QuotaGate(
            FileQuota.Limits limits,
            SafeFiles files,
            String prefix,
            SessionFileIO sessions,
            DirectoryLocks locks,
            WorkerExecutor workers,
            Clock clock,
            Supplier<BackendRecorder> recorder) {
        this.sessions = sessions;
        this.locks = locks;
        this.clock = clock;
        this.recorder = recorder;
        if (limits.maxSessions() < Long.MAX_VALUE || limits.maxBytes() < Long.MAX_VALUE) {
            this.quota = FileQuota.acquire(files.directory(), prefix, files.privateFile());
            this.host = new FileQuota.Host(workers, this::tryEvict, limits);
        } else {
            this.quota = null;
            this.host = null;
        }
    }

    /** Joins the directory's count; the quota's scan of the directory goes on in the background. */
    Future<Void> start() {
        return quota == null ? Future.succeededFuture() : quota.start(host);
    }

    /** Completes when the quota's start-up scan of the directory has ended, at once without a quota (for tests). */
    Future<Void> startupScan() {
        return quota == null ? Future.succeededFuture() : quota.startupScan();
    }

    /** Ends this store's use of the quota. */
    void release() {
        if (quota != null) {
            quota.release();
        }
    }

    /**
     * Asks the quota for room for a write that leaves the file of {@code id} {@code length} bytes long (the file of
     * {@code previousId}, when not null, deleted); the lengths before are counted lengths, -1 for no file. Returns
     * what was admitted, or null without a quota.
     */
    FileQuota.Change admit(
            String id, long before, long length, String previousId, long previousBefore, boolean anonymous)
            throws IOException {
        if (quota == null) {
            return null;
        }
        FileQuota.Change change = new FileQuota.Change(
                id, before, SessionFileLayout.countedLength(length), previousId, previousBefore, anonymous);
        quota.admit(change, host);
        return change;
    }

    /** Counts in the quota what a write that failed after its admission left. */
    void settle(FileQuota.Change change, Exception failure) {
        if (change == null) {
            return;
        }
        try {
            quota.settle(
                    change,
                    sessions.countedLength(change.id()),
                    change.previousId() == null ? -1 : sessions.countedLength(change.previousId()));
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /** Returns the counted length of the file of {@code id} (-1: none) with a quota; -1 without, reading nothing. */
    long countedLength(String id) throws IOException {
        return quota == null ? -1 : sessions.countedLength(id);
    }

    /** Deletes the file of {@code id} under its lock, counting it in the quota; returns whether there was one. */
    boolean deleteCounted(String id) throws IOException {
        long length = countedLength(id);
        boolean deleted = sessions.delete(id);
        if (deleted && length >= 0) {
            quota.deleted(id, length);
        }
        return deleted;
    }

    /**
     * Deletes the file of {@code victim} for the quota if it holds an anonymous or an expired session, under its
     * stripe lock if that is free now; never waits, so two writers evicting from each other's stripes cannot
     * deadlock. Returns the counted length deleted, or {@link FileQuota#KEPT} or {@link FileQuota#BUSY}.
     */
    private long tryEvict(String victim) throws IOException {
        return locks.tryWithLock(victim, () -> evict(victim), FileQuota.BUSY);
    }

    private long evict(String victim) throws IOException {
        long length = sessions.countedLength(victim);
        if (length < 0) {
            return FileQuota.GONE; // deleted meanwhile (and counted by whoever did), or not a regular file
        }
        // Read, not trusted from the index: another process may have promoted it, or a scan guessed wrong.
        StoredSession stored = sessions.read(victim);
        if (stored == null) {
            return FileQuota.KEPT; // not a session file: left alone, as the sweeper does
        }
        boolean expired = stored.expiresAt <= clock.millis();
        if (!expired && !isAnonymous(victim, stored.data)) {
            return FileQuota.KEPT;
        }
        if (!sessions.delete(victim)) {
            return FileQuota.GONE;
        }
        if (!expired) { // an expired one is only deleted early, as the sweeper would
            recorder.get().recordEviction();
        }
        return length;
    }

    /** Whether a session holding {@code data} is anonymous (never promoted), which the quota may evict. */
    static boolean isAnonymous(String id, Map<String, Object> data) {
        return new SessionRecord(id, data, 0, 0, null).isAnonymous();
    }
}
