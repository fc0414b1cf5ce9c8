package dev.vertxsessions;

import java.util.Objects;

/**
 * What the administration API tells about one stored session, without its data: its ID, whose it is, its times and,
 * with {@code record_client_info}, the client it logged in from.
 *
 * @param id the session's ID (what its cookie carries): a secret, as good as the user's password while the session
 *     lives; show it to nobody but its owner
 * @param principal the user the session belongs to ({@link BaseSessionInterface#getPrincipal()}), or null for an
 *     anonymous session ({@link SessionAdmin#get} finds those too)
 * @param createdAtMillis when the session was first stored, in epoch milliseconds
 * @param expiresAtMillis when it expires unless a request renews it, in epoch milliseconds
 * @param lastAccessedAtMillis when it was last saved (every request with {@code rolling}, else the last one that
 *     changed it), in epoch milliseconds; -1 unless {@code record_client_info} is on
 * @param userAgent the {@code User-Agent} of the request that logged it in (its first 256 characters), or null
 *     (unless {@code record_client_info} is on, or the login sent none)
 * @param address the remote address of the request that logged it in, or null (unless {@code record_client_info}
 *     is on)
 */
public record SessionInfo(
        String id,
        String principal,
        long createdAtMillis,
        long expiresAtMillis,
        long lastAccessedAtMillis,
        String userAgent,
        String address) {

    /** Checks the fields. */
    public SessionInfo {
        Objects.requireNonNull(id, "id");
    }

    /** Creates the information a backend's user index gives: no last access, no client. */
    public SessionInfo(String id, String principal, long createdAtMillis, long expiresAtMillis) {
        this(id, principal, createdAtMillis, expiresAtMillis, -1, null, null);
    }
}
