package dev.vertxsessions.samples.postgres;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionInfo;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionLimitException;
import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowIterator;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
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
 *   anonymous             boolean            never promoted (SessionChanges.isAnonymous); once false, stays false
 * plus an index on expires_at for the sweeper, one on the anonymous rows' expires_at for eviction, and the user
 * index: one on the principal's data key (data ->> '__vertx-sessions.principal', with expires_at), which PostgreSQL
 * maintains with the row, so it never lists a session that is gone; max_sessions_per_user is enforced in the login's
 * transaction under an advisory lock of the principal. start()
 * creates them if missing, under an advisory lock so that instances starting together do not race, checks that an
 * existing table has these columns, and adds the anonymous column to a table of an earlier version (its rows
 * count as promoted: never evicted).
 *
 * Round trips. Load = one SELECT. Every write is one transaction (see Deadline): BEGIN with SET LOCAL (one round
 * trip, pipelined), the statement below, COMMIT. A save = one statement, whatever it changed. Logout = one DELETE.
 * update() = [INSERT ... DO NOTHING for a new session], SELECT ... FOR UPDATE, the Java function, UPDATE. With
 * max_sessions, a new session at the bound adds one DELETE (see Bound). The pool is shared by every event loop;
 * prepared statements are cached per connection.
 *
 * Deadline: a write the middleware gave up on never applies later. The middleware answers 503 when a call takes
 * longer than backend_timeout_ms, so a write may use 9/10 of it, counted from the call; the last tenth is for the
 * COMMIT and its reply. Each write runs in a transaction that starts with SET LOCAL statement_timeout = the time
 * left, so PostgreSQL itself cancels a statement still waiting for a row lock (another transaction, an operator's
 * psql, a batch job), for a conflicting insert, or for a slow server at that moment, by its own clock, and the
 * transaction rolls back. COMMIT is sent only while time is left; a reply that arrives later rolls back. A write
 * that waited in the pool's queue until no time was left is never sent. Either way the call fails with
 * SessionStoreUnavailableException (503) saying that nothing was written. Why not a deadline in the SQL (WHERE
 * clock_timestamp() < ...): an UPDATE that waited for a row lock re-checks its WHERE only when the other
 * transaction changed the row and committed; after a SELECT ... FOR UPDATE or a rolled-back change it goes on
 * without looking at the clock again, and an INSERT that waited for a conflicting one checks nothing. What is left:
 * a COMMIT sent in time whose reply takes longer than the last tenth (a stalled disk, synchronous replication
 * waiting for a standby), which then applies although the request got a 503. Loads have no deadline: they write
 * nothing, and the middleware bounds them.
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
 * Bound (max_sessions, optional). Counting the table on every new session would cost a scan of it, and a counter
 * row would serialize every insert, so each instance keeps its own count of live rows: exact at start-up and after
 * each sweep, then plus the rows it adds and minus those it deletes. A new session (an insert, or the first write of
 * a session created by update()) that would take the count over the bound first deletes, in its own transaction,
 * the anonymous rows least recently written (lowest expires_at; SKIP LOCKED, so a row being written is passed
 * over), never the session being written nor the one it moves from, never a promoted row. When too few are found it
 * counts the live rows before refusing (other instances may have deleted some), and refuses with
 * SessionStoreUnavailableException (503) only when the table is full of promoted sessions: an anonymous visitor
 * then gets no session, a login from an anonymous session still succeeds (a move adds no row). Instances sharing
 * the table each count only what they add, so together they can go over the bound until the next sweep, which
 * counts the table and evicts the excess the same way. Evictions count in metrics().evictions().
 *
 * Values. changed() values are plain JSON (maps, lists, strings, numbers, booleans, null), bound as one JsonObject
 * parameter; loads read data::text and parse it with Jackson into plain maps and lists. jsonb has two limits a
 * session store inherits: it cannot store U+0000 in a string, so a key or a string value (at any depth) holding one
 * fails the save or update with a SessionException (500) before anything is sent, naming the key, never the value;
 * and a number keeps its value but not its spelling (a double 1.0E20 comes back as the integer
 * 100000000000000000000).
 *
 * Near cache (near_cache on). A trigger on the table NOTIFYs "<id> <version>" for every row any statement writes or
 * deletes, delivered at commit in commit order, and one connection LISTENs: PostgresInvalidations. start() creates
 * the trigger and its function when missing; they stay, and report the writes of every client of the table, until
 * dropped by hand (DROP TRIGGER <name>_near_cache ON <table>, the same for <name>_near_cache_truncate, then DROP
 * FUNCTION <table>_near_cache()).
 *
 * Failures. A connection problem, a timeout or an overloaded server (SQLSTATE classes 08, 40, 53, 57) fails with
 * SessionStoreUnavailableException, which the middleware answers with 503; any other SQL error with a
 * SessionException (500). Messages name the host and database, never the user's password or a session ID.
 */

/**
 * A session backend on PostgreSQL (the Vert.x reactive client): sessions live in one table, shared by every
 * application instance; saves merge per key in one SQL statement; a logout is never undone by a slow request;
 * updates are atomic; expired rows are swept; a write that cannot finish within {@code backend_timeout_ms} is
 * cancelled by PostgreSQL ({@code SET LOCAL statement_timeout}) and rolled back, so a 503 never hides a write that
 * applies later; with {@code max_sessions}, anonymous sessions are evicted first; with {@code near_cache}, a trigger
 * reports every write over LISTEN/NOTIFY ({@link PostgresInvalidations}). Choose it with
 * {@code "manager": "postgres"} and the options under {@code "postgres"} ({@link PostgresSessionOptions}), or in
 * code:
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

    /** SQLSTATE of a statement cancelled, here by statement_timeout. */
    private static final String QUERY_CANCELED = "57014";

    /**
     * The data key where the near cache keeps a session's version (the core's reserved key; the trigger reports its
     * value).
     */
    static final String VERSION_KEY = SessionInvalidations.VERSION_KEY;

    /** The suffix of the near cache's channel, trigger and trigger function names. */
    static final String NEAR_CACHE = "_near_cache";

    private static final String KEY_WITH_NUL = "a session key contains U+0000, which PostgreSQL cannot store";

    private final Vertx vertx;
    private final Clock clock;
    private final PostgresSessionOptions options;
    private final String database;
    private final Pool pool;
    private final Statements sql;
    private final long backendTimeoutMillis;
    /** How long a write may take from its call: backend_timeout_ms less the tenth kept for COMMIT and its reply. */
    private final long writeBudgetMillis;
    /** Live rows as this instance counts them (see Bound); only kept with max_sessions. */
    private final AtomicLong sessionCount = new AtomicLong();

    /** The near cache's channel (see PostgresInvalidations), or null when near_cache is off. */
    private final PostgresInvalidations invalidations;

    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean sweeping = new AtomicBoolean();
    private volatile long sweeperTimer = -1;
    private volatile BackendRecorder recorder = BackendRecorder.NONE;

    private PostgresSessionBackend(
            Vertx vertx, Clock clock, Duration backendTimeout, boolean nearCache, PostgresSessionOptions options) {
        this.vertx = vertx;
        this.clock = clock;
        this.options = options;
        this.backendTimeoutMillis = backendTimeout.toMillis();
        this.writeBudgetMillis = backendTimeoutMillis - backendTimeoutMillis / 10;
        this.database = options.describe();
        this.sql = new Statements(options.table());
        // Creating a pool opens no connection: the first one is opened by start().
        this.pool = PgBuilder.pool()
                .with(new PoolOptions().setMaxSize(options.poolSize()))
                .connectingTo(options.connectOptions())
                .using(vertx)
                .build();
        this.invalidations = nearCache
                ? new PostgresInvalidations(
                        vertx, options.connectOptions(), pool, sql.channel, database, backendTimeoutMillis)
                : null;
    }

    /** Returns the factory of this backend for {@link dev.vertxsessions.SessionConfig#setBackend}. */
    public static SessionBackendFactory factory(PostgresSessionOptions options) {
        Objects.requireNonNull(options, "options");
        return (vertx, config) -> create(vertx, config, options);
    }

    /**
     * Creates the backend for the middleware of {@code config}: expiry is measured with its clock, and writes end
     * within its backend_timeout_ms; with near_cache, it reports every write to the near cache. No I/O until start().
     */
    static PostgresSessionBackend create(Vertx vertx, SessionConfig config, PostgresSessionOptions options) {
        return new PostgresSessionBackend(
                vertx, config.getClock(), config.getBackendTimeout(), config.isNearCache(), options);
    }

    /** Creates the backend with the clock {@code clock} and the default backend_timeout_ms; for tests. */
    static PostgresSessionBackend create(Vertx vertx, Clock clock, PostgresSessionOptions options) {
        return new PostgresSessionBackend(vertx, clock, new SessionConfig().getBackendTimeout(), false, options);
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(
                Capability.SERVER_SIDE,
                Capability.PER_KEY_MERGE,
                Capability.ATOMIC_UPDATE,
                Capability.SHARED,
                Capability.USER_INDEX);
    }

    /**
     * Creates the table and its indexes if missing, checks the table's columns (and so the connection), adds the
     * anonymous column to a table of an earlier version, counts the live rows (with max_sessions), then starts the
     * sweeper. A failure closes the pool and fails with a {@link SessionStoreUnavailableException} naming the
     * database and the cause.
     */
    @Override
    public Future<Void> start(BackendRecorder recorder) {
        this.recorder = recorder;
        return pool.withTransaction(connection -> connection
                        .preparedQuery(sql.lock)
                        .execute(Tuple.of("vertx-sessions:" + options.table()))
                        .compose(locked -> connection.query(sql.createTable).execute())
                        .compose(created -> connection.query(sql.checkColumns).execute())
                        .compose(checked -> connection
                                .preparedQuery(sql.findAnonymousColumn)
                                .execute(Tuple.of(options.table())))
                        // Only when missing: ALTER TABLE locks out every reader for a moment.
                        .compose(found -> found.size() > 0
                                ? Future.succeededFuture()
                                : connection.query(sql.addAnonymousColumn).execute())
                        .compose(added ->
                                connection.query(sql.createAnonymousIndex).execute())
                        .compose(indexed ->
                                connection.query(sql.createPrincipalIndex).execute())
                        .compose(indexed -> invalidations != null
                                ? connection.query(sql.nearCacheTrigger).execute()
                                : Future.succeededFuture())
                        .compose(indexed -> options.isBounded() ? countLive(connection) : Future.succeededFuture()))
                .<Void>mapEmpty()
                .onSuccess(started -> startSweeper())
                .recover(e -> close().transform(released -> Future.failedFuture(new SessionStoreUnavailableException(
                        database + " could not be used for sessions (table " + options.table() + "): " + e.getMessage(),
                        e))));
    }

    /**
     * Returns the near cache's channel: a trigger NOTIFYs every row written or deleted, and one connection LISTENs
     * ({@link PostgresInvalidations}); null when near_cache is off.
     */
    @Override
    public SessionInvalidations invalidations() {
        return invalidations;
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

    /**
     * Applies the change set in one statement: UPDATE (loaded session), upsert (new session) or move (regenerate),
     * within the write's deadline. A key or string value holding U+0000 fails at once, before any I/O.
     */
    @Override
    public Future<Boolean> save(SessionChanges changes) {
        SessionException unstorable = unstorable(changes);
        if (unstorable != null) {
            return Future.failedFuture(unstorable);
        }
        // $1..$8 mean the same in the three statements; the merge expressions (Statements.mergedData) use $2..$5.
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
                                : (int) changes.perSessionExpiry().toSeconds())
                .addBoolean(changes.isAnonymous());
        String statement;
        String previousId = changes.previousId();
        boolean mayAdd = changes.isNew(); // insert and move return whether they added a row; an UPDATE never does
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
        Counts counts = new Counts();
        return write(
                "save a session",
                counts,
                connection -> admit(connection, changes, counts)
                        .compose(admitted -> limitBefore(connection, changes))
                        .compose(checked -> connection.preparedQuery(statement).execute(args))
                        .map(rows -> {
                            if (mayAdd
                                    && rows.size() > 0
                                    && rows.iterator().next().getBoolean("added")) {
                                counts.added++;
                            }
                            return rows.rowCount() > 0;
                        })
                        .compose(stored -> stored
                                ? limitAfter(connection, changes, counts).map(true)
                                : Future.succeededFuture(false)));
    }

    // ------------------------------------------------------------------ the user index

    /*
     * The index from a principal to its sessions is an expression index on the principal's data key
     * (ReservedKeys' "__vertx-sessions.principal"), so it changes in the same statement as the row: it can never
     * hold a session that is gone. max_sessions_per_user is enforced in the transaction of the save that makes a
     * session its principal's (a login: the principal set, or a move), under an advisory lock of that principal, so
     * parallel logins of one user are counted one after the other.
     */

    /** Returns whether {@code changes} makes a session its principal's under a limit: the saves the limit checks. */
    private static boolean limited(SessionChanges changes) {
        return changes.maxSessionsPerUser() > 0
                && changes.principal() != null
                && (changes.previousId() != null || changes.changed().containsKey(BaseSessionInterface.PRINCIPAL_KEY));
    }

    /** Before a limited save: takes the principal's lock and, with the refuse policy, refuses a save past the limit. */
    private Future<Void> limitBefore(SqlConnection connection, SessionChanges changes) {
        if (!limited(changes)) {
            return Future.succeededFuture();
        }
        return connection
                .preparedQuery(sql.lock)
                .execute(Tuple.of("vertx-sessions-user:" + options.table() + ":" + changes.principal()))
                .compose(locked -> changes.refuseOverLimit()
                        ? othersOf(connection, changes)
                                .compose(others -> others.size() >= changes.maxSessionsPerUser()
                                        ? Future.failedFuture(new SessionLimitException(changes.principal()
                                                + " already holds " + others.size()
                                                + " sessions (max_sessions_per_user "
                                                + changes.maxSessionsPerUser() + "); the login was refused"))
                                        : Future.succeededFuture())
                        : Future.succeededFuture());
    }

    /** After a limited save (end_oldest): deletes the principal's sessions that expire first, past the limit. */
    private Future<Void> limitAfter(SqlConnection connection, SessionChanges changes, Counts counts) {
        if (!limited(changes) || changes.refuseOverLimit()) {
            return Future.succeededFuture();
        }
        return othersOf(connection, changes).compose(others -> {
            int over = others.size() + 1 - changes.maxSessionsPerUser();
            if (over <= 0) {
                return Future.succeededFuture();
            }
            String[] ended = others.subList(0, over).toArray(String[]::new);
            return connection
                    .preparedQuery(sql.deleteIds)
                    .execute(Tuple.of(ended))
                    .map(rows -> {
                        counts.removed += rows.rowCount();
                        counts.endedByLimit(changes.principal(), ended);
                        return null;
                    });
        });
    }

    /** Returns the IDs of the principal's other live sessions, the one that expires first first. */
    private Future<List<String>> othersOf(SqlConnection connection, SessionChanges changes) {
        String[] excluded = changes.previousId() == null
                ? new String[] {changes.id()}
                : new String[] {changes.id(), changes.previousId()};
        return connection
                .preparedQuery(sql.othersOf)
                .execute(Tuple.of(changes.principal(), timestamp(clock.millis()), excluded))
                .map(rows -> {
                    List<String> ids = new ArrayList<>();
                    rows.forEach(row -> ids.add(row.getString("id")));
                    return ids;
                });
    }

    /** Counts the live rows (one count(*) over the expiry index). */
    @Override
    public Future<Long> countSessions() {
        return countLive(pool).recover(e -> Future.failedFuture(failure("count the sessions", e)));
    }

    @Override
    public Future<List<SessionInfo>> sessionsOf(String principal) {
        return pool.preparedQuery(sql.sessionsOf)
                .execute(Tuple.of(principal, timestamp(clock.millis())))
                .recover(e -> Future.failedFuture(failure("list a user's sessions", e)))
                .map(rows -> {
                    List<SessionInfo> sessions = new ArrayList<>();
                    rows.forEach(row -> sessions.add(new SessionInfo(
                            row.getString("id"),
                            principal,
                            row.getOffsetDateTime("created_at").toInstant().toEpochMilli(),
                            row.getOffsetDateTime("expires_at").toInstant().toEpochMilli())));
                    return sessions;
                });
    }

    @Override
    public Future<List<String>> deleteSessionsOf(String principal, String exceptId) {
        Counts counts = new Counts();
        return write(
                "end a user's sessions",
                counts,
                connection -> connection
                        .preparedQuery(sql.deleteSessionsOf)
                        .execute(Tuple.of(principal, exceptId))
                        .map(rows -> {
                            List<String> ids = new ArrayList<>();
                            rows.forEach(row -> ids.add(row.getString("id")));
                            counts.removed += ids.size();
                            return ids;
                        }));
    }

    @Override
    public Future<Void> delete(String id) {
        Counts counts = new Counts();
        return write(
                        "delete a session",
                        counts,
                        connection -> connection
                                .preparedQuery(sql.delete)
                                .execute(Tuple.of(id))
                                .map(rows -> counts.removed += rows.rowCount()))
                .mapEmpty();
    }

    /**
     * Runs {@code update} on the key's stored value inside a transaction that holds the row lock, within the
     * write's deadline. A key holding U+0000 fails at once; a result holding it fails and changes nothing.
     */
    @Override
    public Future<Object> update(SessionChanges session, String key, UnaryOperator<Object> update) {
        if (hasNul(key)) {
            return Future.failedFuture(new SessionException(KEY_WITH_NUL));
        }
        OffsetDateTime now = timestamp(session.savedAtMillis());
        OffsetDateTime expiresAt = timestamp(session.expiresAtMillis());
        Counts counts = new Counts();
        return write(
                "update a session",
                counts,
                connection -> createIfNew(connection, session, counts)
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
                                // Reported as it is, not as a store failure; the transaction rolls back.
                                return Future.failedFuture(new FunctionFailure(e));
                            }
                            if (containsNul(value)) {
                                return Future.failedFuture(new SessionException(valueWithNul(key)));
                            }
                            Tuple args = value == null
                                    ? Tuple.of(session.id(), key, expiresAt)
                                    : Tuple.of(session.id(), key, expiresAt, new JsonObject().put(key, value));
                            return connection
                                    .preparedQuery(value == null ? sql.removeKey : sql.setKey)
                                    .execute(args)
                                    .map(value);
                        }));
    }

    /**
     * Runs {@code statements} in a transaction that PostgreSQL cancels when the write's time is up, and commits only
     * while time is left (see Deadline). Applies {@code counts} to the session count once committed.
     */
    private <T> Future<T> write(String action, Counts counts, Function<SqlConnection, Future<T>> statements) {
        long calledAt = System.nanoTime();
        return pool.getConnection()
                .recover(e -> Future.failedFuture(failure(action, e)))
                .compose(connection -> {
                    long waited = millisSince(calledAt);
                    long left = writeBudgetMillis - waited;
                    if (left < 1) {
                        return connection.close().transform(closed -> Future.failedFuture(noTimeLeft(action, waited)));
                    }
                    // SET LOCAL goes out without waiting for BEGIN's reply (the client pipelines them): it adds no
                    // round trip. If BEGIN failed, SET LOCAL did nothing and no statement is sent.
                    Future<Transaction> begun = connection.begin();
                    Future<RowSet<Row>> limited = connection
                            .query("SET LOCAL statement_timeout = " + left)
                            .execute();
                    return Future.all(begun, limited)
                            .compose(started -> statements.apply(connection))
                            .compose(result -> millisSince(calledAt) < writeBudgetMillis
                                    ? begun.result().commit().map(result)
                                    : Future.failedFuture(late(action, left, null)))
                            .recover(e -> rollback(begun).transform(rolledBack -> Future.failedFuture(e)))
                            .eventually(connection::close)
                            .recover(e -> Future.failedFuture(writeFailure(action, left, e)));
                })
                .onSuccess(written -> counts.applyTo(this));
    }

    /** Rolls back the transaction {@code begun} started, if it started and is still open. */
    private static Future<Void> rollback(Future<Transaction> begun) {
        return begun.succeeded()
                ? begun.result().rollback().recover(e -> Future.succeededFuture())
                : Future.succeededFuture();
    }

    /** Returns the failure to report for a write that ran with {@code left} ms of its budget. */
    private Throwable writeFailure(String action, long left, Throwable cause) {
        if (cause instanceof FunctionFailure function) {
            return function.getCause();
        }
        if (cause instanceof PgException error && QUERY_CANCELED.equals(error.getSqlState())) {
            return late(action, left, cause); // statement_timeout
        }
        return failure(action, cause);
    }

    private SessionStoreUnavailableException late(String action, long left, Throwable cause) {
        return new SessionStoreUnavailableException(
                database + " did not " + action + " within the " + left + " ms left of backend_timeout_ms ("
                        + backendTimeoutMillis + " ms): another transaction held the row, or the server was slow;"
                        + " nothing was written",
                cause);
    }

    private SessionStoreUnavailableException noTimeLeft(String action, long waited) {
        return new SessionStoreUnavailableException(
                database + ": no time was left of backend_timeout_ms (" + backendTimeoutMillis + " ms) to " + action
                        + " after waiting " + waited + " ms for a connection (pool_size " + options.poolSize()
                        + "); nothing was sent",
                null);
    }

    /**
     * With max_sessions, makes room for a new session before it is written (see Bound): deletes the anonymous
     * sessions least recently written if the count says the table is full, and refuses when it really is.
     */
    private Future<Void> admit(SqlConnection connection, SessionChanges changes, Counts counts) {
        long over = sessionCount.get() + 1 - options.maxSessions();
        if (!changes.isNew() || !options.isBounded() || over <= 0) {
            return Future.succeededFuture();
        }
        String[] spared = changes.previousId() == null
                ? new String[] {changes.id()}
                : new String[] {changes.id(), changes.previousId()};
        // One write evicts at most a batch; far over the bound (it was lowered), the sweeper trims the rest.
        long wanted = Math.min(over, SWEEP_BATCH);
        return evict(connection, spared, wanted).compose(evicted -> {
            counts.evicted += evicted;
            if (evicted == wanted) {
                return Future.succeededFuture();
            }
            // Too few anonymous rows for what this instance counted: other instances may have deleted rows since.
            return countLive(connection).compose(live -> {
                sessionCount.set(live + evicted); // the evictions are taken off once committed
                return live < options.maxSessions()
                        ? Future.succeededFuture()
                        : Future.failedFuture(new SessionStoreUnavailableException(
                                "session table " + options.table() + " is full: " + PostgresSessionOptions.JSON_KEY
                                        + ".max_sessions (" + options.maxSessions() + ") is reached and no anonymous"
                                        + " session is left to evict; raise the limit",
                                null));
            });
        });
    }

    /** Deletes up to {@code limit} anonymous sessions, least recently written first, except {@code spared}. */
    private Future<Integer> evict(SqlClient client, String[] spared, long limit) {
        return client.preparedQuery(sql.evict)
                .execute(Tuple.tuple().addArrayOfString(spared).addInteger((int) limit))
                .map(RowSet::rowCount);
    }

    /** Counts the live rows, and keeps the count. */
    private Future<Long> countLive(SqlClient client) {
        return client.preparedQuery(sql.countLive)
                .execute(Tuple.of(timestamp(clock.millis())))
                .map(rows -> {
                    long live = rows.iterator().next().getLong("live");
                    sessionCount.set(live);
                    return live;
                });
    }

    /**
     * Deletes expired rows in batches and completes with how many; with max_sessions, then counts the live rows and
     * evicts anonymous sessions down to the bound. Runs every sweep_interval; tests call it directly.
     */
    Future<Integer> sweep() {
        if (closed.get() || !sweeping.compareAndSet(false, true)) {
            return Future.succeededFuture(0);
        }
        return sweepFrom(0)
                .compose(expired -> options.isBounded()
                        ? countLive(pool)
                                .compose(live -> trim(live - options.maxSessions()))
                                .map(expired)
                        : Future.succeededFuture(expired))
                .andThen(done -> sweeping.set(false));
    }

    /** Evicts {@code over} anonymous sessions, in batches, least recently written first. */
    private Future<Void> trim(long over) {
        if (over <= 0 || closed.get()) {
            return Future.succeededFuture();
        }
        long batch = Math.min(over, SWEEP_BATCH);
        return evict(pool, new String[0], batch).compose(evicted -> {
            sessionCount.addAndGet(-evicted);
            recordEvictions(evicted);
            return evicted == batch ? trim(over - evicted) : Future.succeededFuture();
        });
    }

    private void recordEvictions(int evicted) {
        for (int i = 0; i < evicted; i++) {
            recorder.recordEviction();
        }
    }

    private Future<Integer> sweepFrom(int deletedSoFar) {
        return pool.preparedQuery(sql.sweep)
                .execute(Tuple.of(timestamp(clock.millis())))
                .compose(rows -> {
                    int deleted = rows.rowCount();
                    if (deleted > 0) {
                        recorder.recordSweeperDeletions(deleted);
                    }
                    rows.forEach(row -> recorder.reportExpired(row.getString("id"), row.getString("principal")));
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
    private Future<?> createIfNew(SqlConnection connection, SessionChanges session, Counts counts) {
        if (!session.isNew()) {
            return Future.succeededFuture();
        }
        return admit(connection, session, counts)
                .compose(admitted -> connection
                        .preparedQuery(sql.createEmpty)
                        .execute(Tuple.of(
                                session.id(),
                                timestamp(session.createdAtMillis()),
                                timestamp(session.expiresAtMillis()),
                                session.perSessionExpiry() == null
                                        ? null
                                        : (int) session.perSessionExpiry().toSeconds(),
                                session.isAnonymous())))
                .map(rows -> counts.added += rows.rowCount());
    }

    /** Returns why PostgreSQL would refuse to store the change set (U+0000 in a key or a string), or null. */
    private static SessionException unstorable(SessionChanges changes) {
        for (String key : changes.data().keySet()) {
            if (hasNul(key)) {
                return new SessionException(KEY_WITH_NUL);
            }
        }
        for (String key : changes.removed()) {
            if (hasNul(key)) {
                return new SessionException(KEY_WITH_NUL);
            }
        }
        for (Map.Entry<String, Object> entry : changes.changed().entrySet()) {
            if (hasNul(entry.getKey())) {
                return new SessionException(KEY_WITH_NUL);
            }
            if (containsNul(entry.getValue())) {
                return new SessionException(valueWithNul(entry.getKey()));
            }
        }
        return null;
    }

    /** Never quotes the value: it may be a secret. */
    private static String valueWithNul(String key) {
        return "session value of key '" + key + "' contains U+0000, which PostgreSQL jsonb cannot store";
    }

    private static boolean hasNul(String text) {
        return text.indexOf('\u0000') >= 0;
    }

    /** Returns whether a string in {@code value}, an object key or a value at any depth, holds U+0000. */
    private static boolean containsNul(Object value) {
        if (value instanceof String text) {
            return hasNul(text);
        }
        if (value instanceof JsonObject json) {
            return containsNul(json.getMap());
        }
        if (value instanceof JsonArray array) {
            return containsNul(array.getList());
        }
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (containsNul(entry.getKey()) || containsNul(entry.getValue())) {
                    return true;
                }
            }
        } else if (value instanceof Iterable<?> items) {
            for (Object item : items) {
                if (containsNul(item)) {
                    return true;
                }
            }
        }
        return false;
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

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private static OffsetDateTime timestamp(long epochMillis) {
        return OffsetDateTime.ofInstant(Instant.ofEpochMilli(epochMillis), ZoneOffset.UTC);
    }

    private static long millis(OffsetDateTime timestamp) {
        return timestamp.toInstant().toEpochMilli();
    }

    /** What one write changed in the number of rows; applied to the session count once it committed. */
    private static final class Counts {
        int added;
        int removed;
        int evicted;

        /** Sessions the limit ended, reported once the transaction committed. */
        private String principal;

        private String[] endedByLimit = new String[0];

        void endedByLimit(String principal, String[] ids) {
            this.principal = principal;
            this.endedByLimit = ids;
        }

        void applyTo(PostgresSessionBackend backend) {
            backend.sessionCount.addAndGet((long) added - removed - evicted);
            backend.recordEvictions(evicted);
            for (String id : endedByLimit) {
                backend.recorder.reportEndedByLimit(id, principal);
            }
        }
    }

    /** Carries an exception of update()'s function through the write, to be reported as it is. */
    private static final class FunctionFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FunctionFailure(RuntimeException cause) {
            super(cause);
        }
    }

    /** The SQL of one table, built once. The table name was checked to be a plain identifier. */
    static final class Statements {

        final String createTable;
        final String checkColumns;
        final String findAnonymousColumn;
        final String addAnonymousColumn;
        final String createAnonymousIndex;
        final String countLive;
        final String evict;
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
        final String createPrincipalIndex;
        final String sessionsOf;
        final String othersOf;
        final String deleteIds;
        final String deleteSessionsOf;
        final String channel;
        final String nearCacheTrigger;

        Statements(String table) {
            String name = table.substring(table.indexOf('.') + 1);
            String schema = table.indexOf('.') < 0 ? "" : table.substring(0, table.indexOf('.') + 1);
            String index = name + "_expires_at_idx";
            // Without the SET, every start after the first logs two "already exists, skipping" notices as warnings.
            createTable = "SET LOCAL client_min_messages = warning;\n"
                    + "CREATE TABLE IF NOT EXISTS " + table + " (\n"
                    + "  id text PRIMARY KEY,\n"
                    + "  data jsonb NOT NULL DEFAULT '{}',\n"
                    + "  key_order text[] NOT NULL DEFAULT '{}',\n"
                    + "  created_at timestamptz NOT NULL,\n"
                    + "  expires_at timestamptz NOT NULL,\n"
                    + "  per_session_expiry_s integer CHECK (per_session_expiry_s > 0),\n"
                    + "  anonymous boolean NOT NULL DEFAULT false\n"
                    + ");\n"
                    + "CREATE INDEX IF NOT EXISTS " + index + " ON " + table + " (expires_at)";
            checkColumns = "SELECT id, data, key_order, created_at, expires_at, per_session_expiry_s FROM " + table
                    + " LIMIT 0";
            // Tables created by the version before max_sessions: their rows count as promoted (never evicted).
            findAnonymousColumn = "SELECT FROM pg_attribute WHERE attrelid = $1::text::regclass"
                    + " AND attname = 'anonymous' AND NOT attisdropped";
            addAnonymousColumn =
                    "ALTER TABLE " + table + " ADD COLUMN IF NOT EXISTS anonymous boolean NOT NULL DEFAULT false";
            createAnonymousIndex = "CREATE INDEX IF NOT EXISTS " + name + "_anonymous_idx ON " + table
                    + " (expires_at) WHERE anonymous";
            countLive = "SELECT count(*) AS live FROM " + table + " WHERE expires_at > $1";
            // $1 IDs never evicted (the session being written, the one it moves from), $2 how many at most.
            evict = "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table
                    + " WHERE anonymous AND id <> ALL($1::text[]) ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)";
            load = "SELECT data::text AS data, key_order, created_at, expires_at, per_session_expiry_s FROM " + table
                    + " WHERE id = $1";

            // $1 id, $2 changed (jsonb), $3 removed keys, $4 keys to order by (and, when cleared, to keep), $5 cleared,
            // $6 expires_at, $7 per_session_expiry_s (NULL keeps the stored one), $8 anonymous (a row once promoted
            // stays promoted), then one per statement:
            // a loaded session: $9 now; the row must exist and be live, or nothing is written.
            update = "UPDATE " + table + " AS s SET data = " + mergedData("s") + ", key_order = " + mergedKeyOrder("s")
                    + ", expires_at = $6, per_session_expiry_s = coalesce($7::integer, s.per_session_expiry_s),"
                    + " anonymous = s.anonymous AND $8 WHERE s.id = $1 AND s.expires_at > $9";
            // a new session: $9 created_at. It merges into a row that an update() of this new session created;
            // "added" says whether it inserted one (xmax is 0 only in a row version that an INSERT wrote).
            insert = "INSERT INTO " + table
                    + " AS s (id, data, key_order, created_at, expires_at, per_session_expiry_s, anonymous)"
                    + " SELECT $1, " + mergedData("e") + ", " + mergedKeyOrder("e") + ", $9, $6, $7::integer, $8"
                    + " FROM (SELECT '{}'::jsonb AS data, '{}'::text[] AS key_order) e"
                    + " ON CONFLICT (id) DO UPDATE SET data = " + mergedData("s") + ", key_order = "
                    + mergedKeyOrder("s")
                    + ", expires_at = $6, per_session_expiry_s = coalesce($7::integer, s.per_session_expiry_s),"
                    + " anonymous = s.anonymous AND $8 RETURNING s.xmax = 0 AS added";
            // regenerate: $9 now, $10 previous ID, $11 created_at and $12 isNew (a new session starts from nothing,
            // and then "added" is true).
            move = "WITH moved AS (DELETE FROM " + table + " WHERE id = $10 AND expires_at > $9"
                    + " RETURNING data, key_order, created_at, per_session_expiry_s, anonymous),"
                    + " source AS (SELECT * FROM moved UNION ALL SELECT '{}'::jsonb, '{}'::text[], $11::timestamptz,"
                    + " NULL::integer, true WHERE $12::boolean AND NOT EXISTS (SELECT FROM moved))"
                    + " INSERT INTO " + table
                    + " (id, data, key_order, created_at, expires_at, per_session_expiry_s, anonymous)"
                    + " SELECT $1, " + mergedData("m") + ", " + mergedKeyOrder("m") + ", m.created_at, $6,"
                    + " coalesce($7::integer, m.per_session_expiry_s), m.anonymous AND $8 FROM source m"
                    + " ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, key_order = EXCLUDED.key_order,"
                    + " created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,"
                    + " per_session_expiry_s = EXCLUDED.per_session_expiry_s, anonymous = EXCLUDED.anonymous"
                    + " RETURNING NOT EXISTS (SELECT FROM moved) AS added";
            delete = "DELETE FROM " + table + " WHERE id = $1";

            createEmpty = "INSERT INTO " + table + " (id, created_at, expires_at, per_session_expiry_s, anonymous)"
                    + " VALUES ($1, $2, $3, $4::integer, $5) ON CONFLICT (id) DO NOTHING";
            lockKey = "SELECT (data -> $2::text)::text AS value FROM " + table
                    + " WHERE id = $1 AND expires_at > $3 FOR UPDATE";
            setKey = "UPDATE " + table + " SET data = data || $4::jsonb,"
                    + " key_order = CASE WHEN $2::text = ANY(key_order) THEN key_order ELSE key_order || $2::text END,"
                    + " expires_at = greatest(expires_at, $3) WHERE id = $1";
            removeKey =
                    "UPDATE " + table + " SET data = data - $2::text, key_order = array_remove(key_order, $2::text),"
                            + " expires_at = greatest(expires_at, $3) WHERE id = $1";

            sweep = "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table + " WHERE expires_at <= $1"
                    + " LIMIT " + SWEEP_BATCH + " FOR UPDATE SKIP LOCKED)"
                    + " RETURNING id, data ->> '" + BaseSessionInterface.PRINCIPAL_KEY + "' AS principal";

            // The user index: an expression index on the principal's data key, maintained with the row.
            String principal = "(data ->> '" + BaseSessionInterface.PRINCIPAL_KEY + "')";
            createPrincipalIndex = "CREATE INDEX IF NOT EXISTS " + name + "_principal_idx ON " + table + " ("
                    + principal + ", expires_at) WHERE " + principal + " IS NOT NULL";
            // $1 principal, $2 now
            sessionsOf = "SELECT id, created_at, expires_at FROM " + table + " WHERE " + principal + " = $1"
                    + " AND expires_at > $2 ORDER BY expires_at, id";
            // $1 principal, $2 now, $3 IDs left out (the session being saved, the one it moves from)
            othersOf = "SELECT id FROM " + table + " WHERE " + principal + " = $1 AND expires_at > $2"
                    + " AND id <> ALL($3::text[]) ORDER BY expires_at, id FOR UPDATE";
            deleteIds = "DELETE FROM " + table + " WHERE id = ANY($1::text[])";
            // $1 principal, $2 the ID kept (or NULL)
            deleteSessionsOf = "DELETE FROM " + table + " WHERE " + principal + " = $1"
                    + " AND ($2::text IS NULL OR id <> $2::text) RETURNING id";

            // The near cache (PostgresInvalidations). A channel name has at most 63 bytes: the schema is left out
            // when it does not fit, and a same-named table of another schema then shares the channel, which costs
            // needless invalidations, never a stale read.
            channel = (table.length() + NEAR_CACHE.length() <= 63 ? table : name) + NEAR_CACHE;
            String function = schema + name + NEAR_CACHE;
            String notify = "PERFORM pg_notify('" + channel + "', CASE WHEN octet_length(payload) < 8000"
                    + " THEN payload ELSE '" + PostgresInvalidations.EVERYTHING + "' END);\n";
            // Each only when missing, like the indexes: a start needs no ownership of what a DBA created, and
            // CREATE OR REPLACE TRIGGER would need PostgreSQL 14.
            nearCacheTrigger = "DO $do$ BEGIN\n"
                    + "IF to_regprocedure('" + function + "()') IS NULL THEN\n"
                    + "CREATE FUNCTION " + function + "() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                    + "  DECLARE payload text;\n"
                    + "  BEGIN\n"
                    + "    IF TG_OP = 'TRUNCATE' THEN\n"
                    + "      PERFORM pg_notify('" + channel + "', '" + PostgresInvalidations.EVERYTHING + "');\n"
                    + "      RETURN NULL;\n"
                    + "    END IF;\n"
                    + "    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.id IS DISTINCT FROM NEW.id) THEN\n"
                    + "      payload := OLD.id || ' ';\n"
                    + "      " + notify
                    + "    END IF;\n"
                    + "    IF TG_OP <> 'DELETE' THEN\n"
                    + "      payload := NEW.id || ' ' || coalesce(NEW.data ->> '" + VERSION_KEY + "', '');\n"
                    + "      " + notify
                    + "    END IF;\n"
                    + "    RETURN NULL;\n"
                    + "  END\n"
                    + "$fn$;\n"
                    + "END IF;\n"
                    + "IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = '" + table + "'::regclass"
                    + " AND tgname = '" + name + NEAR_CACHE + "') THEN\n"
                    + "  CREATE TRIGGER " + name + NEAR_CACHE + " AFTER INSERT OR UPDATE OR DELETE ON " + table
                    + " FOR EACH ROW EXECUTE FUNCTION " + function + "();\n"
                    + "END IF;\n"
                    + "IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = '" + table + "'::regclass"
                    + " AND tgname = '" + name + NEAR_CACHE + "_truncate') THEN\n"
                    + "  CREATE TRIGGER " + name + NEAR_CACHE + "_truncate AFTER TRUNCATE ON " + table
                    + " FOR EACH STATEMENT EXECUTE FUNCTION " + function + "();\n"
                    + "END IF;\n"
                    + "END $do$";
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
