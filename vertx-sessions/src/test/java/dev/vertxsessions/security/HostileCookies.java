package dev.vertxsessions.security;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Generates hostile session cookie values from a seeded {@link Random}: mutations of genuine cookies (bit flips
 * in the body and in the MAC, truncation, re-encoding, case flips, splices) and values that were never cookies
 * (path traversal, control characters, oversized values). The same seed gives the same cases, so a failure can
 * be replayed with {@code -Dvertxsessions.seed=<seed>}.
 *
 * <p>A value is a Java string whose chars are all in 0..255: each char is sent as one byte.
 */
public final class HostileCookies {

    /** The seed used unless {@code -Dvertxsessions.seed} says otherwise. */
    static final long DEFAULT_SEED = 20240607L;

    private static final String URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static final Base64.Encoder URL = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Encoder URL_PADDED = Base64.getUrlEncoder();
    private static final Base64.Encoder STANDARD = Base64.getEncoder();

    /** One hostile cookie value and what kind of attack it is. */
    public static final class Case {
        public final String kind;
        public final String value;

        Case(String kind, String value) {
            this.kind = kind;
            this.value = value;
        }

        @Override
        public String toString() {
            return kind + ": " + printable(value);
        }
    }

    private final Random random;
    private final List<String> genuine;
    private final Set<String> genuineSet;
    private final int maxValueChars;

    /**
     * @param seed the seed of every random choice
     * @param genuine cookie values the server issued (never generated as a hostile value)
     * @param maxValueChars the longest value that still fits in the server's header limit with our request layout
     */
    public HostileCookies(long seed, List<String> genuine, int maxValueChars) {
        this.random = new Random(seed);
        this.genuine = List.copyOf(genuine);
        this.genuineSet = Set.copyOf(genuine);
        this.maxValueChars = maxValueChars;
    }

    /** Returns the seed to use: {@code -Dvertxsessions.seed} or {@link #DEFAULT_SEED}. */
    public static long seed() {
        String property = System.getProperty("vertxsessions.seed");
        return property == null || property.isBlank() ? DEFAULT_SEED : Long.parseLong(property.trim());
    }

    /** Returns {@code perKind} cases of every kind (a few kinds have a fixed list and give fewer or more). */
    public List<Case> generate(int perKind) {
        Map<String, Supplier<String>> kinds = new LinkedHashMap<>();
        kinds.put("bit-flip-body", () -> flipBits(pick(), false));
        kinds.put("bit-flip-mac", () -> flipBits(pick(), true));
        kinds.put("truncated", this::truncated);
        kinds.put("standard-base64", this::standardBase64);
        kinds.put("padding-added", this::paddingAdded);
        kinds.put("non-canonical-trailing-bits", this::trailingBits);
        kinds.put("case-flipped", this::caseFlipped);
        kinds.put("char-replaced", this::charReplaced);
        kinds.put("char-inserted-or-deleted", this::insertedOrDeleted);
        kinds.put("spliced", this::spliced);
        kinds.put("well-formed-random", this::wellFormedRandom);
        kinds.put("oversized", this::oversized);
        kinds.put("random-printable", () -> randomString(1 + random.nextInt(300), 0x20, 0x7e));
        kinds.put("random-bytes-obs-text", () -> randomString(1 + random.nextInt(200), 0x80, 0xff));
        kinds.put("control-chars", this::controlChars);
        kinds.put("path-like", this::pathLike);
        List<Case> cases = new ArrayList<>();
        for (Map.Entry<String, Supplier<String>> kind : kinds.entrySet()) {
            int made = 0;
            for (int attempt = 0; made < perKind && attempt < perKind * 20; attempt++) {
                String value = kind.getValue().get();
                if (value != null && !value.isEmpty() && !genuineSet.contains(value)) {
                    cases.add(new Case(kind.getKey(), value));
                    made++;
                }
            }
        }
        for (String fixed : FIXED) {
            cases.add(new Case("fixed", fixed));
        }
        // Unicode look-alikes of '.' and '/' (fullwidth, two-dot leader, division slash), sent as UTF-8 bytes.
        for (String lookalike : List.of("\uff0e\uff0e\uff0fx", "\u2025/x", "..\u2215x", "session_\u00e9", "\u0000")) {
            cases.add(new Case("fixed-utf8", utf8Bytes(lookalike)));
        }
        cases.add(new Case("oversized-over-header-limit", "A".repeat(maxValueChars + 1)));
        cases.add(new Case("oversized-at-header-limit", "A".repeat(maxValueChars)));
        return cases;
    }

    /** Hand-picked values that have broken real session libraries. */
    private static final List<String> FIXED = List.of(
            "../x",
            "..",
            ".",
            "/",
            "./session_x",
            "../../../../../../etc/passwd",
            "/etc/passwd",
            "/dev/zero",
            "/proc/self/environ",
            "C:\\Windows\\win.ini",
            "..\\..\\x",
            "%2e%2e%2fx",
            "%2e%2e/x",
            "..%2fx",
            "..%252fx",
            "....//x",
            "..;/x",
            "%00",
            "x%00.json",
            "null",
            "undefined",
            "[]",
            "{}",
            "{\"user\":\"admin\"}",
            "0",
            "-1",
            "true",
            "=",
            "==",
            ".",
            "..",
            "...",
            "a.b",
            ".a",
            "a.",
            "\"\"",
            "'",
            "\\",
            "*",
            "?",
            "~",
            "~root",
            "$(id)",
            "`id`",
            "%",
            "%%",
            "%zz",
            "+",
            "/",
            "AAAA.AAAA",
            "\u00ff\u00fe",
            "\u00c3\u00a9");

    private String pick() {
        return genuine.get(random.nextInt(genuine.size()));
    }

    /** Flips 1 to 3 bits in the decoded bytes of the body (or, for a one-part value, anywhere) or of the MAC. */
    private String flipBits(String value, boolean inMac) {
        int dot = value.lastIndexOf('.');
        String head = dot < 0 ? "" : value.substring(0, dot + 1);
        String mac = dot < 0 ? value : value.substring(dot + 1);
        String body = dot < 0 ? value : value.substring(0, dot);
        if (inMac) {
            byte[] bytes = Base64.getUrlDecoder().decode(mac);
            flip(bytes);
            return head + URL.encodeToString(bytes);
        }
        byte[] bytes = Base64.getUrlDecoder().decode(body);
        flip(bytes);
        return URL.encodeToString(bytes) + (dot < 0 ? "" : value.substring(dot));
    }

    private void flip(byte[] bytes) {
        int flips = 1 + random.nextInt(3);
        for (int i = 0; i < flips; i++) {
            int bit = random.nextInt(bytes.length * 8);
            bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        }
    }

    private String truncated() {
        String value = pick();
        int keep = random.nextInt(value.length());
        return random.nextBoolean() ? value.substring(0, keep) : value.substring(value.length() - keep);
    }

    /** Re-encodes a part with the standard alphabet ('+' and '/'), with or without padding. */
    private String standardBase64() {
        String value = pick();
        int dot = value.lastIndexOf('.');
        String[] parts =
                dot < 0 ? new String[] {value} : new String[] {value.substring(0, dot), value.substring(dot + 1)};
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < parts.length; i++) {
            byte[] bytes = Base64.getUrlDecoder().decode(parts[i]);
            String encoded = STANDARD.encodeToString(bytes);
            out.append(i > 0 ? "." : "").append(random.nextBoolean() ? encoded : encoded.replace("=", ""));
        }
        String result = out.toString();
        return result.equals(value) ? null : result; // only different when a '+', '/' or '=' appeared
    }

    /** Adds '=' padding to one part: the same bytes, a different string. */
    private String paddingAdded() {
        String value = pick();
        int dot = value.lastIndexOf('.');
        int where = random.nextInt(3);
        if (dot < 0 || where == 0) {
            String body = dot < 0 ? value : value.substring(0, dot);
            String padded = URL_PADDED.encodeToString(Base64.getUrlDecoder().decode(body));
            String extra = padded.equals(body) ? "=" : "";
            return padded + extra + (dot < 0 ? "" : value.substring(dot));
        }
        if (where == 1) {
            return value.substring(0, dot + 1)
                    + URL_PADDED.encodeToString(Base64.getUrlDecoder().decode(value.substring(dot + 1)));
        }
        return value + "=".repeat(1 + random.nextInt(2));
    }

    /**
     * Changes the unused low bits of a part's last character: a decoder that ignores them reads the same bytes from
     * a string the server never issued.
     */
    private String trailingBits() {
        String value = pick();
        int dot = value.lastIndexOf('.');
        int end = random.nextBoolean() || dot < 0 ? value.length() : dot;
        int start = end == value.length() ? dot + 1 : 0;
        int bits = (end - start) * 6 % 8; // unused bits in the last character
        if (bits == 0) {
            return null;
        }
        int last = URL_ALPHABET.indexOf(value.charAt(end - 1));
        int changed = last ^ (1 + random.nextInt((1 << bits) - 1));
        return value.substring(0, end - 1) + URL_ALPHABET.charAt(changed) + value.substring(end);
    }

    private String caseFlipped() {
        char[] chars = pick().toCharArray();
        int flips = 1 + random.nextInt(4);
        for (int i = 0; i < flips; i++) {
            int at = random.nextInt(chars.length);
            char c = chars[at];
            chars[at] = Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c);
        }
        return new String(chars);
    }

    private String charReplaced() {
        char[] chars = pick().toCharArray();
        int at = random.nextInt(chars.length);
        chars[at] = URL_ALPHABET.charAt(random.nextInt(URL_ALPHABET.length()));
        return new String(chars);
    }

    private String insertedOrDeleted() {
        StringBuilder value = new StringBuilder(pick());
        int at = random.nextInt(value.length());
        if (random.nextBoolean()) {
            value.deleteCharAt(at);
        } else {
            value.insert(at, "ABCDEFGHabcdefgh0123-_.".charAt(random.nextInt(23)));
        }
        return value.toString();
    }

    /** Joins the body of one genuine cookie to the MAC of another, or halves of two session IDs. */
    private String spliced() {
        String a = pick();
        String b = pick();
        if (a.equals(b)) {
            return null;
        }
        int dotA = a.lastIndexOf('.');
        int dotB = b.lastIndexOf('.');
        if (dotA < 0 || dotB < 0) {
            int cut = 1 + random.nextInt(Math.min(a.length(), b.length()) - 1);
            return a.substring(0, cut) + b.substring(cut);
        }
        return a.substring(0, dotA) + b.substring(dotB);
    }

    /** A value with the exact shape of a genuine one (same part lengths, base64url) but random content. */
    private String wellFormedRandom() {
        String value = pick();
        int dot = value.lastIndexOf('.');
        byte[] id = new byte[32];
        random.nextBytes(id);
        if (dot < 0) {
            return URL.encodeToString(id);
        }
        byte[] body = new byte[Base64.getUrlDecoder().decode(value.substring(0, dot)).length];
        random.nextBytes(body);
        body[0] = 1; // the codec's version byte, so the MAC check is what refuses it
        body[1] = 0;
        return URL.encodeToString(body) + "." + URL.encodeToString(id);
    }

    /** A genuine value followed by filler, from just over 4096 characters up to the header limit. */
    private String oversized() {
        String value = pick();
        int length = 4000 + random.nextInt(maxValueChars - 4000 + 1);
        StringBuilder out = new StringBuilder(length).append(value);
        while (out.length() < length) {
            out.append(URL_ALPHABET.charAt(random.nextInt(URL_ALPHABET.length())));
        }
        out.setLength(length);
        return out.toString();
    }

    private String randomString(int length, int from, int to) {
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            out.append((char) (from + random.nextInt(to - from + 1)));
        }
        return out.toString();
    }

    /** A short value containing control characters other than CR and LF (NUL, ESC, DEL, ...). */
    private String controlChars() {
        StringBuilder out = new StringBuilder(random.nextBoolean() ? pick().substring(0, 10) : "x");
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            int c;
            do {
                c = random.nextInt(10) == 0 ? 0x7f : random.nextInt(0x20);
            } while (c == '\r' || c == '\n' || c == '\t');
            out.insert(random.nextInt(out.length() + 1), (char) c);
        }
        return out.toString();
    }

    private static final String[] TRAVERSALS = {
        "../",
        "..\\",
        "%2e%2e/",
        "%2e%2e%2f",
        "..%2f",
        "%2e%2e%5c",
        "....//",
        "..%c0%af",
        "/",
        "./",
        "%2f",
        "\u00c0\u00ae\u00c0\u00ae/"
    };
    private static final String[] TARGETS = {
        "x",
        "etc/passwd",
        "session_",
        "sessions/session_",
        ".vertx-sessions.lock",
        "decoy/session_",
        ".tmp-session_",
        "tmp"
    };

    /** Path-traversal and absolute-path values, some ending in a well-formed session ID. */
    private String pathLike() {
        StringBuilder out = new StringBuilder();
        if (random.nextInt(4) == 0) {
            out.append("/tmp/");
        }
        int depth = random.nextInt(5);
        for (int i = 0; i < depth; i++) {
            out.append(TRAVERSALS[random.nextInt(TRAVERSALS.length)]);
        }
        out.append(TARGETS[random.nextInt(TARGETS.length)]);
        if (random.nextBoolean()) {
            byte[] id = new byte[32];
            random.nextBytes(id);
            out.append(URL.encodeToString(id));
        }
        if (random.nextInt(5) == 0) {
            out.append("%00");
        }
        return out.toString();
    }

    /** Renders a value for a failure message: control characters and non-ASCII as \\xNN, long values shortened. */
    public static String printable(String value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length() && out.length() < 200; i++) {
            char c = value.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return value.length() > 200 ? out + "...(" + value.length() + " chars)" : out.toString();
    }

    /** Returns {@code text} as the ISO-8859-1 string of its UTF-8 bytes, ready to go on the wire byte for byte. */
    static String utf8Bytes(String text) {
        return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }
}
