package dev.vertxsessions.redis;

import dev.vertxsessions.SessionException;
import dev.vertxsessions.SessionStoreUnavailableException;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The Redis backend's calls to Redis, each on one pooled connection and bounded by {@code redis_timeout_ms}: a call
 * that times out closes its connection's socket (nothing queued on it is sent later), every script carries its
 * deadline in Redis's clock ({@link RedisClock}) and writes nothing when it starts later, a read whose connection
 * closed under it is sent once more, and with {@link WaitForReplicas} on, each script is followed by a WAIT in the
 * same batch. See {@code docs/redis-backend.md}, "Timeouts and retries", "Deadlines in Redis's clock" and "WAIT".
 * Thread-safe.
 */
final class GuardedRedisConnection {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    private final Vertx vertx;
    private final Redis redis;
    /** Whether the client was created here (and is closed here) rather than handed in by the application. */
    private final boolean ownsClient;

    private final long timeoutMillis;
    private final WaitForReplicas waitForReplicas;
    /** Redis's clock as last sampled; null until the first script, and after a LATE reply. */
    private volatile RedisClock redisClock;

    GuardedRedisConnection(
            Vertx vertx, Redis redis, boolean ownsClient, long timeoutMillis, WaitForReplicas waitForReplicas) {
        this.vertx = vertx;
        this.redis = redis;
        this.ownsClient = ownsClient;
        this.timeoutMillis = timeoutMillis;
        this.waitForReplicas = waitForReplicas;
    }

    /**
     * Runs a script (all of them write) on one pooled connection, bounded by redis_timeout_ms: EVALSHA, and EVAL
     * (which also caches it) when Redis does not know it yet. The script gets this call's deadline in Redis's clock
     * and writes nothing if it starts later; with {@link #waitForReplicas} on, a WAIT follows it on the same
     * connection and the call succeeds only when enough replicas acknowledged.
     */
    Future<Response> eval(RedisScripts.Call call) {
        RedisScripts.Script script = call.script();
        long startNanos = System.nanoTime();
        return onOneConnection(connection -> redisClock(connection).compose(clock -> {
                    List<Object> guarded = new ArrayList<>(call.args());
                    guarded.add(Long.toString(clock.deadlineMillis(startNanos, timeoutMillis)));
                    return write(connection, script.request(Command.EVALSHA, call.keys(), guarded))
                            .recover(error -> isNoScript(error)
                                    ? write(connection, script.request(Command.EVAL, call.keys(), guarded))
                                    : Future.failedFuture(error));
                }))
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
     * Sends one command (a read: every write is a script) on one pooled connection, bounded by redis_timeout_ms. A
     * read is idempotent, so when its connection closes under it (a pooled connection that an idle timeout or the
     * server closed) it is sent once more on a fresh one.
     */
    Future<Response> send(Request request) {
        return onOneConnection(connection -> connection.send(request))
                .recover(error -> isClosedConnection(error)
                        ? onOneConnection(connection -> connection.send(request))
                        : Future.failedFuture(error));
    }

    /** Closes the client if it was created here; an application's own client stays open. */
    /** Returns the client the calls borrow their connections from. */
    Redis client() {
        return redis;
    }

    Future<Void> close() {
        return ownsClient ? redis.close() : Future.succeededFuture();
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
     * Borrows a pooled connection, runs {@code call} on it and hands it back, all within redis_timeout_ms. A call
     * that runs out of time closes the connection's socket rather than handing it back, so nothing queued on it is
     * sent later; a connection that arrives after the deadline goes back to the pool unused.
     *
     * <p>The returned Future belongs to the caller's context, and the deadline is a task on that context's event
     * loop: a Future without a context would make every {@code Future.timeout} put on it (the middleware's
     * backend_timeout_ms) a task on Netty's global executor thread, two cross-thread hand-offs per call, which
     * profiles showed as most of this backend's CPU cost. A Vert.x timer ({@code setTimer}) would also register
     * an ID and a close hook per call.
     */
    private <T> Future<T> onOneConnection(Function<RedisConnection, Future<T>> call) {
        ContextInternal context = (ContextInternal) vertx.getOrCreateContext();
        Borrowed<T> borrowed = new Borrowed<>(context.promise(), call);
        borrowed.deadline = context.nettyEventLoop().schedule(borrowed, timeoutMillis, TimeUnit.MILLISECONDS);
        redis.connect().onComplete(borrowed);
        return borrowed.outcome.future();
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
        return isRedisError(error, "CONNECTION_CLOSED") || "Connection is closed".equals(error.getMessage());
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
     * One call on one borrowed connection: who owns the connection (the call until it finishes, or the deadline
     * once it passed), the deadline's task, and what happens when the connection arrives.
     */
    private static final class Borrowed<T> implements Runnable, Handler<AsyncResult<RedisConnection>> {
        final Promise<T> outcome;
        private final Function<RedisConnection, Future<T>> call;
        volatile ScheduledFuture<?> deadline;
        private RedisConnection connection;
        private boolean over;

        Borrowed(Promise<T> outcome, Function<RedisConnection, Future<T>> call) {
            this.outcome = outcome;
            this.call = call;
        }

        /** The pool answered: runs the call on the connection, unless the deadline passed while it waited. */
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
                lent.close(); // waited past the deadline in the pool's queue: nothing was sent on it
                return;
            }
            Future<T> result;
            try {
                result = call.apply(lent);
            } catch (RuntimeException e) {
                result = Future.failedFuture(e);
            }
            result.onComplete(done -> {
                if (finish()) {
                    lent.close(); // back to the pool
                    outcome.handle(done);
                }
            });
        }

        /** The deadline: closes the socket of the connection the call runs on, if any, and fails the call. */
        @Override
        public void run() {
            RedisConnection stuck = timeOut();
            if (stuck != null && !RedisClientInternals.closeSocket(stuck)) {
                LOG.log(
                        Level.DEBUG,
                        "a Redis call timed out on a connection whose socket cannot be closed; it went back "
                                + "to the pool, and the scripts' deadline keeps a late write from applying");
            }
            outcome.tryFail(new TimeoutException("redis_timeout_ms elapsed"));
        }

        /** Records the connection; false when the deadline passed already. */
        private synchronized boolean lend(RedisConnection connection) {
            this.connection = connection;
            return !over;
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
