package dev.vertxsessions;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Backpressure for store writes that complete after their response: while {@link #MAX_WRITES_IN_FLIGHT} are
 * unfinished, new requests are paused and queued, and admitted as writes complete, so a client faster than the
 * store cannot make memory (or the store's connection queue) grow without bound. A write that times out
 * ({@code backend_timeout_ms}) releases its slot. Thread-safe.
 */
final class WriteAdmission {

    /** Past this many writes in flight, new requests wait before they start. */
    static final int MAX_WRITES_IN_FLIGHT = 256;

    private final Vertx vertx;
    private final AtomicInteger writesInFlight = new AtomicInteger();
    private final Queue<Runnable> waiting = new ConcurrentLinkedQueue<>();

    WriteAdmission(Vertx vertx) {
        this.vertx = vertx;
    }

    /** Runs {@code start} now, or once enough writes have finished, pausing the request meanwhile. */
    void admit(HttpServerRequest request, Runnable start) {
        if (writesInFlight.get() < MAX_WRITES_IN_FLIGHT) {
            start.run();
            return;
        }
        boolean paused = !request.isEnded();
        if (paused) {
            request.pause();
        }
        Context context = vertx.getOrCreateContext();
        waiting.add(() -> context.runOnContext(v -> {
            if (paused) {
                request.resume();
            }
            start.run();
        }));
        admitWaiting(); // the last write may have finished before this request was queued
    }

    /** Counts {@code write} until it completes. */
    void track(Future<?> write) {
        writesInFlight.incrementAndGet();
        write.onComplete(ar -> {
            writesInFlight.decrementAndGet();
            admitWaiting();
        });
    }

    private void admitWaiting() {
        Runnable next;
        while (writesInFlight.get() < MAX_WRITES_IN_FLIGHT && (next = waiting.poll()) != null) {
            next.run();
        }
    }
}
