package dev.vertxsessions.samples.postgres;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Transaction;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Another client's transaction holding row locks on the session table, as an operator's psql session, a batch job
 * or another application instance would: it takes its locks on a connection of its own and ends its transaction
 * when told. Tests use it to keep a backend's write waiting past {@code backend_timeout_ms}.
 */
public final class LockHolder {

    private final Vertx vertx;
    private final PostgresServer postgres;
    private final PgConnection connection;
    private final Transaction transaction;

    private LockHolder(Vertx vertx, PostgresServer postgres, PgConnection connection, Transaction transaction) {
        this.vertx = vertx;
        this.postgres = postgres;
        this.connection = connection;
        this.transaction = transaction;
    }

    /** Opens a transaction and runs {@code sql} in it; returns once the statement has taken its locks. */
    public static LockHolder take(Vertx vertx, PostgresServer postgres, String sql) {
        PgConnection connection = PgConnection.connect(vertx, PgConnectOptions.fromUri(postgres.url()))
                .await();
        Transaction transaction = connection.begin().await();
        connection.query(sql).execute().await();
        return new LockHolder(vertx, postgres, connection, transaction);
    }

    /**
     * Commits (or rolls back) after {@code delay}, closes the connection, and then waits until no other client runs a
     * statement on {@code table}: a write that waited for the locks has then finished, applied or not.
     */
    public Future<Void> releaseAfter(Duration delay, boolean commit, String table) {
        return vertx.timer(delay.toMillis(), TimeUnit.MILLISECONDS)
                .compose(fired -> commit ? transaction.commit() : transaction.rollback())
                .eventually(connection::close)
                .compose(released -> vertx.executeBlocking(() -> {
                    awaitNoStatementOn(table);
                    return null;
                }));
    }

    private void awaitNoStatementOn(String table) throws IOException, InterruptedException {
        for (int i = 0; i < 200; i++) {
            String running = postgres.psql("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    + " AND state = 'active' AND query LIKE '%" + table + "%'");
            if (running.equals("0")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("a statement on " + table + " still runs 10 s after the locks were released");
    }
}
