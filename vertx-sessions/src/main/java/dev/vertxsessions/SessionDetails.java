package dev.vertxsessions;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;

/**
 * A stored session as {@link SessionAdmin#get} finds it: what {@link SessionInfo} tells, and the data route handlers
 * put in it.
 *
 * @param info its ID, principal, times and client
 * @param data the application's values in their stored JSON form (maps, lists, strings, numbers, booleans), without
 *     the middleware's own keys; read-only
 */
public record SessionDetails(SessionInfo info, Map<String, Object> data) {

    /** Checks the fields; {@code data} is wrapped read-only. */
    public SessionDetails {
        Objects.requireNonNull(info, "info");
        data = Collections.unmodifiableMap(Objects.requireNonNull(data, "data"));
    }
}
