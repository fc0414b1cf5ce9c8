package dev.vertxsessions;

import io.vertx.core.Future;
import java.util.Map;

/**
 * How a backend tells the near cache ({@code near_cache}) of every write to its sessions, by any process: what a
 * backend offers through {@link SessionBackend#invalidations()} for the middleware to cache its sessions.
 *
 * <p><b>What an implementation must guarantee.</b>
 * <ul>
 *   <li>Every write that changes or ends a stored session (a save, a move, an atomic update, a delete, an
 *       administrative deletion; by this process or another) is reported to the listener, in one of two ways:
 *       <ul>
 *         <li>as an event, {@link Listener#changed(String, String)}, in the order the store applied those writes,
 *             with the version the session holds after it (the value of {@link #VERSION_KEY}), or null when it has
 *             none or is gone (a message the write itself sends: Redis's PUBLISH, PostgreSQL's NOTIFY); or</li>
 *         <li>as a state, {@link Listener#holds}, read from the store after the write happened (a directory watch
 *             that reads the file it was told of), which needs every write that changes a session's data or times to
 *             change or remove its version. Such a source may report the writes of its own process as events with
 *             their base, {@link Listener#changed(String, String, String)}.</li>
 *       </ul></li>
 *   <li>{@link #sync()} completes only after every write the store applied before the call has been reported; it
 *       fails when that cannot be known (the channel is down).</li>
 *   <li>Whenever reports may have been missed (a subscription lost), {@link Listener#lost()} is called before any
 *       later report, and the source reconnects by itself.</li>
 *   <li>It is thread-safe and never blocks an event loop; the listener may be called on any thread.</li>
 * </ul>
 */
public interface SessionInvalidations {

    /**
     * The reserved data key that holds a session's version when the near cache is on: a new random value written by
     * every save of the middleware.
     */
    String VERSION_KEY = "__vertx-sessions.version";

    /** Returns the version a session holding {@code data} has (its {@link #VERSION_KEY}), or null when none. */
    static String versionOf(Map<String, ?> data) {
        return data.get(VERSION_KEY) instanceof String version ? version : null;
    }

    /** Receives what a {@link SessionInvalidations} reports. */
    interface Listener {
        /** Reports a write to session {@code id}, which now holds {@code version} (null: none, or ended). */
        void changed(String id, String version);

        /**
         * Reports a save of this process to session {@code id}, made while it held the session's lock: it turned
         * version {@code previous} (null: none, or no session) into {@code version}. Its order with other reports
         * does not matter: the base it names proves what the store holds.
         */
        void changed(String id, String version, String previous);

        /**
         * Reports, as its reply arrives, a save of this process that the channel also reports as an event later: it
         * turned version {@code previous} (null: none, or no session) into {@code version}, atomically. An event
         * source calls it so that the result this process predicted for the save is cached at once, not only once
         * the event arrives (a browser's next request may come first). The event must still be reported. The
         * default does nothing.
         */
        default void saved(String id, String version, String previous) {}

        /**
         * Reports that session {@code id} held {@code version} (null: none, or no session) when it was read, after
         * a write the source was told of: a cached copy of another version is dropped. {@code readAtNanos} is
         * {@link System#nanoTime()} taken before the read began.
         */
        void holds(String id, String version, long readAtNanos);

        /** Reports that writes may have gone unreported: everything cached is suspect. */
        void lost();
    }

    /** Starts reporting to {@code listener}; completes once reports flow (and fails when they cannot yet). */
    Future<Void> start(Listener listener);

    /** Completes once every write the store applied before this call has been reported to the listener. */
    Future<Void> sync();

    /** Stops reporting and releases the channel. */
    Future<Void> close();
}
