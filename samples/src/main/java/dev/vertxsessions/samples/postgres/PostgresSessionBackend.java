package dev.vertxsessions.samples.postgres;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionMetrics;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowIterator;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

/*
 * How the PostgreSQL backend stores sessions and keeps concurrent requests from losing data.
 *
 * Data model. One row per session:
 *   id                    text PRIMARY KEY   the session ID (the middleware checks its format before a load)
 *   data                  jsonb              the session's keys and their JSON values, addressable per key
 *   key_order             text[]             the keys in the order they were put: jsonb sorts an object's keys,
 *                                            and sessions keep insertion order (the demo lists keys in it)
 *   created_at            timestamptz        set once
 *   expires_at            timestamptz        idle and absolute expiry applied, by the application's clock
 *   per_session_expiry_s  integer            setExpiry(...) in seconds; NULL = the configured expiry
 * plus an index on expires_at for the sweeper. start() creates both if missing, under an advisory lock so that
 * instances starting together do not race, and checks that an existing table has these columns.
 *
 * Round trips. Load = one SELECT. A save = one statement (below), whatever it changed. Logout = one DELETE.
 * update() = one transaction: [INSERT ... DO NOTHING for a new session], SELECT ... FOR UPDATE, the Java
 * function, UPDATE. The pool is shared by every event loop; prepared statements are cached per connection.
 *
 * Per-key merge. A save never writes the session it loaded back whole: it applies this request's delta to the
 * row as it is now, inside the statement that writes it,
 *     data      = (data - removed) || changed               (cleared: data restricted to the request's keys first)
 *     key_order = old order, then new keys, minus the gone ones
 * so two requests that change different keys both keep their change; for the same key the later statement wins.
 * PostgreSQL row locks order the statements: an UPDATE that waited for another re-reads the row it waited for.
 *
 * No resurrection. A save of a session that was loaded (!isNew) is an UPDATE ... WHERE id = $1 AND expires_at >
 * now: when a logout, a regenerate or expiry removed the row meanwhile, it matches no row, writes nothing and the
 * save completes with false. Only a new session INSERTs (ON CONFLICT merges into the row an update() of that
 * same new session may have created a moment before).
 *
 * regenerate(). One statement: a CTE DELETEs the row under the previous ID (RETURNING it), and the INSERT writes
 * the merged row under the new ID. Nothing deleted (a logout won) = nothing inserted = false. No request ever sees
 * the session under both IDs or under neither.
 *
 * update(). The function is Java, so it cannot run inside one SQL statement: a transaction locks the row with
 * SELECT ... FOR UPDATE, applies the function to the key's current value and writes the result back; parallel
 * updates of one session queue on the row lock and none is lost. A row gone by then fails the update with a
 * SessionException unless the session is new (then the transaction creates it first).
 *
 * Expiry. expires_at is stored from the middleware's clock (SessionChanges.expiresAtMillis). A load returns the
 * row even when it has expired: the middleware refuses it and counts it (metrics().expiredSessions()). A save
 * treats an expired row as gone. The sweeper deletes expired rows every sweep_interval, 1000 at a time with
 * SKIP LOCKED, so several application instances sweeping the same table neither block nor double-count.
 *
 * Values. changed() values are plain JSON (maps, lists, strings, numbers, booleans, null), bound as one JsonObject
 * parameter; loads read data::text and parse it with Jackson into plain maps and lists. jsonb has two limits a
 * session store inherits: a string containing \u0000 is refused (the save fails with a SessionException), and a
 * number keeps its value but not its spelling (a double 1.0E20 comes back as the integer 100000000000000000000).
 *
 * Failures. A connection problem, a timeout or an overloaded server (SQLSTATE classes 08, 40, 53, 57) fails with
 * SessionStoreUnavailableException, which the middleware answers with 503; any other SQL error with a
 * SessionException (500). Messages name the host and database, never the user's password or a session ID.
 */

/**
 * A session backend on PostgreSQL (the Vert.x reactive client): sessions live in one table, shared by every
 * application instance; saves merge per key in one SQL statement; a logout is never undone by a slow request;
 * updates are atomic; expired rows are swept. Choose it with {@code "manager": "postgres"} and the options under
 * {@code "postgres"} ({@link PostgresSessionOptions}), or in code:
 *
 * <pre>{@code
 * SessionConfig config = new SessionConfig()
 *   .setBackend(PostgresSessionBackend.factory(PostgresSessionOptions.of("postgresql://app:secret@db/app")));
 * SessionMiddleware sessions = SessionMiddleware.start(vertx, config).await(); // creates the table if missing
 * }</pre>
 *
 * Thread-safe: one instance, with one connection pool, serves every event loop.
 */
public final class PostgresSessionBackend implements SessionBackend {

    private static final System.Logger LOG = System.getLogger(PostgresSessionBackend.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};

    /** Rows one sweeper statement deletes at most; it repeats while it finds that many. */
    static final int SWEEP_BATCH = 1000;

    private final Vertx vertx;
    private final Clock clock;
    private final PostgresSessionOptions options;
    private final String database;
    private final Pool pool;
    private final Statements sql;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean sweeping = new AtomicBoolean();
    private volatile long sweeperTimer = -1;
    private volatile SessionMetrics metrics;

    private PostgresSessionBackend(Vertx vertx, Clock clock, PostgresSessionOptions options) {
        this.vertx = vertx;
        this.clock = clock;
        this.options = options;
        this.database = options.describe();
        this.sql = new Statements(options.table());
        // Creating a pool opens no connection: the first one is opened by start().
        this.pool = PgBuilder.pool()
                .with(new PoolOptions().setMaxSize(options.poolSize()))
                .connectingTo(options.connectOptions())
                .using(vertx)
                .build();
    }

    /** Returns the factory of this backend for {@link dev.vertxsessions.SessionConfig#setBackend}. */
    public static SessionBackendFactory factory(PostgresSessionOptions options) {
        Objects.requireNonNull(options, "options");
        return (vertx, config) -> create(vertx, config.getClock(), options);
    }

    /** Creates the backend; expiry is measured with {@code clock}, the middleware's. No I/O until start(). */
    static PostgresSessionBackend create(Vertx vertx, Clock clock, PostgresSessionOptions options) {
        return new PostgresSessionBackend(vertx, clock, options);
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(
                Capability.SERVER_SIDE, Capability.PER_KEY_MERGE, Capability.ATOMIC_UPDATE, Capability.SHARED);
    }

    /**
     * Creates the table and its index if missing, checks the table's columns (and so the connection), then starts
     * the sweeper. A failure closes the pool and fails with a {@link SessionStoreUnavailableException} naming the
     * database and the cause.
     */
    @Override
    public Future<Void> start(SessionMetrics metrics) {
        this.metrics = metrics;
        return pool.withTransaction(connection -> connection
                        .preparedQuery(sql.lock)
                        .execute(Tuple.of("vertx-sessions:" + options.table()))
                        .compose(locked -> connection.query(sql.createTable).execute())
                        .compose(created -> connection.query(sql.checkColumns).execute()))
                .<Void>mapEmpty()
                .onSuccess(started -> startSweeper())
                .recover(e -> close().transform(released -> Future.failedFuture(new SessionStoreUnavailableException(
                        database + " could not be used for sessions (table " + options.table() + "): " + e.getMessage(),
                        e))));
    }

    /** Stops the sweeper and closes the pool; later calls do nothing. */
    @Override
    public Future<Void> close() {
        if (!closed.compareAndSet(false, true)) {
            return Future.succeededFuture();
        }
        if (sweeperTimer >= 0) {
            vertx.cancelTimer(sweeperTimer);
        }
        return pool.close();
    }

    @Override
    public Future<SessionRecord> load(String id) {
        return pool.preparedQuery(sql.load)
                .execute(Tuple.of(id))
                .recover(e -> Future.failedFuture(failure("load a session", e)))
                .compose(rows -> {
                    RowIterator<Row> found = rows.iterator();
                    if (!found.hasNext()) {
                        return Future.succeededFuture();
                    }
                    try {
                        return Future.succeededFuture(toRecord(id, found.next()));
                    } catch (IOException e) {
                        return Future.failedFuture(
                                new SessionException("a stored session could not be read as JSON", e));
                    }
                });
    }

    /** Applies the change set in one statement: UPDATE (loaded session), upsert (new session) or move (regenerate). */
    @Override
    public Future<Boolean> save(SessionChanges changes) {
        // $1..$7 mean the same in the three statements; the merge expressions (Statements.mergedData) use $2..$5.
        Tuple args = Tuple.tuple()
                .addString(changes.id())
                .addValue(new JsonObject(new LinkedHashMap<>(changes.changed())))
                .addArrayOfString(changes.removed().toArray(String[]::new))
                .addArrayOfString((changes.cleared() ? changes.data() : changes.changed())
                        .keySet()
                        .toArray(String[]::new))
                .addBoolean(changes.cleared())
                .addOffsetDateTime(timestamp(changes.expiresAtMillis()))
                .addValue(
                        changes.perSessionExpiry() == null
                                ? null
                                : (int) changes.perSessionExpiry().toSeconds());
        String statement;
        String previousId = changes.previousId();
        if (previousId != null && !previousId.equals(changes.id())) {
            statement = sql.move;
            args.addOffsetDateTime(timestamp(changes.savedAtMillis()))
                    .addString(previousId)
                    .addOffsetDateTime(timestamp(changes.createdAtMillis()))
                    .addBoolean(changes.isNew());
        } else if (changes.isNew()) {
            statement = sql.insert;
            args.addOffsetDateTime(timestamp(changes.createdAtMillis()));
        } else {
            statement = sql.update;
            args.addOffsetDateTime(timestamp(changes.savedAtMillis()));
        }
        return pool.preparedQuery(statement)
                .execute(args)
                .map(rows -> rows.rowCount() > 0)
                .recover(e -> Future.failedFuture(failure("save a session", e)));
    }

    @Override
    public Future<Void> delete(String id) {
        return pool.preparedQuery(sql.delete)
                .execute(Tuple.of(id))
                .<Void>mapEmpty()
                .recover(e -> Future.failedFuture(failure("delete a session", e)));
    }

    /** Runs {@code update} on the key's stored value inside a transaction that holds the row lock. */
    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        OffsetDateTime now = timestamp(session.savedAtMillis());
        OffsetDateTime expiresAt = timestamp(session.expiresAtMillis());
        RuntimeException[] functionFailure = new RuntimeException[1];
        return pool.withTransaction(connection -> createIfNew(connection, session)
                        .compose(created ->
                                connection.preparedQuery(sql.lockKey).execute(Tuple.of(session.id(), key, now)))
                        .compose(rows -> {
                            RowIterator<Row> found = rows.iterator();
                            if (!found.hasNext()) {
                                return Future.failedFuture(
                                        new SessionException("session no longer exists (it was invalidated or "
                                                + "expired); session key '" + key + "' was not updated"));
                            }
                            Object value;
                            try {
                                String json = found.next().getString("value");
                                value = update.apply(json == null ? null : JSON.readValue(json, Object.class));
                            } catch (IOException e) {
                                return Future.failedFuture(new SessionException(
                                        "stored value of session key '" + key + "' could not be read as JSON", e));
                            } catch (RuntimeException e) {
                                functionFailure[0] =
                                        e; // reported as it is, not as a store failure; the transaction rolls back
                                return Future.failedFuture(e);
                            }
                            Tuple args = value == null
                                    ? Tuple.of(session.id(), key, expiresAt)
                                    : Tuple.of(session.id(), key, expiresAt, new JsonObject().put(key, value));
                            return connection
                                    .preparedQuery(value == null ? sql.removeKey : sql.setKey)
                                    .execute(args)
                                    .map(value);
                        }))
                .recover(e -> Future.failedFuture(e == functionFailure[0] ? e : failure("update a session", e)));
    }

    /** Deletes expired rows in batches; completes with how many. Runs every sweep_interval; tests call it directly. */
    Future<Integer> sweep() {
        if (closed.get() || !sweeping.compareAndSet(false, true)) {
            return Future.succeededFuture(0);
        }
        return sweepFrom(0).andThen(done -> sweeping.set(false));
    }

    private Future<Integer> sweepFrom(int deletedSoFar) {
        return pool.preparedQuery(sql.sweep)
                .execute(Tuple.of(timestamp(clock.millis())))
                .compose(rows -> {
                    int deleted = rows.rowCount();
                    SessionMetrics current = metrics;
                    if (current != null && deleted > 0) {
                        current.recordSweeperDeletions(deleted);
                    }
                    return deleted == SWEEP_BATCH && !closed.get()
                            ? sweepFrom(deletedSoFar + deleted)
                            : Future.succeededFuture(deletedSoFar + deleted);
                });
    }

    private void startSweeper() {
        if (closed.get()) {
            return; // closed while starting
        }
        sweeperTimer = vertx.setPeriodic(
                options.sweepInterval().toMillis(),
                timer -> sweep().onFailure(e -> {
                    if (!closed.get()) {
                        LOG.log(Level.WARNING, "expired sessions could not be swept from " + database + ": " + e);
                    }
                }));
        if (closed.get()) {
            vertx.cancelTimer(sweeperTimer); // close() ran between the check and the timer
        }
    }

    /** For a new session, creates its row (if no other request did) so that there is a row to lock. */
    private Future<?> createIfNew(SqlConnection connection, SessionChanges session) {
        if (!session.isNew()) {
            return Future.succeededFuture();
        }
        return connection
                .preparedQuery(sql.createEmpty)
                .execute(Tuple.of(
                        session.id(),
                        timestamp(session.createdAtMillis()),
                        timestamp(session.expiresAtMillis()),
                        session.perSessionExpiry() == null
                                ? null
                                : (int) session.perSessionExpiry().toSeconds()));
    }

    /** Builds the record of a row; keys follow key_order, and keys the order misses (written by hand) come last. */
    private static SessionRecord toRecord(String id, Row row) throws IOException {
        LinkedHashMap<String, Object> stored = JSON.readValue(row.getString("data"), MAP);
        Map<String, Object> data = new LinkedHashMap<>();
        for (String key : row.getArrayOfStrings("key_order")) {
            if (stored.containsKey(key)) {
                data.put(key, stored.remove(key));
            }
        }
        data.putAll(stored);
        Integer expirySeconds = row.getInteger("per_session_expiry_s");
        return new SessionRecord(
                id,
                data,
                millis(row.getOffsetDateTime("created_at")),
                millis(row.getOffsetDateTime("expires_at")),
                expirySeconds == null ? null : Duration.ofSeconds(expirySeconds));
    }

    /** Returns the failure to report: unavailable (503) for connection trouble and overload, else a SessionException. */
    private Throwable failure(String action, Throwable cause) {
        if (cause instanceof SessionException) {
            return cause;
        }
        if (cause instanceof PgException error && !isTransient(error.getSqlState())) {

            return new SessionException(
                    database + " refused to " + action + ": SQLSTATE " + error.getSqlState() + " "
                            + error.getErrorMessage(),
                    cause);
        }
        return new SessionStoreUnavailableException(database + " could not " + action + ": " + cause, cause);
    }

    /** Connection exception, transaction rollback, insufficient resources, operator intervention. */
    private static boolean isTransient(String sqlState) {
        return sqlState != null
                && (sqlState.startsWith("08")
                        || sqlState.startsWith("40")
                        || sqlState.startsWith("53")
                        || sqlState.startsWith("57"));
    }

    private static OffsetDateTime timestamp(long epochMillis) {
        return OffsetDateTime.ofInstant(Instant.ofEpochMilli(epochMillis), ZoneOffset.UTC);
    }

    private static long millis(OffsetDateTime timestamp) {
        return timestamp.toInstant().toEpochMilli();
    }

    /** The SQL of one table, built once. The table name was checked to be a plain identifier. */
    static final class Statements {

        final String createTable;
        final String checkColumns;
        final String lock = "SELECT pg_advisory_xact_lock(hashtext($1))";
        final String load;
        final String update;
        final String insert;
        final String move;
        final String delete;
        final String createEmpty;
        final String lockKey;
        final String setKey;
        final String removeKey;
        final String sweep;

        Statements(String table) {
            String index = table.substring(table.indexOf('.') + 1) + "_expires_at_idx";
            // Without the SET, every start after the first logs two "already exists, skipping" notices as warnings.
            createTable = "SET LOCAL client_min_messages = warning;\n"
                    + "CREATE TABLE IF NOT EXISTS " + table + " (\n"
                    + "  id text PRIMARY KEY,\n"
                    + "  data jsonb NOT NULL DEFAULT '{}',\n"
                    + "  key_order text[] NOT NULL DEFAULT '{}',\n"
                    + "  created_at timestamptz NOT NULL,\n"
                    + "  expires_at timestamptz NOT NULL,\n"
                    + "  per_session_expiry_s integer CHECK (per_session_expiry_s > 0)\n"
                    + ");\n"
                    + "CREATE INDEX IF NOT EXISTS " + index + " ON " + table + " (expires_at)";
            checkColumns = "SELECT id, data, key_order, created_at, expires_at, per_session_expiry_s FROM " + table
                    + " LIMIT 0";
            load = "SELECT data::text AS data, key_order, created_at, expires_at, per_session_expiry_s FROM " + table
                    + " WHERE id = $1";

            // $1 id, $2 changed (jsonb), $3 removed keys, $4 keys to order by (and, when cleared, to keep), $5 cleared,
            // $6 expires_at, $7 per_session_expiry_s (NULL keeps the stored one), then one per statement:
            // a loaded session: $8 now; the row must exist and be live, or nothing is written.
            update = "UPDATE " + table + " AS s SET data = " + mergedData("s") + ", key_order = " + mergedKeyOrder("s")
                    + ", expires_at = $6, per_session_expiry_s = coalesce($7::integer, s.per_session_expiry_s)"
                    + " WHERE s.id = $1 AND s.expires_at > $8";
            // a new session: $8 created_at. It merges into a row that an update() of this new session created.
            insert =
                    "INSERT INTO " + table + " AS s (id, data, key_order, created_at, expires_at, per_session_expiry_s)"
                            + " SELECT $1, " + mergedData("e") + ", " + mergedKeyOrder("e") + ", $8, $6, $7::integer"
                            + " FROM (SELECT '{}'::jsonb AS data, '{}'::text[] AS key_order) e"
                            + " ON CONFLICT (id) DO UPDATE SET data = " + mergedData("s") + ", key_order = "
                            + mergedKeyOrder("s")
                            + ", expires_at = $6, per_session_expiry_s = coalesce($7::integer, s.per_session_expiry_s)";
            // regenerate: $8 now, $9 previous ID, $10 created_at and $11 isNew (a new session starts from nothing).
            move = "WITH moved AS (DELETE FROM " + table + " WHERE id = $9 AND expires_at > $8"
                    + " RETURNING data, key_order, created_at, per_session_expiry_s),"
                    + " source AS (SELECT * FROM moved UNION ALL SELECT '{}'::jsonb, '{}'::text[], $10::timestamptz, NULL::integer"
                    + " WHERE $11::boolean AND NOT EXISTS (SELECT FROM moved))"
                    + " INSERT INTO " + table + " (id, data, key_order, created_at, expires_at, per_session_expiry_s)"
                    + " SELECT $1, " + mergedData("m") + ", " + mergedKeyOrder("m") + ", m.created_at, $6,"
                    + " coalesce($7::integer, m.per_session_expiry_s) FROM source m"
                    + " ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, key_order = EXCLUDED.key_order,"
                    + " created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,"
                    + " per_session_expiry_s = EXCLUDED.per_session_expiry_s";
            delete = "DELETE FROM " + table + " WHERE id = $1";

            createEmpty = "INSERT INTO " + table + " (id, created_at, expires_at, per_session_expiry_s)"
                    + " VALUES ($1, $2, $3, $4::integer) ON CONFLICT (id) DO NOTHING";
            lockKey = "SELECT (data -> $2::text)::text AS value FROM " + table
                    + " WHERE id = $1 AND expires_at > $3 FOR UPDATE";
            setKey = "UPDATE " + table + " SET data = data || $4::jsonb,"
                    + " key_order = CASE WHEN $2::text = ANY(key_order) THEN key_order ELSE key_order || $2::text END,"
                    + " expires_at = greatest(expires_at, $3) WHERE id = $1";
            removeKey =
                    "UPDATE " + table + " SET data = data - $2::text, key_order = array_remove(key_order, $2::text),"
                            + " expires_at = greatest(expires_at, $3) WHERE id = $1";

            sweep = "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table + " WHERE expires_at <= $1"
                    + " LIMIT " + SWEEP_BATCH + " FOR UPDATE SKIP LOCKED)";
        }

        /** The session's data after the change set, computed from {@code row}, the row as it is now. */
        static String mergedData(String row) {
            return "(CASE WHEN $5::boolean THEN (SELECT coalesce(jsonb_object_agg(k.key, k.value), '{}'::jsonb)"
                    + " FROM jsonb_each(" + row + ".data) k WHERE k.key = ANY($4::text[])) ELSE " + row + ".data END"
                    + " - $3::text[]) || $2::jsonb";
        }

        /** The key order after the change set: first occurrences in old order + new keys, of the keys still there. */
        static String mergedKeyOrder(String row) {
            return "ARRAY(SELECT o.key FROM unnest(CASE WHEN $5::boolean THEN $4::text[]"
                    + " ELSE " + row + ".key_order || $4::text[] END) WITH ORDINALITY AS o(key, n)"
                    + " WHERE $2::jsonb ? o.key OR (" + row + ".data ? o.key AND o.key <> ALL($3::text[]))"
                    + " GROUP BY o.key ORDER BY min(o.n))";
        }
    }
}
