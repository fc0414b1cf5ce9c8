package dev.vertxsessions;

import io.vertx.core.Vertx;

/**
 * Creates the {@link SessionBackend} of a middleware, once, in {@link SessionMiddleware#create}. Pass one to
 * {@link SessionConfig#setBackend(SessionBackendFactory)}; each built-in backend offers one through a static
 * {@code factory(...)} method.
 */
@FunctionalInterface
public interface SessionBackendFactory {

    /**
     * Creates the backend. Called once at start-up with the validated configuration; throws
     * {@link IllegalArgumentException} for a misconfiguration, with a message naming the key and the fix. It runs
     * where {@link SessionMiddleware#create} is called, often a verticle's {@code start()} on its event loop: keep it
     * to brief local work (the file backend checks its directory and takes its lock file here); network I/O belongs
     * in {@link SessionBackend#start(BackendRecorder)}.
     */
    SessionBackend create(Vertx vertx, SessionConfig config);
}
