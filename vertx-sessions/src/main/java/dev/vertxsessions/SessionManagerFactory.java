package dev.vertxsessions;

import io.vertx.core.Vertx;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Creates a {@link SessionManager} once, when {@link SessionMiddleware#create} is called. This is what
 * {@link SessionConfig#setManager(SessionManagerFactory)} takes; each backend offers one through a static
 * {@code factory(...)} method.
 */
@FunctionalInterface
public interface SessionManagerFactory {

    /**
     * Creates the manager. Called once at start-up; may throw {@link IllegalArgumentException} for a
     * misconfiguration, with a message naming the key and the fix.
     */
    SessionManager create(Vertx vertx, SessionConfig config);

    /**
     * Returns a factory for a custom backend that needs nothing shared between requests: each request gets
     * {@code sessions.get()}. This is the Java form of the seed's {@code "manager": MySessionInterface}.
     */
    static SessionManagerFactory of(Supplier<? extends BaseSessionInterface> sessions) {
        Objects.requireNonNull(sessions, "sessions");
        return (vertx, config) -> sessions::get;
    }
}
