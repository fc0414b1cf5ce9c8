package dev.vertxsessions;

import dev.vertxsessions.internal.SessionCookie;
import dev.vertxsessions.internal.VertxWebBridge;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.lang.System.Logger.Level;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * How a request flows.
 *
 * 0. Backpressure: while MAX_WRITES_IN_FLIGHT store writes (started after their responses) are unfinished, new
 *    requests are paused and queued, and admitted as writes complete, so a client faster than the store cannot
 *    make memory (or the store's connection queue) grow without bound.
 * 1. handle(): a request without a cookie gets a fresh session at once. A request with a cookie pauses, waits for
 *    any save of the same key that this process still has in flight (so a client never reads what it wrote a
 *    moment ago as stale), then loads. A key that loads nothing is forgotten: the session starts fresh with a new
 *    random ID, never with one the client chose.
 * 2. Route handlers read and write the session; the same object is ctx.session().
 * 3. finish(), run by commit() or when the headers go out: a destroyed or emptied session is deleted and its
 *    cookie expired with the same path and domain; a changed one is saved and its cookie set (the backend
 *    assigns the cookie value synchronously, so the cookie is in these headers even when the store write
 *    completes later); an untouched one costs nothing. 5xx responses save nothing, as in Vert.x-Web.
 */
final class SessionMiddlewareImpl implements SessionMiddleware {

  static final String CONTEXT_KEY = "dev.vertxsessions.session";
  /** Set on the context when the request carried a session cookie. */
  private static final String REQUEST_HAD_COOKIE = "dev.vertxsessions.requestHadCookie";
  /** Set on the context once this response carries a session cookie. */
  private static final String COOKIE_SET = "dev.vertxsessions.cookieSet";

  private static final System.Logger LOG = System.getLogger(SessionMiddleware.class.getName());
  /**
   * Backpressure: a server-side write completes after its response, so a client faster than the store could queue
   * writes (and the sessions they hold) without bound. Past this many, new requests wait before they start.
   */
  static final int MAX_WRITES_IN_FLIGHT = 256;
  /** A cookie value longer than this cannot be ours (browsers keep 4096 bytes per cookie). */
  private static final int MAX_COOKIE_VALUE_CHARS = 4096;

  private final Vertx vertx;
  private final SessionConfig config;
  private final SessionManager manager;
  private final SessionMetrics metrics = new SessionMetrics();
  private final SessionCookie sessionCookie;
  private final ConcurrentMap<String, SaveInFlight> savesInFlight = new ConcurrentHashMap<>();
  /** Store writes started after their response went out and not yet finished. */
  private final AtomicInteger writesInFlight = new AtomicInteger();
  /** Requests held back while {@link #MAX_WRITES_IN_FLIGHT} writes are in flight. */
  private final Queue<Runnable> admissions = new ConcurrentLinkedQueue<>();

  /** A store write of one key still in flight, and the session it saves (null when that is not one session). */
  private static final class SaveInFlight {
    final Future<Void> done;
    final BaseSessionInterface saved;

    SaveInFlight(Future<Void> done, BaseSessionInterface saved) {
      this.done = done;
      this.saved = saved;
    }
  }

  SessionMiddlewareImpl(Vertx vertx, SessionConfig config) {
    this.vertx = vertx;
    this.config = new SessionConfig(config).validate();
    this.sessionCookie = new SessionCookie(this.config.getCookieName(), this.config.getCookiePath(),
      this.config.getCookieDomain(), this.config.isCookieSecure(), this.config.isCookieHttpOnly(),
      this.config.cookieSameSite().toString());
    this.manager = this.config.resolveManager().create(vertx, this.config);
    this.manager.useMetrics(metrics);
  }

  @Override
  public SessionMetrics metrics() {
    return metrics;
  }

  @Override
  public SessionConfig config() {
    return new SessionConfig(config);
  }

  @Override
  public Future<Void> close() {
    return manager.close();
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (ctx.get(CONTEXT_KEY) != null) {
      ctx.next(); // re-routed: the session is loaded already
      return;
    }
    if (writesInFlight.get() >= MAX_WRITES_IN_FLIGHT) {
      HttpServerRequest request = ctx.request();
      boolean paused = !request.isEnded();
      if (paused) {
        request.pause();
      }
      Context context = vertx.getOrCreateContext();
      admissions.add(() -> context.runOnContext(v -> {
        if (paused) {
          request.resume();
        }
        admit(ctx);
      }));
      admitWaiting(); // the last write may have finished before this request was queued
      return;
    }
    admit(ctx);
  }

  private void admitWaiting() {
    Runnable next;
    while (writesInFlight.get() < MAX_WRITES_IN_FLIGHT && (next = admissions.poll()) != null) {
      next.run();
    }
  }

  private void admit(RoutingContext ctx) {
    BaseSessionInterface session = manager.newSession();
    session.bind(vertx, config, metrics, s -> finish(ctx, s, true));
    String key = sessionCookie.read(ctx.request().headers());
    if (key == null || key.isEmpty() || key.length() > MAX_COOKIE_VALUE_CHARS) {
      start(ctx, session, false);
      return;
    }
    session.setCandidateKey(key);
    metrics.loaded();
    SaveInFlight pending = savesInFlight.get(key);
    Future<Void> loading = pending == null ? load(session, null)
      : pending.done.transform(ar -> load(session, ar.succeeded() ? pending.saved : null));
    if (loading.isComplete()) {
      loaded(ctx, session, loading); // e.g. signed cookies: no need to pause the request
      return;
    }
    HttpServerRequest request = ctx.request();
    boolean paused = !request.isEnded();
    if (paused) {
      request.pause(); // keep the body for a BodyHandler that runs after us
    }
    loading.onComplete(ar -> {
      if (paused) {
        request.resume();
      }
      loaded(ctx, session, loading);
    });
  }

  private void loaded(RoutingContext ctx, BaseSessionInterface session, Future<Void> loading) {
    if (loading.failed()) {
      Throwable cause = loading.cause();
      metrics.loadFailed();
      LOG.log(Level.WARNING, "session could not be loaded: " + cause);
      ctx.fail(cause instanceof SessionStoreUnavailableException ? 503 : 500, cause);
      return;
    }
    session.forgetCandidateKey();
    start(ctx, session, true);
  }

  /** Loads the session; after {@code previous}, the save this request waited for, when there is one. */
  private static Future<Void> load(BaseSessionInterface session, BaseSessionInterface previous) {
    try {
      return previous == null ? session.load() : session.loadAfterSave(previous);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  private void start(RoutingContext ctx, BaseSessionInterface session, boolean requestHadCookie) {
    ctx.put(CONTEXT_KEY, session);
    if (requestHadCookie) {
      ctx.put(REQUEST_HAD_COOKIE, Boolean.TRUE);
    }
    VertxWebBridge.attach(ctx, session);
    ctx.addHeadersEndHandler(v -> {
      if (ctx.response().getStatusCode() >= 500) {
        return;
      }
      Future<Void> saved = finish(ctx, session, false);
      session.detachCommitter();
      if (saved.failed()) {
        // Failed before the headers went out (e.g. a cookie over 4096 bytes, or a store that failed at once):
        // do not answer 2xx, and answer a store failure as the load path does.
        int status = saved.cause() instanceof SessionStoreUnavailableException ? 503 : 500;
        ctx.response().setStatusCode(status);
        LOG.log(Level.WARNING, "session save failed, answering " + status + ": " + saved.cause());
      } else {
        saved.onFailure(e -> LOG.log(Level.WARNING, "session save failed after the response was sent: " + e));
      }
    });
    ctx.next();
  }

  /** Deletes, saves or leaves the session as its state asks, and sets or expires the cookie. */
  private Future<Void> finish(RoutingContext ctx, BaseSessionInterface session, boolean explicit) {
    VertxWebBridge.storeUser(ctx, session);
    HttpServerResponse response = ctx.response();
    boolean hadCookie = ctx.get(REQUEST_HAD_COOKIE) != null;
    if (session.isDestroyed() || session.isEmpty()) {
      if (session.isNew() && session.getPreviousSessionKey() == null && !(hadCookie && session.isModified())) {
        return Future.succeededFuture(); // nothing stored, nothing to forget
      }
      String key = session.getSessionKey();
      Future<Void> deleted = track(key, session.deleteStored().onSuccess(v -> metrics.deleted()), null);
      if (hadCookie || ctx.get(COOKIE_SET) != null) {
        if (response.headWritten()) {
          return deleted.compose(v -> Future.failedFuture(
            new SessionException("session deleted, but its cookie could not be expired: headers already sent")));
        }
        setCookieHeader(ctx, "", 0);
      }
      return deleted;
    }
    if (!session.isModified() && !(config.isRolling() && !session.isNew())) {
      if (session.isCookieDue() && !response.headWritten()) {
        // An atomic update stored the session (and renewed its expiry) already: only the cookie is missing.
        setCookie(ctx, session);
      }
      return Future.succeededFuture();
    }
    if (explicit && response.headWritten()) {
      return Future.failedFuture(new SessionException("session cannot be committed: headers already sent"));
    }
    Future<Void> saved;
    try {
      saved = session.persist();
    } catch (RuntimeException e) {
      saved = Future.failedFuture(e);
    }
    saved = saved.andThen(ar -> {
      if (ar.succeeded()) {
        metrics.saved();
      } else {
        metrics.saveFailed(ar.cause());
      }
    });
    if (saved.failed()) {
      return saved;
    }
    setCookie(ctx, session);
    return track(session.getSessionKey(), saved, session);
  }

  private void setCookie(RoutingContext ctx, BaseSessionInterface session) {
    long maxAgeSeconds = Math.max(0, (session.expiresAtMillis() - session.currentTimeMillis()) / 1000);
    setCookieHeader(ctx, session.currentCookieValue(), maxAgeSeconds);
    session.cookieSent();
  }

  private void setCookieHeader(RoutingContext ctx, String value, long maxAgeSeconds) {
    boolean replace = ctx.get(COOKIE_SET) != null; // e.g. commit() set it, and the session changed again
    sessionCookie.set(ctx.response().headers(), sessionCookie.header(value, maxAgeSeconds), replace);
    ctx.put(COOKIE_SET, Boolean.TRUE);
  }

  /**
   * Remembers a store write still in flight, so a load of the same key in this process waits for it (and may take
   * what {@code saved}, the session written, stored).
   */
  private Future<Void> track(String key, Future<Void> write, BaseSessionInterface saved) {
    if (write.isComplete() || key == null) {
      return write;
    }
    writesInFlight.incrementAndGet();
    write.onComplete(ar -> {
      writesInFlight.decrementAndGet();
      admitWaiting();
    });
    // Two writes of one key in flight: a load waits for both and then reads the store (which one is last is
    // the store's to say).
    SaveInFlight tracked = savesInFlight.compute(key, (k, earlier) -> earlier == null ? new SaveInFlight(write, saved)
      : new SaveInFlight(Future.join(earlier.done, write).transform(ar -> Future.<Void>succeededFuture()), null));
    tracked.done.onComplete(ar -> savesInFlight.remove(key, tracked));
    return write;
  }

}
