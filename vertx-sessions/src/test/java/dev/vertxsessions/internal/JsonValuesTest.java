package dev.vertxsessions.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link JsonValues#jsonBytesAtMost} bounds what {@link JsonValues#write} writes, or says it cannot. */
class JsonValuesTest {

    @Test
    void jsonBytesAtMost_isNeverBelowTheWrittenLength() {
        Random random = new Random(42);
        for (int i = 0; i < 2_000; i++) {
            Map<String, Object> data = randomMap(random, 3);
            long bound = JsonValues.jsonBytesAtMost(data);
            int written = JsonValues.write(data).length;
            assertTrue(bound >= written, "bound " + bound + " < written " + written + " for " + data);
        }
    }

    @Test
    void jsonBytesAtMost_boundsTheWorstCases() {
        Map<String, Object> worst = new LinkedHashMap<>();
        worst.put("\u0001\u0002", "\u0000\u001f\u0007"); // control characters: \\u escapes, 6 bytes each
        worst.put("long", Long.MIN_VALUE);
        worst.put("double", -Double.MIN_NORMAL);
        worst.put("nan", Double.NaN);
        worst.put("infinity", Double.NEGATIVE_INFINITY);
        worst.put("bmp", "\uffff\u20ac");
        worst.put("pair", "\ud83d\ude00");
        worst.put("empty", List.of(Map.of(), List.of()));
        worst.put("null", null);
        assertTrue(JsonValues.jsonBytesAtMost(worst) >= JsonValues.write(worst).length);
    }

    @Test
    void jsonBytesAtMost_givesUpOnValuesItCannotBound() {
        assertEquals(-1, JsonValues.jsonBytesAtMost(Map.of("price", new BigDecimal("1e-400"))));
        assertEquals(-1, JsonValues.jsonBytesAtMost(Map.of("nested", List.of(Map.of(1, "not a string key")))));
        assertEquals(-1, JsonValues.jsonBytesAtMost(List.of(new Object())));
    }

    private static Map<String, Object> randomMap(Random random, int depth) {
        Map<String, Object> map = new LinkedHashMap<>();
        int size = random.nextInt(6);
        for (int i = 0; i < size; i++) {
            map.put(randomString(random), randomValue(random, depth - 1));
        }
        return map;
    }

    private static Object randomValue(Random random, int depth) {
        return switch (random.nextInt(depth > 0 ? 9 : 7)) {
            case 0 -> randomString(random);
            case 1 -> random.nextInt();
            case 2 -> random.nextLong();
            case 3 -> random.nextBoolean() ? random.nextDouble() * Math.pow(10, random.nextInt(600) - 300) : -0.0;
            case 4 -> random.nextBoolean();
            case 5 -> null;
            case 6 -> random.nextFloat();
            case 7 -> randomMap(random, depth);
            default -> {
                List<Object> list = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    list.add(randomValue(random, depth - 1));
                }
                yield list;
            }
        };
    }

    /** Any char from U+0000 to U+FFFF, lone surrogates included. */
    private static String randomString(Random random) {
        StringBuilder text = new StringBuilder();
        for (int i = random.nextInt(12); i > 0; i--) {
            text.append((char) (random.nextBoolean() ? random.nextInt(0x80) : random.nextInt(0x10000)));
        }
        return text.toString();
    }
}
