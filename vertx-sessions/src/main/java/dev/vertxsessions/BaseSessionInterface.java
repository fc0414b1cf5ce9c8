package dev.vertxsessions;

import dev.vertxsessions.internal.JsonValues;
import io.vertx.core.Future;
import io.vertx.ext.web.Session;
import java.time.Duration;
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
 * middleware runs it on the {@link SessionBackend} SPI through an adapter: a request's own instance loads the
 * session (and deletes it at logout); each save, move and atomic update runs on a fresh instance that carries the
 * state of that call (the key, the data, what changed), so keep what requests share (a client, a pool) in the
 * factory, not in fields. README's "Custom backends" lists the whole contract.
 */
public abstract class BaseSessionInterface extends SeedSessionSupport implements Session {

    /** The session key that {@link #setRememberMe(boolean)} keeps its choice under. */
    public static final String REMEMBER_ME_KEY = ReservedKeys.REMEMBER_ME;

    /** The session key that {@link #regenerate()} marks a session promoted under (see {@link #isAnonymous()}). */
    public static final String PROMOTED_KEY = ReservedKeys.PROMOTED;

    /**
     * The session key that holds the session's principal, the user it belongs to ({@link #setPrincipal(String)}, or
     * the name of Vert.x-Web's {@code ctx.user()}): a reserved data key, so every backend keeps it.
     */
    public static final String PRINCIPAL_KEY = ReservedKeys.PRINCIPAL;

    /** Creates an empty session; the middleware binds it to the application before use. */
    protected BaseSessionInterface() {}

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
        return (T) state().get(key);
    }

    /** Returns the value of {@code key}, or {@code defaultValue} when the session has no such key. */
    @SuppressWarnings("unchecked")
    public <T> T get(String key, T defaultValue) {
        return containsKey(key) ? (T) state().get(key) : defaultValue;
    }

    /**
     * Returns the value of {@code key} converted to {@code type} (maps become POJOs through Jackson), or null. A null
     * type (as in the seed's {@code get(key, None)}, which Java resolves to this method) returns the value as stored.
     */
    @SuppressWarnings("unchecked")
    public <T> T get(String key, Class<T> type) {
        return type == null ? (T) state().get(key) : JsonValues.convert(state().get(key), type);
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
        ReservedKeys.checkWritable(key);
        state().put(key, value);
        return this;
    }

    /** Sets {@code key} to {@code value} unless the session has the key already. */
    @Override
    public BaseSessionInterface putIfAbsent(String key, Object value) {
        if (!containsKey(key)) {
            put(key, value);
        }
        return this;
    }

    /** Sets {@code key} to the function's value unless the session has the key already. */
    @Override
    public BaseSessionInterface computeIfAbsent(String key, Function<String, Object> mappingFunction) {
        if (!containsKey(key)) {
            put(key, mappingFunction.apply(key));
        }
        return this;
    }

    /** Returns whether the session has {@code key} (Python's {@code key in session}). */
    public boolean containsKey(String key) {
        return state().containsKey(key);
    }

    /** Removes {@code key} and returns its value, or null. */
    @Override
    @SuppressWarnings({"unchecked", "TypeParameterUnusedInFormals"}) // the signature of Vert.x-Web's Session
    public <T> T remove(String key) {
        ReservedKeys.checkWritable(key);
        return (T) state().remove(key);
    }

    /** Removes {@code key} and returns its value, or {@code defaultValue} when the session has no such key. */
    public <T> T pop(String key, T defaultValue) {
        return containsKey(key) ? remove(key) : defaultValue;
    }

    /**
     * Removes every key. A session left empty is deleted from the store and its cookie expired when the response
     * is sent: this is the seed guide's logout. The deletion completes after the response; call {@link #commit()}
     * and await it to answer only once the session is gone from the store.
     */
    public void clear() {
        state().clear();
    }

    /** Returns the keys of the session, in insertion order, without the middleware's reserved keys (read-only). */
    public Set<String> keys() {
        return ReservedKeys.withoutReserved(state().data()).keySet();
    }

    /** Returns the key-value pairs of the session, without the middleware's reserved keys (read-only). */
    public Set<Map.Entry<String, Object>> items() {
        return ReservedKeys.withoutReserved(state().data()).entrySet();
    }

    /** Returns the session's data as a read-only view. */
    @Override
    public Map<String, Object> data() {
        return state().data();
    }

    /**
     * Returns whether the session holds no data besides the middleware's reserved keys (whether it is promoted, its
     * cookie choice) and no principal: an emptied session is deleted when the response is sent. A principal alone
     * (a login made with {@link #setPrincipal}) is data.
     */
    @Override
    public boolean isEmpty() {
        return ReservedKeys.holdsNothing(state().data());
    }

    /** Returns whether the session was changed by this request and not saved yet. */
    public boolean isModified() {
        return state().isModified();
    }

    /** Returns whether the session was not loaded from the store (it has never been saved). */
    public boolean isNew() {
        return !state().isStored();
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
        state().setExpiry(expiry);
        return this;
    }

    /**
     * Returns this session's lifetime: the one set with {@link #setExpiry(long)}, else {@code anonymous_expiry} while
     * the session {@link #isAnonymous() is anonymous} (when configured), else the configured {@code expiry}.
     */
    public Duration getExpiry() {
        return state().lifetime();
    }

    /**
     * Returns whether this session is anonymous: neither {@link #regenerate()} (the call that belongs to every
     * login) nor a Vert.x-Web user in the session has promoted it. Anonymous sessions live {@code anonymous_expiry}
     * when it is set, and backends that bound their size evict them first. A {@link #clear()} makes a session
     * anonymous again.
     */
    public boolean isAnonymous() {
        return ReservedKeys.isAnonymous(state().data());
    }

    /**
     * Makes the session belong to {@code principal} (a user name or ID; null: to nobody), for logins the application
     * makes itself; with Vert.x-Web authentication the middleware sets it from {@code ctx.user().subject()}. The
     * session is then indexed under it (list or end a user's sessions with {@link SessionMiddleware#sessions()}),
     * counts against {@code max_sessions_per_user}, and is no longer {@link #isAnonymous() anonymous}. Call it with
     * {@link #regenerate()} at login. Kept under {@link #PRINCIPAL_KEY}.
     */
    public BaseSessionInterface setPrincipal(String principal) {
        if (principal != null && principal.isEmpty()) {
            throw new IllegalArgumentException(
                    "a session's principal must not be empty (null: the session belongs to nobody)");
        }
        state().setPrincipal(principal);
        return this;
    }

    /** Returns the user this session belongs to ({@link #setPrincipal(String)}, or Vert.x-Web's user), or null. */
    public String getPrincipal() {
        return ReservedKeys.principalOf(state().data());
    }

    /** Returns this session's lifetime in seconds (the seed's {@code get_expiry_age}). */
    public long getExpiryAge() {
        return getExpiry().toSeconds();
    }

    /** Returns when the session was created, in epoch milliseconds. */
    public long getCreatedAt() {
        return state().createdAt();
    }

    /**
     * Gives the session a new key, keeping its data, and deletes the old key when the response is sent. Call it at
     * login to prevent session fixation. Vert.x-Web's authentication handlers call it through {@link #regenerateId()}.
     * It also promotes the session: it is no longer {@link #isAnonymous() anonymous} (kept under
     * {@link #PROMOTED_KEY}).
     */
    public BaseSessionInterface regenerate() {
        state().regenerate();
        return this;
    }

    /** Deletes the session from the store and expires its cookie when the response is sent. */
    public void invalidate() {
        state().destroy();
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
        ReservedKeys.checkWritable(key);
        if (isDestroyed()) {
            return Future.failedFuture(new SessionException("session was invalidated; it cannot be updated"));
        }
        return state().update(key, value -> JsonValues.normalize(key, update.apply(value)));
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
        return state().commit();
    }

    /**
     * Makes this session's cookie persistent (Max-Age and Expires set to its expiry) when {@code cookie_persistent}
     * is off, or a browser-session cookie when it is on and {@code remember} is false: the "remember me" box of a
     * login form. Kept with the session under {@link #REMEMBER_ME_KEY}; the cookie is re-sent with this response.
     */
    public BaseSessionInterface setRememberMe(boolean remember) {
        state().write(REMEMBER_ME_KEY, remember);
        return this;
    }

    /** Returns whether this session's cookie is persistent: {@link #setRememberMe}, else {@code cookie_persistent}. */
    public boolean isRememberMe() {
        return state().get(REMEMBER_ME_KEY) instanceof Boolean b ? b : config().isCookiePersistent();
    }

    // ------------------------------------------------------------------ Vert.x-Web's Session

    /** Returns the session's ID; a new session gets a random one. */
    @Override
    public String id() {
        return state().id();
    }

    /** Same as {@link #regenerate()}. */
    @Override
    public Session regenerateId() {
        return regenerate();
    }

    /** Returns when the session was loaded by this request, in epoch milliseconds. */
    @Override
    public long lastAccessed() {
        return state().accessedAt();
    }

    /** Same as {@link #invalidate()}. */
    @Override
    public void destroy() {
        invalidate();
    }

    /** Returns whether {@link #invalidate()} was called. */
    @Override
    public boolean isDestroyed() {
        return state().isDestroyed();
    }

    /** Returns whether {@link #regenerate()} was called during this request. */
    @Override
    public boolean isRegenerated() {
        return state().isRegenerated();
    }

    /** Returns the ID the session had before {@link #regenerate()}, or null. */
    @Override
    public String oldId() {
        return state().oldId();
    }

    /** Returns this session's lifetime in milliseconds. */
    @Override
    public long timeout() {
        return getExpiry().toMillis();
    }

    /** Does nothing: expiry is renewed by saves (and by every request when {@code rolling} is set). */
    @Override
    public void setAccessed() {}
}
