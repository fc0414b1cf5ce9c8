package dev.vertxsessions.file;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-user index files ({@code .vertx-sessions.user-<hex SHA-256 of prefix and principal>}, JSON {id: expiry
 * when indexed}, replaced whole): a superset of a user's sessions, read against the session files, which are the
 * truth. Changed only under the user's lock ({@link DirectoryLocks#lockUsers}).
 *
 * <p>Thread-safe. See {@code docs/file-backend.md}, "User index".
 */
final class UserIndex {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.file");
    private static final String USER_INDEX_PREFIX = ".vertx-sessions.user-";

    private final SafeFiles files;
    private final SessionFileIO sessions;
    private final DirectoryLocks locks;
    private final QuotaGate quota;
    private final String prefix;
    private final Clock clock;
    /** The user-index changes in flight: saves that change a session's user or ID, and deletes. */
    private final Set<Future<?>> changes = ConcurrentHashMap.newKeySet();

    UserIndex(
            SafeFiles files,
            SessionFileIO sessions,
            DirectoryLocks locks,
            QuotaGate quota,
            String prefix,
            Clock clock) {
        this.files = files;
        this.sessions = sessions;
        this.locks = locks;
        this.quota = quota;
        this.prefix = prefix;
        this.clock = clock;
    }

    /** Whether a save may change whose the session is or its ID, and so the user index. */
    static boolean touchesUser(SessionChanges changes) {
        String key = BaseSessionInterface.PRINCIPAL_KEY;
        return changes.previousId() != null
                || changes.cleared()
                || changes.changed().containsKey(key)
                || changes.removed().contains(key);
    }

    /** Returns the principal a session's data names, or null. */
    static String principalOf(Map<String, Object> data) {
        return data.get(BaseSessionInterface.PRINCIPAL_KEY) instanceof String principal ? principal : null;
    }

    /** Keeps {@code change}, a change of the user index, until it completes, for {@link #afterChanges()}. */
    <T> Future<T> tracked(Future<T> change) {
        changes.add(change);
        change.onComplete(ar -> changes.remove(change));
        return change;
    }

    /**
     * Completes when the user-index changes this process started so far have ended, failed or not: so that an
     * administration call sees every login, move and delete of this process before it (the worker pool may run them
     * in any order).
     */
    Future<Void> afterChanges() {
        List<Future<?>> pending = new ArrayList<>(changes);
        return pending.isEmpty()
                ? Future.succeededFuture()
                : Future.join(pending).transform(ar -> Future.succeededFuture());
    }

    /**
     * Adds {@code changes.id()} to the index of {@code principal}, dropping the IDs of sessions that are gone, and
     * returns no IDs; when the session {@code joins} the user and would take it over {@code max_sessions_per_user},
     * writes nothing and refuses with {@link SessionLimitException} or returns the sessions to end first, those that
     * expire first (so that a crash never leaves the user over the limit). Call under the user lock.
     */
    List<String> add(String principal, SessionChanges changes, String source, boolean joins) throws IOException {
        LinkedHashMap<String, StoredSession> live = liveSessionsOf(principal);
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
                return List.copyOf(others.subList(0, surplus));
            }
        }
        LinkedHashMap<String, Long> entries = new LinkedHashMap<>();
        live.forEach((id, stored) -> entries.put(id, stored.expiresAt));
        entries.put(changes.id(), changes.expiresAtMillis());
        write(principal, entries);
        return List.of();
    }

    /**
     * Rewrites the index of {@code principal} without {@code removed} (null: none) and sessions that are gone. Call
     * under the user lock.
     */
    void rewrite(String principal, String removed) throws IOException {
        LinkedHashMap<String, Long> entries = new LinkedHashMap<>();
        liveSessionsOf(principal).forEach((id, stored) -> {
            if (!id.equals(removed)) {
                entries.put(id, stored.expiresAt);
            }
        });
        write(principal, entries);
    }

    /** Deletes the session {@code id} under its lock if it still belongs to {@code principal}; returns whether. */
    boolean endSessionOf(String principal, String id) throws IOException {
        return locks.withLock(id, () -> {
            StoredSession stored = sessions.read(id);
            return stored != null && principal.equals(principalOf(stored.data)) && quota.deleteCounted(id);
        });
    }

    /** Returns the live sessions of {@code principal}, oldest expiry first, read without a lock. */
    List<SessionInfo> sessionsOf(String principal) throws IOException {
        List<SessionInfo> infos = new ArrayList<>();
        liveSessionsOf(principal)
                .forEach((id, stored) -> infos.add( // the client too, read with the session
                        new SessionRecord(id, stored.data, stored.createdAt, stored.expiresAt, null).info()));
        infos.sort(Comparator.comparingLong(SessionInfo::expiresAtMillis));
        return infos;
    }

    /** Deletes the sessions of {@code principal} except {@code exceptId} under its user lock; returns their IDs. */
    @SuppressWarnings("try") // the user lock is held for the whole block
    List<String> deleteSessionsOf(String principal, String exceptId) throws IOException {
        try (DirectoryLocks.UserLocks users = locks.lockUsers(Set.of(principal))) {
            List<String> deleted = new ArrayList<>();
            for (String id : liveSessionsOf(principal).keySet()) {
                if (!id.equals(exceptId) && endSessionOf(principal, id)) {
                    deleted.add(id);
                }
            }
            rewrite(principal, null);
            return deleted;
        }
    }

    /**
     * Returns the sessions the index of {@code principal} lists whose file exists, has not expired and names that
     * principal, in index order; read without a lock (the index and the session files are replaced atomically).
     */
    private LinkedHashMap<String, StoredSession> liveSessionsOf(String principal) throws IOException {
        LinkedHashMap<String, StoredSession> live = new LinkedHashMap<>();
        long now = clock.millis();
        for (String id : read(principal)) {
            StoredSession stored = sessions.read(id);
            if (stored != null && stored.expiresAt > now && principal.equals(principalOf(stored.data))) {
                live.put(id, stored);
            }
        }
        return live;
    }

    /** Returns the IDs the index file of {@code principal} lists; none when it is absent or not an index. */
    private List<String> read(String principal) throws IOException {
        byte[] content = files.readRegularFile(pathOf(principal));
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
            LOG.log(Level.DEBUG, "a user index in " + files.directory() + " is not JSON and reads as empty");
        }
        return ids;
    }

    /** Replaces the index file of {@code principal} with {@code entries} (ID to expiry), or deletes it when empty. */
    private void write(String principal, Map<String, Long> entries) throws IOException {
        Path file = pathOf(principal);
        if (entries.isEmpty()) {
            BasicFileAttributes entry = SafeFiles.entry(file);
            if (entry != null) {
                Files.deleteIfExists(file);
            }
            return;
        }
        files.replaceFile(
                file, SafeFiles.TEMP_PREFIX + file.getFileName().toString().substring(1), JsonValues.write(entries));
    }

    private Path pathOf(String principal) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(prefix.getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
            digest.update(principal.getBytes(StandardCharsets.UTF_8));
            return files.directory().resolve(USER_INDEX_PREFIX + HexFormat.of().formatHex(digest.digest()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
