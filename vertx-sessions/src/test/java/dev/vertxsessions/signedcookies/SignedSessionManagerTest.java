package dev.vertxsessions.signedcookies;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionRoutes;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class SignedSessionManagerTest {

    static final String OTHER_SECRET = "fedcba9876543210fedcba9876543210-other-secret";

    Vertx vertx;
    MutableClock clock;
    List<TestServer> servers = new ArrayList<>();

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
        clock = new MutableClock();
    }

    @AfterEach
    void stop() {
        servers.forEach(TestServer::close);
    }

    TestServer server(SessionConfig config) {
        TestServer server = TestServer.start(vertx, config.setClock(clock), SessionRoutes::install);
        servers.add(server);
        return server;
    }

    TestServer server() {
        return server(new SessionConfig().setCookieEncryption(false).setSecretKey(TestServer.SECRET));
    }

    @Test
    void counter_countsPerBrowser(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            HttpResponse<Buffer> first = server.get("/");
            assertEquals(200, first.statusCode());
            assertEquals("You've visited this page 1 times", first.bodyAsString());
            String cookie = TestServer.sessionCookie(first);
            HttpResponse<Buffer> second = server.get("/", cookie);
            assertEquals("You've visited this page 2 times", second.bodyAsString());
            assertEquals(
                    "You've visited this page 3 times",
                    server.get("/", TestServer.sessionCookie(second)).bodyAsString());
            assertEquals(
                    "You've visited this page 1 times", server.get("/").bodyAsString(), "another browser starts at 1");
        });
        test.completeNow();
    }

    @Test
    void cookie_carriesEveryConfiguredAttribute(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(new SessionConfig()
                    .setCookieEncryption(false)
                    .setSecretKey(TestServer.SECRET)
                    .setCookieName("session_id")
                    .setCookiePath("/")
                    .setCookieDomain("example.com")
                    .setCookieSecure(true)
                    .setCookieSameSite("strict")
                    .setExpiry(Duration.ofHours(1)));
            String header = TestServer.setCookie(server.get("/"), "session_id");
            assertTrue(
                    header.matches("session_id=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}; Max-Age=3600; Expires=[^;]+ GMT; "
                            + "Path=/; Domain=example.com; Secure; HTTPOnly; SameSite=Strict"),
                    header);
        });
        test.completeNow();
    }

    @Test
    void untouchedSession_getsNoCookie(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            HttpResponse<Buffer> peek = server.get("/peek");
            assertEquals("0", peek.bodyAsString());
            assertEquals(List.of(), TestServer.setCookies(peek), "lazy: a session never written sets no cookie");
            String cookie = TestServer.sessionCookie(server.get("/"));
            HttpResponse<Buffer> read = server.get("/peek", cookie);
            assertEquals("1", read.bodyAsString());
            assertEquals(List.of(), TestServer.setCookies(read), "a read-only request sets no cookie");
        });
        test.completeNow();
    }

    @Test
    void rolling_reissuesTheCookieOnReads(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(new SessionConfig()
                    .setCookieEncryption(false)
                    .setSecretKey(TestServer.SECRET)
                    .setRolling(true));
            String cookie = TestServer.sessionCookie(server.get("/"));
            clock.advance(Duration.ofHours(20));
            HttpResponse<Buffer> read = server.get("/peek", cookie);
            String renewed = TestServer.sessionCookie(read);
            clock.advance(Duration.ofHours(20));
            assertEquals("0", server.get("/peek", cookie).bodyAsString(), "the old cookie expired after 24 h");
            assertEquals("1", server.get("/peek", renewed).bodyAsString(), "the renewed one lives 24 h from the read");
        });
        test.completeNow();
    }

    @Test
    void logout_expiresTheCookieWithTheSamePathAndDomain(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(new SessionConfig()
                    .setCookieEncryption(false)
                    .setSecretKey(TestServer.SECRET)
                    .setCookieName("nexios_session")
                    .setCookiePath("/")
                    .setCookieDomain("example.com"));
            HttpResponse<Buffer> first = server.get("/");
            String cookie = TestServer.cookieValue(TestServer.setCookie(first, "nexios_session"));
            HttpResponse<Buffer> logout =
                    server.send(io.vertx.core.http.HttpMethod.POST, "/logout", "nexios_session=" + cookie);
            assertEquals(302, logout.statusCode());
            assertEquals("/login?message=logged_out", logout.getHeader("location"));
            String header = TestServer.setCookie(logout, "nexios_session");
            assertTrue(
                    header.matches("nexios_session=; Max-Age=0; Expires=[^;]+; Path=/; Domain=example.com; HTTPOnly; "
                            + "SameSite=Lax"),
                    header);
        });
        test.completeNow();
    }

    @Test
    void logout_onACustomPath_expiresThatPath(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(new SessionConfig()
                    .setCookieEncryption(false)
                    .setSecretKey(TestServer.SECRET)
                    .setCookiePath("/app"));
            String cookie = TestServer.sessionCookie(server.get("/"));
            String header = TestServer.setCookie(server.post("/logout", cookie), "session_id");
            assertTrue(
                    header.matches("session_id=; Max-Age=0; Expires=[^;]+; Path=/app; HTTPOnly; SameSite=Lax"), header);
        });
        test.completeNow();
    }

    @Test
    void expiredCookie_isRefusedByTheServer(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            String cookie = TestServer.sessionCookie(server.get("/"));
            clock.advance(Duration.ofSeconds(86399));
            assertEquals("1", server.get("/peek", cookie).bodyAsString());
            assertEquals(0, server.middleware.metrics().expiredSessions());
            clock.advance(Duration.ofSeconds(2));
            assertEquals(
                    "0",
                    server.get("/peek", cookie).bodyAsString(),
                    "a browser that keeps an expired cookie gets nothing");
            assertEquals(1, server.middleware.metrics().expiredSessions());
            assertEquals(0, server.middleware.metrics().tamperedCookies());
        });
        test.completeNow();
    }

    @Test
    void perSessionExpiry_boundsCookieAndServer(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            HttpResponse<Buffer> response = server.get("/short");
            assertEquals("1800", response.bodyAsString());
            assertTrue(TestServer.setCookie(response, "session_id").contains("; Max-Age=1800; "));
            String cookie = TestServer.sessionCookie(response);
            HttpResponse<Buffer> counted = server.get("/", cookie);
            assertTrue(TestServer.setCookie(counted, "session_id").contains("; Max-Age=1800; "), "the expiry is kept");
            cookie = TestServer.sessionCookie(counted);
            clock.advance(Duration.ofSeconds(1801));
            assertEquals("0", server.get("/peek", cookie).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void absoluteExpiry_endsEvenAnActiveSession(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(new SessionConfig()
                    .setCookieEncryption(false)
                    .setSecretKey(TestServer.SECRET)
                    .setExpiry(Duration.ofHours(1))
                    .setAbsoluteExpiry(Duration.ofHours(2)));
            String cookie = TestServer.sessionCookie(server.get("/"));
            for (int i = 2; i <= 3; i++) {
                clock.advance(Duration.ofMinutes(50));
                HttpResponse<Buffer> response = server.get("/", cookie);
                assertEquals("You've visited this page " + i + " times", response.bodyAsString());
                cookie = TestServer.sessionCookie(response);
            }
            clock.advance(Duration.ofMinutes(21)); // 121 minutes since creation, 21 since the last save
            assertEquals("0", server.get("/peek", cookie).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void tamperedTruncatedOrForeignCookies_startFreshSessions(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            String cookie = TestServer.sessionCookie(server.get("/"));
            int dot = cookie.indexOf('.');
            List<String> bad = new ArrayList<>();
            bad.add(flip(cookie, dot / 2)); // payload
            bad.add(flip(cookie, dot - 3)); // data
            bad.add(flip(cookie, cookie.length() - 5)); // signature
            bad.add(cookie.substring(0, cookie.length() - 1));
            bad.add(cookie.substring(0, dot));
            bad.add(cookie.substring(dot + 1));
            bad.add(cookie + "A");
            bad.add("garbage");
            bad.add(".");
            bad.add(Base64.getEncoder().encodeToString(cookie.getBytes(UTF_8)));
            bad.add(cookie.replace('-', '+').replace('_', '/'));
            bad.removeIf(cookie::equals); // the last one is the cookie itself when it has neither '-' nor '_'
            for (String value : bad) {
                HttpResponse<Buffer> response = server.get("/", value);
                assertEquals(200, response.statusCode(), value);
                assertEquals("You've visited this page 1 times", response.bodyAsString(), value);
            }
            assertEquals(bad.size(), server.middleware.metrics().tamperedCookies());
            assertEquals(bad.size() + 0, server.middleware.metrics().loads());
            TestServer otherKey =
                    server(new SessionConfig().setCookieEncryption(false).setSecretKey(OTHER_SECRET));
            assertEquals(
                    "0", otherKey.get("/peek", cookie).bodyAsString(), "a cookie signed with another key is refused");
            assertEquals(1, otherKey.middleware.metrics().tamperedCookies());
        });
        test.completeNow();
    }

    @Test
    void everyOneCharacterChange_isRefused_evenInUnusedBase64Bits(VertxTestContext test) {
        test.verify(() -> {
            String cookie = TestServer.sessionCookie(server().get("/"));
            SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of());
            String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            int accepted = 0;
            for (int i = 0; i < cookie.length(); i++) {
                for (int j = 0; j < alphabet.length(); j++) {
                    char c = alphabet.charAt(j);
                    if (c != cookie.charAt(i) && cookie.charAt(i) != '.') {
                        String changed = cookie.substring(0, i) + c + cookie.substring(i + 1);
                        accepted += codec.decode(changed) == null ? 0 : 1;
                    }
                }
            }
            assertEquals(0, accepted);
            // Characters outside the base64url alphabet, anywhere: left to the decoder, which must refuse them all.
            for (int i = 0; i < cookie.length(); i++) {
                for (char c : "+/=. %*\u00e9\u0000\uff0e".toCharArray()) {
                    if (cookie.charAt(i) != '.') {
                        accepted += codec.decode(cookie.substring(0, i) + c + cookie.substring(i + 1)) == null ? 0 : 1;
                    }
                }
            }
            assertEquals(0, accepted);
            assertEquals(null, codec.decode(cookie + "="));
            assertEquals(null, codec.decode(cookie + "=="));
            assertEquals(null, codec.decode(cookie.replace(".", "==.")));
            assertEquals(null, codec.decode(cookie.replace(".", "=.")));
            assertTrue(codec.decode(cookie) != null);
        });
        test.completeNow();
    }

    @Test
    void largeCompressibleSession_isDeflatedToFitAndSmallOnesAreNot() {
        SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of());
        String id = dev.vertxsessions.internal.SessionIds.generate();
        java.util.Map<String, Object> large = java.util.Map.of("notes", "session ".repeat(600));
        String cookie = codec.encode(id, 1, 2, Long.MAX_VALUE, 0, large);
        assertTrue(cookie.length() < 400, "4800 bytes of JSON deflate to " + cookie.length() + " characters");
        assertEquals(large, codec.decode(cookie).data);
        java.util.Map<String, Object> small = java.util.Map.of("notes", "session ".repeat(100));
        String plain = codec.encode(id, 1, 2, Long.MAX_VALUE, 0, small);
        String body = new String(
                Base64.getUrlDecoder().decode(plain.substring(0, plain.indexOf('.'))),
                java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(body.endsWith("{\"notes\":\"" + "session ".repeat(100) + "\"}"), "800 bytes stay plain JSON");
        assertEquals(small, codec.decode(plain).data);
    }

    @Test
    void fallbackKey_verifiesAndReissuesUnderTheCurrentKey(VertxTestContext test) {
        test.verify(() -> {
            String oldCookie = TestServer.sessionCookie(server().get("/"));
            TestServer rotated = server(new SessionConfig()
                    .setCookieEncryption(false)
                    .setSecretKey(OTHER_SECRET)
                    .setFallbackSecretKeys(List.of(TestServer.SECRET)));
            HttpResponse<Buffer> read = rotated.get("/peek", oldCookie);
            assertEquals("1", read.bodyAsString());
            String reissued = TestServer.sessionCookie(read);
            assertNotEquals(oldCookie, reissued);
            TestServer newOnly =
                    server(new SessionConfig().setCookieEncryption(false).setSecretKey(OTHER_SECRET));
            assertEquals("1", newOnly.get("/peek", reissued).bodyAsString(), "re-issued under the current key");
            assertEquals("0", newOnly.get("/peek", oldCookie).bodyAsString(), "the removed key no longer verifies");
        });
        test.completeNow();
    }

    @Test
    void oversizedSession_failsTheSaveInsteadOfLosingIt(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            HttpResponse<Buffer> response = server.get("/big");
            assertEquals(500, response.statusCode());
            assertNull(TestServer.setCookie(response, "session_id"));
            assertEquals(1, server.middleware.metrics().oversizeRejections());
            assertEquals(1, server.middleware.metrics().saveFailures());
            assertEquals(0, server.middleware.metrics().saves());
        });
        test.completeNow();
    }

    @Test
    void regenerate_changesTheIdAndKeepsTheData(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server();
            String cookie = TestServer.sessionCookie(server.get("/"));
            String id = server.get("/id", cookie).bodyAsString();
            HttpResponse<Buffer> login = server.post("/login", cookie);
            String[] ids = login.bodyAsString().split(" ");
            assertEquals(id, ids[0]);
            assertNotEquals(id, ids[1]);
            String newCookie = TestServer.sessionCookie(login);
            assertEquals(ids[1], server.get("/id", newCookie).bodyAsString());
            assertEquals("1", server.get("/peek", newCookie).bodyAsString());
        });
        test.completeNow();
    }

    private static String flip(String value, int index) {
        char c = value.charAt(index);
        char replacement = c == 'A' ? 'B' : 'A';
        return value.substring(0, index) + replacement + value.substring(index + 1);
    }
}
