package dev.vertxsessions.redis;

import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One Redis connection per event loop, kept open and shared by every call made on that event loop: the calls are
 * pipelined on it (each is sent without waiting for the replies to earlier ones; Redis answers a connection's
 * commands in order). See {@code docs/redis-backend.md}, "Connections: one per event loop, pipelined".
 *
 * <p>A connection is borrowed from the client's pool on its event loop's first call (the pool creates it on the
 * caller's event loop, so its replies arrive on the thread that waits for them) and never handed back while open.
 * It is dropped, and the next call borrows another, when it closes or fails, when a call on it times out (which
 * closes its socket), when a call on it fails because it closed, and when it answers READONLY (a master demoted to
 * a replica; its socket is closed); a call that times out while the connection is being opened gives that attempt
 * up. A caller that is not on an event loop (a
 * worker, a thread of its own) gets no connection here; {@link GuardedRedisConnection} borrows one from the pool
 * per call for it. Thread-safe: each {@link Lane} is touched only on its own event loop.
 */
final class EventLoopConnections {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    private final Redis redis;
    private final ConcurrentHashMap<EventLoop, Lane> lanes = new ConcurrentHashMap<>();
    private volatile boolean closed;

    EventLoopConnections(Redis redis) {
        this.redis = redis;
    }

    /** Returns the lane of the event loop the caller runs on, or null when the caller is not on an event loop. */
    Lane of(ContextInternal context) {
        if (!context.isEventLoopContext()) {
            return null;
        }
        EventLoop eventLoop = context.nettyEventLoop();
        if (!eventLoop.inEventLoop()) {
            return null; // a context made for a thread of its own: its event loop is not this thread
        }
        Lane lane = lanes.get(eventLoop);
        return lane != null ? lane : lanes.computeIfAbsent(eventLoop, Lane::new);
    }

    /** Hands every held connection back to the pool, each on its event loop; later calls get no connection. */
    Future<Void> close() {
        closed = true;
        List<Future<Void>> released = new ArrayList<>();
        for (Lane lane : lanes.values()) {
            Promise<Void> done = Promise.promise();
            lane.eventLoop.execute(() -> {
                lane.release();
                done.complete();
            });
            released.add(done.future());
        }
        return Future.join(released).mapEmpty();
    }

    /** The connection of one event loop: open, being opened, or none. Touched only on that event loop. */
    final class Lane {
        private final EventLoop eventLoop;
        /** The open connection, or null. */
        private RedisConnection connection;
        /** Succeeded with {@link #connection}, pending while one is being borrowed, or null when there is none. */
        private Future<RedisConnection> ready;

        private Lane(EventLoop eventLoop) {
            this.eventLoop = eventLoop;
        }

        /** Returns the open connection, or borrows one (once, for every call that waits meanwhile). */
        Future<RedisConnection> connection() {
            Future<RedisConnection> current = ready;
            if (current != null) {
                return current;
            }
            if (closed) {
                return Future.failedFuture("the session middleware is closed");
            }
            Future<RedisConnection> connecting = redis.connect();
            ready = connecting;
            // Registered first, so it runs before the handlers of the calls waiting for this connection.
            connecting.onComplete(ar -> {
                if (ready != connecting) { // released meanwhile
                    if (ar.succeeded()) {
                        ar.result().close();
                    }
                    return;
                }
                if (ar.failed()) {
                    ready = null; // the next call tries again
                    return;
                }
                RedisConnection opened = ar.result();
                connection = opened;
                ready = Future.succeededFuture(opened);
                opened.endHandler(v -> dropClosed(opened, "closed"));
                opened.exceptionHandler(e -> dropClosed(opened, "failed: " + e));
            });
            return connecting;
        }

        /**
         * Forgets {@code closed}, a connection that closed (or whose socket a timeout closed), so that the next call
         * borrows another; nothing when it is not the current one.
         */
        void drop(RedisConnection closed) {
            if (!eventLoop.inEventLoop()) {
                eventLoop.execute(() -> drop(closed));
                return;
            }
            if (connection == closed) {
                connection = null;
                ready = null;
            }
        }

        /**
         * A call timed out waiting for this lane's connection to open: gives up on that attempt, so that the next
         * call opens another, to the server the client names then (after a Sentinel failover, the new master), instead
         * of every call queueing behind a server that does not answer. The abandoned connection, if it opens,
         * goes back to the pool.
         */
        void abandonOpening() {
            Future<RedisConnection> current = ready;
            if (current != null && !current.isComplete()) {
                ready = null;
            }
        }

        private void dropClosed(RedisConnection closed, String how) {
            LOG.log(Level.DEBUG, "the Redis connection of an event loop " + how + "; the next call opens another");
            drop(closed);
        }

        /** Hands the open connection back to the pool. */
        private void release() {
            RedisConnection open = connection;
            connection = null;
            ready = null;
            if (open != null) {
                open.endHandler(null);
                open.exceptionHandler(null);
                open.close();
            }
        }
    }
}
