package dev.vertxsessions.memory;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.OptionsReader;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.internal.JsonValues;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The in-memory backend, for development, tests and single-process deployments: sessions live in this JVM, so
 * they are lost at a restart and not shared with other processes.
 *
 * <p>It keeps the guarantees of the server-side backends: saves merge per key, updates are atomic, a logout is
 * never undone by a slow request, and regenerate moves the data. It is bounded: past {@code memory_max_sessions}
 * expired sessions go first, then the least recently used anonymous ones (never promoted by {@code regenerate()}
 * or a login), and only when none is left the least recently used promoted one; {@code metrics().evictions()}
 * counts them. Maps and lists are kept as JSON bytes, so a route
 * handler that changes an object after putting it cannot change what is stored; strings, numbers and booleans,
 * which nobody can change, are kept as they are (no JSON on the common path: a counter, a flag, a name). The user index (principal to IDs)
 * changes with the sessions, under the same lock, so it never holds an ID of a session that is gone (deleted,
 * moved, expired, evicted), and {@code max_sessions_per_user} is checked and applied in the save that makes a session
 * its user's. One lock guards the map: every
 * operation is a few map operations and a JSON copy, far below what would make the lock contended.
 */
public final class MemorySessionBackend implements SessionBackend {

    /** The JSON key of the bound. */
    public static final String MAX_SESSIONS_KEY = "memory_max_sessions";

    private static final Duration SWEEP_INTERVAL = Duration.ofMinutes(1);

    /** One stored session: its values (as {@link JsonValues#freeze} keeps them), and its times. */
    private static final class Entry {
        final LinkedHashMap<String, Object> values = new LinkedHashMap<>();
        long createdAt;
        long expiresAt;
        Duration perSessionExpiry;
        boolean anonymous;
        /** The user the session belongs to, under which {@link #byPrincipal} indexes it; null for none. */
        String principal;
    }

    private final Vertx vertx;
    private final Clock clock;
    private final int maxSessions;
    /** Access order: the first entry is the least recently used. */
    private final LinkedHashMap<String, Entry> sessions = new LinkedHashMap<>(16, 0.75f, true);
    /** The user index: principal to the IDs of its sessions, changed only with {@link #sessions}, under its lock. */
    private final HashMap<String, Map<String, Entry>> byPrincipal = new HashMap<>();

    private long sweeperTimer = -1;
    private volatile BackendRecorder recorder = BackendRecorder.NONE;

    private MemorySessionBackend(Vertx vertx, Clock clock, int maxSessions) {
        this.vertx = vertx;
        this.clock = clock;
        this.maxSessions = maxSessions;
    }

    /** Returns the factory of this backend holding at most {@code maxSessions} sessions. */
    public static SessionBackendFactory factory(int maxSessions) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException(MAX_SESSIONS_KEY + " must be at least 1, got " + maxSessions);
        }
        return (vertx, config) -> new MemorySessionBackend(vertx, config.getClock(), maxSessions);
    }

    static SessionBackend create(Vertx vertx, Clock clock, JsonObject json) {
        OptionsReader options = OptionsReader.of(null, json, Set.of(MAX_SESSIONS_KEY));
        long max = options.integer(MAX_SESSIONS_KEY, 10_000);
        if (max < 1 || max > Integer.MAX_VALUE) {
            throw options.invalid(MAX_SESSIONS_KEY, "between 1 and " + Integer.MAX_VALUE + ", got " + max);
        }
        return new MemorySessionBackend(vertx, clock, (int) max);
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(
                Capability.SERVER_SIDE, Capability.ATOMIC_UPDATE, Capability.PER_KEY_MERGE, Capability.USER_INDEX);
    }

    @Override
    public Future<Void> start(BackendRecorder recorder) {
        this.recorder = recorder;
        sweeperTimer = vertx.setPeriodic(SWEEP_INTERVAL.toMillis(), id -> sweep());
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> close() {
        if (sweeperTimer >= 0) {
            vertx.cancelTimer(sweeperTimer);
        }
        synchronized (sessions) {
            sessions.clear();
            byPrincipal.clear();
        }
        return Future.succeededFuture();
    }

    @Override
    public Future<SessionRecord> load(String id) {
        Map<String, Object> data = new LinkedHashMap<>();
        Entry entry;
        synchronized (sessions) {
            entry = live(id);
            if (entry == null) {
                return Future.succeededFuture();
            }
            try {
                for (Map.Entry<String, Object> value : entry.values.entrySet()) {
                    data.put(value.getKey(), JsonValues.thaw(value.getValue()));
                }
            } catch (IOException e) {
                return Future.failedFuture(new SessionException("stored session could not be read", e));
            }
            return Future.succeededFuture(
                    new SessionRecord(id, data, entry.createdAt, entry.expiresAt, entry.perSessionExpiry));
        }
    }

    @Override
    public Future<Boolean> save(SessionChanges changes) {
        synchronized (sessions) {
            String source = changes.previousId() != null ? changes.previousId() : changes.id();
            Entry entry = live(source);
            if (entry == null && !changes.isNew()) {
                return Future.succeededFuture(false); // deleted meanwhile: no resurrection
            }
            String oldPrincipal = entry == null ? null : entry.principal;
            String newPrincipal = mergedPrincipal(oldPrincipal, changes);
            List<String> ended = List.of();
            if (newPrincipal != null && changes.maxSessionsPerUser() > 0) {
                Map<String, Entry> ids = indexOf(newPrincipal);
                boolean joins = !ids.containsKey(source) && !ids.containsKey(changes.id());
                int surplus = ids.size() + 1 - changes.maxSessionsPerUser();
                if (joins && surplus > 0) {
                    if (changes.refuseOverLimit()) {
                        return Future.failedFuture(SessionLimitException.atLimit(changes.maxSessionsPerUser()));
                    }
                    ended = expiringFirst(ids).subList(0, surplus);
                }
            }
            if (entry == null) {
                entry = new Entry();
                entry.createdAt = changes.createdAtMillis();
            } else if (changes.previousId() != null) {
                remove(changes.previousId());
            }
            changes.applyTo(entry.values, JsonValues::freeze);
            entry.expiresAt = changes.expiresAtMillis();
            if (changes.perSessionExpiry() != null) {
                entry.perSessionExpiry = changes.perSessionExpiry();
            }
            entry.anonymous = changes.isAnonymous();
            for (String id : ended) {
                remove(id);
                recorder.reportEndedByLimit(id, newPrincipal);
            }
            unindex(source, oldPrincipal);
            entry.principal = newPrincipal;
            if (newPrincipal != null) {
                byPrincipal
                        .computeIfAbsent(newPrincipal, p -> new LinkedHashMap<>())
                        .put(changes.id(), entry);
            }
            put(changes.id(), entry);
            return Future.succeededFuture(true);
        }
    }

    /**
     * Returns the principal of the stored session, held by {@code stored}, after {@code changes} are merged: the
     * merge itself ({@link SessionChanges#applyTo(Map)}: cleared, then removed, then changed), on that one key, before
     * the entry changes.
     */
    private static String mergedPrincipal(String stored, SessionChanges changes) {
        String key = BaseSessionInterface.PRINCIPAL_KEY;
        Object merged = stored;
        if ((changes.cleared() && !changes.data().containsKey(key))
                || changes.removed().contains(key)) {
            merged = null;
        }
        if (changes.changed().containsKey(key)) {
            merged = changes.changed().get(key);
        }
        return merged instanceof String principal ? principal : null;
    }

    /**
     * Returns the live sessions of {@code principal} by ID, removing expired ones; reads the index only, so listing a
     * user's sessions does not make them recently used. Call with the lock held.
     */
    private Map<String, Entry> indexOf(String principal) {
        Map<String, Entry> ids = byPrincipal.get(principal);
        if (ids == null) {
            return Map.of();
        }
        long now = clock.millis();
        for (Map.Entry<String, Entry> indexed : new ArrayList<>(ids.entrySet())) {
            if (indexed.getValue().expiresAt <= now) {
                remove(indexed.getKey());
            }
        }
        return byPrincipal.getOrDefault(principal, Map.of());
    }

    /** Returns the IDs of {@code ids} ordered by expiry, the one that expires first first. */
    private static List<String> expiringFirst(Map<String, Entry> ids) {
        List<String> ordered = new ArrayList<>(ids.keySet());
        ordered.sort(Comparator.comparingLong((String id) -> ids.get(id).expiresAt));
        return ordered;
    }

    /** Removes {@code id} from the index of {@code principal}. Call with the lock held. */
    private void unindex(String id, String principal) {
        if (principal == null) {
            return;
        }
        Map<String, Entry> ids = byPrincipal.get(principal);
        if (ids != null && ids.remove(id) != null && ids.isEmpty()) {
            byPrincipal.remove(principal);
        }
    }

    /** Removes a session and its index entry. Call with the lock held. */
    private Entry remove(String id) {
        Entry entry = sessions.remove(id);
        if (entry != null) {
            unindex(id, entry.principal);
        }
        return entry;
    }

    @Override
    public Future<List<SessionInfo>> sessionsOf(String principal) {
        synchronized (sessions) {
            List<SessionInfo> infos = new ArrayList<>();
            Map<String, Entry> ids = indexOf(principal);
            for (String id : expiringFirst(ids)) {
                Entry entry = ids.get(id);
                infos.add(new SessionInfo(id, principal, entry.createdAt, entry.expiresAt));
            }
            return Future.succeededFuture(infos);
        }
    }

    @Override
    public Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        synchronized (sessions) {
            List<String> deleted = new ArrayList<>();
            for (String id : new ArrayList<>(indexOf(principal).keySet())) {
                if (!id.equals(exceptId)) {
                    remove(id);
                    deleted.add(id);
                }
            }
            return Future.succeededFuture(deleted);
        }
    }

    @Override
    public Future<Void> delete(String id) {
        synchronized (sessions) {
            remove(id);
        }
        return Future.succeededFuture();
    }

    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        synchronized (sessions) {
            Entry entry = live(session.id());
            if (entry == null && !session.isNew()) {
                return Future.failedFuture(new SessionException("session no longer exists (it was invalidated or "
                        + "expired); session key '" + key + "' was not updated"));
            }
            if (entry == null) {
                entry = new Entry();
                entry.createdAt = session.createdAtMillis();
                entry.perSessionExpiry = session.perSessionExpiry();
            }
            try {
                Object current = entry.values.get(key);
                Object value = update.apply(current == null ? null : JsonValues.thaw(current));
                if (value == null) {
                    entry.values.remove(key);
                } else {
                    entry.values.put(key, JsonValues.freeze(value));
                }
                entry.expiresAt = Math.max(entry.expiresAt, session.expiresAtMillis());
                entry.anonymous = session.isAnonymous();
                put(session.id(), entry);
                return Future.succeededFuture(value);
            } catch (IOException | RuntimeException e) {
                return Future.failedFuture(e);
            }
        }
    }

    /** Returns the entry of {@code id} unless it has expired (then it is removed). Call with the lock held. */
    private Entry live(String id) {
        Entry entry = sessions.get(id);
        if (entry != null && entry.expiresAt <= clock.millis()) {
            remove(id);
            reportExpired(id, entry);
            return null;
        }
        return entry;
    }

    /**
     * Stores {@code entry}; past the bound, evicts expired sessions, then the least recently used anonymous ones,
     * then the least recently used promoted ones (never the one just stored).
     */
    private void put(String id, Entry entry) {
        sessions.put(id, entry);
        if (sessions.size() <= maxSessions) {
            return;
        }
        removeExpired();
        evict(id, true);
        evict(id, false);
    }

    private void evict(String kept, boolean anonymousOnly) {
        Iterator<Map.Entry<String, Entry>> eldest = sessions.entrySet().iterator();
        while (sessions.size() > maxSessions && eldest.hasNext()) {
            Map.Entry<String, Entry> candidate = eldest.next();
            if (!candidate.getKey().equals(kept) && (!anonymousOnly || candidate.getValue().anonymous)) {
                eldest.remove();
                unindex(candidate.getKey(), candidate.getValue().principal);
                recorder.recordEviction();
            }
        }
    }

    private void sweep() {
        int removed;
        synchronized (sessions) {
            removed = removeExpired();
        }
        if (removed > 0) {
            recorder.recordSweeperDeletions(removed);
        }
    }

    private int removeExpired() {
        long now = clock.millis();
        int removed = 0;
        for (Iterator<Map.Entry<String, Entry>> entries = sessions.entrySet().iterator(); entries.hasNext(); ) {
            Map.Entry<String, Entry> entry = entries.next();
            if (entry.getValue().expiresAt <= now) {
                entries.remove();
                unindex(entry.getKey(), entry.getValue().principal);
                reportExpired(entry.getKey(), entry.getValue());
                removed++;
            }
        }
        return removed;
    }

    /** Tells the middleware's listeners that {@code id} expired (they run later, outside the lock). */
    private void reportExpired(String id, Entry entry) {
        recorder.reportExpired(id, entry.principal);
    }

    /** Returns how many sessions the map holds (expired ones included until they are read or evicted). */
    @Override
    public long activeSessions() {
        synchronized (sessions) {
            return sessions.size();
        }
    }
}
