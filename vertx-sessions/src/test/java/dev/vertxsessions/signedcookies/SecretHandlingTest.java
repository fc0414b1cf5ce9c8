package dev.vertxsessions.signedcookies;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.security.HostileCookieContract;
import dev.vertxsessions.security.HostileCookies;
import dev.vertxsessions.security.LogCapture;
import dev.vertxsessions.security.RawHttp;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

/**
 * Secret keys: too-short keys are refused at start-up, rotation through {@code fallback_secret_keys} verifies old
 * cookies and re-issues them under the new key, a removed key's cookies are refused, and no secret ever shows up in
 * an exception message, a stack trace, a log line (every level, every logger) or {@link SessionConfig#toJson()}.
 */
@ExtendWith(VertxExtension.class)
class SecretHandlingTest {

    private Vertx vertx;

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
    }

    /** A fresh random secret of {@code bytes} ASCII bytes, distinctive enough to grep for. */
    private static String secret(int bytes) {
        byte[] random = new byte[bytes];
        new SecureRandom().nextBytes(random);
        return HexFormat.of().formatHex(random).substring(0, bytes);
    }

    private static void routes(Router router) {
        router.get("/login").handler(ctx -> {
            SessionMiddleware.session(ctx).put("user", "alice");
            ctx.response().end();
        });
        router.get("/probe")
                .handler(ctx -> ctx.response()
                        .end(HostileCookieContract.state(SessionMiddleware.session(ctx))
                                .encode()));
        router.get("/huge").handler(ctx -> {
            SessionMiddleware.session(ctx).put("blob", secret(12_000)); // random, so over 4096 bytes even deflated
            ctx.response().end();
        });
    }

    private static SessionConfig signed(String key, String... fallbacks) {
        return new SessionConfig().setSecretKey(key).setFallbackSecretKeys(List.of(fallbacks));
    }

    private static HttpResponse<Buffer> get(TestServer server, String path, String cookie) {
        var request = server.client.get(path);
        if (cookie != null) {
            request.putHeader("cookie", "session_id=" + cookie);
        }
        return request.send().await();
    }

    private static String issued(HttpResponse<Buffer> response) {
        String header = TestServer.setCookie(response, "session_id");
        return header == null ? null : TestServer.cookieValue(header);
    }

    @Test
    void shortSecrets_areRefusedAtStartUp_countingBytesNotChars(VertxTestContext test) {
        test.verify(() -> {
            String short31 = secret(31);
            String euro10 = "\u20ac".repeat(10); // 10 chars, 30 bytes
            for (String key : new String[] {"", "x", short31, euro10}) {
                assertThrows(IllegalArgumentException.class, () -> new SessionConfig().setSecretKey(key));
                assertThrows(
                        IllegalArgumentException.class,
                        () -> new SessionConfig(new JsonObject().put("secret_key", key)));
                assertThrows(
                        IllegalArgumentException.class,
                        () -> new SessionConfig().setFallbackSecretKeys(List.of(secret(40), key)));
                assertThrows(
                        IllegalArgumentException.class,
                        () -> new SessionConfig(
                                new JsonObject().put("fallback_secret_keys", new JsonArray().add(key))));
                assertThrows(IllegalArgumentException.class, () -> new SignedCookieCodec(key, List.of()));
            }
            assertEquals(
                    32,
                    new SessionConfig().setSecretKey(secret(32)).getSecretKey().length());
            assertEquals(
                    11,
                    new SessionConfig()
                            .setSecretKey("\u20ac".repeat(11))
                            .getSecretKey()
                            .length(),
                    "33 bytes");
            assertEquals(
                    32,
                    new SessionConfig(new JsonObject().put("secret_key", secret(32)))
                            .getSecretKey()
                            .length());
            // No secret at all: the signed-cookie backend refuses to start.
            IllegalArgumentException missing = assertThrows(
                    IllegalArgumentException.class, () -> SessionMiddleware.create(vertx, new SessionConfig()));
            assertTrue(missing.getMessage().startsWith("secret_key is required"), missing.getMessage());
        });
        test.completeNow();
    }

    @Test
    void rotation_verifiesAnOldCookie_andReissuesItUnderTheNewKeyOnly(VertxTestContext test) {
        test.verify(() -> {
            String oldKey = secret(48);
            String newKey = secret(48);
            String oldCookie;
            try (TestServer before = TestServer.start(vertx, signed(oldKey), SecretHandlingTest::routes)) {
                oldCookie = issued(get(before, "/login", null));
            }
            try (TestServer rotated = TestServer.start(vertx, signed(newKey, oldKey), SecretHandlingTest::routes)) {
                HttpResponse<Buffer> response = get(rotated, "/probe", oldCookie);
                assertEquals(200, response.statusCode());
                assertEquals(
                        new JsonObject()
                                .put("isNew", false)
                                .put("empty", false)
                                .put("keys", new JsonArray().add("user"))
                                .encode(),
                        response.bodyAsString(),
                        "the old cookie is still valid");
                String newCookie = issued(response);
                assertNotNull(newCookie, "a cookie verified with a fallback key is re-issued");
                assertNotEquals(oldCookie, newCookie);

                SignedCookieCodec.Contents before = new SignedCookieCodec(oldKey, List.of(), true).decode(oldCookie);
                SignedCookieCodec.Contents after = new SignedCookieCodec(newKey, List.of(), true).decode(newCookie);
                assertNotNull(after, "verifies with the new key alone");
                assertNull(
                        new SignedCookieCodec(oldKey, List.of(), true).decode(newCookie),
                        "does not verify with the old key");
                assertEquals(before.id, after.id);
                assertEquals(before.createdAt, after.createdAt);
                assertEquals(before.data, after.data);

                HttpResponse<Buffer> again = get(rotated, "/probe", newCookie);
                assertEquals(false, new JsonObject(again.bodyAsString()).getBoolean("isNew"));
                assertNull(issued(again), "a cookie signed with the current key is not re-issued");
            }
            try (TestServer removed = TestServer.start(vertx, signed(newKey), SecretHandlingTest::routes)) {
                HttpResponse<Buffer> response = get(removed, "/probe", oldCookie);
                assertEquals(200, response.statusCode());
                assertEquals(HostileCookieContract.FRESH, response.bodyAsString(), "the old key was removed: refused");
                assertNull(issued(response));
            }
        });
        test.completeNow();
    }

    @Test
    void secrets_neverAppearInMessagesLogsOrJson(VertxTestContext test) {
        test.verify(() -> {
            String current = secret(48);
            String fallback = secret(48);
            String shortSecret = secret(20); // a real (if weak) secret too
            List<String> secrets = List.of(current, fallback, shortSecret);
            List<String> texts = new ArrayList<>();

            try (LogCapture logs = new LogCapture(true)) {
                // Bad configurations: capture each exception with its causes and stack trace.
                List<Executable> bad = List.of(
                        () -> new SessionConfig().setSecretKey(shortSecret),
                        () -> new SessionConfig(new JsonObject().put("secret_key", shortSecret)),
                        () -> new SessionConfig().setFallbackSecretKeys(List.of(current, shortSecret)),
                        () -> new SessionConfig(
                                new JsonObject().put("fallback_secret_keys", new JsonArray().add(shortSecret))),
                        () -> new SessionConfig(
                                new JsonObject().put("secret_key", current).put("secret_kye", current)),
                        () -> new SessionConfig(new JsonObject().put("secret_key", 12345)),
                        () -> new SignedCookieCodec(shortSecret, List.of()),
                        () -> SessionMiddleware.create(
                                vertx, new SessionConfig().setSecretKey(current).setCookieSameSite("none")),
                        () -> SessionMiddleware.create(
                                vertx,
                                new SessionConfig()
                                        .setSecretKey(current)
                                        .setExpiry(java.time.Duration.ofHours(2))
                                        .setAbsoluteExpiry(java.time.Duration.ofHours(1))),
                        () -> SessionMiddleware.create(
                                vertx, new SessionConfig().setSecretKey(current).setManager("no.such.Class")));
                for (Executable executable : bad) {
                    texts.add(render(assertThrows(IllegalArgumentException.class, executable)));
                }

                // A running server: genuine, tampered, expired-key and oversized cookies, and a rotation.
                SessionConfig config = signed(current, fallback);
                texts.add(config.toJson().encode());
                texts.add(new SessionConfig(new JsonObject()
                                .put("secret_key", current)
                                .put("fallback_secret_keys", new JsonArray().add(fallback)))
                        .toJson()
                        .encode());
                try (TestServer server = TestServer.start(vertx, config, SecretHandlingTest::routes);
                        RawHttp raw = new RawHttp(vertx, server.port())) {
                    texts.add(server.middleware.config().toJson().encode());
                    String genuine = issued(get(server, "/login", null));
                    String oldOne;
                    try (TestServer old = TestServer.start(vertx, signed(fallback), SecretHandlingTest::routes)) {
                        oldOne = issued(get(old, "/login", null));
                    }
                    assertEquals(
                            false, new JsonObject(get(server, "/probe", oldOne).bodyAsString()).getBoolean("isNew"));
                    List<byte[]> requests = new ArrayList<>();
                    for (HostileCookies.Case c : new HostileCookies(
                                    HostileCookies.seed(),
                                    List.of(genuine, oldOne),
                                    HostileCookieContract.maxValueChars())
                            .generate(20)) {
                        requests.add(RawHttp.get("/probe", "session_id=" + c.value));
                    }
                    for (RawHttp.Response response : raw.sendAll(requests, HostileCookieContract.IN_FLIGHT)) {
                        assertTrue(
                                response.status == 200 || response.status == 400 || response.status == 431,
                                response.toString());
                        texts.add(response.toString());
                    }
                    HttpResponse<Buffer> huge = get(server, "/huge", genuine);
                    assertEquals(
                            500, huge.statusCode(), "a cookie over 4096 bytes fails the request before it is sent");
                    texts.add(String.valueOf(huge.bodyAsString()));
                }
                texts.addAll(logs.lines());
                assertTrue(
                        logs.lines().size() > 100,
                        "the run was logged at every level (" + logs.lines().size() + " lines)");
            }

            for (String text : texts) {
                for (String secret : secrets) {
                    assertFalse(text.contains(secret), "a secret leaked into: " + text);
                    assertFalse(text.contains(secret.substring(4, 20)), "part of a secret leaked into: " + text);
                }
            }
        });
        test.completeNow();
    }

    private static String render(Throwable error) {
        StringWriter out = new StringWriter();
        error.printStackTrace(new PrintWriter(out));
        return error.getMessage() + "\n" + out;
    }
}
