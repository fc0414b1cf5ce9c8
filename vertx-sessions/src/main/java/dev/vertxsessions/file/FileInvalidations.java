package dev.vertxsessions.file;

import dev.vertxsessions.InvalidationMarkers;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/*
 * The file backend's invalidation channel for the near cache: a directory watch.
 *
 * The kernel (inotify on Linux, through java.nio's WatchService) tells one thread of this process that a file of the
 * directory was created, changed or deleted, by any process of this machine, in the order it happened. The thread
 * takes what is queued, reads each session file named once (after every event of the batch, so what it reads is at
 * least as new as all of them) and reports what it holds: holds(id, version). A watch says which file, not what each
 * write left, so these are states; NearCache keeps an entry only when it has the version read, which is sound because
 * every save writes a new version and an atomic update removes it (FileSessionRepository).
 *
 * The saves of this process are reported from inside their lock, with the version they were applied on
 * (changed(id, version, previous)), so that the cache keeps their result without reading the file back. They also
 * leave the slot sequence they wrote: when the watch then finds that sequence still the file's newest, it reports
 * the version it knows without parsing the JSON (a file's sequence grows with every write, by any process).
 *
 * sync() creates an empty marker file ".near-cache-<token>" (InvalidationMarkers) through the worker pool and
 * completes when the watch thread reaches its event: every event queued before it, hence every write applied before
 * the call, has been reported by then. The thread deletes the marker. An overflow of the kernel's or the JDK's event queue means events
 * were lost: reported as lost(), and markers in flight fail. Only writes on this machine raise events, so a directory
 * on a network file system is refused at start.
 */
/** The near cache's invalidation channel of the file backend: a watch of the session directory. Thread-safe. */
final class FileInvalidations implements SessionInvalidations {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");

    static final String MARKER_PREFIX = ".near-cache-";

    /** File system types whose writes by other machines raise no event here (as {@link FileStore#type()} names). */
    private static final Set<String> NETWORK_FILE_SYSTEMS = Set.of(
            "nfs",
            "nfs4",
            "cifs",
            "smb",
            "smb2",
            "smb3",
            "smbfs",
            "9p",
            "ceph",
            "glusterfs",
            "lustre",
            "afs",
            "gpfs",
            "davfs",
            "ocfs2",
            "gfs2",
            "beegfs");

    private final Path directory;
    private final SessionFileIO sessions;
    private final WorkerExecutor workers;
    private final InvalidationMarkers markers;
    /** The last save of this process to each file whose event the watch has not read yet. */
    private final Map<String, OwnWrite> ownWrites = new ConcurrentHashMap<>();

    private record OwnWrite(long sequence, String version) {}

    private volatile Listener listener;
    private volatile Thread watcher;
    private volatile boolean closed;

    FileInvalidations(Vertx vertx, Path directory, SessionFileIO sessions, WorkerExecutor workers, long timeoutMillis) {
        this.directory = directory;
        this.sessions = sessions;
        this.workers = workers;
        this.markers = new InvalidationMarkers(vertx, timeoutMillis);
    }

    /**
     * Throws {@link IllegalArgumentException} when {@code directory} is on a network file system, where a watch does
     * not see the writes of other machines. Start-up only (it reads the mount table).
     */
    static void requireLocal(Path directory) {
        String type;
        try {
            FileStore store = Files.getFileStore(directory);
            type = store.type().toLowerCase(Locale.ROOT);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "near_cache: the file system of " + directory + " cannot be read (" + e + "); leave near_cache off",
                    e);
        }
        if (NETWORK_FILE_SYSTEMS.contains(type) || type.startsWith("nfs") || type.startsWith("fuse.")) {
            throw new IllegalArgumentException("near_cache with the file backend needs a local directory: " + directory
                    + " is on a '" + type + "' file system, whose writes by other machines no directory watch sees; "
                    + "leave near_cache off, or use the Redis backend");
        }
    }

    @Override
    public Future<Void> start(Listener listener) {
        this.listener = listener;
        return workers.executeBlocking(
                () -> {
                    WatchService service = directory.getFileSystem().newWatchService();
                    directory.register(
                            service,
                            StandardWatchEventKinds.ENTRY_CREATE,
                            StandardWatchEventKinds.ENTRY_MODIFY,
                            StandardWatchEventKinds.ENTRY_DELETE);
                    Thread thread = new Thread(() -> watch(service), "vertx-sessions-file-watch");
                    thread.setDaemon(true);
                    watcher = thread;
                    thread.start();
                    if (closed) {
                        thread.interrupt();
                    }
                    return null;
                },
                false);
    }

    /**
     * Reports a save of this process, made under the session's lock, that wrote slot {@code sequence}, for the near
     * cache to keep its result.
     */
    void saved(String id, long sequence, String version, String previous) {
        Listener current = listener;
        if (current != null) {
            ownWrites.put(id, new OwnWrite(sequence, version));
            current.changed(id, version, previous);
        }
    }

    private void watch(WatchService service) {
        try (service) {
            watchUntilClosed(service);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "near cache: the directory watch did not close cleanly: " + e);
        }
    }

    private void watchUntilClosed(WatchService service) {
        while (!closed) {
            WatchKey key;
            try {
                key = service.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            List<WatchEvent<?>> events = key.pollEvents();
            Set<String> read = new HashSet<>();
            for (WatchEvent<?> event : events) {
                if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
                    lost("the directory watch overflowed");
                    ownWrites.clear();
                    read.clear();
                    continue;
                }
                String name = event.context().toString();
                if (name.startsWith(MARKER_PREFIX)) {
                    markerSeen(name, event.kind());
                    continue;
                }
                String id = sessions.sessionIdOf(name);
                if (id != null && read.add(id)) {
                    report(id);
                }
            }
            if (!key.reset()) {
                lost("the session directory can no longer be watched");
                return;
            }
        }
    }

    /** Reads the file of {@code id} and reports the version it holds (none when it is gone or unreadable). */
    private void report(String id) {
        long readAt = System.nanoTime();
        OwnWrite own = ownWrites.remove(id);
        String version;
        try {
            SessionFileLayout.Version newest = sessions.readVersion(id);
            if (newest == null) {
                version = null;
            } else if (own != null && own.sequence() == newest.sequence) {
                version = own.version(); // what this process wrote, and nothing since
            } else {
                StoredSession stored = sessions.parseJson(newest.json);
                version = stored == null ? null : SessionInvalidations.versionOf(stored.data);
            }
        } catch (IOException | RuntimeException e) {
            version = null;
        }
        Listener current = listener;
        if (current != null) {
            current.holds(id, version, readAt);
        }
    }

    private void markerSeen(String name, WatchEvent.Kind<?> kind) {
        if (kind != StandardWatchEventKinds.ENTRY_CREATE) {
            return;
        }
        if (markers.arrived(name.substring(MARKER_PREFIX.length()))) {
            try {
                Files.deleteIfExists(directory.resolve(name));
            } catch (IOException e) {
                LOG.log(
                        Level.DEBUG,
                        "near cache: a marker file could not be deleted: "
                                + e.getClass().getSimpleName());
            }
        }
    }

    private void lost(String why) {
        LOG.log(Level.DEBUG, "near cache: " + why);
        Listener current = listener;
        if (current != null) {
            current.lost();
        }
        markers.failAll("the near cache's directory watch lost events");
    }

    @Override
    public Future<Void> sync() {
        if (watcher == null || closed) {
            return Future.failedFuture(
                    new SessionStoreUnavailableException("the near cache's watch is not running", null));
        }
        return markers.send(
                token -> workers.executeBlocking(
                        () -> Files.write(
                                directory.resolve(MARKER_PREFIX + token),
                                new byte[0],
                                StandardOpenOption.CREATE_NEW,
                                StandardOpenOption.WRITE),
                        false),
                token -> workers.executeBlocking(
                        () -> Files.deleteIfExists(directory.resolve(MARKER_PREFIX + token)), false));
    }

    /** Stops the watch: its thread closes it on the way out (an event loop never waits for that). */
    @Override
    public Future<Void> close() {
        closed = true;
        Thread thread = watcher;
        if (thread != null) {
            thread.interrupt();
        }
        markers.failAll("the near cache was closed");
        return Future.succeededFuture();
    }
}
