package dev.vertxsessions;

/**
 * What a backend tells the middleware about work it did on its own: counts an operator reads in
 * {@link SessionMetrics}, and sessions it ended itself, which listeners hear as {@link SessionEvent}s. The middleware
 * hands one to {@link SessionBackend#start(BackendRecorder)}; it is thread-safe and never blocks. {@link #NONE}
 * records nothing: a backend holds it until {@code start}, so it needs no null checks, and its own tests can use it.
 */
public interface BackendRecorder {

    /** Records nothing. */
    BackendRecorder NONE = new BackendRecorder() {};

    /** Counts a load answered from what a save in flight wrote (see {@link SessionMetrics#loadsFromSaves()}). */
    default void recordLoadFromSave() {}

    /** Adds sessions the backend's sweeper deleted (see {@link SessionMetrics#sweeperDeletions()}). */
    default void recordSweeperDeletions(long count) {}

    /** Counts a session the backend deleted to stay within its size limit (see {@link SessionMetrics#evictions()}). */
    default void recordEviction() {}

    /**
     * Reports a session the backend found expired and deleted itself (its sweeper, its expiry on read): listeners
     * hear {@link SessionEvent.Kind#EXPIRED}. Counts nothing. Call it once the deletion is done.
     *
     * @param id the session's ID
     * @param principal the session's principal, or null when unknown
     */
    default void reportExpired(String id, String principal) {}

    /**
     * Reports a session the backend deleted because a login of its user went past {@code max_sessions_per_user}
     * (policy {@code end_oldest}): listeners hear {@link SessionEvent.Kind#DESTROYED} with
     * {@link SessionEvent.Cause#LIMIT}. Call it once the deletion is done.
     *
     * @param id the ended session's ID
     * @param principal its principal
     */
    default void reportEndedByLimit(String id, String principal) {}
}
