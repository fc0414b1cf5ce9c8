package dev.vertxsessions.file;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionManager;
import dev.vertxsessions.SessionManagerFactory;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.internal.JsonValues;
import io.vertx.core.Future;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The file backend: one file per session, named {@code prefix + id}, in one directory, holding the session as
 * JSON in two checksummed slots that are written alternately in place.
 *
 * <p>Only IDs of the exact generated format (256 random bits, base64url) are ever turned into a path, so a
 * cookie can never name a file outside the directory. Writes are atomic (a reader or a crash sees the old or the
 * new version, never a mix), merge per key under a lock that other processes sharing the directory respect, and
 * never bring back a session that a logout deleted. Expired files are treated as absent, deleted when read, and
 * swept periodically ({@code sweep_interval}). Reads use Vert.x's asynchronous file system; locked writes run on a
 * dedicated worker pool.
 */
public class FileSessionInterface extends BaseSessionInterface {

  private final FileSessionStore store;
  /** What the last save of this session stored, for a request that waited for that save. */
  private FileSessionStore.Written saved;

  FileSessionInterface(FileSessionStore store) {
    this.store = store;
  }

  /**
   * Returns the factory of this backend storing files named {@code prefix + id} in {@code directory} (created at
   * start-up if missing).
   */
  public static SessionManagerFactory factory(Path directory, String prefix) {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(prefix, "prefix");
    return (vertx, config) -> {
      // Validates the prefix with the same rule as the JSON key.
      new dev.vertxsessions.SessionConfig().setPrefix(prefix);
      FileSessionStore store = new FileSessionStore(vertx, directory, prefix, config.getSweepInterval(),
        config.getClock());
      return new SessionManager() {
        @Override
        public BaseSessionInterface newSession() {
          return new FileSessionInterface(store);
        }

        @Override
        public void useMetrics(SessionMetrics metrics) {
          store.useMetrics(metrics);
        }

        @Override
        public Future<Void> close() {
          return store.close();
        }
      };
    };
  }

  @Override
  protected Future<Void> load() {
    String id = getSessionKey();
    if (!dev.vertxsessions.internal.SessionIds.isWellFormed(id)) {
      reportTamperedCookie();
      return Future.succeededFuture();
    }
    return store.read(id).map(stored -> {
      restore(id, stored);
      return null;
    });
  }

  /**
   * Takes the JSON the previous request's save wrote instead of reading the file back (no file I/O), unless this
   * process has locked the file's stripe since.
   */
  @Override
  protected Future<Void> loadAfterSave(BaseSessionInterface previous) {
    String id = getSessionKey();
    FileSessionStore.Written written = previous instanceof FileSessionInterface
      ? ((FileSessionInterface) previous).saved : null;
    if (written == null || !id.equals(previous.getSessionKey()) || !store.isLatest(id, written)) {
      return load();
    }
    reportLoadFromSave();
    restore(id, store.parseJson(written.json));
    return Future.succeededFuture();
  }

  private void restore(String id, FileSessionStore.Stored stored) {
    if (stored != null && !restore(id, JsonValues.fromStorable(stored.data), stored.createdAt, stored.expiresAt,
      stored.perSessionExpiry)) {
      store.deleteIfExpired(id);
    }
  }

  @Override
  protected Future<Void> save() {
    return write(changes(null));
  }

  @Override
  protected Future<Void> replace(String previousKey) {
    return write(changes(previousKey));
  }

  private Future<Void> write(FileSessionStore.Changes changes) {
    return conflictUnlessWritten(store.write(changes).map(written -> {
      saved = written;
      return written != null;
    }));
  }

  @Override
  protected Future<Void> delete(String sessionKey) {
    return store.delete(sessionKey);
  }

  @Override
  protected Future<Object> updateStored(String key, UnaryOperator<Object> update) {
    FileSessionStore.Changes changes = changes(getPreviousSessionKey());
    if (changes.previousId != null) {
      // Move the data to the new key first, then update under the new key.
      return write(changes).compose(v -> {
        markStored();
        previousKeyMoved();
        changes.previousId = null;
        changes.mustExist = true;
        return store.update(changes, key, update);
      });
    }
    return store.update(changes, key, update).onSuccess(v -> markStored());
  }

  private FileSessionStore.Changes changes(String previousKey) {
    FileSessionStore.Changes changes = new FileSessionStore.Changes();
    changes.id = getSessionKey();
    changes.previousId = previousKey;
    changes.mustExist = !isNew();
    changes.cleared = isCleared();
    changes.removed = new LinkedHashSet<>(removedKeys());
    Map<String, Object> changed = new LinkedHashMap<>();
    for (String key : changedKeys()) {
      changed.put(key, JsonValues.toStorable(data().get(key)));
    }
    changes.changed = changed;
    changes.createdAt = getCreatedAt();
    changes.expiresAt = expiresAtMillis();
    changes.perSessionExpiry = perSessionExpiry();
    return changes;
  }
}
