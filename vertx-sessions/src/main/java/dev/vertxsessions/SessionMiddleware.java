package dev.vertxsessions;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.CookieSameSite;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.SessionHandler;

/**
 * The handler that gives every request a session: it loads the session named by the request's cookie through the
 * configured {@link SessionBackend}, attaches it to the {@link RoutingContext}, and saves it when the response
 * headers are sent.
 *
 * <pre>{@code
 * SessionConfig config = new SessionConfig().setSecretKey(System.getenv("SECRET_KEY"));
 * router.route().handler(SessionMiddleware.create(vertx, config));
 * router.get("/").handler(ctx -> {
 *   BaseSessionInterface session = SessionMiddleware.session(ctx);
 *   int counter = session.get("counter", 0) + 1;
 *   session.put("counter", counter);
 *   ctx.end("You've visited this page " + counter + " times");
 * });
 * }</pre>
 *
 * <p>It is a Vert.x-Web {@link SessionHandler}, so it replaces {@code SessionHandler.create(store)} in one line:
 * the router orders it like Vert.x-Web's own (a platform handler, before body and authentication handlers), and
 * {@code flush}, {@code newSession}, {@code setUser} and the cookie setters work. README's "Coming from
 * Vert.x-Web" lists what differs and why. The handler is thread-safe: create it once and share it between
 * verticle instances, so the backend (its connection pool, its sweeper) exists once.
 */
public interface SessionMiddleware extends SessionHandler {

    /**
     * Creates the middleware and starts its backend ({@link #ready()}). Throws {@link IllegalArgumentException}
     * naming the key and the fix when the configuration is invalid (no secret key for signed cookies,
     * SameSite=None without Secure, ...).
     */
    static SessionMiddleware create(Vertx vertx, SessionConfig config) {
        return new SessionMiddlewareImpl(vertx, config);
    }

    /**
     * Creates the middleware and completes once its backend has started: await it in a verticle's start, so a
     * backend that cannot start (a database that refuses the schema) fails the application's start-up. After a
     * failed start the backend is closed.
     */
    static Future<SessionMiddleware> start(Vertx vertx, SessionConfig config) {
        try {
            SessionMiddleware middleware = create(vertx, config);
            return middleware
                    .ready()
                    .map(middleware)
                    .recover(e -> middleware.close().transform(closed -> Future.failedFuture(e)));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    /**
     * Returns the session of the request, the same object as {@code ctx.session()}. Throws
     * {@link IllegalStateException} when no SessionMiddleware ran for this request.
     */
    static BaseSessionInterface session(RoutingContext ctx) {
        BaseSessionInterface session = ctx.get(SessionMiddlewareImpl.CONTEXT_KEY);
        if (session == null) {
            throw new IllegalStateException("no session on this request: add SessionMiddleware.create(vertx, config) "
                    + "to the router before this route");
        }
        return session;
    }

    /**
     * Returns a Future that completes when the backend has started ({@link SessionBackend#start}), or fails with
     * its cause. Requests that arrive earlier wait for it; after a failure they get a 503.
     */
    Future<Void> ready();

    /**
     * Completes when the backend has started and answers now ({@link SessionBackend#checkHealth()}: Redis answers a
     * PING within redis_timeout_ms), or fails with the reason. Await it at start-up to refuse to start while the
     * store is unreachable (requests would get 503), or call it from a health endpoint.
     */
    Future<Void> checkHealth();

    /**
     * Returns how many sessions the backend holds when it counts them without I/O (the memory backend), or -1
     * ({@link SessionBackend#activeSessions()}).
     */
    long activeSessions();

    /**
     * Returns the administration API: a user's sessions, ending one by ID, all of a user's or all but one (see
     * {@link SessionAdmin}). The operations about users need a backend with
     * {@link SessionBackend.Capability#USER_INDEX} (memory, files, Redis) and fail, naming why, on others.
     */
    SessionAdmin sessions();

    /**
     * Adds a listener of the sessions' lifecycle: created, regenerated, destroyed (logout, admin, limit), expired
     * ({@link SessionEvent}). Each event comes once the store has confirmed it, on the Vert.x context this method is
     * called on (else the one the middleware was created on), never inside a request's processing; a listener that
     * throws is logged and affects nothing else. The {@code events_address} option also publishes every event on
     * the event bus, for a clustered application. README's "Session events" lists what each backend reports.
     *
     * @param listener called with each event
     * @return the registration, whose {@code remove()} stops the events
     */
    SessionEvent.Registration onEvent(Handler<SessionEvent> listener);

    /** Returns the counters of this middleware: loads, saves, failures, tampered cookies, conflicts, ... */
    SessionMetrics metrics();

    /** Returns the configuration the middleware runs with: validated, and read-only. */
    SessionConfig config();

    /**
     * Stops the backend (sweeper timers, connections). Vert.x calls it too, like it closes its own clients: when the
     * verticle that created the middleware is undeployed, or with {@code vertx.close()} for a middleware created
     * outside a verticle. Calling it again returns the same Future.
     */
    Future<Void> close();

    /** Sets {@code expiry} in milliseconds (rounded up to seconds), as Vert.x-Web's session timeout. */
    @Override
    SessionMiddleware setSessionTimeout(long timeout);

    /** Does nothing: the middleware logs no warning for plain HTTP; use {@code cookie_secure} in production. */
    @Override
    SessionMiddleware setNagHttps(boolean nag);

    /** Sets {@code cookie_secure}. */
    @Override
    SessionMiddleware setCookieSecureFlag(boolean secure);

    /** Sets {@code cookie_httponly}. */
    @Override
    SessionMiddleware setCookieHttpOnlyFlag(boolean httpOnly);

    /** Sets {@code session_cookie_name}. */
    @Override
    SessionMiddleware setSessionCookieName(String sessionCookieName);

    /** Sets {@code cookie_path}. */
    @Override
    SessionMiddleware setSessionCookiePath(String sessionCookiePath);

    /** Does nothing: session IDs are always 43 characters (256 random bits), longer than any sensible minimum. */
    @Override
    SessionMiddleware setMinLength(int minLength);

    /** Sets {@code cookie_samesite}; null means Lax, this library's default. */
    @Override
    SessionMiddleware setCookieSameSite(CookieSameSite policy);

    /** Sets {@code lazy_session}. */
    @Override
    SessionMiddleware setLazySession(boolean lazySession);

    /**
     * Sets {@code cookie_persistent}: a negative value gives browser-session cookies, any other value persistent
     * ones whose Max-Age is the session's expiry (the server's expiry is what counts either way).
     */
    @Override
    SessionMiddleware setCookieMaxAge(long cookieMaxAge);

    /**
     * Refuses {@code true} with {@link UnsupportedOperationException}: a session ID in the URL leaks through
     * Referer headers, logs and shared links. {@code false} does nothing.
     */
    @Override
    SessionMiddleware setCookieless(boolean cookieless);

    /**
     * Refuses with {@link UnsupportedOperationException}: set {@code secret_key} in {@link SessionConfig}. Signed
     * cookies are signed with it; server-side session IDs are 256 random bits and need no signature.
     */
    @Override
    SessionMiddleware setSigningSecret(String secret);
}
