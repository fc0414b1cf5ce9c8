package dev.vertxsessions.file;

import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/*
 * How the file backend bounds its directory (file_max_sessions, file_max_bytes) without ever evicting a promoted
 * session for an anonymous one, without a start-up that grows with the directory, and for the directory as a whole
 * when several processes share it.
 *
 * The count. How many session files the directory holds, and their bytes, is kept in the directory itself
 * (SharedCount), under an OS lock that every process sharing the directory takes, so all of them enforce one limit.
 * Every change of a file goes through this class before it happens (admit), or right after (deleted, settle), so the
 * count follows the files exactly, except for what no process of ours does: a crash between a file operation and its
 * count, a file created or deleted by hand. The first process to open a directory (no other one is using the count)
 * therefore counts it again, in the background.
 *
 * The candidates. Which files may be evicted, oldest first, is what each process knows: the anonymous sessions it
 * wrote, and the files its scans found. A scan reads names and metadata only (lstat), never a file's content: a file
 * of odd length is a promoted session's (SessionFileLayout marks them with a byte after the slots), any other one may
 * be anonymous, and its modification time orders it. A file is read only when it is about to be evicted, under its
 * stripe lock (taken with tryLock, never waiting): it is deleted only when it holds an anonymous or an expired
 * session, and otherwise dropped as a candidate, and not offered again by later scans until this process writes it.
 * So a wrong guess (a file written before the mark existed, a session promoted by another process since) costs one
 * read, never a promoted session.
 *
 * Start-up. start() joins the count (a few calls) and returns; the scan runs in the background, so the first
 * requests are answered at once whatever the size of the directory. Until it ends, the count is the one the
 * directory holds (exact when the last process closed cleanly; zero when the directory has none yet, e.g. on the
 * first start) and the candidates are those found so far; a new file that finds no candidate to evict is admitted
 * meanwhile rather than refused on partial knowledge, and evicted when it ends. A process that found itself alone,
 * or no count, then replaces the count by what it listed, corrected for the files this process created or deleted
 * while it listed them (changes that other processes made during the listing are taken as the count had them).
 *
 * Admission. A write that adds a file or makes one longer asks first. When the result would exceed a limit, it
 * evicts the oldest candidates until the directory fits, or until it has evicted as much as it adds, reading at
 * most 16 candidates: a directory already over its limit (a lower limit, files copied in) admits new sessions at
 * once, one for one, and a background drain evicts the surplus in rounds of 64 candidates, releasing the lock in
 * between. The session being written and the one a regenerate moves from are never candidates. When no candidate
 * is left after the start-up scan, the write fails with SessionStoreUnavailableException (503), and a new scan looks
 * for files that other processes wrote (at most every 10 s). A login moves a file and adds nothing (the mark is not
 * counted), so it succeeds in a full directory; a login without an earlier session may evict anonymous sessions.
 *
 * Sharing. One instance serves every store of this process on the same directory and prefix (as they share the
 * stripe locks); each store passes its own limits. Its lock orders admissions, deletions and the drain; a writer
 * holds its stripe lock when it asks, and eviction only tries stripe locks, never waits for one, so nothing waits
 * in a circle. Processes without a quota on the same directory do not count what they write: the limits must be the
 * same everywhere.
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
    private static final int SCAN_BATCH = 1000;
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

    private record Candidate(String id, long writtenAt, long order) {}

    private final Path file;
    private final Path directory;
    private final String prefix;
    private final SharedCount count;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Candidate> candidates = new HashMap<>();
    private final TreeSet<Candidate> oldestFirst =
            new TreeSet<>(Comparator.comparingLong(Candidate::writtenAt).thenComparingLong(Candidate::order));
    /** Files read and found not evictable since this process last wrote them: scans do not offer them again. */
    private final Set<String> kept = new HashSet<>();

    private final Promise<Void> startupScan = Promise.promise();
    private long nextOrder;
    private int users;
    private Future<Void> started;
    private boolean scanning;
    private boolean lenient;
    /** While a scan runs: the counted length (-1: none) of each file this process changed since it began. */
    private Map<String, Long> touched;

    private boolean recounting;
    private SharedCount.Counts scanBase;
    private long scanDeltaSessions;
    private long scanDeltaBytes;
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
                        if (!host.limits().fits(after) && !noLarger && !lenient) {
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
                forget(change.previousId());
            }
            forget(change.id());
            kept.remove(change.id());
            if (change.after() >= 0 && change.anonymous()) {
                remember(change.id(), System.currentTimeMillis());
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
                forget(change.id());
            }
            if (change.previousId() != null) {
                touch(change.previousId(), previousAfter);
                if (previousAfter >= 0) {
                    remember(change.previousId(), System.currentTimeMillis()); // read before it is evicted
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
            forget(id);
            kept.remove(id);
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
        Iterator<Candidate> oldest = oldestFirst.iterator();
        while (read < reads && oldest.hasNext()) {
            SharedCount.Counts now = new SharedCount.Counts(sessions, bytes);
            if (host.limits().fits(now) || (floor != null && sessions <= floor.sessions() && bytes <= floor.bytes())) {
                break;
            }
            Candidate victim = oldest.next();
            if (victim.id().equals(spared) || victim.id().equals(alsoSpared)) {
                continue;
            }
            read++;
            long length;
            try {
                length = host.evictor().tryEvict(victim.id());
            } catch (IOException e) {
                length = KEPT; // unreadable (a directory put in its place): not ours to delete
            }
            if (length == BUSY) {
                continue;
            }
            oldest.remove();
            candidates.remove(victim.id());
            if (length == KEPT) {
                kept.add(victim.id());
            } else if (length >= 0) {
                sessions--;
                bytes -= length;
                counted(-1, -length);
                touch(victim.id(), -1);
            }
        }
        return new SharedCount.Counts(sessions, bytes);
    }

    /** Starts evicting the surplus in the background, unless that runs already or a scan will start it. Under lock. */
    private void drainLater(Host host) {
        if (draining || scanning || closed) {
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
        if (scanning || closed || System.nanoTime() - lastScanEnd < RESCAN_INTERVAL_NANOS) {
            return;
        }
        beginScan(false, null, false);
        scanLater(host);
    }

    private void beginScan(boolean recount, SharedCount.Counts base, boolean startup) {
        scanning = true;
        lenient = startup;
        touched = new HashMap<>();
        recounting = recount;
        scanBase = base;
        scanDeltaSessions = 0;
        scanDeltaBytes = 0;
    }

    private void scanLater(Host host) {
        inBackground(host, "the scan of", () -> scan(host), e -> {
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
    private void scan(Host host) throws IOException {
        Map<String, Long> listed = recounting ? new HashMap<>() : null;
        List<Found> batch = new ArrayList<>(SCAN_BATCH);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                if (closed) {
                    return;
                }
                String id = idOf(entry.getFileName().toString());
                if (id == null) {
                    continue;
                }
                BasicFileAttributes attributes;
                try {
                    attributes = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (IOException e) {
                    continue; // gone since listed
                }
                if (attributes.isRegularFile()) {
                    batch.add(new Found(
                            id, attributes.size(), attributes.lastModifiedTime().toMillis()));
                    if (batch.size() == SCAN_BATCH) {
                        found(batch, listed);
                    }
                }
            }
        }
        found(batch, listed);
        finishScan(listed, host);
    }

    private record Found(String id, long length, long modified) {}

    /** Takes a batch of files a scan found, and empties it. */
    private void found(List<Found> batch, Map<String, Long> listed) {
        lock.lock();
        try {
            for (Found found : batch) {
                if (listed != null) {
                    listed.put(found.id(), SessionFileLayout.countedLength(found.length()));
                }
                if (!touched.containsKey(found.id())
                        && !candidates.containsKey(found.id())
                        && !kept.contains(found.id())
                        && !SessionFileLayout.isMarkedPromoted(found.length())) {
                    remember(found.id(), found.modified());
                }
            }
        } finally {
            lock.unlock();
        }
        batch.clear();
    }

    private void finishScan(Map<String, Long> listed, Host host) throws IOException {
        lock.lock();
        try (FileLock held = count.lock()) {
            SharedCount.Counts now = readCount();
            if (listed != null) {
                long sessions = 0;
                long bytes = 0;
                for (Map.Entry<String, Long> found : listed.entrySet()) {
                    if (!touched.containsKey(found.getKey())) {
                        sessions++;
                        bytes += found.getValue();
                    }
                }
                for (long length : touched.values()) {
                    sessions += present(length);
                    bytes += Math.max(length, 0);
                }
                now = new SharedCount.Counts(
                        Math.max(0, now.sessions() + sessions - scanBase.sessions() - scanDeltaSessions),
                        Math.max(0, now.bytes() + bytes - scanBase.bytes() - scanDeltaBytes));
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
        scanning = false;
        lenient = false;
        touched = null;
        recounting = false;
        scanBase = null;
        lastScanEnd = System.nanoTime();
    }

    private SharedCount.Counts readCount() throws IOException {
        SharedCount.Counts counts = count.read();
        return counts != null ? counts : new SharedCount.Counts(0, 0); // overwritten by hand: the next start recounts
    }

    private void counted(long sessions, long bytes) {
        if (scanning) {
            scanDeltaSessions += sessions;
            scanDeltaBytes += bytes;
        }
    }

    private void touch(String id, long length) {
        if (scanning) {
            touched.put(id, length);
        }
    }

    private void remember(String id, long writtenAt) {
        Candidate candidate = new Candidate(id, writtenAt, nextOrder++);
        candidates.put(id, candidate);
        oldestFirst.add(candidate);
    }

    private void forget(String id) {
        Candidate candidate = candidates.remove(id);
        if (candidate != null) {
            oldestFirst.remove(candidate);
        }
    }

    private String idOf(String fileName) {
        if (!fileName.startsWith(prefix)) {
            return null;
        }
        String id = fileName.substring(prefix.length());
        return SessionIds.isWellFormed(id) ? id : null;
    }

    private static long present(long length) {
        return length >= 0 ? 1 : 0;
    }
}
