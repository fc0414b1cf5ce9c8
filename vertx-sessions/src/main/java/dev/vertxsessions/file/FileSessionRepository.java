package dev.vertxsessions.file;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.SessionTooLargeException;
import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * The file backend's store: loads without a lock, and saves, updates and deletes as a read-merge-write of the
 * session file under its stripe lock (user locks first when the user index changes), on a dedicated worker pool.
 * It merges per key ({@link SessionChanges#applyTo}) and never brings back a session deleted meanwhile.
 *
 * <p>Thread-safe. The mechanism (slots, locks and their order, crash safety, quota, user index) is described in
 * {@code docs/file-backend.md}.
 */
final class FileSessionRepository {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");

    /** How long the near cache's marker may take through the directory watch before it counts as lost. */
    private static final long MARKER_TIMEOUT_MILLIS = 1000;

    /** What a write stored: the JSON, and the count of locked operations on its stripe right after it. */
    static final class Written {
        final byte[] json;
        final long stripeOperations;

        Written(byte[] json, long stripeOperations) {
            this.json = json;
            this.stripeOperations = stripeOperations;
        }
    }

    /**
     * What a locked write did: what it stored (null: nothing, the session was deleted meanwhile), or, with nothing
     * written, the principals whose locks it needs and did not hold, or the sessions of {@code principal} to end
     * first for the limit.
     */
    private record Outcome(Written written, Set<String> retryWith, List<String> endFirst, String principal) {

        static Outcome stored(Written written) {
            return new Outcome(written, null, List.of(), null);
        }
    }

    private final Path directory;
    private final String prefix;
    private final int maxSessionBytes;
    private final Clock clock;
    private final DirectoryLocks locks;
    private final WorkerExecutor workers;
    private final SessionFileIO sessions;
    private final QuotaGate quota;
    private final UserIndex users;
    private final SessionSweeper sweeper;

    private volatile BackendRecorder recorder = BackendRecorder.NONE;
    /** The near cache's channel, once the middleware asked for it; null without a near cache. */
    private volatile FileInvalidations invalidations;

    private final Vertx vertx;

    FileSessionRepository(Vertx vertx, FileSessionOptions options, Clock clock) {
        this.vertx = vertx;
        String prefix = options.getPrefix();
        this.maxSessionBytes = options.getMaxSessionBytes();
        this.clock = clock;
        Path directory = options.getDirectory();
        SafeFiles files;
        try {
            // Start-up only: a missing or unwritable directory is a misconfiguration, reported now.
            files = SafeFiles.open(directory, maxSessionBytes);
            this.directory = files.directory();
            this.locks = DirectoryLocks.acquire(this.directory, directory, files.privateFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "directory " + directory + " cannot be created or read (" + e
                            + "): fix its permissions or choose another directory",
                    e);
        }
        this.workers = vertx.createSharedWorkerExecutor("vertx-sessions-files", 16);
        this.prefix = prefix;
        this.sessions = new SessionFileIO(files, prefix, maxSessionBytes);
        FileQuota.Limits limits = new FileQuota.Limits(options.getMaxSessions(), options.getMaxBytes());
        try {
            this.quota = new QuotaGate(limits, files, prefix, sessions, locks, workers, clock, () -> recorder);
        } catch (RuntimeException e) {
            locks.release();
            workers.close();
            throw e;
        }
        this.users = new UserIndex(files, sessions, locks, quota, prefix, clock);
        this.sweeper = new SessionSweeper(vertx, workers, files, sessions, locks, quota, clock, () -> recorder);
        sweeper.every(options.getSweepInterval());
    }

    /**
     * Returns the near cache's channel: a watch of the directory, which must be local (checked here, at start-up),
     * and the saves of this process reported from inside their lock.
     */
    FileInvalidations invalidations() {
        FileInvalidations.requireLocal(directory);
        FileInvalidations created = new FileInvalidations(vertx, directory, sessions, workers, MARKER_TIMEOUT_MILLIS);
        invalidations = created;
        return created;
    }

    /** Counts the session files in the directory with a listing on the worker pool. */
    Future<Long> countSessions() {
        return onWorkers(() -> {
            long[] counted = {0};
            QuotaScan.list(directory, prefix, () -> false, batch -> {
                counted[0] += batch.size();
                batch.clear();
            });
            return counted[0];
        });
    }

    /** Reads a session file on the worker pool, without locking; null when the ID is malformed or there is none. */
    Future<StoredSession> read(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture(null);
        }
        return workers.executeBlocking(
                () -> {
                    try {
                        return sessions.read(id);
                    } catch (IOException e) {
                        IOException clean = SafeFiles.withoutFileName(e);
                        throw new SessionStoreUnavailableException(
                                "session file could not be read in " + directory + ": " + clean, clean);
                    }
                },
                false);
    }

    /**
     * Hands the store the middleware's counters and, with a quota, joins the directory's count; the quota's scan of
     * the directory goes on in the background.
     */
    Future<Void> start(BackendRecorder recorder) {
        this.recorder = recorder;
        return quota.start();
    }

    /** Completes when the quota's start-up scan of the directory has ended, at once without a quota (for tests). */
    Future<Void> startupScan() {
        return quota.startupScan();
    }

    /**
     * Throws {@link SessionTooLargeException} when the session as {@code changes} holds it needs a file larger than
     * {@code file_max_session_bytes}: before the response, so that it is not answered as if stored. A merge with
     * concurrent changes is checked again in the locked write. A session whose JSON has an upper bound within the
     * limit ({@link JsonValues#jsonBytesAtMost}) is not encoded here: encoding it was 6 % of a file counter request's
     * samples.
     */
    void checkSize(SessionChanges changes) {
        long bound = JsonValues.jsonBytesAtMost(changes.data());
        if (bound >= 0 && SessionFileLayout.fits(bound + StoredSession.FIELDS_BYTES_AT_MOST, maxSessionBytes)) {
            return;
        }
        SessionFileLayout.newSlotBytes(
                StoredSession.json(
                                changes.createdAtMillis(),
                                changes.expiresAtMillis(),
                                changes.perSessionExpiry(),
                                changes.data())
                        .length,
                maxSessionBytes);
    }

    /** Counts a load answered from what a save wrote, without reading the file. */
    void loadedFromSave() {
        recorder.recordLoadFromSave();
    }

    /** Returns the current time of the configured clock, in epoch milliseconds. */
    long now() {
        return clock.millis();
    }

    /**
     * Applies a request's changes to the session file under the lock and returns what is now stored; null when the
     * session was deleted meanwhile and the changes were dropped.
     */
    Future<Written> write(SessionChanges changes) {
        Future<Written> written = onWorkers(() -> writeIndexed(changes));
        return UserIndex.touchesUser(changes) ? users.tracked(written) : written;
    }

    /** Writes under the user locks a save needs (none when it changes neither the principal nor the ID). */
    private Written writeIndexed(SessionChanges changes) throws IOException {
        String source = changes.previousId() != null ? changes.previousId() : changes.id();
        if (!UserIndex.touchesUser(changes)) {
            return locks.withLock(source, () -> writeLocked(changes, source, null))
                    .written();
        }
        Set<String> guess = new TreeSet<>();
        if (changes.principal() != null) {
            guess.add(changes.principal());
        }
        while (true) {
            try (DirectoryLocks.UserLocks held = locks.lockUsers(guess)) {
                Callable<Outcome> write = () -> writeLocked(changes, source, held.principals);
                Outcome outcome = locks.withLock(source, write);
                // Over the limit nothing was written: end the sessions that expire first (each under its own lock,
                // not the source's), then write. Ends: each pass ends a live session, and none joins under our lock.
                while (!outcome.endFirst().isEmpty()) {
                    for (String victim : outcome.endFirst()) {
                        if (users.endSessionOf(outcome.principal(), victim)) {
                            recorder.reportEndedByLimit(victim, outcome.principal());
                        }
                    }
                    outcome = locks.withLock(source, write);
                }
                if (outcome.retryWith() != null) {
                    guess.addAll(outcome.retryWith());
                    continue;
                }
                return outcome.written();
            }
        }
    }

    /**
     * The locked part of a save; {@code lockedUsers} are the principals whose user locks are held, null when the save
     * does not touch the user index.
     */
    private Outcome writeLocked(SessionChanges changes, String source, Set<String> lockedUsers) throws IOException {
        try (SessionFileIO.Current current = sessions.openForWrite(source)) {
            if (current.stored == null && !changes.isNew()) {
                LOG.log(Level.DEBUG, "session was deleted while a request used it; its changes are dropped");
                return Outcome.stored(null);
            }
            String oldPrincipal = current.stored == null ? null : UserIndex.principalOf(current.stored.data);
            String previousVersion =
                    current.stored == null ? null : SessionInvalidations.versionOf(current.stored.data);
            LinkedHashMap<String, Object> data = current.stored == null ? new LinkedHashMap<>() : current.stored.data;
            changes.applyTo(data);
            long createdAt = current.stored == null ? changes.createdAtMillis() : current.stored.createdAt;
            byte[] json = StoredSession.json(createdAt, changes.expiresAtMillis(), changes.perSessionExpiry(), data);
            boolean promoted = !QuotaGate.isAnonymous(changes.id(), data);
            String newPrincipal = UserIndex.principalOf(data);
            boolean moved = changes.previousId() != null;
            boolean reindex = lockedUsers != null && (moved || !Objects.equals(oldPrincipal, newPrincipal));
            if (reindex) {
                Set<String> needed = new TreeSet<>();
                if (oldPrincipal != null) {
                    needed.add(oldPrincipal);
                }
                if (newPrincipal != null) {
                    needed.add(newPrincipal);
                }
                if (!lockedUsers.containsAll(needed)) {
                    return new Outcome(null, needed, List.of(), null); // a parallel request changed the user
                }
                if (newPrincipal != null && (moved || !newPrincipal.equals(oldPrincipal))) {
                    boolean joins = !newPrincipal.equals(oldPrincipal);
                    List<String> endFirst = users.add(newPrincipal, changes, source, joins);
                    if (!endFirst.isEmpty()) {
                        return new Outcome(null, null, endFirst, newPrincipal); // nothing written yet
                    }
                }
            }
            if (changes.previousId() != null) {
                long length = SessionFileLayout.length(
                        SessionFileLayout.newSlotBytes(json.length, maxSessionBytes), promoted);
                FileQuota.Change change = quota.admit(
                        changes.id(),
                        quota.countedLength(changes.id()), // a new ID: normally no file
                        length,
                        changes.previousId(),
                        current.countedLength(),
                        !promoted);
                try {
                    sessions.writeNewFile(changes.id(), 1, json, promoted);
                    sessions.delete(changes.previousId());
                } catch (IOException | RuntimeException e) {
                    quota.settle(change, e);
                    throw e;
                }
            } else {
                long sequence = writeNext(current, changes.id(), json, promoted);
                FileInvalidations channel = invalidations;
                if (channel != null) {
                    channel.saved(changes.id(), sequence, SessionInvalidations.versionOf(data), previousVersion);
                }
            }
            if (reindex && oldPrincipal != null && (moved || !oldPrincipal.equals(newPrincipal))) {
                users.rewrite(oldPrincipal, source); // after the write: the index never misses a session
            }
            Written written = new Written(json, locks.operations(changes.id()));
            return Outcome.stored(written);
        }
    }

    /**
     * Writes {@code json} as the next version of the open file, in place when it fits the free slot, else as a new
     * file, once the quota admitted it; returns the sequence number it wrote.
     */
    private long writeNext(SessionFileIO.Current current, String id, byte[] json, boolean promoted) throws IOException {
        SessionFileLayout.Version version = current.version;
        boolean inPlace = version != null && version.otherSlotFits(json);
        long length = SessionFileLayout.length(
                inPlace ? version.slotBytes : SessionFileLayout.newSlotBytes(json.length, maxSessionBytes), promoted);
        FileQuota.Change change = quota.admit(id, current.countedLength(), length, null, -1, !promoted);
        try {
            if (inPlace) {
                sessions.writeInPlace(current, json, promoted);
            } else {
                sessions.writeNewFile(id, version == null ? 1 : version.sequence + 1, json, promoted);
            }
        } catch (IOException | RuntimeException e) {
            quota.settle(change, e);
            throw e;
        }
        return version == null ? 1 : version.sequence + 1;
    }

    /** Returns the live sessions of {@code principal}, oldest expiry first, read without a lock. */
    Future<List<SessionInfo>> sessionsOf(String principal) {
        return users.afterChanges().compose(v -> onWorkers(() -> users.sessionsOf(principal)));
    }

    /** Deletes the sessions of {@code principal} except {@code exceptId} under its user lock; returns their IDs. */
    Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return users.afterChanges().compose(v -> onWorkers(() -> users.deleteSessionsOf(principal, exceptId)));
    }

    /** Applies {@code update} to one stored value under the lock and returns the new value. */
    Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        return locked(session.id(), () -> {
            try (SessionFileIO.Current current = sessions.openForWrite(session.id())) {
                StoredSession stored = current.stored;
                if (stored == null && !session.isNew()) {
                    throw new SessionException("session no longer exists (it was invalidated or expired); not updated");
                }
                LinkedHashMap<String, Object> data = stored == null ? new LinkedHashMap<>() : stored.data;
                Object value = update.apply(data.get(key));
                if (value == null) {
                    data.remove(key);
                } else {
                    data.put(key, value);
                }
                // The near cache's version names the data a save left: this write no longer matches it.
                data.remove(SessionInvalidations.VERSION_KEY);
                long createdAt = stored == null ? session.createdAtMillis() : stored.createdAt;
                Duration perSession = stored == null ? session.perSessionExpiry() : stored.perSessionExpiry;
                long expiresAt = stored == null
                        ? session.expiresAtMillis()
                        : Math.max(stored.expiresAt, session.expiresAtMillis());
                byte[] json = StoredSession.json(createdAt, expiresAt, perSession, data);
                writeNext(current, session.id(), json, !QuotaGate.isAnonymous(session.id(), data));
                return value;
            }
        });
    }

    /** Deletes a session file under the lock. */
    @SuppressWarnings("try") // the user lock is held for the whole block
    Future<Void> delete(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture();
        }
        return users.tracked(onWorkers(() -> {
                    StoredSession stored = sessions.read(id);
                    String principal = stored == null ? null : UserIndex.principalOf(stored.data);
                    if (principal == null) {
                        // A principal given to it meanwhile leaves an ID in that user's index that readers drop.
                        return locks.withLock(id, () -> quota.deleteCounted(id));
                    }
                    try (DirectoryLocks.UserLocks held = locks.lockUsers(Set.of(principal))) {
                        locks.withLock(id, () -> quota.deleteCounted(id));
                        users.rewrite(principal, id);
                    }
                    return null;
                }))
                .mapEmpty();
    }

    /** Deletes a session file if it is still expired when the lock is held. */
    Future<Void> deleteIfExpired(String id) {
        return locked(id, () -> {
            StoredSession current = sessions.read(id);
            if (current.expiresAt <= clock.millis()) {
                quota.deleteCounted(id);
            }
            return null;
        });
    }

    /** Deletes expired session files and stale temporary files; returns how many session files it deleted. */
    Future<Integer> sweep() {
        return sweeper.sweep();
    }

    Future<Void> close() {
        sweeper.stop();
        quota.release();
        locks.release();
        return workers.close();
    }

    /**
     * Whether {@code written} is still what the file of {@code id} holds, as far as this process can tell: no locked
     * operation of this process touched its stripe since. Writes by other processes sharing the directory are not
     * seen; to a request that checks this right after the write, they look as if they came a moment later.
     */
    boolean isLatest(String id, Written written) {
        return locks.operations(id) == written.stripeOperations;
    }

    /** Parses the JSON of a session file's version; content that is not a session reads as absent. */
    StoredSession parseJson(byte[] json) {
        return sessions.parseJson(json);
    }

    private <T> Future<T> locked(String id, Callable<T> work) {
        return onWorkers(() -> locks.withLock(id, work));
    }

    /** Runs {@code work} on the worker pool; an I/O failure fails it as the store being unavailable. */
    private <T> Future<T> onWorkers(Callable<T> work) {
        return workers.executeBlocking(
                () -> {
                    try {
                        return work.call();
                    } catch (IOException e) {
                        IOException clean = SafeFiles.withoutFileName(e);
                        throw new SessionStoreUnavailableException(
                                "session file could not be written in " + directory + ": " + clean, clean);
                    }
                },
                false);
    }
}
