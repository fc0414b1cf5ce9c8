package dev.vertxsessions;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

/**
 * The handler that gives every request a session: it loads the session named by the request's cookie through the
 * configured backend, attaches it to the {@link RoutingContext}, and saves it when the response headers are sent.
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
 * <p>The handler is thread-safe: create it once and share it between verticle instances, so the backend (its
 * connection pool, its sweeper) exists once.
 */
public interface SessionMiddleware extends Handler<RoutingContext> {

  /**
   * Creates the middleware. Throws {@link IllegalArgumentException} naming the key and the fix when the
   * configuration is invalid (no secret key for signed cookies, SameSite=None without Secure, ...).
   */
  static SessionMiddleware create(Vertx vertx, SessionConfig config) {
    return new SessionMiddlewareImpl(vertx, config);
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

  /** Returns the counters of this middleware: loads, saves, failures, tampered cookies, conflicts, ... */
  SessionMetrics metrics();

  /** Returns a copy of the configuration the middleware runs with. */
  SessionConfig config();

  /** Stops the backend (sweeper timers, connections). */
  Future<Void> close();
}
