package dev.vertxsessions;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Reads a backend's options from JSON with the error messages of the core: an unknown key fails naming the
 * nearest known one, and a value of the wrong type names the key and what it must be. Backends use it in their
 * options classes and in {@link SessionBackendProvider#create}; every method throws
 * {@link IllegalArgumentException}, at start-up.
 *
 * <pre>{@code
 * OptionsReader options = OptionsReader.of("postgres", json, Set.of("url", "pool_size"));
 * String url = options.string("url", null);
 * int poolSize = (int) options.integer("pool_size", 4);
 * }</pre>
 */
public final class OptionsReader {

    private final String section;
    private final JsonObject json;

    private OptionsReader(String section, JsonObject json) {
        this.section = section;
        this.json = json;
    }

    /**
     * Returns a reader of {@code json} (null reads as empty), after checking that it has no key outside
     * {@code knownKeys}. {@code section} prefixes the key in messages ({@code "postgres"} gives
     * {@code postgres.url}); null or empty names top-level keys as they are.
     */
    public static OptionsReader of(String section, JsonObject json, Set<String> knownKeys) {
        JsonObject options = json == null ? new JsonObject() : json;
        String prefix = section == null || section.isEmpty() ? "" : section + ".";
        for (String key : options.fieldNames()) {
            if (!knownKeys.contains(key)) {
                throw new IllegalArgumentException(
                        "unknown session config key '" + prefix + key + "'" + suggestion(key, knownKeys)
                                + "; known keys are " + prefix + String.join(", " + prefix, knownKeys));
            }
        }
        return new OptionsReader(prefix, options);
    }

    /** Returns whether {@code key} was given. */
    public boolean has(String key) {
        return json.containsKey(key);
    }

    /** Returns the string at {@code key}, or {@code defaultValue} when it is absent. */
    public String string(String key, String defaultValue) {
        return has(key) ? string(json, key, section + key) : defaultValue;
    }

    /** Returns the boolean at {@code key}, or {@code defaultValue} when it is absent. */
    public boolean bool(String key, boolean defaultValue) {
        return has(key) ? bool(json, key, section + key) : defaultValue;
    }

    /** Returns the whole number at {@code key}, or {@code defaultValue} when it is absent. */
    public long integer(String key, long defaultValue) {
        return has(key) ? integer(json, key, section + key) : defaultValue;
    }

    /** Returns the whole number of seconds at {@code key} as a Duration, or {@code defaultValue} when absent. */
    public Duration seconds(String key, Duration defaultValue) {
        return has(key) ? Duration.ofSeconds(integer(json, key, section + key)) : defaultValue;
    }

    /** Returns the whole number of milliseconds at {@code key} as a Duration, or {@code defaultValue} when absent. */
    public Duration millis(String key, Duration defaultValue) {
        return has(key) ? Duration.ofMillis(integer(json, key, section + key)) : defaultValue;
    }

    /** Returns the JSON object at {@code key} (a copy), or null when it is absent. */
    public JsonObject object(String key) {
        if (!has(key)) {
            return null;
        }
        Object value = json.getValue(key);
        if (!(value instanceof JsonObject jsonObject)) {
            throw wrongType(section + key, "a JSON object", value);
        }
        return jsonObject.copy();
    }

    /** Returns the list of strings at {@code key}, or {@code defaultValue} when it is absent. */
    public List<String> strings(String key, List<String> defaultValue) {
        return has(key) ? stringList(json, key, section + key) : defaultValue;
    }

    /**
     * Returns an {@link IllegalArgumentException} for an invalid value: {@code invalid("pool_size", "at least 1")}
     * says {@code postgres.pool_size must be at least 1}.
     */
    public IllegalArgumentException invalid(String key, String mustBe) {
        return new IllegalArgumentException(section + key + " must be " + mustBe);
    }

    /** Returns {@code url} with the password of its user information replaced by {@code ***}, fit for a log. */
    public static String withoutPassword(String url) {
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (scheme < 0 || at < scheme) {
            return url;
        }
        int colon = url.indexOf(':', scheme + 3);
        return colon >= 0 && colon < at ? url.substring(0, colon + 1) + "***" + url.substring(at) : url;
    }

    static String string(JsonObject json, String key, String name) {
        Object value = json.getValue(key);
        if (value != null && !(value instanceof String)) {
            throw wrongType(name, "a string", value);
        }
        return (String) value;
    }

    static boolean bool(JsonObject json, String key, String name) {
        Object value = json.getValue(key);
        if (!(value instanceof Boolean b)) {
            throw wrongType(name, "true or false", value);
        }
        return b;
    }

    static long integer(JsonObject json, String key, String name) {
        Long value = nullableInteger(json, key, name);
        if (value == null) {
            throw wrongType(name, "a whole number", null);
        }
        return value;
    }

    static Long nullableInteger(JsonObject json, String key, String name) {
        Object value = json.getValue(key);
        if (value == null) {
            return null;
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        throw wrongType(name, "a whole number", value);
    }

    static List<String> stringList(JsonObject json, String key, String name) {
        Object value = json.getValue(key);
        if (!(value instanceof JsonArray jsonArray)) {
            throw wrongType(name, "a list of strings", value);
        }
        List<String> list = new ArrayList<>();
        for (Object item : jsonArray) {
            if (!(item instanceof String string)) {
                throw new IllegalArgumentException(
                        name + " must be a list of strings, found an item of type " + typeName(item));
            }
            list.add(string);
        }
        return list;
    }

    static String suggestion(String key, Set<String> knownKeys) {
        String best = null;
        int bestDistance = 4;
        for (String known : knownKeys) {
            int distance = editDistance(key.toLowerCase(Locale.ROOT), known);
            if (distance < bestDistance) {
                best = known;
                bestDistance = distance;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static IllegalArgumentException wrongType(String name, String expected, Object value) {
        return new IllegalArgumentException(name + " must be " + expected + ", got " + typeName(value));
    }

    private static String typeName(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof String) {
            return "a string";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        if (value instanceof Number) {
            return "a number";
        }
        if (value instanceof JsonArray) {
            return "a list";
        }
        if (value instanceof JsonObject) {
            return "an object";
        }
        return Objects.toString(value.getClass().getSimpleName());
    }
}
