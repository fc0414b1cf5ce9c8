package dev.vertxsessions.file;

import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionStoreUnavailableException;
import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.file.FileSystemException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
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
 */
final class FileSessionStore {

  private static final System.Logger LOG = System.getLogger(FileSessionStore.class.getName());
  private static final int STRIPES = 1024;
  private static final String LOCK_FILE = ".vertx-sessions.lock";
  private static final String TEMP_PREFIX = ".tmp-";
  private static final Duration TEMP_FILE_MAX_AGE = Duration.ofMinutes(1);
  private static final ConcurrentHashMap<Path, SharedLock> LOCKS = new ConcurrentHashMap<>();

  /** The lock state of one directory, shared by every store of this JVM that uses it. */
  private static final class SharedLock {
    final FileChannel channel;
    final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    /** Locked operations per stripe: tells whether a session's file may have changed since this process wrote it. */
    final AtomicLongArray operations = new AtomicLongArray(STRIPES);
    int users;

    SharedLock(Path lockFile) throws IOException {
      channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
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

  /** A session file opened for a locked write: its current content (null when absent) and where it is. */
  private static final class Current implements AutoCloseable {
    final FileChannel channel;
    final SessionFileLayout.Version version;
    final Stored stored;

    Current(FileChannel channel, SessionFileLayout.Version version, Stored stored) {
      this.channel = channel;
      this.version = version;
      this.stored = stored;
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
  private final Path lockPath;
  private final String prefix;
  private final Clock clock;
  private final SharedLock lock;
  private final WorkerExecutor workers;
  private final AtomicBoolean sweeping = new AtomicBoolean();
  private volatile SessionMetrics metrics;
  private final long sweeperTimer;

  FileSessionStore(Vertx vertx, Path directory, String prefix, Duration sweepInterval, Clock clock) {
    this.vertx = vertx;
    this.prefix = prefix;
    this.clock = clock;
    try {
      // Start-up only: a missing or unwritable directory is a misconfiguration, reported now.
      Files.createDirectories(directory);
      this.directory = directory.toRealPath();
      if (!Files.isWritable(this.directory)) {
        throw new IllegalArgumentException("directory " + this.directory + " is not writable by this process: fix "
          + "its permissions or choose another directory");
      }
      this.lockPath = this.directory.resolve(LOCK_FILE);
      this.lock = LOCKS.compute(lockPath, (path, shared) -> {
        try {
          SharedLock result = shared != null ? shared : new SharedLock(path);
          result.users++;
          return result;
        } catch (IOException e) {
          throw new IllegalArgumentException("directory " + directory + ": cannot create the lock file " + path
            + " (" + e.getMessage() + ")", e);
        }
      });
    } catch (IOException e) {
      throw new IllegalArgumentException("directory " + directory + " cannot be created or read (" + e
        + "): fix its permissions or choose another directory", e);
    }
    this.workers = vertx.createSharedWorkerExecutor("vertx-sessions-files", 16);
    this.sweeperTimer = sweepInterval.isZero() ? -1 : vertx.setPeriodic(sweepInterval.toMillis(), id -> sweep());
  }

  /** Reads a session file without locking; null when the ID is malformed or no such file exists. */
  Future<Stored> read(String id) {
    if (!SessionIds.isWellFormed(id)) {
      return Future.succeededFuture(null);
    }
    return vertx.fileSystem().readFile(pathOf(id).toString()).transform(ar -> {
      if (ar.failed()) {
        Throwable cause = ar.cause() instanceof FileSystemException && ar.cause().getCause() != null
          ? ar.cause().getCause() : ar.cause();
        if (cause instanceof NoSuchFileException) {
          return Future.succeededFuture(null);
        }
        IOException clean = withoutFileName(cause);
        return Future.failedFuture(new SessionStoreUnavailableException("session file could not be read in "
          + directory + ": " + clean, clean));
      }
      return Future.succeededFuture(parse(ar.result().getBytes()));
    });
  }

  void useMetrics(SessionMetrics metrics) {
    this.metrics = metrics;
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
        LinkedHashMap<String, Object> data = current.stored == null ? new LinkedHashMap<>() : current.stored.data;
        if (changes.cleared()) {
          data.keySet().retainAll(changes.data().keySet());
        }
        for (String key : changes.removed()) {
          data.remove(key);
        }
        data.putAll(changes.changed());
        long createdAt = current.stored == null ? changes.createdAtMillis() : current.stored.createdAt;
        byte[] json = json(createdAt, changes.expiresAtMillis(), changes.perSessionExpiry(), data);
        if (changes.previousId() != null) {
          writeNewFile(changes.id(), 1, json);
          Files.deleteIfExists(pathOf(changes.previousId()));
        } else {
          writeNextVersion(current, changes.id(), json);
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
        long expiresAt = stored == null ? session.expiresAtMillis()
          : Math.max(stored.expiresAt, session.expiresAtMillis());
        writeNextVersion(current, session.id(), json(createdAt, expiresAt, perSession, data));
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
      Files.deleteIfExists(pathOf(id));
      return null;
    });
  }

  /** Deletes a session file if it is still expired when the lock is held. */
  Future<Void> deleteIfExpired(String id) {
    return locked(id, () -> {
      Stored current = readNow(id);
      if (current != null && current.expiresAt <= clock.millis()) {
        Files.deleteIfExists(pathOf(id));
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
      .onFailure(e -> LOG.log(Level.WARNING, "session sweeper failed in " + directory + ": "
        + (e instanceof IOException ? withoutFileName(e) : e)));
  }

  Future<Void> close() {
    if (sweeperTimer >= 0) {
      vertx.cancelTimer(sweeperTimer);
    }
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
    return workers.close();
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
        } catch (IOException e) {
          // One entry this process cannot read (wrong owner, not a file, gone meanwhile) must not stop the sweep.
          skipped++;
          firstFailure = firstFailure == null ? e : firstFailure;
        }
      }
    }
    if (skipped > 0) {
      LOG.log(Level.WARNING, "session sweeper skipped " + skipped + " entries it could not read in " + directory
        + ", e.g. " + withoutFileName(firstFailure));
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
      if (Files.getLastModifiedTime(file).toMillis() < System.currentTimeMillis() - TEMP_FILE_MAX_AGE.toMillis()) {
        Files.deleteIfExists(file); // left by a crash between write and rename
      }
      return false;
    }
    if (!name.startsWith(prefix) || !SessionIds.isWellFormed(name.substring(prefix.length()))) {
      return false;
    }
    String id = name.substring(prefix.length());
    Stored stored = readNow(id);
    if (stored != null && stored.expiresAt > now) {
      return false;
    }
    return withLock(id, () -> {
      Stored again = readNow(id);
      return again != null && again.expiresAt <= clock.millis() && Files.deleteIfExists(pathOf(id));
    });
  }

  private <T> Future<T> locked(String id, Callable<T> work) {
    return workers.executeBlocking(() -> {
      try {
        return withLock(id, work);
      } catch (IOException e) {
        IOException clean = withoutFileName(e);
        throw new SessionStoreUnavailableException("session file could not be written in " + directory + ": "
          + clean, clean);
      }
    }, false);
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

  private Stored readNow(String id) throws IOException {
    try {
      return parse(Files.readAllBytes(pathOf(id)));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** Opens a session file for reading and writing in place; a missing file gives an empty {@link Current}. */
  private Current openForWrite(String id) throws IOException {
    FileChannel channel;
    try {
      // Never through a symbolic link: a write in place would land in whatever file the link names.
      channel = FileChannel.open(pathOf(id), StandardOpenOption.READ, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return new Current(null, null, null);
    }
    try {
      long size = channel.size();
      SessionFileLayout.Version version = null;
      if (size <= SessionFileLayout.MAX_FILE_BYTES) {
        ByteBuffer content = ByteBuffer.allocate((int) size);
        while (content.hasRemaining() && channel.read(content, content.position()) > 0) {
          // a file that shrinks meanwhile is not a session file of ours: it fails the layout check below
        }
        version = SessionFileLayout.read(content.array());
      }
      return new Current(channel, version, version == null ? null : parseJson(version.json));
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /**
   * Writes {@code json} as the next version of the open file, in place when it fits the free slot, else as a
   * new file (also when the file is missing or not a session file).
   */
  private void writeNextVersion(Current current, String id, byte[] json) throws IOException {
    SessionFileLayout.Version version = current.version;
    if (version == null || !version.otherSlotFits(json)) {
      writeNewFile(id, version == null ? 1 : version.sequence + 1, json);
      return;
    }
    ByteBuffer slot = SessionFileLayout.slot(version.sequence + 1, json);
    long offset = version.otherSlotOffset();
    while (slot.hasRemaining()) {
      offset += current.channel.write(slot, offset);
    }
  }

  /** Writes a whole new session file: a temporary file in the directory, renamed over the session file. */
  private void writeNewFile(String id, long sequence, byte[] json) throws IOException {
    byte[] bytes = SessionFileLayout.newFile(sequence, json);
    Path target = pathOf(id);
    Path temp = directory.resolve(TEMP_PREFIX + prefix + id + "-" + Long.toHexString(System.nanoTime()));
    try {
      Files.write(temp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
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
      if (!(data instanceof Map) || !(created instanceof Number) || !(expires instanceof Number)) {
        throw new IOException("missing fields");
      }
      LinkedHashMap<String, Object> values = new LinkedHashMap<>((Map<String, Object>) data);
      return new Stored(((Number) created).longValue(), ((Number) expires).longValue(),
        expiry instanceof Number ? Duration.ofSeconds(((Number) expiry).longValue()) : null, values);
    } catch (IOException | RuntimeException e) {
      // Neither the file name (it holds the session ID) nor the parser's message (it quotes the content).
      LOG.log(Level.DEBUG, "a file in " + directory + " is not a session and reads as absent: "
        + e.getClass().getSimpleName());
      return null;
    }
  }

  /**
   * Returns a failure fit for a log line or an exception message: its type and the operating system's reason,
   * without the file name, which holds the session ID, a credential. The stack trace is kept.
   */
  private static IOException withoutFileName(Throwable e) {
    String reason = e instanceof java.nio.file.FileSystemException
      ? ((java.nio.file.FileSystemException) e).getReason() : e.getMessage();
    if (reason != null && (reason.contains("/") || reason.contains(java.io.File.separator))) {
      reason = null; // a message that names a path may name a session file
    }
    String type = e.getClass() == IOException.class ? "" : e.getClass().getName();
    IOException clean = new IOException(reason == null ? type : type.isEmpty() ? reason : type + ": " + reason);
    clean.setStackTrace(e.getStackTrace());
    return clean;
  }

  private Path pathOf(String id) {
    if (!SessionIds.isWellFormed(id)) {
      throw new IllegalArgumentException("not a session ID"); // unreachable from requests: IDs are checked first
    }
    return directory.resolve(prefix + id);
  }

}
