package dev.vertxsessions.file;

import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.SessionTooLargeException;
import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

/*
 * How the file backend keeps concurrent requests from losing data.
 *
 * Reads take no lock: a session file has two slots (SessionFileLayout), a write fills the slot that does not hold
 * the current version, and a reader takes the newest slot whose checksum holds, so it sees the old or the new
 * complete version. A version that outgrows its slot is written to a temporary file in the same directory that is
 * renamed over the session file (an atomic replace on POSIX file systems); new sessions are created the same way.
 *
 * Writes are read-merge-write under a lock: the request's own changes (keys put, keys removed, a clear) are
 * applied to the file as it is now, not to the copy the request loaded, so two requests that change different
 * keys both keep their change. The lock is striped by session ID over 1024 stripes and has two levels: a
 * ReentrantLock per stripe inside this JVM (shared by every store on the same directory), and an OS byte-range
 * lock (FileChannel.lock) on byte <stripe> of the directory's ".vertx-sessions.lock" file, which other processes
 * sharing the directory respect. Vert.x's FileSystem has no locks, so locked work runs on a dedicated worker
 * pool (never on an event loop).
 *
 * No resurrection: a save of a session that was loaded from the store only applies if the file still exists; a
 * logout or regenerate that deleted it wins over a slow request that finishes later.
 *
 * Private files: the directory is created 0700 and every file (session, temporary, lock) 0600. The mode is given to
 * the call that creates the file, not set afterwards, so no file is readable by others even for a moment; the umask
 * can only remove bits from it. A directory that already exists keeps its mode (the operator chose it, and this
 * class changes nothing it did not create); processes sharing a directory must run as the same user. File systems
 * without POSIX permissions get their defaults.
 *
 * A hostile directory: whoever can create entries in the directory can delete sessions, but must not make this
 * class hang, fill the heap, serve a file from elsewhere or create one elsewhere. An entry is opened only when
 * lstat says it is a regular file of at most file_max_session_bytes (1 MiB by default), opened with NOFOLLOW_LINKS,
 * and read only when what was opened (fstat through the channel) is within that limit too, in the reads, the writes,
 * the sweeper and the quota's evictions alike. Links, FIFOs, devices and oversize files read as absent (a write
 * replaces them by a rename, the sweeper leaves them); a directory fails, as before, since no rename can replace
 * it. Java cannot open with O_NONBLOCK, so a FIFO swapped in between the check and a read's open blocks that one
 * worker thread until someone writes to it: an accepted race, which only who can already delete every session can
 * win, at the cost of one thread per win. Writes open read-write, which does not block on a FIFO (Linux). Reads run
 * these checks on the store's worker pool, no longer through Vert.x's readFile, which follows links and has no size
 * limit; they still take no lock, but share the pool's threads with locked writes. A lock file (or quota file) that
 * is not a regular file fails start-up: opened through a link, it would create or lock a file elsewhere.
 *
 * Size: a save whose session needs a file larger than file_max_session_bytes fails with SessionTooLargeException,
 * at once when the session as the request holds it is too large (checkSize, before the response), else in the
 * locked write, before anything is written.
 *
 * Quota (file_max_sessions, file_max_bytes): a locked write that changes the directory's files first asks FileQuota
 * for room (admit), which may evict the oldest anonymous sessions under their own stripe locks (tryLock, never
 * waiting), and deletions are counted there too; FileQuota's design note explains it. A session file's length tells
 * a promoted session from an anonymous one (SessionFileLayout), so every write sets or clears that mark.
 */
final class FileSessionStore {

    private static final System.Logger LOG = System.getLogger(FileSessionStore.class.getName());
    private static final int STRIPES = 1024;
    private static final String LOCK_FILE = ".vertx-sessions.lock";
    private static final String TEMP_PREFIX = ".tmp-";
    private static final Duration TEMP_FILE_MAX_AGE = Duration.ofMinutes(1);
    /** Bytes per read or write call: the JDK copies a heap buffer into a direct buffer of its size, cached per thread. */
    private static final int IO_CHUNK_BYTES = 1 << 16;

    private static final Set<OpenOption> CREATE_TEMP = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    // READ with WRITE: a FIFO swapped in for the lock file since the check is opened without blocking (Linux).
    private static final Set<OpenOption> OPEN_LOCK = Set.of(
            StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    private static final ConcurrentHashMap<Path, SharedLock> LOCKS = new ConcurrentHashMap<>();

    /** The lock state of one directory, shared by every store of this JVM that uses it. */
    private static final class SharedLock {
        final FileChannel channel;
        final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
        /** Locked operations per stripe: tells whether a session's file may have changed since this process wrote it. */
        final AtomicLongArray operations = new AtomicLongArray(STRIPES);

        int users;

        SharedLock(Path lockFile, FileAttribute<?>[] privateFile) throws IOException {
            try {
                if (!Files.readAttributes(lockFile, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                        .isRegularFile()) {
                    throw new IllegalArgumentException("directory " + lockFile.getParent() + ": " + LOCK_FILE
                            + " is not a regular file; remove it");
                }
            } catch (NoSuchFileException e) {
                // created below; a link put there meanwhile fails the open (NOFOLLOW_LINKS) instead of being followed
            }
            channel = FileChannel.open(lockFile, OPEN_LOCK, privateFile);
            for (int i = 0; i < STRIPES; i++) {
                stripes[i] = new ReentrantLock();
            }
        }
    }

    /** A session file's content. */
    static final class Stored {
        final long createdAt;
        final long expiresAt;
        final Duration perSessionExpiry;
        final LinkedHashMap<String, Object> data;

        Stored(long createdAt, long expiresAt, Duration perSessionExpiry, LinkedHashMap<String, Object> data) {
            this.createdAt = createdAt;
            this.expiresAt = expiresAt;
            this.perSessionExpiry = perSessionExpiry;
            this.data = data;
        }
    }

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
     * A session file opened for a locked write: its current content (null when absent) and where it is, and the
     * length of the regular file its name holds (-1 for none), opened or not.
     */
    private static final class Current implements AutoCloseable {
        final FileChannel channel;
        final SessionFileLayout.Version version;
        final Stored stored;
        final long length;

        Current(FileChannel channel, SessionFileLayout.Version version, Stored stored, long length) {
            this.channel = channel;
            this.version = version;
            this.stored = stored;
            this.length = length;
        }

        /** Returns the length the quota counts for the file, or -1 when there is none. */
        long countedLength() {
            return length < 0 ? -1 : SessionFileLayout.countedLength(length);
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                channel.close();
            }
        }
    }

    private final Vertx vertx;
    private final Path directory;
    /** Mode 0600 at creation, or nothing on a file system without POSIX permissions. */
    private final FileAttribute<?>[] privateFile;

    private final Path lockPath;
    private final String prefix;
    private final int maxSessionBytes;
    private final Clock clock;
    private final SharedLock lock;
    private final WorkerExecutor workers;
    /** Null without a limit. */
    private final FileQuota quota;

    private final FileQuota.Host quotaHost;
    private final AtomicBoolean sweeping = new AtomicBoolean();
    private volatile SessionMetrics metrics;
    private final long sweeperTimer;

    FileSessionStore(Vertx vertx, FileSessionOptions options, Clock clock) {
        this.vertx = vertx;
        this.prefix = options.getPrefix();
        this.maxSessionBytes = options.getMaxSessionBytes();
        this.clock = clock;
        Path directory = options.getDirectory();
        boolean posix = directory.getFileSystem().supportedFileAttributeViews().contains("posix");
        this.privateFile = posix
                ? new FileAttribute<?>[] {
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
                }
                : new FileAttribute<?>[0];
        try {
            // Start-up only: a missing or unwritable directory is a misconfiguration, reported now.
            createDirectory(directory, posix);
            this.directory = directory.toRealPath();
            if (!Files.isWritable(this.directory)) {
                throw new IllegalArgumentException("directory " + this.directory
                        + " is not writable by this process: fix " + "its permissions or choose another directory");
            }
            this.lockPath = this.directory.resolve(LOCK_FILE);
            this.lock = LOCKS.compute(lockPath, (path, shared) -> {
                try {
                    SharedLock result = shared != null ? shared : new SharedLock(path, privateFile);
                    result.users++;
                    return result;
                } catch (IOException e) {
                    throw new IllegalArgumentException(
                            "directory " + directory + ": cannot create the lock file " + path + " (" + e.getMessage()
                                    + ")",
                            e);
                }
            });
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "directory " + directory + " cannot be created or read (" + e
                            + "): fix its permissions or choose another directory",
                    e);
        }
        this.workers = vertx.createSharedWorkerExecutor("vertx-sessions-files", 16);
        FileQuota.Limits limits = new FileQuota.Limits(options.getMaxSessions(), options.getMaxBytes());
        if (limits.maxSessions() < Long.MAX_VALUE || limits.maxBytes() < Long.MAX_VALUE) {
            try {
                this.quota = FileQuota.acquire(this.directory, prefix, privateFile);
            } catch (RuntimeException e) {
                releaseLock();
                workers.close();
                throw e;
            }
            this.quotaHost = new FileQuota.Host(workers, this::tryEvict, limits);
        } else {
            this.quota = null;
            this.quotaHost = null;
        }
        Duration sweepInterval = options.getSweepInterval();
        this.sweeperTimer = sweepInterval.isZero() ? -1 : vertx.setPeriodic(sweepInterval.toMillis(), id -> sweep());
    }

    /**
     * Creates the session directory with mode 0700, its missing parents with the defaults. An existing directory is
     * left as it is, mode included.
     */
    private static void createDirectory(Path directory, boolean posix) throws IOException {
        Path absolute = directory.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            return; // also through a link to a directory, as before
        }
        if (absolute.getParent() != null) {
            Files.createDirectories(absolute.getParent());
        }
        try {
            Files.createDirectory(
                    absolute,
                    posix
                            ? new FileAttribute<?>[] {
                                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))
                            }
                            : new FileAttribute<?>[0]);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(absolute)) {
                throw e;
            }
            // created meanwhile by another process: its mode is its creator's
        }
    }

    /** Reads a session file on the worker pool, without locking; null when the ID is malformed or there is none. */
    Future<Stored> read(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture(null);
        }
        return workers.executeBlocking(
                () -> {
                    try {
                        return readNow(id);
                    } catch (IOException e) {
                        IOException clean = withoutFileName(e);
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
    Future<Void> start(SessionMetrics metrics) {
        this.metrics = metrics;
        return quota == null ? Future.succeededFuture() : quota.start(quotaHost);
    }

    /** Completes when the quota's start-up scan of the directory has ended, at once without a quota (for tests). */
    Future<Void> startupScan() {
        return quota == null ? Future.succeededFuture() : quota.startupScan();
    }

    /**
     * Throws {@link SessionTooLargeException} when the session as {@code changes} holds it needs a file larger than
     * {@code file_max_session_bytes}: before the response, so that it is not answered as if stored. A merge with
     * concurrent changes is checked again in the locked write.
     */
    void checkSize(SessionChanges changes) {
        SessionFileLayout.newSlotBytes(
                json(changes.createdAtMillis(), changes.expiresAtMillis(), changes.perSessionExpiry(), changes.data())
                        .length,
                maxSessionBytes);
    }

    /** Counts a load answered from what a save wrote, without reading the file. */
    void loadedFromSave() {
        SessionMetrics current = metrics;
        if (current != null) {
            current.recordLoadFromSave();
        }
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
        String source = changes.previousId() != null ? changes.previousId() : changes.id();
        return locked(source, () -> {
            try (Current current = openForWrite(source)) {
                if (current.stored == null && !changes.isNew()) {
                    LOG.log(Level.DEBUG, "session was deleted while a request used it; its changes are dropped");
                    return null;
                }
                LinkedHashMap<String, Object> data =
                        current.stored == null ? new LinkedHashMap<>() : current.stored.data;
                if (changes.cleared()) {
                    data.keySet().retainAll(changes.data().keySet());
                }
                for (String key : changes.removed()) {
                    data.remove(key);
                }
                data.putAll(changes.changed());
                long createdAt = current.stored == null ? changes.createdAtMillis() : current.stored.createdAt;
                byte[] json = json(createdAt, changes.expiresAtMillis(), changes.perSessionExpiry(), data);
                boolean promoted = !isAnonymous(changes.id(), data);
                if (changes.previousId() != null) {
                    long length = SessionFileLayout.length(
                            SessionFileLayout.newSlotBytes(json.length, maxSessionBytes), promoted);
                    FileQuota.Change change = admit(
                            changes.id(),
                            quota == null ? -1 : countedLength(changes.id()), // a new ID: normally no file
                            length,
                            changes.previousId(),
                            current.countedLength(),
                            !promoted);
                    try {
                        writeNewFile(changes.id(), 1, json, promoted);
                        Files.deleteIfExists(pathOf(changes.previousId()));
                    } catch (IOException | RuntimeException e) {
                        settle(change, e);
                        throw e;
                    }
                } else {
                    writeNext(current, changes.id(), json, promoted);
                }
                return new Written(json, lock.operations.get(stripe(changes.id())));
            }
        });
    }

    /** Applies {@code update} to one stored value under the lock and returns the new value. */
    Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        return locked(session.id(), () -> {
            try (Current current = openForWrite(session.id())) {
                Stored stored = current.stored;
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
                long createdAt = stored == null ? session.createdAtMillis() : stored.createdAt;
                Duration perSession = stored == null ? session.perSessionExpiry() : stored.perSessionExpiry;
                long expiresAt = stored == null
                        ? session.expiresAtMillis()
                        : Math.max(stored.expiresAt, session.expiresAtMillis());
                byte[] json = json(createdAt, expiresAt, perSession, data);
                writeNext(current, session.id(), json, !isAnonymous(session.id(), data));
                return value;
            }
        });
    }

    /** Deletes a session file under the lock. */
    Future<Void> delete(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture();
        }
        return locked(id, () -> {
            deleteCounted(id);
            return null;
        });
    }

    /** Deletes a session file if it is still expired when the lock is held. */
    Future<Void> deleteIfExpired(String id) {
        return locked(id, () -> {
            Stored current = readNow(id);
            if (current != null && current.expiresAt <= clock.millis()) {
                deleteCounted(id);
            }
            return null;
        });
    }

    /** Deletes expired session files and stale temporary files; returns how many session files it deleted. */
    Future<Integer> sweep() {
        if (!sweeping.compareAndSet(false, true)) {
            return Future.succeededFuture(0);
        }
        return workers.<Integer>executeBlocking(this::sweepNow, false)
                .andThen(ar -> sweeping.set(false))
                .onFailure(e -> LOG.log(
                        Level.WARNING,
                        "session sweeper failed in " + directory + ": "
                                + (e instanceof IOException ? withoutFileName(e) : e)));
    }

    Future<Void> close() {
        if (sweeperTimer >= 0) {
            vertx.cancelTimer(sweeperTimer);
        }
        if (quota != null) {
            quota.release();
        }
        releaseLock();
        return workers.close();
    }

    private void releaseLock() {
        LOCKS.computeIfPresent(lockPath, (path, shared) -> {
            if (--shared.users > 0) {
                return shared;
            }
            try {
                shared.channel.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "lock file close failed: " + e);
            }
            return null;
        });
    }

    private int sweepNow() throws IOException {
        int deleted = 0;
        int skipped = 0;
        IOException firstFailure = null;
        long now = clock.millis();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path file : files) {
                try {
                    if (sweepOne(file, now)) {
                        deleted++;
                    }
                } catch (NoSuchFileException e) {
                    // gone since it was listed: renamed over or deleted by a request
                } catch (IOException e) {
                    // One entry this process cannot read (wrong owner, a directory) must not stop the sweep.
                    skipped++;
                    firstFailure = firstFailure == null ? e : firstFailure;
                }
            }
        }
        if (skipped > 0) {
            LOG.log(
                    Level.WARNING,
                    "session sweeper skipped " + skipped + " entries it could not read in " + directory + ", e.g. "
                            + withoutFileName(firstFailure));
        }
        SessionMetrics current = metrics;
        if (current != null && deleted > 0) {
            current.recordSweeperDeletions(deleted);
        }
        return deleted;
    }

    /** Deletes {@code file} if it is a stale temporary file or an expired session; returns whether it was a session. */
    private boolean sweepOne(Path file, long now) throws IOException {
        String name = file.getFileName().toString();
        if (name.startsWith(TEMP_PREFIX)) {
            // Only a regular file can be ours; the time is the entry's own, not that of a file a link names.
            BasicFileAttributes attributes =
                    Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (attributes.isRegularFile()
                    && attributes.lastModifiedTime().toMillis()
                            < System.currentTimeMillis() - TEMP_FILE_MAX_AGE.toMillis()) {
                Files.deleteIfExists(file); // left by a crash between write and rename
            }
            return false;
        }
        String id = sessionIdOf(name);
        if (id == null) {
            return false;
        }
        Stored stored = readNow(id);
        if (stored == null || stored.expiresAt > now) {
            return false; // absent, not a session file (these are left alone), or alive
        }
        return withLock(id, () -> {
            Stored again = readNow(id);
            return again != null && again.expiresAt <= clock.millis() && deleteCounted(id);
        });
    }

    private <T> Future<T> locked(String id, Callable<T> work) {
        return workers.executeBlocking(
                () -> {
                    try {
                        return withLock(id, work);
                    } catch (IOException e) {
                        IOException clean = withoutFileName(e);
                        throw new SessionStoreUnavailableException(
                                "session file could not be written in " + directory + ": " + clean, clean);
                    }
                },
                false);
    }

    /**
     * Writes {@code json} as the next version of the open file, in place when it fits the free slot, else as a new
     * file, once the quota admitted it.
     */
    private void writeNext(Current current, String id, byte[] json, boolean promoted) throws IOException {
        SessionFileLayout.Version version = current.version;
        boolean inPlace = version != null && version.otherSlotFits(json);
        long length = SessionFileLayout.length(
                inPlace ? version.slotBytes : SessionFileLayout.newSlotBytes(json.length, maxSessionBytes), promoted);
        FileQuota.Change change = admit(id, current.countedLength(), length, null, -1, !promoted);
        try {
            if (inPlace) {
                writeInPlace(current, json, promoted);
            } else {
                writeNewFile(id, version == null ? 1 : version.sequence + 1, json, promoted);
            }
        } catch (IOException | RuntimeException e) {
            settle(change, e);
            throw e;
        }
    }

    /**
     * Asks the quota for room for a write that leaves the file of {@code id} {@code length} bytes long (the file of
     * {@code previousId}, when not null, deleted); the lengths before are counted lengths, -1 for no file. Returns
     * what was admitted, or null without a quota.
     */
    private FileQuota.Change admit(
            String id, long before, long length, String previousId, long previousBefore, boolean anonymous)
            throws IOException {
        if (quota == null) {
            return null;
        }
        FileQuota.Change change = new FileQuota.Change(
                id, before, SessionFileLayout.countedLength(length), previousId, previousBefore, anonymous);
        quota.admit(change, quotaHost);
        return change;
    }

    /** Counts in the quota what a write that failed after its admission left. */
    private void settle(FileQuota.Change change, Exception failure) {
        if (change == null) {
            return;
        }
        try {
            quota.settle(
                    change,
                    countedLength(change.id()),
                    change.previousId() == null ? -1 : countedLength(change.previousId()));
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /** Deletes the file of {@code id} under its lock, counting it in the quota; returns whether there was one. */
    private boolean deleteCounted(String id) throws IOException {
        long length = quota == null ? -1 : countedLength(id);
        boolean deleted = Files.deleteIfExists(pathOf(id));
        if (deleted && length >= 0) {
            quota.deleted(id, length);
        }
        return deleted;
    }

    /** Returns the length the quota counts for the file of {@code id}, or -1 when it is not a regular file. */
    private long countedLength(String id) throws IOException {
        BasicFileAttributes entry = entry(pathOf(id));
        return entry == null || !entry.isRegularFile() ? -1 : SessionFileLayout.countedLength(entry.size());
    }

    private static boolean isAnonymous(String id, Map<String, Object> data) {
        return new SessionRecord(id, data, 0, 0, null).isAnonymous();
    }

    /**
     * Deletes the file of {@code victim} for the quota if it holds an anonymous or an expired session, under its
     * stripe lock if that is free now; never waits, so two writers evicting from each other's stripes cannot
     * deadlock. Returns the counted length deleted, or {@link FileQuota#KEPT} or {@link FileQuota#BUSY}.
     */
    private long tryEvict(String victim) throws IOException {
        int stripe = stripe(victim);
        ReentrantLock local = lock.stripes[stripe];
        if (local.isHeldByCurrentThread()) {
            return evict(victim, stripe); // the writer's own stripe: its file lock is held already
        }
        if (!local.tryLock()) {
            return FileQuota.BUSY;
        }
        try (FileLock held = lock.channel.tryLock(stripe, 1, false)) {
            return held == null ? FileQuota.BUSY : evict(victim, stripe);
        } finally {
            local.unlock();
        }
    }

    private long evict(String victim, int stripe) throws IOException {
        lock.operations.incrementAndGet(stripe);
        long length = countedLength(victim);
        if (length < 0) {
            return FileQuota.GONE; // deleted meanwhile (and counted by whoever did), or not a regular file
        }
        // Read, not trusted from the index: another process may have promoted it, or a scan guessed wrong.
        Stored stored = readNow(victim);
        if (stored == null) {
            return FileQuota.KEPT; // not a session file: left alone, as the sweeper does
        }
        boolean expired = stored.expiresAt <= clock.millis();
        if (!expired && !isAnonymous(victim, stored.data)) {
            return FileQuota.KEPT;
        }
        if (!Files.deleteIfExists(pathOf(victim))) {
            return FileQuota.GONE;
        }
        SessionMetrics current = metrics;
        if (current != null && !expired) { // an expired one is only deleted early, as the sweeper would
            current.recordEviction();
        }
        return length;
    }

    /**
     * Whether {@code written} is still what the file of {@code id} holds, as far as this process can tell: no locked
     * operation of this process touched its stripe since. Writes by other processes sharing the directory are not
     * seen; to a request that checks this right after the write, they look as if they came a moment later.
     */
    boolean isLatest(String id, Written written) {
        return lock.operations.get(stripe(id)) == written.stripeOperations;
    }

    private static int stripe(String id) {
        return Math.floorMod(id.hashCode(), STRIPES);
    }

    @SuppressWarnings("try") // the file lock is held for the whole block and needs no reference in it
    private <T> T withLock(String id, Callable<T> work) throws IOException {
        int stripe = stripe(id);
        ReentrantLock local = lock.stripes[stripe];
        local.lock();
        try (FileLock ignored = lock.channel.lock(stripe, 1, false)) {
            lock.operations.incrementAndGet(stripe);
            return work.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new SessionException("session file operation failed", e);
        } finally {
            local.unlock();
        }
    }

    /** Reads a session file now, on the calling thread; null when there is none or the entry is not a session file. */
    private Stored readNow(String id) throws IOException {
        Path file = pathOf(id);
        if (!isReadable(entry(file))) {
            return null;
        }
        byte[] content;
        // Never through a symbolic link, not even one put there since the check: the open fails instead.
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            content = readAll(channel);
        } catch (NoSuchFileException e) {
            return null;
        }
        return content == null ? null : parse(content);
    }

    /**
     * Returns the attributes of {@code file}, without following a link, or null when there is no such entry; throws
     * for a directory, as no rename can replace it.
     */
    private static BasicFileAttributes entry(Path file) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (attributes.isDirectory()) {
            throw new IOException("a directory has the name of a session file");
        }
        return attributes;
    }

    /**
     * Whether an entry may be opened as a session file: a regular file of at most {@code file_max_session_bytes}.
     * Anything else reads as absent, and a write replaces it by a rename.
     */
    private boolean isReadable(BasicFileAttributes entry) {
        if (entry == null) {
            return false;
        }
        if (!entry.isRegularFile() || entry.size() > maxSessionBytes) {
            // Not opened at all: opening a FIFO for reading blocks until a writer comes.
            LOG.log(
                    Level.DEBUG,
                    "an entry in " + directory + " that is not a regular file or larger than file_max_session_bytes"
                            + " reads as absent");
            return false;
        }
        return true;
    }

    /**
     * Returns the content of an open session file, or null when it is larger than {@code file_max_session_bytes} or
     * shrinks while read. The size is that of what was opened, so the read is bounded whatever the name meant at the
     * check.
     */
    private byte[] readAll(FileChannel channel) throws IOException {
        long size = channel.size();
        if (size > maxSessionBytes) {
            return null;
        }
        byte[] content = new byte[(int) size];
        int filled = 0;
        while (filled < content.length) {
            int read = channel.read(
                    ByteBuffer.wrap(content, filled, Math.min(IO_CHUNK_BYTES, content.length - filled)), filled);
            if (read <= 0) {
                return null; // shrank: not a session file of ours
            }
            filled += read;
        }
        return content;
    }

    /**
     * Opens a session file for reading and writing in place; a missing entry, or one that is not a session file,
     * gives a {@link Current} without content, so the write replaces it by a rename.
     */
    private Current openForWrite(String id) throws IOException {
        Path file = pathOf(id);
        BasicFileAttributes entry = entry(file);
        if (!isReadable(entry)) {
            return new Current(null, null, null, entry != null && entry.isRegularFile() ? entry.size() : -1);
        }
        FileChannel channel;
        try {
            // Never through a symbolic link: a write in place would land in whatever file the link names.
            channel = FileChannel.open(
                    file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return new Current(null, null, null, -1);
        }
        try {
            byte[] content = readAll(channel);
            SessionFileLayout.Version version = content == null ? null : SessionFileLayout.read(content);
            return new Current(channel, version, version == null ? null : parseJson(version.json), channel.size());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Writes {@code json} as the next version of the open file into its free slot, and sets or clears the mark of a
     * promoted session after the slots.
     */
    private void writeInPlace(Current current, byte[] json, boolean promoted) throws IOException {
        SessionFileLayout.Version version = current.version;
        ByteBuffer slot = SessionFileLayout.slot(version.sequence + 1, json);
        long offset = version.otherSlotOffset();
        while (slot.hasRemaining()) {
            offset += current.channel.write(slot, offset);
        }
        long slots = SessionFileLayout.length(version.slotBytes, false);
        if (current.length != SessionFileLayout.length(version.slotBytes, promoted)) {
            if (promoted) {
                current.channel.write(SessionFileLayout.promotedMark(), slots);
            } else {
                current.channel.truncate(slots);
            }
        }
    }

    /** Writes a whole new session file: a temporary file in the directory, renamed over the session file. */
    private void writeNewFile(String id, long sequence, byte[] json, boolean promoted) throws IOException {
        byte[] bytes = SessionFileLayout.newFile(sequence, json, promoted, maxSessionBytes);
        Path target = pathOf(id);
        Path temp = directory.resolve(TEMP_PREFIX + prefix + id + "-" + Long.toHexString(System.nanoTime()));
        try {
            // 0600 from its creation on; CREATE_NEW (O_EXCL) never follows a link. The rename keeps the mode.
            try (FileChannel channel = FileChannel.open(temp, CREATE_TEMP, privateFile)) {
                for (int written = 0; written < bytes.length; ) {
                    written += channel.write(
                            ByteBuffer.wrap(bytes, written, Math.min(IO_CHUNK_BYTES, bytes.length - written)));
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp); // only a failed write or move leaves it behind
            throw e;
        }
    }

    private static byte[] json(long createdAt, long expiresAt, Duration perSessionExpiry, Map<String, Object> data) {
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("version", 1);
        file.put("created", createdAt);
        file.put("expires", expiresAt);
        file.put("expiry", perSessionExpiry == null ? null : perSessionExpiry.toSeconds());
        file.put("data", data);
        return JsonValues.write(file);
    }

    /** Parses a session file; a corrupt or foreign file reads as absent, never as an error. */
    private Stored parse(byte[] file) {
        SessionFileLayout.Version version = SessionFileLayout.read(file);
        if (version == null) {
            LOG.log(Level.DEBUG, "a file in " + directory + " is not a session file and reads as absent");
            return null;
        }
        return parseJson(version.json);
    }

    /** Parses the JSON of a session file's version; content that is not a session reads as absent. */
    @SuppressWarnings("unchecked")
    Stored parseJson(byte[] json) {
        try {
            Map<String, Object> file = JsonValues.readMap(json, 0, json.length);
            Object data = file.get("data");
            Object created = file.get("created");
            Object expires = file.get("expires");
            Object expiry = file.get("expiry");
            if (!(data instanceof Map)
                    || !(created instanceof Number createdAt)
                    || !(expires instanceof Number expiresAt)) {
                throw new IOException("missing fields");
            }
            LinkedHashMap<String, Object> values = new LinkedHashMap<>((Map<String, Object>) data);
            return new Stored(
                    createdAt.longValue(),
                    expiresAt.longValue(),
                    expiry instanceof Number seconds ? Duration.ofSeconds(seconds.longValue()) : null,
                    values);
        } catch (IOException | RuntimeException e) {
            // Neither the file name (it holds the session ID) nor the parser's message (it quotes the content).
            LOG.log(
                    Level.DEBUG,
                    "a file in " + directory + " is not a session and reads as absent: "
                            + e.getClass().getSimpleName());
            return null;
        }
    }

    /**
     * Returns a failure fit for a log line or an exception message: its type and the operating system's reason,
     * without the file name, which holds the session ID, a credential. The stack trace is kept.
     */
    private static IOException withoutFileName(Throwable e) {
        String reason = e instanceof java.nio.file.FileSystemException fileSystemException
                ? fileSystemException.getReason()
                : e.getMessage();
        if (reason != null && (reason.contains("/") || reason.contains(java.io.File.separator))) {
            reason = null; // a message that names a path may name a session file
        }
        String type = e.getClass() == IOException.class ? "" : e.getClass().getName();
        IOException clean = new IOException(reason == null ? type : type.isEmpty() ? reason : type + ": " + reason);
        clean.setStackTrace(e.getStackTrace());
        return clean;
    }

    /** Returns the session ID a file of this name holds, or null when the name is not a session file's. */
    private String sessionIdOf(String fileName) {
        if (!fileName.startsWith(prefix)) {
            return null;
        }
        String id = fileName.substring(prefix.length());
        return SessionIds.isWellFormed(id) ? id : null;
    }

    private Path pathOf(String id) {
        if (!SessionIds.isWellFormed(id)) {
            throw new IllegalArgumentException("not a session ID"); // unreachable from requests: IDs are checked first
        }
        return directory.resolve(prefix + id);
    }
}
