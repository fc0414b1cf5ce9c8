package dev.vertxsessions.redis;

import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The Redis backend's calls to Redis, each bounded by {@code redis_timeout_ms}. A call made on an event loop is
 * pipelined on that event loop's one connection ({@link EventLoopConnections}); any other call (from a worker or a
 * thread of its own, on Redis Cluster, on a client the application handed in, and a script followed by WAIT)
 * borrows a pooled connection for itself. A call that times out closes its connection's socket (nothing queued on
 * it is sent later; the calls pipelined behind it fail), every script carries its deadline in Redis's clock
 * ({@link RedisClock}) and writes nothing when it starts later, a script whose connection closed under it
 * fails at its own deadline and not before (so it cannot apply after it failed), a read whose connection closed
 * under it, and a call whose connection closed before it was sent, are sent once more on a fresh connection, and
 * with {@link WaitForReplicas} on each script is followed by a WAIT in the same batch. See
 * {@code docs/redis-backend.md}, "Connections", "Timeouts and retries", "Deadlines in Redis's clock" and "WAIT".
 * Thread-safe.
 */
final class GuardedRedisConnection {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    /**
     * For the benchmark only (bench/http.sh's {@code -pooled} servers), not documented: {@code pool} makes every call
     * borrow a pooled connection, as before issue 22, so that the two can be measured side by side.
     */
    static final boolean POOL_ONLY = "pool".equals(System.getProperty("vertx-sessions.redis.connections"));

    private final Vertx vertx;
    private final Redis redis;
    /** Whether the client was created here (and is closed here) rather than handed in by the application. */
    private final boolean ownsClient;
    /** The per-event-loop connections; null where every call borrows from the pool. */
    private final EventLoopConnections eventLoopConnections;

    private final long timeoutMillis;
    private final WaitForReplicas waitForReplicas;
    /** Redis's clock as last sampled; null until the first script, and after a LATE reply. */
    private volatile RedisClock redisClock;

    /**
     * Makes the calls of one store on {@code redis}; {@code perEventLoop} whether calls made on an event loop use
     * that event loop's connection (standalone and Sentinel without autoFailover, on a client created here).
     */
    GuardedRedisConnection(
            Vertx vertx,
            Redis redis,
            boolean ownsClient,
            boolean perEventLoop,
            long timeoutMillis,
            WaitForReplicas waitForReplicas) {
        this.vertx = vertx;
        this.redis = redis;
        this.ownsClient = ownsClient;
        this.eventLoopConnections = perEventLoop ? new EventLoopConnections(redis) : null;
        this.timeoutMillis = timeoutMillis;
        this.waitForReplicas = waitForReplicas;
    }

    /**
     * Returns how many connections the client's pool needs besides {@code redis_pool_size} when calls on event loops
     * hold one each: one per event loop of {@code vertx}.
     */
    static int eventLoopCount(Vertx vertx) {
        int count = 0;
        for (EventExecutor ignored : ((VertxInternal) vertx).nettyEventLoopGroup()) {
            count++;
        }
        return count;
    }

    /**
     * Runs a script (all of them write), bounded by redis_timeout_ms: EVALSHA, and EVAL (which also caches it) when
     * Redis does not know it yet. The script gets this call's deadline in Redis's clock and writes nothing if it
     * starts later; with {@link #waitForReplicas} on, a WAIT follows it on the same connection and the call succeeds
     * only when enough replicas acknowledged. Sent once more on a fresh connection when its connection had closed
     * before it was sent.
     */
    Future<Response> eval(RedisScripts.Call call) {
        RedisScripts.Script script = call.script();
        long startNanos = System.nanoTime();
        Function<RedisConnection, Future<Response>> run =
                connection -> redisClock(connection).compose(clock -> {
                    List<Object> guarded = new ArrayList<>(call.args());
                    guarded.add(Long.toString(clock.deadlineMillis(startNanos, timeoutMillis)));
                    return write(connection, script.request(Command.EVALSHA, call.keys(), guarded))
                            .recover(error -> isNoScript(error)
                                    ? write(connection, script.request(Command.EVAL, call.keys(), guarded))
                                    : Future.failedFuture(error));
                });
        // A script followed by WAIT holds its connection until the replicas answer: on a connection of its own, so
        // that the calls of its event loop do not queue behind the WAIT.
        boolean pipelined = !waitForReplicas.isOn();
        return onOneConnection(run, pipelined, true)
                .recover(error ->
                        isNeverSent(error) ? onOneConnection(run, pipelined, true) : Future.failedFuture(error))
                .transform(ar -> {
                    if (ar.succeeded()) {
                        return Future.succeededFuture(ar.result());
                    }
                    if (isLate(ar.cause())) {
                        // Usually a call that really was late. If Redis's clock stepped, or this server's clock
                        // differs from the one sampled (a new master after a failover), the next call samples it again.
                        redisClock = null;
                    }
                    return Future.failedFuture(failure("run the " + script.name + " script", ar.cause()));
                });
    }

    /**
     * Sends one command (a read: every write is a script), bounded by redis_timeout_ms. A read is idempotent, so
     * when its connection closes under it (a connection that an idle timeout, the server or another call's timeout
     * closed) it is sent once more on a fresh one.
     */
    Future<Response> send(Request request) {
        Function<RedisConnection, Future<Response>> run = connection -> connection.send(request);
        return onOneConnection(run, true, false)
                .recover(error ->
                        isClosedConnection(error) ? onOneConnection(run, true, false) : Future.failedFuture(error));
    }

    /** Hands back the per-event-loop connections, then closes the client if it was created here. */
    Future<Void> close() {
        Future<Void> released = eventLoopConnections == null ? Future.succeededFuture() : eventLoopConnections.close();
        return released.transform(ar -> ownsClient ? redis.close() : Future.succeededFuture());
    }

    /** Turns the cause of a failed call into the exception a request fails with (503), naming {@code what} failed. */
    SessionException failure(String what, Throwable cause) {
        if (cause instanceof SessionException sessionException) {
            return sessionException;
        }
        if (cause instanceof TimeoutException) {
            return new SessionStoreUnavailableException(
                    "Redis did not answer within " + timeoutMillis + " ms (redis_timeout_ms) to " + what, cause);
        }
        if (isClosedConnection(cause)) {
            return new SessionStoreUnavailableException(
                    "the connection to Redis closed before Redis answered to " + what
                            + " (Redis closed it, or another call on it timed out and closed it)",
                    cause);
        }
        if (cause instanceof Response) {
            return new SessionStoreUnavailableException("Redis refused to " + what + ": " + cause.getMessage(), cause);
        }
        return new SessionStoreUnavailableException("Redis could not be reached to " + what + ": " + cause, cause);
    }

    /** Returns whether {@code error} is a Redis error reply of the given kind (e.g. NOSCRIPT). */
    static boolean isRedisError(Throwable error, String kind) {
        // Error replies fail the Future with a Throwable that is also a Response (the client's ErrorType).
        return error instanceof Response
                && error.getMessage() != null
                && error.getMessage().startsWith(kind);
    }

    /**
     * Runs {@code call} on one connection within redis_timeout_ms: the caller's event loop connection when
     * {@code pipelined} and there is one, else a pooled connection borrowed for this call and handed back after it.
     * A call that runs out of time closes its connection's socket rather than handing it back or keeping it, so
     * nothing queued on it is sent later; a pooled connection that arrives after the deadline goes back to the pool
     * unused. A {@code script} whose connection closed under it fails at its deadline, not before.
     *
     * <p>The returned Future belongs to the caller's context, and the deadline is a task on that context's event
     * loop: a Future without a context would make every {@code Future.timeout} put on it (the middleware's
     * backend_timeout_ms) a task on Netty's global executor thread, two cross-thread hand-offs per call, which
     * profiles showed as most of this backend's CPU cost. A Vert.x timer ({@code setTimer}) would also register
     * an ID and a close hook per call.
     */
    private <T> Future<T> onOneConnection(
            Function<RedisConnection, Future<T>> call, boolean pipelined, boolean script) {
        ContextInternal context = (ContextInternal) vertx.getOrCreateContext();
        EventLoopConnections.Lane lane =
                pipelined && eventLoopConnections != null ? eventLoopConnections.of(context) : null;
        Guarded<T> guarded = new Guarded<>(context.promise(), call, lane, script);
        guarded.deadline = context.nettyEventLoop().schedule(guarded, timeoutMillis, TimeUnit.MILLISECONDS);
        (lane != null ? lane.connection() : redis.connect()).onComplete(guarded);
        return guarded.outcome.future();
    }

    /** Sends a script, then (durability on) a WAIT in the same batch, so that it runs on the same connection. */
    private Future<Response> write(RedisConnection connection, Request script) {
        if (!waitForReplicas.isOn()) {
            return connection.send(script);
        }
        // One batch, not two sends: a Cluster connection sends a batch to one node, the master of the script's key,
        // but a keyless WAIT sent alone to any master. WAIT counts the replicas that have every write this connection
        // made so far, the script's included.
        Request wait = Request.cmd(Command.WAIT)
                .arg(waitForReplicas.replicas())
                .arg(waitForReplicas.timeout().toMillis());
        return connection.batch(List.of(script, wait)).compose(replies -> {
            long acknowledged = replies.get(1) == null ? 0 : replies.get(1).toLong();
            if (acknowledged < waitForReplicas.replicas()) {
                return Future.failedFuture(new SessionStoreUnavailableException(
                        "only " + acknowledged + " of "
                                + waitForReplicas.replicas()
                                + " Redis replicas (redis_wait_replicas) acknowledged a write within "
                                + waitForReplicas.timeout().toMillis()
                                + " ms (redis_wait_timeout_ms); the master has it, but a failover "
                                + "could lose it",
                        null));
            }
            return Future.succeededFuture(replies.get(0));
        });
    }

    /**
     * Returns Redis's clock as sampled at most {@link RedisClock#MAX_AGE_NANOS} ago, sampling it with TIME on
     * {@code connection} when it is older (one round trip every half minute, not per call).
     */
    private Future<RedisClock> redisClock(RedisConnection connection) {
        RedisClock clock = redisClock;
        if (clock != null && clock.isFresh(System.nanoTime())) {
            return Future.succeededFuture(clock);
        }
        return RedisClock.sample(connection).map(sampled -> {
            redisClock = sampled;
            return sampled;
        });
    }

    /** Whether a call failed because its connection closed, before or while it was sent (not a timeout). */
    private static boolean isClosedConnection(Throwable error) {
        return isClosedAfterSending(error) || isNeverSent(error);
    }

    /**
     * Whether a call failed because its connection closed, perhaps after it was sent: before Redis answered
     * (CONNECTION_CLOSED), or when a write on the closed socket failed, which the client reports to every call
     * waiting on the connection, those sent earlier included (ClosedChannelException).
     */
    private static boolean isClosedAfterSending(Throwable error) {
        return isRedisError(error, "CONNECTION_CLOSED")
                || isRedisError(error, "ERR [0] CONNECTION_CLOSED")
                || error instanceof ClosedChannelException;
    }

    /** Whether a call failed because its connection had closed before it was sent: nothing reached Redis. */
    private static boolean isNeverSent(Throwable error) {
        return "Connection is closed".equals(error.getMessage());
    }

    /** Whether a call was refused because the server it reached is a replica (READONLY, alone or in a script). */
    private static boolean isReadOnly(Throwable error) {
        return error instanceof Response
                && error.getMessage() != null
                && error.getMessage().contains("READONLY");
    }

    /** Returns whether a script failed because Redis does not know it: alone, or as the first command of a batch. */
    private static boolean isNoScript(Throwable error) {
        return isScriptError(error, "NOSCRIPT");
    }

    /** Returns whether a script's deadline guard refused to run it: alone, or as the first command of a batch. */
    private static boolean isLate(Throwable error) {
        return isScriptError(error, "LATE");
    }

    private static boolean isScriptError(Throwable error, String kind) {
        // A failed batch reports "ERR [<index>] <error>" for each command that failed.
        return isRedisError(error, kind) || isRedisError(error, "ERR [0] " + kind);
    }

    /**
     * One call on one connection: who owns the call's end (the call until it finishes, or the deadline once it
     * passed), the deadline's task, and what happens when the connection arrives and when the call completes.
     */
    private static final class Guarded<T> implements Runnable, Handler<AsyncResult<RedisConnection>> {
        final Promise<T> outcome;
        private final Function<RedisConnection, Future<T>> call;
        /** The event loop's connection the call runs on; null for a pooled connection of its own. */
        private final EventLoopConnections.Lane lane;
        /** Whether a failure because the connection closed after sending waits for the deadline (a script). */
        private final boolean failsNoEarlierThanDeadline;

        volatile ScheduledFuture<?> deadline;
        private RedisConnection connection;
        private boolean over;
        /** Why the call failed, when that failure waits for the deadline. */
        private Throwable heldFailure;

        Guarded(
                Promise<T> outcome,
                Function<RedisConnection, Future<T>> call,
                EventLoopConnections.Lane lane,
                boolean failsNoEarlierThanDeadline) {
            this.outcome = outcome;
            this.call = call;
            this.lane = lane;
            this.failsNoEarlierThanDeadline = failsNoEarlierThanDeadline;
        }

        /** The connection is there: runs the call on it, unless the deadline passed while it waited. */
        @Override
        public void handle(AsyncResult<RedisConnection> connected) {
            if (connected.failed()) {
                if (finish()) {
                    outcome.tryFail(connected.cause());
                }
                return;
            }
            RedisConnection lent = connected.result();
            if (!lend(lent)) {
                if (lane == null) {
                    lent.close(); // waited past the deadline in the pool's queue: nothing was sent on it
                }
                return;
            }
            Future<T> result;
            try {
                result = call.apply(lent);
            } catch (RuntimeException e) {
                result = Future.failedFuture(e);
            }
            result.onComplete(this::completed);
        }

        private void completed(AsyncResult<T> done) {
            if (done.failed() && isClosedConnection(done.cause())) {
                if (lane != null) {
                    lane.drop(connection); // before a retry asks for the lane's connection
                }
                if (failsNoEarlierThanDeadline
                        && isClosedAfterSending(done.cause())
                        && holdUntilDeadline(done.cause())) {
                    // The script reached a socket that closed (on an event loop's connection, another call's timeout
                    // may have closed it): Redis may still read and run it until its deadline, so the call fails
                    // then, not now (docs/redis-backend.md, "Timeouts and retries").
                    if (lane == null) {
                        connection.close(); // closed: the pool evicts it, nothing goes back
                    }
                    return;
                }
            }
            if (done.failed() && lane != null && isReadOnly(done.cause())) {
                // A master demoted to a replica (a Sentinel failover): the next call opens a connection to the
                // master the client names then.
                lane.drop(connection);
                RedisClientInternals.closeSocket(connection);
            }
            if (finish()) {
                if (lane == null) {
                    connection.close(); // back to the pool
                }
                outcome.handle(done);
            }
        }

        /** The deadline: closes the socket of the connection the call runs on, if any, and fails the call. */
        @Override
        public void run() {
            RedisConnection stuck = timeOut();
            Throwable held;
            synchronized (this) {
                held = heldFailure;
            }
            if (stuck == null && lane != null) {
                lane.abandonOpening(); // timed out waiting for the lane's connection to open
            }
            if (stuck != null && held == null) {
                if (lane != null) {
                    lane.drop(stuck);
                }
                if (!RedisClientInternals.closeSocket(stuck)) {
                    LOG.log(
                            Level.DEBUG,
                            "a Redis call timed out on a connection whose socket cannot be closed; it went back "
                                    + "to the pool, and the scripts' deadline keeps a late write from applying");
                }
            }
            outcome.tryFail(held != null ? held : new TimeoutException("redis_timeout_ms elapsed"));
        }

        /** Records the connection; false when the deadline passed already. */
        private synchronized boolean lend(RedisConnection connection) {
            this.connection = connection;
            return !over;
        }

        /** Keeps {@code failure} for the deadline to report; false when the deadline passed already. */
        private synchronized boolean holdUntilDeadline(Throwable failure) {
            if (over) {
                return false;
            }
            heldFailure = failure;
            return true;
        }

        /** Ends the call normally and cancels the deadline; false when the deadline passed first. */
        private boolean finish() {
            synchronized (this) {
                if (over) {
                    return false;
                }
                over = true;
            }
            ScheduledFuture<?> task = deadline;
            if (task != null) {
                task.cancel(false);
            }
            return true;
        }

        /** Ends the call at the deadline; returns the connection it was running on, null when none or finished. */
        private synchronized RedisConnection timeOut() {
            if (over) {
                return null;
            }
            over = true;
            return connection;
        }
    }
}
