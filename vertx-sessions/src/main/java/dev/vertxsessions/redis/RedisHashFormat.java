package dev.vertxsessions.redis;

import dev.vertxsessions.SessionRecord;
import dev.vertxsessions.internal.JsonValues;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Redis backend's hash format: which field of a session's hash holds what, and how values are encoded. A
 * session key is field {@code k:<key>} holding the key's JSON; the meta fields {@code m:created}, {@code m:expires}
 * (epoch ms) and {@code m:expiry} (seconds, only when set per session) cannot collide with them. The Lua scripts
 * ({@link RedisScripts}) name the same fields. See {@code docs/redis-backend.md}, "Keys and hash layout".
 */
final class RedisHashFormat {

    private static final System.Logger LOG = System.getLogger("dev.vertxsessions.redis");

    /** Prefix of the hash field that holds one session key. */
    static final String DATA_FIELD = "k:";

    static final String CREATED_FIELD = "m:created";
    static final String EXPIRES_FIELD = "m:expires";
    static final String EXPIRY_FIELD = "m:expiry";

    private RedisHashFormat() {}

    /** A session as loaded: values still as JSON bytes, keyed by session key. */
    static final class Stored {
        long createdAt;
        long expiresAt;
        Duration perSessionExpiry;
        final LinkedHashMap<String, byte[]> values = new LinkedHashMap<>();
    }

    /** Returns the hash field that holds session key {@code key}. */
    static String dataField(String key) {
        return DATA_FIELD + key;
    }

    /** Encodes one session value as the JSON a data field holds. */
    static byte[] writeValue(Object value) {
        return JsonValues.write(value);
    }

    /** Decodes one data field's JSON. */
    static Object readValue(byte[] json) throws IOException {
        return JsonValues.readValue(json);
    }

    /** Encodes a per-session expiry as {@code m:expiry} holds it; the empty string when there is none. */
    static String expiryField(Duration perSessionExpiry) {
        return perSessionExpiry == null ? "" : Long.toString(perSessionExpiry.toSeconds());
    }

    /** Returns the fields of an HGETALL-like reply (a RESP2 array of pairs or a RESP3 map), in reply order. */
    static LinkedHashMap<String, byte[]> fields(Response response) {
        LinkedHashMap<String, byte[]> fields = new LinkedHashMap<>();
        if (response == null) {
            return fields;
        }
        if (response.isMap()) {
            for (String field : response.getKeys()) {
                fields.put(field, response.get(field).toBytes());
            }
            return fields;
        }
        for (int i = 0; i + 1 < response.size(); i += 2) {
            fields.put(
                    response.get(i).toString(StandardCharsets.UTF_8),
                    response.get(i + 1).toBytes());
        }
        return fields;
    }

    /** Turns hash fields into a session; null (with a DEBUG line) when the meta fields are missing or wrong. */
    static Stored parse(Map<String, byte[]> fields) {
        if (fields.isEmpty()) {
            return null;
        }
        Stored stored = new Stored();
        try {
            stored.createdAt = Long.parseLong(text(fields.get(CREATED_FIELD)));
            stored.expiresAt = Long.parseLong(text(fields.get(EXPIRES_FIELD)));
            byte[] expiry = fields.get(EXPIRY_FIELD);
            stored.perSessionExpiry = expiry == null ? null : Duration.ofSeconds(Long.parseLong(text(expiry)));
        } catch (RuntimeException e) {
            LOG.log(
                    Level.DEBUG,
                    "a Redis hash under the session prefix lacks valid meta fields; it reads as no session");
            return null;
        }
        for (Map.Entry<String, byte[]> entry : fields.entrySet()) {
            if (entry.getKey().startsWith(DATA_FIELD)) {
                stored.values.put(entry.getKey().substring(DATA_FIELD.length()), entry.getValue());
            }
        }
        return stored;
    }

    /**
     * Decodes a loaded session's values into a record; null (with a DEBUG line) when a value is not valid JSON, so
     * that the session reads as absent.
     */
    static SessionRecord toRecord(String id, Stored stored) {
        Map<String, Object> data = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, byte[]> entry : stored.values.entrySet()) {
                data.put(entry.getKey(), readValue(entry.getValue()));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(
                    Level.DEBUG,
                    "a stored session value is not valid JSON; the session reads as absent: "
                            + e.getClass().getSimpleName());
            return null;
        }
        return new SessionRecord(id, data, stored.createdAt, stored.expiresAt, stored.perSessionExpiry);
    }

    private static String text(byte[] bytes) {
        if (bytes == null) {
            throw new IllegalArgumentException("missing");
        }
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
