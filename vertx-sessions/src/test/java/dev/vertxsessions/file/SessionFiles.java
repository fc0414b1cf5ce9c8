package dev.vertxsessions.file;

import dev.vertxsessions.SessionRecord;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads and writes session files in their two-slot layout, for tests in any package. */
public final class SessionFiles {

    /** The largest size of a session file: a larger file reads as absent. */
    public static final int MAX_FILE_BYTES = SessionFileLayout.MAX_FILE_BYTES;

    private SessionFiles() {}

    /** Returns the JSON of the newest valid version in a session file; null when it holds none. */
    public static String json(Path file) throws IOException {
        return SessionFileLayout.json(Files.readAllBytes(file));
    }

    /**
     * Returns the bytes of a session file whose only version is {@code json}, as the backend writes it: with the mark
     * of a promoted session when its data is promoted.
     */
    public static byte[] of(String json) {
        JsonObject data = new JsonObject(json).getJsonObject("data", new JsonObject());
        boolean promoted = !new SessionRecord("planted", data.getMap(), 0, 0, null).isAnonymous();
        return SessionFileLayout.newFile(
                1, json.getBytes(StandardCharsets.UTF_8), promoted, SessionFileLayout.MAX_FILE_BYTES);
    }

    /**
     * Returns the bytes of a valid session file of {@code fileBytes} (two slots of half that size) whose only version
     * is {@code json}.
     */
    public static byte[] of(String json, int fileBytes) {
        byte[] file = new byte[fileBytes];
        SessionFileLayout.slot(1, json.getBytes(StandardCharsets.UTF_8))
                .get(file, 0, SessionFileLayout.HEADER_BYTES + json.getBytes(StandardCharsets.UTF_8).length);
        return file;
    }

    /** Returns a file's bytes as ISO-8859-1 text, to look for a marker without decoding the layout. */
    public static String raw(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    }
}
