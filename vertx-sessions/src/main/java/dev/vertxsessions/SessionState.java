package dev.vertxsessions;

import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionIds;
import dev.vertxsessions.internal.VertxWebBridge;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/*
 * What a session object is made of, apart from its public faces.
 *
 * A BaseSessionInterface is a facade: its map API, Vert.x-Web's Session and the seed's backend SPI all read and
 * write one SessionState, bound to it once when it is created. The state holds the values (and the stored JSON form
 * of values that serialize themselves, made once), the session's times, and the change tracking since it was loaded
 * or last saved: the keys put and removed, a clear(), a pending move after regenerate(), a logout.
 *
 * The middleware drives the tracking (startSave, startMove, startDelete, saved, saveFailed, updated, retarget) and
 * reads it (decision, hasPendingChanges); it never goes through the session object for that. A seed-style backend
 * call fills a state from a SessionChanges (fill) or loads into one (beginLoad/endLoad).
 *
 * Not thread-safe: a request's session is used on its event loop.
 */
/** The per-request state of one session object: its values, its times and what changed (see the note above). */
final class SessionState {

    private final SessionConfig config;
    private final SessionMetrics metrics;
    private final Vertx vertx;
    /** What the middleware does for this session's {@code commit()} and {@code update()}; null when unattached. */
    private final SessionBinding binding;

    private final long accessedAt;

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
    /** Filled from a change set for a seed-style write: its expiry is the change set's. */
    private boolean filled;
    /** A seed-style save: a conflict its session reports is returned by the save (false), not counted here. */
    private boolean conflictsReturned;

    private boolean conflicted;

    private long createdAt;
    private long expiresAt = Long.MAX_VALUE;
    /**
     * The expiry the browser's persistent cookie has, as far as this request knows: the stored one's when loaded (the
     * cookie was renewed within a step of it), the one sent with this response; 0 when unknown.
     */
    private long cookieExpiresAt;

    private Duration expiry;
    /** The data as loaded, in its stored form (what a move on a failed response carries), or null when new. */
    private Map<String, Object> loadedData;

    private Duration loadedExpiry;
    /** What a seed-style {@code load()} into this state found ({@link #endLoad()}), so it is not restored twice. */
    private SessionRecord selfLoaded;

    private final LinkedHashMap<String, Object> data = new LinkedHashMap<>();
    /**
     * The JSON form of values that serialize themselves (ClusterSerializable, such as Vert.x-Web's user holder),
     * made once per value: a user holder writes its user only the first time it is serialized.
     */
    private final Map<String, Object> envelopes = new HashMap<>();

    private final Set<String> changed = new LinkedHashSet<>();
    private final Set<String> removed = new LinkedHashSet<>();

    SessionState(Vertx vertx, SessionConfig config, SessionMetrics metrics, SessionBinding binding) {
        this.vertx = vertx;
        this.config = config;
        this.metrics = metrics;
        this.binding = binding;
        this.accessedAt = config.getClock().millis();
    }

    Vertx vertx() {
        return vertx;
    }

    SessionConfig config() {
        return config;
    }

    long accessedAt() {
        return accessedAt;
    }

    void countTampered() {
        if (metrics != null) {
            metrics.tampered();
        }
    }

    void countConflict() {
        if (conflictsReturned) {
            conflicted = true; // the adapter's save completes with false, and the middleware counts that
        } else if (metrics != null) {
            metrics.conflict();
        }
    }

    /** Makes a conflict this state's session reports be returned by its save ({@link #conflicted()}), not counted. */
    void returnConflicts() {
        conflictsReturned = true;
    }

    /** Returns whether a seed-style save reported the session deleted meanwhile. */
    boolean conflicted() {
        return conflicted;
    }

    long now() {
        return config.getClock().millis();
    }

    // ------------------------------------------------------------------ the values

    String id() {
        if (id == null) {
            id = SessionIds.generate();
        }
        return id;
    }

    Map<String, Object> data() {
        return Collections.unmodifiableMap(data);
    }

    Object get(String key) {
        return data.get(key);
    }

    boolean containsKey(String key) {
        return data.containsKey(key);
    }

    /** Sets a non-null {@code value}; the session has checked that the key is not reserved. */
    void put(String key, Object value) {
        if (key.equals(VertxWebBridge.USER_HOLDER_KEY) && !JsonValues.serializesItself(value)) {
            throw new IllegalArgumentException("session key '" + key + "' holds the user of Vert.x-Web's "
                    + "authentication and takes only the object its handlers put; store your own data under "
                    + "another key");
        }
        write(key, JsonValues.normalize(key, value));
    }

    /** Stores an already normalized value, reserved keys included: the session checks the key before. */
    void write(String key, Object normalized) {
        data.put(key, normalized);
        envelopes.remove(key);
        changed.add(key);
        removed.remove(key);
        modified = true;
    }

    /** Removes {@code key} and returns its value; null (and nothing recorded) when the session has no such key. */
    Object remove(String key) {
        if (!data.containsKey(key)) {
            return null;
        }
        Object value = data.remove(key);
        envelopes.remove(key);
        changed.remove(key);
        removed.add(key);
        modified = true;
        return value;
    }

    void clear() {
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

    /** Sets the principal (null: none), recording a change only when it differs. */
    void setPrincipal(String principal) {
        if (principal == null) {
            remove(ReservedKeys.PRINCIPAL);
        } else if (!principal.equals(data.get(ReservedKeys.PRINCIPAL))) {
            write(ReservedKeys.PRINCIPAL, principal);
        }
    }

    void regenerate() {
        write(ReservedKeys.PROMOTED, true);
        if (stored && previousId == null) {
            previousId = id;
        }
        if (oldId == null) {
            oldId = id;
        }
        id = SessionIds.generate();
        regenerated = true;
    }

    void destroy() {
        clear();
        destroyed = true;
        modified = true;
    }

    void setExpiry(Duration expiry) {
        this.expiry = expiry;
        modified = true;
    }

    /** Returns the expiry set on this session only, or null. */
    Duration perSessionExpiry() {
        return expiry;
    }

    /** Returns the session's lifetime: per session, else {@code anonymous_expiry} while anonymous, else expiry. */
    Duration lifetime() {
        return lifetime(expiry, data);
    }

    private Duration lifetime(Duration perSession, Map<String, Object> values) {
        if (perSession != null) {
            return perSession;
        }
        Duration anonymous = config.getAnonymousExpiry();
        return anonymous != null && ReservedKeys.isAnonymous(values) ? anonymous : config.getExpiry();
    }

    long createdAt() {
        if (createdAt == 0) {
            createdAt = now();
        }
        return createdAt;
    }

    /** Returns when a session saved now expires (expiry and absolute lifetime applied). */
    long expiresAtIfSavedNow() {
        if (filled) {
            return expiresAt; // the change set's: what the middleware decided for this save
        }
        return SessionLifetimes.expiresAt(config, now(), createdAt(), lifetime());
    }

    boolean isModified() {
        return modified;
    }

    boolean isStored() {
        return stored;
    }

    boolean isDestroyed() {
        return destroyed;
    }

    boolean isRegenerated() {
        return regenerated;
    }

    String oldId() {
        return oldId;
    }

    Set<String> changedKeys() {
        return Collections.unmodifiableSet(changed);
    }

    Set<String> removedKeys() {
        return Collections.unmodifiableSet(removed);
    }

    boolean isCleared() {
        return cleared;
    }

    String previousId() {
        return previousId;
    }

    // ------------------------------------------------------------------ what the session asks of the middleware

    Future<Void> commit() {
        return binding != null
                ? binding.commit(this)
                : Future.failedFuture(new SessionException("session is not attached to a request"));
    }

    Future<Object> update(String key, UnaryOperator<Object> update) {
        return binding != null ? binding.update(this, key, update) : updateLocally(key, update);
    }

    /** Applies {@code update} to the value of {@code key} in this session, which is then saved with it. */
    Future<Object> updateLocally(String key, UnaryOperator<Object> update) {
        try {
            Object value = update.apply(storable(key));
            if (value == null) {
                remove(key);
            } else {
                put(key, value);
            }
            return Future.succeededFuture(data.get(key));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    // ------------------------------------------------------------------ loading

    /**
     * Fills the state with data loaded from a store; false, leaving it empty, when the entry has expired (counted).
     */
    boolean restore(
            String id,
            Map<String, Object> storedData,
            long createdAtMillis,
            long expiresAtMillis,
            Duration perSession) {
        if (SessionLifetimes.isExpired(config, createdAtMillis, expiresAtMillis)) {
            if (metrics != null) {
                metrics.expired();
            }
            return false;
        }
        this.id = Objects.requireNonNull(id, "id");
        data.clear();
        envelopes.clear();
        for (Map.Entry<String, Object> entry : storedData.entrySet()) {
            Object value = JsonValues.fromStorable(entry.getValue());
            data.put(entry.getKey(), value);
            if (value != entry.getValue()) {
                envelopes.put(entry.getKey(), entry.getValue()); // its stored form, as long as nobody puts it again
            }
        }
        this.createdAt = createdAtMillis;
        this.expiresAt = expiresAtMillis;
        this.cookieExpiresAt = expiresAtMillis;
        this.expiry = perSession;
        this.loadedData = storedData;
        this.loadedExpiry = perSession;
        this.stored = true;
        return true;
    }

    /** Fills the state from what a backend loaded; false (left empty) when it has expired. */
    @SuppressWarnings("ReferenceEquality") // this very record, not an equal one that another load returned
    boolean restore(SessionRecord record) {
        if (record == selfLoaded) {
            return true; // a seed-style load() into this state filled it already
        }
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

    /** Starts a seed-style {@code load()} of {@code candidateId} (the key the request's cookie carried). */
    void beginLoad(String candidateId) {
        reset();
        id = candidateId;
    }

    /**
     * Ends a seed-style {@code load()}: returns what it loaded, or null after resetting the state to a fresh session
     * (a key that loads nothing must not become the session's ID, nor leave anything behind).
     */
    SessionRecord endLoad() {
        if (!stored) {
            reset();
            return null;
        }
        selfLoaded = new SessionRecord(id, storableData(), createdAt, expiresAt, expiry);
        return selfLoaded;
    }

    /**
     * Fills the state with a change set, so a seed-style {@code save()} or {@code replace()} sees what the request
     * did. A move presents the session as new with every key changed: the new key is not stored yet.
     */
    void fill(SessionChanges changes) {
        reset();
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
        filled = true;
    }

    /** Makes the state that of a new, empty session. */
    private void reset() {
        id = null;
        previousId = null;
        oldId = null;
        stored = false;
        regenerated = false;
        destroyed = false;
        modified = false;
        cleared = false;
        cookieDue = false;
        filled = false;
        conflictsReturned = false;
        conflicted = false;
        createdAt = 0;
        expiresAt = Long.MAX_VALUE;
        cookieExpiresAt = 0;
        expiry = null;
        loadedData = null;
        loadedExpiry = null;
        selfLoaded = null;
        data.clear();
        envelopes.clear();
        changed.clear();
        removed.clear();
    }

    // ------------------------------------------------------------------ the middleware's hooks

    /** Marks the session as changed, so it is saved (and its cookie sent) with this response. */
    void markModified() {
        modified = true;
    }

    /** Returns the state {@link SaveDecision} decides on. */
    SaveDecision.State decision(boolean requestHadCookie) {
        return new SaveDecision.State(
                destroyed,
                ReservedKeys.holdsNothing(data),
                modified,
                stored,
                previousId != null,
                requestHadCookie,
                cookieDue);
    }

    /** Returns whether anything is to be written besides the expiry. */
    boolean hasPendingChanges() {
        return cleared || !changed.isEmpty() || !removed.isEmpty() || previousId != null;
    }

    /** Returns the JSON form in which the value of {@code key} was stored or last serialized, or null. */
    Object storedForm(String key) {
        return envelopes.get(key);
    }

    /** Returns when the stored session expires (as loaded or last saved), in epoch milliseconds. */
    long storedExpiresAtMillis() {
        return expiresAt;
    }

    /** Returns this request's changes for a save and resets the tracking; {@link #saveFailed} puts them back. */
    SessionChanges startSave() {
        Map<String, Object> snapshot = storableData();
        Map<String, Object> changedValues = new LinkedHashMap<>();
        for (String key : changed) {
            changedValues.put(key, snapshot.get(key));
        }
        SessionChanges changes = changes(
                previousId,
                !stored,
                cleared,
                Collections.unmodifiableMap(changedValues),
                Collections.unmodifiableSet(new LinkedHashSet<>(removed)),
                Collections.unmodifiableMap(snapshot),
                lifetime(),
                expiry);
        resetTracking();
        return changes;
    }

    /** Returns a change set that changes nothing: which session an atomic update is for, and its expiry. */
    SessionChanges updateContext() {
        return changes(
                null,
                !stored,
                false,
                Map.of(),
                Set.of(),
                Collections.unmodifiableMap(storableData()),
                lifetime(),
                expiry);
    }

    /**
     * Returns a change set that only moves the stored session, as it was loaded, to the ID {@code regenerate()}
     * gave it, and resets the tracking: what a response that saves nothing else (a 5xx) still does.
     */
    SessionChanges startMove() {
        Map<String, Object> snapshot = loadedData == null ? Map.of() : Collections.unmodifiableMap(loadedData);
        SessionChanges changes = changes(
                previousId, false, false, Map.of(), Set.of(), snapshot, lifetime(loadedExpiry, snapshot), loadedExpiry);
        resetTracking();
        return changes;
    }

    private SessionChanges changes(
            String previous,
            boolean isNew,
            boolean wasCleared,
            Map<String, Object> changedValues,
            Set<String> removedKeys,
            Map<String, Object> snapshot,
            Duration lifetime,
            Duration perSession) {
        long now = now();
        return new SessionChanges(
                id(),
                previous,
                isNew,
                wasCleared,
                changedValues,
                removedKeys,
                snapshot,
                createdAt(),
                SessionLifetimes.expiresAt(config, now, createdAt(), lifetime),
                now,
                perSession,
                config.getMaxSessionsPerUser(),
                config.getUserLimitPolicy() == SessionConfig.UserLimitPolicy.REFUSE);
    }

    /** Forgets the changes a change set just took, and a pending move. */
    private void resetTracking() {
        changed.clear();
        removed.clear();
        cleared = false;
        modified = false;
        previousId = null;
    }

    /** Records a save that started (and is undone by {@link #saveFailed}): the session is stored until its expiry. */
    void saved(SessionChanges changes) {
        stored = true;
        expiresAt = changes.expiresAtMillis();
    }

    /** Puts back the changes of a save that failed, so a later save (or commit) tries again. */
    void saveFailed(SessionChanges changes) {
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
    void updated(String key, Object value, SessionChanges context) {
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

    /** Records that this response carries the session's cookie, with the session's current expiry. */
    void cookieSent() {
        cookieDue = false;
        cookieExpiresAt = expiresAt;
    }

    /** Returns whether a persistent cookie must be renewed for the session's current expiry. */
    boolean cookieRenewalDue() {
        return SaveDecision.cookieRenewalDue(cookieExpiresAt, expiresAt, lifetime());
    }

    /**
     * Makes the session, loaded as {@code from}, the session {@code to} that another request moved it to: the ID it
     * is saved under, or the one a pending move of this request starts from.
     */
    void retarget(String from, String to) {
        if (from.equals(previousId)) {
            previousId = to;
        } else if (from.equals(id)) {
            id = to;
        }
    }

    /** Returns the principal of the session as it was stored when loaded, or its current one; null for none. */
    String storedPrincipal() {
        String loaded = loadedData == null ? null : ReservedKeys.principalOf(loadedData);
        return loaded != null ? loaded : ReservedKeys.principalOf(data);
    }

    /**
     * Keeps the time of the save about to start and, at a login (a principal the session was not stored with), the
     * client it logged in from; a session without a principal keeps no client ({@code record_client_info}).
     */
    void recordClient(long now, String userAgent, String address) {
        write(ReservedKeys.LAST_ACCESS, now);
        String principal = ReservedKeys.principalOf(data);
        if (principal == null) {
            remove(ReservedKeys.USER_AGENT);
            remove(ReservedKeys.ADDRESS);
        } else if (loadedData == null || !principal.equals(ReservedKeys.principalOf(loadedData))) {
            writeOrRemove(ReservedKeys.USER_AGENT, userAgent);
            writeOrRemove(ReservedKeys.ADDRESS, address);
        }
    }

    private void writeOrRemove(String key, String value) {
        if (value == null) {
            remove(key);
        } else {
            write(key, value);
        }
    }

    /**
     * Returns the IDs to delete for a logout or an emptied session (a previous key left by regenerate, and the
     * stored ID), and marks the session as no longer stored.
     */
    Set<String> startDelete() {
        Set<String> ids = new LinkedHashSet<>();
        if (previousId != null) {
            ids.add(previousId);
        }
        if (stored && id != null) {
            ids.add(id);
        }
        stored = false;
        resetTracking();
        return ids;
    }

    /** Returns the value of {@code key} in plain JSON types (an object that serializes itself, serialized once). */
    Object storable(String key) {
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
}
