package dev.vertxsessions;

import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.Objects;

/**
 * Something that happened to a session, told to the listeners of {@link SessionMiddleware#onEvent} once the store
 * has confirmed it: a session was created (its first save succeeded), regenerated (moved to a new ID), destroyed
 * (with the {@link Cause}) or found expired. It never holds the session's data: only its ID (and the previous one for
 * {@link Kind#REGENERATED}), its principal when known, the backend's name and the time. Immutable.
 *
 * <p>README's "Session events" says which backend reports what.
 */
public final class SessionEvent {

    /** What happened. */
    public enum Kind {
        /** The first save of a new session succeeded. */
        CREATED,
        /** The session moved to a new ID ({@code regenerate()}, a login); {@link #previousId()} is the old one. */
        REGENERATED,
        /** The session was ended before its expiry; {@link #cause()} says by whom. */
        DESTROYED,
        /** The session's expiry passed: a load found it expired, or the backend's sweeper deleted it. */
        EXPIRED
    }

    /** Why a session was {@link Kind#DESTROYED}. */
    public enum Cause {
        /** The request ended it: {@code destroy()}, {@code clear()}, a logout, {@code newSession()}. */
        LOGOUT,
        /** The administration API ended it: {@link SessionAdmin#delete}, {@link SessionAdmin#deleteAllOf}. */
        ADMIN,
        /** A login past {@code max_sessions_per_user} with policy {@code end_oldest} ended it. */
        LIMIT
    }

    /** A listener added with {@link SessionMiddleware#onEvent}; {@link #remove()} stops its events. */
    @FunctionalInterface
    public interface Registration {
        /** Stops delivering events to the listener; events already on their way may still arrive. */
        void remove();
    }

    private final Kind kind;
    private final String id;
    private final String previousId;
    private final Cause cause;
    private final String principal;
    private final String backend;
    private final long atMillis;

    /**
     * Creates an event. {@code previousId} is required for {@link Kind#REGENERATED} only, {@code cause} for
     * {@link Kind#DESTROYED} only; {@code principal} may be null (unknown, or an anonymous session).
     */
    public SessionEvent(
            Kind kind, String id, String previousId, Cause cause, String principal, String backend, long atMillis) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.id = Objects.requireNonNull(id, "id");
        if ((kind == Kind.REGENERATED) != (previousId != null)) {
            throw new IllegalArgumentException("previousId is given for REGENERATED events only, and always");
        }
        if ((kind == Kind.DESTROYED) != (cause != null)) {
            throw new IllegalArgumentException("cause is given for DESTROYED events only, and always");
        }
        this.previousId = previousId;
        this.cause = cause;
        this.principal = principal;
        this.backend = Objects.requireNonNull(backend, "backend");
        this.atMillis = atMillis;
    }

    /** Returns what happened. */
    public Kind kind() {
        return kind;
    }

    /** Returns the session's ID: after a regenerate the new one. */
    public String id() {
        return id;
    }

    /** Returns the ID before the move for {@link Kind#REGENERATED}, else null. */
    public String previousId() {
        return previousId;
    }

    /** Returns why the session ended for {@link Kind#DESTROYED}, else null. */
    public Cause cause() {
        return cause;
    }

    /** Returns the session's principal (its user) when known, else null. */
    public String principal() {
        return principal;
    }

    /** Returns the backend's name: {@code signed}, {@code file}, {@code redis}, {@code memory}, ... or "custom". */
    public String backend() {
        return backend;
    }

    /** Returns when the middleware learnt of it, in milliseconds since the epoch (the configuration's clock). */
    public long atMillis() {
        return atMillis;
    }

    /**
     * Returns the event as JSON, as published on the event bus: {@code kind}, {@code id}, {@code previous_id},
     * {@code cause} (lower case), {@code principal}, {@code backend}, {@code at}; absent values are left out.
     */
    public JsonObject toJson() {
        JsonObject json = new JsonObject()
                .put("kind", kind.name().toLowerCase(Locale.ROOT))
                .put("id", id);
        if (previousId != null) {
            json.put("previous_id", previousId);
        }
        if (cause != null) {
            json.put("cause", cause.name().toLowerCase(Locale.ROOT));
        }
        if (principal != null) {
            json.put("principal", principal);
        }
        return json.put("backend", backend).put("at", atMillis);
    }

    /** Reads an event written by {@link #toJson()} (e.g. received from the event bus). */
    public static SessionEvent fromJson(JsonObject json) {
        String cause = json.getString("cause");
        return new SessionEvent(
                Kind.valueOf(json.getString("kind").toUpperCase(Locale.ROOT)),
                json.getString("id"),
                json.getString("previous_id"),
                cause == null ? null : Cause.valueOf(cause.toUpperCase(Locale.ROOT)),
                json.getString("principal"),
                json.getString("backend"),
                json.getLong("at", 0L));
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SessionEvent that
                && kind == that.kind
                && id.equals(that.id)
                && Objects.equals(previousId, that.previousId)
                && cause == that.cause
                && Objects.equals(principal, that.principal)
                && backend.equals(that.backend)
                && atMillis == that.atMillis;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, id, previousId, cause, principal, backend, atMillis);
    }

    /** Returns the kind, cause and backend; never the session ID (log lines must not hold one). */
    @Override
    public String toString() {
        return "SessionEvent[" + kind + (cause == null ? "" : " " + cause) + ", backend " + backend + "]";
    }
}
