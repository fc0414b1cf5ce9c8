package dev.vertxsessions.signedcookies;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionRoutes;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The AES-GCM mode (the default): clients cannot read the session, and any change to nonce, tag or body is refused. */
@ExtendWith(VertxExtension.class)
class EncryptedCookieTest {

    Vertx vertx;
    List<TestServer> servers = new ArrayList<>();

    @BeforeEach
    void start(Vertx vertx) {
        this.vertx = vertx;
    }

    @AfterEach
    void stop() {
        servers.forEach(TestServer::close);
    }

    TestServer server(String secret, List<String> fallbacks, boolean encrypt) {
        TestServer server = TestServer.start(
                vertx,
                new SessionConfig()
                        .setSecretKey(secret)
                        .setFallbackSecretKeys(fallbacks)
                        .setCookieEncryption(encrypt),
                router -> {
                    SessionRoutes.install(router);
                    router.get("/secret")
                            .handler(TestServer.text(
                                    s -> s.put("card", "4111-1111").get("card")));
                });
        servers.add(server);
        return server;
    }

    private static String plain(String cookie) {
        byte[] bytes =
                Base64.getUrlDecoder().decode(cookie.contains(".") ? cookie.substring(0, cookie.indexOf('.')) : cookie);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    @Test
    void defaultConfiguration_encryptsTheCookie(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = TestServer.start(
                    vertx,
                    new SessionConfig().setSecretKey(TestServer.SECRET),
                    router -> router.get("/secret")
                            .handler(TestServer.text(
                                    s -> s.put("card", "4111-1111").get("card"))));
            servers.add(server);
            String cookie = TestServer.sessionCookie(server.get("/secret"));
            assertFalse(cookie.contains("."), "no readable payload before a signature: " + cookie);
            assertFalse(plain(cookie).contains("4111"), "the client cannot read the session");
            assertEquals("4111-1111", server.get("/secret", cookie).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void encryptedCookie_hidesTheSessionContents(VertxTestContext test) {
        test.verify(() -> {
            String signed = TestServer.sessionCookie(
                    server(TestServer.SECRET, List.of(), false).get("/secret"));
            assertTrue(plain(signed).contains("4111-1111"), "a signed cookie is readable by the client");
            TestServer server = server(TestServer.SECRET, List.of(), true);
            HttpResponse<Buffer> response = server.get("/secret");
            String encrypted = TestServer.sessionCookie(response);
            assertFalse(encrypted.contains("."));
            assertFalse(plain(encrypted).contains("4111"), "an encrypted cookie is not");
            assertEquals(
                    "You've visited this page 1 times",
                    server.get("/", encrypted).bodyAsString());
            String again = TestServer.sessionCookie(server.get("/secret"));
            assertNotEquals(
                    plain(again).substring(1, 13), plain(encrypted).substring(1, 13), "a fresh nonce per cookie");
            java.nio.ByteBuffer firstNonce =
                    java.nio.ByteBuffer.wrap(Base64.getUrlDecoder().decode(encrypted), 1, 12);
            java.nio.ByteBuffer laterNonce =
                    java.nio.ByteBuffer.wrap(Base64.getUrlDecoder().decode(again), 1, 12);
            assertEquals(firstNonce.getInt(), laterNonce.getInt(), "RFC 5116's nonce: the codec's fixed field");
            assertEquals(2, laterNonce.getLong() - firstNonce.getLong(), "and its counter: two cookies sealed since");
        });
        test.completeNow();
    }

    @Test
    void tamperingWithNonceTagOrBody_startsAFreshSession(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = server(TestServer.SECRET, List.of(), true);
            String cookie = TestServer.sessionCookie(server.get("/"));
            byte[] bytes = Base64.getUrlDecoder().decode(cookie);
            int[] positions = {0, 1, 12, 13, 40, bytes.length / 2, bytes.length - 17, bytes.length - 1};
            for (int position : positions) {
                byte[] copy = bytes.clone();
                copy[position] ^= 0x01;
                String tampered = Base64.getUrlEncoder().withoutPadding().encodeToString(copy);
                HttpResponse<Buffer> response = server.get("/peek", tampered);
                assertEquals(200, response.statusCode());
                assertEquals("0", response.bodyAsString(), "byte " + position);
            }
            String truncated = Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(java.util.Arrays.copyOf(bytes, bytes.length - 1));
            assertEquals("0", server.get("/peek", truncated).bodyAsString());
            assertEquals(positions.length + 1, server.middleware.metrics().tamperedCookies());
            assertEquals("1", server.get("/peek", cookie).bodyAsString(), "the untouched cookie still works");
        });
        test.completeNow();
    }

    @Test
    void rotation_decryptsWithAFallbackKeyAndReissuesUnderTheNewOne(VertxTestContext test) {
        test.verify(() -> {
            String old = TestServer.sessionCookie(
                    server(TestServer.SECRET, List.of(), true).get("/"));
            TestServer rotated = server(SignedSessionManagerTest.OTHER_SECRET, List.of(TestServer.SECRET), true);
            HttpResponse<Buffer> read = rotated.get("/peek", old);
            assertEquals("1", read.bodyAsString());
            String reissued = TestServer.sessionCookie(read);
            TestServer newOnly = server(SignedSessionManagerTest.OTHER_SECRET, List.of(), true);
            assertEquals("1", newOnly.get("/peek", reissued).bodyAsString());
            assertEquals("0", newOnly.get("/peek", old).bodyAsString(), "a removed key no longer decrypts");
        });
        test.completeNow();
    }

    @Test
    void modes_doNotAcceptEachOthersCookies(VertxTestContext test) {
        test.verify(() -> {
            String signed = TestServer.sessionCookie(
                    server(TestServer.SECRET, List.of(), false).get("/"));
            String encrypted = TestServer.sessionCookie(
                    server(TestServer.SECRET, List.of(), true).get("/"));
            assertEquals("0", servers.get(1).get("/peek", signed).bodyAsString());
            assertEquals("0", servers.get(0).get("/peek", encrypted).bodyAsString());
        });
        test.completeNow();
    }
}
