package dev.vertxsessions.vertxweb;

import dev.vertxsessions.internal.JsonValues;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.ClusterSerializable;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts session values between the plain JSON types of the backend SPI and what a Vert.x-Web session can hold.
 *
 * <p>A clustered, Redis or Infinispan store serializes a session with {@code AbstractSession}'s codec, which takes
 * strings, booleans, the boxed primitives, buffers, byte arrays and {@link ClusterSerializable} objects. So maps
 * become {@link JsonObject}s and lists {@link JsonArray}s (both {@code ClusterSerializable}, written as JSON text),
 * all the way down; a top-level {@link BigInteger} or {@link BigDecimal}, which the codec refuses, is kept as its
 * text in a one-key {@code JsonObject}. Both directions copy, so a local store (which keeps the session object
 * itself) never shares a mutable object with a request.
 */
final class StoreValues {

    /** The key of the object holding a top-level number the session codec cannot write. */
    static final String NUMBER_KEY = "__vertx-sessions.number";

    private StoreValues() {}

    /** Returns {@code value} (plain JSON, not null) as the session stored in a Vert.x-Web store holds it. */
    static Object toStore(String key, Object value) {
        if (value instanceof BigInteger || value instanceof BigDecimal) {
            return new JsonObject().put(NUMBER_KEY, value.toString());
        }
        return toJson(key, value);
    }

    /**
     * Returns a value a Vert.x-Web store returned in plain JSON types, read back from its JSON text as the other
     * backends read theirs: a number has the type JSON reading gives it (an {@code Integer} when it fits, whether the
     * store kept a {@code Long} or serialized it), and the result shares nothing with the store.
     */
    static Object fromStore(String key, Object value) {
        byte[] json;
        if (value instanceof JsonObject jsonObject
                && jsonObject.size() == 1
                && jsonObject.getValue(NUMBER_KEY) instanceof String) {
            json = ((String) jsonObject.getValue(NUMBER_KEY)).getBytes(StandardCharsets.UTF_8);
        } else if (value instanceof ClusterSerializable
                && !(value instanceof JsonObject)
                && !(value instanceof JsonArray)) {
            return JsonValues.toStorable(value); // put by something other than us (e.g. Vert.x-Web's user holder)
        } else {
            json = JsonValues.write(value);
        }
        try {
            return JsonValues.readValue(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("stored session value for key '" + key + "' is not valid JSON", e);
        }
    }

    private static Object toJson(String key, Object value) {
        if (value == null || value instanceof String || value instanceof Boolean || value instanceof Number) {
            return value;
        }
        if (value instanceof Map) {
            Map<?, ?> map = (Map<?, ?>) value;
            JsonObject object = new JsonObject(new LinkedHashMap<>(map.size() * 2));
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                object.put(String.valueOf(entry.getKey()), toJson(key, entry.getValue()));
            }
            return object;
        }
        if (value instanceof List) {
            List<?> list = (List<?>) value;
            List<Object> copy = new ArrayList<>(list.size());
            for (Object element : list) {
                copy.add(toJson(key, element));
            }
            return new JsonArray(copy);
        }
        throw new IllegalArgumentException(
                "session value for key '" + key + "' is a " + value.getClass().getName() + ", not a JSON type");
    }
}
