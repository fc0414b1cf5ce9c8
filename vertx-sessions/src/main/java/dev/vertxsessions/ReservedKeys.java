package dev.vertxsessions;

import dev.vertxsessions.internal.VertxWebBridge;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The data keys the middleware keeps its own choices under, and what they say about a session's data: whether it
 * is anonymous, whose it is. Shared by the session and the SPI's types, so that those import nothing of the session.
 * Kept in the data (not beside it) so that every backend stores them without knowing them.
 */
final class ReservedKeys {

    /** How every reserved key starts; a session holding nothing else counts as empty. */
    static final String PREFIX = "__vertx-sessions.";

    /** The key {@code setRememberMe} keeps its choice under. */
    static final String REMEMBER_ME = PREFIX + "rememberMe";

    /** The key {@code regenerate()} marks a session promoted under. */
    static final String PROMOTED = PREFIX + "promoted";

    /** The key that holds the session's principal. */
    static final String PRINCIPAL = PREFIX + "principal";

    /** The key that holds the time of the session's last save, with {@code record_client_info}. */
    static final String LAST_ACCESS = PREFIX + "lastAccess";

    /** The key that holds the {@code User-Agent} of the login, with {@code record_client_info}. */
    static final String USER_AGENT = PREFIX + "userAgent";

    /** The key that holds the remote address of the login, with {@code record_client_info}. */
    static final String ADDRESS = PREFIX + "address";

    private ReservedKeys() {}

    /** Returns whether {@code key} is one of the middleware's own. */
    static boolean isReserved(String key) {
        return key.startsWith(PREFIX);
    }

    /** Returns whether a session holding {@code data} is anonymous: not promoted, holding no user or principal. */
    static boolean isAnonymous(Map<String, Object> data) {
        return !Boolean.TRUE.equals(data.get(PROMOTED))
                && !data.containsKey(VertxWebBridge.USER_HOLDER_KEY)
                && !data.containsKey(PRINCIPAL);
    }

    /**
     * Returns whether a session holding {@code data} holds nothing worth storing: no key of the application's own
     * and no principal (a login made with {@code setPrincipal} alone is kept).
     */
    static boolean holdsNothing(Map<String, Object> data) {
        return !data.containsKey(PRINCIPAL) && !hasOwnKey(data);
    }

    /** Returns whether {@code data} holds a key of the application's own (not reserved). */
    private static boolean hasOwnKey(Map<String, Object> data) {
        for (String key : data.keySet()) {
            if (!isReserved(key)) {
                return true;
            }
        }
        return false;
    }

    /** Returns {@code data} (read-only) without the reserved keys: itself when it holds none, else a copy. */
    static Map<String, Object> withoutReserved(Map<String, Object> data) {
        if (data.keySet().stream().noneMatch(ReservedKeys::isReserved)) {
            return Collections.unmodifiableMap(data);
        }
        Map<String, Object> own = new LinkedHashMap<>(data);
        own.keySet().removeIf(ReservedKeys::isReserved);
        return Collections.unmodifiableMap(own);
    }

    /** Refuses the keys the middleware keeps its own choices under, so that a client-chosen key cannot set them. */
    static void checkWritable(String key) {
        if (isReserved(key)) {
            throw new IllegalArgumentException("session key '" + key + "' is reserved: keys starting with " + PREFIX
                    + " hold the middleware's own state (use regenerate() and setRememberMe()); choose another key");
        }
    }

    /** Returns the principal of a session holding {@code data}, or null. */
    static String principalOf(Map<String, Object> data) {
        return data.get(PRINCIPAL) instanceof String principal ? principal : null;
    }
}
