package dev.vertxsessions.signedcookies;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.smile.SmileFactory;
import dev.vertxsessions.internal.JsonValues;
import io.vertx.core.json.jackson.VertxModule;
import java.io.IOException;
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
 * <p>{@code verifyAndDecode} decodes cookies the codec does not remember (it cycles through more distinct cookies
 * than the codec's cache of verified cookies holds), so it times the full verification;
 * {@code verifyAndDecodeRemembered} decodes the cookie the codec just issued, as a browser's next request does.
 *
 * <p>The {@code format*} methods compare payload formats for the session data (issue 22): JSON through Jackson's
 * data binding into a {@code LinkedHashMap} (what the codec does), and the binary CBOR and Smile formats, read with
 * data binding or with a small streaming reader.
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

    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};
    private static final ObjectMapper JSON_MAPPER = new ObjectMapper().registerModule(new VertxModule());
    private static final ObjectReader JSON_MAP_READER = JSON_MAPPER.readerFor(MAP);
    private static final ObjectWriter JSON_WRITER = JSON_MAPPER.writer();
    private static final ObjectMapper CBOR_MAPPER = new ObjectMapper(new CBORFactory());
    private static final ObjectReader CBOR_MAP_READER = CBOR_MAPPER.readerFor(MAP);
    private static final ObjectWriter CBOR_WRITER = CBOR_MAPPER.writer();
    private static final ObjectMapper SMILE_MAPPER = new ObjectMapper(new SmileFactory());
    private static final ObjectWriter SMILE_WRITER = SMILE_MAPPER.writer();
    /** Cookies of another codec with the same keys, more than the cache holds: each decode verifies in full. */
    private String[] unremembered;

    private int nextUnremembered;
    private byte[] cbor;
    private byte[] smile;
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
        SignedCookieCodec issuer = new SignedCookieCodec(SECRET, List.of(), encrypted);
        unremembered = new String[VerifiedCookies.SLOTS * 16];
        for (int i = 0; i < unremembered.length; i++) {
            unremembered[i] = issuer.encode(id, createdAt, createdAt + i, createdAt + 86_400_000L, 0, data);
        }
        cbor = CBOR_WRITER.writeValueAsBytes(data);
        smile = SMILE_WRITER.writeValueAsBytes(data);
        if (!formatCborStreamingRead().equals(formatJsonDatabindRead())
                || !formatSmileStreamingRead().equals(formatJsonDatabindRead())) {
            throw new IllegalStateException("the formats do not read back the same map");
        }
        System.out.printf(
                "%n# session=%s: payload JSON %d, CBOR %d, Smile %d bytes%n",
                session, json.length, cbor.length, smile.length);
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
        String next = unremembered[nextUnremembered];
        nextUnremembered = (nextUnremembered + 1) % unremembered.length;
        return codec.decode(next);
    }

    @Benchmark
    public SignedCookieCodec.Contents verifyAndDecodeRemembered() {
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
    public Object formatJsonDatabindRead() throws IOException {
        return JSON_MAP_READER.readValue(json, 0, json.length);
    }

    @Benchmark
    public byte[] formatJsonDatabindWrite() throws IOException {
        return JSON_WRITER.writeValueAsBytes(data);
    }

    @Benchmark
    public Object formatCborDatabindRead() throws IOException {
        return CBOR_MAP_READER.readValue(cbor);
    }

    @Benchmark
    public byte[] formatCborDatabindWrite() throws IOException {
        return CBOR_WRITER.writeValueAsBytes(data);
    }

    @Benchmark
    public Object formatCborStreamingRead() throws IOException {
        return readStreaming(CBOR_MAPPER.getFactory(), cbor);
    }

    @Benchmark
    public Object formatSmileStreamingRead() throws IOException {
        return readStreaming(SMILE_MAPPER.getFactory(), smile);
    }

    @Benchmark
    public byte[] formatSmileDatabindWrite() throws IOException {
        return SMILE_WRITER.writeValueAsBytes(data);
    }

    /** The same small reader as JsonValues', over any Jackson format (PayloadFormats uses it too). */
    static Object readStreaming(JsonFactory factory, byte[] bytes) throws IOException {
        try (JsonParser parser = factory.createParser(bytes)) {
            return readCurrent(parser, parser.nextToken());
        }
    }

    private static Object readCurrent(JsonParser parser, JsonToken token) throws IOException {
        switch (token) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                String name;
                while ((name = parser.nextFieldName()) != null) {
                    map.put(name, readCurrent(parser, parser.nextToken()));
                }
                return map;
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                JsonToken next;
                while ((next = parser.nextToken()) != JsonToken.END_ARRAY) {
                    list.add(readCurrent(parser, next));
                }
                return list;
            }
            case VALUE_STRING:
                return parser.getText();
            case VALUE_NUMBER_INT:
                return parser.getNumberValue();
            case VALUE_NUMBER_FLOAT:
                return parser.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            default:
                return null;
        }
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
