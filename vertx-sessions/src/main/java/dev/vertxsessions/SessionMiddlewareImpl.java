package dev.vertxsessions;

import dev.vertxsessions.internal.JsonValues;
import dev.vertxsessions.internal.SessionCookie;
import dev.vertxsessions.internal.SessionIds;
import dev.vertxsessions.internal.VertxWebBridge;
import io.vertx.core.Closeable;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.CloseFuture;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.FutureInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.spi.tracing.VertxTracer;
import io.vertx.ext.auth.User;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/*
 * How a request flows.
 *
 * 0. Admission (WriteAdmission): while 256 store writes started after their responses are unfinished, new requests
 *    wait. Every backend call is bounded by backend_timeout_ms, so a hung backend releases its slot with a 503.
 *    Requests also wait for the backend's start (SessionBackend.start); a failed start answers 503.
 * 1. handle(): the request's state (RequestState) is created with its session: the object route handlers see (the
 *    seed-style backend's own class, else RequestSession) bound once to a SessionState, which holds the values and
 *    the change tracking and which only the middleware drives. A request without a cookie goes on at once. A
 *    request with a cookie pauses, waits for any write of the same ID that this process still has in flight
 *    (SavesInFlight: read-your-writes), then loads through the backend (a seed-style backend loads into the
 *    request's session itself). A paused request goes on on its own event loop, although that write (another
 *    loop's request) or the backend may complete elsewhere. Server-side IDs of the wrong format never reach the
 *    backend. A cookie that loads nothing gives a fresh session with a new random ID, never one the client chose.
 * 2. Route handlers read and write the session; the same object is ctx.session(), and the user it holds is put
 *    back into the context (VertxWebBridge).
 * 3. finish(), run by commit()/flush() or when the headers go out: the user held in the session is made exactly
 *    ctx.user(); SaveDecision says, from SessionState.decision, whether to save, delete or do nothing; a save hands
 *    the backend one immutable SessionChanges (SessionState.startSave; saveFailed puts the changes back). The
 *    cookie to send is kept in the request's state and written into the headers when they go out (so a reroute,
 *    which clears the headers, loses nothing), and only if its save has not failed by then: a failed save never
 *    gives the browser a cookie for a session that was not stored. Whatever the status, a logout
 *    deletes and a regenerate moves the session (security decisions); otherwise 5xx responses save nothing, and no
 *    error answer stores a new session that holds nothing (SaveDecision).
 *    Responses of requests that used a session get a Cache-Control (cache_control): no-store for a logged-in session,
 *    private for an anonymous one.
 * 4. Events (SessionEvents): a save that stored a new session or a move, a delete (the request's, the admin API's)
 *    and a load that finds an expired session report an event once their Future succeeded; backends report the
 *    sessions they end themselves (expiry, the user limit) through SessionMetrics. Listeners run later, on their
 *    own context.
 */
final class SessionMiddlewareImpl implements SessionMiddleware {

    static final String CONTEXT_KEY = "dev.vertxsessions.session";
    /** The request's {@link RequestState}: set once, found again after a reroute. */
    private static final String STATE_KEY = "dev.vertxsessions.request";

    private static final System.Logger LOG = System.getLogger(SessionMiddleware.class.getName());
    /** A cookie value longer than this cannot be ours (browsers keep 4096 bytes per cookie). */
    private static final int MAX_COOKIE_VALUE_CHARS = 4096;
    /** How much of a login's {@code User-Agent} {@code record_client_info} keeps. */
    private static final int MAX_USER_AGENT_CHARS = 256;

    /** The configuration and the cookie writer built from it; replaced whole by the SessionHandler setters. */
    private static final class Settings {
        final SessionConfig config;
        final SessionCookie cookie;

        Settings(SessionConfig config) {
            this.config = config;
            this.cookie = new SessionCookie(
                    config.getCookieName(),
                    config.getCookiePath(),
                    config.getCookieDomain(),
                    config.isCookieSecure(),
                    config.isCookieHttpOnly(),
                    config.cookieSameSite().toString());
        }
    }

    /**
     * What the middleware knows about one request: its session (the object route handlers see, and the state that
     * object is bound to), the cookie to send, what its writes did. It is the session's binding: a session it no
     * longer holds (replaced by {@link #newSession(RoutingContext)}), or one whose headers went out, cannot be
     * committed, and its atomic updates no longer wait for a save of the request.
     */
    private final class RequestState implements SessionBinding {
        final RoutingContext ctx;
        BaseSessionInterface session;
        /** The state {@link #session} is bound to: its values and change tracking, which the middleware drives. */
        SessionState tracking;

        final boolean hadCookie;
        /** The headers went out: no more cookies. */
        boolean headersSent;
        /** The ID the browser's cookie names, as far as this response knows: null for a fresh session. */
        String cookieId;

        User userAtLoad;
        /** The Set-Cookie value to send, and the write it depends on (the cookie is dropped if that write failed). */
        String cookieHeader;
        /** The value {@link #cookieHeader} carries ("" for a logout), for the session ID header. */
        String cookieValue;

        Future<?> cookieWrite;
        /** A save of this request failed (e.g. an awaited commit()): an error answer then does not retry it. */
        boolean saveFailed;
        /** A save of this request was refused by max_sessions_per_user: the response does not try it again. */
        boolean refused;
        /** The ID the session was loaded under, and the position of {@link EndedSessions} before the load. */
        String loadedId;

        long loadedAt;
        /** A move by another request that this request's write follows, and must wait for. */
        Future<?> followedMove;
        /** With the near cache: the version the request's cookie holds (null: none, or malformed). */
        String cookieVersion;
        /** With the near cache: an atomic update changed the stored session, so its version must change too. */
        boolean versionDue;

        RequestState(RoutingContext ctx, boolean hadCookie) {
            this.ctx = ctx;
            this.hadCookie = hadCookie;
            attachNew();
        }

        /** Gives the request a new, empty session, bound once to its own state. */
        void attachNew() {
            tracking = new SessionState(vertx, settings.config, metrics, this);
            session = seedBackend != null
                    ? seedBackend.newRequestSession(tracking)
                    : SeedSessionBackend.bound(new RequestSession(), tracking);
        }

        /** Returns whether the session's cookie is persistent and due for renewal (see SaveDecision). */
        boolean persistentCookieDue() {
            return session.isRememberMe() && tracking.cookieRenewalDue();
        }

        /** Returns whether {@code session} is this request's, with its headers not sent yet. */
        private boolean holds(SessionState session) {
            return session == tracking && !headersSent;
        }

        @Override
        public Future<Void> commit(SessionState session) {
            if (session != tracking) {
                return Future.failedFuture(new SessionException(
                        "session cannot be committed: newSession() replaced it; commit the request's new session"));
            }
            return headersSent
                    ? Future.failedFuture(
                            new SessionException("session cannot be committed: the response headers were already sent"))
                    : finish(this, true, ctx.response().getStatusCode());
        }

        @Override
        public Future<Object> update(SessionState session, String key, UnaryOperator<Object> update) {
            return SessionMiddlewareImpl.this.update(holds(session) ? this : null, session, key, update);
        }
    }

    private final Vertx vertx;
    private volatile Settings settings;
    private final SessionBackend backend;
    private final SeedSessionBackend seedBackend;
    private final boolean serverSide;
    private final boolean atomicUpdates;
    private final boolean perKeyMerge;
    private final boolean userIndex;
    /** The near cache ({@code near_cache}), or null when off. */
    private final NearCache nearCache;
    /** Who ends sessions through {@link #sessions()}: never a request, so every request is told. */
    private final Object administrator = new Object();

    private final SessionAdmin admin = new Admin();
    private final SessionMetrics metrics = new SessionMetrics();
    private final WriteAdmission admission;
    private final SavesInFlight savesInFlight = new SavesInFlight();
    private final FailedMoves failedMoves = new FailedMoves();
    private final EndedSessions endedSessions = new EndedSessions();
    private final Future<Void> ready;
    private final SessionEvents events;

    /** Vert.x's tracer, or null when Vert.x runs without tracing. */
    private final VertxTracer<?, ?> tracer;
    /** The backend's name in spans: the manager's name, or "custom" for a factory set in code. */
    private final String backendName;

    private final CloseFuture closedWith;
    private final Closeable closeHook = completion -> close().onComplete(completion);
    private Future<Void> closed;

    SessionMiddlewareImpl(Vertx vertx, SessionConfig config) {
        this.vertx = vertx;
        this.settings = new Settings(config.frozenCopy());
        this.backendName = settings.config.getManagerName() != null ? settings.config.getManagerName() : "custom";
        this.backend = BackendProviders.create(vertx, settings.config);
        if (backend == null) {
            throw new IllegalArgumentException("manager: the backend factory returned null instead of a backend");
        }
        this.seedBackend = backend instanceof SeedSessionBackend seedSessionBackend ? seedSessionBackend : null;
        Set<SessionBackend.Capability> capabilities = backend.capabilities();
        this.serverSide = capabilities.contains(SessionBackend.Capability.SERVER_SIDE);
        this.atomicUpdates = capabilities.contains(SessionBackend.Capability.ATOMIC_UPDATE);
        this.perKeyMerge = capabilities.contains(SessionBackend.Capability.PER_KEY_MERGE);
        this.userIndex = capabilities.contains(SessionBackend.Capability.USER_INDEX);
        if (settings.config.getMaxSessionsPerUser() > 0 && !userIndex) {
            backend.close();
            throw new IllegalArgumentException("max_sessions_per_user needs a backend that keeps an index of sessions "
                    + "by user; " + backend.getClass().getSimpleName() + " keeps none"
                    + (serverSide ? "" : " (signed cookies keep no server state to count)")
                    + ": use the memory, file or Redis backend, or leave max_sessions_per_user unset");
        }
        this.nearCache = settings.config.isNearCache() ? nearCache(vertx, settings.config) : null;
        this.admission = new WriteAdmission(vertx);
        this.events =
                new SessionEvents(vertx, backendName, settings.config.getClock(), settings.config.getEventsAddress());
        metrics.events(events);
        if (backend instanceof SeedSessionBackend seed) {
            seed.useMetrics(metrics);
        }
        this.ready = call(() -> backend.start(metrics.recorder()))
                .onFailure(e -> LOG.log(Level.ERROR, "session backend " + backendName + " failed to start: " + e, e));
        this.tracer = vertx instanceof VertxInternal internal ? internal.tracer() : null;
        this.closedWith = closeFutureOf(vertx);
        if (closedWith != null) {
            closedWith.add(closeHook);
        }
    }

    /** Creates the near cache on the backend's invalidations, or refuses to start naming what is missing. */
    private NearCache nearCache(Vertx vertx, SessionConfig config) {
        SessionInvalidations invalidations = serverSide && seedBackend == null ? backend.invalidations() : null;
        String missing = invalidations == null
                ? "a backend that tells every process of every write to its sessions (Redis, files, see SessionBackend.invalidations()); "
                        + backend.getClass().getSimpleName() + " does not"
                : NearCache.caffeinePresent() ? null : "com.github.ben-manes.caffeine:caffeine on the class path";
        if (missing != null) {
            backend.close();
            throw new IllegalArgumentException("near_cache needs " + missing + ": add it, or leave near_cache off");
        }
        NearCache cache = new NearCache(vertx, config, invalidations, metrics);
        cache.start();
        return cache;
    }

    /**
     * What the middleware closes with, as Vert.x's own clients do: the verticle that creates it (closed on
     * undeploy), or the Vert.x instance when it is created outside a verticle (closed by {@code vertx.close()}).
     */
    private static CloseFuture closeFutureOf(Vertx vertx) {
        if (!(vertx instanceof VertxInternal internal)) {
            return null;
        }
        ContextInternal context = internal.getContext();
        return context != null ? context.closeFuture() : internal.closeFuture();
    }

    @Override
    public Future<Void> ready() {
        return ready;
    }

    @Override
    public Future<Void> checkHealth() {
        return ready.compose(started -> call(backend::checkHealth));
    }

    @Override
    public long activeSessions() {
        return backend.activeSessions();
    }

    @Override
    public SessionEvent.Registration onEvent(Handler<SessionEvent> listener) {
        return events.add(listener);
    }

    @Override
    public SessionMetrics metrics() {
        return metrics;
    }

    @Override
    public SessionConfig config() {
        return settings.config;
    }

    @Override
    public synchronized Future<Void> close() {
        if (closed == null) {
            if (closedWith != null) {
                closedWith.remove(closeHook);
            }
            Future<Void> cacheClosed = nearCache == null ? Future.succeededFuture() : nearCache.close();
            closed = cacheClosed.transform(v -> call(backend::close));
        }
        return closed;
    }

    // ------------------------------------------------------------------ a request

    @Override
    public void handle(RoutingContext ctx) {
        RequestState state = ctx.get(STATE_KEY);
        if (state != null) {
            // Re-routed: the session is loaded, but the headers and their end handlers were cleared.
            ctx.addHeadersEndHandler(v -> headersEnd(state));
            ctx.next();
            return;
        }
        HttpServerRequest request = ctx.request();
        if (!ready.isComplete()) {
            pauseUntil(request, ready, () -> admission.admit(request, () -> begin(ctx)));
            return;
        }
        admission.admit(request, () -> begin(ctx));
    }

    /** Returns the session ID (or signed cookie value) the request carries: the header first when configured. */
    private String sessionIdOf(HttpServerRequest request) {
        String transport = settings.config.getSessionIdTransport();
        if (!"cookie".equals(transport)) {
            String header = request.getHeader(settings.config.getSessionIdHeader());
            if (header != null && !header.isEmpty()) {
                return header;
            }
        }
        return "header".equals(transport) ? null : settings.cookie.read(request.headers());
    }

    private void begin(RoutingContext ctx) {
        if (ready.failed()) {
            ctx.fail(503, new SessionStoreUnavailableException("session backend did not start", ready.cause()));
            return;
        }
        String cookie = sessionIdOf(ctx.request());
        if (cookie == null || cookie.isEmpty() || cookie.length() > MAX_COOKIE_VALUE_CHARS) {
            start(new RequestState(ctx, false), null);
            ctx.next();
            return;
        }
        RequestState state = new RequestState(ctx, true);
        int dot = nearCache == null ? -1 : cookie.indexOf('.');
        String version = dot < 0 ? null : NearCache.wellFormedVersion(cookie.substring(dot + 1));
        if (version != null) { // <id>.<version>: the version only chooses between the cache and the store
            state.cookieVersion = version;
            cookie = cookie.substring(0, dot);
        } // else a malformed version leaves a value that is no ID: tampered, a fresh session
        metrics.loaded();
        long position = endedSessions.position();
        if (serverSide && !SessionIds.isWellFormed(cookie)) {
            metrics.tampered(); // never reaches the store
            start(state, cookie);
            ctx.next();
            return;
        }
        String named = cookie;
        SavesInFlight.Write pending = serverSide ? savesInFlight.get(named) : null;
        Future<SessionRecord> loading = pending == null
                ? call("load", () -> load(named, null, state))
                : pending.done.transform(ar ->
                        call("load", () -> load(named, ar.succeeded() ? pending.changes : null, state)));
        if (serverSide) {
            loading = loading.compose(
                    record -> record != null ? Future.succeededFuture(record) : loadFailedMove(named, state));
        }
        Future<SessionRecord> loaded = loading;
        String id = cookie;
        if (loaded.isComplete()) {
            loaded(state, id, loaded, position); // e.g. signed cookies, a near-cache hit: no need to pause
        } else {
            pauseUntil(ctx.request(), loaded, () -> loaded(state, id, loaded, position));
        }
    }

    /**
     * Loads session {@code id}, after the save {@code after} of it when that save of this process was in flight:
     * into the request's own session object for a seed-style backend, so that the request builds no other.
     */
    private Future<SessionRecord> load(String id, SessionChanges after, RequestState state) {
        if (seedBackend != null) {
            return seedBackend.load(id, state.session);
        }
        if (nearCache != null) {
            return nearCache.load(
                    id, state.cookieVersion, () -> after != null ? backend.loadAfterSave(id, after) : backend.load(id));
        }
        return after != null ? backend.loadAfterSave(id, after) : backend.load(id);
    }

    /** Loads the session a failed regenerate left under its previous ID, for a browser that got the new one. */
    private Future<SessionRecord> loadFailedMove(String id, RequestState state) {
        String previousId = failedMoves.take(id);
        return previousId == null ? Future.succeededFuture() : call("load", () -> load(previousId, null, state));
    }

    /**
     * Pauses the request (keeping its body for a BodyHandler after us) until {@code future} completes, then goes on
     * on the request's own context: the future may complete on another event loop (a save of the same session by a
     * request on another loop, which this one waited for, or a backend that completes where it was created).
     */
    private static void pauseUntil(HttpServerRequest request, Future<?> future, Runnable then) {
        boolean paused = !request.isEnded();
        if (paused) {
            request.pause();
        }
        Context context = Vertx.currentContext();
        Runnable resume = () -> {
            if (paused) {
                request.resume();
            }
            then.run();
        };
        future.onComplete(ar -> {
            if (context == null || Vertx.currentContext() == context) {
                resume.run();
            } else {
                context.runOnContext(v -> resume.run());
            }
        });
    }

    private void loaded(RequestState state, String cookie, Future<SessionRecord> loading, long position) {
        RoutingContext ctx = state.ctx;
        if (loading.failed()) {
            Throwable cause = loading.cause();
            metrics.loadFailed();
            LOG.log(Level.WARNING, "session load failed (backend " + backendName + "): " + cause);
            ctx.fail(statusOf(cause), cause);
            return;
        }
        SessionState session = state.tracking;
        SessionRecord record = loading.result();
        if (record == null) {
            if (!serverSide) {
                metrics.tampered(); // a cookie that carries the session and does not verify
            }
        } else if (!session.restore(record)) {
            events.expired(record.id(), ReservedKeys.principalOf(record.data()));
        } else if (serverSide && !record.id().equals(cookie)) {
            // Found under the ID a failed regenerate left it: save it, so the browser gets its cookie back.
            session.markModified();
        }
        start(state, cookie);
        if (session.isStored()) {
            state.loadedId = session.id();
            state.loadedAt = position;
        }
        ctx.next();
    }

    /**
     * Attaches the request's session to the request; {@code cookie} is the session cookie the request carried, or
     * null. The caller goes on with {@code ctx.next()}.
     */
    private void start(RequestState state, String cookie) {
        attach(state);
        if (cookie != null && state.tracking.isStored()) {
            state.cookieId = cookie; // the ID the browser holds (another one after a failed regenerate)
        }
        state.ctx.put(STATE_KEY, state);
        state.ctx.addHeadersEndHandler(v -> headersEnd(state));
    }

    /** Makes the request's session {@code ctx.session()}. */
    private static void attach(RequestState state) {
        state.cookieId = state.tracking.isStored() ? state.tracking.id() : null;
        state.ctx.put(CONTEXT_KEY, state.session);
        VertxWebBridge.attach(state.ctx, state.session);
        state.userAtLoad = state.ctx.user();
    }

    private void headersEnd(RequestState state) {
        HttpServerResponse response = state.ctx.response();
        int status = response.getStatusCode();
        Future<Void> saved = finish(state, false, status);
        if (saved.failed()) {
            // Failed before the headers went out (a cookie over 4096 bytes, a store that failed at once): do not
            // answer 2xx, and answer a store failure as the load path does. An error answer keeps its status.
            if (status < 500) {
                response.setStatusCode(statusOf(saved.cause()));
            }
            LOG.log(
                    Level.WARNING,
                    "session save failed (backend " + backendName + "), answering " + response.getStatusCode() + ": "
                            + saved.cause());
        } else {
            saved.onFailure(e -> LOG.log(
                    Level.WARNING,
                    "session save failed (backend " + backendName + ") after the response was sent: " + e));
        }
        state.headersSent = true;
        boolean cookieSent = state.cookieHeader != null && !state.cookieWrite.failed();
        if (cookieSent) {
            String transport = settings.config.getSessionIdTransport();
            if (!"header".equals(transport)) {
                settings.cookie.set(response.headers(), state.cookieHeader, true);
            }
            if (!"cookie".equals(transport)) {
                response.headers().set(settings.config.getSessionIdHeader(), state.cookieValue);
            }
        }
        if ((cookieSent || state.hadCookie) && !response.headers().contains(HttpHeaders.CACHE_CONTROL)) {
            String directive = cacheDirective(settings.config.getCacheControl(), state);
            if (directive != null) {
                response.headers().set(HttpHeaders.CACHE_CONTROL, directive);
            }
        }
    }

    /**
     * Returns the {@code Cache-Control} of a response that carries a session, or null for none: with {@code auto}, a
     * logged-in session's pages ({@code ctx.user()}, or a session promoted by {@code regenerate()}) are never stored,
     * not even by the browser (the Back button after a logout must not show them); an anonymous session's pages stay
     * out of shared caches only.
     */
    private static String cacheDirective(String cacheControl, RequestState state) {
        return switch (cacheControl) {
            case "off" -> null;
            case "auto" -> state.ctx.user() != null || !state.session.isAnonymous() ? "no-store" : "private";
            default -> cacheControl;
        };
    }

    /**
     * Deletes, saves, moves or leaves the session as {@link SaveDecision} says for a response of {@code status}, and
     * chooses the cookie to send.
     */
    private Future<Void> finish(RequestState state, boolean explicit, int status) {
        Settings current = settings;
        SessionState session = state.tracking;
        boolean heldUser = session.get(VertxWebBridge.USER_HOLDER_KEY) != null;
        VertxWebBridge.syncUser(
                state.ctx, state.session, state.userAtLoad, session.storedForm(VertxWebBridge.USER_HOLDER_KEY));
        syncPrincipal(state.session, state.ctx.user(), heldUser);
        state.userAtLoad = state.ctx.user();
        boolean rolling = current.config.isRolling()
                && (nearCache == null
                        || NearCache.renewalDue(session.storedExpiresAtMillis(), session.now(), session.lifetime()));
        SaveDecision decision =
                SaveDecision.decide(session.decision(state.hadCookie), rolling, current.config.isLazySession(), status);
        if (nearCache != null
                && state.versionDue
                && status < 500
                && (decision == SaveDecision.NOTHING || decision == SaveDecision.COOKIE_ONLY)) {
            decision = SaveDecision.SAVE; // an atomic update changed the session: its version must change too
        }
        if (explicit && decision != SaveDecision.NOTHING && state.ctx.response().headWritten()) {
            return Future.failedFuture(new SessionException("session cannot be committed: headers already sent"));
        }
        if (decision != SaveDecision.NOTHING && state.loadedId != null && !followEnd(state, decision)) {
            metrics.conflict(); // another request of this process logged the session out, or moved it
            return Future.succeededFuture();
        }
        if (state.refused && (decision == SaveDecision.SAVE || decision == SaveDecision.MOVE)) {
            return Future.succeededFuture(); // the login was refused: trying again would be refused again
        }
        switch (decision) {
            case DELETE -> {
                return delete(state, current);
            }
            case SAVE -> {
                if (serverSide && current.config.isRecordClientInfo()) {
                    recordClient(state, current.config);
                }
                if (nearCache != null) {
                    state.versionDue = false;
                    session.write(SessionInvalidations.VERSION_KEY, NearCache.newVersion());
                }
                return save(state, current, session.startSave());
            }
            case MOVE -> {
                // Not when this request's own save of the move failed already: the error answer reports that.
                return state.saveFailed ? Future.succeededFuture() : save(state, current, session.startMove());
            }
            case COOKIE_ONLY -> {
                if (SaveDecision.cookieNeeded(
                        serverSide, state.persistentCookieDue(), !session.id().equals(state.cookieId), false)) {
                    String value =
                            nearCache != null ? NearCache.cookieValue(session.id(), session.data()) : session.id();
                    useCookie(state, current.cookie, value, Future.succeededFuture());
                }
                return Future.succeededFuture();
            }
            default -> {
                return Future.succeededFuture();
            }
        }
    }

    /** Keeps the save's time and the login's client in the session ({@code record_client_info}). */
    private static void recordClient(RequestState state, SessionConfig config) {
        HttpServerRequest request = state.ctx.request();
        String userAgent = request.getHeader(HttpHeaders.USER_AGENT);
        if (userAgent != null && userAgent.length() > MAX_USER_AGENT_CHARS) {
            userAgent = userAgent.substring(0, MAX_USER_AGENT_CHARS);
        }
        String address =
                request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
        state.tracking.recordClient(config.getClock().millis(), userAgent, address);
    }

    /**
     * Makes the session's principal the name of Vert.x-Web's user ({@code User.subject()}: its {@code username},
     * else the {@code sub} of its token), and removes it when that user left the session (a logout). A principal the
     * application set by hand on a session without a Vert.x-Web user stays as it is.
     */
    private static void syncPrincipal(BaseSessionInterface session, User user, boolean heldUser) {
        if (user != null) {
            String name = user.subject();
            if (name != null && !name.isEmpty()) {
                session.setPrincipal(name);
            }
        } else if (heldUser) {
            session.setPrincipal(null);
        }
    }

    /**
     * Makes this request's write follow what another request of this process did to the session since it was loaded:
     * a move (regenerate) makes the write go to the new ID; returns false, when the write must be dropped with no
     * cookie sent: the session was deleted (a logout), or moved where this backend cannot merge into (the write
     * would undo the other request's change). A logout follows a move on every backend.
     */
    private boolean followEnd(RequestState state, SaveDecision decision) {
        EndedSessions.Ended end = endedSessions.endOf(state.loadedId, state.loadedAt, state);
        if (end == null) {
            return true;
        }
        if (end.isDelete()) {
            return decision == SaveDecision.DELETE;
        }
        if (decision != SaveDecision.DELETE && !(serverSide && perKeyMerge)) {
            return false;
        }
        String from = state.loadedId;
        state.tracking.retarget(from, end.movedTo);
        if (from.equals(state.cookieId)) {
            state.cookieId = end.movedTo; // the mover's response gives the browser that cookie
        }
        state.loadedId = end.movedTo;
        state.followedMove = end.write;
        return true;
    }

    private Future<Void> delete(RequestState state, Settings current) {
        List<Future<Void>> deletes = deleteSession(state);
        Future<Void> all = Future.all(deletes).<Void>mapEmpty().onSuccess(v -> metrics.deleted());
        if (state.hadCookie || state.cookieHeader != null) {
            state.cookieHeader = current.cookie.header("", 0);
            state.cookieValue = "";
            state.cookieWrite = all;
        }
        return all;
    }

    private Future<Void> save(RequestState state, Settings current, SessionChanges changes) {
        SessionState session = state.tracking;
        String cookieValue;
        Future<Void> saved;
        Future<?> cookieWrite = null;
        try {
            cookieValue = nearCache != null
                    ? NearCache.cookieValue(changes.id(), changes.data())
                    : backend.cookieValue(changes);
            Future<?> after = state.followedMove;
            Supplier<Future<Boolean>> write = () -> backend.save(changes);
            Supplier<Future<Boolean>> store = nearCache != null ? nearCache.saving(changes, write) : write;
            Future<Boolean> written = call(
                    "save",
                    () -> after == null || after.isComplete() ? store.get() : after.transform(moved -> store.get()));
            if (nearCache != null) {
                // A cookie goes with every save: not for a session deleted meanwhile (not written). Derived before
                // the save's own outcome, so that it has failed by the time a failed save's response goes out.
                cookieWrite = written.compose(stored -> stored
                        ? Future.succeededFuture()
                        : Future.failedFuture(new SessionException("session was deleted meanwhile")));
            }
            saved = written.map(stored -> {
                if (!stored) {
                    metrics.conflict();
                } else if (changes.previousId() != null) {
                    events.regenerated(changes.previousId(), changes.id(), changes.principal());
                } else if (changes.isNew()) {
                    events.created(changes.id(), changes.principal());
                }
                return null;
            });
        } catch (RuntimeException e) {
            cookieValue = null;
            saved = Future.failedFuture(e);
        }
        saved = saved.andThen(ar -> {
            if (ar.succeeded()) {
                metrics.saved();
            } else {
                session.saveFailed(changes);
                state.saveFailed = true;
                state.refused |= ar.cause() instanceof SessionLimitException;
                metrics.saveFailed(ar.cause());
            }
        });
        if (saved.failed()) {
            return saved;
        }
        if (changes.previousId() != null) {
            endedSessions.moved(changes.previousId(), changes.id(), saved, state);
        }
        session.saved(changes);
        boolean cookieChoiceChanged = changes.changed().containsKey(BaseSessionInterface.REMEMBER_ME_KEY)
                || changes.removed().contains(BaseSessionInterface.REMEMBER_ME_KEY);
        // With the near cache the cookie carries the version, which every save changes: it is sent with every save.
        if (SaveDecision.cookieNeeded(
                serverSide && nearCache == null,
                state.persistentCookieDue(),
                !changes.id().equals(state.cookieId),
                cookieChoiceChanged)) {
            useCookie(state, current.cookie, cookieValue, cookieWrite != null ? cookieWrite : saved);
        }
        if (serverSide) {
            track(changes.id(), saved, changes);
            if (changes.previousId() != null) {
                saved.onFailure(e -> failedMoves.remember(changes.id(), changes.previousId()));
            }
        }
        return saved;
    }

    /** Chooses the cookie this response carries once {@code write} is known not to have failed. */
    private static void useCookie(RequestState state, SessionCookie cookie, String value, Future<?> write) {
        SessionState session = state.tracking;
        if (state.session.isRememberMe()) {
            // Rounded up: the browser's cookie must not expire before the server's session.
            long maxAgeSeconds = Math.max(0, (session.storedExpiresAtMillis() - session.now() + 999) / 1000);
            state.cookieHeader = cookie.header(value, maxAgeSeconds);
        } else {
            state.cookieHeader = cookie.sessionHeader(value);
        }
        state.cookieValue = value;
        state.cookieWrite = write;
        state.cookieId = session.id();
        session.cookieSent();
    }

    /** Remembers a store write in flight: loads of the same ID wait for it, and it counts for admission. */
    private void track(String id, Future<?> write, SessionChanges changes) {
        if (write.isComplete()) {
            return;
        }
        admission.track(write);
        savesInFlight.track(id, write, changes);
    }

    /**
     * Runs {@code update} for {@link BaseSessionInterface#update}: in the store with an atomic backend (after
     * saving what the request changed before), else in the session, saved with it.
     */
    private Future<Object> update(RequestState state, SessionState session, String key, UnaryOperator<Object> update) {
        if (!atomicUpdates) {
            return session.updateLocally(key, update);
        }
        UnaryOperator<Object> storable = value -> JsonValues.toStorable(update.apply(value));
        Future<Void> before = Future.succeededFuture();
        if (session.hasPendingChanges()) {
            if (state == null) {
                return Future.failedFuture(new SessionException(
                        "session has unsaved changes and its response was sent: it cannot be updated"));
            }
            before = finish(state, true, state.ctx.response().getStatusCode());
        }
        return before.compose(v -> {
            SessionChanges context = session.updateContext();
            if (nearCache != null) {
                nearCache.dropLocal(context.id());
            }
            return call("update", () -> backend.update(context, key, storable)).map(value -> {
                if (nearCache != null) {
                    nearCache.dropLocal(context.id());
                    if (state != null) {
                        state.versionDue = true;
                    }
                }
                if (context.isNew()) {
                    events.created(context.id(), context.principal());
                }
                session.updated(key, value, context);
                return session.get(key);
            });
        });
    }

    /**
     * Calls the backend as {@link #call(Supplier)}, reports the call's time to the metrics' listeners and, when
     * Vert.x runs with a tracer, makes the call a span of the request's trace ({@link BackendCallSpan}).
     */
    private <T> Future<T> call(String operation, Supplier<Future<T>> call) {
        Future<T> result;
        if (tracer == null) {
            result = call(call);
        } else {
            BackendCallSpan span = BackendCallSpan.start(tracer, backendName, operation);
            result = call(call).andThen(done -> span.end(done.cause()));
        }
        if (!metrics.timesBackendCalls()) {
            return result;
        }
        long start = System.nanoTime();
        return result.andThen(done -> metrics.backendCalled(operation, done.succeeded(), System.nanoTime() - start));
    }

    /** Calls the backend: a call that throws fails the Future, and one that does not answer in time gives a 503. */
    private <T> Future<T> call(Supplier<Future<T>> operation) {
        Future<T> future;
        try {
            future = operation.get();
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        if (future == null) {
            return Future.failedFuture(new SessionException("session backend returned null instead of a Future"));
        }
        if (future.isComplete()) {
            return future;
        }
        // The timeout runs where the Future's context is; a backend's Future without one (a plain Promise) would put
        // it on Netty's global executor, a cross-thread hand-off per call: bind it to the caller's event loop.
        ContextInternal caller = ContextInternal.current();
        if (caller != null && !(future instanceof FutureInternal<T> bound && bound.context() == caller)) {
            Promise<T> onCaller = caller.promise();
            future.onComplete(onCaller);
            future = onCaller.future();
        }
        Duration timeout = settings.config.getBackendTimeout();
        return future.timeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .recover(e -> Future.failedFuture(
                        e instanceof TimeoutException
                                ? new SessionStoreUnavailableException(
                                        "session backend did not answer within " + timeout.toMillis()
                                                + " ms (backend_timeout_ms)",
                                        e)
                                : e));
    }

    private static int statusOf(Throwable cause) {
        if (cause instanceof SessionLimitException) {
            return 429;
        }
        return cause instanceof SessionStoreUnavailableException ? 503 : 500;
    }

    // ------------------------------------------------------------------ administration

    @Override
    public SessionAdmin sessions() {
        return admin;
    }

    /** The administration API: the backend's user index, and every deletion recorded in {@link EndedSessions}. */
    private final class Admin implements SessionAdmin {

        @Override
        public Future<List<SessionInfo>> sessionsOf(String principal) {
            Objects.requireNonNull(principal, "principal");
            Future<List<SessionInfo>> indexed = indexed("sessionsOf", () -> backend.sessionsOf(principal));
            return settings.config.isRecordClientInfo() ? indexed.compose(this::withClients) : indexed;
        }

        /**
         * Completes {@code infos} with what each session keeps of its client: one load for each the backend gave
         * without it (a backend that read the session answers with {@link SessionRecord#info()}); drops ended ones.
         */
        private Future<List<SessionInfo>> withClients(List<SessionInfo> infos) {
            List<Future<SessionDetails>> found = new ArrayList<>(infos.size());
            for (SessionInfo info : infos) {
                found.add(
                        info.lastAccessedAtMillis() >= 0
                                ? Future.succeededFuture(new SessionDetails(info, Map.of()))
                                : details(info.id()));
            }
            return Future.join(found).transform(ar -> {
                List<SessionInfo> completed = new ArrayList<>(infos.size());
                for (int i = 0; i < infos.size(); i++) {
                    Future<SessionDetails> one = found.get(i);
                    if (one.failed()) {
                        return Future.failedFuture(one.cause());
                    }
                    if (one.result() != null) {
                        completed.add(one.result().info());
                    }
                }
                return Future.succeededFuture(completed);
            });
        }

        @Override
        public Future<SessionDetails> get(String id) {
            Objects.requireNonNull(id, "id");
            if (!serverSide) {
                return notOnSignedCookies("cannot find it by ID", "to look sessions up");
            }
            if (!SessionIds.isWellFormed(id)) {
                return Future.succeededFuture(); // no such session can exist
            }
            return ready.compose(v -> savesInFlight.all()).compose(v -> details(id));
        }

        /** Fails a call that needs the session on the server, naming what the server cannot do and the way out. */
        private <T> Future<T> notOnSignedCookies(String cannot, String purpose) {
            return Future.failedFuture(new UnsupportedOperationException("a session kept in a signed cookie lives in "
                    + "the browser: the server " + cannot + "; use a server-side backend (memory, files, Redis) "
                    + purpose));
        }

        /** Loads the session {@code id}: null when there is none or it has expired. */
        private Future<SessionDetails> details(String id) {
            return call("load", () -> backend.load(id)).map(found -> {
                if (found == null
                        || found.expiresAtMillis() <= settings.config.getClock().millis()) {
                    return null;
                }
                return new SessionDetails(found.info(), ReservedKeys.withoutReserved(found.data()));
            });
        }

        @Override
        public Future<Long> count() {
            if (!serverSide) {
                return notOnSignedCookies("cannot count them", "to count sessions");
            }
            return ready.compose(v -> savesInFlight.all()).compose(v -> call("countSessions", backend::countSessions));
        }

        @Override
        public Future<Integer> countOf(String principal) {
            return sessionsOf(principal).map(List::size);
        }

        @Override
        public Future<Void> delete(String id) {
            Objects.requireNonNull(id, "id");
            if (!serverSide) {
                return notOnSignedCookies("cannot delete it", "to end sessions by ID");
            }
            if (!SessionIds.isWellFormed(id)) {
                return Future.succeededFuture(); // no such session can exist
            }
            dropCached(id);
            Future<Void> deleted = ready.compose(v -> call("delete", () -> backend.delete(id)))
                    .andThen(ar -> dropCached(id))
                    .onSuccess(v -> events.destroyed(id, SessionEvent.Cause.ADMIN, null));
            endedSessions.deleted(id, deleted, administrator);
            track(id, deleted, null);
            return deleted;
        }

        @Override
        public Future<List<String>> deleteAllOf(String principal) {
            return deleteAllOf(principal, null);
        }

        @Override
        public Future<List<String>> deleteAllOf(String principal, String keepId) {
            Objects.requireNonNull(principal, "principal");
            return indexed("deleteSessionsOf", () -> backend.deleteSessionsOf(principal, keepId))
                    .onSuccess(ids -> {
                        for (String id : ids) {
                            dropCached(id);
                            endedSessions.deleted(id, Future.succeededFuture(), administrator);
                            events.destroyed(id, SessionEvent.Cause.ADMIN, principal);
                        }
                    });
        }

        private <T> Future<T> indexed(String name, Supplier<Future<T>> operation) {
            if (!userIndex) {
                String why = serverSide
                        ? SessionBackend.noUserIndex(backend).getMessage()
                        : "sessions kept in signed cookies live in the browsers: the server holds no list of a user's "
                                + "sessions and cannot end them; use the memory, file or Redis backend";
                return Future.failedFuture(new UnsupportedOperationException(why));
            }
            // Waits for the saves and deletes this middleware has in flight, so that a call made after a response sees
            // what that response's request wrote (a login, a logout) even when its save completes after the response.
            return ready.compose(v -> savesInFlight.all()).compose(v -> call(name, operation));
        }
    }

    // ------------------------------------------------------------------ Vert.x-Web's SessionHandler

    @Override
    public Future<Void> flush(RoutingContext ctx, boolean ignoreStatus) {
        RequestState state = ctx.get(STATE_KEY);
        if (state == null) {
            return Future.succeededFuture();
        }
        return finish(state, true, ignoreStatus ? 200 : ctx.response().getStatusCode());
    }

    /** Replaces the request's session with a new, empty one, and deletes the one it had from the store. */
    @Override
    public Session newSession(RoutingContext ctx) {
        RequestState state = ctx.get(STATE_KEY);
        if (state == null) {
            throw new IllegalStateException("no session on this request: add the SessionMiddleware to this route");
        }
        deleteSession(state);
        state.loadedId = null;
        state.attachNew();
        attach(state);
        return state.session;
    }

    /**
     * Deletes the request's session from the store (its stored ID, and a previous one a regenerate left) and returns
     * the deletions. A seed-style backend deletes through the request's own session object.
     */
    private List<Future<Void>> deleteSession(RequestState state) {
        List<Future<Void>> deletes = new ArrayList<>();
        BaseSessionInterface session = state.session;
        String principal = state.tracking.storedPrincipal();
        boolean first = true;
        for (String id : state.tracking.startDelete()) {
            dropCached(id);
            Future<Void> deleted = call(
                            "delete", () -> seedBackend != null ? seedBackend.delete(id, session) : backend.delete(id))
                    .andThen(ar -> dropCached(id));
            if (first) { // the stored session; a second ID is the one a regenerate of this request had not saved yet
                deleted.onSuccess(v -> events.destroyed(id, SessionEvent.Cause.LOGOUT, principal));
                first = false;
            }
            endedSessions.deleted(id, deleted, state);
            track(id, deleted, null);
            deletes.add(deleted);
        }
        return deletes;
    }

    /** Drops session {@code id} from the near cache, for a delete of this process (when it starts and ends). */
    private void dropCached(String id) {
        if (nearCache != null) {
            nearCache.dropLocal(id);
        }
    }

    /** Sets the user of the request, gives the session a new ID (no fixation) and saves it. */
    @Override
    public Future<Void> setUser(RoutingContext ctx, User user) {
        RequestState state = ctx.get(STATE_KEY);
        if (state == null) {
            return Future.failedFuture(new IllegalStateException("no session on this request"));
        }
        VertxWebBridge.setUser(ctx, user);
        state.session.regenerate();
        return finish(state, true, ctx.response().getStatusCode());
    }

    @Override
    public SessionMiddleware setSessionTimeout(long timeout) {
        return configure(c -> c.setExpiry(Duration.ofSeconds(Math.max(1, (timeout + 999) / 1000))));
    }

    @Override
    public SessionMiddleware setNagHttps(boolean nag) {
        return this;
    }

    @Override
    public SessionMiddleware setCookieSecureFlag(boolean secure) {
        return configure(c -> c.setCookieSecure(secure));
    }

    @Override
    public SessionMiddleware setCookieHttpOnlyFlag(boolean httpOnly) {
        return configure(c -> c.setCookieHttpOnly(httpOnly));
    }

    @Override
    public SessionMiddleware setSessionCookieName(String sessionCookieName) {
        return configure(c -> c.setCookieName(sessionCookieName));
    }

    @Override
    public SessionMiddleware setSessionCookiePath(String sessionCookiePath) {
        return configure(c -> c.setCookiePath(sessionCookiePath));
    }

    @Override
    public SessionMiddleware setMinLength(int minLength) {
        return this;
    }

    @Override
    public SessionMiddleware setCookieSameSite(CookieSameSite policy) {
        return configure(c -> c.setCookieSameSite(policy == null ? "lax" : policy.toString()));
    }

    @Override
    public SessionMiddleware setLazySession(boolean lazySession) {
        return configure(c -> c.setLazySession(lazySession));
    }

    @Override
    public SessionMiddleware setCookieMaxAge(long cookieMaxAge) {
        return configure(c -> c.setCookiePersistent(cookieMaxAge >= 0));
    }

    @Override
    public SessionMiddleware setCookieless(boolean cookieless) {
        if (cookieless) {
            throw new UnsupportedOperationException("cookieless sessions are not supported: a session ID in the URL "
                    + "leaks through Referer headers, logs and shared links");
        }
        return this;
    }

    @Override
    public SessionMiddleware setSigningSecret(String secret) {
        throw new UnsupportedOperationException("set secret_key in SessionConfig instead: signed cookies are signed "
                + "with it, and server-side session IDs are 256 random bits that need no signature");
    }

    /** Applies a SessionHandler setter: a validated copy of the configuration replaces the current one. */
    private SessionMiddleware configure(Consumer<SessionConfig> change) {
        synchronized (this) {
            SessionConfig copy = new SessionConfig(settings.config);
            change.accept(copy);
            settings = new Settings(copy.frozenCopy());
        }
        return this;
    }
}
