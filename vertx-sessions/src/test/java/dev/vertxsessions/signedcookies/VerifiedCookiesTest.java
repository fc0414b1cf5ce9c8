package dev.vertxsessions.signedcookies;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.TestServer;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The codec's cache of verified cookies changes nothing a decode returns: a remembered cookie gives what a codec that
 * never saw it decodes, a request cannot change what the next one gets, and a modified cookie is still refused.
 */
class VerifiedCookiesTest {

    private static final String ID = Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]);
    private static final long NOW = 1_700_000_000_000L;

    private static Map<String, Object> session() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("counter", 41);
        data.put("big", 5_000_000_000L);
        data.put("ratio", 0.25);
        data.put("name", "Ada");
        data.put("flag", true);
        data.put("none", null);
        data.put("cart", new ArrayList<>(List.of(Map.of("sku", "A-1", "qty", 2), "gift")));
        return data;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rememberedCookie_decodesAsAFreshCodecDoes(boolean encrypt) {
        SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt);
        String cookie = codec.encode(ID, NOW, NOW, NOW + 60_000, 30, session());

        SignedCookieCodec.Contents remembered = codec.decode(cookie);
        SignedCookieCodec.Contents fresh = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt).decode(cookie);

        assertNotNull(fresh);
        assertEquals(fresh.data, remembered.data);
        assertEquals(fresh.id, remembered.id);
        assertEquals(fresh.createdAt, remembered.createdAt);
        assertEquals(fresh.issuedAt, remembered.issuedAt);
        assertEquals(fresh.expiresAt, remembered.expiresAt);
        assertEquals(fresh.perSessionExpirySeconds, remembered.perSessionExpirySeconds);
        assertEquals(fresh.signedWithFallbackKey, remembered.signedWithFallbackKey);
        assertEquals(Integer.class, remembered.data.get("counter").getClass());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @SuppressWarnings("unchecked")
    void changesToADecodedMap_doNotReachTheNextDecode(boolean encrypt) {
        SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt);
        String cookie = codec.encode(ID, NOW, NOW, NOW + 60_000, 0, session());

        for (int request = 0; request < 2; request++) { // the first decode is a hit of the encode, the second of it
            SignedCookieCodec.Contents contents = codec.decode(cookie);
            contents.data.put("counter", 99);
            ((List<Object>) contents.data.get("cart")).add("stolen");
            ((Map<String, Object>) ((List<Object>) contents.data.get("cart")).get(0)).put("qty", 1000);
        }

        assertEquals(session(), codec.decode(cookie).data);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void modifiedCookie_isRefusedAfterTheGenuineOneWasRemembered(boolean encrypt) {
        SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt);
        String cookie = codec.encode(ID, NOW, NOW, NOW + 60_000, 0, Map.of("role", "user"));
        assertNotNull(codec.decode(cookie));

        for (int i = 0; i < cookie.length(); i++) {
            char replacement = cookie.charAt(i) == 'A' ? 'B' : 'A';
            String modified = cookie.substring(0, i) + replacement + cookie.substring(i + 1);
            assertNull(codec.decode(modified), "modified at " + i);
        }
        assertNull(codec.decode(cookie + "A"));
        assertNull(codec.decode(cookie.substring(0, cookie.length() - 1)));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void valueThatDecodesAsAnotherType_isDecodedNotRemembered(boolean encrypt) {
        SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("price", new BigDecimal("12.50"));
        data.put("small", 7L);
        String cookie = codec.encode(ID, NOW, NOW, NOW + 60_000, 0, data);

        SignedCookieCodec.Contents contents = codec.decode(cookie);

        assertEquals(12.5, contents.data.get("price")); // what JSON gives back, as before the cache
        assertEquals(7, contents.data.get("small"));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void cookieOfAnotherKey_isRefusedThoughTheSameTextWasRememberedElsewhere(boolean encrypt) {
        String cookie = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt)
                .encode(ID, NOW, NOW, NOW + 60_000, 0, Map.of("role", "admin"));
        SignedCookieCodec other = new SignedCookieCodec(TestServer.SECRET + "-other", List.of(), encrypt);

        assertNull(other.decode(cookie));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void largeDeflatedSession_decodesAsAFreshCodecDoes(boolean encrypt) {
        SignedCookieCodec codec = new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("notes", "a".repeat(20_000)); // deflates into a short cookie: too much JSON to be remembered
        String cookie = codec.encode(ID, NOW, NOW, NOW + 60_000, 0, data);

        SignedCookieCodec.Contents first = codec.decode(cookie);
        first.data.put("notes", "changed");

        assertEquals(data, codec.decode(cookie).data);
        assertEquals(data, new SignedCookieCodec(TestServer.SECRET, List.of(), encrypt).decode(cookie).data);
    }

    @org.junit.jupiter.api.Test
    void sameCookie_comparesWholeStrings_theAuthenticatorAndTheRest() {
        String tail = "T".repeat(VerifiedCookies.AUTHENTICATOR_CHARS);
        assertTrue(VerifiedCookies.sameCookie("abc", "abc"));
        assertFalse(VerifiedCookies.sameCookie("abc", "abd"));
        assertFalse(VerifiedCookies.sameCookie("xbc", "abc"));
        assertFalse(VerifiedCookies.sameCookie("abc", "abcd"));
        assertTrue(VerifiedCookies.sameCookie("", ""));
        assertTrue(VerifiedCookies.sameCookie("payload." + tail, "payload." + tail));
        assertFalse(VerifiedCookies.sameCookie("payload." + tail, "paYload." + tail), "a difference before the tag");
        assertFalse(VerifiedCookies.sameCookie("payload." + tail, "payload." + tail.substring(1) + "U"));
        assertFalse(VerifiedCookies.sameCookie("payload." + tail, "payload." + "U" + tail.substring(1)));
    }

    @org.junit.jupiter.api.Test
    void twoCookiesOfOneSlot_areBothRemembered_andAThirdDropsTheOlder() {
        List<String> pair = new ArrayList<>(); // three cookie texts that hash to one pair of slots
        Map<Integer, List<String>> byPair = new LinkedHashMap<>();
        for (int i = 0; pair.isEmpty(); i++) {
            String cookie = "cookie-" + i + "." + "T".repeat(VerifiedCookies.AUTHENTICATOR_CHARS);
            List<String> same = byPair.computeIfAbsent(VerifiedCookies.indexOf(cookie), k -> new ArrayList<>());
            same.add(cookie);
            if (same.size() == 3) {
                pair.addAll(same);
            }
        }
        VerifiedCookies cache = new VerifiedCookies();
        cache.put(pair.get(0), contents(1));
        cache.put(pair.get(1), contents(2));
        assertEquals(1, cache.get(pair.get(0)).data.get("counter"), "a direct-mapped cache lost the first here");
        assertEquals(2, cache.get(pair.get(1)).data.get("counter"));

        cache.put(pair.get(2), contents(3));
        assertNull(cache.get(pair.get(0)), "the older of the two is dropped");
        assertEquals(2, cache.get(pair.get(1)).data.get("counter"));
        assertEquals(3, cache.get(pair.get(2)).data.get("counter"));

        cache.put(pair.get(1), contents(4)); // the same cookie again: moves first, keeps the other
        assertEquals(4, cache.get(pair.get(1)).data.get("counter"));
        assertEquals(3, cache.get(pair.get(2)).data.get("counter"));
    }

    private static SignedCookieCodec.Contents contents(int counter) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("counter", counter);
        return new SignedCookieCodec.Contents(ID, NOW, NOW, NOW + 60_000, 0, data, false, 13);
    }
}
