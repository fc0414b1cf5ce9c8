package dev.vertxsessions;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * What one request did to its session, handed to {@link SessionBackend#save(SessionChanges)}. Built once by the
 * middleware when the save starts; immutable, so a backend may keep it while its write is in flight.
 *
 * <p>Values are plain JSON types (maps with string keys, lists, strings, numbers, booleans); objects that
 * Vert.x-Web keeps in sessions (its user holder) arrive wrapped in a small JSON object the middleware unwraps on
 * load. A backend stores them as they are and returns them unchanged in {@link SessionRecord#data()}.
 *
 * <p>Two ways to store a change set, both correct:
 * <ul>
 *   <li><b>whole session</b>: write {@link #data()} under {@link #id()};</li>
 *   <li><b>per key</b> (merges parallel requests): apply {@link #cleared()}, {@link #removed()} and
 *       {@link #changed()} to what is stored now.</li>
 * </ul>
 * Either way: when {@link #previousId()} is set, the session was regenerated and its data is still stored under
 * that ID: move it to {@link #id()} (whole session: write {@link #data()} under the new ID, delete the previous
 * one). When {@link #isNew()} is false and the session is no longer stored (under {@link #previousId()} if set,
 * else {@link #id()}), it was deleted meanwhile (a logout in another tab, or expiry): store nothing and complete
 * with false (no resurrection).
 *
 * <p>The middleware builds change sets; a backend's own tests build them with {@link #builder(String)}.
 */
public final class SessionChanges {

    private final String id;
    private final String previousId;
    private final boolean isNew;
    private final boolean cleared;
    private final Map<String, Object> changed;
    private final Set<String> removed;
    private final Map<String, Object> data;
    private final long createdAtMillis;
    private final long expiresAtMillis;
    private final long savedAtMillis;
    private final Duration perSessionExpiry;
    private final int maxSessionsPerUser;
    private final boolean refuseOverLimit;

    SessionChanges(
            String id,
            String previousId,
            boolean isNew,
            boolean cleared,
            Map<String, Object> changed,
            Set<String> removed,
            Map<String, Object> data,
            long createdAtMillis,
            long expiresAtMillis,
            long savedAtMillis,
            Duration perSessionExpiry,
            int maxSessionsPerUser,
            boolean refuseOverLimit) {
        this.id = id;
        this.previousId = previousId;
        this.isNew = isNew;
        this.cleared = cleared;
        this.changed = changed;
        this.removed = removed;
        this.data = data;
        this.createdAtMillis = createdAtMillis;
        this.expiresAtMillis = expiresAtMillis;
        this.savedAtMillis = savedAtMillis;
        this.perSessionExpiry = perSessionExpiry;
        this.maxSessionsPerUser = maxSessionsPerUser;
        this.refuseOverLimit = refuseOverLimit;
    }

    /** Returns the ID to store the session under. */
    public String id() {
        return id;
    }

    /** Returns the ID the session is stored under before a {@code regenerate()}, or null. */
    public String previousId() {
        return previousId;
    }

    /** Returns whether the session was never stored: create it, whether or not the ID exists. */
    public boolean isNew() {
        return isNew;
    }

    /** Returns whether {@code clear()} ran: stored keys not in {@link #data()} are to be removed. */
    public boolean cleared() {
        return cleared;
    }

    /** Returns the keys this request put, with their values (read-only). */
    public Map<String, Object> changed() {
        return changed;
    }

    /** Returns the keys this request removed (read-only). */
    public Set<String> removed() {
        return removed;
    }

    /** Returns the whole session as this request sees it after its changes (read-only). */
    public Map<String, Object> data() {
        return data;
    }

    /** Returns when the session was created, in epoch milliseconds. */
    public long createdAtMillis() {
        return createdAtMillis;
    }

    /** Returns when the session expires after this save, in epoch milliseconds (idle and absolute expiry applied). */
    public long expiresAtMillis() {
        return expiresAtMillis;
    }

    /** Returns when this save started, in epoch milliseconds of the configured clock. */
    public long savedAtMillis() {
        return savedAtMillis;
    }

    /** Returns how long the stored session lives from now: a TTL for stores that expire keys themselves. */
    public Duration timeToLive() {
        return Duration.ofMillis(Math.max(0, expiresAtMillis - savedAtMillis));
    }

    /** Returns the lifetime set on this session only, or null when it uses the configured {@code expiry}. */
    public Duration perSessionExpiry() {
        return perSessionExpiry;
    }

    /**
     * Returns whether the session is anonymous: never promoted by {@code regenerate()} or a login (the session's
     * {@code isAnonymous()}). A backend that bounds its size evicts anonymous sessions first.
     */
    public boolean isAnonymous() {
        return ReservedKeys.isAnonymous(data);
    }

    /**
     * Returns the user this session belongs to after this save, or null: the value of the reserved key
     * {@code __vertx-sessions.principal} in {@link #data()}. A backend with
     * {@link SessionBackend.Capability#USER_INDEX} indexes the session under it (a per-key merging backend reads the
     * merged result instead, which is the same unless a parallel request changed the user).
     */
    public String principal() {
        return ReservedKeys.principalOf(data);
    }

    /**
     * Returns how many sessions one principal may hold ({@code max_sessions_per_user}), or 0 for no limit. A backend
     * with {@link SessionBackend.Capability#USER_INDEX} enforces it in the save that makes a session its principal's
     * (a login, or a move to a new ID of a session not yet indexed): past it, the principal's session that expires
     * first is deleted in the same atomic operation, or, when {@link #refuseOverLimit()}, nothing is written and the
     * save fails with {@link SessionLimitException}.
     */
    public int maxSessionsPerUser() {
        return maxSessionsPerUser;
    }

    /** Returns whether a save past {@link #maxSessionsPerUser()} is refused rather than ending the oldest session. */
    public boolean refuseOverLimit() {
        return refuseOverLimit;
    }

    /**
     * Applies this change set to {@code stored}, a stored session's data, in place: the per-key merge that keeps
     * what parallel requests wrote to other keys. After {@code clear()} only the keys of {@link #data()} survive;
     * then {@link #removed()} go and {@link #changed()} are put. A whole-document backend calls it on the document
     * it read under its lock (or in its transaction) and writes the result.
     */
    public void applyTo(Map<String, Object> stored) {
        applyTo(stored, value -> value);
    }

    /**
     * Applies this change set to {@code stored} as {@link #applyTo(Map)} does, putting each changed value as
     * {@code encode} returns it: for a backend that keeps each value encoded (the memory backend keeps JSON bytes).
     */
    public <V> void applyTo(Map<String, V> stored, Function<Object, ? extends V> encode) {
        if (cleared) {
            stored.keySet().retainAll(data.keySet());
        }
        removed.forEach(stored::remove);
        changed.forEach((key, value) -> stored.put(key, encode.apply(value)));
    }

    /** Returns whether this change set changes nothing but the expiry (a rolling renewal or an atomic update). */
    public boolean isEmpty() {
        return !cleared && changed.isEmpty() && removed.isEmpty() && previousId == null;
    }

    /**
     * Returns a builder of a change set for session {@code id}, for a backend's tests (the test kit's SPI contract
     * uses it). By default the session is new, was created and saved now (the system clock) and expires a day later.
     */
    public static Builder builder(String id) {
        return new Builder(id);
    }

    /** Builds a {@link SessionChanges} as the middleware would at the end of a request. Not thread-safe. */
    public static final class Builder {

        private final String id;
        private String previousId;
        private boolean isNew = true;
        private boolean cleared;
        private final Map<String, Object> loaded = new LinkedHashMap<>();
        private final Map<String, Object> changed = new LinkedHashMap<>();
        private final Set<String> removed = new LinkedHashSet<>();
        private long savedAtMillis = System.currentTimeMillis();
        private Long createdAtMillis;
        private Long expiresAtMillis;
        private Duration perSessionExpiry;
        private int maxSessionsPerUser;
        private boolean refuseOverLimit;

        private Builder(String id) {
            this.id = Objects.requireNonNull(id, "id");
        }

        /** Marks the session as stored before this request (default: new). */
        public Builder stored() {
            this.isNew = false;
            return this;
        }

        /** Sets the data the request loaded (the stored session before its changes). */
        public Builder loaded(Map<String, Object> data) {
            loaded.putAll(data);
            return this;
        }

        /** Records that the request put {@code key} = {@code value} (a plain JSON value). */
        public Builder put(String key, Object value) {
            removed.remove(key);
            changed.put(key, value);
            return this;
        }

        /** Records that the request removed {@code key}. */
        public Builder remove(String key) {
            changed.remove(key);
            removed.add(key);
            return this;
        }

        /** Records that the request called {@code clear()} before the changes recorded after this call. */
        public Builder clear() {
            cleared = true;
            loaded.clear();
            changed.clear();
            removed.clear();
            return this;
        }

        /** Marks a {@code regenerate()}: the session is stored under {@code previousId} and moves to the new ID. */
        public Builder movedFrom(String previousId) {
            this.previousId = previousId;
            this.isNew = false;
            return this;
        }

        /** Sets when the save starts, in epoch milliseconds (default: now); creation and expiry default from it. */
        public Builder savedAt(long epochMillis) {
            this.savedAtMillis = epochMillis;
            return this;
        }

        /** Sets when the session was created, in epoch milliseconds (default: {@link #savedAt(long)}). */
        public Builder createdAt(long epochMillis) {
            this.createdAtMillis = epochMillis;
            return this;
        }

        /** Sets when the session expires, in epoch milliseconds (default: a day after {@link #savedAt(long)}). */
        public Builder expiresAt(long epochMillis) {
            this.expiresAtMillis = epochMillis;
            return this;
        }

        /** Sets a lifetime for this session only ({@code set_expiry}). */
        public Builder perSessionExpiry(Duration expiry) {
            this.perSessionExpiry = expiry;
            return this;
        }

        /** Sets {@code max_sessions_per_user} and whether a save past it is refused (else the oldest ends). */
        public Builder maxSessionsPerUser(int max, boolean refuse) {
            this.maxSessionsPerUser = max;
            this.refuseOverLimit = refuse;
            return this;
        }

        /** Returns the change set; {@link SessionChanges#data()} is the loaded data with the changes applied. */
        public SessionChanges build() {
            Map<String, Object> data = new LinkedHashMap<>(loaded);
            data.keySet().removeAll(removed);
            data.putAll(changed);
            long created = createdAtMillis != null ? createdAtMillis : savedAtMillis;
            long expires = expiresAtMillis != null
                    ? expiresAtMillis
                    : savedAtMillis + Duration.ofDays(1).toMillis();
            return new SessionChanges(
                    id,
                    previousId,
                    isNew,
                    cleared,
                    Collections.unmodifiableMap(new LinkedHashMap<>(changed)),
                    Collections.unmodifiableSet(new LinkedHashSet<>(removed)),
                    Collections.unmodifiableMap(data),
                    created,
                    expires,
                    savedAtMillis,
                    perSessionExpiry,
                    maxSessionsPerUser,
                    refuseOverLimit);
        }
    }
}
