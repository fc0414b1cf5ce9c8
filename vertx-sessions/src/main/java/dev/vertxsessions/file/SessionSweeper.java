package dev.vertxsessions.file;

import dev.vertxsessions.BackendRecorder;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The sweeper: every {@code sweep_interval}, deletes expired session files (each under its stripe lock, read again
 * there) and temporary files a crash left behind, one sweep at a time, on the store's worker pool.
 *
 * <p>Thread-safe. See {@code docs/file-backend.md}, "Sweeper".
 */
final class SessionSweeper {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");
    private static final Duration TEMP_FILE_MAX_AGE = Duration.ofMinutes(1);

    private final Vertx vertx;
    private final WorkerExecutor workers;
    private final SafeFiles files;
    private final SessionFileIO sessions;
    private final DirectoryLocks locks;
    private final QuotaGate quota;
    private final Clock clock;
    private final Supplier<BackendRecorder> recorder;
    private final AtomicBoolean sweeping = new AtomicBoolean();
    private long timer = -1;

    SessionSweeper(
            Vertx vertx,
            WorkerExecutor workers,
            SafeFiles files,
            SessionFileIO sessions,
            DirectoryLocks locks,
            QuotaGate quota,
            Clock clock,
            Supplier<BackendRecorder> recorder) {
        this.vertx = vertx;
        this.workers = workers;
        this.files = files;
        this.sessions = sessions;
        this.locks = locks;
        this.quota = quota;
        this.clock = clock;
        this.recorder = recorder;
    }

    /** Sweeps every {@code interval}; never when it is zero. */
    void every(Duration interval) {
        timer = interval.isZero() ? -1 : vertx.setPeriodic(interval.toMillis(), id -> sweep());
    }

    /** Stops the periodic sweeps. */
    void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
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
                        "session sweeper failed in " + files.directory() + ": "
                                + (e instanceof IOException ? SafeFiles.withoutFileName(e) : e)));
    }

    private int sweepNow() throws IOException {
        int deleted = 0;
        int skipped = 0;
        IOException firstFailure = null;
        long now = clock.millis();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(files.directory())) {
            for (Path file : entries) {
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
                    "session sweeper skipped " + skipped + " entries it could not read in " + files.directory()
                            + ", e.g. " + SafeFiles.withoutFileName(firstFailure));
        }
        if (deleted > 0) {
            recorder.get().recordSweeperDeletions(deleted);
        }
        return deleted;
    }

    /** Deletes {@code file} if it is a stale temporary file or an expired session; returns whether it was a session. */
    private boolean sweepOne(Path file, long now) throws IOException {
        String name = file.getFileName().toString();
        if (name.startsWith(SafeFiles.TEMP_PREFIX)) {
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
        String id = sessions.sessionIdOf(name);
        if (id == null) {
            return false;
        }
        StoredSession stored = sessions.read(id);
        if (stored == null || stored.expiresAt > now) {
            return false; // absent, not a session file (these are left alone), or alive
        }
        boolean deleted = locks.withLock(id, () -> {
            StoredSession again = sessions.read(id);
            return again != null && again.expiresAt <= clock.millis() && quota.deleteCounted(id);
        });
        if (deleted) {
            recorder.get().reportExpired(id, UserIndex.principalOf(stored.data));
        }
        return deleted;
    }
}
