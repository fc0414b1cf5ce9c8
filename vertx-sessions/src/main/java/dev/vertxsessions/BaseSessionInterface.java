package dev.vertxsessions;

import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import dev.vertxsessions.internal.VertxWebBridge;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Session;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The session of one request, and the seed's way to write a backend.
 *
 * <p>Route handlers use it like a map ({@link #get(String, Object)}, {@link #put}, {@link #remove},
 * {@link #pop}, {@link #clear}, {@link #keys()}, ...). It is also Vert.x-Web's {@link Session}, so
 * {@code ctx.session()} returns this same object and Vert.x-Web's CSRF and authentication handlers work with it.
 * Values are stored as JSON: a value is copied into plain JSON types (maps, lists, strings, numbers, booleans)
 * when it is put, so put it again after changing it; {@link #get(String, Class)} turns it back into a POJO.
 *
 * <p><b>Writing a backend the seed's way.</b> Extend this class, implement {@link #load()} and {@link #save()}
 * (and {@link #delete(String)}), and register it with {@code SessionManagerFactory.of(MySession::new)}. The
 * middleware runs it on the {@link SessionBackend} SPI through an adapter: each call runs on a fresh instance
 * that carries the state of that call (the key, the data, what changed), so keep what requests share (a client,
 * a pool) in the factory, not in fields. README's "Custom backends" lists the whole contract.
 */
public abstract class BaseSessionInterface implements Session {

    /** The session key that {@link #setRememberMe(boolean)} keeps its choice under. */
    public static final String REMEMBER_ME_KEY = "__vertx-sessions.rememberMe";

    /** The session key that {@link #regenerate()} marks a session promoted under (see {@link #isAnonymous()}). */
    public static final String PROMOTED_KEY = "__vertx-sessions.promoted";

    /**
     * The session key that holds the session's principal, the user it belongs to ({@link #setPrincipal(String)}, or
     * the name of Vert.x-Web's {@code ctx.user()}): a reserved data key, so every backend keeps it.
     */
    public static final String PRINCIPAL_KEY = "__vertx-sessions.principal";

    /**
     * How the keys of the middleware's own choices start. A session that holds nothing else counts as empty: an
     * emptied session is deleted even when it was promoted or chose a cookie.
     */
    static final String RESERVED_KEY_PREFIX = "__vertx-sessions.";

    /** What the middleware does for this session's {@link #commit()} and {@link #update}; null when unattached. */
    private SessionBinding binding;

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
    private long expiresAt = Long.MAX_VALUE;
    private long accessedAt;
    private Duration expiry;
    /** The data as loaded, in its stored form (what a move on a failed response carries), or null when new. */
    private Map<String, Object> loadedData;

    private Duration loadedExpiry;
    private final LinkedHashMap<String, Object> data = new LinkedHashMap<>();
    /**
     * The JSON form of values that serialize themselves (ClusterSerializable, such as Vert.x-Web's user holder),
     * made once per value: a user holder writes its user only the first time it is serialized.
     */
    private final Map<String, Object> envelopes = new HashMap<>();

    private final Set<String> changed = new LinkedHashSet<>();
    private final Set<String> removed = new LinkedHashSet<>();

    /** Creates an empty session; the middleware binds it to the application before use. */
    protected BaseSessionInterface() {}

    // ------------------------------------------------------------------ the seed's backend SPI

    /**
     * Loads the session named by {@link #getSessionKey()} (the value of the request's cookie) and calls
     * {@link #restore} when it exists. A key that names nothing must leave the session empty and succeed: the
     * middleware then starts a fresh session. Fail the Future only when the store cannot answer
     * ({@link SessionStoreUnavailableException} gives a 503).
     */
    protected abstract Future<Void> load();

    /**
     * Stores the session under {@link #getSessionKey()}; the Future completes when the data is durable. Write
     * {@link #data()} (the whole session), or merge {@link #changedKeys()} and {@link #removedKeys()} into what is
     * stored. When {@link #isNew()} is false and the key no longer exists in the store, the session was deleted
     * meanwhile (a logout): write nothing, so it is not brought back.
     */
    protected abstract Future<Void> save();

    /** Deletes the stored session {@code sessionKey}. Defaults to doing nothing. */
    protected Future<Void> delete(String sessionKey) {
        return Future.succeededFuture();
    }

    /**
     * Moves the session to its new key after {@link #regenerate()} and deletes {@code previousKey}. Defaults to
     * {@link #save()} then {@link #delete(String)}; during that save {@link #isNew()} is true and
     * {@link #changedKeys()} holds every key, so a save written by the rules above stores the whole session under
     * the new key. It is called only after {@link #load()} found {@code previousKey} still stored, so a session that
     * a logout deleted meanwhile is not moved back into the store. Override it to move atomically.
     */
    protected Future<Void> replace(String previousKey) {
        return save().compose(v -> delete(previousKey));
    }

    /**
     * Applies {@code update} to the stored value of {@code key} atomically and returns the new value. Override it
     * only when your store can do that (a compare-and-set, a transaction); the default changes the value in the
     * session, which is then saved with it. When overridden, it is called with no other change pending (they are
     * saved first), and {@link #isNew()} says whether the session may be created.
     */
    protected Future<Object> updateStored(String key, UnaryOperator<Object> update) {
        return updateLocally(key, update);
    }

    /**
     * Fills the session with data loaded from the store. Returns false, leaving the session empty, when the entry
     * has expired by {@code expiresAtMillis} or by the configured absolute lifetime.
     *
     * @param id the session's key ({@link #getSessionKey()})
     * @param storedData the stored values: plain JSON types, as {@link #save()} found them in {@link #data()}
     * @param createdAtMillis when the session was first created ({@link #getCreatedAt()} at its first save)
     * @param expiresAtMillis when the entry expires ({@link #expiresAtMillis()} at its last save)
     * @param perSessionExpiry the expiry set with {@link #setExpiry(long)} ({@link #perSessionExpiry()}), or null
     */
    protected final boolean restore(
            String id,
            Map<String, Object> storedData,
            long createdAtMillis,
            long expiresAtMillis,
            Duration perSessionExpiry) {
        if (SessionLifetimes.isExpired(config, createdAtMillis, expiresAtMillis)) {
            if (metrics != null) {
                metrics.expired();
            }
            return false;
        }
        this.id = Objects.requireNonNull(id, "id");
        this.data.clear();
        this.envelopes.clear();
        for (Map.Entry<String, Object> entry : storedData.entrySet()) {
            Object value = JsonValues.fromStorable(entry.getValue());
            this.data.put(entry.getKey(), value);
            if (value != entry.getValue()) {
                envelopes.put(entry.getKey(), entry.getValue()); // its stored form, as long as nobody puts it again
            }
        }
        this.createdAt = createdAtMillis;
        this.expiresAt = expiresAtMillis;
        this.expiry = perSessionExpiry;
        this.loadedData = storedData;
        this.loadedExpiry = perSessionExpiry;
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
        return SessionLifetimes.expiresAt(config, currentTimeMillis(), getCreatedAt(), getExpiry());
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
        return written.map(isStored -> {
            if (!isStored) {
                reportConflict();
            }
            return null;
        });
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
    @SuppressWarnings({"unchecked", "TypeParameterUnusedInFormals"}) // the signature of Vert.x-Web's Session
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
     * {@link IllegalArgumentException} at once when the value cannot be written as JSON, or when the key is one the
     * middleware reserves (those starting with {@code __vertx-sessions.}; Vert.x-Web's user key takes only the user
     * object its authentication handlers put).
     */
    @Override
    public BaseSessionInterface put(String key, Object value) {
        Objects.requireNonNull(key, "key");
        if (value == null) {
            remove(key);
            return this;
        }
        checkWritable(key);
        if (key.equals(VertxWebBridge.USER_HOLDER_KEY) && !JsonValues.serializesItself(value)) {
            throw new IllegalArgumentException("session key '" + key + "' holds the user of Vert.x-Web's "
                    + "authentication and takes only the object its handlers put; store your own data under "
                    + "another key");
        }
        write(key, JsonValues.normalize(key, value));
        return this;
    }

    /** Stores an already normalized value, reserved keys included: the map API checks the key before. */
    private void write(String key, Object normalized) {
        data.put(key, normalized);
        envelopes.remove(key);
        changed.add(key);
        removed.remove(key);
        modified = true;
    }

    /** Refuses the keys the middleware keeps its own choices under, so that a client-chosen key cannot set them. */
    private static void checkWritable(String key) {
        if (isReserved(key)) {
            throw new IllegalArgumentException("session key '" + key + "' is reserved: keys starting with "
                    + RESERVED_KEY_PREFIX + " hold the middleware's own state (use regenerate() and setRememberMe()); "
                    + "choose another key");
        }
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
    @SuppressWarnings({"unchecked", "TypeParameterUnusedInFormals"}) // the signature of Vert.x-Web's Session
    public <T> T remove(String key) {
        checkWritable(key);
        if (!data.containsKey(key)) {
            return null;
        }
        Object value = data.remove(key);
        envelopes.remove(key);
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
        envelopes.clear();
        changed.clear();
        cleared = true;
        modified = true;
    }

    /** Returns the keys of the session, in insertion order, without the middleware's reserved keys (read-only). */
    public Set<String> keys() {
        return ownData().keySet();
    }

    /** Returns the key-value pairs of the session, without the middleware's reserved keys (read-only). */
    public Set<Map.Entry<String, Object>> items() {
        return ownData().entrySet();
    }

    /** Returns the application's own data: a read-only view, or a copy without the reserved keys when there are any. */
    private Map<String, Object> ownData() {
        if (!hasKey(true)) {
            return Collections.unmodifiableMap(data);
        }
        Map<String, Object> own = new LinkedHashMap<>(data);
        own.keySet().removeIf(BaseSessionInterface::isReserved);
        return Collections.unmodifiableMap(own);
    }

    /** Returns whether the session holds a reserved key ({@code reserved} true) or one of the application's. */
    private boolean hasKey(boolean reserved) {
        for (String key : data.keySet()) {
            if (isReserved(key) == reserved) {
                return true;
            }
        }
        return false;
    }

    private static boolean isReserved(String key) {
        return key.startsWith(RESERVED_KEY_PREFIX);
    }

    /** Returns the session's data as a read-only view. */
    @Override
    public Map<String, Object> data() {
        return Collections.unmodifiableMap(data);
    }

    /**
     * Returns whether the session holds no data besides the middleware's reserved keys (whether it is promoted, its
     * cookie choice): an emptied session is deleted when the response is sent.
     */
    @Override
    public boolean isEmpty() {
        return !hasKey(false);
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

    /**
     * Returns this session's lifetime: the one set with {@link #setExpiry(long)}, else {@code anonymous_expiry} while
     * the session {@link #isAnonymous() is anonymous} (when configured), else the configured {@code expiry}.
     */
    public Duration getExpiry() {
        return lifetime(expiry, data);
    }

    /** Returns the lifetime of a session holding {@code values} whose per-session expiry is {@code perSession}. */
    private Duration lifetime(Duration perSession, Map<String, Object> values) {
        if (perSession != null) {
            return perSession;
        }
        Duration anonymous = config.getAnonymousExpiry();
        return anonymous != null && isAnonymous(values) ? anonymous : config.getExpiry();
    }

    /**
     * Returns whether this session is anonymous: neither {@link #regenerate()} (the call that belongs to every
     * login) nor a Vert.x-Web user in the session has promoted it. Anonymous sessions live {@code anonymous_expiry}
     * when it is set, and backends that bound their size evict them first. A {@link #clear()} makes a session
     * anonymous again.
     */
    public boolean isAnonymous() {
        return isAnonymous(data);
    }

    /** Returns whether a session holding {@code data} is anonymous (see {@link #isAnonymous()}). */
    static boolean isAnonymous(Map<String, Object> data) {
        return !Boolean.TRUE.equals(data.get(PROMOTED_KEY))
                && !data.containsKey(VertxWebBridge.USER_HOLDER_KEY)
                && !data.containsKey(PRINCIPAL_KEY);
    }

    /** Returns the principal of a session holding {@code data}, or null. */
    static String principalOf(Map<String, Object> data) {
        return data.get(PRINCIPAL_KEY) instanceof String principal ? principal : null;
    }

    /**
     * Makes the session belong to {@code principal} (a user name or ID; null: to nobody), for logins the application
     * makes itself; with Vert.x-Web authentication the middleware sets it from {@code ctx.user().subject()}. The
     * session is then indexed under it (list or end a user's sessions with {@link SessionMiddleware#sessions()}),
     * counts against {@code max_sessions_per_user}, and is no longer {@link #isAnonymous() anonymous}. Call it with
     * {@link #regenerate()} at login. Kept under {@link #PRINCIPAL_KEY}.
     */
    public BaseSessionInterface setPrincipal(String principal) {
        if (principal == null) {
            if (data.containsKey(PRINCIPAL_KEY)) {
                data.remove(PRINCIPAL_KEY);
                changed.remove(PRINCIPAL_KEY);
                removed.add(PRINCIPAL_KEY);
                modified = true;
            }
            return this;
        }
        if (principal.isEmpty()) {
            throw new IllegalArgumentException(
                    "a session's principal must not be empty (null: the session belongs to " + "nobody)");
        }
        if (!principal.equals(data.get(PRINCIPAL_KEY))) {
            write(PRINCIPAL_KEY, principal);
        }
        return this;
    }

    /** Returns the user this session belongs to ({@link #setPrincipal(String)}, or Vert.x-Web's user), or null. */
    public String getPrincipal() {
        return principalOf(data);
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
     * It also promotes the session: it is no longer {@link #isAnonymous() anonymous} (kept under
     * {@link #PROMOTED_KEY}).
     */
    public BaseSessionInterface regenerate() {
        write(PROMOTED_KEY, true);
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
     * Applies {@code update} to the value of {@code key} and returns the new value. With a backend that has
     * {@link SessionBackend.Capability#ATOMIC_UPDATE} (files, Redis, memory) the update is atomic in the store:
     * parallel requests each applying an increment end with every increment counted; changes this request made
     * before are saved first. With any other backend the value changes in this session and is saved with it. The
     * function receives the current value as plain JSON (null when absent) and may be called more than once.
     */
    public Future<Object> update(String key, UnaryOperator<Object> update) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(update, "update");
        checkWritable(key);
        if (destroyed) {
            return Future.failedFuture(new SessionException("session was invalidated; it cannot be updated"));
        }
        UnaryOperator<Object> normalized = value -> JsonValues.normalize(key, update.apply(value));
        return binding != null ? binding.update(this, key, normalized) : updateLocally(key, normalized);
    }

    /** Adds one to the integer stored at {@code key} (absent counts as 0) atomically, and returns the new value. */
    public Future<Long> increment(String key) {
        return update(key, value -> value instanceof Number number ? number.longValue() + 1 : 1L)
                .map(value -> ((Number) value).longValue());
    }

    /**
     * Saves the session now and completes when it is durable, so a handler can await the save before answering
     * (e.g. before a redirect after login). A failure fails the Future and sets no cookie; nothing is saved twice.
     */
    public Future<Void> commit() {
        return binding != null
                ? binding.commit(this)
                : Future.failedFuture(new SessionException("session is not attached to a request"));
    }

    /**
     * Makes this session's cookie persistent (Max-Age and Expires set to its expiry) when {@code cookie_persistent}
     * is off, or a browser-session cookie when it is on and {@code remember} is false: the "remember me" box of a
     * login form. Kept with the session under {@link #REMEMBER_ME_KEY}; the cookie is re-sent with this response.
     */
    public BaseSessionInterface setRememberMe(boolean remember) {
        write(REMEMBER_ME_KEY, remember);
        return this;
    }

    /** Returns whether this session's cookie is persistent: {@link #setRememberMe}, else {@code cookie_persistent}. */
    public boolean isRememberMe() {
        Object remember = data.get(REMEMBER_ME_KEY);
        return remember instanceof Boolean b ? b : config.isCookiePersistent();
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
    public void setAccessed() {}

    // ------------------------------------------------------------------ used by the middleware and the seed adapter

    final void bind(Vertx vertx, SessionConfig config, SessionMetrics metrics, SessionBinding binding) {
        this.vertx = vertx;
        this.config = config;
        this.metrics = metrics;
        this.binding = binding;
        this.accessedAt = config.getClock().millis();
    }

    /** Forgets the request once its headers are sent, so a save in flight does not keep the routing context. */
    final void detach(SessionBinding afterHeaders) {
        binding = afterHeaders;
    }

    /** Sets the key a request's cookie carried, before a seed-style {@link #load()}. */
    final void setCandidateKey(String key) {
        this.id = key;
    }

    /** Fills the session from what a backend loaded; false (session left empty) when it has expired. */
    final boolean restore(SessionRecord record) {
        boolean valid = restore(
                record.id(),
                record.data(),
                record.createdAtMillis(),
                record.expiresAtMillis(),
                record.perSessionExpiry());
        if (valid && record.rewrite()) {
            modified = true;
        }
        return valid;
    }

    /**
     * Makes the session, loaded as {@code from}, the session {@code to} that another request moved it to: the ID it is
     * saved under, or the one a pending move of this request starts from.
     */
    final void retarget(String from, String to) {
        if (from.equals(previousId)) {
            previousId = to;
        } else if (from.equals(id)) {
            id = to;
        }
    }

    /** Returns the session as loaded by a seed-style {@link #load()}, or null when it loaded nothing. */
    final SessionRecord toRecord() {
        if (!stored) {
            return null;
        }
        return new SessionRecord(id, storableData(), createdAt, expiresAt, expiry);
    }

    /**
     * Fills a fresh seed-style instance with a change set, so its {@link #save()} or {@link #replace} sees what the
     * request did. A move presents the session as new with every key changed: the new key is not stored yet.
     */
    final void fill(SessionChanges changes) {
        boolean move = changes.previousId() != null;
        id = changes.id();
        previousId = changes.previousId();
        stored = !changes.isNew() && !move;
        cleared = changes.cleared();
        data.putAll(changes.data());
        changed.addAll(move ? changes.data().keySet() : changes.changed().keySet());
        removed.addAll(changes.removed());
        createdAt = changes.createdAtMillis();
        expiresAt = changes.expiresAtMillis();
        expiry = changes.perSessionExpiry();
        modified = true;
    }

    /** Returns the value of {@code key} in plain JSON types (an object that serializes itself, serialized once). */
    private Object storable(String key) {
        Object value = data.get(key);
        if (!JsonValues.needsEnvelope(value)) {
            return value;
        }
        return envelopes.computeIfAbsent(key, k -> JsonValues.toStorable(value));
    }

    /** Returns a copy of the data in plain JSON types. */
    private Map<String, Object> storableData() {
        Map<String, Object> copy = new LinkedHashMap<>(data);
        for (Map.Entry<String, Object> entry : copy.entrySet()) {
            if (JsonValues.needsEnvelope(entry.getValue())) {
                entry.setValue(storable(entry.getKey()));
            }
        }
        return copy;
    }

    /** Applies {@code update} to the value of {@code key} in this session, which is then saved with it. */
    final Future<Object> updateLocally(String key, UnaryOperator<Object> update) {
        try {
            put(key, update.apply(storable(key)));
            return Future.succeededFuture(get(key));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    /** Returns the JSON form in which the value of {@code key} was stored or last serialized, or null. */
    final Object storedForm(String key) {
        return envelopes.get(key);
    }

    /** Marks the session as changed, so it is saved (and its cookie sent) with this response. */
    final void markModified() {
        modified = true;
    }

    /** Returns whether anything is to be written besides the expiry. */
    final boolean hasPendingChanges() {
        return cleared || !changed.isEmpty() || !removed.isEmpty() || previousId != null;
    }

    /**
     * Returns this request's changes for a save and resets the change tracking; {@link #saveFailed} puts them back.
     */
    final SessionChanges startSave() {
        Map<String, Object> snapshot = storableData();
        Map<String, Object> changedValues = new LinkedHashMap<>();
        for (String key : changed) {
            changedValues.put(key, snapshot.get(key));
        }
        long now = currentTimeMillis();
        SessionChanges changes = new SessionChanges(
                id(),
                previousId,
                !stored,
                cleared,
                Collections.unmodifiableMap(changedValues),
                Collections.unmodifiableSet(new LinkedHashSet<>(removed)),
                Collections.unmodifiableMap(snapshot),
                getCreatedAt(),
                SessionLifetimes.expiresAt(config, now, getCreatedAt(), getExpiry()),
                now,
                expiry,
                config.getMaxSessionsPerUser(),
                refuseOverLimit());
        resetTracking();
        return changes;
    }

    /** Returns a change set that changes nothing: which session an atomic update is for, and its expiry. */
    final SessionChanges updateContext() {
        long now = currentTimeMillis();
        return new SessionChanges(
                id(),
                null,
                !stored,
                false,
                Map.of(),
                Set.of(),
                Collections.unmodifiableMap(storableData()),
                getCreatedAt(),
                SessionLifetimes.expiresAt(config, now, getCreatedAt(), getExpiry()),
                now,
                expiry,
                config.getMaxSessionsPerUser(),
                refuseOverLimit());
    }

    /**
     * Returns a change set that only moves the stored session, as it was loaded, to the ID {@link #regenerate()}
     * gave it, and resets the change tracking: what a response that saves nothing else (a 5xx) still does.
     */
    final SessionChanges startMove() {
        Map<String, Object> snapshot = loadedData == null ? Map.of() : Collections.unmodifiableMap(loadedData);
        long now = currentTimeMillis();
        Duration lifetime = lifetime(loadedExpiry, snapshot);
        SessionChanges changes = new SessionChanges(
                id(),
                previousId,
                false,
                false,
                Map.of(),
                Set.of(),
                snapshot,
                getCreatedAt(),
                SessionLifetimes.expiresAt(config, now, getCreatedAt(), lifetime),
                now,
                loadedExpiry,
                config.getMaxSessionsPerUser(),
                refuseOverLimit());
        resetTracking();
        return changes;
    }

    /** Forgets the changes a change set just took, and a pending move. */
    private void resetTracking() {
        changed.clear();
        removed.clear();
        cleared = false;
        modified = false;
        previousId = null;
    }

    private boolean refuseOverLimit() {
        return config.getUserLimitPolicy() == SessionConfig.UserLimitPolicy.REFUSE;
    }

    /** Records a save that started (and is undone by {@link #saveFailed}): the session is stored until its expiry. */
    final void saved(SessionChanges changes) {
        stored = true;
        expiresAt = changes.expiresAtMillis();
    }

    /** Puts back the changes of a save that failed, so a later save (or commit) tries again. */
    final void saveFailed(SessionChanges changes) {
        for (String key : changes.changed().keySet()) {
            if (!removed.contains(key)) {
                changed.add(key);
            }
        }
        for (String key : changes.removed()) {
            if (!changed.contains(key)) {
                removed.add(key);
            }
        }
        cleared |= changes.cleared();
        stored = !changes.isNew();
        if (previousId == null) {
            previousId = changes.previousId();
        }
        modified = true;
    }

    /** Records an atomic update the backend stored: the value is in the store, and the session exists there. */
    final void updated(String key, Object value, SessionChanges context) {
        envelopes.remove(key);
        if (value == null) {
            data.remove(key);
        } else {
            data.put(key, JsonValues.fromStorable(value));
        }
        changed.remove(key);
        removed.remove(key);
        saved(context);
        cookieDue = true;
    }

    /** Returns whether an atomic update stored the session without a save, so the cookie is still to be sent. */
    final boolean isCookieDue() {
        return cookieDue;
    }

    final void cookieSent() {
        cookieDue = false;
    }

    /** Returns when the stored session expires (as loaded or last saved), in epoch milliseconds. */
    final long storedExpiresAtMillis() {
        return expiresAt;
    }

    /**
     * Returns the IDs to delete for a logout or an emptied session (a previous key left by regenerate, and the
     * stored ID), and marks the session as no longer stored.
     */
    final Set<String> startDelete() {
        Set<String> ids = new LinkedHashSet<>();
        if (previousId != null) {
            ids.add(previousId);
        }
        if (stored && id != null) {
            ids.add(id);
        }
        previousId = null;
        stored = false;
        changed.clear();
        removed.clear();
        cleared = false;
        modified = false;
        return ids;
    }
}
