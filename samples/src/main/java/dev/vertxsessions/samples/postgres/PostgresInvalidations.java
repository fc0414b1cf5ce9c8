package dev.vertxsessions.samples.postgres;

import dev.vertxsessions.InvalidationMarkers;
import dev.vertxsessions.SessionInvalidations;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.PgNotification;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.lang.System.Logger.Level;

/*
 * How the near cache hears of every write to the session table: LISTEN/NOTIFY.
 *
 * Reports. A trigger on the table (PostgresSessionBackend.Statements.nearCacheTrigger), created at start-up by an
 * instance with near_cache on and kept afterwards, calls pg_notify(channel, '<id> <version>') for every row an
 * INSERT, UPDATE or DELETE touches; the version is read from the row the write left (data ->>
 * '__vertx-sessions.version'), empty for a deleted row. A trigger rather than a pg_notify added to each statement
 * of the backend: it reports every writer of the table alike (saves, moves, atomic updates, deletes, user-index
 * deletions, evictions, sweeps, but also an instance with near_cache off, an older version of the application, an
 * operator's psql), so no write goes unreported because one statement forgot. NOTIFY is transactional: a
 * transaction's reports are delivered when it commits and never when it rolls back, and PostgreSQL delivers the
 * notifications of different transactions in the order they committed, the order their writes became visible.
 * A TRUNCATE reports "*", and so does a payload that NOTIFY's 8000 bytes could not carry (an ID written by hand):
 * everything cached is suspect (lost()). Within one transaction PostgreSQL drops a notification equal to an earlier
 * one; no transaction writes a row back to a version it held earlier in that transaction, so a row's last report
 * is still its state at commit. The price: PostgreSQL serialises the commits of notifying transactions (a lock on
 * the whole server, held until the commit is flushed), so session writes commit one at a time (README, limits).
 *
 * Listening. One connection of its own (never from the pool) runs LISTEN and stays idle: PostgreSQL sends a
 * session's notifications only between its transactions. When it closes (a restart, a network failure,
 * pg_terminate_backend), its close handler reports lost() at once, before any report of the next connection can
 * exist, and a new connection is opened after RETRY_MILLIS, again until one connects. Not PgSubscriber: in
 * vertx-pg-client 5.0 it tells of a lost connection only through its reconnect policy, and stops for good when its
 * first connection fails; three handlers on one PgConnection do what this needs.
 *
 * sync(). A marker "~<token>" (InvalidationMarkers) is NOTIFYed through the pool, in its own transaction, and comes back on this
 * connection after the reports of every transaction that committed before it. It is sent only once the current
 * connection's LISTEN has completed (a marker committed before would never come back). One that is not back within
 * backend_timeout_ms fails sync() and closes the connection, which reports lost() and reconnects: a connection that
 * stopped delivering is not trusted again.
 */

/**
 * The PostgreSQL backend's invalidation channel for the near cache ({@code near_cache}): a trigger on the session
 * table NOTIFYs {@code "<id> <version>"} for every row written or deleted, and one dedicated connection LISTENs.
 * {@link #sync()} NOTIFYs a marker through the pool and completes when it comes back. A lost connection is reported
 * ({@code lost()}) before anything else and reopened by itself. Thread-safe; never blocks.
 */
final class PostgresInvalidations implements SessionInvalidations {

    private static final System.Logger LOG = System.getLogger(PostgresInvalidations.class.getName());

    /** How long after a lost or failed connection the next one is opened. */
    static final long RETRY_MILLIS = 200;

    /** The payload that says "any session may have changed" (TRUNCATE, a payload too long for NOTIFY). */
    static final String EVERYTHING = "*";

    private static final String NOTIFY = "SELECT pg_notify($1, $2)";

    private final Vertx vertx;
    private final PgConnectOptions connectOptions;
    private final SqlClient pool;
    private final String channel;
    private final String database;
    private final long timeoutMillis;
    private final InvalidationMarkers markers;

    private volatile Listener listener;
    /** The open connection, listening or about to; changed under this. */
    private PgConnection connection;
    /** The connection whose LISTEN completed, while it is open: markers are sent only then. */
    private volatile PgConnection listening;

    private volatile boolean closed;

    /**
     * Creates the channel {@code channel} of the database {@code connectOptions} names; markers go through
     * {@code pool} and fail after {@code timeoutMillis}. {@code database} names it in log lines and messages.
     */
    PostgresInvalidations(
            Vertx vertx,
            PgConnectOptions connectOptions,
            SqlClient pool,
            String channel,
            String database,
            long timeoutMillis) {
        this.vertx = vertx;
        this.connectOptions = new PgConnectOptions(connectOptions).setCachePreparedStatements(false);
        this.pool = pool;
        this.channel = channel;
        this.database = database;
        this.timeoutMillis = timeoutMillis;
        this.markers = new InvalidationMarkers(vertx, timeoutMillis);
    }

    /** Returns the channel the trigger NOTIFYs. */
    String channel() {
        return channel;
    }

    /**
     * Connects and LISTENs; completes once listening, and fails when this first attempt fails (it is tried again
     * after {@link #RETRY_MILLIS} all the same, so an application starts while PostgreSQL is down).
     */
    @Override
    public Future<Void> start(Listener listener) {
        this.listener = listener;
        return connect();
    }

    private Future<Void> connect() {
        if (closed) {
            return Future.succeededFuture();
        }
        Future<PgConnection> connecting = PgConnection.connect(vertx, connectOptions);
        connecting.onFailure(e -> {
            LOG.log(
                    Level.DEBUG,
                    "near cache: cannot connect to " + database + " to LISTEN (" + e.getMessage()
                            + "); trying again in " + RETRY_MILLIS + " ms");
            retryLater();
        });
        return connecting.compose(this::listen);
    }

    private Future<Void> listen(PgConnection conn) {
        synchronized (this) {
            if (closed) {
                conn.close();
                return Future.succeededFuture();
            }
            connection = conn;
        }
        conn.notificationHandler(this::heard);
        conn.exceptionHandler(e -> LOG.log(Level.DEBUG, "near cache: the LISTEN connection failed: " + e));
        conn.closeHandler(v -> dropped(conn, "closed"));
        // The channel is a checked table name and a suffix (PostgresSessionBackend.Statements): nothing to escape.
        return conn.query("LISTEN \"" + channel + "\"")
                .execute()
                .<Void>map(rows -> {
                    synchronized (this) {
                        if (connection == conn) {
                            listening = conn;
                        }
                    }
                    return null;
                })
                .onFailure(e -> conn.close()); // the close handler reports it and connects again
    }

    private void heard(PgNotification notification) {
        if (!channel.equals(notification.getChannel())) {
            return;
        }
        String payload = notification.getPayload();
        Listener current = listener;
        if (EVERYTHING.equals(payload)) {
            if (current != null) {
                current.lost();
            }
            return;
        }
        markers.handle(payload, current);
    }

    /**
     * NOTIFYs a marker through the pool; completes when it comes back, after the reports of every transaction that
     * committed before it. Fails at once while the connection is not listening, and after the backend's timeout
     * (the connection is then closed and opened again).
     */
    @Override
    public Future<Void> sync() {
        PgConnection conn = listening;
        if (conn == null) {
            return Future.failedFuture(new SessionStoreUnavailableException("the near cache's channel is down", null));
        }
        return markers.send(
                token -> pool.preparedQuery(NOTIFY).execute(Tuple.of(channel, "~" + token)), token -> suspect(conn));
    }

    /** Closes a connection that lost a marker; its close handler reports the loss and connects again. */
    private void suspect(PgConnection conn) {
        if (listening == conn) {
            LOG.log(
                    Level.DEBUG,
                    "near cache: a marker did not come back within " + timeoutMillis + " ms; reconnecting");
            conn.close();
        }
    }

    private void dropped(PgConnection conn, String why) {
        synchronized (this) {
            if (connection != conn) {
                return; // closed by close(), or already handled
            }
            connection = null;
            listening = null;
        }
        LOG.log(
                Level.DEBUG,
                "near cache: the LISTEN connection to " + database + " " + why + "; connecting again in " + RETRY_MILLIS
                        + " ms");
        lost();
        retryLater();
    }

    /** The connection was lost: reports may have been missed, and no marker in flight can be trusted. */
    private void lost() {
        Listener current = listener;
        if (current != null) {
            current.lost();
        }
        markers.failAll("the near cache's channel was lost");
    }

    private void retryLater() {
        if (!closed) {
            vertx.setTimer(RETRY_MILLIS, t -> connect());
        }
    }

    /** Stops listening: closes the connection and opens no other. */
    @Override
    public Future<Void> close() {
        PgConnection conn;
        synchronized (this) {
            closed = true;
            conn = connection;
            connection = null;
            listening = null;
        }
        markers.failAll("the near cache's channel was closed");
        return conn == null ? Future.succeededFuture() : conn.close();
    }
}
