package dev.vertxsessions;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.List;
import java.util.function.Consumer;

/**
 * A real HTTP server with the session middleware in front of test routes, and a client pointed at it.
 *
 * <p>The test kit has the same class ({@code dev.vertxsessions.testkit.TestServer}) for backend authors; the
 * library's tests keep this copy because they cannot depend on the kit, which depends on the library.
 */
public final class TestServer implements AutoCloseable {

    public static final String SECRET = "0123456789abcdef0123456789abcdef-test-secret";

    public final Vertx vertx;
    public final Router router;
    public final SessionMiddleware middleware;
    public final WebClient client;
    private final HttpServer server;

    private TestServer(Vertx vertx, Router router, SessionMiddleware middleware, HttpServer server) {
        this.vertx = vertx;
        this.router = router;
        this.middleware = middleware;
        this.server = server;
        this.client = WebClient.create(
                vertx,
                new WebClientOptions()
                        .setDefaultHost("127.0.0.1")
                        .setDefaultPort(server.actualPort())
                        .setFollowRedirects(false),
                new io.vertx.core.http.PoolOptions().setHttp1MaxSize(64));
    }

    /** Starts a server on a random port; {@code routes} adds routes after the middleware. */
    public static TestServer start(Vertx vertx, SessionConfig config, Consumer<Router> routes) {
        Router router = Router.router(vertx);
        SessionMiddleware middleware = SessionMiddleware.create(vertx, config);
        router.route().handler(middleware);
        routes.accept(router);
        HttpServer server = vertx.createHttpServer()
                .requestHandler(router)
                .listen(0, "127.0.0.1")
                .await();
        return new TestServer(vertx, router, middleware, server);
    }

    /**
     * For a server in a child process of a test: listens on a free loopback port and prints {@code PORT n}, the line
     * the parent test waits for.
     */
    public static void listenForParent(Vertx vertx, Router router) {
        int port = vertx.createHttpServer()
                .requestHandler(router)
                .listen(0, "127.0.0.1")
                .await()
                .actualPort();
        System.out.println("PORT " + port);
        System.out.flush();
    }

    /** The seed's counter route at {@code GET /}. */
    public static void counter(Router router) {
        router.get("/").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int counter = session.get("counter", 0) + 1;
            session.put("counter", counter);
            ctx.response()
                    .putHeader("content-type", "text/plain")
                    .end("You've visited this page " + counter + " times");
        });
    }

    /** Sends a request with an optional {@code Cookie} header value ("name=value"). */
    public HttpResponse<Buffer> send(io.vertx.core.http.HttpMethod method, String path, String cookieHeader) {
        io.vertx.ext.web.client.HttpRequest<Buffer> request = client.request(method, path);
        if (cookieHeader != null) {
            request.putHeader("cookie", cookieHeader);
        }
        return request.send().await();
    }

    /** GET without a cookie. */
    public HttpResponse<Buffer> get(String path) {
        return send(io.vertx.core.http.HttpMethod.GET, path, null);
    }

    /** GET with the session cookie {@code session_id=value}. */
    public HttpResponse<Buffer> get(String path, String sessionCookieValue) {
        return send(
                io.vertx.core.http.HttpMethod.GET,
                path,
                sessionCookieValue == null ? null : "session_id=" + sessionCookieValue);
    }

    /** POST with the session cookie {@code session_id=value}. */
    public HttpResponse<Buffer> post(String path, String sessionCookieValue) {
        return send(
                io.vertx.core.http.HttpMethod.POST,
                path,
                sessionCookieValue == null ? null : "session_id=" + sessionCookieValue);
    }

    /** Returns the value of the session_id cookie a response set, failing when it set none. */
    public static String sessionCookie(HttpResponse<Buffer> response) {
        String header = setCookie(response, "session_id");
        if (header == null) {
            throw new AssertionError(
                    "no session_id Set-Cookie in " + response.headers().getAll("set-cookie"));
        }
        return cookieValue(header);
    }

    public int port() {
        return server.actualPort();
    }

    @Override
    public void close() {
        client.close();
        server.close().await();
        middleware.close().await();
    }

    /** Returns the value of {@code name}'s Set-Cookie, or null. */
    public static String setCookie(HttpResponse<Buffer> response, String name) {
        for (String header : response.headers().getAll("set-cookie")) {
            if (header.startsWith(name + "=")) {
                return header;
            }
        }
        return null;
    }

    /** Returns the cookie value from a Set-Cookie header. */
    public static String cookieValue(String setCookie) {
        int eq = setCookie.indexOf('=');
        int semi = setCookie.indexOf(';');
        return setCookie.substring(eq + 1, semi < 0 ? setCookie.length() : semi);
    }

    /** Returns the Set-Cookie headers of a response. */
    public static List<String> setCookies(HttpResponse<Buffer> response) {
        return response.headers().getAll("set-cookie");
    }

    /**
     * Saves {@code session} now and answers {@code body} once it is stored, or 503 with the failure's message: a
     * route after which the test sees the store as it is.
     */
    public static void endAfterCommit(RoutingContext ctx, BaseSessionInterface session, String body) {
        session.commit()
                .onSuccess(v -> ctx.end(body))
                .onFailure(e -> ctx.response().setStatusCode(503).end(e.getMessage()));
    }

    /** A handler answering 200 text with what {@code body} returns for the request's session. */
    public static Handler<RoutingContext> text(java.util.function.Function<BaseSessionInterface, Object> body) {
        return ctx -> ctx.response()
                .putHeader("content-type", "text/plain")
                .end(String.valueOf(body.apply(SessionMiddleware.session(ctx))));
    }
}
