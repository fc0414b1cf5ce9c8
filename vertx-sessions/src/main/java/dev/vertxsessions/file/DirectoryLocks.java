package dev.vertxsessions.file;

import dev.vertxsessions.SessionException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The locks of one session directory: 1024 session stripes and 256 user stripes, each a {@link ReentrantLock} in
 * this JVM and an OS byte-range lock on {@code .vertx-sessions.lock} (byte {@code stripe}, byte {@code 1024 + user
 * stripe}) that other processes sharing the directory respect. User locks are taken before a session's stripe lock.
 *
 * <p>Thread-safe; one instance per directory and JVM, shared by its stores ({@link #acquire}, {@link #release}). See
 * {@code docs/file-backend.md}, "Locks and their order".
 */
final class DirectoryLocks {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");
    static final String LOCK_FILE = ".vertx-sessions.lock";
    private static final int STRIPES = 1024;
    /** User stripes: bytes {@code STRIPES ..} of the lock file, after the session stripes. */
    private static final int USER_STRIPES = 256;

    // READ with WRITE: a FIFO swapped in for the lock file since the check is opened without blocking (Linux).
    private static final Set<OpenOption> OPEN_LOCK = Set.of(
            StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    private static final ConcurrentHashMap<Path, DirectoryLocks> SHARED = new ConcurrentHashMap<>();

    private final Path lockFile;
    private final FileChannel channel;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final ReentrantLock[] userStripes = new ReentrantLock[USER_STRIPES];
    /** Locked operations per stripe: tells whether a session's file may have changed since this process wrote it. */
    private final AtomicLongArray operations = new AtomicLongArray(STRIPES);

    private int users;

    private DirectoryLocks(Path lockFile, FileAttribute<?>[] privateFile) throws IOException {
        this.lockFile = lockFile;
        try {
            if (!Files.readAttributes(lockFile, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .isRegularFile()) {
                throw new IllegalArgumentException(
                        "directory " + lockFile.getParent() + ": " + LOCK_FILE + " is not a regular file; remove it");
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

    /**
     * Returns the locks of {@code directory} (a real path), shared in this JVM, creating the lock file 0600 when
     * missing; {@code configured} is the directory as configured, for the message of a failure.
     */
    static DirectoryLocks acquire(Path directory, Path configured, FileAttribute<?>[] privateFile) {
        return SHARED.compute(directory.resolve(LOCK_FILE), (path, shared) -> {
            try {
                DirectoryLocks result = shared != null ? shared : new DirectoryLocks(path, privateFile);
                result.users++;
                return result;
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "directory " + configured + ": cannot create the lock file " + path + " (" + e.getMessage()
                                + ")",
                        e);
            }
        });
    }

    /** Ends one store's use; the last one closes the lock file. */
    void release() {
        SHARED.computeIfPresent(lockFile, (path, shared) -> {
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

    /** Runs {@code work} under the stripe lock of session {@code id}, in this JVM and in the lock file. */
    @SuppressWarnings("try") // the file lock is held for the whole block and needs no reference in it
    <T> T withLock(String id, Callable<T> work) throws IOException {
        int stripe = stripe(id);
        ReentrantLock local = stripes[stripe];
        local.lock();
        try (FileLock ignored = channel.lock(stripe, 1, false)) {
            operations.incrementAndGet(stripe);
            return work.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new SessionException("session file operation failed", e);
        } finally {
            local.unlock();
        }
    }

    /**
     * Runs {@code work} under the stripe lock of session {@code id} if that lock is free now, or held by this thread
     * already (with its file lock); returns {@code busy} without waiting otherwise, so two threads that try each
     * other's stripes cannot deadlock.
     */
    <T> T tryWithLock(String id, Callable<T> work, T busy) throws IOException {
        int stripe = stripe(id);
        ReentrantLock local = stripes[stripe];
        if (local.isHeldByCurrentThread()) {
            return counted(stripe, work); // the caller's own stripe: its file lock is held already
        }
        if (!local.tryLock()) {
            return busy;
        }
        try (FileLock held = channel.tryLock(stripe, 1, false)) {
            return held == null ? busy : counted(stripe, work);
        } finally {
            local.unlock();
        }
    }

    private <T> T counted(int stripe, Callable<T> work) throws IOException {
        operations.incrementAndGet(stripe);
        try {
            return work.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new SessionException("session file operation failed", e);
        }
    }

    /** Returns the count of locked operations on the stripe of {@code id} so far, in this process. */
    long operations(String id) {
        return operations.get(stripe(id));
    }

    /** Takes the user locks of {@code principals}, in stripe order; they are held until the result is closed. */
    UserLocks lockUsers(Set<String> principals) throws IOException {
        return new UserLocks(principals);
    }

    private static int stripe(String id) {
        return Math.floorMod(id.hashCode(), STRIPES);
    }

    private static int userStripe(String principal) {
        return Math.floorMod(principal.hashCode(), USER_STRIPES);
    }

    /** The user locks of some principals, taken in stripe order, held until closed. */
    final class UserLocks implements AutoCloseable {
        /** The principals whose locks are held. */
        final Set<String> principals;

        private final List<Integer> held = new ArrayList<>();
        private final List<FileLock> fileLocks = new ArrayList<>();

        private UserLocks(Set<String> principals) throws IOException {
            this.principals = Set.copyOf(principals);
            TreeSet<Integer> ordered = new TreeSet<>();
            for (String principal : principals) {
                ordered.add(userStripe(principal));
            }
            try {
                for (int stripe : ordered) {
                    userStripes[stripe].lock();
                    held.add(stripe);
                    fileLocks.add(channel.lock(STRIPES + stripe, 1, false));
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
                    userStripes[stripe].unlock();
                }
            }
        }
    }
}
