package dev.vertxsessions.file;

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

    /** Returns the bytes of a session file whose only version is {@code json}. */
    public static byte[] of(String json) {
        return SessionFileLayout.newFile(1, json.getBytes(StandardCharsets.UTF_8));
    }

    /** Returns a file's bytes as ISO-8859-1 text, to look for a marker without decoding the layout. */
    public static String raw(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    }
}
