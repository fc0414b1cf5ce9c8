package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.file.FileSessionOptions;
import dev.vertxsessions.signedcookies.SignedSessionManager;
import io.vertx.core.Vertx;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class SessionConfigTest {

    static final String SECRET = TestServer.SECRET;
    static Vertx vertx;

    /** The class's Vert.x instance, shared by its tests and closed by the extension after all of them. */
    @BeforeAll
    static void start(Vertx vertx) {
        SessionConfigTest.vertx = vertx;
    }

    private static String failure(Runnable action) {
        return assertThrows(IllegalArgumentException.class, action::run).getMessage();
    }

    @Test
    void defaults_matchTheSeedTable() {
        SessionConfig config = new SessionConfig();
        assertEquals("session_id", config.getCookieName());
        assertEquals("/", config.getCookiePath());
        assertNull(config.getCookieDomain());
        assertFalse(config.isCookieSecure());
        assertTrue(config.isCookieHttpOnly());
        assertEquals("lax", config.getCookieSameSite());
        assertEquals(CookieSameSite.LAX, config.cookieSameSite());
        assertEquals(Duration.ofSeconds(86400), config.getExpiry());
        assertEquals("signed", config.getManagerName());
        assertEquals(new JsonObject(), config.getBackendOptions());
        assertFalse(config.isRolling());
        assertNull(config.getAbsoluteExpiry());
    }

    @Test
    void json_withEverySeedKey_setsEveryOption() {
        JsonObject json = new JsonObject()
                .put("secret_key", SECRET)
                .put("fallback_secret_keys", new JsonArray().add(SECRET + "-old"))
                .put("session_cookie_name", "nexios_session")
                .put("cookie_path", "/app")
                .put("cookie_domain", "example.com")
                .put("cookie_secure", true)
                .put("cookie_httponly", false)
                .put("cookie_samesite", "Strict")
                .put("expiry", 3600)
                .put("absolute_expiry", 7200)
                .put("rolling", true)
                .put("manager", "file")
                .put("directory", "/tmp/x")
                .put("prefix", "s_")
                .put("sweep_interval", 30);
        SessionConfig config = new SessionConfig(json);
        assertEquals(SECRET, config.getSecretKey());
        assertEquals(List.of(SECRET + "-old"), config.getFallbackSecretKeys());
        assertEquals("nexios_session", config.getCookieName());
        assertEquals("/app", config.getCookiePath());
        assertEquals("example.com", config.getCookieDomain());
        assertTrue(config.isCookieSecure());
        assertFalse(config.isCookieHttpOnly());
        assertEquals("strict", config.getCookieSameSite());
        assertEquals(Duration.ofHours(1), config.getExpiry());
        assertEquals(Duration.ofHours(2), config.getAbsoluteExpiry());
        assertTrue(config.isRolling());
        assertEquals("file", config.getManagerName());
        assertEquals(
                new JsonObject().put("directory", "/tmp/x").put("prefix", "s_").put("sweep_interval", 30),
                config.getBackendOptions());
        FileSessionOptions file = new FileSessionOptions(config.getBackendOptions());
        assertEquals(Path.of("/tmp/x"), file.getDirectory());
        assertEquals("s_", file.getPrefix());
        assertEquals(Duration.ofSeconds(30), file.getSweepInterval());
    }

    @Test
    void toJson_roundTripsWithoutSecrets() {
        SessionConfig config =
                new SessionConfig().setSecretKey(SECRET).setCookieName("sid").setExpiry(Duration.ofMinutes(5));
        JsonObject json = config.toJson();
        assertFalse(json.containsKey("secret_key"));
        assertFalse(json.encode().contains(SECRET));
        JsonObject withPassword = new SessionConfig()
                .setBackendOption("redis_url", "redis://user:hunter2-secret@db:6379/0")
                .toJson();
        assertEquals("redis://user:***@db:6379/0", withPassword.getString("redis_url"));
        assertEquals(
                "redis://db:6379",
                new SessionConfig()
                        .setBackendOption("redis_url", "redis://db:6379")
                        .toJson()
                        .getString("redis_url"));
        SessionConfig back = new SessionConfig(json.put("secret_key", SECRET));
        assertEquals("sid", back.getCookieName());
        assertEquals(Duration.ofMinutes(5), back.getExpiry());
    }

    @Test
    void unknownKey_failsNamingTheKeyAndTheLikelyFix() {
        String message = failure(() -> new SessionConfig(new JsonObject().put("cookie_samsite", "lax")));
        assertTrue(
                message.startsWith("unknown session config key 'cookie_samsite' (did you mean 'cookie_samesite'?)"),
                message);
    }

    @Test
    void maxSessionsPerUser_readsFromJson_roundTrips_andRefusesBadValuesNamingTheKey() {
        SessionConfig config = new SessionConfig(
                new JsonObject().put("max_sessions_per_user", 5).put("max_sessions_per_user_policy", "refuse"));
        assertEquals(5, config.getMaxSessionsPerUser());
        assertEquals(SessionConfig.UserLimitPolicy.REFUSE, config.getUserLimitPolicy());
        assertEquals(5, config.toJson().getInteger("max_sessions_per_user"));
        assertEquals("refuse", config.toJson().getString("max_sessions_per_user_policy"));
        SessionConfig none = new SessionConfig(new JsonObject().putNull("max_sessions_per_user"));
        assertEquals(0, none.getMaxSessionsPerUser());
        assertEquals(SessionConfig.UserLimitPolicy.END_OLDEST, none.getUserLimitPolicy());
        assertNull(none.toJson().getValue("max_sessions_per_user"));
        assertEquals(
                "max_sessions_per_user_policy must be end_oldest or refuse (got 'oldest')",
                failure(() -> new SessionConfig(new JsonObject().put("max_sessions_per_user_policy", "oldest"))));
        assertTrue(failure(() -> new SessionConfig().setMaxSessionsPerUser(-1))
                .startsWith("max_sessions_per_user must be a positive number"));
    }

    @Test
    void camelCaseAndEnvironmentKeys_setTheSameOptions() {
        SessionConfig config = new SessionConfig(new JsonObject()
                .put("secretKey", SECRET)
                .put("cookieName", "sid")
                .put("cookieSameSite", "strict")
                .put("cookieHttpOnly", false)
                .put("backendTimeoutMs", 2500)
                .put("ANONYMOUS_EXPIRY", 600)
                .put("manager", "redis")
                .put("redisUrl", "redis://127.0.0.1:6390"));
        assertEquals("sid", config.getCookieName());
        assertEquals("strict", config.getCookieSameSite());
        assertFalse(config.isCookieHttpOnly());
        assertEquals(Duration.ofMillis(2500), config.getBackendTimeout());
        assertEquals(Duration.ofSeconds(600), config.getAnonymousExpiry());
        assertEquals(new JsonObject().put("redis_url", "redis://127.0.0.1:6390"), config.getBackendOptions());
        assertEquals("sid", new SessionConfig(new JsonObject().put("sessionCookieName", "sid")).getCookieName());
    }

    @Test
    void oneKeyInTwoForms_isRefused_andACamelCaseTypoIsNamedAsWritten() {
        assertEquals(
                "session config key 'session_cookie_name' is given twice, as 'session_cookie_name' and as "
                        + "'cookieName'; keep one",
                failure(() -> new SessionConfig(
                        new JsonObject().put("session_cookie_name", "a").put("cookieName", "b"))));
        String message = failure(() -> new SessionConfig(new JsonObject().put("cookieSamsite", "lax")));
        assertTrue(
                message.startsWith("unknown session config key 'cookieSamsite' (did you mean 'cookie_samesite'?)"),
                message);
    }

    @Test
    void wrongTypes_failNamingTheKey() {
        assertEquals(
                "expiry must be a whole number, got a string",
                failure(() -> new SessionConfig(new JsonObject().put("expiry", "3600"))));
        assertEquals(
                "cookie_secure must be true or false, got a string",
                failure(() -> new SessionConfig(new JsonObject().put("cookie_secure", "yes"))));
        assertEquals(
                "expiry must be a whole number, got a number",
                failure(() -> new SessionConfig(new JsonObject().put("expiry", 1.5))));
        assertEquals(
                "fallback_secret_keys must be a list of strings, got a string",
                failure(() -> new SessionConfig(new JsonObject().put("fallback_secret_keys", SECRET))));
        assertEquals(
                "session_cookie_name must be a string, got a number",
                failure(() -> new SessionConfig(new JsonObject().put("session_cookie_name", 5))));
    }

    @Test
    void badSameSite_failsNamingTheAllowedValues() {
        assertEquals(
                "cookie_samesite must be lax, strict or none (got 'loose')",
                failure(() -> new SessionConfig(new JsonObject().put("cookie_samesite", "loose"))));
    }

    @Test
    void sameSiteNone_withoutSecure_failsAtStartUp(VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig().setSecretKey(SECRET).setCookieSameSite("none");
            String message = failure(() -> SessionMiddleware.create(vertx, config));
            assertTrue(message.startsWith("cookie_samesite 'none' requires cookie_secure true"), message);
            SessionMiddleware.create(vertx, config.setCookieSecure(true))
                    .close()
                    .await();
        });
        test.completeNow();
    }

    @Test
    void missingSecret_failsAtStartUpForSignedCookies(VertxTestContext test) {
        test.verify(() -> {
            String message = failure(() -> SessionMiddleware.create(vertx, new SessionConfig()));
            assertTrue(message.startsWith("secret_key is required by the signed-cookie backend"), message);
            message = failure(() ->
                    SessionMiddleware.create(vertx, new SessionConfig().setBackend(SignedSessionManager.factory())));
            assertTrue(message.startsWith("secret_key is required by the signed-cookie backend"), message);
        });
        test.completeNow();
    }

    @Test
    void shortSecret_isRefusedWithoutEchoingIt() {
        String secret = "short-but-secret";
        String message = failure(() -> new SessionConfig().setSecretKey(secret));
        assertEquals("secret_key must be at least 32 bytes, got 16; generate one with `openssl rand -hex 32`", message);
        message = failure(
                () -> new SessionConfig(new JsonObject().put("fallback_secret_keys", new JsonArray().add(secret))));
        assertTrue(message.startsWith("fallback_secret_keys must be at least 32 bytes"), message);
        assertFalse(message.contains(secret));
    }

    @Test
    void badCookieAttributes_failNamingTheKey() {
        assertTrue(failure(() -> new SessionConfig().setCookieName("a b")).startsWith("session_cookie_name must be"));
        assertTrue(
                failure(() -> new SessionConfig().setCookiePath("app")).startsWith("cookie_path must start with '/'"));
        assertTrue(failure(() -> new SessionConfig().setCookieDomain("a;b")).startsWith("cookie_domain must be"));
        assertTrue(failure(() -> new FileSessionOptions().setPrefix("../x")).startsWith("prefix must be"));
        assertTrue(failure(() -> new SessionConfig().setExpiry(Duration.ZERO)).startsWith("expiry must be a positive"));
    }

    @Test
    void managerByClassName_acceptsABaseSessionInterfaceSubclass(VertxTestContext test) {
        test.verify(() -> {
            SessionConfig config = new SessionConfig()
                    .setManager(dev.vertxsessions.custom.CustomBackendTest.MemorySession.class.getName());
            SessionMiddleware.create(vertx, config).close().await();
            String message =
                    failure(() -> SessionMiddleware.create(vertx, new SessionConfig().setManager("com.example.Nope")));
            // The test class path adds the sample backends (postgres) to the built-in ones: only the built-in are
            // asserted.
            assertTrue(
                    message.matches(
                            "manager must be one of ([a-z]+, )*signed, file, redis, memory(, [a-z]+)* or the name "
                                    + "of a class on the class path; no backend or class 'com\\.example\\.Nope' was found"),
                    message);
            message = failure(
                    () -> SessionMiddleware.create(vertx, new SessionConfig().setManager(String.class.getName())));
            assertTrue(message.startsWith("manager class java.lang.String must implement"), message);
        });
        test.completeNow();
    }

    /** A backend class whose constructor throws, as one that reads a missing environment variable does. */
    public static class BrokenConstructorSession extends dev.vertxsessions.custom.CustomBackendTest.MemorySession {
        public BrokenConstructorSession() {
            throw new IllegalStateException("DATABASE_URL is not set");
        }
    }

    @Test
    void managerClassWhoseConstructorThrows_isReportedWithItsOwnException(VertxTestContext test) {
        test.verify(() -> {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class,
                    () -> SessionMiddleware.create(
                            vertx, new SessionConfig().setManager(BrokenConstructorSession.class.getName())));
            assertEquals(
                    "manager class " + BrokenConstructorSession.class.getName() + ": its constructor threw "
                            + "java.lang.IllegalStateException: DATABASE_URL is not set",
                    e.getMessage());
            assertTrue(e.getCause() instanceof IllegalStateException);
        });
        test.completeNow();
    }

    @Test
    void absoluteExpiry_shorterThanExpiry_fails() {
        SessionConfig config = new SessionConfig()
                .setSecretKey(SECRET)
                .setExpiry(Duration.ofHours(2))
                .setAbsoluteExpiry(Duration.ofHours(1));
        assertEquals("absolute_expiry (3600 s) must not be shorter than expiry (7200 s)", failure(config::validate));
    }

    @Test
    void anonymousExpiry_isReadFromJson_andMayNotExceedExpiry() {
        SessionConfig config = new SessionConfig(
                new JsonObject().put("secret_key", SECRET).put("expiry", 7200).put("anonymous_expiry", 1800));
        assertEquals(Duration.ofSeconds(1800), config.validate().getAnonymousExpiry());
        assertEquals(1800L, config.toJson().getLong("anonymous_expiry"));
        assertNull(new SessionConfig().getAnonymousExpiry());
        assertEquals(
                "anonymous_expiry (9000 s) must not be longer than expiry (7200 s): shorten it, or leave it unset so "
                        + "that anonymous sessions live as long as the others",
                failure(config.setAnonymousExpiry(Duration.ofSeconds(9000))::validate));
        assertEquals(
                "anonymous_expiry must be a positive number of seconds or null, got 0",
                failure(() -> new SessionConfig(new JsonObject().put("anonymous_expiry", 0))));
    }
}
