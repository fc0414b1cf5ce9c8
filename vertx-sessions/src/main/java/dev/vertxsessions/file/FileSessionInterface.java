package dev.vertxsessions.file;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.SessionTooLargeException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.function.UnaryOperator;

/**
 * The file backend: one file per session, named {@code prefix + id}, in one directory, holding the session as
 * JSON in two checksummed slots that are written alternately in place.
 *
 * <p>Only IDs of the exact generated format (256 random bits, base64url) are ever turned into a path, so a
 * cookie can never name a file outside the directory. Writes are atomic (a reader or a crash sees the old or the
 * new version, never a mix), merge per key under a lock that other processes sharing the directory respect, and
 * never bring back a session that a logout deleted. Expired files are treated as absent, deleted when read, and
 * swept periodically ({@code sweep_interval}). An optional quota ({@code file_max_sessions}, {@code file_max_bytes})
 * evicts the oldest anonymous sessions, never a promoted one, and holds for the directory, whichever processes share
 * it. A session file is at most {@code file_max_session_bytes}: a larger entry reads as absent, a larger session fails
 * its save with {@link SessionTooLargeException}. It keeps a user index (one file per principal, under a lock
 * that processes sharing the directory respect too) for {@code max_sessions_per_user} and the administration API.
 * Reads and locked writes run on a dedicated worker
 * pool; reads take no lock. {@code docs/file-backend.md} explains the mechanism.
 */
public final class FileSessionInterface implements SessionBackend {

    private final FileSessionRepository store;
    /** What recent saves wrote, for a request that waited for one of them; entries go when the change set does. */
    private final Map<SessionChanges, FileSessionRepository.Written> written =
            Collections.synchronizedMap(new WeakHashMap<>());

    /** Null when the backend was built around a store alone (tests). */
    private final DirectoryHealth health;

    FileSessionInterface(FileSessionRepository store) {
        this(store, null);
    }

    private FileSessionInterface(FileSessionRepository store, DirectoryHealth health) {
        this.store = store;
        this.health = health;
    }

    /** Returns the factory of this backend with {@code options} (its directory is created at start-up if missing). */
    public static SessionBackendFactory factory(FileSessionOptions options) {
        FileSessionOptions copy = new FileSessionOptions(options);
        return (vertx, config) -> create(vertx, copy, config.getClock());
    }

    /** Returns the factory of this backend storing files named {@code prefix + id} in {@code directory}. */
    public static SessionBackendFactory factory(Path directory, String prefix) {
        return factory(new FileSessionOptions().setDirectory(directory).setPrefix(prefix));
    }

    static FileSessionInterface create(Vertx vertx, FileSessionOptions options, Clock clock) {
        return new FileSessionInterface(
                new FileSessionRepository(vertx, options, clock),
                new DirectoryHealth(vertx.fileSystem(), options.getDirectory()));
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.allOf(Capability.class);
    }

    @Override
    public Future<Long> countSessions() {
        return store.countSessions();
    }

    @Override
    public Future<List<SessionInfo>> sessionsOf(String principal) {
        return store.sessionsOf(principal);
    }

    @Override
    public Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        return store.deleteSessionsOf(principal, exceptId);
    }

    @Override
    public Future<SessionRecord> load(String id) {
        return store.read(id).map(stored -> record(id, stored));
    }

    /**
     * Takes the JSON the earlier save wrote instead of reading the file back (no file I/O), unless this process
     * has locked the file's stripe since.
     */
    @Override
    public Future<SessionRecord> loadAfterSave(String id, SessionChanges saved) {
        FileSessionRepository.Written write = written.remove(saved);
        if (write == null || !id.equals(saved.id()) || !store.isLatest(id, write)) {
            return load(id);
        }
        store.loadedFromSave();
        return Future.succeededFuture(record(id, store.parseJson(write.json)));
    }

    private SessionRecord record(String id, StoredSession stored) {
        if (stored == null) {
            return null;
        }
        if (stored.expiresAt <= store.now()) {
            store.deleteIfExpired(id);
        }
        return new SessionRecord(id, stored.data, stored.createdAt, stored.expiresAt, stored.perSessionExpiry);
    }

    /**
     * Fails at once, with {@link SessionTooLargeException}, a session that needs a file over its size limit: before
     * the response, so that it is not answered as if stored.
     */
    @Override
    public Future<Boolean> save(SessionChanges changes) {
        try {
            store.checkSize(changes);
        } catch (SessionTooLargeException e) {
            return Future.failedFuture(e);
        }
        return store.write(changes).map(write -> {
            if (write == null) {
                return false;
            }
            written.put(changes, write);
            return true;
        });
    }

    @Override
    public Future<Void> delete(String id) {
        return store.delete(id);
    }

    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        return store.update(session, key, update);
    }

    /** Returns a watch of the session directory; throws when the directory is on a network file system. */
    @Override
    public SessionInvalidations invalidations() {
        return store.invalidations();
    }

    @Override
    public Future<Void> start(BackendRecorder recorder) {
        return store.start(recorder);
    }

    /**
     * Checks that the directory is a directory with at least 16 MiB free that takes a new file (a read-only mount
     * or a file system out of inodes does not).
     */
    @Override
    public Future<Void> checkHealth() {
        return health == null ? Future.succeededFuture() : health.check();
    }

    /** Completes when the quota's start-up scan of the directory has ended (for tests). */
    Future<Void> startupScan() {
        return store.startupScan();
    }

    @Override
    public Future<Void> close() {
        return store.close();
    }
}
