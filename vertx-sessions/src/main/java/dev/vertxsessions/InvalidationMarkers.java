package dev.vertxsessions;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The markers with which a {@link SessionInvalidations} implements {@link SessionInvalidations#sync()}: each has a
 * token unique to this process, which the source sends the way the store reports writes (a Redis PUBLISH, a
 * PostgreSQL NOTIFY, a file in a watched directory); when it comes back behind them, the source calls
 * {@link #arrived(String)} and the marker's Future completes. Thread-safe.
 */
public final class InvalidationMarkers {

    private final Vertx vertx;
    private final long timeoutMillis;
    /** This process's part of every token: another process's markers are not ours to complete. */
    private final String node = Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-";

    private final AtomicLong sequence = new AtomicLong();
    private final Map<String, Promise<Void>> pending = new ConcurrentHashMap<>();

    /** Creates the markers of one source; a marker that has not come back after {@code timeoutMillis} fails. */
    public InvalidationMarkers(Vertx vertx, long timeoutMillis) {
        this.vertx = vertx;
        this.timeoutMillis = timeoutMillis;
    }

    /**
     * Sends a new marker: {@code sender} gets its token (letters, digits and '-') and sends it; the Future completes
     * when {@link #arrived} gets the token, and fails when {@code sender}'s Future fails, when {@link #failAll} is
     * called, or after the timeout, which also gives {@code onTimeout} the token (e.g. to reopen a channel that lost it).
     */
    public Future<Void> send(Function<String, Future<?>> sender, Consumer<String> onTimeout) {
        String token = node + sequence.incrementAndGet();
        Promise<Void> marker = Promise.promise();
        pending.put(token, marker);
        long timer = vertx.setTimer(timeoutMillis, t -> {
            if (pending.remove(token) != null) {
                marker.tryFail(new SessionStoreUnavailableException(
                        "the near cache's marker did not come back within " + timeoutMillis + " ms", null));
                onTimeout.accept(token);
            }
        });
        Future<?> sent;
        try {
            sent = sender.apply(token);
        } catch (RuntimeException e) {
            sent = Future.failedFuture(e);
        }
        sent.onFailure(e -> {
            if (pending.remove(token) != null) {
                marker.tryFail(e);
            }
        });
        return marker.future().andThen(ar -> vertx.cancelTimer(timer));
    }

    /** Completes the marker {@code token} when this process sent it; returns whether it did. */
    public boolean arrived(String token) {
        Promise<Void> marker = pending.remove(token);
        return marker != null && marker.tryComplete();
    }

    /**
     * Handles one message of the text form the built-in channels use: {@code "~<token>"} is a marker (completed when
     * it is this process's), {@code "<id> <version>"} a write reported to {@code listener} (an empty version: none,
     * or ended), and {@code "<id> <version> <previous>"} an atomic save that turned version {@code previous} (empty:
     * none) into {@code version}, reported with its base ({@link SessionInvalidations.Listener#changed(String,
     * String, String)}); anything else is ignored.
     */
    public void handle(String message, SessionInvalidations.Listener listener) {
        if (message.startsWith("~")) {
            arrived(message.substring(1));
            return;
        }
        int space = message.indexOf(' ');
        if (space < 0 || listener == null) {
            return;
        }
        String id = message.substring(0, space);
        int second = message.indexOf(' ', space + 1);
        String version = orNull(message.substring(space + 1, second < 0 ? message.length() : second));
        if (second < 0) {
            listener.changed(id, version);
        } else {
            listener.changed(id, version, orNull(message.substring(second + 1)));
        }
    }

    private static String orNull(String version) {
        return version.isEmpty() ? null : version;
    }

    /** Fails every marker in flight: reports may have been lost, so none of them proves anything. */
    public void failAll(String why) {
        pending.values().forEach(m -> m.tryFail(new SessionStoreUnavailableException(why, null)));
        pending.clear();
    }
}
