package dev.vertxsessions.samples.postgres;

import dev.vertxsessions.OptionsReader;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Options of the PostgreSQL backend, read from the one JSON object under the key {@code postgres}:
 *
 * <pre>{@code
 * {"manager": "postgres",
 *  "postgres": {"url": "postgresql://app:secret@db:5432/app", "table": "sessions", "pool_size": 4,
 *               "sweep_interval": 600, "max_sessions": 100000}}
 * }</pre>
 *
 * A record rather than a bean with fluent setters: five values, all checked once in the constructor, is all a
 * sample needs. Every check throws {@link IllegalArgumentException} naming the key ({@code postgres.url}) and
 * never echoing the URL's password.
 *
 * @param url where the database is: {@code postgresql://user:password@host:port/database}, query parameters such as
 *     {@code ?sslmode=require} included (the Vert.x PostgreSQL client's URI format); required
 * @param table the table sessions are kept in, optionally schema-qualified ({@code app.sessions}); created at
 *     start-up when missing. Defaults to {@code sessions}
 * @param poolSize how many connections the one shared pool opens at most. Defaults to 4
 * @param sweepInterval how often expired rows are deleted, in whole seconds in JSON. Defaults to 10 minutes
 * @param maxSessions the most live sessions the table holds: a new session beyond it evicts the least recently
 *     written anonymous sessions, never a promoted (logged-in) one, and is refused with a 503 when only promoted
 *     ones are left. Each application instance counts the rows it adds between sweeps, so instances sharing the
 *     table can go over it together until the next sweep trims the table back. {@link #NO_LIMIT} ({@code null} or
 *     absent in JSON) for no limit, the default
 */
public record PostgresSessionOptions(String url, String table, int poolSize, Duration sweepInterval, long maxSessions) {

    /** The top-level JSON key whose object holds these options. */
    public static final String JSON_KEY = "postgres";

    /** The keys of the {@code postgres} object. */
    public static final Set<String> KEYS = Collections.unmodifiableSet(
            new LinkedHashSet<>(List.of("url", "table", "pool_size", "sweep_interval", "max_sessions")));

    /** Default table name. */
    public static final String DEFAULT_TABLE = "sessions";
    /** Default pool size. */
    public static final int DEFAULT_POOL_SIZE = 4;
    /** Default sweep interval. */
    public static final Duration DEFAULT_SWEEP_INTERVAL = Duration.ofMinutes(10);
    /** The value of {@link #maxSessions()} that sets no limit. */
    public static final long NO_LIMIT = Long.MAX_VALUE;

    private static final int MAX_POOL_SIZE = 1000;
    // Unquoted identifiers only: the name is put into SQL text, so nothing that needs quoting gets in. 40 characters
    // leave room for the index name (<table>_expires_at_idx) under PostgreSQL's limit of 63.
    private static final Pattern TABLE = Pattern.compile("([a-z_][a-z0-9_]{0,39}\\.)?[a-z_][a-z0-9_]{0,39}");

    /** Checks every value; see the parameters for the rules. */
    public PostgresSessionOptions {
        if (url == null || url.isEmpty()) {
            throw new IllegalArgumentException(
                    JSON_KEY + ".url is required, e.g. postgresql://user:password@127.0.0.1:5432/database");
        }
        parseUrl(url);
        Objects.requireNonNull(table, "table");
        if (!TABLE.matcher(table).matches()) {
            throw new IllegalArgumentException(JSON_KEY
                    + ".table must be a table name of lowercase letters, digits and "
                    + "underscores (at most 40), optionally schema-qualified like app.sessions, got '" + table + "'");
        }
        if (poolSize < 1 || poolSize > MAX_POOL_SIZE) {
            throw new IllegalArgumentException(
                    JSON_KEY + ".pool_size must be from 1 to " + MAX_POOL_SIZE + ", got " + poolSize);
        }
        Objects.requireNonNull(sweepInterval, "sweepInterval");
        if (sweepInterval.toSeconds() < 1) {
            throw new IllegalArgumentException(
                    JSON_KEY + ".sweep_interval must be at least 1 second, got " + sweepInterval.toSeconds());
        }
        if (maxSessions < 1) {
            throw new IllegalArgumentException(
                    JSON_KEY + ".max_sessions must be at least 1, or null for no limit, got " + maxSessions);
        }
    }

    /** Creates options for the database at {@code url}, with the defaults for everything else. */
    public static PostgresSessionOptions of(String url) {
        return new PostgresSessionOptions(url, DEFAULT_TABLE, DEFAULT_POOL_SIZE, DEFAULT_SWEEP_INTERVAL, NO_LIMIT);
    }

    /**
     * Reads the object under {@code postgres} (null reads as empty, which fails for the missing URL). An unknown key
     * fails naming it and the nearest known key: {@code unknown session config key 'postgres.urll' (did you mean
     * 'url'?)}.
     */
    public static PostgresSessionOptions fromJson(JsonObject json) {
        OptionsReader options = OptionsReader.of(JSON_KEY, json, KEYS);
        long poolSize = options.integer("pool_size", DEFAULT_POOL_SIZE);
        if (poolSize < 1 || poolSize > MAX_POOL_SIZE) {
            throw options.invalid("pool_size", "from 1 to " + MAX_POOL_SIZE + ", got " + poolSize);
        }
        return new PostgresSessionOptions(
                options.string("url", null),
                options.string("table", DEFAULT_TABLE),
                (int) poolSize,
                options.seconds("sweep_interval", DEFAULT_SWEEP_INTERVAL),
                json != null && json.getValue("max_sessions") != null ? options.integer("max_sessions", 0) : NO_LIMIT);
    }

    /** Returns a copy that keeps sessions in {@code table}. */
    public PostgresSessionOptions withTable(String table) {
        return new PostgresSessionOptions(url, table, poolSize, sweepInterval, maxSessions);
    }

    /** Returns a copy that sweeps every {@code sweepInterval}. */
    public PostgresSessionOptions withSweepInterval(Duration sweepInterval) {
        return new PostgresSessionOptions(url, table, poolSize, sweepInterval, maxSessions);
    }

    /** Returns a copy that keeps at most {@code maxSessions} live sessions ({@link #NO_LIMIT} for no limit). */
    public PostgresSessionOptions withMaxSessions(long maxSessions) {
        return new PostgresSessionOptions(url, table, poolSize, sweepInterval, maxSessions);
    }

    /** Returns whether {@link #maxSessions()} sets a limit. */
    public boolean isBounded() {
        return maxSessions != NO_LIMIT;
    }

    /** Returns these options as the JSON object under {@code postgres}, the URL's password masked, fit for a log. */
    public JsonObject toJson() {
        return new JsonObject()
                .put("url", OptionsReader.withoutPassword(url))
                .put("table", table)
                .put("pool_size", poolSize)
                .put("sweep_interval", sweepInterval.toSeconds())
                .put("max_sessions", isBounded() ? maxSessions : null);
    }

    /** Returns the connect options the URL describes, with prepared statements cached per connection. */
    PgConnectOptions connectOptions() {
        return parseUrl(url).setCachePreparedStatements(true);
    }

    /** Returns where the database is, without user information: for messages and logs. */
    String describe() {
        PgConnectOptions options = parseUrl(url);
        return "PostgreSQL at " + options.getHost() + ":" + options.getPort() + "/" + options.getDatabase();
    }

    /** Masks the password even in toString(), which records print with every component. */
    @Override
    public String toString() {
        return "PostgresSessionOptions" + toJson().encode();
    }

    private static PgConnectOptions parseUrl(String url) {
        if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
            // Never echo the URL: it may carry a password.
            throw new IllegalArgumentException(JSON_KEY + ".url must start with postgresql:// or postgres://, got a "
                    + "value of " + url.length() + " characters");
        }
        try {
            return PgConnectOptions.fromUri(url);
        } catch (RuntimeException e) {
            // Not chained: the parser's message may quote the URL, password included.
            throw new IllegalArgumentException(JSON_KEY + ".url is not a valid connection URI "
                    + "(postgresql://user:password@host:port/database), got a value of " + url.length()
                    + " characters");
        }
    }
}
