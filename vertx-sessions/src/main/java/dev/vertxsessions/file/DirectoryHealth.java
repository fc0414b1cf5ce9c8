package dev.vertxsessions.file;

import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.file.FileSystem;
import java.nio.file.Path;

/**
 * The file backend's health: its directory is a directory, has at least {@link #MIN_FREE_BYTES} free, and takes a
 * new file (which also finds a read-only mount and a file system out of inodes). Asynchronous, through Vert.x's
 * {@link FileSystem}.
 */
final class DirectoryHealth {

    /** Free space below which the directory is reported unhealthy: 16 MiB. */
    static final long MIN_FREE_BYTES = 16L * 1024 * 1024;

    private static final String PROBE_PREFIX = ".vertx-sessions.health-";

    private final FileSystem fs;
    private final String directory;

    DirectoryHealth(FileSystem fs, Path directory) {
        this.fs = fs;
        this.directory = directory.toString();
    }

    Future<Void> check() {
        return fs.lprops(directory)
                .recover(e -> unhealthy("cannot be read (" + e.getMessage() + ")"))
                .compose(props -> props.isDirectory() ? fs.fsProps(directory) : unhealthy("is not a directory"))
                .compose(space -> space.usableSpace() < MIN_FREE_BYTES
                        ? unhealthy("has " + space.usableSpace() + " bytes free, less than " + MIN_FREE_BYTES)
                        : fs.createTempFile(directory, PROBE_PREFIX, "", "rw-------")
                                .recover(e -> unhealthy("does not take a new file (" + e.getMessage() + ")")))
                .compose(probe -> fs.delete(probe));
    }

    private <T> Future<T> unhealthy(String why) {
        return Future.failedFuture(
                new SessionStoreUnavailableException("session directory " + directory + " " + why, null));
    }
}
