package dev.vertxsessions.samples;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.redis.RedisSessionOptions;
import dev.vertxsessions.samples.postgres.PostgresSessionOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.RedisOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The demo's settings, read from environment variables, all optional:
 *
 * <pre>
 * PORT                   HTTP port (default 8080)
 * SESSION_BACKEND        cookie (default), file, redis or postgres
 * SESSION_DIR            directory of the file backend (default sessions)
 * SESSION_SECRET         cookie signing key, at least 32 bytes (default: a random key, so that cookie sessions
 *                        end when the demo stops)
 * SESSION_EXPIRY         session lifetime in seconds (default 86400)
 * SESSION_ANONYMOUS_EXPIRY  lifetime of a session nobody logged in to, in seconds (default 1800, at most
 *                        SESSION_EXPIRY)
 * SESSION_ABSOLUTE_EXPIRY  longest life of a session since it was created, however active, in seconds (default
 *                        43200, or SESSION_EXPIRY when that is longer; at least SESSION_EXPIRY)
 * SESSION_FILE_MAX_SESSIONS  most session files of the file backend; beyond, anonymous sessions are evicted
 *                        (default 100000)
 * SESSION_FILE_MAX_BYTES most bytes of session files of the file backend (default: no limit)
 * SESSION_MAX_PER_USER   most sessions one account may hold at once; a login past it ends the account's oldest
 *                        session (default 10; file, redis and postgres, the backends with a user index)
 * SESSION_COOKIE_SECURE  true to send the cookie over HTTPS only (default false)
 * REDIS_URL              Redis of the redis backend (default redis://127.0.0.1:6379)
 * REDIS_OPTIONS          Vert.x RedisOptions as a JSON object, for Sentinel, Cluster or TLS (default none)
 * DATABASE_URL           PostgreSQL of the postgres backend (default postgresql://postgres@127.0.0.1:5432/postgres)
 * SESSION_POSTGRES_MAX_SESSIONS  most live sessions of the postgres backend; beyond, anonymous sessions are
 *                        evicted (default 100000)
 * METRICS                prometheus to publish Vert.x's and the sessions' metrics at GET /metrics (default off)
 * TRACING                log to print every request's OpenTelemetry spans, the sessions' included (default off)
 * </pre>
 *
 * An unset or empty variable takes its default. {@link #fromEnv} throws {@link IllegalArgumentException} naming
 * every invalid variable.
 */
public final class DemoSettings {

    private static final long DEFAULT_ANONYMOUS_EXPIRY_SECONDS = 1800;
    private static final long DEFAULT_ABSOLUTE_EXPIRY_SECONDS = 43_200;
    /** The most sessions the file and postgres backends keep by default. */
    private static final long DEFAULT_MAX_SESSIONS = 100_000;
    /** The most sessions one account holds at once by default, on backends with a user index. */
    private static final long DEFAULT_MAX_SESSIONS_PER_USER = 10;
    /** RedisOptions fields that are null by default, which {@code toJson()} therefore leaves out. */
    private static final Set<String> REDIS_FIELDS_WITHOUT_DEFAULT =
            Set.of("user", "password", "preferredProtocolVersion", "tracingPolicy");

    /** Where sessions are kept. */
    public enum Backend {
        /** Signed cookies: nothing is stored on the server. */
        COOKIE,
        /** One file per session in {@code SESSION_DIR}. */
        FILE,
        /** Redis at {@code REDIS_URL}. */
        REDIS,
        /** PostgreSQL at {@code DATABASE_URL}, with the sample backend of {@code samples/postgres}. */
        POSTGRES
    }

    /** The database of the postgres backend when {@code DATABASE_URL} is not set. */
    public static final String DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

    private final int port;
    private final Backend backend;
    private final SessionConfig sessionConfig;
    private final List<String> warnings;
    private final boolean prometheus;
    private final boolean tracing;

    private DemoSettings(
            int port,
            Backend backend,
            SessionConfig sessionConfig,
            List<String> warnings,
            boolean prometheus,
            boolean tracing) {
        this.prometheus = prometheus;
        this.tracing = tracing;
        this.port = port;
        this.backend = backend;
        this.sessionConfig = sessionConfig;
        this.warnings = List.copyOf(warnings);
    }

    /** Reads the settings from {@code env} (e.g. {@code System.getenv()}). */
    public static DemoSettings fromEnv(Map<String, String> env) {
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        SessionConfig config = new SessionConfig();

        int port = 8080;
        String portValue = value(env, "PORT");
        if (portValue != null) {
            Long parsed = wholeNumber(portValue);
            if (parsed == null || parsed > 65535) {
                errors.add("PORT must be a whole number from 0 to 65535, got " + quote(portValue));
            } else {
                port = parsed.intValue();
            }
        }

        Backend backend = Backend.COOKIE;
        String backendValue = value(env, "SESSION_BACKEND");
        if (backendValue != null) {
            switch (backendValue.toLowerCase(Locale.ROOT)) {
                case "cookie" -> backend = Backend.COOKIE;
                case "file" -> backend = Backend.FILE;
                case "redis" -> backend = Backend.REDIS;
                case "postgres" -> backend = Backend.POSTGRES;
                default ->
                    errors.add("SESSION_BACKEND must be cookie, file, redis or postgres, got " + quote(backendValue));
            }
        }

        String directory = value(env, "SESSION_DIR");
        if (directory != null) {
            try {
                Path unused = Path.of(directory); // throws for a path this system cannot have
                config.setBackendOption("directory", directory);
            } catch (InvalidPathException e) {
                errors.add("SESSION_DIR must be a directory path, got " + quote(directory));
            }
        }

        String secret = value(env, "SESSION_SECRET");
        if (secret != null) {
            int bytes = secret.getBytes(StandardCharsets.UTF_8).length;
            if (bytes < SessionConfig.MIN_SECRET_BYTES) {
                // Never echo a secret, not even a wrong one.
                errors.add("SESSION_SECRET must be at least " + SessionConfig.MIN_SECRET_BYTES + " bytes, got " + bytes
                        + "; generate one with `openssl rand -hex 32`");
            } else {
                config.setSecretKey(secret);
            }
        } else if (backend == Backend.COOKIE) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            config.setSecretKey(HexFormat.of().formatHex(key));
            warnings.add("SESSION_SECRET is not set: using a random key, so sessions will not survive a restart "
                    + "(and instances started separately cannot read each other's cookies)");
        }

        String expiry = value(env, "SESSION_EXPIRY");
        if (expiry != null) {
            Long seconds = wholeNumber(expiry);
            if (seconds == null || seconds < 1 || seconds > Integer.MAX_VALUE) {
                errors.add("SESSION_EXPIRY must be a whole number of seconds from 1 to " + Integer.MAX_VALUE + ", got "
                        + quote(expiry));
            } else {
                config.setExpiry(Duration.ofSeconds(seconds));
            }
        }

        // A flood of requests without a cookie must not fill the store for a day: anonymous sessions live 30 min.
        String anonymousExpiry = value(env, "SESSION_ANONYMOUS_EXPIRY");
        Duration anonymous = Duration.ofSeconds(DEFAULT_ANONYMOUS_EXPIRY_SECONDS);
        if (anonymousExpiry != null) {
            Long seconds = wholeNumber(anonymousExpiry);
            if (seconds == null || seconds < 1 || seconds > config.getExpiry().toSeconds()) {
                errors.add("SESSION_ANONYMOUS_EXPIRY must be a whole number of seconds from 1 to SESSION_EXPIRY ("
                        + config.getExpiry().toSeconds() + "), got " + quote(anonymousExpiry));
            } else {
                anonymous = Duration.ofSeconds(seconds);
            }
        }
        config.setAnonymousExpiry(anonymous.compareTo(config.getExpiry()) < 0 ? anonymous : config.getExpiry());

        // A copy of a signed cookie cannot be revoked, and every save slides its expiry: without an absolute lifetime
        // a copy kept fresh stays logged in forever. 12 h, or the sliding expiry when that is longer (the library
        // refuses an absolute expiry shorter than the sliding one).
        String absoluteExpiry = value(env, "SESSION_ABSOLUTE_EXPIRY");
        Duration absolute = Duration.ofSeconds(
                Math.max(DEFAULT_ABSOLUTE_EXPIRY_SECONDS, config.getExpiry().toSeconds()));
        if (absoluteExpiry != null) {
            Long seconds = wholeNumber(absoluteExpiry);
            if (seconds == null || seconds < config.getExpiry().toSeconds() || seconds > Integer.MAX_VALUE) {
                errors.add("SESSION_ABSOLUTE_EXPIRY must be a whole number of seconds from SESSION_EXPIRY ("
                        + config.getExpiry().toSeconds() + ") to " + Integer.MAX_VALUE + ", got "
                        + quote(absoluteExpiry));
            } else {
                absolute = Duration.ofSeconds(seconds);
            }
        }
        config.setAbsoluteExpiry(absolute);

        if (backend == Backend.FILE) {
            Long maxSessions = limit(env, "SESSION_FILE_MAX_SESSIONS", 1, errors);
            config.setBackendOption("file_max_sessions", maxSessions != null ? maxSessions : DEFAULT_MAX_SESSIONS);
            Long maxBytes = limit(env, "SESSION_FILE_MAX_BYTES", 1024, errors);
            if (maxBytes != null) {
                config.setBackendOption("file_max_bytes", maxBytes);
            }
        }

        Long maxPerUser = limit(env, "SESSION_MAX_PER_USER", 1, errors);
        if (backend == Backend.REDIS || backend == Backend.FILE || backend == Backend.POSTGRES) {
            // One account logging in in a loop must not fill the store (issue 23, item 5).
            config.setMaxSessionsPerUser(
                    (int) Math.min(Integer.MAX_VALUE, maxPerUser != null ? maxPerUser : DEFAULT_MAX_SESSIONS_PER_USER));
            config.setRecordClientInfo(true); // "Your sessions" and the administrator's page show each device
        }

        String secure = value(env, "SESSION_COOKIE_SECURE");
        if (secure != null) {
            if (secure.equalsIgnoreCase("true") || secure.equalsIgnoreCase("false")) {
                config.setCookieSecure(Boolean.parseBoolean(secure));
            } else {
                errors.add("SESSION_COOKIE_SECURE must be true or false, got " + quote(secure));
            }
        }

        String redisUrl = value(env, "REDIS_URL");
        if (redisUrl != null) {
            try {
                new RedisSessionOptions().setUrl(redisUrl); // checks it
                config.setBackendOption("redis_url", redisUrl);
            } catch (IllegalArgumentException e) {
                // The URL may carry a password: say how long it is, not what it is.
                errors.add("REDIS_URL must start with redis://, rediss:// or unix://, got a value of "
                        + redisUrl.length() + " characters");
            }
        }

        String redisOptions = value(env, "REDIS_OPTIONS");
        if (redisOptions != null) {
            JsonObject options = redisOptions(redisOptions, errors);
            if (options != null) {
                config.setBackendOption("redis_options", options);
            }
        }

        String databaseUrl = value(env, "DATABASE_URL");
        if (databaseUrl != null || backend == Backend.POSTGRES) {
            String url = databaseUrl != null ? databaseUrl : DEFAULT_DATABASE_URL;
            try {
                PostgresSessionOptions.of(url); // checks it
                JsonObject postgres = new JsonObject().put("url", url);
                if (backend == Backend.POSTGRES) {
                    // The same flood bound as the file backend's: a table does not grow without limit either.
                    Long maxSessions = limit(env, "SESSION_POSTGRES_MAX_SESSIONS", 1, errors);
                    postgres.put("max_sessions", maxSessions != null ? maxSessions : DEFAULT_MAX_SESSIONS);
                }
                config.setBackendOption(PostgresSessionOptions.JSON_KEY, postgres);
            } catch (IllegalArgumentException e) {
                // The URL may carry a password: say how long it is, not what it is.
                errors.add("DATABASE_URL must be postgresql://user:password@host:port/database, got a value of "
                        + url.length() + " characters");
            }
        }

        String metrics = value(env, "METRICS");
        if (metrics != null && !metrics.equals("prometheus")) {
            errors.add("METRICS must be prometheus (or unset), got " + quote(metrics));
        }
        String tracing = value(env, "TRACING");
        if (tracing != null && !tracing.equals("log")) {
            errors.add("TRACING must be log (or unset), got " + quote(tracing));
        }

        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        config.setManager(backend == Backend.COOKIE ? "signed" : backend.name().toLowerCase(Locale.ROOT));
        return new DemoSettings(port, backend, config, warnings, "prometheus".equals(metrics), "log".equals(tracing));
    }

    /** Returns whether the demo publishes metrics in Prometheus format at {@code GET /metrics}. */
    public boolean prometheus() {
        return prometheus;
    }

    /** Returns whether the demo prints every request's OpenTelemetry spans. */
    public boolean tracing() {
        return tracing;
    }

    /** Returns the HTTP port; 0 picks a free one. */
    public int port() {
        return port;
    }

    /** Returns where sessions are kept. */
    public Backend backend() {
        return backend;
    }

    /** Returns a copy of the session configuration the settings describe. */
    public SessionConfig sessionConfig() {
        return new SessionConfig(sessionConfig);
    }

    /** Returns what the operator should know about these settings (e.g. a generated secret). */
    public List<String> warnings() {
        return warnings;
    }

    private static String value(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    /**
     * Returns REDIS_OPTIONS as JSON, or null after adding an error. Vert.x's RedisOptions ignores a field it does not
     * know or a value of the wrong type, so that a misspelt "endpoints" would silently connect to REDIS_URL instead
     * of the Sentinels; each top-level field must therefore read back as it was given. Messages name fields, never
     * values: the options may hold a password.
     */
    private static JsonObject redisOptions(String value, List<String> errors) {
        JsonObject json;
        try {
            json = new JsonObject(value);
        } catch (DecodeException e) {
            errors.add("REDIS_OPTIONS must be a JSON object of Vert.x RedisOptions, e.g. "
                    + "{\"type\":\"SENTINEL\",\"masterName\":\"mymaster\",\"endpoints\":[\"redis://127.0.0.1:26379\"]}; got "
                    + value.length() + " characters that are not a JSON object");
            return null;
        }
        Set<String> fields = new TreeSet<>(new RedisOptions().toJson().fieldNames());
        fields.addAll(REDIS_FIELDS_WITHOUT_DEFAULT);
        for (String field : json.fieldNames()) {
            if (!fields.contains(field)) {
                errors.add("REDIS_OPTIONS has no field " + quote(field) + " of Vert.x RedisOptions; its fields are "
                        + String.join(", ", fields));
                return null;
            }
            Object given = json.getValue(field);
            boolean accepted;
            try {
                JsonObject readBack = new RedisOptions(new JsonObject().put(field, given)).toJson();
                // The client options come back with every default filled in (and key stores reshaped): only their
                // type is checked here.
                accepted = field.equals("netClientOptions")
                        ? given instanceof JsonObject
                        : new JsonObject()
                                .put(field, given)
                                .equals(new JsonObject().put(field, readBack.getValue(field)));
            } catch (RuntimeException e) {
                accepted = false; // e.g. an unknown enum name; the message would echo the value
            }
            if (!accepted) {
                errors.add("REDIS_OPTIONS field " + quote(field) + " has a value Vert.x RedisOptions cannot use "
                        + "(check its type and spelling, e.g. \"type\":\"SENTINEL\" in capitals)");
                return null;
            }
        }
        return json;
    }

    /** Returns the limit in variable {@code name}, null when unset; an error when it is below {@code min}. */
    private static Long limit(Map<String, String> env, String name, long min, List<String> errors) {
        String value = value(env, name);
        if (value == null) {
            return null;
        }
        Long parsed = wholeNumber(value);
        if (parsed == null || parsed < min) {
            errors.add(name + " must be a whole number of at least " + min + ", got " + quote(value));
            return null;
        }
        return parsed;
    }

    /** Returns the non-negative whole number {@code value} spells, or null. */
    private static Long wholeNumber(String value) {
        if (!value.matches("[0-9]{1,12}")) {
            return null;
        }
        return Long.parseLong(value);
    }

    private static String quote(String value) {
        String shown = value.length() > 40 ? value.substring(0, 40) + "..." : value;
        return "'" + shown + "'";
    }
}
