package dev.vertxsessions.file;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionLimitException;
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
import java.nio.charset.StandardCharsets;
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
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
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
 *
 * User index (max_sessions_per_user, sessionsOf, deleteSessionsOf). Each principal has an index file
 * ".vertx-sessions.user-<hex SHA-256 of prefix and principal>" holding JSON {id: expiry when indexed}, replaced
 * whole (temporary file + rename) under a user lock: a ReentrantLock per user stripe and an OS byte-range lock on
 * byte 1024 + <user stripe> of the lock file, so processes sharing the directory agree. User locks are always taken
 * before a session's stripe lock, in stripe order, and never while one is held, so they cannot deadlock with session
 * locks. The index is a superset of the user's sessions: the session files are the truth, and a reader keeps an ID
 * only while its file exists, has not expired and names that principal (so the sweeper, the quota and deleteIfExpired
 * need not touch it; each rewrite drops such IDs). It never misses one: a save adds the new ID before writing the
 * session file and removes the old one (a move, or a session leaving its user) only after. A save that changes
 * whose a session is, or moves it, holds the locks of the old and the new principal; it learns the old one from the
 * file under the session lock, and starts again with both locked when it guessed wrong. Sessions ended by the limit
 * (end_oldest) are deleted after the session lock is released, still under the user lock, each under its own stripe
 * lock. Index files start with '.', which a prefix cannot, so they are never taken for sessions. sessionsOf and
 * deleteSessionsOf first wait for the index changes this process has started (afterIndexChanges), as the worker
 * pool runs them in any order.
 */
final class FileSessionStore {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");
    private static final int STRIPES = 1024;
    private static final String LOCK_FILE = ".vertx-sessions.lock";
    /** User stripes: bytes {@code STRIPES ..} of the lock file, after the session stripes. */
    private static final int USER_STRIPES = 256;

    private static final String USER_INDEX_PREFIX = ".vertx-sessions.user-";
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
        final ReentrantLock[] userStripes = new ReentrantLock[USER_STRIPES];
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
            for (int i = 0; i < USER_STRIPES; i++) {
                userStripes[i] = new ReentrantLock();
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
    /** The user-index changes in flight: saves that change a session's user or ID, and deletes. */
    private final Set<Future<?>> indexChanges = ConcurrentHashMap.newKeySet();

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
                        + " is not writable by this process: fix its permissions or choose another directory");
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
        Future<Written> written = onWorkers(() -> writeIndexed(changes));
        return touchesUser(changes) ? tracked(written) : written;
    }

    /** Keeps {@code change}, a change of the user index, until it completes, for {@link #afterIndexChanges()}. */
    private <T> Future<T> tracked(Future<T> change) {
        indexChanges.add(change);
        change.onComplete(ar -> indexChanges.remove(change));
        return change;
    }

    /**
     * Completes when the user-index changes this process started so far have ended, failed or not: so that an
     * administration call sees every login, move and delete of this process before it (the worker pool may run them
     * in any order).
     */
    private Future<Void> afterIndexChanges() {
        List<Future<?>> pending = new ArrayList<>(indexChanges);
        return pending.isEmpty()
                ? Future.succeededFuture()
                : Future.join(pending).transform(ar -> Future.succeededFuture());
    }

    /**
     * What a locked write did: what it stored (null: nothing, the session was deleted meanwhile), or the principals
     * whose locks it needs and did not hold (nothing written), and the sessions it ended for the limit.
     */
    private record Outcome(Written written, Set<String> retryWith, List<String> ended, String principal) {

        static Outcome stored(Written written) {
            return new Outcome(written, null, List.of(), null);
        }
    }

    /** Writes under the user locks a save needs (none when it changes neither the principal nor the ID). */
    private Written writeIndexed(SessionChanges changes) throws IOException {
        String source = changes.previousId() != null ? changes.previousId() : changes.id();
        if (!touchesUser(changes)) {
            return withLock(source, () -> writeLocked(changes, source, null)).written();
        }
        Set<String> guess = new TreeSet<>();
        if (changes.principal() != null) {
            guess.add(changes.principal());
        }
        while (true) {
            try (UserLocks users = lockUsers(guess)) {
                Outcome outcome = withLock(source, () -> writeLocked(changes, source, users.principals));
                if (outcome.retryWith() != null) {
                    guess.addAll(outcome.retryWith());
                    continue;
                }
                for (String victim : outcome.ended()) {
                    endSessionOf(outcome.principal(), victim);
                }
                if (!outcome.ended().isEmpty()) {
                    rewriteIndex(outcome.principal(), null); // drops the ended sessions, once they are gone
                }
                return outcome.written();
            }
        }
    }

    /** Whether a save may change whose the session is or its ID, and so the user index. */
    private static boolean touchesUser(SessionChanges changes) {
        String key = BaseSessionInterface.PRINCIPAL_KEY;
        return changes.previousId() != null
                || changes.cleared()
                || changes.changed().containsKey(key)
                || changes.removed().contains(key);
    }

    /**
     * The locked part of a save; {@code lockedUsers} are the principals whose user locks are held, null when the save
     * does not touch the user index.
     */
    private Outcome writeLocked(SessionChanges changes, String source, Set<String> lockedUsers) throws IOException {
        try (Current current = openForWrite(source)) {
            if (current.stored == null && !changes.isNew()) {
                LOG.log(Level.DEBUG, "session was deleted while a request used it; its changes are dropped");
                return Outcome.stored(null);
            }
            String oldPrincipal = current.stored == null ? null : principalOf(current.stored.data);
            LinkedHashMap<String, Object> data = current.stored == null ? new LinkedHashMap<>() : current.stored.data;
            changes.applyTo(data);
            long createdAt = current.stored == null ? changes.createdAtMillis() : current.stored.createdAt;
            byte[] json = json(createdAt, changes.expiresAtMillis(), changes.perSessionExpiry(), data);
            boolean promoted = !isAnonymous(changes.id(), data);
            String newPrincipal = principalOf(data);
            boolean moved = changes.previousId() != null;
            boolean reindex = lockedUsers != null && (moved || !Objects.equals(oldPrincipal, newPrincipal));
            List<String> ended = List.of();
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
                    ended = indexAdd(newPrincipal, changes, source, joins);
                }
            }
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
            if (reindex && oldPrincipal != null && (moved || !oldPrincipal.equals(newPrincipal))) {
                rewriteIndex(oldPrincipal, source); // after the write: the index never misses a session
            }
            Written written = new Written(json, lock.operations.get(stripe(changes.id())));
            return new Outcome(written, null, ended, newPrincipal);
        }
    }

    /**
     * Adds {@code changes.id()} to the index of {@code principal}, dropping the IDs of sessions that are gone; when
     * the session {@code joins} the user, applies {@code max_sessions_per_user}: refuses with
     * {@link SessionLimitException} before anything is written, or returns the sessions to end, those that expire
     * first. Call under the user lock.
     */
    private List<String> indexAdd(String principal, SessionChanges changes, String source, boolean joins)
            throws IOException {
        LinkedHashMap<String, Stored> live = liveSessionsOf(principal);
        List<String> ended = List.of();
        int max = changes.maxSessionsPerUser();
        if (joins && max > 0) {
            List<String> others = new ArrayList<>(live.keySet());
            others.remove(source);
            others.remove(changes.id());
            int surplus = others.size() + 1 - max;
            if (surplus > 0) {
                if (changes.refuseOverLimit()) {
                    throw SessionLimitException.atLimit(max);
                }
                others.sort(Comparator.comparingLong((String id) -> live.get(id).expiresAt));
                ended = List.copyOf(others.subList(0, surplus));
            }
        }
        LinkedHashMap<String, Long> entries = new LinkedHashMap<>();
        live.forEach((id, stored) -> entries.put(id, stored.expiresAt));
        entries.put(changes.id(), changes.expiresAtMillis());
        writeIndex(principal, entries);
        return ended;
    }

    /** Rewrites the index of {@code principal} without {@code removed} (null: none) and sessions that are gone. */
    private void rewriteIndex(String principal, String removed) throws IOException {
        LinkedHashMap<String, Long> entries = new LinkedHashMap<>();
        liveSessionsOf(principal).forEach((id, stored) -> {
            if (!id.equals(removed)) {
                entries.put(id, stored.expiresAt);
            }
        });
        writeIndex(principal, entries);
    }

    /** Deletes the session {@code id} under its lock if it still belongs to {@code principal}; returns whether. */
    private boolean endSessionOf(String principal, String id) throws IOException {
        return withLock(id, () -> {
            Stored stored = readNow(id);
            return stored != null && principal.equals(principalOf(stored.data)) && deleteCounted(id);
        });
    }

    /** Returns the live sessions of {@code principal}, oldest expiry first, read without a lock. */
    Future<List<SessionInfo>> sessionsOf(String principal) {
        return afterIndexChanges()
                .compose(v -> onWorkers(() -> {
                    List<SessionInfo> infos = new ArrayList<>();
                    liveSessionsOf(principal)
                            .forEach((id, stored) ->
                                    infos.add(new SessionInfo(id, principal, stored.createdAt, stored.expiresAt)));
                    infos.sort(Comparator.comparingLong(SessionInfo::expiresAtMillis));
                    return infos;
                }));
    }

    /** Deletes the sessions of {@code principal} except {@code exceptId} under its user lock; returns their IDs. */
    @SuppressWarnings("try") // the user lock is held for the whole block
    Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return afterIndexChanges()
                .compose(v -> onWorkers(() -> {
                    try (UserLocks users = lockUsers(Set.of(principal))) {
                        List<String> deleted = new ArrayList<>();
                        for (String id : liveSessionsOf(principal).keySet()) {
                            if (!id.equals(exceptId) && endSessionOf(principal, id)) {
                                deleted.add(id);
                            }
                        }
                        rewriteIndex(principal, null);
                        return deleted;
                    }
                }));
    }

    /**
     * Returns the sessions the index of {@code principal} lists whose file exists, has not expired and names that
     * principal, in index order; read without a lock (the index and the session files are replaced atomically).
     */
    private LinkedHashMap<String, Stored> liveSessionsOf(String principal) throws IOException {
        LinkedHashMap<String, Stored> live = new LinkedHashMap<>();
        long now = clock.millis();
        for (String id : readIndex(principal)) {
            Stored stored = readNow(id);
            if (stored != null && stored.expiresAt > now && principal.equals(principalOf(stored.data))) {
                live.put(id, stored);
            }
        }
        return live;
    }

    /** Returns the IDs the index file of {@code principal} lists; none when it is absent or not an index. */
    private List<String> readIndex(String principal) throws IOException {
        byte[] content = readRegularFile(userIndexPath(principal));
        List<String> ids = new ArrayList<>();
        if (content == null) {
            return ids;
        }
        try {
            for (String id : JsonValues.readMap(content, 0, content.length).keySet()) {
                if (SessionIds.isWellFormed(id)) {
                    ids.add(id);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "a user index in " + directory + " is not JSON and reads as empty");
        }
        return ids;
    }

    /** Replaces the index file of {@code principal} with {@code entries} (ID to expiry), or deletes it when empty. */
    private void writeIndex(String principal, Map<String, Long> entries) throws IOException {
        Path file = userIndexPath(principal);
        if (entries.isEmpty()) {
            BasicFileAttributes entry = entry(file);
            if (entry != null) {
                Files.deleteIfExists(file);
            }
            return;
        }
        replaceFile(file, TEMP_PREFIX + file.getFileName().toString().substring(1), JsonValues.write(entries));
    }

    private Path userIndexPath(String principal) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(prefix.getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
            digest.update(principal.getBytes(StandardCharsets.UTF_8));
            return directory.resolve(USER_INDEX_PREFIX + HexFormat.of().formatHex(digest.digest()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static int userStripe(String principal) {
        return Math.floorMod(principal.hashCode(), USER_STRIPES);
    }

    /** The user locks of some principals, taken in stripe order, held until closed. */
    private final class UserLocks implements AutoCloseable {
        final Set<String> principals;
        private final List<Integer> held = new ArrayList<>();
        private final List<FileLock> fileLocks = new ArrayList<>();

        UserLocks(Set<String> principals) throws IOException {
            this.principals = Set.copyOf(principals);
            TreeSet<Integer> ordered = new TreeSet<>();
            for (String principal : principals) {
                ordered.add(userStripe(principal));
            }
            try {
                for (int stripe : ordered) {
                    lock.userStripes[stripe].lock();
                    held.add(stripe);
                    fileLocks.add(lock.channel.lock(STRIPES + stripe, 1, false));
                }
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                for (FileLock fileLock : fileLocks) {
                    fileLock.release();
                }
            } finally {
                for (int stripe : held) {
                    lock.userStripes[stripe].unlock();
                }
            }
        }
    }

    private UserLocks lockUsers(Set<String> principals) throws IOException {
        return new UserLocks(principals);
    }

    private static String principalOf(Map<String, Object> data) {
        return data.get(BaseSessionInterface.PRINCIPAL_KEY) instanceof String principal ? principal : null;
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
    @SuppressWarnings("try") // the user lock is held for the whole block
    Future<Void> delete(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return Future.succeededFuture();
        }
        return tracked(onWorkers(() -> {
                    Stored stored = readNow(id);
                    String principal = stored == null ? null : principalOf(stored.data);
                    if (principal == null) {
                        // A principal given to it meanwhile leaves an ID in that user's index that readers drop.
                        return withLock(id, () -> deleteCounted(id));
                    }
                    try (UserLocks users = lockUsers(Set.of(principal))) {
                        withLock(id, () -> deleteCounted(id));
                        rewriteIndex(principal, id);
                    }
                    return null;
                }))
                .mapEmpty();
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
        return onWorkers(() -> withLock(id, work));
    }

    /** Runs {@code work} on the worker pool; an I/O failure fails it as the store being unavailable. */
    private <T> Future<T> onWorkers(Callable<T> work) {
        return workers.executeBlocking(
                () -> {
                    try {
                        return work.call();
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
        byte[] content = readRegularFile(pathOf(id));
        return content == null ? null : parse(content);
    }

    /**
     * Returns the content of {@code file} when it is a regular file within {@code file_max_session_bytes}, else null.
     */
    private byte[] readRegularFile(Path file) throws IOException {
        if (!isReadable(entry(file))) {
            return null;
        }
        // Never through a symbolic link, not even one put there since the check: the open fails instead.
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            return readAll(channel);
        } catch (NoSuchFileException e) {
            return null;
        }
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
        replaceFile(pathOf(id), TEMP_PREFIX + prefix + id, bytes);
    }

    /** Replaces {@code target} with {@code bytes} at once: a temporary file {@code tempName-*}, renamed over it. */
    private void replaceFile(Path target, String tempName, byte[] bytes) throws IOException {
        Path temp = directory.resolve(tempName + "-" + Long.toHexString(System.nanoTime()));
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
