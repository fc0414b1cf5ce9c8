package dev.vertxsessions;

import java.time.Duration;

/** The expiry rules, in one place: idle expiry renewed by saves, capped by the absolute lifetime. */
final class SessionLifetimes {

    private SessionLifetimes() {}

    /** Returns when a session saved at {@code now} expires, in epoch milliseconds. */
    static long expiresAt(SessionConfig config, long now, long createdAt, Duration expiry) {
        long expiresAt = now + expiry.toMillis();
        Duration absolute = config.getAbsoluteExpiry();
        return absolute == null ? expiresAt : Math.min(expiresAt, createdAt + absolute.toMillis());
    }

    /** Returns whether a stored session has expired, by its own expiry or by the absolute lifetime. */
    static boolean isExpired(SessionConfig config, long createdAt, long expiresAt) {
        long now = config.getClock().millis();
        Duration absolute = config.getAbsoluteExpiry();
        return expiresAt <= now || (absolute != null && createdAt + absolute.toMillis() <= now);
    }
}
