package dev.vertxsessions.dropin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.file.FileSessionInterface;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.UsernamePasswordCredentials;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.handler.BasicAuthHandler;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CSRFHandler;
import io.vertx.ext.web.handler.FormLoginHandler;
import io.vertx.ext.web.handler.RedirectAuthHandler;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a Vert.x-Web application relies on when it swaps SessionHandler.create(store) for SessionMiddleware: the
 * user held by the session, reroute, the SessionHandler methods, and Vert.x-Web's cookie behaviour as options.
 */
@ExtendWith(VertxExtension.class)
class SessionHandlerSurfaceTest {

    private static final String BASIC =
            "Basic " + Base64.getEncoder().encodeToString("alice:wonderland".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;

    TestServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private SessionConfig config(String backend) {
        SessionConfig config = new SessionConfig().setSecretKey(TestServer.SECRET);
        return switch (backend) {
            case "file" -> config.setBackend(FileSessionInterface.factory(dir, "session_"));
            case "memory" -> config.setManager("memory");
            default -> config;
        };
    }

    private void start(Vertx vertx, SessionConfig config, Consumer<Router> routes) {
        server = TestServer.start(vertx, config, routes);
    }

    private static BasicAuthHandler basicAuth() {
        return BasicAuthHandler.create(credentials -> {
            UsernamePasswordCredentials login = (UsernamePasswordCredentials) credentials;
            return "alice".equals(login.getUsername()) && "wonderland".equals(login.getPassword())
                    ? Future.succeededFuture(User.fromName("alice"))
                    : Future.failedFuture("invalid credentials");
        });
    }

    private HttpResponse<Buffer> send(HttpMethod method, String path, String cookie, String authorization) {
        var request = server.client.request(method, path);
        if (cookie != null) {
            request.putHeader("cookie", "session_id=" + cookie);
        }
        if (authorization != null) {
            request.putHeader("authorization", authorization);
        }
        return request.send().await();
    }

    /** A protected area behind Basic auth, and routes that impersonate, refresh and log out. */
    private static void protectedRoutes(Router router) {
        router.route("/private/*").handler(basicAuth());
        router.get("/private/me").handler(ctx -> ctx.end(ctx.user().subject()));
        router.get("/switch/impersonate").handler(ctx -> ctx.userContext().impersonate("/done"));
        router.get("/switch/refresh").handler(ctx -> ctx.userContext().refresh("/done"));
        router.get("/switch/logout").handler(ctx -> ctx.userContext().logout("/done"));
        router.get("/switch/clear").handler(ctx -> {
            ctx.userContext().clear();
            ctx.end("cleared");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"signed", "file", "memory"})
    void impersonateRefreshLogoutAndClear_forceANewLogin_onEveryBackend(
            String backend, Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, config(backend), SessionHandlerSurfaceTest::protectedRoutes);
            for (String action : List.of("impersonate", "refresh", "logout", "clear")) {
                HttpResponse<Buffer> login = send(HttpMethod.GET, "/private/me", null, BASIC);
                assertEquals(200, login.statusCode());
                String cookie = TestServer.sessionCookie(login);
                assertEquals(
                        200, send(HttpMethod.GET, "/private/me", cookie, null).statusCode(), "logged in");

                HttpResponse<Buffer> switched = send(HttpMethod.GET, "/switch/" + action, cookie, null);
                String after = TestServer.setCookie(switched, "session_id") == null
                        ? cookie
                        : TestServer.sessionCookie(switched);
                if (!after.isEmpty()) {
                    assertEquals(
                            401,
                            send(HttpMethod.GET, "/private/me", after, null).statusCode(),
                            action + ": the user must authenticate again (" + backend + ")");
                }
                if (!backend.equals("signed")) { // a copy of a signed cookie stays valid until it expires (README)
                    assertEquals(
                            401,
                            send(HttpMethod.GET, "/private/me", cookie, null).statusCode(),
                            action + ": the cookie from before is no longer logged in (" + backend + ")");
                }
            }
        });
        test.completeNow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"signed", "file", "memory"})
    void changesToTheLoggedInUser_areSaved_andAnUnchangedUserWritesNothing(
            String backend, Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, config(backend), router -> {
                router.route("/private/*").handler(basicAuth());
                router.get("/private/grant").handler(ctx -> {
                    ctx.user().principal().put("role", "admin"); // as an authorization step that enriches the user
                    ctx.end("granted");
                });
                router.get("/private/role")
                        .handler(ctx ->
                                ctx.end(String.valueOf(ctx.user().principal().getString("role"))));
            });
            String cookie = TestServer.sessionCookie(send(HttpMethod.GET, "/private/role", null, BASIC));
            HttpResponse<Buffer> unchanged = send(HttpMethod.GET, "/private/role", cookie, null);
            assertEquals("null", unchanged.bodyAsString());
            assertNull(TestServer.setCookie(unchanged, "session_id"), "restoring an unchanged user writes nothing");
            HttpResponse<Buffer> granted = send(HttpMethod.GET, "/private/grant", cookie, null);
            String after =
                    TestServer.setCookie(granted, "session_id") == null ? cookie : TestServer.sessionCookie(granted);
            assertEquals(
                    "admin", send(HttpMethod.GET, "/private/role", after, null).bodyAsString());
        });
        test.completeNow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"signed", "file"})
    void reroute_savesWritesMadeBeforeAndAfterIt(String backend, Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, config(backend), router -> {
                router.get("/first").handler(ctx -> {
                    SessionMiddleware.session(ctx).put("before", 1);
                    ctx.reroute("/second");
                });
                router.get("/second").handler(ctx -> {
                    SessionMiddleware.session(ctx).put("after", 2);
                    ctx.end("rerouted");
                });
                router.get("/keys").handler(TestServer.text(session -> session.keys()));
            });
            HttpResponse<Buffer> rerouted = send(HttpMethod.GET, "/first", null, null);
            assertEquals(200, rerouted.statusCode());
            assertEquals("rerouted", rerouted.bodyAsString());
            assertEquals(1, TestServer.setCookies(rerouted).size(), "one session cookie");
            String cookie = TestServer.sessionCookie(rerouted);
            assertEquals(
                    "[before, after]",
                    send(HttpMethod.GET, "/keys", cookie, null).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void commitThenReroute_keepsTheCookie(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, config("file"), router -> {
                router.get("/first")
                        .handler(ctx -> SessionMiddleware.session(ctx)
                                .put("a", 1)
                                .commit()
                                .onSuccess(v -> ctx.reroute("/second")));
                router.get("/second").handler(ctx -> ctx.end("ok"));
                router.get("/keys").handler(TestServer.text(session -> session.keys()));
            });
            HttpResponse<Buffer> response = send(HttpMethod.GET, "/first", null, null);
            assertEquals(
                    "[a]",
                    send(HttpMethod.GET, "/keys", TestServer.sessionCookie(response), null)
                            .bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void sessionHandlerMethods_flushNewSessionAndSetUser_work(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            SessionMiddleware[] middleware = new SessionMiddleware[1];
            start(vertx, config("file"), router -> {
                router.get("/flush").handler(ctx -> {
                    ctx.session().put("flushed", true);
                    middleware[0].flush(ctx).onComplete(ar -> ctx.end(String.valueOf(ar.succeeded())));
                });
                router.get("/new").handler(ctx -> {
                    String before = ctx.session().id();
                    io.vertx.ext.web.Session fresh = middleware[0].newSession(ctx);
                    fresh.put("fresh", true);
                    ctx.end(String.valueOf(!fresh.id().equals(before) && ctx.session() == fresh));
                });
                router.get("/login")
                        .handler(ctx -> middleware[0]
                                .setUser(ctx, User.fromName("bob"))
                                .onComplete(ar -> ctx.end(String.valueOf(ar.succeeded()))));
                router.get("/who")
                        .handler(ctx -> ctx.end(
                                ctx.user() == null ? "nobody" : ctx.user().subject()));
                router.get("/keys").handler(TestServer.text(session -> session.keys()));
            });
            middleware[0] = server.middleware;

            HttpResponse<Buffer> flushed = send(HttpMethod.GET, "/flush", null, null);
            assertEquals("true", flushed.bodyAsString());
            String cookie = TestServer.sessionCookie(flushed);
            assertEquals(
                    "[flushed]", send(HttpMethod.GET, "/keys", cookie, null).bodyAsString());

            HttpResponse<Buffer> renewed = send(HttpMethod.GET, "/new", cookie, null);
            assertEquals("true", renewed.bodyAsString());
            String freshCookie = TestServer.sessionCookie(renewed);
            assertNotEquals(cookie, freshCookie);
            assertEquals(
                    "[fresh]", send(HttpMethod.GET, "/keys", freshCookie, null).bodyAsString());
            assertEquals("[]", send(HttpMethod.GET, "/keys", cookie, null).bodyAsString(), "the old session is gone");

            HttpResponse<Buffer> login = send(HttpMethod.GET, "/login", freshCookie, null);
            assertEquals("true", login.bodyAsString());
            String loggedIn = TestServer.sessionCookie(login);
            assertNotEquals(freshCookie, loggedIn, "setUser gives the session a new ID");
            assertEquals("bob", send(HttpMethod.GET, "/who", loggedIn, null).bodyAsString());
            assertEquals(
                    "nobody", send(HttpMethod.GET, "/who", freshCookie, null).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void sessionHandlerSetters_changeTheCookie_andMeaninglessOnesSayWhy(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(
                    vertx,
                    config("file"),
                    router -> router.get("/").handler(ctx -> {
                        ctx.session().put("a", 1);
                        ctx.end();
                    }));
            server.middleware
                    .setSessionCookieName("vertx-web.session")
                    .setSessionCookiePath("/app")
                    .setCookieHttpOnlyFlag(false)
                    .setCookieSameSite(io.vertx.core.http.CookieSameSite.STRICT)
                    .setCookieMaxAge(-1)
                    .setMinLength(32)
                    .setNagHttps(true);
            List<String> cookies = TestServer.setCookies(send(HttpMethod.GET, "/", null, null));
            assertEquals(1, cookies.size());
            assertTrue(
                    cookies.get(0).matches("vertx-web\\.session=[A-Za-z0-9_-]{43}; Path=/app; SameSite=Strict"),
                    cookies.get(0));
            UnsupportedOperationException cookieless =
                    assertThrows(UnsupportedOperationException.class, () -> server.middleware.setCookieless(true));
            assertTrue(cookieless.getMessage().contains("Referer"), cookieless.getMessage());
            UnsupportedOperationException signing =
                    assertThrows(UnsupportedOperationException.class, () -> server.middleware.setSigningSecret("x"));
            assertTrue(signing.getMessage().startsWith("set secret_key in SessionConfig"), signing.getMessage());
            assertEquals(server.middleware, server.middleware.setCookieless(false));
        });
        test.completeNow();
    }

    @Test
    void eagerSessions_getTheirCookieOnTheFirstResponse_lazyOnesOnlyOnceWritten(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(
                    vertx,
                    config("file").setLazySession(false),
                    router -> router.get("/").handler(ctx -> ctx.end("hi")));
            HttpResponse<Buffer> first = send(HttpMethod.GET, "/", null, null);
            String cookie = TestServer.sessionCookie(first);
            assertTrue(TestServer.setCookie(first, "session_id").contains("; Max-Age=86400; "));
            assertNull(
                    TestServer.setCookie(send(HttpMethod.GET, "/", cookie, null), "session_id"),
                    "a stored session that does not change sends no cookie");
            server.close();

            start(vertx, config("file"), router -> router.get("/").handler(ctx -> ctx.end("hi")));
            assertEquals(List.of(), TestServer.setCookies(send(HttpMethod.GET, "/", null, null)));
        });
        test.completeNow();
    }

    @Test
    void browserSessionCookies_haveNoMaxAge_andRememberMeMakesOneSessionPersistent(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            MutableClock clock = new MutableClock(Instant.parse("2026-12-08T00:00:00Z"));
            start(vertx, config("file").setCookiePersistent(false).setClock(clock), router -> {
                router.get("/put").handler(ctx -> {
                    SessionMiddleware.session(ctx).put("n", ctx.request().getParam("n"));
                    ctx.end();
                });
                router.get("/remember").handler(ctx -> {
                    SessionMiddleware.session(ctx).setRememberMe(true);
                    ctx.end();
                });
            });
            HttpResponse<Buffer> first = send(HttpMethod.GET, "/put?n=1", null, null);
            String header = TestServer.setCookie(first, "session_id");
            assertTrue(header.matches("session_id=[A-Za-z0-9_-]{43}; Path=/; HTTPOnly; SameSite=Lax"), header);
            String cookie = TestServer.cookieValue(header);
            assertEquals(
                    List.of(),
                    TestServer.setCookies(send(HttpMethod.GET, "/put?n=2", cookie, null)),
                    "same ID, same browser-session lifetime: no Set-Cookie");

            String remembered = TestServer.setCookie(send(HttpMethod.GET, "/remember", cookie, null), "session_id");
            assertTrue(remembered.startsWith("session_id=" + cookie + "; Max-Age=86400; Expires="), remembered);
            clock.advance(Duration.ofSeconds(59));
            assertEquals(
                    List.of(),
                    TestServer.setCookies(send(HttpMethod.GET, "/put?n=3", cookie, null)),
                    "the expiry moved within its minute: the cookie is not renewed");
            clock.advance(Duration.ofSeconds(1));
            String renewed = TestServer.setCookie(send(HttpMethod.GET, "/put?n=4", cookie, null), "session_id");
            assertTrue(
                    renewed.startsWith("session_id=" + cookie + "; Max-Age=86400; Expires="),
                    "a persistent cookie follows the server's expiry, renewed once a minute: " + renewed);
        });
        test.completeNow();
    }

    @Test
    void csrfFormLogin_validatesAndAnswersWithOneCookie(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            start(vertx, config("file").setCookiePersistent(false), router -> {
                router.route().handler(BodyHandler.create());
                router.route().handler(CSRFHandler.create(vertx, TestServer.SECRET));
                router.get("/login").handler(ctx -> ctx.end("form"));
                router.post("/login")
                        .handler(FormLoginHandler.create(credentials -> {
                                    UsernamePasswordCredentials login = (UsernamePasswordCredentials) credentials;
                                    return "alice".equals(login.getUsername())
                                                    && "wonderland".equals(login.getPassword())
                                            ? Future.succeededFuture(User.fromName("alice"))
                                            : Future.failedFuture("invalid");
                                })
                                .setDirectLoggedInOKURL("/private"));
                router.route("/private").handler(RedirectAuthHandler.create(null, "/login"));
                router.get("/private")
                        .handler(ctx -> ctx.end("hello " + ctx.user().subject()));
            });
            HttpResponse<Buffer> form = send(HttpMethod.GET, "/login", null, null);
            String token = TestServer.cookieValue(TestServer.setCookie(form, "XSRF-TOKEN"));
            String session = TestServer.sessionCookie(form);

            HttpResponse<Buffer> refused = server.client
                    .post("/login")
                    .putHeader("cookie", "session_id=" + session + "; XSRF-TOKEN=" + token)
                    .sendForm(io.vertx.core.MultiMap.caseInsensitiveMultiMap()
                            .add("username", "alice")
                            .add("password", "wonderland"))
                    .await();
            assertEquals(403, refused.statusCode(), "no token in the form");

            HttpResponse<Buffer> login = server.client
                    .post("/login")
                    .putHeader("cookie", "session_id=" + session + "; XSRF-TOKEN=" + token)
                    .sendForm(io.vertx.core.MultiMap.caseInsensitiveMultiMap()
                            .add("username", "alice")
                            .add("password", "wonderland")
                            .add("X-XSRF-TOKEN", token))
                    .await();
            assertEquals(302, login.statusCode());
            assertEquals("/private", login.getHeader("location"));
            String loggedIn = TestServer.sessionCookie(login);
            assertNotEquals(session, loggedIn, "the login regenerated the session");
            assertEquals(
                    1,
                    TestServer.setCookies(login).stream()
                            .filter(c -> c.startsWith("session_id="))
                            .count());
            assertEquals(
                    "hello alice",
                    send(HttpMethod.GET, "/private", loggedIn, null).bodyAsString());
            assertFalse(
                    send(HttpMethod.GET, "/private", session, null)
                            .bodyAsString()
                            .startsWith("hello"),
                    "the pre-login session is not logged in");
        });
        test.completeNow();
    }
}
