package dev.vertxsessions.signedcookies;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.smile.SmileFactory;
import io.vertx.core.json.jackson.VertxModule;
import java.lang.management.ManagementFactory;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Thread CPU time per operation of the signed-cookie codec and of candidate payload formats (JSON, CBOR, Smile), for
 * a one-key and a ~1 KB session: the best of 15 batches, measured with {@code ThreadMXBean.getCurrentThreadCpuTime},
 * so time the thread spends descheduled on a busy machine does not count (JMH's wall-clock scores swung 10× there).
 * Also the bytes allocated per operation.
 *
 * <pre>
 *   java -cp bench/target/benchmarks.jar dev.vertxsessions.signedcookies.PayloadFormats
 * </pre>
 */
public final class PayloadFormats {

    private static final String SECRET = "bench-secret-0123456789abcdef0123456789abcdef";
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};
    private static Object sink;

    private PayloadFormats() {}

    /** One operation. */
    @FunctionalInterface
    interface Operation {
        Object run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper().registerModule(new VertxModule());
        ObjectMapper cbor = new ObjectMapper(new CBORFactory());
        ObjectMapper smile = new ObjectMapper(new SmileFactory());
        ObjectReader jsonReader = json.readerFor(MAP);
        ObjectReader cborReader = cbor.readerFor(MAP);
        ObjectWriter jsonWriter = json.writer();
        ObjectWriter cborWriter = cbor.writer();
        ObjectWriter smileWriter = smile.writer();
        byte[] idBytes = new byte[32];
        new Random(42).nextBytes(idBytes);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(idBytes);
        long now = 1_700_000_000_000L;
        for (String session : List.of("small", "1kb")) {
            Map<String, Object> data =
                    session.equals("small") ? Map.of("counter", 42) : SignedCookieBenchmark.oneKilobyte(new Random(42));
            byte[] jsonBytes = jsonWriter.writeValueAsBytes(data);
            byte[] cborBytes = cborWriter.writeValueAsBytes(data);
            byte[] smileBytes = smileWriter.writeValueAsBytes(data);
            System.out.printf(
                    "# %s: payload JSON %d, CBOR %d, Smile %d bytes%n",
                    session, jsonBytes.length, cborBytes.length, smileBytes.length);
            int n = session.equals("small") ? 20_000 : 2_000;
            time(session + " read JSON, data binding (the codec)", () -> jsonReader.readValue(jsonBytes), n);
            time(session + " read CBOR, data binding", () -> cborReader.readValue(cborBytes), n);
            time(
                    session + " read CBOR, streaming",
                    () -> SignedCookieBenchmark.readStreaming(cbor.getFactory(), cborBytes),
                    n);
            time(
                    session + " read Smile, streaming",
                    () -> SignedCookieBenchmark.readStreaming(smile.getFactory(), smileBytes),
                    n);
            time(session + " write JSON, data binding (the codec)", () -> jsonWriter.writeValueAsBytes(data), n);
            time(session + " write CBOR, data binding", () -> cborWriter.writeValueAsBytes(data), n);
            time(session + " write Smile, data binding", () -> smileWriter.writeValueAsBytes(data), n);
            for (boolean encrypt : new boolean[] {false, true}) {
                SignedCookieCodec codec = new SignedCookieCodec(SECRET, List.of(), encrypt);
                SignedCookieCodec issuer = new SignedCookieCodec(SECRET, List.of(), encrypt);
                String cookie = codec.encode(id, now, now, now + 86_400_000L, 0, data);
                String[] unremembered = new String[VerifiedCookies.SLOTS * 16];
                for (int i = 0; i < unremembered.length; i++) {
                    unremembered[i] = issuer.encode(id, now, now + i, now + 86_400_000L, 0, data);
                }
                int[] next = {0};
                String mode = encrypt ? "encrypted" : "signed";
                time(
                        session + " codec encode, " + mode,
                        () -> codec.encode(id, now, now, now + 86_400_000L, 0, data),
                        n);
                time(
                        session + " codec decode, " + mode + ", not remembered",
                        () -> codec.decode(unremembered[next[0]++ % unremembered.length]),
                        n);
                time(session + " codec decode, " + mode + ", remembered", () -> codec.decode(new String(cookie)), n);
            }
        }
    }

    private static void time(String name, Operation operation, int n) throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        for (int i = 0; i < n * 5; i++) {
            sink = operation.run();
        }
        double best = Double.MAX_VALUE;
        long allocated = 0;
        for (int batch = 0; batch < 15; batch++) {
            long bytes = threads.getThreadAllocatedBytes(thread);
            long start = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < n; i++) {
                sink = operation.run();
            }
            best = Math.min(best, (threads.getCurrentThreadCpuTime() - start) / (double) n);
            allocated = (threads.getThreadAllocatedBytes(thread) - bytes) / n;
        }
        System.out.printf("%-52s %7.0f ns/op  %6d B/op%n", name, best, allocated);
    }
}
