package dev.vertxsessions.signedcookies;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.security.HostileCookieContract;
import dev.vertxsessions.security.RawHttp;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-cookie contract for the signed-cookie backend, plus the attacks only a signed cookie invites: a MAC
 * off by one bit in its last (or first) byte, and cookies signed with another key, including a truncation of the
 * real one.
 *
 * <p>Every MAC comparison in {@link SignedCookieCodec#decode} goes through {@code MessageDigest.isEqual}, which is
 * constant-time; that is checked by reading the code, not by a timing test (timing thresholds have no place in
 * unit tests). What is tested here is the consequence that matters: a MAC differing in any single bit of its last
 * byte is refused.
 */
class SignedHostileCookieTest extends HostileCookieContract {

    @Override
    protected SessionConfig config(Path directory) {
        return new SessionConfig().setCookieEncryption(false).setSecretKey(TestServer.SECRET);
    }

    @Test
    void macDifferingOnlyInLastOrFirstByte_isRejected(@TempDir Path directory, VertxTestContext test) {
        test.verify(() -> {
            try (TestServer server = start(config(directory));
                    RawHttp raw = new RawHttp(vertx, server.port())) {
                String genuine = login(server, "alice", "small");
                int dot = genuine.lastIndexOf('.');
                byte[] mac = Base64.getUrlDecoder().decode(genuine.substring(dot + 1));
                for (int index : new int[] {mac.length - 1, 0}) {
                    for (int bit = 0; bit < 8; bit++) {
                        byte[] forged = mac.clone();
                        forged[index] ^= (byte) (1 << bit);
                        String cookie = genuine.substring(0, dot + 1)
                                + Base64.getUrlEncoder().withoutPadding().encodeToString(forged);
                        assertDiffers(genuine, cookie);
                        assertRejected(raw, cookie, "MAC with bit " + bit + " of byte " + index + " flipped");
                    }
                }
                assertEquals(
                        false,
                        new JsonObject(probe(raw, genuine).body).getBoolean("isNew"),
                        "the unmodified cookie is accepted");
            }
        });
        test.completeNow();
    }

    @Test
    void cookieSignedWithAnotherKey_isRejected(@TempDir Path directory, VertxTestContext test) {
        test.verify(() -> {
            try (TestServer server = start(config(directory));
                    RawHttp raw = new RawHttp(vertx, server.port())) {
                String genuine = login(server, "alice", "small");
                SignedCookieCodec.Contents real = new SignedCookieCodec(TestServer.SECRET, List.of()).decode(genuine);
                // The attacker's own key; the first 32 bytes of the real key (a key-truncation bug would accept it);
                // the real key with a different last character.
                String[] keys = {
                    "attacker-key-attacker-key-attacker-key!",
                    TestServer.SECRET.substring(0, 32),
                    TestServer.SECRET.substring(0, TestServer.SECRET.length() - 1) + "X"
                };
                for (String key : keys) {
                    String forged = new SignedCookieCodec(key, List.of())
                            .encode(
                                    real.id,
                                    real.createdAt,
                                    real.issuedAt,
                                    real.expiresAt,
                                    0,
                                    Map.of("user", "alice", "role", "admin"));
                    assertRejected(raw, forged, "cookie signed with another key");
                }
            }
        });
        test.completeNow();
    }
}
