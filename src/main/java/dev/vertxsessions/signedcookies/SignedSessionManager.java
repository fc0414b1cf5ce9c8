package dev.vertxsessions.signedcookies;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.CookieTooLargeException;
import dev.vertxsessions.SessionManagerFactory;

import io.vertx.core.Future;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The signed-cookie backend, and the default: the session data travels in the cookie, signed with HMAC-SHA256,
 * so the server stores nothing.
 *
 * <p>The cookie carries the session's creation time and its expiry, inside the signature, and both are enforced
 * on the server: a replayed old cookie is refused. Key rotation: {@code secret_key} signs, the
 * {@code fallback_secret_keys} still verify, and a cookie verified with a fallback key is re-issued under the
 * current key. A cookie over 4096 bytes fails the save with {@link CookieTooLargeException} instead of being
 * dropped by the browser. Parallel requests that change the session cannot be merged: the browser keeps the last
 * cookie it receives.
 */
public class SignedSessionManager extends BaseSessionInterface {

  /** Browsers keep cookies of up to 4096 bytes, name and value together. */
  public static final int MAX_COOKIE_BYTES = 4096;

  private final SignedCookieCodec codec;
  private String cookieValue;

  /** Creates a session that signs and verifies with {@code codec}. */
  public SignedSessionManager(SignedCookieCodec codec) {
    this.codec = codec;
  }

  /**
   * Returns the factory of this backend, built from {@code secret_key}, {@code fallback_secret_keys} and
   * {@code cookie_encryption}.
   */
  public static SessionManagerFactory factory() {
    return (vertx, config) -> {
      SignedCookieCodec codec = new SignedCookieCodec(config.getSecretKey(), config.getFallbackSecretKeys(),
        config.isCookieEncryption());
      return () -> new SignedSessionManager(codec);
    };
  }

  @Override
  protected Future<Void> load() {
    SignedCookieCodec.Contents contents = codec.decode(getSessionKey());
    if (contents == null) {
      reportTamperedCookie();
    } else {
      Duration perSession = contents.perSessionExpirySeconds > 0
        ? Duration.ofSeconds(contents.perSessionExpirySeconds) : null;
      boolean valid = restore(contents.id, contents.data, contents.createdAt, contents.expiresAt, perSession);
      if (valid && contents.signedWithFallbackKey) {
        markModified();
      }
    }
    return Future.succeededFuture();
  }

  @Override
  protected Future<Void> save() {
    Duration perSession = perSessionExpiry();
    String value = codec.encode(id(), getCreatedAt(), currentTimeMillis(), expiresAtMillis(),
      perSession == null ? 0 : (int) perSession.toSeconds(), data());
    int size = config().getCookieName().getBytes(StandardCharsets.US_ASCII).length + 1 + value.length();
    if (size > MAX_COOKIE_BYTES) {
      return Future.failedFuture(new CookieTooLargeException(size, MAX_COOKIE_BYTES));
    }
    cookieValue = value;
    return Future.succeededFuture();
  }

  @Override
  protected Future<Void> replace(String previousKey) {
    return save(); // nothing stored server-side: the new cookie replaces the old one
  }

  @Override
  protected String cookieValue() {
    return cookieValue;
  }
}
