package dev.vertxsessions;

import io.vertx.core.Future;

/**
 * A running session backend: it creates the per-request session object and owns whatever the backend shares
 * between requests (a connection pool, a sweeper timer, a directory lock).
 *
 * <p>Implementations must be thread-safe: one manager serves every event loop of the application.
 */
public interface SessionManager {

    /** Returns a new, empty, not yet loaded session object for one request. */
    BaseSessionInterface newSession();

    /**
     * Gives the backend what it reports its own work with (e.g. sweeper deletions, sessions it expired), once,
     * before the first request. Defaults to ignoring it.
     */
    default void useRecorder(BackendRecorder recorder) {}

    /** Releases what the backend holds (timers, connections). Defaults to doing nothing. */
    default Future<Void> close() {
        return Future.succeededFuture();
    }
}
