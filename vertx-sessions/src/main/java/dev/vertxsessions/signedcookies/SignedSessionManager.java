package dev.vertxsessions.signedcookies;

import dev.vertxsessions.CookieTooLargeException;
import dev.vertxsessions.SessionBackend;
import dev.vertxsessions.SessionBackendFactory;
import dev.vertxsessions.SessionChanges;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionRecord;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

/**
 * The signed-cookie backend, and the default: the session data travels in the cookie, signed with HMAC-SHA256,
 * so the server stores nothing.
 *
 * <p>The cookie carries the session's creation time and its expiry, inside the signature, and both are enforced
 * on the server: a replayed old cookie is refused. Key rotation: {@code secret_key} signs, the
 * {@code fallback_secret_keys} still verify, and a cookie verified with a fallback key is re-issued under the
 * current key. A cookie over 4096 bytes fails the save with {@link CookieTooLargeException} instead of being
 * dropped by the browser. What a cookie cannot do: be revoked (a copy stays valid until it expires), merge
 * parallel requests (the browser keeps the last cookie it receives), or update atomically.
 */
public final class SignedSessionManager implements SessionBackend {

    /** Browsers keep cookies of up to 4096 bytes, name and value together. */
    public static final int MAX_COOKIE_BYTES = 4096;

    private final SignedCookieCodec codec;
    private final int cookieNameBytes;

    /** Creates the backend signing (and, with {@code cookie_encryption}, encrypting) with {@code codec}. */
    SignedSessionManager(SignedCookieCodec codec, SessionConfig config) {
        this.codec = codec;
        this.cookieNameBytes = config.getCookieName().getBytes(StandardCharsets.US_ASCII).length;
    }

    /**
     * Returns the factory of this backend, built from {@code secret_key}, {@code fallback_secret_keys} and
     * {@code cookie_encryption}.
     */
    public static SessionBackendFactory factory() {
        return (vertx, config) -> new SignedSessionManager(
                new SignedCookieCodec(
                        config.getSecretKey(), config.getFallbackSecretKeys(), config.isCookieEncryption()),
                config);
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.noneOf(Capability.class);
    }

    @Override
    public Future<SessionRecord> load(String cookieValue) {
        SignedCookieCodec.Contents contents = codec.decode(cookieValue);
        if (contents == null) {
            return Future.succeededFuture();
        }
        Duration perSession =
                contents.perSessionExpirySeconds > 0 ? Duration.ofSeconds(contents.perSessionExpirySeconds) : null;
        return Future.succeededFuture(new SessionRecord(
                contents.id,
                contents.data,
                contents.createdAt,
                contents.expiresAt,
                perSession,
                contents.signedWithFallbackKey));
    }

    /** Encodes the session into the cookie; throws {@link CookieTooLargeException} past 4096 bytes. */
    @Override
    public String cookieValue(SessionChanges changes) {
        Duration perSession = changes.perSessionExpiry();
        String value = codec.encode(
                changes.id(),
                changes.createdAtMillis(),
                changes.savedAtMillis(),
                changes.expiresAtMillis(),
                perSession == null ? 0 : (int) perSession.toSeconds(),
                changes.data());
        int size = cookieNameBytes + 1 + value.length();
        if (size > MAX_COOKIE_BYTES) {
            throw new CookieTooLargeException(size, MAX_COOKIE_BYTES);
        }
        return value;
    }

    /** Stores nothing: {@link #cookieValue} put the session in the cookie. */
    @Override
    public Future<Boolean> save(SessionChanges changes) {
        return Future.succeededFuture(Boolean.TRUE);
    }

    /** Deletes nothing: the middleware expires the cookie, and a copy of it stays valid until it expires. */
    @Override
    public Future<Void> delete(String id) {
        return Future.succeededFuture();
    }
}
