package dev.vertxsessions;

import io.vertx.core.Future;

/**
 * How a backend tells the near cache ({@code near_cache}) of every write to its sessions, by any process: what a
 * backend offers through {@link SessionBackend#invalidations()} for the middleware to cache its sessions.
 *
 * <p><b>What an implementation must guarantee.</b>
 * <ul>
 *   <li>Every write that changes or ends a stored session (a save, a move, an atomic update, a delete, an
 *       administrative deletion; by this process or another) is reported to the listener with
 *       {@link Listener#changed}, in the order the store applied those writes, with the version the session holds
 *       after it (the value of its reserved version key), or null when it has none or is gone.</li>
 *   <li>{@link #sync()} completes only after every write the store applied before the call has been reported; it
 *       fails when that cannot be known (the channel is down).</li>
 *   <li>Whenever reports may have been missed (a subscription lost), {@link Listener#lost()} is called before any
 *       later report, and the source reconnects by itself.</li>
 *   <li>It is thread-safe and never blocks an event loop; the listener may be called on any thread.</li>
 * </ul>
 */
public interface SessionInvalidations {

    /** Receives what a {@link SessionInvalidations} reports. */
    interface Listener {
        /** Reports a write to session {@code id}, which now holds {@code version} (null: none, or ended). */
        void changed(String id, String version);

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
