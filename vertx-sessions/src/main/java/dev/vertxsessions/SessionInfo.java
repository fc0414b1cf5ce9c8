package dev.vertxsessions;

import java.util.Objects;

/**
 * What the administration API tells about one stored session, without its data: its ID, whose it is, and its times.
 *
 * @param id the session's ID (what its cookie carries): a secret, as good as the user's password while the session
 *     lives; show it to nobody but its owner
 * @param principal the user the session belongs to ({@link BaseSessionInterface#getPrincipal()})
 * @param createdAtMillis when the session was first stored, in epoch milliseconds
 * @param expiresAtMillis when it expires unless a request renews it, in epoch milliseconds
 */
public record SessionInfo(String id, String principal, long createdAtMillis, long expiresAtMillis) {

    /** Checks the fields. */
    public SessionInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(principal, "principal");
    }
}
