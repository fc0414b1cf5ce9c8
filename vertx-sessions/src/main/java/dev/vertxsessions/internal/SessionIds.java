package dev.vertxsessions.internal;

import java.security.SecureRandom;
import java.util.Base64;

/** Generates and recognises session IDs: 256 random bits, base64url without padding (43 characters). */
public final class SessionIds {

    /** The length of every generated ID. */
    public static final int LENGTH = 43;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

    private SessionIds() {}

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
        if (value == null || value.length() != LENGTH || "AEIMQUYcgkosw048".indexOf(value.charAt(LENGTH - 1)) < 0) {
            return false;
        }
        for (int i = 0; i < LENGTH - 1; i++) {
            char c = value.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return false; // a loop, not a regular expression: this runs several times per request
            }
        }
        return true;
    }
}
