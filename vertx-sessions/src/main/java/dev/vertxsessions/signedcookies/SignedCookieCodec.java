package dev.vertxsessions.signedcookies;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.internal.JsonValues;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/*
 * Cookie format, version 1 (the payload is deflated when its JSON is over 2 KB and deflating makes it shorter):
 *
 *   base64url(body) "." base64url(HMAC-SHA256(key, SALT || body))
 *
 *   body = version (1 byte) | flags (1 byte, bit 0 = payload deflated)
 *        | createdAt ms (8) | issuedAt ms (8) | expiresAt ms (8) | per-session expiry s (4, 0 = configured)
 *        | session id (32 raw bytes) | payload (JSON object of the session data, maybe deflated)
 *
 * Everything the server relies on (the times, the ID, the data) is inside the MAC, so a client can neither
 * extend its session nor forge data. The salt binds the MAC to this use of the key. The current key signs; the
 * current and the fallback keys verify, each in constant time. Any failure is reported as "no session", never as
 * which part failed.
 *
 * Encrypted format (cookie_encryption), version 2:
 *
 *   base64url(2 | nonce (12 random bytes) | AES-256-GCM(key', nonce, aad = SALT || 2, body without its version))
 *
 * key' = HMAC-SHA256(secret, "vertx-sessions.cookie-encryption.v1"), one per secret, so rotation works the same
 * way: the current key encrypts, every key is tried to decrypt. GCM's 128-bit tag authenticates nonce, header and
 * data. Nonces follow RFC 5116's recommended formation (section 3.2): a fixed field of 4 random bytes per codec and
 * an 8-byte counter that starts at a random value and counts up with every cookie, so one process never repeats a
 * nonce, and two processes sharing a key repeat one only if both random parts meet (about 2^-32 times the share of
 * the 2^64 counter values their cookies used). It costs an increment, where a random nonce from SecureRandom cost a
 * lock shared by every event loop and a SHA-1 block per cookie (profiled: a quarter of the sealing).
 *
 * The codec remembers the cookies it issued and verified (VerifiedCookies), so a browser's next request with the same
 * cookie skips the base64, the cryptography and the JSON; a cookie it does not remember is verified in full.
 */

/**
 * Encodes session data into a signed cookie value and verifies and decodes it back. Thread-safe.
 */
final class SignedCookieCodec {

    private static final byte VERSION = 1;
    private static final byte FLAG_DEFLATED = 1;
    private static final int ID_BYTES = 32;
    private static final int HEADER_BYTES = 1 + 1 + 8 + 8 + 8 + 4 + ID_BYTES;
    private static final int MAC_BYTES = 32;
    private static final int MAC_CHARS = 43;
    private static final int MAX_COOKIE_CHARS = 8192;
    private static final int MAX_PAYLOAD_BYTES = 64 * 1024;
    /**
     * Deflate costs several times the HMAC; it pays only where it keeps a large session under the browser's
     * 4096-byte limit, so smaller sessions are not compressed.
     */
    private static final int DEFLATE_ABOVE_BYTES = 2048;

    private static final byte[] SALT = "vertx-sessions.signed-cookie.v1".getBytes(StandardCharsets.US_ASCII);
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64_DECODER = Base64.getUrlDecoder();
    private static final String B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static final byte VERSION_ENCRYPTED = 2;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final byte[] ENCRYPTION_KEY_LABEL =
            "vertx-sessions.cookie-encryption.v1".getBytes(StandardCharsets.US_ASCII);

    private final List<ThreadLocal<Mac>> macs = new ArrayList<>();
    private final List<SecretKeySpec> encryptionKeys = new ArrayList<>();
    private final boolean encrypt;
    private final ThreadLocal<javax.crypto.Cipher> ciphers = ThreadLocal.withInitial(() -> {
        try {
            return javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM is not available in this JVM", e);
        }
    });
    private final ThreadLocal<Deflater> deflaters =
            ThreadLocal.withInitial(() -> new Deflater(Deflater.BEST_SPEED, true));
    private final ThreadLocal<Inflater> inflaters = ThreadLocal.withInitial(() -> new Inflater(true));
    private final VerifiedCookies verified = new VerifiedCookies();
    /** The nonce's fixed field, random per codec. */
    private final int nonceFixedField;
    /** The nonce's counter, from a random start. */
    private final AtomicLong nonceCounter;

    /** What a verified cookie holds. */
    static final class Contents {
        /** The session ID, base64url. */
        final String id;
        /** When the session was created, epoch ms. */
        final long createdAt;
        /** When this cookie was issued (the session last saved), epoch ms. */
        final long issuedAt;
        /** When this cookie expires, epoch ms. */
        final long expiresAt;
        /** The per-session expiry in seconds, or 0 for the configured one. */
        final int perSessionExpirySeconds;
        /** The session data. */
        final Map<String, Object> data;
        /** Whether the cookie was signed with a fallback key (so it should be re-issued). */
        final boolean signedWithFallbackKey;
        /** How many bytes of JSON the data was read from or written as; 0 when unknown (a copy). */
        final int jsonBytes;

        Contents(
                String id,
                long createdAt,
                long issuedAt,
                long expiresAt,
                int perSessionExpirySeconds,
                Map<String, Object> data,
                boolean signedWithFallbackKey) {
            this(id, createdAt, issuedAt, expiresAt, perSessionExpirySeconds, data, signedWithFallbackKey, 0);
        }

        Contents(
                String id,
                long createdAt,
                long issuedAt,
                long expiresAt,
                int perSessionExpirySeconds,
                Map<String, Object> data,
                boolean signedWithFallbackKey,
                int jsonBytes) {
            this.id = id;
            this.createdAt = createdAt;
            this.issuedAt = issuedAt;
            this.expiresAt = expiresAt;
            this.perSessionExpirySeconds = perSessionExpirySeconds;
            this.data = data;
            this.signedWithFallbackKey = signedWithFallbackKey;
            this.jsonBytes = jsonBytes;
        }
    }

    /**
     * Creates a codec that signs with {@code secretKey} and also verifies with {@code fallbackKeys}. Throws
     * {@link IllegalArgumentException} when the secret is missing or shorter than 32 bytes.
     */
    SignedCookieCodec(String secretKey, List<String> fallbackKeys) {
        this(secretKey, fallbackKeys, false);
    }

    /**
     * Creates a codec as {@link #SignedCookieCodec(String, List)} that, when {@code encrypt} is true, also encrypts
     * cookies with AES-256-GCM so clients cannot read the session's contents.
     */
    SignedCookieCodec(String secretKey, List<String> fallbackKeys, boolean encrypt) {
        this.encrypt = encrypt;
        SecureRandom random = new SecureRandom();
        this.nonceFixedField = random.nextInt();
        this.nonceCounter = new AtomicLong(random.nextLong());
        if (secretKey == null || secretKey.getBytes(StandardCharsets.UTF_8).length < SessionConfig.MIN_SECRET_BYTES) {
            throw new IllegalArgumentException(
                    "secret_key is required by the signed-cookie backend and must be at least "
                            + SessionConfig.MIN_SECRET_BYTES + " bytes: generate one with `openssl rand -hex 32`");
        }
        macs.add(macFor(secretKey));
        for (String key : fallbackKeys) {
            macs.add(macFor(key));
        }
        for (ThreadLocal<Mac> mac : macs) {
            byte[] derived = mac.get().doFinal(ENCRYPTION_KEY_LABEL);
            encryptionKeys.add(new SecretKeySpec(derived, "AES"));
        }
        if (encrypt) {
            ciphers.get(); // fail at start-up, not on the first request
        }
    }

    private static ThreadLocal<Mac> macFor(String secret) {
        SecretKeySpec key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        ThreadLocal<Mac> mac = ThreadLocal.withInitial(() -> {
            try {
                Mac instance = Mac.getInstance("HmacSHA256");
                instance.init(key);
                return instance;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
            }
        });
        mac.get(); // fail at start-up, not on the first request
        return mac;
    }

    /** Encodes and signs a session with the current key; {@code data} holds plain JSON values. */
    String encode(
            String id,
            long createdAt,
            long issuedAt,
            long expiresAt,
            int perSessionExpirySeconds,
            Map<String, Object> data) {
        byte[] json = JsonValues.write(data);
        byte flags = 0;
        byte[] payload = json;
        if (json.length > DEFLATE_ABOVE_BYTES) {
            byte[] deflated = deflate(json);
            if (deflated.length < json.length) {
                payload = deflated;
                flags = FLAG_DEFLATED;
            }
        }
        ByteBuffer body = ByteBuffer.allocate(HEADER_BYTES + payload.length);
        body.put(VERSION)
                .put(flags)
                .putLong(createdAt)
                .putLong(issuedAt)
                .putLong(expiresAt)
                .putInt(perSessionExpirySeconds)
                .put(B64_DECODER.decode(id))
                .put(payload);
        byte[] bodyBytes = body.array();
        String cookie = encrypt
                ? B64.encodeToString(seal(bodyBytes))
                : B64.encodeToString(bodyBytes) + "."
                        + B64.encodeToString(sign(macs.get(0).get(), bodyBytes));
        verified.put(
                cookie,
                new Contents(id, createdAt, issuedAt, expiresAt, perSessionExpirySeconds, data, false, json.length));
        return cookie;
    }

    private byte[] seal(byte[] body) {
        byte[] out = new byte[1 + NONCE_BYTES + body.length - 1 + TAG_BITS / 8];
        out[0] = VERSION_ENCRYPTED;
        ByteBuffer.wrap(out, 1, NONCE_BYTES).putInt(nonceFixedField).putLong(nonceCounter.getAndIncrement());
        try {
            javax.crypto.Cipher cipher = ciphers.get();
            cipher.init(
                    javax.crypto.Cipher.ENCRYPT_MODE,
                    encryptionKeys.get(0),
                    new javax.crypto.spec.GCMParameterSpec(TAG_BITS, out, 1, NONCE_BYTES));
            cipher.updateAAD(SALT);
            cipher.updateAAD(out, 0, 1); // the version byte
            cipher.doFinal(body, 1, body.length - 1, out, 1 + NONCE_BYTES);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cookie encryption failed", e);
        }
    }

    /** Decrypts a version-2 cookie into a version-1 body; null when no key opens it. */
    private byte[] open(String cookieValue, int[] keyIndex) {
        if (!canonicalBase64(cookieValue, 0, cookieValue.length())) {
            return null;
        }
        byte[] sealed;
        try {
            sealed = B64_DECODER.decode(cookieValue);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (sealed.length < 1 + NONCE_BYTES + TAG_BITS / 8 + HEADER_BYTES - 1 || sealed[0] != VERSION_ENCRYPTED) {
            return null;
        }
        javax.crypto.spec.GCMParameterSpec nonce =
                new javax.crypto.spec.GCMParameterSpec(TAG_BITS, sealed, 1, NONCE_BYTES);
        for (int i = 0; i < encryptionKeys.size(); i++) {
            try {
                javax.crypto.Cipher cipher = ciphers.get();
                cipher.init(javax.crypto.Cipher.DECRYPT_MODE, encryptionKeys.get(i), nonce);
                cipher.updateAAD(SALT);
                cipher.updateAAD(new byte[] {VERSION_ENCRYPTED});
                byte[] plain = cipher.doFinal(sealed, 1 + NONCE_BYTES, sealed.length - 1 - NONCE_BYTES);
                byte[] body = new byte[plain.length + 1];
                body[0] = VERSION;
                System.arraycopy(plain, 0, body, 1, plain.length);
                keyIndex[0] = i;
                return body;
            } catch (GeneralSecurityException e) {
                // not this key (or tampered): try the next one
            }
        }
        return null;
    }

    /** Verifies and decodes a cookie value; returns null for anything tampered, truncated or malformed. */
    Contents decode(String cookieValue) {
        if (cookieValue == null || cookieValue.length() > MAX_COOKIE_CHARS) {
            return null;
        }
        Contents remembered = verified.get(cookieValue);
        if (remembered != null) {
            return remembered;
        }
        Contents contents = verifyAndDecode(cookieValue);
        if (contents != null) {
            verified.put(cookieValue, contents);
        }
        return contents;
    }

    private Contents verifyAndDecode(String cookieValue) {
        if (encrypt) {
            int[] opened = new int[1];
            byte[] body = open(cookieValue, opened);
            return body == null ? null : contents(body, opened[0]);
        }
        int dot = cookieValue.length() - MAC_CHARS - 1;
        if (dot <= 0 || cookieValue.charAt(dot) != '.') {
            return null;
        }
        if (!canonicalBase64(cookieValue, 0, dot) || !canonicalBase64(cookieValue, dot + 1, cookieValue.length())) {
            return null;
        }
        String bodyText = cookieValue.substring(0, dot);
        String macText = cookieValue.substring(dot + 1);
        byte[] body;
        byte[] mac;
        try {
            body = B64_DECODER.decode(bodyText);
            mac = B64_DECODER.decode(macText);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (mac.length != MAC_BYTES || body.length < HEADER_BYTES) {
            return null;
        }
        int keyIndex = -1;
        for (int i = 0; i < macs.size(); i++) {
            if (MessageDigest.isEqual(mac, sign(macs.get(i).get(), body))) {
                keyIndex = i;
                break;
            }
        }
        if (keyIndex < 0) {
            return null;
        }
        return contents(body, keyIndex);
    }

    /** Decodes an authenticated version-1 body. */
    private Contents contents(byte[] body, int keyIndex) {
        ByteBuffer header = ByteBuffer.wrap(body);
        byte version = header.get();
        byte flags = header.get();
        if (version != VERSION || (flags & ~FLAG_DEFLATED) != 0) {
            return null;
        }
        long createdAt = header.getLong();
        long issuedAt = header.getLong();
        long expiresAt = header.getLong();
        int perSessionExpiry = header.getInt();
        byte[] id = new byte[ID_BYTES];
        header.get(id);
        try {
            byte[] json = body;
            int offset = HEADER_BYTES;
            int length = body.length - HEADER_BYTES;
            if ((flags & FLAG_DEFLATED) != 0) {
                json = inflate(body, HEADER_BYTES, length);
                offset = 0;
                length = json.length;
            }
            Map<String, Object> data = JsonValues.readMap(json, offset, length); // plain JSON: the middleware unwraps
            return new Contents(
                    B64.encodeToString(id),
                    createdAt,
                    issuedAt,
                    expiresAt,
                    perSessionExpiry,
                    data,
                    keyIndex > 0,
                    length);
        } catch (Exception e) {
            // A correctly signed cookie that does not decode was written by an incompatible version: no session.
            return null;
        }
    }

    /**
     * Returns whether {@code text[from, to)} can be the one base64url encoding (no padding) we would write, given
     * that it is then decoded by {@code B64_DECODER}: the decoder refuses any character outside the alphabet and a
     * lone last character, but accepts padding and ignores the unused low bits of the last character, so without
     * this check several strings would decode to the same signed bytes and a modified cookie would be accepted.
     */
    static boolean canonicalBase64(String text, int from, int to) {
        int remainder = (to - from) % 4;
        if (remainder == 1) {
            return false;
        }
        int padding = text.indexOf('=', from);
        if (padding >= 0 && padding < to) {
            return false;
        }
        if (remainder == 0) {
            return true;
        }
        // No loop over the alphabet here: it cost more than the HMAC (profiled), and the decoder checks it anyway.
        int value = B64_ALPHABET.indexOf(text.charAt(to - 1));
        return value >= 0 && (remainder == 2 ? (value & 0x0F) == 0 : (value & 0x03) == 0);
    }

    private static byte[] sign(Mac mac, byte[] body) {
        mac.update(SALT);
        return mac.doFinal(body);
    }

    private byte[] deflate(byte[] input) {
        Deflater deflater = deflaters.get();
        deflater.reset();
        deflater.setInput(input);
        deflater.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream(input.length);
        byte[] chunk = new byte[Math.max(256, input.length)];
        while (!deflater.finished()) {
            int n = deflater.deflate(chunk);
            out.write(chunk, 0, n);
        }
        return out.toByteArray();
    }

    private byte[] inflate(byte[] input, int offset, int length) throws DataFormatException {
        Inflater inflater = inflaters.get();
        inflater.reset();
        inflater.setInput(input, offset, length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(length * 4);
        byte[] chunk = new byte[4096];
        while (!inflater.finished()) {
            int n = inflater.inflate(chunk);
            if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                throw new DataFormatException("truncated payload");
            }
            out.write(chunk, 0, n);
            if (out.size() > MAX_PAYLOAD_BYTES) {
                throw new DataFormatException("payload too large");
            }
        }
        return out.toByteArray();
    }
}
