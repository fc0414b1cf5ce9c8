package dev.vertxsessions.signedcookies;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.security.HostileCookieContract;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Expiry of stateless signed cookies, with a hand-moved clock instead of sleeps: the cookie carries its creation
 * and issue times inside the MAC, the server refuses a cookie replayed after its idle expiry, and refuses one
 * replayed after the absolute lifetime even when it was re-issued moments before, or was issued with a later
 * expiry by a server that had no absolute lifetime configured.
 */
@ExtendWith(VertxExtension.class)
class SignedCookieExpiryTest {

    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    private static final Duration IDLE = Duration.ofHours(1);
    private static final Duration ABSOLUTE = Duration.ofHours(4);
    private static final SignedCookieCodec CODEC = new SignedCookieCodec(TestServer.SECRET, List.of());

    private Vertx vertx;
    private MutableClock clock;

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
        clock = new MutableClock(T0);
    }

    private SessionConfig config(Duration absolute, boolean rolling) {
        return new SessionConfig()
                .setCookieEncryption(false)
                .setSecretKey(TestServer.SECRET)
                .setExpiry(IDLE)
                .setAbsoluteExpiry(absolute)
                .setRolling(rolling)
                .setClock(clock);
    }

    private static void routes(Router router) {
        router.get("/login").handler(ctx -> {
            SessionMiddleware.session(ctx).put("user", "alice");
            ctx.response().end();
        });
        router.get("/write").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.put("n", session.get("n", 0) + 1);
            ctx.response().end();
        });
        router.get("/short").handler(ctx -> {
            SessionMiddleware.session(ctx).put("user", "alice").setExpiry(120);
            ctx.response().end();
        });
        router.get("/probe")
                .handler(ctx -> ctx.response()
                        .end(HostileCookieContract.state(SessionMiddleware.session(ctx))
                                .encode()));
    }

    private static HttpResponse<Buffer> get(TestServer server, String path, String cookie) {
        var request = server.client.get(path);
        if (cookie != null) {
            request.putHeader("cookie", "session_id=" + cookie);
        }
        HttpResponse<Buffer> response = request.send().await();
        assertEquals(200, response.statusCode(), path);
        return response;
    }

    private static String issued(HttpResponse<Buffer> response) {
        String header = TestServer.setCookie(response, "session_id");
        assertNotNull(header, "a cookie was issued");
        return TestServer.cookieValue(header);
    }

    private static long maxAge(HttpResponse<Buffer> response) {
        for (String attribute : TestServer.setCookie(response, "session_id").split(";")) {
            if (attribute.trim().startsWith("Max-Age=")) {
                return Long.parseLong(attribute.trim().substring("Max-Age=".length()));
            }
        }
        throw new AssertionError("no Max-Age");
    }

    private static boolean accepted(TestServer server, String cookie) {
        JsonObject state = new JsonObject(get(server, "/probe", cookie).bodyAsString());
        if (state.getBoolean("isNew")) {
            assertEquals(HostileCookieContract.FRESH, state.encode(), "a refused cookie gives a fresh, empty session");
            return false;
        }
        return true;
    }

    private void at(Duration sinceT0) {
        clock.set(T0.plus(sinceT0));
    }

    @Test
    void cookieCarriesCreationAndIssueTimes_insideTheSignature(VertxTestContext test) {
        test.verify(() -> {
            try (TestServer server = TestServer.start(vertx, config(ABSOLUTE, false), SignedCookieExpiryTest::routes)) {
                HttpResponse<Buffer> login = get(server, "/login", null);
                SignedCookieCodec.Contents first = CODEC.decode(issued(login));
                assertEquals(T0.toEpochMilli(), first.createdAt);
                assertEquals(T0.toEpochMilli(), first.issuedAt);
                assertEquals(T0.plus(IDLE).toEpochMilli(), first.expiresAt);
                assertEquals(3600, maxAge(login));

                at(Duration.ofMinutes(30));
                HttpResponse<Buffer> write = get(server, "/write", issued(login));
                SignedCookieCodec.Contents second = CODEC.decode(issued(write));
                assertEquals(first.id, second.id);
                assertEquals(T0.toEpochMilli(), second.createdAt, "creation time survives re-issue");
                assertEquals(T0.plus(Duration.ofMinutes(30)).toEpochMilli(), second.issuedAt);
                assertEquals(T0.plus(Duration.ofMinutes(90)).toEpochMilli(), second.expiresAt);
                assertEquals(3600, maxAge(write));
            }
        });
        test.completeNow();
    }

    @Test
    void cookieReplayedAfterIdleExpiry_isRefused(VertxTestContext test) {
        test.verify(() -> {
            try (TestServer server = TestServer.start(vertx, config(ABSOLUTE, false), SignedCookieExpiryTest::routes)) {
                String cookie = issued(get(server, "/login", null));
                at(IDLE.minusMillis(1));
                assertTrue(accepted(server, cookie), "valid until the last millisecond");
                at(IDLE);
                assertEquals(false, accepted(server, cookie), "refused once the idle expiry is reached");
                at(IDLE.plusDays(30));
                assertEquals(false, accepted(server, cookie), "refused for good");
            }
        });
        test.completeNow();
    }

    @Test
    void perSessionExpiry_isEnforcedFromTheSignedCookie(VertxTestContext test) {
        test.verify(() -> {
            try (TestServer server = TestServer.start(vertx, config(ABSOLUTE, false), SignedCookieExpiryTest::routes)) {
                HttpResponse<Buffer> response = get(server, "/short", null);
                assertEquals(120, maxAge(response));
                String cookie = issued(response);
                at(Duration.ofSeconds(119));
                assertTrue(accepted(server, cookie));
                at(Duration.ofSeconds(120));
                assertEquals(
                        false, accepted(server, cookie), "the per-session expiry is shorter than the configured one");
            }
        });
        test.completeNow();
    }

    @Test
    void cookieReplayedAfterAbsoluteLifetime_isRefused_evenIfReissuedRecently(VertxTestContext test) {
        test.verify(() -> {
            for (boolean rolling : new boolean[] {false, true}) {
                clock.set(T0);
                try (TestServer server =
                        TestServer.start(vertx, config(ABSOLUTE, rolling), SignedCookieExpiryTest::routes)) {
                    String cookie = issued(get(server, "/login", null));
                    // Active every 50 minutes: the idle expiry never passes, the cookie is re-issued each time.
                    for (int step = 1; step <= 4; step++) {
                        at(Duration.ofMinutes(50L * step));
                        HttpResponse<Buffer> response = get(server, rolling ? "/probe" : "/write", cookie);
                        cookie = issued(response);
                        assertEquals(
                                Math.min(3600, ABSOLUTE.minusMinutes(50L * step).toSeconds()),
                                maxAge(response),
                                "Max-Age never reaches past the absolute lifetime");
                    }
                    SignedCookieCodec.Contents last = CODEC.decode(cookie);
                    assertEquals(
                            T0.plus(Duration.ofMinutes(200)).toEpochMilli(), last.issuedAt, "re-issued 40 minutes ago");
                    assertEquals(T0.plus(ABSOLUTE).toEpochMilli(), last.expiresAt);
                    at(ABSOLUTE.minusMillis(1));
                    assertTrue(accepted(server, cookie), "rolling=" + rolling);
                    at(ABSOLUTE);
                    assertEquals(
                            false, accepted(server, cookie), "refused at the absolute lifetime, rolling=" + rolling);
                }
            }
        });
        test.completeNow();
    }

    @Test
    void absoluteLifetime_isEnforcedFromTheSignedCreationTime_notFromTheCookiesExpiry(VertxTestContext test) {
        test.verify(() -> {
            // A cookie issued before absolute_expiry was configured carries an expiry past the absolute lifetime.
            String cookie;
            try (TestServer before = TestServer.start(vertx, config(null, false), SignedCookieExpiryTest::routes)) {
                cookie = issued(get(before, "/login", null));
                for (int step = 1; step <= 4; step++) {
                    at(Duration.ofMinutes(50L * step));
                    cookie = issued(get(before, "/write", cookie));
                }
            }
            SignedCookieCodec.Contents contents = CODEC.decode(cookie);
            assertEquals(T0.toEpochMilli(), contents.createdAt);
            assertEquals(
                    T0.plus(Duration.ofMinutes(260)).toEpochMilli(),
                    contents.expiresAt,
                    "expires 4 h 20 after creation");
            try (TestServer after = TestServer.start(vertx, config(ABSOLUTE, false), SignedCookieExpiryTest::routes)) {
                at(ABSOLUTE.minusMillis(1));
                assertTrue(accepted(after, cookie));
                at(ABSOLUTE);
                assertEquals(
                        false, accepted(after, cookie), "created 4 h ago: refused although its own expiry is later");
                assertNull(TestServer.setCookie(get(after, "/probe", cookie), "session_id"), "and not re-issued");
            }
        });
        test.completeNow();
    }
}
