package dev.vertxsessions.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-cookie contract every backend must meet: thousands of forged, mutated, truncated, re-encoded,
 * oversized and random cookie values, sent over raw HTTP with 32 requests in flight, each get a fresh empty
 * session (or the HTTP layer's own 400/431 when the header itself is illegal or too large), never a 5xx, never an
 * exception escaping the handler, never a forged value accepted, never a client-chosen session ID adopted.
 *
 * <p>A backend joins by extending this class and supplying its {@link SessionConfig}. The cases come from a seeded
 * generator ({@link HostileCookies}); the seed is printed and can be set with {@code -Dvertxsessions.seed=...}.
 */
@ExtendWith(VertxExtension.class)
public abstract class HostileCookieContract {

    /** Cases per kind of attack; there are 16 kinds plus about 60 fixed values. */
    static final int CASES_PER_KIND = 200;

    public static final int IN_FLIGHT = 32;
    public static final String FRESH = new JsonObject()
            .put("isNew", true)
            .put("empty", true)
            .put("keys", new JsonArray())
            .encode();

    /**
     * An empty directory the backend may use. A field, not a test parameter: it is created before the test's Vert.x
     * instance and deleted only once that instance is closed, so no write still in flight lands in a deleted tree.
     */
    @TempDir
    Path directory;

    protected Vertx vertx;
    protected final AtomicInteger routeFailures = new AtomicInteger();
    protected final List<Throwable> unhandled = Collections.synchronizedList(new ArrayList<>());

    /** Returns the configuration of the backend under test; {@code directory} is an empty temp directory it may use. */
    protected abstract SessionConfig config(Path directory);

    @BeforeEach
    protected void startVertx(Vertx vertx) {
        this.vertx = vertx;
        vertx.exceptionHandler(unhandled::add);
    }

    /** Starts the backend behind the test routes: /login, /probe (read-only) and /touch (writes). */
    protected TestServer start(SessionConfig config) {
        return TestServer.start(vertx, config, this::routes);
    }

    private void routes(Router router) {
        router.route().failureHandler(ctx -> {
            routeFailures.incrementAndGet();
            if (ctx.failure() != null) {
                unhandled.add(ctx.failure());
            }
            ctx.next();
        });
        router.get("/login").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.put("user", ctx.queryParams().get("user"));
            session.put("role", "member");
            if ("large".equals(ctx.queryParams().get("size"))) {
                // Compressible, so the signed cookie is deflated and the inflater sees the mutations too.
                session.put("notes", "the quick brown fox jumps over the lazy dog ".repeat(40));
            }
            ctx.response().end(state(session).encode());
        });
        router.get("/probe")
                .handler(ctx ->
                        ctx.response().end(state(SessionMiddleware.session(ctx)).encode()));
        router.get("/touch").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            JsonObject before = state(session);
            session.put("touched", true);
            ctx.response().end(before.encode());
        });
    }

    public static JsonObject state(BaseSessionInterface session) {
        return new JsonObject()
                .put("isNew", session.isNew())
                .put("empty", session.isEmpty())
                .put("keys", new JsonArray(new ArrayList<>(session.keys())));
    }

    /** Logs in {@code user} and returns the session cookie value. */
    protected static String login(TestServer server, String user, String size) {
        var response = server.client
                .get("/login")
                .addQueryParam("user", user)
                .addQueryParam("size", size)
                .send()
                .await();
        assertEquals(200, response.statusCode());
        return TestServer.cookieValue(TestServer.setCookie(response, "session_id"));
    }

    /** Sends {@code cookieValue} to /probe over raw HTTP and returns the response. */
    public static RawHttp.Response probe(RawHttp raw, String cookieValue) {
        return raw.send(RawHttp.get("/probe", "session_id=" + cookieValue)).await();
    }

    /** The longest cookie value our request layout can carry within the server's default header limit. */
    public static int maxValueChars() {
        return HttpServerOptions.DEFAULT_MAX_HEADER_SIZE - RawHttp.headerBytes(RawHttp.get("/probe", "session_id="));
    }

    @Test
    void hostileCookies_getFreshSession_neverAnErrorOrAForgery(VertxTestContext test) {
        test.verify(() -> {
            long seed = HostileCookies.seed();
            String backend = getClass().getSimpleName();
            System.out.println(
                    backend + ": hostile cookies with seed " + seed + " (replay: -Dvertxsessions.seed=" + seed + ")");
            try (LogCapture logs = new LogCapture(false);
                    TestServer server = start(config(directory));
                    RawHttp raw = new RawHttp(vertx, server.port())) {
                List<String> genuine = List.of(
                        login(server, "alice", "small"),
                        login(server, "bob", "small"),
                        login(server, "carol", "large"),
                        login(server, "dave", "large"));
                List<HostileCookies.Case> cases =
                        new HostileCookies(seed, genuine, maxValueChars()).generate(CASES_PER_KIND);
                List<byte[]> requests = new ArrayList<>();
                for (int i = 0; i < cases.size(); i++) {
                    requests.add(RawHttp.get(i % 4 == 3 ? "/touch" : "/probe", "session_id=" + cases.get(i).value));
                }

                List<RawHttp.Response> responses = raw.sendAll(requests, IN_FLIGHT);

                List<String> mismatches = new ArrayList<>();
                Map<String, Integer> mismatchKinds = new TreeMap<>();
                Map<String, Integer> statuses = new TreeMap<>();
                for (int i = 0; i < cases.size(); i++) {
                    HostileCookies.Case hostile = cases.get(i);
                    RawHttp.Response response = responses.get(i);
                    statuses.merge(hostile.kind + " -> " + response.status, 1, Integer::sum);
                    String problem = check(requests.get(i), hostile, response, i % 4 == 3, genuine);
                    if (problem != null) {
                        mismatches.add(problem + "  [" + hostile + "]");
                        mismatchKinds.merge(hostile.kind, 1, Integer::sum);
                    }
                }
                System.out.println(backend + ": " + cases.size() + " cases, outcomes " + statuses);
                assertEquals(
                        List.of(),
                        mismatches.subList(0, Math.min(20, mismatches.size())),
                        mismatches.size() + " of " + cases.size()
                                + " hostile cookies were not answered with a fresh session (seed " + seed
                                + "), by kind "
                                + mismatchKinds);
                assertEquals(0, routeFailures.get(), "a hostile cookie made a route fail");
                assertEquals(List.of(), unhandled, "an exception escaped a handler");
                assertEquals(List.of(), logs.warnings(), "hostile cookies must log at most DEBUG lines");
                for (String line : logs.lines()) {
                    for (HostileCookies.Case hostile : cases) {
                        if (hostile.value.length() >= 16
                                && line.startsWith("dev.vertxsessions")
                                && line.contains(hostile.value)) {
                            throw new AssertionError("a cookie value was logged: " + line);
                        }
                    }
                }

                // The genuine sessions still work: the run above proved something only if real cookies are accepted.
                for (String cookie : genuine) {
                    JsonObject state = new JsonObject(probe(raw, cookie).body);
                    assertEquals(false, state.getBoolean("isNew"), "a genuine cookie must still load");
                    assertTrue(state.getJsonArray("keys").contains("user"));
                }
            }
        });
        test.completeNow();
    }

    /** Returns what is wrong with one response, or null when it is exactly what the contract demands. */
    private static String check(
            byte[] request,
            HostileCookies.Case hostile,
            RawHttp.Response response,
            boolean touch,
            List<String> genuine) {
        int expected = RawHttp.hasControlChars(request)
                ? 400
                : RawHttp.headerBytes(request) > HttpServerOptions.DEFAULT_MAX_HEADER_SIZE ? 431 : 200;
        if (response.status != expected) {
            return "status " + response.status + " (expected " + expected + ")";
        }
        if (expected != 200) {
            return null; // refused by the HTTP layer before any handler ran
        }
        if (!FRESH.equals(response.body)) {
            return "route saw " + response.body + " instead of a fresh session";
        }
        List<String> setCookies = response.headers("set-cookie");
        if (!touch) {
            return setCookies.isEmpty() ? null : "a read-only request set " + setCookies;
        }
        if (setCookies.size() != 1 || !setCookies.get(0).startsWith("session_id=")) {
            return "a writing request must set exactly one session cookie, got " + setCookies;
        }
        String issued = TestServer.cookieValue(setCookies.get(0));
        if (issued.equals(hostile.value) || issued.isEmpty() || genuine.contains(issued)) {
            return "the new session took a value the client chose or another session's: " + issued;
        }
        return null;
    }

    /** Asserts that {@code cookieValue} gets a fresh, empty session at /probe. */
    protected static void assertRejected(RawHttp raw, String cookieValue, String what) {
        RawHttp.Response response = probe(raw, cookieValue);
        assertEquals(200, response.status, what);
        assertEquals(FRESH, response.body, what + " must give a fresh session");
        assertEquals(List.of(), response.headers("set-cookie"), what);
    }

    /** Asserts that the test cookie value differs from the genuine one (so the check above is meaningful). */
    protected static void assertDiffers(String genuine, String forged) {
        assertNotEquals(genuine, forged);
        assertTrue(forged.getBytes(StandardCharsets.ISO_8859_1).length > 0);
    }
}
