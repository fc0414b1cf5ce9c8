package dev.vertxsessions.internal;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/** Generates and recognises session IDs: 256 random bits, base64url without padding (43 characters). */
public final class SessionIds {

  /** The length of every generated ID. */
  public static final int LENGTH = 43;

  private static final Pattern FORMAT = Pattern.compile("[A-Za-z0-9_-]{43}");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private SessionIds() {
  }

  /** Returns a new random ID. */
  public static String generate() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return ENCODER.encodeToString(bytes);
  }

  /** Returns 32 random bytes. */
  public static byte[] randomBytes() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  /** Returns whether {@code value} has exactly the generated format; only such values may name a stored session. */
  public static boolean isWellFormed(String value) {
    // The last character of 256 bits in base64url carries 4 bits of padding: it must be one of 16 characters.
    return value != null && value.length() == LENGTH && FORMAT.matcher(value).matches()
      && "AEIMQUYcgkosw048".indexOf(value.charAt(LENGTH - 1)) >= 0;
  }
}
