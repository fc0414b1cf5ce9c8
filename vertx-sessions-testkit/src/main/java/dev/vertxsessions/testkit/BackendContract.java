package dev.vertxsessions.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackend.Capability;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionDetails;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionMiddleware;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.UsernamePasswordCredentials;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.handler.BasicAuthHandler;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract every backend meets, driven through the middleware over real HTTP: load, save and delete; lazy
 * cookies; regenerate; idle, absolute and per-session expiry (on a test clock); hostile cookie values; parallel
 * requests; no resurrection after a logout; two servers on one store; and the user that Vert.x-Web's
 * authentication keeps in the session.
 *
 * <p><b>Adding a backend.</b> Extend this class and return the backend's configuration from {@link #config(Clock)}
 * (choose the backend with {@code setBackend(...)} or {@code setManager(SessionManagerFactory)}). What the backend
 * can do is read from {@link SessionBackend#capabilities()} of the backend the server runs; a backend chosen by
 * name ({@code setManager("...")}) declares it with {@link #declaredCapabilities()} instead. A test that needs a
 * capability the backend lacks is skipped with the reason. A backend with {@link Capability#SHARED} also returns,
 * from {@link #sharedStoreConfig(Clock)}, the configuration of a second server using the same store.
 *
 * <p>A backend's own tests can use the same tools: {@link #start()}, {@link Browser}, {@link #send}, {@link Gate},
 * the test {@link #clock}, and the routes: {@code GET /} (the seed's counter), {@code /peek} (the counter),
 * {@code /state}, {@code /get/:key}, {@code /commit/:key/:value}, {@code /inc}, {@code /todo/:item},
 * {@code /expire/:seconds}, {@code /gate/:gate/put/:key/:value}, {@code /gate/:gate/regenerate}, {@code POST /login},
 * {@code /logout}, {@code /invalidate}; {@code /private/me} behind HTTP Basic (alice, bob) and
 * {@code /auth/logout}, {@code /auth/clear}, {@code /auth/impersonate}, {@code /auth/restore},
 * {@code /auth/refresh}, which call Vert.x-Web's {@code ctx.userContext()}.
 */
@ExtendWith(VertxExtension.class)
public abstract class BackendContract {

    protected static final String COOKIE = "session_id";
    protected static final long DAY_SECONDS = 86_400;
    /** A fresh session as {@code /state} reports it. */
    protected static final String FRESH = "{\"isNew\":true,\"keys\":[]}";

    private static final Map<String, String> PASSWORDS = Map.of("alice", "wonderland", "bob", "builder");

    /** Fails any test during which the backend blocked an event loop. */
    @RegisterExtension
    final EventLoopBlockingDetector blockingDetector = new EventLoopBlockingDetector();

    protected Vertx vertx;
    protected MutableClock clock;
    private final List<TestServer> servers = new ArrayList<>();
    private final List<Vertx> otherVertx = new ArrayList<>();
    private final Map<String, Gate> gates = new ConcurrentHashMap<>();
    private volatile Set<Capability> runningCapabilities;

    // ------------------------------------------------------------------ what a backend's test provides

    /**
     * Returns a new configuration choosing the backend under test. Called once per server; the contract sets the
     * clock (expiry is measured with {@code clock}) and the options a test needs on what it returns.
     */
    protected abstract SessionConfig config(Clock clock);

    /**
     * Returns the configuration of a second application server that uses the same store as {@link #config(Clock)}
     * (the same directory, the same Redis). Only called when the backend has {@link Capability#SHARED}.
     */
    protected SessionConfig sharedStoreConfig(Clock clock) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + ": the backend has Capability.SHARED, "
                + "so override sharedStoreConfig(Clock) to point a second server at the same store");
    }

    /**
     * Returns the backend's capabilities, or null to read them from the running backend (the default). Override it
     * only for a backend chosen by name, which the contract cannot look into.
     */
    protected Set<Capability> declaredCapabilities() {
        return null;
    }

    // ------------------------------------------------------------------ load, save, delete

    @Test
    void counter_keepsCountingAcrossRequests(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            HttpResponse<Buffer> first = browser.get("/");
            assertEquals(200, first.statusCode());
            assertEquals("You've visited this page 1 times", first.bodyAsString());
            String cookie = assertSessionCookie(first, DAY_SECONDS);
            HttpResponse<Buffer> second = browser.get("/");
            assertEquals("You've visited this page 2 times", second.bodyAsString());
            if (!has(Capability.SERVER_SIDE)) {
                assertSessionCookie(second, DAY_SECONDS); // the cookie is the data: every save sends it
            } else if (!sessionSetCookies(second).isEmpty()) { // with the near cache: it carries the version
                assertEquals(idOf(cookie), idOf(assertSessionCookie(second, DAY_SECONDS)), "the same session");
            }
            clock.advance(Duration.ofMinutes(1)); // the expiry moves to another step: the cookie is renewed
            HttpResponse<Buffer> third = browser.get("/");
            assertEquals("You've visited this page 3 times", third.bodyAsString());
            String renewed = assertSessionCookie(third, DAY_SECONDS);
            if (has(Capability.SERVER_SIDE)) {
                assertEquals(idOf(cookie), idOf(renewed), "a server-side session keeps its ID");
            }
            assertEquals("3", browser.get("/peek").bodyAsString());
        });
        test.completeNow();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/logout", "/invalidate"})
    void logout_expiresTheCookie_andTheBrowserStartsAFreshSession(String logout, VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            browser.get("/");
            String before = browser.cookie();
            assertEquals("You've visited this page 2 times", browser.get("/").bodyAsString());
            HttpResponse<Buffer> bye = browser.post(logout);
            assertEquals(200, bye.statusCode());
            assertCookieExpired(bye);
            assertNull(browser.cookie());
            HttpResponse<Buffer> again = browser.get("/");
            assertEquals("You've visited this page 1 times", again.bodyAsString());
            assertNotEquals(before, assertSessionCookie(again, DAY_SECONDS));
        });
        test.completeNow();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/logout", "/invalidate"})
    void oldCookieAfterLogout_givesAFreshSession(String logout, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeTrue(has(Capability.SERVER_SIDE), "the cookie carries the session: it cannot be revoked");
            String cookie = TestServer.sessionCookie(server.get("/"));
            assertEquals(
                    "You've visited this page 2 times", server.get("/", cookie).bodyAsString());
            assertCookieExpired(server.post(logout, cookie));
            assertFresh(server, cookie);
            HttpResponse<Buffer> counted = server.get("/", cookie);
            assertEquals("You've visited this page 1 times", counted.bodyAsString());
            assertNotEquals(
                    cookie, assertSessionCookie(counted, DAY_SECONDS), "a deleted session's ID is never reused");
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ lazy cookies

    @Test
    void requestThatNeverWrites_getsNoCookie(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            HttpResponse<Buffer> anonymous = server.get("/state");
            assertEquals(200, anonymous.statusCode());
            assertEquals(FRESH, anonymous.bodyAsString());
            assertNoSessionCookie(anonymous);

            String cookie = TestServer.sessionCookie(server.get("/"));
            HttpResponse<Buffer> read = server.get("/peek", cookie);
            assertEquals("1", read.bodyAsString());
            assertNoSessionCookie(read);
        });
        test.completeNow();
    }

    @Test
    void lazySessionOff_setsACookieOnTheFirstResponse(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config -> config.setLazySession(false));
            HttpResponse<Buffer> first = server.get("/state");
            assertEquals(200, first.statusCode());
            assertEquals(FRESH, first.bodyAsString());
            String cookie = assertSessionCookie(first, DAY_SECONDS);
            HttpResponse<Buffer> second = server.get("/state", cookie);
            assertEquals("{\"isNew\":false,\"keys\":[]}", second.bodyAsString(), "the empty session was stored");
            assertNoSessionCookie(second);
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ regenerate

    @Test
    void login_givesANewIdAndKeepsTheData(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            String before = assertSessionCookie(browser.get("/"), DAY_SECONDS);
            HttpResponse<Buffer> login = browser.post("/login");
            assertEquals(200, login.statusCode());
            String[] ids = login.bodyAsString().split(" ");
            assertNotEquals(ids[0], ids[1], "regenerate gave a new ID");
            String after = assertSessionCookie(login, DAY_SECONDS);
            assertNotEquals(before, after);
            if (has(Capability.SERVER_SIDE)) {
                assertEquals(List.of(idOf(before), idOf(after)), List.of(ids[0], ids[1]), "the cookie carries the ID");
            }
            assertEquals(
                    "{\"isNew\":false,\"keys\":[\"counter\",\"user\"]}",
                    browser.get("/state").bodyAsString());
            assertEquals("You've visited this page 2 times", browser.get("/").bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void loginOnANewSession_storesItUnderTheNewId(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            HttpResponse<Buffer> login = browser.post("/login");
            assertEquals(200, login.statusCode());
            assertSessionCookie(login, DAY_SECONDS);
            assertEquals(
                    "{\"isNew\":false,\"keys\":[\"user\"]}",
                    browser.get("/state").bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void oldIdAfterLogin_loadsNothing(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeTrue(
                    has(Capability.SERVER_SIDE),
                    "the cookie carries the session: the pre-login cookie stays valid " + "until it expires");
            String before = TestServer.sessionCookie(server.get("/"));
            String after = TestServer.sessionCookie(server.post("/login", before));
            assertEquals("1", server.get("/peek", after).bodyAsString());
            assertFresh(server, before);
        });
        test.completeNow();
    }

    @Test
    void secondLogin_ofASessionLoadedFromTheStore_keepsTheData(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            browser.get("/");
            String first = assertSessionCookie(browser.post("/login"), DAY_SECONDS);
            assertEquals("You've visited this page 2 times", browser.get("/").bodyAsString());
            HttpResponse<Buffer> again = browser.post("/login");
            assertEquals(200, again.statusCode());
            String second = assertSessionCookie(again, DAY_SECONDS);
            assertNotEquals(first, second);
            assertEquals(
                    "{\"isNew\":false,\"keys\":[\"counter\",\"user\"]}",
                    browser.get("/state").bodyAsString());
            assertEquals("alice", browser.get("/get/user").bodyAsString());
            assertEquals("2", browser.get("/peek").bodyAsString());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ expiry, on the test clock

    @Test
    void idleExpiry_endsASessionNotSavedForTheExpiry(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start(config -> config.setExpiry(Duration.ofSeconds(60))));
            assertSessionCookie(browser.get("/"), 60);
            clock.advance(Duration.ofSeconds(50));
            HttpResponse<Buffer> saved = browser.get("/");
            assertEquals("You've visited this page 2 times", saved.bodyAsString());
            assertSessionCookie(saved, 60);
            clock.advance(Duration.ofSeconds(59)); // 109 s after creation, 59 s after the last save
            assertEquals("2", browser.get("/peek").bodyAsString());
            clock.advance(Duration.ofSeconds(2));
            HttpResponse<Buffer> expired = browser.get("/state");
            assertEquals(200, expired.statusCode());
            assertEquals(FRESH, expired.bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void absoluteExpiry_endsASessionEvenWhileItIsUsed(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start(
                    config -> config.setExpiry(Duration.ofSeconds(60)).setAbsoluteExpiry(Duration.ofSeconds(100))));
            assertSessionCookie(browser.get("/"), 60);
            clock.advance(Duration.ofSeconds(50));
            HttpResponse<Buffer> saved = browser.get("/");
            assertEquals("You've visited this page 2 times", saved.bodyAsString());
            assertSessionCookie(saved, 50); // capped at 100 s after creation
            clock.advance(Duration.ofSeconds(49));
            assertEquals("2", browser.get("/peek").bodyAsString());
            clock.advance(Duration.ofSeconds(2));
            assertEquals(FRESH, browser.get("/state").bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void perSessionExpiry_isKeptByLaterSaves_andEndsTheSession(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            HttpResponse<Buffer> shortened = browser.get("/expire/30");
            assertEquals("expires in 30 s", shortened.bodyAsString());
            assertSessionCookie(shortened, 30);
            clock.advance(Duration.ofSeconds(20));
            HttpResponse<Buffer> saved = browser.get("/");
            assertEquals("You've visited this page 1 times", saved.bodyAsString());
            assertSessionCookie(saved, 30);
            clock.advance(Duration.ofSeconds(29)); // 49 s after creation: alive only because the save renewed 30 s
            assertEquals(
                    "{\"isNew\":false,\"keys\":[\"counter\",\"short\"]}",
                    browser.get("/state").bodyAsString());
            clock.advance(Duration.ofSeconds(2));
            assertEquals(FRESH, browser.get("/state").bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void anonymousExpiry_endsAnAnonymousSession_whileAPromotedOneLivesOn(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(
                    config -> config.setExpiry(Duration.ofSeconds(600)).setAnonymousExpiry(Duration.ofSeconds(60)));
            Browser anonymous = new Browser(server);
            Browser member = new Browser(server);
            assertSessionCookie(anonymous.get("/"), 60);
            assertSessionCookie(member.get("/"), 60);
            HttpResponse<Buffer> login = member.post("/login");
            assertEquals(200, login.statusCode());
            assertSessionCookie(login, 600); // regenerate() promoted it
            assertEquals(
                    "{\"isNew\":false,\"keys\":[\"counter\",\"user\"]}",
                    member.get("/state").bodyAsString(),
                    "the promotion mark is not one of the application's keys");
            clock.advance(Duration.ofSeconds(61));
            assertEquals(FRESH, anonymous.get("/state").bodyAsString());
            assertEquals("alice", member.get("/get/user").bodyAsString());
            assertEquals("You've visited this page 2 times", member.get("/").bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void anonymousExpiry_endsAgainAfterALogoutThatClears_andAVertxWebLoginPromotes(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(
                    config -> config.setExpiry(Duration.ofSeconds(600)).setAnonymousExpiry(Duration.ofSeconds(60)));
            Browser browser = new Browser(server);
            browser.post("/login");
            assertCookieExpired(browser.post("/logout"));
            assertSessionCookie(browser.get("/"), 60); // anonymous again
            Browser basic = new Browser(server);
            HttpResponse<Buffer> me = basic.get("/private/me", "alice");
            assertEquals(200, me.statusCode());
            assertSessionCookie(me, 600); // a Vert.x-Web user in the session promotes it
            clock.advance(Duration.ofSeconds(61));
            assertEquals(FRESH, browser.get("/state").bodyAsString());
            assertEquals("alice", basic.get("/private/me").bodyAsString());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ error answers

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "/boom/destroy/fail500",
                "/boom/destroy/end503",
                "/boom/destroy/fail403",
                "/boom/destroy/end400",
                "/boom/clear/fail500",
                "/boom/clear/end503",
                "/boom/clear/end401"
            })
    void logoutOnAnErrorAnswer_stillEndsTheSession(String path, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            Browser browser = new Browser(server);
            browser.post("/login");
            String loggedIn = browser.cookie();
            assertEquals("alice", browser.get("/get/user").bodyAsString());
            HttpResponse<Buffer> boom = browser.get(path);
            int expected = Integer.parseInt(path.substring(path.length() - 3));
            assertEquals(expected, boom.statusCode());
            assertCookieExpired(boom);
            assertNull(browser.cookie());
            assertEquals("none", browser.get("/get/user").bodyAsString(), "still logged in after " + path);
            if (has(Capability.SERVER_SIDE)) {
                assertFresh(server, loggedIn);
            }
        });
        test.completeNow();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(ints = {500, 503})
    void regenerateOnAServerError_stillMovesTheSession_asItWasLoaded(int status, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            Browser browser = new Browser(server);
            browser.get("/");
            String before = browser.cookie();
            HttpResponse<Buffer> failed = browser.get("/regenerate-then/" + status);
            assertEquals(status, failed.statusCode());
            String after = assertSessionCookie(failed, DAY_SECONDS);
            assertNotEquals(before, after, "the regenerate was honoured");
            assertEquals(
                    "{\"isNew\":false,\"keys\":[\"counter\"]}",
                    browser.get("/state").bodyAsString(),
                    "the session moved as it was loaded; the failed request's own change is not saved");
            if (has(Capability.SERVER_SIDE)) {
                assertFresh(server, before);
            }
        });
        test.completeNow();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/status/401", "/status/404", "/status/500", "/no-such-route"})
    void eagerMode_errorAnswerToANewVisitor_storesAndSendsNothing(String path, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config -> config.setLazySession(false));
            HttpResponse<Buffer> error = server.get(path);
            assertEquals(path.startsWith("/status/") ? Integer.parseInt(path.substring(8)) : 404, error.statusCode());
            assertNoSessionCookie(error);
            assertEquals(0, server.middleware.metrics().saves(), "nothing was stored");
            assertSessionCookie(server.get("/state"), DAY_SECONDS); // a 200 still stores the new session
        });
        test.completeNow();
    }

    @Test
    void pagesOfALoggedInSession_areNeverStored_andAnonymousOnesArePrivate(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            Browser browser = new Browser(server);
            assertEquals("private", browser.get("/").getHeader("cache-control"), "an anonymous session");
            assertEquals("private", browser.get("/peek").getHeader("cache-control"));
            HttpResponse<Buffer> login = browser.post("/login");
            assertEquals("no-store", login.getHeader("cache-control"), "the login's own answer");
            assertEquals("no-store", browser.get("/get/user").getHeader("cache-control"), "a logged-in page");
            HttpResponse<Buffer> logout = browser.post("/logout");
            assertEquals("private", logout.getHeader("cache-control"), "the logout's answer: nothing private in it");
            Browser basic = new Browser(server);
            HttpResponse<Buffer> me = basic.get("/private/me", "alice");
            assertEquals("no-store", me.getHeader("cache-control"), "a Vert.x-Web user");
            assertEquals("no-store", basic.get("/private/me").getHeader("cache-control"));
            assertEquals(null, server.get("/status/204").getHeader("cache-control"), "no session, nothing to hide");
        });
        test.completeNow();
    }

    @Test
    void errorAnswerOfASessionThatHoldsData_isSaved_asBefore(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            HttpResponse<Buffer> flash = browser.get("/flash/422");
            assertEquals(422, flash.statusCode());
            assertSessionCookie(flash, DAY_SECONDS);
            assertEquals("check your answers", browser.get("/get/flash").bodyAsString());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ hostile cookie values

    @Test
    void hostileCookieValues_giveAFreshSession_neverAnError(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            String genuine = TestServer.sessionCookie(server.get("/"));
            String wellFormed = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; // 43 characters, ends in a legal one
            List<String> hostile = new ArrayList<>(List.of(
                    "../../etc/passwd",
                    "x".repeat(5000),
                    wellFormed.substring(1),
                    wellFormed + "A",
                    wellFormed + "AA",
                    wellFormed.substring(0, 42) + "B",
                    wellFormed,
                    "%2e%2e%2f",
                    "..",
                    "a.b.c",
                    "\"quoted\""));
            hostile.add(tamper(genuine, 0));
            hostile.add(tamper(genuine, genuine.length() / 2));
            hostile.add(genuine.substring(0, genuine.length() - 1));
            hostile.add(genuine + "A");
            for (String value : hostile) {
                String name =
                        value.length() > 60 ? value.substring(0, 20) + "... (" + value.length() + " chars)" : value;
                HttpResponse<Buffer> read = server.get("/state", value);
                assertEquals(200, read.statusCode(), name);
                assertEquals(FRESH, read.bodyAsString(), name);
                assertNoSessionCookie(read);
                HttpResponse<Buffer> written = server.get("/", value);
                assertEquals(200, written.statusCode(), name);
                assertEquals("You've visited this page 1 times", written.bodyAsString(), name);
                String issued = assertSessionCookie(written, DAY_SECONDS);
                assertNotEquals(value, issued, "a client never chooses its session: " + name);
                assertNotEquals(genuine, issued, name);
            }
            assertEquals("1", server.get("/peek", genuine).bodyAsString(), "the genuine session is untouched");
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ parallel requests

    @Test
    void parallelRequestsChangingDifferentKeys_bothKeepTheirChange(VertxTestContext test) {
        TestServer server = start();
        assumeTrue(has(Capability.PER_KEY_MERGE), "saves write the whole session: the last one wins");
        String cookie = TestServer.sessionCookie(server.get("/"));
        assertEquals("1", server.get("/peek", cookie).bodyAsString()); // stored, not in flight
        Gate left = gate("left");
        Gate right = gate("right");
        Future<HttpResponse<Buffer>> leftDone = send(server, "/gate/left/put/left/L", cookie);
        Future<HttpResponse<Buffer>> rightDone = send(server, "/gate/right/put/right/R", cookie);
        Future.all(left.entered(), right.entered()) // both have loaded the session as it was
                .compose(v -> left.open(leftDone))
                .compose(response -> {
                    test.verify(() -> assertEquals("done", response.bodyAsString()));
                    return right.open(rightDone);
                })
                .compose(response -> {
                    test.verify(() -> assertEquals("done", response.bodyAsString()));
                    return send(server, "/state", cookie);
                })
                .onComplete(test.succeeding(state -> test.verify(() -> {
                    assertEquals("{\"isNew\":false,\"keys\":[\"counter\",\"left\",\"right\"]}", state.bodyAsString());
                    test.completeNow();
                })));
    }

    @Test
    void fiftyParallelIncrementsOfOneSession_endAtExactlyFifty(VertxTestContext test) {
        TestServer server = start();
        assumeTrue(has(Capability.ATOMIC_UPDATE), "update() changes the request's copy, saved with the session");
        String cookie = TestServer.sessionCookie(server.get("/"));
        Checkpoint answered = test.checkpoint(50 + 1); // and the final check
        List<Future<HttpResponse<Buffer>>> increments = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            increments.add(send(server, "/inc", cookie)
                    .onComplete(test.succeeding(response -> test.verify(() -> {
                        assertEquals(200, response.statusCode(), response.bodyAsString());
                        answered.flag();
                    }))));
        }
        Future.all(increments)
                .compose(v -> send(server, "/get/n", cookie))
                .onComplete(test.succeeding(total -> test.verify(() -> {
                    assertEquals("50", total.bodyAsString());
                    Set<Long> seen = increments.stream()
                            .map(f -> Long.parseLong(f.result().bodyAsString()))
                            .collect(Collectors.toCollection(TreeSet::new));
                    assertEquals(
                            LongStream.rangeClosed(1, 50).boxed().collect(Collectors.toSet()),
                            seen,
                            "each increment saw a distinct value");
                    answered.flag();
                })));
    }

    @Test
    void update_isSavedWithTheRequest_andTheNextRequestSeesIt(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            HttpResponse<Buffer> first = browser.get("/todo/milk");
            assertEquals(200, first.statusCode());
            assertEquals("[milk]", first.bodyAsString());
            assertSessionCookie(first, DAY_SECONDS);
            assertEquals("[milk]", browser.get("/get/todos").bodyAsString());
            assertEquals("[milk, eggs]", browser.get("/todo/eggs").bodyAsString());
            assertEquals("[milk, eggs]", browser.get("/get/todos").bodyAsString());
        });
        test.completeNow();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/gate/slow/put/late/1", "/gate/slow/regenerate"})
    void slowRequestThatLoadedBeforeALogout_doesNotBringTheSessionBack(String slowPath, VertxTestContext test) {
        TestServer server = start();
        assumeTrue(has(Capability.SERVER_SIDE), "the cookie carries the session: a logout cannot reach other copies");
        String cookie = TestServer.sessionCookie(server.post("/login", null));
        assertEquals("alice", server.get("/get/user", cookie).bodyAsString());
        Gate slow = gate("slow");
        Future<HttpResponse<Buffer>> slowDone = send(server, slowPath, cookie);
        slow.entered()
                .compose(v -> send(server, HttpMethod.POST, "/logout", cookie))
                .compose(logout -> {
                    test.verify(() -> assertCookieExpired(logout));
                    return send(server, "/state", cookie);
                })
                .compose(state -> {
                    test.verify(() -> assertEquals(FRESH, state.bodyAsString(), "logged out"));
                    return slow.open(slowDone);
                })
                .compose(late -> {
                    test.verify(() -> assertEquals(200, late.statusCode()));
                    String lateCookie = TestServer.setCookie(late, COOKIE);
                    Future<HttpResponse<Buffer>> viaLateCookie = lateCookie == null
                            ? Future.succeededFuture(null)
                            : send(server, "/state", TestServer.cookieValue(lateCookie));
                    return Future.all(send(server, "/state", cookie), viaLateCookie);
                })
                .onComplete(test.succeeding(states -> test.verify(() -> {
                    HttpResponse<Buffer> viaOld = states.resultAt(0);
                    HttpResponse<Buffer> viaLate = states.resultAt(1);
                    assertEquals(FRESH, viaOld.bodyAsString(), "the slow request brought the session back");
                    if (viaLate != null) {
                        assertEquals(
                                FRESH,
                                viaLate.bodyAsString(),
                                "the slow request brought the session back under its cookie");
                    }
                    test.completeNow();
                })));
    }

    @Test
    void slowRequestThatLoadedBeforeALogin_neverSetsTheDeadCookie_andItsWriteFollowsTheSession(VertxTestContext test) {
        TestServer server = start();
        String before = TestServer.sessionCookie(server.get("/"));
        String[] after = new String[1];
        Gate slow = gate("slow");
        Future<HttpResponse<Buffer>> slowDone = send(server, "/gate/slow/put/wizard/step1", before);
        slow.entered()
                .compose(v -> send(server, HttpMethod.POST, "/login", before))
                .compose(login -> {
                    test.verify(() -> assertEquals(200, login.statusCode()));
                    after[0] = TestServer.sessionCookie(login);
                    return slow.open(slowDone);
                })
                .compose(late -> {
                    test.verify(() -> {
                        assertEquals(200, late.statusCode());
                        String set = TestServer.setCookie(late, COOKIE);
                        if (set != null) {
                            assertEquals(
                                    idOf(after[0]),
                                    idOf(TestServer.cookieValue(set)),
                                    "the late response set a dead cookie");
                        }
                    });
                    return send(server, "/state", after[0]);
                })
                .onComplete(test.succeeding(state -> test.verify(() -> {
                    String keys = has(Capability.SERVER_SIDE) && has(Capability.PER_KEY_MERGE)
                            ? "[\"counter\",\"user\",\"wizard\"]" // the late write followed the session
                            : "[\"counter\",\"user\"]"; // it would have undone the login: dropped
                    assertEquals("{\"isNew\":false,\"keys\":" + keys + "}", state.bodyAsString());
                    test.completeNow();
                })));
    }

    @Test
    void slowRequestThatLoadedBeforeALogout_setsNoCookie(VertxTestContext test) {
        TestServer server = start();
        String cookie = TestServer.sessionCookie(server.post("/login", null));
        Gate slow = gate("slow");
        Future<HttpResponse<Buffer>> slowDone = send(server, "/gate/slow/put/late/1", cookie);
        slow.entered()
                .compose(v -> send(server, HttpMethod.POST, "/logout", cookie))
                .compose(logout -> {
                    test.verify(() -> assertCookieExpired(logout));
                    return slow.open(slowDone);
                })
                .onComplete(test.succeeding(late -> test.verify(() -> {
                    assertEquals(200, late.statusCode());
                    assertNoSessionCookie(late); // a signed cookie here would log the browser in again
                    test.completeNow();
                })));
    }

    // ------------------------------------------------------------------ two servers, one store

    @Test
    void sessionWrittenOnOneServer_isReadAndChangedOnAnother(VertxTestContext test) {
        test.verify(() -> {
            TestServer a = start();
            assumeTrue(has(Capability.SHARED), "the store belongs to one process");
            Vertx other = Vertx.vertx();
            otherVertx.add(other);
            TestServer b = start(other, sharedStoreConfig(clock), config -> {});
            String cookie = TestServer.sessionCookie(a.get("/commit/user/alice"));
            HttpResponse<Buffer> read = b.get("/get/user", cookie);
            assertEquals(200, read.statusCode());
            assertEquals("alice", read.bodyAsString());
            assertNoSessionCookie(read);
            assertEquals("stored", b.get("/commit/theme/dark", cookie).bodyAsString());
            assertEquals("dark", a.get("/get/theme", cookie).bodyAsString());
            assertCookieExpired(b.post("/logout", cookie));
            assertFresh(a, cookie);
        });
        test.completeNow();
    }

    @Test
    void adminApiOfOneServer_seesAndEndsTheSessionsOfAnother(VertxTestContext test) {
        test.verify(() -> {
            TestServer a = start();
            assumeTrue(has(Capability.SHARED), "the store belongs to one process");
            assumeUserIndex();
            Vertx other = Vertx.vertx();
            otherVertx.add(other);
            TestServer b = start(other, sharedStoreConfig(clock), config -> {});
            String onA = loginAs(a, "alice", null);
            String onB = loginAs(b, "alice", null);
            assertEquals(new TreeSet<>(List.of(idOf(onA), idOf(onB))), idsOf(a, "alice"));
            assertEquals(idsOf(a, "alice"), idsOf(b, "alice"));
            assertEquals(
                    "alice",
                    b.middleware.sessions().get(idOf(onA)).await().info().principal());

            assertEquals(
                    List.of(idOf(onA)),
                    b.middleware.sessions().deleteAllOf("alice", idOf(onB)).await()); // "other devices"
            assertFresh(a, onA);
            assertEquals("alice", a.get("/whoami", onB).bodyAsString());
            assertEquals(Set.of(idOf(onB)), idsOf(a, "alice"));
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ the user of Vert.x-Web's authentication

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/auth/logout", "/auth/clear"})
    void basicAuthLogin_keepsTheUserWithoutCredentials_untilALogout(String logout, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            Browser browser = new Browser(server);
            assertEquals(401, browser.get("/private/me").statusCode());
            HttpResponse<Buffer> login = browser.get("/private/me", "alice");
            assertEquals(200, login.statusCode());
            assertEquals("alice", login.bodyAsString());
            String loggedIn = assertSessionCookie(login, DAY_SECONDS);

            HttpResponse<Buffer> again = browser.get("/private/me");
            assertEquals(200, again.statusCode(), "the user is restored from the session, no credentials sent");
            assertEquals("alice", again.bodyAsString());
            assertNoSessionCookie(again);

            HttpResponse<Buffer> bye = browser.get(logout);
            assertEquals(logout.equals("/auth/logout") ? 302 : 200, bye.statusCode());
            assertCookieExpired(bye);
            assertEquals(401, browser.get("/private/me").statusCode());
            if (has(Capability.SERVER_SIDE)) {
                assertEquals(
                        401, server.get("/private/me", loggedIn).statusCode(), "the logged-out session is deleted");
            }
        });
        test.completeNow();
    }

    @Test
    void impersonate_forcesReauthentication_withTheNewCookie(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            String loggedIn = assertSessionCookie(browser.get("/private/me", "alice"), DAY_SECONDS);
            HttpResponse<Buffer> switching = browser.get("/auth/impersonate");
            assertEquals(302, switching.statusCode());
            assertEquals("/private/me", switching.getHeader("location"));
            assertNotEquals(loggedIn, assertSessionCookie(switching, DAY_SECONDS));

            assertEquals(401, browser.get("/private/me").statusCode(), "the new session must not hold alice");
            HttpResponse<Buffer> asBob = browser.get("/private/me", "bob");
            assertEquals(200, asBob.statusCode());
            assertEquals("bob", asBob.bodyAsString());
            assertEquals("bob", browser.get("/private/me").bodyAsString());

            HttpResponse<Buffer> restoring = browser.get("/auth/restore");
            assertEquals(302, restoring.statusCode());
            assertEquals("alice", browser.get("/private/me").bodyAsString(), "restore() brings back the first user");
        });
        test.completeNow();
    }

    @Test
    void refresh_forcesReauthentication_withTheNewCookie(VertxTestContext test) {
        test.verify(() -> {
            Browser browser = new Browser(start());
            browser.get("/private/me", "alice");
            browser.get("/"); // data besides the user, so the session outlives the user (an empty one is deleted)
            String loggedIn = browser.cookie();
            HttpResponse<Buffer> refreshing = browser.get("/auth/refresh");
            assertEquals(302, refreshing.statusCode());
            assertEquals("/private/me", refreshing.getHeader("location"));
            assertNotEquals(loggedIn, assertSessionCookie(refreshing, DAY_SECONDS));

            assertEquals(401, browser.get("/private/me").statusCode(), "the new session must not hold the user");
            assertEquals("1", browser.get("/peek").bodyAsString(), "the rest of the session is kept");
            HttpResponse<Buffer> confirmed = browser.get("/private/me", "alice");
            assertEquals(200, confirmed.statusCode());
            assertEquals("alice", confirmed.bodyAsString());
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ sessions of a user (USER_INDEX)

    /** Logs {@code user} in by hand (regenerate + setPrincipal) with {@code cookie}, returns the new cookie. */
    private static String loginAs(TestServer server, String user, String cookie) {
        HttpResponse<Buffer> login = server.post("/login-as/" + user, cookie);
        assertEquals(200, login.statusCode(), login.bodyAsString());
        return TestServer.sessionCookie(login);
    }

    /**
     * Returns the session ID a server-side cookie names: the cookie itself, or its part before the dot when the near
     * cache adds the session's version ({@code <id>.<version>}).
     */
    protected static String idOf(String cookieValue) {
        int dot = cookieValue == null ? -1 : cookieValue.indexOf('.');
        return dot < 0 ? cookieValue : cookieValue.substring(0, dot);
    }

    private static Set<String> idsOf(TestServer server, String principal) {
        return server.middleware.sessions().sessionsOf(principal).await().stream()
                .map(SessionInfo::id)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private void assumeUserIndex() {
        assumeTrue(has(Capability.USER_INDEX), "the backend keeps no index of sessions by user");
    }

    @Test
    void userIndex_listsAUsersSessions_andForgetsThemAtLogoutAndLogin(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeUserIndex();
            String anonymous = TestServer.sessionCookie(server.get("/"));
            String first = loginAs(server, "alice", anonymous);
            String second = loginAs(server, "alice", null);
            String bob = loginAs(server, "bob", null);
            assertEquals(new TreeSet<>(List.of(idOf(first), idOf(second))), idsOf(server, "alice"));
            assertEquals(Set.of(idOf(bob)), idsOf(server, "bob"));
            assertEquals(2, server.middleware.sessions().countOf("alice").await());
            List<SessionInfo> infos =
                    server.middleware.sessions().sessionsOf("alice").await();
            assertEquals("alice", infos.get(0).principal());
            assertEquals(clock.millis() + DAY_SECONDS * 1000, infos.get(0).expiresAtMillis());

            String moved = loginAs(server, "alice", first); // regenerate: the index follows the move
            assertNotEquals(first, moved);
            assertEquals(new TreeSet<>(List.of(idOf(moved), idOf(second))), idsOf(server, "alice"));

            assertCookieExpired(server.post("/logout", second));
            assertEquals(Set.of(idOf(moved)), idsOf(server, "alice"));
            assertEquals("alice", server.get("/whoami", moved).bodyAsString());
            assertEquals(Set.of(), idsOf(server, "nobody"));

            server.middleware.sessions().delete(idOf(bob)).await(); // an administrator ends bob's session
            assertEquals(Set.of(), idsOf(server, "bob"));
            assertFresh(server, bob);
        });
        test.completeNow();
    }

    @Test
    void adminGet_findsAStoredSessionsDataAndTimes_andNothingOnceItEnded(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeTrue(has(Capability.SERVER_SIDE), "the cookie carries the session: the server cannot find it by ID");
            String anonymous = TestServer.sessionCookie(server.get("/commit/colour/blue"));
            SessionDetails found =
                    server.middleware.sessions().get(idOf(anonymous)).await();
            assertEquals(Map.of("colour", "blue"), found.data());
            assertEquals(idOf(anonymous), found.info().id());
            assertNull(found.info().principal(), "an anonymous session has no principal");
            assertEquals(clock.millis(), found.info().createdAtMillis());
            assertEquals(clock.millis() + DAY_SECONDS * 1000, found.info().expiresAtMillis());
            assertEquals(-1, found.info().lastAccessedAtMillis(), "kept only with record_client_info");
            assertNull(found.info().userAgent());

            String alice = loginAs(server, "alice", anonymous);
            SessionDetails loggedIn =
                    server.middleware.sessions().get(idOf(alice)).await();
            assertEquals("alice", loggedIn.info().principal());
            assertEquals(Map.of("colour", "blue", "user", "alice"), loggedIn.data(), "no reserved key is shown");
            assertNull(server.middleware.sessions().get(idOf(anonymous)).await(), "the login moved the session");

            assertCookieExpired(server.post("/logout", alice));
            assertNull(server.middleware.sessions().get(idOf(alice)).await());
            assertNull(server.middleware.sessions().get("../../etc/passwd").await(), "a malformed ID finds nothing");

            String expiring = TestServer.sessionCookie(server.get("/commit/colour/red"));
            clock.advance(Duration.ofSeconds(DAY_SECONDS + 1));
            assertNull(server.middleware.sessions().get(idOf(expiring)).await(), "an expired session is not found");
        });
        test.completeNow();
    }

    @Test
    void adminCount_countsTheStoredSessions(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeTrue(has(Capability.SERVER_SIDE), "the cookie carries the session: the server cannot count them");
            Future<Long> counting = server.middleware.sessions().count();
            assumeFalse(
                    counting.failed() && counting.cause() instanceof UnsupportedOperationException,
                    "the backend cannot count its sessions");
            long before = counting.await();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ids.add(TestServer.sessionCookie(server.get("/commit/n/" + i)));
            }
            assertEquals(before + 3, server.middleware.sessions().count().await());
            assertCookieExpired(server.post("/logout", ids.get(0)));
            assertEquals(before + 2, server.middleware.sessions().count().await());
        });
        test.completeNow();
    }

    @Test
    void recordClientInfo_keepsTheLoginsClient_andTheLastSave(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(config -> config.setRecordClientInfo(true));
            assumeUserIndex();
            long loginAt = clock.millis();
            HttpResponse<Buffer> login = server.client
                    .post("/login-as/alice")
                    .putHeader("User-Agent", "Phone/1.0 " + "x".repeat(400))
                    .send()
                    .await();
            assertEquals(200, login.statusCode());
            String cookie = TestServer.sessionCookie(login);
            SessionInfo info =
                    server.middleware.sessions().sessionsOf("alice").await().get(0);
            assertEquals(idOf(cookie), info.id());
            assertEquals(("Phone/1.0 " + "x".repeat(400)).substring(0, 256), info.userAgent());
            assertEquals("127.0.0.1", info.address());
            assertEquals(loginAt, info.lastAccessedAtMillis());

            clock.advance(Duration.ofMinutes(5));
            server.client
                    .get("/commit/colour/green")
                    .putHeader("cookie", COOKIE + "=" + cookie)
                    .putHeader("User-Agent", "Other/2.0")
                    .send()
                    .await();
            SessionInfo later =
                    server.middleware.sessions().get(idOf(cookie)).await().info();
            assertEquals(loginAt + Duration.ofMinutes(5).toMillis(), later.lastAccessedAtMillis());
            assertEquals(info.userAgent(), later.userAgent(), "the client is the login's, not the last request's");
            assertEquals(
                    Map.of("colour", "green", "user", "alice"),
                    server.middleware.sessions().get(idOf(cookie)).await().data());
        });
        test.completeNow();
    }

    @Test
    void aLoginThatSetsOnlyThePrincipal_isStored_andItsLogoutDeletesIt(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            HttpResponse<Buffer> login = server.post("/principal-only/alice", null);
            assertEquals(200, login.statusCode());
            String cookie = assertSessionCookie(login, DAY_SECONDS);
            assertEquals("alice", server.get("/whoami", cookie).bodyAsString());
            if (has(Capability.USER_INDEX)) {
                assertEquals(Set.of(idOf(cookie)), idsOf(server, "alice"));
            }
            assertCookieExpired(server.post("/logout", cookie));
            if (has(Capability.SERVER_SIDE)) { // a signed cookie cannot be revoked: its copy stays valid
                assertEquals("null", server.get("/whoami", cookie).bodyAsString());
            }
        });
        test.completeNow();
    }

    @Test
    void userIndex_followsTheUserOfVertxWebAuthentication_untilItsLogout(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeUserIndex();
            Browser browser = new Browser(server);
            String cookie = TestServer.sessionCookie(browser.get("/private/me", "alice"));
            assertEquals(Set.of(idOf(cookie)), idsOf(server, "alice"));
            assertEquals("alice", browser.get("/whoami").bodyAsString());
            assertCookieExpired(browser.get("/auth/clear"));
            assertEquals(Set.of(), idsOf(server, "alice"));
        });
        test.completeNow();
    }

    @Test
    void logOutAllOtherDevices_leavesExactlyTheCurrentOne(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeUserIndex();
            List<String> alice = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                alice.add(loginAs(server, "alice", null));
            }
            String bob = loginAs(server, "bob", null);
            String current = alice.get(2);
            List<String> ended = server.middleware
                    .sessions()
                    .deleteAllOf("alice", idOf(current))
                    .await();
            assertEquals(
                    alice.stream()
                            .filter(id -> !id.equals(current))
                            .map(BackendContract::idOf)
                            .collect(Collectors.toCollection(TreeSet::new)),
                    new TreeSet<>(ended));
            assertEquals(Set.of(idOf(current)), idsOf(server, "alice"));
            for (String id : ended) {
                assertFresh(server, id);
            }
            assertEquals("alice", server.get("/whoami", current).bodyAsString());
            assertEquals("bob", server.get("/whoami", bob).bodyAsString());

            assertEquals(
                    List.of(idOf(current)),
                    server.middleware.sessions().deleteAllOf("alice").await());
            assertFresh(server, current);
            assertEquals(0, server.middleware.sessions().countOf("alice").await());
        });
        test.completeNow();
    }

    @Test
    void sessionDeletedByTheAdminApi_whileASlowRequestIsInFlight_staysDeleted(VertxTestContext test) {
        TestServer server = start();
        assumeTrue(has(Capability.SERVER_SIDE), "the cookie carries the session: nothing to delete on the server");
        String cookie = loginAs(server, "alice", null);
        Gate slow = gate("slow");
        Future<HttpResponse<Buffer>> slowDone = send(server, "/gate/slow/put/late/1", cookie);
        slow.entered()
                .compose(v -> server.middleware.sessions().delete(idOf(cookie)))
                .compose(v -> slow.open(slowDone))
                .compose(late -> {
                    test.verify(() -> {
                        assertEquals(200, late.statusCode());
                        assertNoSessionCookie(late);
                    });
                    return send(server, "/state", cookie);
                })
                .onComplete(test.succeeding(state -> test.verify(() -> {
                    assertEquals(FRESH, state.bodyAsString(), "the slow request brought the session back");
                    test.completeNow();
                })));
    }

    @Test
    void limitPerUser_endsTheOldest_atExactlyTheLimit_under32ParallelLogins(VertxTestContext test) {
        test.verify(() -> {
            start();
            assumeUserIndex();
            TestServer server = start(c -> c.setMaxSessionsPerUser(3));
            String bob = loginAs(server, "bob", null);
            List<Future<HttpResponse<Buffer>>> logins = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                logins.add(send(server, HttpMethod.POST, "/login-as/alice", null));
            }
            Future.join(logins).await();
            List<String> cookies = new ArrayList<>();
            for (Future<HttpResponse<Buffer>> login : logins) {
                assertEquals(200, login.result().statusCode(), login.result().bodyAsString());
                cookies.add(TestServer.sessionCookie(login.result()));
            }
            Set<String> indexed = idsOf(server, "alice");
            assertEquals(3, indexed.size());
            Set<String> live = new TreeSet<>();
            for (String cookie : cookies) {
                if (server.get("/whoami", cookie).bodyAsString().equals("alice")) {
                    live.add(idOf(cookie));
                }
            }
            assertEquals(indexed, live, "the index and the store disagree");
            assertEquals("bob", server.get("/whoami", bob).bodyAsString(), "another user's session ended");

            clock.advance(Duration.ofSeconds(1));
            String next = loginAs(server, "alice", null); // sequentially: the session that expires first ends
            clock.advance(Duration.ofSeconds(1));
            String last = loginAs(server, "alice", null);
            assertTrue(idsOf(server, "alice").containsAll(List.of(idOf(next), idOf(last))));
            assertEquals(3, idsOf(server, "alice").size());
        });
        test.completeNow();
    }

    @Test
    void limitPerUser_refuse_letsExactlyTheLimitIn_under32ParallelLogins_andRefusesTheRestWith429(
            VertxTestContext test) {
        test.verify(() -> {
            start();
            assumeUserIndex();
            TestServer server =
                    start(c -> c.setMaxSessionsPerUser(3).setUserLimitPolicy(SessionConfig.UserLimitPolicy.REFUSE));
            List<Future<HttpResponse<Buffer>>> logins = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                logins.add(send(server, HttpMethod.POST, "/login-as/alice", null));
            }
            Future.join(logins).await();
            int admitted = 0;
            for (Future<HttpResponse<Buffer>> login : logins) {
                HttpResponse<Buffer> response = login.result();
                if (response.statusCode() == 200) {
                    admitted++;
                    assertEquals(
                            "alice",
                            server.get("/whoami", TestServer.sessionCookie(response))
                                    .bodyAsString());
                } else {
                    assertEquals(429, response.statusCode(), response.bodyAsString());
                    assertNoSessionCookie(response);
                }
            }
            assertEquals(3, admitted);
            assertEquals(3, idsOf(server, "alice").size());
            assertEquals(429, server.post("/login-as/alice", null).statusCode());
            assertEquals(200, server.post("/login-as/bob", null).statusCode(), "another user was refused");
        });
        test.completeNow();
    }

    @Test
    void withoutAUserIndex_theAdminApiFailsNamingWhy_andTheLimitIsRefusedAtStart(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeTrue(!has(Capability.USER_INDEX), "the backend keeps a user index");
            Throwable failure = server.middleware.sessions().sessionsOf("alice").failed()
                    ? server.middleware.sessions().sessionsOf("alice").cause()
                    : null;
            assertTrue(failure instanceof UnsupportedOperationException, String.valueOf(failure));
            assertTrue(failure.getMessage().contains("memory, file or Redis"), failure.getMessage());
            IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> start(c -> c.setMaxSessionsPerUser(3)));
            assertTrue(refused.getMessage().startsWith("max_sessions_per_user needs a backend"), refused.getMessage());
        });
        test.completeNow();
    }

    @Test
    void withoutServerState_getAndCountFailNamingWhy(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start();
            assumeFalse(has(Capability.SERVER_SIDE), "the backend keeps sessions on the server");
            for (Future<?> call : List.of(
                    server.middleware.sessions().get("x".repeat(43)),
                    server.middleware.sessions().count())) {
                assertTrue(
                        call.failed() && call.cause() instanceof UnsupportedOperationException, String.valueOf(call));
                assertTrue(
                        call.cause().getMessage().contains("server-side backend"),
                        call.cause().getMessage());
            }
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ servers and routes

    @BeforeEach
    void startContract(Vertx vertx) {
        this.vertx = vertx;
        this.clock = new MutableClock();
    }

    @AfterEach
    void stopContract() {
        for (TestServer server : servers) {
            server.close();
        }
        for (Vertx other : otherVertx) {
            other.close().await();
        }
    }

    /** Starts a server with the backend under test. */
    protected TestServer start() {
        return start(config -> {});
    }

    /** Starts a server with the backend under test and the options {@code options} sets. */
    protected TestServer start(Consumer<SessionConfig> options) {
        return start(vertx, config(clock), options);
    }

    private TestServer start(Vertx on, SessionConfig config, Consumer<SessionConfig> options) {
        options.accept(config);
        config.setClock(clock);
        SessionBackendFactory chosen = config.getBackend();
        if (chosen != null) {
            config.setBackend((v, c) -> {
                SessionBackend backend = chosen.create(v, c);
                runningCapabilities = backend.capabilities();
                return backend;
            });
        }
        TestServer server = TestServer.start(on, config, this::routes);
        servers.add(server);
        return server;
    }

    /** Returns whether the backend under test has {@code capability} (start a server first). */
    protected boolean has(Capability capability) {
        Set<Capability> capabilities = declaredCapabilities() != null ? declaredCapabilities() : runningCapabilities;
        if (capabilities == null) {
            throw new IllegalStateException(
                    "the backend's capabilities are unknown: start a server first, and choose the "
                            + "backend with setBackend(...) or setManager(SessionManagerFactory), or override declaredCapabilities()");
        }
        return capabilities.contains(capability);
    }

    private void routes(Router router) {
        TestServer.counter(router);
        router.get("/peek").handler(TestServer.text(s -> s.get("counter", 0)));
        router.get("/state")
                .handler(TestServer.text(s -> new JsonObject()
                        .put("isNew", s.isNew())
                        .put("keys", new JsonArray(new ArrayList<>(new TreeSet<>(s.keys()))))
                        .encode()));
        router.get("/get/:key")
                .handler(ctx -> ctx.end(String.valueOf(session(ctx).get(ctx.pathParam("key"), "none"))));
        router.get("/commit/:key/:value").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            session.put(ctx.pathParam("key"), ctx.pathParam("value"));
            session.commit().onSuccess(v -> ctx.end("stored")).onFailure(ctx::fail);
        });
        router.post("/login").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            String before = session.id();
            session.regenerate().put("user", "alice");
            ctx.end(before + " " + session.id());
        });
        router.post("/login-as/:user").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            session.regenerate().setPrincipal(ctx.pathParam("user")).put("user", ctx.pathParam("user"));
            session.commit().onSuccess(v -> ctx.end("welcome")).onFailure(e -> {
                if (e instanceof SessionLimitException) {
                    ctx.response().setStatusCode(429).end("too many sessions");
                } else {
                    ctx.fail(e);
                }
            });
        });
        router.post("/principal-only/:user").handler(ctx -> {
            session(ctx).regenerate().setPrincipal(ctx.pathParam("user")); // a login that stores nothing else
            ctx.end("welcome");
        });
        router.get("/whoami").handler(ctx -> ctx.end(String.valueOf(session(ctx).getPrincipal())));
        router.post("/logout").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            session.clear();
            session.commit().onSuccess(v -> ctx.end("bye")).onFailure(ctx::fail); // answered once it is deleted
        });
        router.post("/invalidate").handler(ctx -> {
            session(ctx).invalidate();
            ctx.end("bye");
        });
        router.get("/expire/:seconds").handler(ctx -> {
            long seconds = Long.parseLong(ctx.pathParam("seconds"));
            session(ctx).setExpiry(Duration.ofSeconds(seconds)).put("short", true);
            ctx.end("expires in " + seconds + " s");
        });
        router.get("/inc")
                .handler(ctx -> session(ctx)
                        .increment("n")
                        .onSuccess(n -> ctx.end(String.valueOf(n)))
                        .onFailure(ctx::fail));
        router.get("/todo/:item")
                .handler(ctx -> session(ctx)
                        .update("todos", value -> {
                            List<Object> todos = value == null ? new ArrayList<>() : new ArrayList<>((List<?>) value);
                            todos.add(ctx.pathParam("item"));
                            return todos;
                        })
                        .onSuccess(todos -> ctx.end(String.valueOf(todos)))
                        .onFailure(ctx::fail));
        router.get("/boom/:how/:answer").handler(ctx -> {
            BaseSessionInterface session = session(ctx);
            if (ctx.pathParam("how").equals("destroy")) {
                session.destroy();
            } else {
                session.clear();
            }
            String answer = ctx.pathParam("answer");
            int status = Integer.parseInt(answer.substring(answer.length() - 3));
            if (answer.startsWith("fail")) {
                ctx.fail(status);
            } else {
                ctx.response().setStatusCode(status).end();
            }
        });
        router.get("/regenerate-then/:status").handler(ctx -> {
            session(ctx).regenerate().put("late", true);
            ctx.response()
                    .setStatusCode(Integer.parseInt(ctx.pathParam("status")))
                    .end();
        });
        router.get("/status/:status")
                .handler(ctx -> ctx.response()
                        .setStatusCode(Integer.parseInt(ctx.pathParam("status")))
                        .end());
        router.get("/flash/:status").handler(ctx -> {
            session(ctx).put("flash", "check your answers");
            ctx.response()
                    .setStatusCode(Integer.parseInt(ctx.pathParam("status")))
                    .end();
        });
        router.get("/gate/:gate/put/:key/:value")
                .handler(ctx -> held(ctx, session -> {
                    session.put(ctx.pathParam("key"), ctx.pathParam("value"));
                    ctx.end("done");
                }));
        router.get("/gate/:gate/regenerate")
                .handler(ctx -> held(ctx, session -> {
                    session.regenerate().put("late", true);
                    ctx.end("done");
                }));

        router.route("/private/*").handler(BasicAuthHandler.create(credentials -> {
            UsernamePasswordCredentials login = (UsernamePasswordCredentials) credentials;
            return login.getPassword().equals(PASSWORDS.get(login.getUsername()))
                    ? Future.succeededFuture(User.fromName(login.getUsername()))
                    : Future.failedFuture("invalid credentials");
        }));
        router.get("/private/me").handler(ctx -> ctx.end(ctx.user().subject()));
        router.get("/auth/logout").handler(ctx -> ctx.userContext().logout("/").onFailure(ctx::fail));
        router.get("/auth/clear").handler(ctx -> {
            ctx.userContext().clear();
            ctx.end("cleared");
        });
        router.get("/auth/impersonate")
                .handler(ctx -> ctx.userContext().impersonate("/private/me").onFailure(ctx::fail));
        router.get("/auth/restore")
                .handler(ctx -> ctx.userContext().restore("/private/me").onFailure(ctx::fail));
        router.get("/auth/refresh")
                .handler(ctx -> ctx.userContext().refresh("/private/me").onFailure(ctx::fail));
    }

    private static BaseSessionInterface session(RoutingContext ctx) {
        return SessionMiddleware.session(ctx);
    }

    /** Runs {@code then} once the test opens the request's gate; the session is loaded by then. */
    private void held(RoutingContext ctx, Consumer<BaseSessionInterface> then) {
        BaseSessionInterface session = session(ctx);
        Gate gate = gate(ctx.pathParam("gate"));
        gate.context = Vertx.currentContext();
        gate.entered.complete();
        gate.opened.future().onComplete(v -> then.accept(session));
    }

    /** Returns the gate called {@code name}, created on first use by the test or by a route. */
    protected Gate gate(String name) {
        return gates.computeIfAbsent(name, n -> new Gate());
    }

    /**
     * A request the test holds: its route reports once it has its session, and goes on when the test opens the gate.
     */
    protected static final class Gate {
        private final Promise<Void> entered = Promise.promise();
        private final Promise<Void> opened = Promise.promise();
        private volatile Context context;

        /** Returns a Future that completes once the held route has its session. */
        public Future<Void> entered() {
            return entered.future();
        }

        /** Lets the held route go on (on its own event loop) and returns {@code response}, its answer. */
        public <T> Future<T> open(Future<T> response) {
            context.runOnContext(v -> opened.complete());
            return response;
        }
    }

    // ------------------------------------------------------------------ requests and assertions

    /** Sends a GET with the session cookie {@code cookie} (none when null) without waiting. */
    protected static Future<HttpResponse<Buffer>> send(TestServer server, String path, String cookie) {
        return send(server, HttpMethod.GET, path, cookie);
    }

    /** Sends a request with the session cookie {@code cookie} (none when null) without waiting. */
    protected static Future<HttpResponse<Buffer>> send(
            TestServer server, HttpMethod method, String path, String cookie) {
        HttpRequest<Buffer> request = server.client.request(method, path);
        if (cookie != null) {
            request.putHeader("cookie", COOKIE + "=" + cookie);
        }
        return request.send();
    }

    /** Asserts that {@code cookie} loads no session, and that reading it sets no cookie. */
    protected static void assertFresh(TestServer server, String cookie) {
        HttpResponse<Buffer> state = server.get("/state", cookie);
        assertEquals(200, state.statusCode());
        assertEquals(FRESH, state.bodyAsString());
        assertNoSessionCookie(state);
    }

    /**
     * Asserts that the response sets the session cookie once, with the default attributes and a lifetime of
     * {@code maxAgeSeconds}, and returns its value.
     */
    protected static String assertSessionCookie(HttpResponse<Buffer> response, long maxAgeSeconds) {
        List<String> set = sessionSetCookies(response);
        assertEquals(1, set.size(), "one session cookie in " + TestServer.setCookies(response));
        String header = set.get(0);
        assertTrue(
                header.matches(COOKIE + "=[^;\\s]+; Max-Age=" + maxAgeSeconds
                        + "; Expires=[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT"
                        + "; Path=/; HTTPOnly; SameSite=Lax"),
                header);
        return TestServer.cookieValue(header);
    }

    /** Asserts that the response expires the session cookie, with the attributes it was set with. */
    protected static void assertCookieExpired(HttpResponse<Buffer> response) {
        List<String> set = sessionSetCookies(response);
        assertEquals(1, set.size(), "one session cookie in " + TestServer.setCookies(response));
        assertTrue(
                set.get(0).matches(COOKIE + "=; Max-Age=0; Expires=[^;]+ GMT; Path=/; HTTPOnly; SameSite=Lax"),
                set.get(0));
    }

    /** Asserts that the response neither sets nor expires the session cookie. */
    protected static void assertNoSessionCookie(HttpResponse<Buffer> response) {
        assertEquals(List.of(), sessionSetCookies(response));
    }

    private static List<String> sessionSetCookies(HttpResponse<Buffer> response) {
        return TestServer.setCookies(response).stream()
                .filter(h -> h.startsWith(COOKIE + "="))
                .collect(Collectors.toList());
    }

    /**
     * Returns {@code value} with the character at {@code index} replaced by another legal one. Not the last
     * character: in base64 its low bits may be padding, so changing them can leave the decoded bytes as they were.
     */
    private static String tamper(String value, int index) {
        char replacement = value.charAt(index) == 'A' ? 'B' : 'A';
        return value.substring(0, index) + replacement + value.substring(index + 1);
    }

    /**
     * One browser's session cookie: sent with each request, and replaced or dropped by what the responses set, so a
     * test reads the same for backends whose cookie carries the session and for those whose cookie names it.
     */
    protected static final class Browser {
        private final TestServer server;
        private String cookie;

        /** Creates a browser without a session cookie, talking to {@code server}. */
        public Browser(TestServer server) {
            this.server = server;
        }

        /** Returns the session cookie's value the browser holds, or null. */
        public String cookie() {
            return cookie;
        }

        /** Sends a GET and waits for the answer. */
        public HttpResponse<Buffer> get(String path) {
            return send(HttpMethod.GET, path, null);
        }

        /** Sends a GET with HTTP Basic credentials of {@code user} (the test's users: alice, bob). */
        public HttpResponse<Buffer> get(String path, String user) {
            String basic = user + ":" + PASSWORDS.get(user);
            return send(
                    HttpMethod.GET,
                    path,
                    "Basic " + Base64.getEncoder().encodeToString(basic.getBytes(StandardCharsets.UTF_8)));
        }

        /** Sends a POST without a body and waits for the answer. */
        public HttpResponse<Buffer> post(String path) {
            return send(HttpMethod.POST, path, null);
        }

        private HttpResponse<Buffer> send(HttpMethod method, String path, String authorization) {
            HttpRequest<Buffer> request = server.client.request(method, path);
            if (cookie != null) {
                request.putHeader("cookie", COOKIE + "=" + cookie);
            }
            if (authorization != null) {
                request.putHeader("authorization", authorization);
            }
            HttpResponse<Buffer> response = request.send().await();
            String set = TestServer.setCookie(response, COOKIE);
            if (set != null) {
                String value = TestServer.cookieValue(set);
                cookie = value.isEmpty() || set.contains("; Max-Age=0;") ? null : value;
            }
            return response;
        }
    }
}
