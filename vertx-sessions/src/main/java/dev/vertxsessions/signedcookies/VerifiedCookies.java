package dev.vertxsessions.signedcookies;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;

/*
 * Why a cache of verified cookies.
 *
 * A browser sends the cookie it was last given on every request until a save gives it another one, so most requests
 * carry a cookie this process issued or verified moments before. Decoding it again (base64, AES-GCM or HMAC, JSON) is
 * a pure function of the cookie's text and the codec's keys, and it was the largest part of a signed-cookie request's
 * session cost (profiled: a fifth of the JVM's samples on a read). So the codec remembers what it encoded and what it
 * verified: the next request with exactly that text gets the same contents without the cryptography.
 *
 * What this keeps:
 * - Only cookies that verified (or that the codec itself issued) are remembered; anything else, a tampered or forged
 *   cookie included, is decoded and verified in full every time.
 * - A hit needs the very text, compared in constant time, so the time a lookup takes says nothing about how much of a
 *   stored cookie an attacker's guess matched. The slot is chosen by the guess's own hash.
 * - Expiry is not the cache's business: the contents carry the session's times, and the middleware checks them on
 *   every request, hit or not.
 * - A request may change the map it is given: every hit returns a copy, and the cache keeps its own copy.
 * - Only sessions whose values are what decoding gives back (strings, booleans, ints, longs beyond an int, finite
 *   doubles, null, maps and lists of those) are remembered at encode time, so a hit returns exactly what a decode
 *   would have.
 *
 * Bounded: SLOTS entries, each a cookie of at most MAX_COOKIE_CHARS characters holding at most MAX_JSON_BYTES of
 * JSON (a deflated cookie can hold 64 KB, so the cookie's length alone does not bound its data). At worst (every slot
 * a 1 KB session made of tiny values) that is under 20 MB; for one-key sessions about 0.5 MB.
 *
 * Two-way: a cookie may sit in either slot of its pair; a new entry takes the first slot and moves the one there to
 * the second, dropping what the second held (the one stored earlier). Direct-mapped (one slot per cookie), two
 * browsers whose cookies hash to one slot evicted each other on every request: a profile of one benchmark run with 8
 * cookies met that (the full decode was 23 % of the JVM's samples there, against 6 % for the hit path in the next run).
 */

/** A bounded, thread-safe map from cookie text to the contents it verified to (see the note above). */
final class VerifiedCookies {

    /** How many cookies are remembered at most (a power of two). */
    static final int SLOTS = 1024;
    /** Longer cookies are not remembered, which bounds the memory the cache holds. */
    static final int MAX_COOKIE_CHARS = 2048;
    /** Sessions of more JSON than this are not remembered (a session is parsed once per save then, not per request). */
    static final int MAX_JSON_BYTES = 1024;

    private static final class Slot {
        final String cookie;
        final SignedCookieCodec.Contents contents;

        Slot(String cookie, SignedCookieCodec.Contents contents) {
            this.cookie = cookie;
            this.contents = contents;
        }
    }

    private final AtomicReferenceArray<Slot> slots = new AtomicReferenceArray<>(SLOTS);

    /** Returns a copy of what {@code cookie} verified to, or null when it is not remembered. */
    SignedCookieCodec.Contents get(String cookie) {
        int first = indexOf(cookie);
        Slot slot = slots.get(first);
        if (slot == null || !sameCookie(slot.cookie, cookie)) {
            slot = slots.get(first + 1);
            if (slot == null || !sameCookie(slot.cookie, cookie)) {
                return null;
            }
        }
        return copy(slot.contents);
    }

    /**
     * Remembers that {@code cookie} holds {@code contents} (verified, or just encoded by the codec); does nothing when
     * the cookie or its JSON is too long, or a value is of a type decoding would not give back. Keeps a copy of the
     * data.
     */
    void put(String cookie, SignedCookieCodec.Contents contents) {
        if (cookie.length() > MAX_COOKIE_CHARS
                || contents.jsonBytes <= 0
                || contents.jsonBytes > MAX_JSON_BYTES
                || !decodesAsItself(contents.data)) {
            return;
        }
        int first = indexOf(cookie);
        Slot displaced = slots.getAndSet(first, new Slot(cookie, copy(contents)));
        if (displaced != null && !sameCookie(displaced.cookie, cookie)) {
            slots.set(first + 1, displaced); // a race may drop an entry: it is decoded again, nothing else
        }
    }

    /** Returns the first slot of the pair where {@code cookie} may be remembered (the second is the next one). */
    static int indexOf(String cookie) {
        int hash = cookie.hashCode();
        return (hash ^ (hash >>> 16)) & (SLOTS - 2);
    }

    /** Characters at the end of every cookie that hold its authenticator: the HMAC (43), or the GCM tag (22). */
    static final int AUTHENTICATOR_CHARS = 43;

    /**
     * Returns whether a presented cookie is the remembered one. The characters that hold the authenticator are
     * compared in constant time (every one, whatever the first difference); the rest with {@link String#regionMatches},
     * whose time may tell how much of another browser's cookie a guess got right, which is harmless: without its
     * authenticator, which such timing cannot reveal, no part of a cookie is accepted.
     */
    static boolean sameCookie(String remembered, String presented) {
        int length = remembered.length();
        if (length != presented.length()) {
            return false;
        }
        int start = Math.max(0, length - AUTHENTICATOR_CHARS);
        int difference = 0;
        for (int i = start; i < length; i++) {
            difference |= remembered.charAt(i) ^ presented.charAt(i);
        }
        boolean restMatches = remembered.regionMatches(0, presented, 0, start); // compared whatever the tag gave
        return difference == 0 && restMatches;
    }

    private static SignedCookieCodec.Contents copy(SignedCookieCodec.Contents contents) {
        return new SignedCookieCodec.Contents(
                contents.id,
                contents.createdAt,
                contents.issuedAt,
                contents.expiresAt,
                contents.perSessionExpirySeconds,
                copyMap(contents.data),
                contents.signedWithFallbackKey);
    }

    private static LinkedHashMap<String, Object> copyMap(Map<?, ?> map) {
        LinkedHashMap<String, Object> copy = new LinkedHashMap<>(Math.max(4, map.size() * 2));
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            copy.put((String) entry.getKey(), copyValue(entry.getValue()));
        }
        return copy;
    }

    private static Object copyValue(Object value) {
        if (value instanceof Map<?, ?> map) {
            return copyMap(map);
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            for (Object element : list) {
                copy.add(copyValue(element));
            }
            return copy;
        }
        return value; // immutable: decodesAsItself let nothing else in
    }

    /** Returns whether JSON decoding gives {@code value} back as an equal value of the same types. */
    static boolean decodesAsItself(Object value) {
        if (value == null
                || value instanceof String
                || value instanceof Integer
                || value instanceof Boolean
                || (value instanceof Long number && number.longValue() != number.intValue())
                || (value instanceof Double number && Double.isFinite(number))) {
            return true;
        }
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!(entry.getKey() instanceof String) || !decodesAsItself(entry.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (value instanceof List<?> list) {
            for (Object element : list) {
                if (!decodesAsItself(element)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }
}
