package dev.vertxsessions.file;

import dev.vertxsessions.internal.JsonValues;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A session file's content: the JSON one slot of the file holds ({@code version}, {@code created}, {@code expires},
 * {@code expiry} in seconds or null, {@code data}), and its reading back. See {@code docs/file-backend.md}.
 */
final class StoredSession {

    /**
     * At most how many bytes {@link #json} writes besides the data's own JSON: the field names, three longs of at most
     * 20 characters and the punctuation (113 at most; rounded up).
     */
    static final int FIELDS_BYTES_AT_MOST = 128;

    final long createdAt;
    final long expiresAt;
    final Duration perSessionExpiry;
    final LinkedHashMap<String, Object> data;

    StoredSession(long createdAt, long expiresAt, Duration perSessionExpiry, LinkedHashMap<String, Object> data) {
        this.createdAt = createdAt;
        this.expiresAt = expiresAt;
        this.perSessionExpiry = perSessionExpiry;
        this.data = data;
    }

    /** Returns the JSON of a session file's version. */
    static byte[] json(long createdAt, long expiresAt, Duration perSessionExpiry, Map<String, Object> data) {
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("version", 1);
        file.put("created", createdAt);
        file.put("expires", expiresAt);
        file.put("expiry", perSessionExpiry == null ? null : perSessionExpiry.toSeconds());
        file.put("data", data);
        return JsonValues.write(file);
    }

    /** Parses the JSON of a session file's version; throws for content that is not a session. */
    @SuppressWarnings("unchecked")
    static StoredSession parse(byte[] json) throws IOException {
        Map<String, Object> file = JsonValues.readMap(json, 0, json.length);
        Object data = file.get("data");
        Object created = file.get("created");
        Object expires = file.get("expires");
        Object expiry = file.get("expiry");
        if (!(data instanceof Map)
                || !(created instanceof Number createdAt)
                || !(expires instanceof Number expiresAt)) {
            throw new IOException("missing fields");
        }
        LinkedHashMap<String, Object> values = new LinkedHashMap<>((Map<String, Object>) data);
        return new StoredSession(
                createdAt.longValue(),
                expiresAt.longValue(),
                expiry instanceof Number seconds ? Duration.ofSeconds(seconds.longValue()) : null,
                values);
    }
}
