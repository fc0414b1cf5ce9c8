package dev.vertxsessions;

import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Session;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The session of one request, and the class a backend extends.
 *
 * <p>Route handlers use it like a map ({@link #get(String, Object)}, {@link #put}, {@link #remove},
 * {@link #pop}, {@link #clear}, {@link #keys()}, ...). It is also Vert.x-Web's {@link Session}, so
 * {@code ctx.session()} returns this same object and Vert.x-Web's CSRF and authentication handlers work with it.
 * Values are stored as JSON: a value is copied into plain JSON types (maps, lists, strings, numbers, booleans)
 * when it is put, so put it again after changing it; {@link #get(String, Class)} turns it back into a POJO.
 *
 * <p><b>Writing a backend.</b> Extend this class and implement {@link #load()} and {@link #save()} (and
 * {@link #delete(String)} when the backend stores anything). A backend that keeps data on a server should merge
 * per key: {@link #changedKeys()} and {@link #removedKeys()} say what this request changed. Instances serve one
 * request and need not be thread-safe; the {@link SessionManager} that creates them must be.
 */
public abstract class BaseSessionInterface implements Session {

  /** How the middleware runs a save now ({@link #commit()}); null when the session is used on its own. */
  private Function<BaseSessionInterface, Future<Void>> committer;
  private Vertx vertx;
  private SessionConfig config;
  private SessionMetrics metrics;

  private String id;
  private String previousId;
  private String oldId;
  private boolean stored;
  private boolean regenerated;
  private boolean destroyed;
  private boolean modified;
  private boolean cleared;
  /** An atomic update wrote the store directly: the cookie must still be (re)sent with this response. */
  private boolean cookieDue;
  private long createdAt;
  private long accessedAt;
  private Duration expiry;
  private final LinkedHashMap<String, Object> data = new LinkedHashMap<>();
  private final Set<String> changed = new LinkedHashSet<>();
  private final Set<String> removed = new LinkedHashSet<>();

  /** Creates an empty session; the middleware binds it to the application before loading. */
  protected BaseSessionInterface() {
  }

  // ------------------------------------------------------------------ SPI

  /**
   * Loads the session named by {@link #getSessionKey()} (the value of the request's cookie) and calls
   * {@link #restore} when it exists and is valid. A key that names nothing, is malformed, expired or tampered
   * with must simply leave the session empty and succeed: the middleware then starts a fresh session. Fail the
   * Future only when the store cannot answer ({@link SessionStoreUnavailableException} gives a 503).
   */
  protected abstract Future<Void> load();

  /**
   * Loads the session right after {@code previous}, the session of an earlier request with the same key, finished
   * saving: this request arrived while that save was in flight and waited for it. A backend that knows what that
   * save stored can restore it here instead of reading it back (and count it with {@link #reportLoadFromSave()});
   * the default calls {@link #load()}.
   */
  protected Future<Void> loadAfterSave(BaseSessionInterface previous) {
    return load();
  }

  /**
   * Stores the session under {@link #getSessionKey()}; the Future completes when the data is durable. Read what
   * you need ({@link #data()}, {@link #changedKeys()}, ...) before returning: the tracking is reset when this method
   * returns. A server-side backend must not recreate a session that was deleted meanwhile when
   * {@link #isNew()} is false.
   */
  protected abstract Future<Void> save();

  /** Deletes the stored session {@code sessionKey}. Defaults to doing nothing (for stateless backends). */
  protected Future<Void> delete(String sessionKey) {
    return Future.succeededFuture();
  }

  /**
   * Stores the session under its new key after {@link #regenerate()} and deletes {@code previousKey}. Defaults to
   * {@link #save()} then {@link #delete(String)}; backends that can move data atomically override it. Note that
   * during this default {@link #save()}, {@link #isNew()} is false while the new key does not exist in the store
   * yet ({@link #getPreviousSessionKey()} is set): a backend whose save refuses to recreate deleted sessions must
   * override this method, or write the full {@link #data()} under the new key when the previous key is set.
   */
  protected Future<Void> replace(String previousKey) {
    return save().compose(v -> delete(previousKey));
  }

  /**
   * Applies {@code update} to the stored value of {@code key} atomically, so concurrent requests lose no update,
   * and returns the new value. Defaults to a local change saved with the session (enough for backends that keep
   * no shared state); server-side backends override it.
   */
  protected Future<Object> updateStored(String key, UnaryOperator<Object> update) {
    Object value = update.apply(data.get(key));
    put(key, value);
    return Future.succeededFuture(get(key));
  }

  /**
   * Fills the session with data loaded from the store. Returns false, leaving the session empty, when the entry
   * has expired by {@code expiresAtMillis} or by the configured absolute lifetime.
   *
   * @param id the session's ID (for server-side backends, {@link #getSessionKey()})
   * @param storedData the stored values, as {@link JsonValues} reads them
   * @param createdAtMillis when the session was first created
   * @param expiresAtMillis when the entry expires
   * @param perSessionExpiry the expiry set with {@link #setExpiry(long)}, or null for the configured one
   */
  protected final boolean restore(String id, Map<String, Object> storedData, long createdAtMillis,
                                  long expiresAtMillis, Duration perSessionExpiry) {
    long now = currentTimeMillis();
    Duration absolute = config().getAbsoluteExpiry();
    if (expiresAtMillis <= now || (absolute != null && createdAtMillis + absolute.toMillis() <= now)) {
      if (metrics != null) {
        metrics.expired();
      }
      return false;
    }
    this.id = Objects.requireNonNull(id, "id");
    this.data.clear();
    this.data.putAll(storedData);
    this.createdAt = createdAtMillis;
    this.expiry = perSessionExpiry;
    this.stored = true;
    return true;
  }

  /**
   * Fills the session from a store that enforces expiry itself (e.g. with a TTL). The creation time is taken as
   * now, so {@code absolute_expiry} cannot be enforced: store the creation time and use the five-argument form.
   */
  protected final void restore(Map<String, Object> storedData) {
    restore(getSessionKey(), storedData, currentTimeMillis(), Long.MAX_VALUE, null);
  }

  /** Returns the keys put since the session was loaded or last saved. */
  protected final Set<String> changedKeys() {
    return Collections.unmodifiableSet(changed);
  }

  /** Returns the keys removed since the session was loaded or last saved. */
  protected final Set<String> removedKeys() {
    return Collections.unmodifiableSet(removed);
  }

  /** Returns whether {@link #clear()} was called since the session was loaded or last saved. */
  protected final boolean isCleared() {
    return cleared;
  }

  /** Returns the key this session had before {@link #regenerate()}, while that key is still stored. */
  protected final String getPreviousSessionKey() {
    return previousId;
  }

  /** Returns the value the session cookie carries. Defaults to the session key; signed cookies override it. */
  protected String cookieValue() {
    return getSessionKey();
  }

  /** Returns a new random session ID: 256 bits, base64url. */
  protected final String generateSid() {
    return SessionIds.generate();
  }

  /** Returns the Vert.x instance the session runs on. */
  protected final Vertx vertx() {
    return vertx;
  }

  /** Returns the configuration of the middleware. */
  protected final SessionConfig config() {
    return config;
  }

  /** Returns the current time of the configured clock, in epoch milliseconds. */
  protected final long currentTimeMillis() {
    return config.getClock().millis();
  }

  /** Returns when a session saved now expires, in epoch milliseconds (expiry and absolute lifetime applied). */
  protected final long expiresAtMillis() {
    long now = currentTimeMillis();
    long expiresAt = now + getExpiry().toMillis();
    Duration absolute = config.getAbsoluteExpiry();
    return absolute == null ? expiresAt : Math.min(expiresAt, getCreatedAt() + absolute.toMillis());
  }

  /** Returns the expiry set on this session with {@link #setExpiry(long)}, or null when it uses the default. */
  protected final Duration perSessionExpiry() {
    return expiry;
  }

  /** Counts a cookie rejected as forged, tampered or malformed (see {@link SessionMetrics#tamperedCookies()}). */
  protected final void reportTamperedCookie() {
    if (metrics != null) {
      metrics.tampered();
    }
  }

  /** Counts a {@link #loadAfterSave} that took the saved session instead of reading the store. */
  protected final void reportLoadFromSave() {
    if (metrics != null) {
      metrics.loadedFromSave();
    }
  }

  /**
   * Counts a write dropped because the session was deleted meanwhile (see {@link SessionMetrics#conflicts()}).
   */
  protected final void reportConflict() {
    if (metrics != null) {
      metrics.conflict();
    }
  }

  /**
   * Returns a Future that completes when {@code written} does, counting a conflict when the store reports (false)
   * that it dropped the write because the session was deleted meanwhile.
   */
  protected final Future<Void> conflictUnlessWritten(Future<Boolean> written) {
    return written.map(stored -> {
      if (!stored) {
        reportConflict();
      }
      return null;
    });
  }

  /** Marks the session as changed, so it is saved (e.g. to re-issue a cookie signed with an old key). */
  protected final void markModified() {
    modified = true;
  }

  /** Records that the data has moved from the key before {@link #regenerate()} to the new one already. */
  protected final void previousKeyMoved() {
    previousId = null;
  }

  /** Marks the session as present in the store (after an atomic update created it). */
  protected final void markStored() {
    stored = true;
  }

  // ------------------------------------------------------------------ the session, as route handlers see it

  /**
   * Returns the session key: the ID the session is stored under (and, for server-side backends, the cookie value).
   * While loading it is the value the request's cookie carried; a new session gets a random one.
   */
  public String getSessionKey() {
    return id();
  }

  /** Returns the value of {@code key}, or null. */
  @Override
  @SuppressWarnings("unchecked")
  public <T> T get(String key) {
    return (T) data.get(key);
  }

  /** Returns the value of {@code key}, or {@code defaultValue} when the session has no such key. */
  @SuppressWarnings("unchecked")
  public <T> T get(String key, T defaultValue) {
    return data.containsKey(key) ? (T) data.get(key) : defaultValue;
  }

  /**
   * Returns the value of {@code key} converted to {@code type} (maps become POJOs through Jackson), or null. A null
   * type (as in the seed's {@code get(key, None)}, which Java resolves to this method) returns the value as stored.
   */
  @SuppressWarnings("unchecked")
  public <T> T get(String key, Class<T> type) {
    return type == null ? (T) data.get(key) : JsonValues.convert(data.get(key), type);
  }

  /**
   * Sets {@code key} to {@code value}; a null value removes the key, as in Vert.x-Web. Throws
   * {@link IllegalArgumentException} at once when the value cannot be written as JSON.
   */
  @Override
  public BaseSessionInterface put(String key, Object value) {
    Objects.requireNonNull(key, "key");
    if (value == null) {
      remove(key);
      return this;
    }
    data.put(key, JsonValues.normalize(key, value));
    changed.add(key);
    removed.remove(key);
    modified = true;
    return this;
  }

  /** Sets {@code key} to {@code value} unless the session has the key already. */
  @Override
  public BaseSessionInterface putIfAbsent(String key, Object value) {
    if (!data.containsKey(key)) {
      put(key, value);
    }
    return this;
  }

  /** Sets {@code key} to the function's value unless the session has the key already. */
  @Override
  public BaseSessionInterface computeIfAbsent(String key, Function<String, Object> mappingFunction) {
    if (!data.containsKey(key)) {
      put(key, mappingFunction.apply(key));
    }
    return this;
  }

  /** Returns whether the session has {@code key} (Python's {@code key in session}). */
  public boolean containsKey(String key) {
    return data.containsKey(key);
  }

  /** Removes {@code key} and returns its value, or null. */
  @Override
  @SuppressWarnings("unchecked")
  public <T> T remove(String key) {
    if (!data.containsKey(key)) {
      return null;
    }
    Object value = data.remove(key);
    changed.remove(key);
    removed.add(key);
    modified = true;
    return (T) value;
  }

  /** Removes {@code key} and returns its value, or {@code defaultValue} when the session has no such key. */
  public <T> T pop(String key, T defaultValue) {
    return data.containsKey(key) ? remove(key) : defaultValue;
  }

  /**
   * Removes every key. A session left empty is deleted from the store and its cookie expired when the response
   * is sent: this is the seed guide's logout. The deletion completes after the response; call {@link #commit()}
   * and await it to answer only once the session is gone from the store.
   */
  public void clear() {
    if (data.isEmpty() && !stored) {
      return;
    }
    removed.addAll(data.keySet());
    data.clear();
    changed.clear();
    cleared = true;
    modified = true;
  }

  /** Returns the keys of the session, in insertion order (read-only). */
  public Set<String> keys() {
    return Collections.unmodifiableSet(data.keySet());
  }

  /** Returns the key-value pairs of the session (read-only). */
  public Set<Map.Entry<String, Object>> items() {
    return Collections.unmodifiableMap(data).entrySet();
  }

  /** Returns the session's data as a read-only view. */
  @Override
  public Map<String, Object> data() {
    return Collections.unmodifiableMap(data);
  }

  /** Returns whether the session has no data. */
  @Override
  public boolean isEmpty() {
    return data.isEmpty();
  }

  /** Returns whether the session was changed by this request and not saved yet. */
  public boolean isModified() {
    return modified;
  }

  /** Returns whether the session was not loaded from the store (it has never been saved). */
  public boolean isNew() {
    return !stored;
  }

  /** Sets the lifetime of this session only, in seconds, from its next save (the seed's {@code set_expiry}). */
  public BaseSessionInterface setExpiry(long seconds) {
    return setExpiry(Duration.ofSeconds(seconds));
  }

  /** Sets the lifetime of this session only, from its next save. */
  public BaseSessionInterface setExpiry(Duration expiry) {
    if (expiry == null || expiry.isNegative() || expiry.isZero() || expiry.toSeconds() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("session expiry must be a positive number of seconds");
    }
    this.expiry = expiry;
    modified = true;
    return this;
  }

  /** Returns this session's lifetime: the one set with {@link #setExpiry(long)}, or the configured expiry. */
  public Duration getExpiry() {
    return expiry != null ? expiry : config.getExpiry();
  }

  /** Returns this session's lifetime in seconds (the seed's {@code get_expiry_age}). */
  public long getExpiryAge() {
    return getExpiry().toSeconds();
  }

  /** Returns when the session was created, in epoch milliseconds. */
  public long getCreatedAt() {
    if (createdAt == 0) {
      createdAt = currentTimeMillis();
    }
    return createdAt;
  }

  /**
   * Gives the session a new key, keeping its data, and deletes the old key when the response is sent. Call it at
   * login to prevent session fixation. Vert.x-Web's authentication handlers call it through {@link #regenerateId()}.
   */
  public BaseSessionInterface regenerate() {
    if (stored && previousId == null) {
      previousId = id;
    }
    if (oldId == null) {
      oldId = id;
    }
    id = generateSid();
    regenerated = true;
    modified = true;
    return this;
  }

  /** Deletes the session from the store and expires its cookie when the response is sent. */
  public void invalidate() {
    clear();
    destroyed = true;
    modified = true;
  }

  /**
   * Applies {@code update} to the value of {@code key} atomically in the store and returns the new value: with the
   * file and Redis backends, parallel requests each applying an increment end with every increment counted.
   * The function receives the stored value (null when absent) and may be called more than once.
   */
  public Future<Object> update(String key, UnaryOperator<Object> update) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(update, "update");
    if (destroyed) {
      return Future.failedFuture(new SessionException("session was invalidated; it cannot be updated"));
    }
    UnaryOperator<Object> normalized = value -> JsonValues.normalize(key, update.apply(value));
    return updateStored(key, normalized).onSuccess(value -> {
      if (value == null) {
        data.remove(key);
      } else {
        data.put(key, value);
      }
      changed.remove(key);
      removed.remove(key); // the update is stored: a save must not remove the key again
      cookieDue = true;
    });
  }

  /** Adds one to the integer stored at {@code key} (absent counts as 0) atomically, and returns the new value. */
  public Future<Long> increment(String key) {
    return update(key, value -> value instanceof Number ? ((Number) value).longValue() + 1 : 1L)
      .map(value -> ((Number) value).longValue());
  }

  /**
   * Saves the session now and completes when it is durable, so a handler can await the save before answering
   * (e.g. before a redirect after login). A failure fails the Future; nothing is saved twice.
   */
  public Future<Void> commit() {
    Function<BaseSessionInterface, Future<Void>> current = committer;
    return current != null ? current.apply(this) : persist();
  }

  // ------------------------------------------------------------------ Vert.x-Web's Session

  /** Returns the session's ID; a new session gets a random one. */
  @Override
  public String id() {
    if (id == null) {
      id = generateSid();
    }
    return id;
  }

  /** Same as {@link #regenerate()}. */
  @Override
  public Session regenerateId() {
    return regenerate();
  }

  /** Returns when the session was loaded by this request, in epoch milliseconds. */
  @Override
  public long lastAccessed() {
    return accessedAt;
  }

  /** Same as {@link #invalidate()}. */
  @Override
  public void destroy() {
    invalidate();
  }

  /** Returns whether {@link #invalidate()} was called. */
  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  /** Returns whether {@link #regenerate()} was called during this request. */
  @Override
  public boolean isRegenerated() {
    return regenerated;
  }

  /** Returns the ID the session had before {@link #regenerate()}, or null. */
  @Override
  public String oldId() {
    return oldId;
  }

  /** Returns this session's lifetime in milliseconds. */
  @Override
  public long timeout() {
    return getExpiry().toMillis();
  }

  /** Does nothing: expiry is renewed by saves (and by every request when {@code rolling} is set). */
  @Override
  public void setAccessed() {
  }

  // ------------------------------------------------------------------ used by the middleware

  final void bind(Vertx vertx, SessionConfig config, SessionMetrics metrics,
                  Function<BaseSessionInterface, Future<Void>> committer) {
    this.vertx = vertx;
    this.config = config;
    this.metrics = metrics;
    this.committer = committer;
    this.accessedAt = config.getClock().millis();
  }

  /**
   * Forgets the middleware's committer once the headers are sent, so a save still in flight does not keep the
   * whole request (the routing context) in memory.
   */
  final void detachCommitter() {
    committer = AFTER_HEADERS;
  }

  private static final Function<BaseSessionInterface, Future<Void>> AFTER_HEADERS = session -> Future.failedFuture(
    new SessionException("session cannot be committed: the response headers were already sent"));

  /** Sets the key a request's cookie carried, before {@link #load()}. */
  final void setCandidateKey(String key) {
    this.id = key;
  }

  /** Forgets a candidate key that loaded nothing, so a client can never choose its own session ID. */
  final void forgetCandidateKey() {
    if (!stored) {
      this.id = null;
    }
  }

  /** Returns whether an atomic update stored the session without a save, so the cookie is still to be sent. */
  final boolean isCookieDue() {
    return cookieDue;
  }

  final void cookieSent() {
    cookieDue = false;
  }

  /** Returns the cookie value to send; only valid after a save started. */
  final String currentCookieValue() {
    return cookieValue();
  }

  /** Saves with {@link #save()} or {@link #replace(String)}, then resets the change tracking. */
  final Future<Void> persist() {
    String previous = previousId;
    Future<Void> result = previous != null ? replace(previous) : save();
    Set<String> changedBefore = new LinkedHashSet<>(changed);
    Set<String> removedBefore = new LinkedHashSet<>(removed);
    boolean clearedBefore = cleared;
    changed.clear();
    removed.clear();
    cleared = false;
    modified = false;
    previousId = null;
    return result.andThen(ar -> {
      if (ar.succeeded()) {
        stored = true;
      } else {
        // Keep what was not saved, so a later save (or commit) tries again.
        changedBefore.addAll(changed);
        changed.clear();
        changed.addAll(changedBefore);
        removed.addAll(removedBefore);
        cleared |= clearedBefore;
        modified = true;
        if (previousId == null) {
          previousId = previous;
        }
      }
    });
  }

  /** Deletes the stored session (and a previous key left by regenerate), then marks it as no longer stored. */
  final Future<Void> deleteStored() {
    String previous = previousId;
    boolean wasStored = stored;
    String key = id;
    previousId = null;
    stored = false;
    changed.clear();
    removed.clear();
    cleared = false;
    modified = false;
    Future<Void> result = previous != null ? delete(previous) : Future.succeededFuture();
    if (wasStored && key != null && !key.equals(previous)) {
      result = result.compose(v -> delete(key));
    }
    return result;
  }
}
