package dev.vertxsessions;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;

/**
 * A session as a backend loaded it: what {@link SessionBackend#load(String)} returns. Immutable.
 *
 * <p>The values of {@link #data()} are plain JSON types (maps with string keys, lists, strings, numbers,
 * booleans, null), exactly as {@link SessionChanges} handed them to the backend; the middleware turns them back
 * into the objects route handlers put (for example Vert.x-Web's user holder). The middleware enforces expiry on
 * load, so a backend may return a record that has expired: it is treated as no session and counted.
 *
 * @param id the session's ID (for server-side backends, the value the cookie carried)
 * @param data the stored values; taken as is, not copied: do not change the map afterwards
 * @param createdAtMillis when the session was first stored, in epoch milliseconds
 * @param expiresAtMillis when the session expires, in epoch milliseconds
 * @param perSessionExpiry the lifetime set with the session's {@code setExpiry}, or null when the session uses the
 *     configured {@code expiry}
 * @param rewrite whether the session must be saved again even if the request does not change it (the signed-cookie
 *     backend sets it for a cookie signed with a fallback key, to re-issue it under the current one)
 */
public record SessionRecord(
        String id,
        Map<String, Object> data,
        long createdAtMillis,
        long expiresAtMillis,
        Duration perSessionExpiry,
        boolean rewrite) {

    /** Checks the fields; {@code data} is wrapped read-only. */
    public SessionRecord {
        Objects.requireNonNull(id, "id");
        data = Collections.unmodifiableMap(Objects.requireNonNull(data, "data"));
    }

    /**
     * Returns whether the session is anonymous: never promoted by {@code regenerate()} or a login (the session's
     * {@code isAnonymous()}).
     */
    public boolean isAnonymous() {
        return ReservedKeys.isAnonymous(data);
    }

    /** Returns the user this session belongs to (the session's {@code getPrincipal()}), or null. */
    public String principal() {
        return ReservedKeys.principalOf(data);
    }

    /**
     * Returns what the administration API tells about this session: its ID, principal and times, and the client it
     * logged in from when {@code record_client_info} kept it. A backend whose user index reads the sessions anyway
     * answers {@link SessionBackend#sessionsOf} with these, so that the middleware need not load them again.
     */
    public SessionInfo info() {
        return new SessionInfo(
                id,
                principal(),
                createdAtMillis,
                expiresAtMillis,
                data.get(ReservedKeys.LAST_ACCESS) instanceof Number lastAccess ? lastAccess.longValue() : -1,
                data.get(ReservedKeys.USER_AGENT) instanceof String userAgent ? userAgent : null,
                data.get(ReservedKeys.ADDRESS) instanceof String address ? address : null);
    }

    /** Creates a record that needs no rewrite: what most backends return. */
    public SessionRecord(
            String id,
            Map<String, Object> data,
            long createdAtMillis,
            long expiresAtMillis,
            Duration perSessionExpiry) {
        this(id, data, createdAtMillis, expiresAtMillis, perSessionExpiry, false);
    }
}
