package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisSessionOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoSettingsTest {

    private static final String SECRET = "0123456789abcdef0123456789abcdef";

    private static String error(String... env) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < env.length; i += 2) {
            map.put(env[i], env[i + 1]);
        }
        return assertThrows(IllegalArgumentException.class, () -> DemoSettings.fromEnv(map))
                .getMessage();
    }

    @Test
    void noVariables_giveCookieSessionsOnPort8080WithARandomSecret() {
        DemoSettings settings = DemoSettings.fromEnv(Map.of());
        SessionConfig config = settings.sessionConfig();
        assertEquals(8080, settings.port());
        assertEquals(DemoSettings.Backend.COOKIE, settings.backend());
        assertEquals("signed", config.getManagerName());
        assertTrue(config.getSecretKey().matches("[0-9a-f]{64}"), "a 32-byte key in hex");
        assertNotEquals(
                config.getSecretKey(),
                DemoSettings.fromEnv(Map.of()).sessionConfig().getSecretKey());
        assertEquals(Duration.ofSeconds(86400), config.getExpiry());
        assertFalse(config.isCookieSecure());
        assertEquals(1, settings.warnings().size());
        assertTrue(
                settings.warnings().get(0).contains("SESSION_SECRET is not set"),
                settings.warnings().get(0));
        assertTrue(
                settings.warnings().get(0).contains("will not survive a restart"),
                settings.warnings().get(0));
    }

    @Test
    void floodDefaults_anonymousSessionsLive30Minutes_andTheFileBackendHoldsAtMost100000() {
        SessionConfig cookie = DemoSettings.fromEnv(Map.of()).sessionConfig();
        assertEquals(Duration.ofSeconds(1800), cookie.getAnonymousExpiry());
        assertNull(cookie.getBackendOptions().getValue("file_max_sessions"));
        SessionConfig file =
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "file")).sessionConfig();
        assertEquals(100_000L, file.getBackendOptions().getLong("file_max_sessions"));
        assertNull(file.getBackendOptions().getValue("file_max_bytes"));
        SessionConfig chosen = DemoSettings.fromEnv(Map.of(
                        "SESSION_BACKEND", "file",
                        "SESSION_EXPIRY", "600",
                        "SESSION_FILE_MAX_SESSIONS", "20000",
                        "SESSION_FILE_MAX_BYTES", "50000000"))
                .sessionConfig();
        assertEquals(Duration.ofSeconds(600), chosen.getAnonymousExpiry(), "never longer than SESSION_EXPIRY");
        assertEquals(20_000L, chosen.getBackendOptions().getLong("file_max_sessions"));
        assertEquals(50_000_000L, chosen.getBackendOptions().getLong("file_max_bytes"));
    }

    @Test
    void perUserLimit_isTenOnRedisFilesAndPostgres_setByTheVariable_andOffWhereTheBackendKeepsNoUserIndex() {
        assertEquals(
                10,
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "redis"))
                        .sessionConfig()
                        .getMaxSessionsPerUser());
        assertEquals(
                3,
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "redis", "SESSION_MAX_PER_USER", "3"))
                        .sessionConfig()
                        .getMaxSessionsPerUser());
        assertEquals(
                10,
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "file"))
                        .sessionConfig()
                        .getMaxSessionsPerUser());
        assertEquals(
                4,
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "file", "SESSION_MAX_PER_USER", "4"))
                        .sessionConfig()
                        .getMaxSessionsPerUser());
        assertEquals(
                10,
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "postgres"))
                        .sessionConfig()
                        .getMaxSessionsPerUser());
        assertEquals(0, DemoSettings.fromEnv(Map.of()).sessionConfig().getMaxSessionsPerUser());
        assertEquals(
                "SESSION_MAX_PER_USER must be a whole number of at least 1, got '0'",
                error("SESSION_BACKEND", "redis", "SESSION_MAX_PER_USER", "0"));
    }

    @Test
    void badFloodSettings_nameTheVariable() {
        assertEquals(
                "SESSION_ANONYMOUS_EXPIRY must be a whole number of seconds from 1 to SESSION_EXPIRY (600), got '900'",
                error("SESSION_EXPIRY", "600", "SESSION_ANONYMOUS_EXPIRY", "900"));
        assertEquals(
                "SESSION_FILE_MAX_SESSIONS must be a whole number of at least 1, got '0'",
                error("SESSION_BACKEND", "file", "SESSION_FILE_MAX_SESSIONS", "0"));
        assertEquals(
                "SESSION_FILE_MAX_BYTES must be a whole number of at least 1024, got 'lots'",
                error("SESSION_BACKEND", "file", "SESSION_FILE_MAX_BYTES", "lots"));
    }

    @Test
    void absoluteExpiry_is12Hours_orTheExpiryWhenThatIsLonger_andCanBeSet() {
        SessionConfig shortExpiry =
                DemoSettings.fromEnv(Map.of("SESSION_EXPIRY", "3600")).sessionConfig();
        assertEquals(Duration.ofSeconds(43_200), shortExpiry.getAbsoluteExpiry());
        SessionConfig defaults = DemoSettings.fromEnv(Map.of()).sessionConfig();
        assertEquals(Duration.ofSeconds(86_400), defaults.getAbsoluteExpiry(), "the default SESSION_EXPIRY, 24 h");
        SessionConfig longExpiry =
                DemoSettings.fromEnv(Map.of("SESSION_EXPIRY", "200000")).sessionConfig();
        assertEquals(Duration.ofSeconds(200_000), longExpiry.getAbsoluteExpiry());
        SessionConfig chosen = DemoSettings.fromEnv(Map.of("SESSION_EXPIRY", "3600", "SESSION_ABSOLUTE_EXPIRY", "7200"))
                .sessionConfig();
        assertEquals(Duration.ofSeconds(7200), chosen.getAbsoluteExpiry());
        for (SessionConfig config : List.of(shortExpiry, defaults, longExpiry, chosen)) {
            config.validate(); // what the middleware checks at start-up
        }
        assertEquals(
                43_200L,
                DemoSettings.fromEnv(Map.of("SESSION_EXPIRY", "3600"))
                        .sessionConfig()
                        .toJson()
                        .getLong("absolute_expiry"));
    }

    @Test
    void badAbsoluteExpiry_namesTheVariable() {
        assertEquals(
                "SESSION_ABSOLUTE_EXPIRY must be a whole number of seconds from SESSION_EXPIRY (86400) to 2147483647, "
                        + "got '43200'",
                error("SESSION_ABSOLUTE_EXPIRY", "43200"));
        assertEquals(
                "SESSION_ABSOLUTE_EXPIRY must be a whole number of seconds from SESSION_EXPIRY (600) to 2147483647, "
                        + "got '12h'",
                error("SESSION_EXPIRY", "600", "SESSION_ABSOLUTE_EXPIRY", "12h"));
    }

    @Test
    void redisOptions_reachTheRedisBackend_forSentinel() {
        String sentinel = "{\"type\":\"SENTINEL\",\"masterName\":\"mymaster\",\"role\":\"MASTER\","
                + "\"endpoints\":[\"redis://10.0.0.1:26379\",\"redis://10.0.0.2:26379\"],\"password\":\"pw\","
                + "\"hashSlotCacheTTL\":1000,\"netClientOptions\":{\"ssl\":true}}";
        SessionConfig config = DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "redis", "REDIS_OPTIONS", sentinel))
                .sessionConfig();
        assertEquals(new JsonObject(sentinel), config.getBackendOptions().getJsonObject("redis_options"));
        assertEquals(
                new JsonObject(sentinel),
                new RedisSessionOptions(config.getBackendOptions()).getClientOptions(),
                "the Redis backend reads them");
        assertNull(
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "redis"))
                        .sessionConfig()
                        .getBackendOptions()
                        .getValue("redis_options"),
                "none by default");
    }

    @Test
    void invalidRedisOptions_areRefusedNamingTheVariable_withoutEchoingThem() {
        String notJson = error("SESSION_BACKEND", "redis", "REDIS_OPTIONS", "{\"password\":\"hunter2\"");
        assertEquals(
                "REDIS_OPTIONS must be a JSON object of Vert.x RedisOptions, e.g. {\"type\":\"SENTINEL\","
                        + "\"masterName\":\"mymaster\",\"endpoints\":[\"redis://127.0.0.1:26379\"]}; "
                        + "got 21 characters that are not a JSON object",
                notJson);
        assertEquals(
                "REDIS_OPTIONS must be a JSON object of Vert.x RedisOptions, e.g. {\"type\":\"SENTINEL\","
                        + "\"masterName\":\"mymaster\",\"endpoints\":[\"redis://127.0.0.1:26379\"]}; "
                        + "got 22 characters that are not a JSON object",
                error("REDIS_OPTIONS", "[\"redis://cache:6379\"]"));
        String typo = error("REDIS_OPTIONS", "{\"endpoint\":\"redis://:hunter2@s1:26379\"}");
        assertTrue(
                typo.startsWith("REDIS_OPTIONS has no field 'endpoint' of Vert.x RedisOptions; its fields are "), typo);
        assertTrue(typo.contains(", endpoints, "), typo);
        String lowerCase = error("REDIS_OPTIONS", "{\"type\":\"sentinel\",\"password\":\"hunter2\"}");
        assertEquals(
                "REDIS_OPTIONS field 'type' has a value Vert.x RedisOptions cannot use (check its type and spelling, "
                        + "e.g. \"type\":\"SENTINEL\" in capitals)",
                lowerCase);
        String wrongType = error("REDIS_OPTIONS", "{\"password\":\"hunter2\",\"maxPoolWaiting\":\"many\"}");
        assertTrue(wrongType.startsWith("REDIS_OPTIONS field 'maxPoolWaiting' has a value"), wrongType);
        assertTrue(error("REDIS_OPTIONS", "{\"netClientOptions\":\"ssl\"}")
                .startsWith("REDIS_OPTIONS field 'netClientOptions' has a value"));
        for (String message : List.of(notJson, typo, lowerCase, wrongType)) {
            assertFalse(message.contains("hunter2"), message);
        }
    }

    @Test
    void emptyVariables_takeTheirDefaults() {
        DemoSettings settings = DemoSettings.fromEnv(Map.of("PORT", "", "SESSION_BACKEND", "", "SESSION_EXPIRY", ""));
        assertEquals(8080, settings.port());
        assertEquals(DemoSettings.Backend.COOKIE, settings.backend());
    }

    @Test
    void everyVariable_reachesTheConfiguration() {
        DemoSettings settings = DemoSettings.fromEnv(Map.of(
                "PORT", "9090", "SESSION_SECRET", SECRET, "SESSION_EXPIRY", "600", "SESSION_COOKIE_SECURE", "TRUE"));
        SessionConfig config = settings.sessionConfig();
        assertEquals(9090, settings.port());
        assertEquals(SECRET, config.getSecretKey());
        assertEquals(Duration.ofSeconds(600), config.getExpiry());
        assertTrue(config.isCookieSecure());
        assertEquals(List.of(), settings.warnings());
    }

    @Test
    void fileBackend_usesTheDirectoryAndNeedsNoSecret() {
        DemoSettings settings = DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "File", "SESSION_DIR", "/tmp/demo"));
        SessionConfig config = settings.sessionConfig();
        assertEquals(DemoSettings.Backend.FILE, settings.backend());
        assertEquals("file", config.getManagerName());
        assertEquals("/tmp/demo", config.getBackendOptions().getString("directory"));
        assertNull(config.getSecretKey());
        assertEquals(List.of(), settings.warnings());
        assertNull(
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "file"))
                        .sessionConfig()
                        .getBackendOptions()
                        .getString("directory"),
                "the file backend's default directory, sessions");
    }

    @Test
    void redisBackend_isChosenByNameWithTheUrl() {
        SessionConfig config = DemoSettings.fromEnv(
                        Map.of("SESSION_BACKEND", "redis", "REDIS_URL", "redis://:pw@cache:6380/1"))
                .sessionConfig();
        assertEquals("redis", config.getManagerName());
        assertEquals("redis://:pw@cache:6380/1", config.getBackendOptions().getString("redis_url"));
        assertNull(
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "redis"))
                        .sessionConfig()
                        .getBackendOptions()
                        .getString("redis_url"),
                "the Redis backend's default URL");
    }

    @Test
    void postgresBackend_isChosenByNameWithTheDatabaseUrl() {
        SessionConfig config = DemoSettings.fromEnv(
                        Map.of("SESSION_BACKEND", "postgres", "DATABASE_URL", "postgresql://app:pw@db:5433/app"))
                .sessionConfig();
        assertEquals("postgres", config.getManagerName());
        assertEquals(
                new JsonObject().put("url", "postgresql://app:pw@db:5433/app").put("max_sessions", 100_000L),
                config.getBackendOptions().getJsonObject("postgres"));
        assertEquals(
                new JsonObject()
                        .put("url", "postgresql://postgres@127.0.0.1:5432/postgres")
                        .put("max_sessions", 100_000L),
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "Postgres"))
                        .sessionConfig()
                        .getBackendOptions()
                        .getJsonObject("postgres"),
                "the demo's default database");
        assertNull(
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "file"))
                        .sessionConfig()
                        .getBackendOptions()
                        .getJsonObject("postgres"),
                "other backends get no postgres options");
    }

    @Test
    void postgresBackend_holdsAtMost100000Sessions_orSessionPostgresMaxSessions() {
        assertEquals(
                20_000L,
                DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "postgres", "SESSION_POSTGRES_MAX_SESSIONS", "20000"))
                        .sessionConfig()
                        .getBackendOptions()
                        .getJsonObject("postgres")
                        .getLong("max_sessions"));
        assertEquals(
                "SESSION_POSTGRES_MAX_SESSIONS must be a whole number of at least 1, got '0'",
                error("SESSION_BACKEND", "postgres", "SESSION_POSTGRES_MAX_SESSIONS", "0"));
    }

    @Test
    void invalidDatabaseUrl_isRefusedWithoutEchoingIt() {
        String message = error("SESSION_BACKEND", "postgres", "DATABASE_URL", "mysql://app:hunter2@db/app");
        assertEquals(
                "DATABASE_URL must be postgresql://user:password@host:port/database, got a value of 26 characters",
                message);
    }

    @Test
    void sessionConfig_isACopy() {
        DemoSettings settings = DemoSettings.fromEnv(Map.of("SESSION_SECRET", SECRET));
        settings.sessionConfig().setExpiry(Duration.ofSeconds(5));
        assertEquals(Duration.ofSeconds(86400), settings.sessionConfig().getExpiry());
    }

    @Test
    void invalidValues_areRefusedNamingTheVariable() {
        assertEquals("PORT must be a whole number from 0 to 65535, got 'http'", error("PORT", "http"));
        assertEquals("PORT must be a whole number from 0 to 65535, got '65536'", error("PORT", "65536"));
        assertEquals("PORT must be a whole number from 0 to 65535, got '-1'", error("PORT", "-1"));
        assertEquals(
                "SESSION_BACKEND must be cookie, file, redis or postgres, got 'memcached'",
                error("SESSION_BACKEND", "memcached"));
        assertEquals(
                "SESSION_EXPIRY must be a whole number of seconds from 1 to 2147483647, got '0'",
                error("SESSION_EXPIRY", "0"));
        assertEquals(
                "SESSION_EXPIRY must be a whole number of seconds from 1 to 2147483647, got '1h'",
                error("SESSION_EXPIRY", "1h"));
        assertEquals("SESSION_COOKIE_SECURE must be true or false, got 'yes'", error("SESSION_COOKIE_SECURE", "yes"));
        assertEquals("SESSION_DIR must be a directory path, got 'a\0b'", error("SESSION_DIR", "a\0b"));
    }

    @Test
    void invalidSecrets_andRedisUrls_areRefusedWithoutEchoingThem() {
        String secret = error("SESSION_SECRET", "hunter2");
        assertEquals(
                "SESSION_SECRET must be at least 32 bytes, got 7; generate one with `openssl rand -hex 32`", secret);
        String url = error("SESSION_BACKEND", "redis", "REDIS_URL", "http://user:hunter2@cache");
        assertEquals("REDIS_URL must start with redis://, rediss:// or unix://, got a value of 25 characters", url);
        assertFalse(secret.contains("hunter2") || url.contains("hunter2"));
    }

    @Test
    void severalInvalidValues_areAllNamed() {
        String message = error("PORT", "x", "SESSION_EXPIRY", "-5", "SESSION_BACKEND", "file");
        assertTrue(message.contains("PORT must be"), message);
        assertTrue(message.contains("SESSION_EXPIRY must be"), message);
        assertFalse(message.contains("SESSION_BACKEND"), message);
    }
}
