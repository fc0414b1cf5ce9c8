package dev.vertxsessions.signedcookies;

import dev.vertxsessions.internal.JsonValues;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The hot path of the signed-cookie backend: encode+sign a session into a cookie value, and verify+decode it back,
 * for a one-key session ({@code small}) and a session of about 1 KB of JSON ({@code 1kb}); and, as the floor
 * under both, one raw HMAC-SHA256 (reused {@link Mac}) over exactly the bytes the cookie's MAC covers.
 *
 * <p>Run with {@code bench/jmh.sh} (or
 * {@code java -jar bench/target/benchmarks.jar SignedCookieBenchmark -f1 -wi 2 -i 3 -w 2s -r 2s}).
 *
 * <p>The {@code part*} methods time the pieces of the codec on their own (same bytes, same settings as the codec:
 * Jackson through the library's shared mapper, raw deflate at BEST_SPEED with reused Deflater/Inflater), to show
 * where encode and decode spend their time.
 *
 * <p>The 1 KB session is a plausible mix (user profile, roles, a CSRF token, a small cart) built from a fixed seed;
 * its JSON is larger than the codec's deflate threshold, so encode deflates and decode inflates it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SignedCookieBenchmark {

    private static final String SECRET = "bench-secret-0123456789abcdef0123456789abcdef";
    /** The codec's fixed MAC context string, so the HMAC baseline covers the very same bytes. */
    private static final byte[] SALT = "vertx-sessions.signed-cookie.v1".getBytes(StandardCharsets.US_ASCII);

    @Param({"small", "1kb"})
    public String session;

    /** Whether the codec also encrypts (AES-256-GCM, the default since cookie_encryption became true). */
    @Param({"false", "true"})
    public boolean encrypted;

    private SignedCookieCodec codec;
    private Map<String, Object> data;
    private String id;
    private long createdAt;
    private String cookie;
    private byte[] macInput;
    private Mac mac;
    private byte[] json;
    private byte[] deflated;
    private final byte[] scratch = new byte[64 * 1024];
    private final Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
    private final Inflater inflater = new Inflater(true);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        codec = new SignedCookieCodec(SECRET, List.of(), encrypted);
        Random random = new Random(42);
        byte[] idBytes = new byte[32];
        random.nextBytes(idBytes);
        id = Base64.getUrlEncoder().withoutPadding().encodeToString(idBytes);
        createdAt = 1_700_000_000_000L;
        data = session.equals("small") ? Map.of("counter", 42) : oneKilobyte(random);
        cookie = codec.encode(id, createdAt, createdAt, createdAt + 86_400_000L, 0, data);
        if (codec.decode(cookie) == null) {
            throw new IllegalStateException("the codec does not read back its own cookie");
        }
        String signedOnly = new SignedCookieCodec(SECRET, List.of())
                .encode(id, createdAt, createdAt, createdAt + 86_400_000L, 0, data);
        byte[] body = Base64.getUrlDecoder().decode(signedOnly.substring(0, signedOnly.lastIndexOf('.')));
        macInput = new byte[SALT.length + body.length];
        System.arraycopy(SALT, 0, macInput, 0, SALT.length);
        System.arraycopy(body, 0, macInput, SALT.length, body.length);
        mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        json = JsonValues.write(data);
        deflated = java.util.Arrays.copyOf(scratch, partDeflate());
        System.out.printf(
                "%n# session=%s: JSON %d bytes (deflated %d), cookie value %d chars, MAC input %d bytes%n",
                session, json.length, deflated.length, cookie.length(), macInput.length);
    }

    @Benchmark
    public String encodeAndSign() {
        return codec.encode(id, createdAt, createdAt, createdAt + 86_400_000L, 0, data);
    }

    @Benchmark
    public SignedCookieCodec.Contents verifyAndDecode() {
        return codec.decode(cookie);
    }

    @Benchmark
    public byte[] rawHmacSha256() {
        return mac.doFinal(macInput);
    }

    @Benchmark
    public Object partJsonRead() throws java.io.IOException {
        return JsonValues.readMap(json, 0, json.length);
    }

    @Benchmark
    public byte[] partJsonWrite() {
        return JsonValues.write(data);
    }

    @Benchmark
    public int partDeflate() {
        deflater.reset();
        deflater.setInput(json);
        deflater.finish();
        int n = 0;
        while (!deflater.finished()) {
            n += deflater.deflate(scratch, n, scratch.length - n);
        }
        return n;
    }

    @Benchmark
    public int partInflate() throws DataFormatException {
        inflater.reset();
        inflater.setInput(deflated);
        int n = 0;
        while (!inflater.finished()) {
            n += inflater.inflate(scratch, n, scratch.length - n);
        }
        return n;
    }

    /** About 1 KB of JSON: what an application with a logged-in user and a cart might keep. */
    static Map<String, Object> oneKilobyte(Random random) {
        Map<String, Object> data = new LinkedHashMap<>();
        Map<String, Object> user = new LinkedHashMap<>();
        user.put("id", 1_048_577);
        user.put("name", "Ada Lovelace");
        user.put("email", "ada.lovelace@example.org");
        user.put("roles", List.of("user", "editor", "billing"));
        user.put("locale", "en-GB");
        user.put("timezone", "Europe/London");
        data.put("user", user);
        data.put("csrf", token(random, 43));
        data.put("flash", "Your changes have been saved.");
        List<Object> cart = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("sku", "SKU-" + (100_000 + random.nextInt(900_000)));
            item.put("qty", 1 + random.nextInt(5));
            item.put("price", (1_000 + random.nextInt(90_000)) / 100.0);
            item.put("note", token(random, 12));
            cart.add(item);
        }
        data.put("cart", cart);
        data.put(
                "recently_viewed", List.of(token(random, 10), token(random, 10), token(random, 10), token(random, 10)));
        data.put("counter", 42);
        return data;
    }

    private static String token(Random random, int length) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        StringBuilder token = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            token.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return token.toString();
    }
}
