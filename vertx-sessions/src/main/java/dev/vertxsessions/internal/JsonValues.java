package dev.vertxsessions.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.VertxModule;
import io.vertx.core.shareddata.ClusterSerializable;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns session values into JSON and back with one shared Jackson mapper.
 *
 * <p>Values are normalised when they are put: numbers, strings, booleans and null stay as they are; maps, lists
 * and POJOs become plain JSON types (a deep copy, so later changes to the caller's object are not saved by
 * accident). A {@link ClusterSerializable} value that Vert.x-Web puts into the session (the user holder) stays an
 * object and is stored as {@code {"$vertx.cs": class name, "$data": base64 bytes}}.
 */
public final class JsonValues {

    /** The shared mapper; private, so nothing can reconfigure it for everyone. */
    private static final ObjectMapper MAPPER = new ObjectMapper().registerModule(new VertxModule());

    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {};
    /** Resolved once: resolving the map type on every read showed up in profiles. */
    private static final ObjectReader MAP_READER = MAPPER.readerFor(MAP);

    private static final ObjectWriter WRITER = MAPPER.writer();
    private static final ObjectReader VALUE_READER = MAPPER.readerFor(Object.class);
    private static final String CS_CLASS = "$vertx.cs";
    private static final String CS_DATA = "$data";

    private JsonValues() {}

    /** Returns the value as it will be stored, or throws {@link IllegalArgumentException} naming the key. */
    public static Object normalize(String key, Object value) {
        if (value == null
                || value instanceof String
                || value instanceof Boolean
                || value instanceof Integer
                || value instanceof Double
                || value instanceof BigDecimal
                || value instanceof BigInteger) {
            return value;
        }
        // Numbers take the type JSON reading gives them back, so a value reads the same before and after a save.
        if (value instanceof Long || value instanceof Short || value instanceof Byte) {
            long number = ((Number) value).longValue();
            // Boxed apart: in one conditional expression, Java would promote the Integer back to a long.
            if (number == (int) number) {
                return Integer.valueOf((int) number);
            }
            return Long.valueOf(number);
        }
        if (value instanceof Float f) {
            return f.doubleValue();
        }
        if (value instanceof JsonObject jsonObject) {
            return normalize(key, jsonObject.getMap());
        }
        if (value instanceof JsonArray jsonArray) {
            return normalize(key, jsonArray.getList());
        }
        if (value instanceof ClusterSerializable) {
            return value;
        }
        Object converted;
        try {
            converted = MAPPER.convertValue(value, Object.class);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "session value for key '" + key + "' (" + value.getClass().getName()
                            + ") cannot be written as JSON: " + e.getMessage(),
                    e);
        }
        if (isEnvelope(converted)) {
            // A client-chosen value must never be read back as an object of a class it names.
            throw new IllegalArgumentException("session value for key '" + key + "' has the shape of a serialized "
                    + "object ({\"" + CS_CLASS + "\": ..., \"" + CS_DATA + "\": ...}), which the session keeps for "
                    + "values that serialize themselves; wrap it in another object");
        }
        return converted;
    }

    /** Converts a stored value to {@code type}, e.g. a map back into a POJO. */
    public static <T> T convert(Object value, Class<T> type) {
        if (value == null || type.isInstance(value)) {
            return type.cast(value);
        }
        return MAPPER.convertValue(value, type);
    }

    /** Returns whether {@code value} serializes itself (ClusterSerializable) and is stored in a JSON envelope. */
    public static boolean needsEnvelope(Object value) {
        return value instanceof ClusterSerializable;
    }

    /**
     * Returns whether {@code value} is an object that keeps its own serialized form (a ClusterSerializable other than
     * Vert.x's JSON types, which are stored as plain JSON): what Vert.x-Web puts into a session.
     */
    public static boolean serializesItself(Object value) {
        return value instanceof ClusterSerializable && !(value instanceof JsonObject) && !(value instanceof JsonArray);
    }

    /** Wraps one value in the JSON envelope when it is ClusterSerializable. */
    public static Object toStorable(Object value) {
        return value instanceof ClusterSerializable clusterSerializable ? envelope(clusterSerializable) : value;
    }

    /** Returns the object a JSON envelope holds, or the value itself. */
    public static Object fromStorable(Object value) {
        if (isEnvelope(value)) {
            Map<?, ?> map = (Map<?, ?>) value;
            return openEnvelope((String) map.get(CS_CLASS), (String) map.get(CS_DATA));
        }
        return value;
    }

    private static boolean isEnvelope(Object value) {
        return value instanceof Map<?, ?> map
                && map.size() == 2
                && map.get(CS_CLASS) instanceof String
                && map.get(CS_DATA) instanceof String;
    }

    /** Reads one JSON value (a map, list, string, number, boolean or null) as plain Java types. */
    public static Object readValue(byte[] json) throws IOException {
        return VALUE_READER.readValue(json);
    }

    /** A stored map, list or other mutable value: its JSON bytes, read into a fresh copy by {@link #thaw}. */
    public static final class Frozen {
        private final byte[] json;

        private Frozen(byte[] json) {
            this.json = json;
        }
    }

    /**
     * Returns how a storable value is kept where many requests read it (the memory backend, the near cache): a value
     * nobody can change and that JSON would read back as the same value of the same type (a string, a boolean, an
     * int, a long beyond an int's range, a finite double) as it is, anything else (maps, lists, other numbers) as its
     * JSON bytes, so that {@link #thaw} gives exactly what a JSON copy gives.
     */
    public static Object freeze(Object value) {
        if (value instanceof String
                || value instanceof Integer
                || value instanceof Boolean
                || (value instanceof Long number && number.longValue() != number.intValue())
                || (value instanceof Double number && Double.isFinite(number))) {
            return value;
        }
        return new Frozen(write(value));
    }

    /** Returns a value {@link #freeze} kept as a load gives it: a fresh copy of a map or list. */
    public static Object thaw(Object frozen) throws IOException {
        return frozen instanceof Frozen json ? readValue(json.json) : frozen;
    }

    /** Returns about how many bytes of heap a value {@link #freeze} kept takes. */
    public static long frozenBytes(Object frozen) {
        if (frozen instanceof Frozen json) {
            return 32L + json.json.length;
        }
        return frozen instanceof String string ? 40L + string.length() : 16;
    }

    /**
     * Returns an upper bound of the length of {@link #write}'s JSON of {@code value}, in bytes, without writing it;
     * -1 when the value holds anything but strings, booleans, null, ints, longs, doubles, floats, and maps (with
     * string keys) and lists of those. A character of a string takes at most 6 bytes (a six-character unicode escape;
     * UTF-8 takes at most 3 per char), a number at most 26 (24 characters, or a quoted NaN or Infinity).
     */
    public static long jsonBytesAtMost(Object value) {
        if (value == null || value instanceof Boolean) {
            return 5;
        }
        if (value instanceof String string) {
            return 2 + 6L * string.length();
        }
        if (value instanceof Integer
                || value instanceof Long
                || value instanceof Double
                || value instanceof Float
                || value instanceof Short
                || value instanceof Byte) {
            return 26; // "-9223372036854775808", "-2.2250738585072014E-308", or a quoted "-Infinity"
        }
        if (value instanceof Map<?, ?> map) {
            long total = 2;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!(entry.getKey() instanceof String key)) {
                    return -1;
                }
                long entryBytes = jsonBytesAtMost(entry.getValue());
                if (entryBytes < 0) {
                    return -1;
                }
                total += jsonBytesAtMost(key) + 2 + entryBytes; // the colon and the comma
            }
            return total;
        }
        if (value instanceof List<?> list) {
            long total = 2;
            for (Object element : list) {
                long elementBytes = jsonBytesAtMost(element);
                if (elementBytes < 0) {
                    return -1;
                }
                total += elementBytes + 1;
            }
            return total;
        }
        return -1;
    }

    /** Writes session data (already storable) as JSON bytes. */
    public static byte[] write(Object data) {
        try {
            return WRITER.writeValueAsBytes(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("session data could not be written as JSON", e);
        }
    }

    /** Reads a JSON object into a map, or throws {@link IOException} for anything that is not one. */
    public static LinkedHashMap<String, Object> readMap(byte[] json, int offset, int length) throws IOException {
        LinkedHashMap<String, Object> map = MAP_READER.readValue(json, offset, length);
        if (map == null) {
            throw new IOException("not a JSON object");
        }
        return map;
    }

    private static Map<String, Object> envelope(ClusterSerializable value) {
        Buffer buffer = Buffer.buffer();
        value.writeToBuffer(buffer);
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put(CS_CLASS, value.getClass().getName());
        envelope.put(CS_DATA, Base64.getEncoder().encodeToString(buffer.getBytes()));
        return envelope;
    }

    private static Object openEnvelope(String className, String data) {
        try {
            Class<?> type = Class.forName(className, false, JsonValues.class.getClassLoader());
            if (!ClusterSerializable.class.isAssignableFrom(type)) {
                throw new IllegalArgumentException(className + " is not ClusterSerializable");
            }
            ClusterSerializable value =
                    (ClusterSerializable) type.getDeclaredConstructor().newInstance();
            value.readFromBuffer(0, Buffer.buffer(Base64.getDecoder().decode(data)));
            return value;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            throw new IllegalArgumentException("stored session value of class " + className + " could not be read", e);
        }
    }
}
