package dev.vertxsessions;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Regenerates whose save failed after the response had given the browser the new ID: new ID to previous ID, so
 * the browser's next request finds the pre-login session where the failed move left it. Bounded (the oldest
 * entries go first) and per process. Thread-safe.
 */
final class FailedMoves {

    private static final int MAX_ENTRIES = 10_000;

    private final Map<String, String> previousIds = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    /** Remembers that the session meant to move from {@code previousId} to {@code id} stayed where it was. */
    synchronized void remember(String id, String previousId) {
        previousIds.put(id, previousId);
    }

    /** Returns, and forgets, the ID a failed move of {@code id} left the session under; null when there is none. */
    synchronized String take(String id) {
        return previousIds.isEmpty() ? null : previousIds.remove(id);
    }
}
