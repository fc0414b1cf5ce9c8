package dev.vertxsessions;

import java.time.Duration;
import java.util.Map;
import java.util.Set;

/** Builds {@link SessionChanges} for tests that drive a store directly (the constructor is the core's alone). */
public final class TestChanges {

    private TestChanges() {}

    /** A change set that puts {@code key} = {@code value} on session {@code id}. */
    public static SessionChanges put(
            String id, boolean isNew, String key, Object value, long createdAt, long expiresAt) {
        SessionChanges.Builder changes = SessionChanges.builder(id)
                .put(key, value)
                .createdAt(createdAt)
                .savedAt(createdAt)
                .expiresAt(expiresAt);
        return (isNew ? changes : changes.stored()).build();
    }

    /** A change set with every field given, as the middleware would build it; {@code savedAt} is "now". */
    public static SessionChanges of(
            String id,
            String previousId,
            boolean isNew,
            boolean cleared,
            Map<String, Object> changed,
            Set<String> removed,
            Map<String, Object> data,
            long createdAt,
            long expiresAt,
            long savedAt,
            Duration perSessionExpiry) {
        return new SessionChanges(
                id,
                previousId,
                isNew,
                cleared,
                changed,
                removed,
                data,
                createdAt,
                expiresAt,
                savedAt,
                perSessionExpiry,
                0,
                false);
    }
}
