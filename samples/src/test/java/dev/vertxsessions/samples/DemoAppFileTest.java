package dev.vertxsessions.samples;

import dev.vertxsessions.SessionConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;

/** The demo on the file backend, configured as {@code SESSION_BACKEND=file SESSION_DIR=...} would. */
class DemoAppFileTest extends ServerSideDemoAppContractTest {

    private Path directory;

    @Override
    SessionConfig sessionConfig(Path tempDir) {
        directory = tempDir.resolve("sessions");
        return DemoSettings.fromEnv(Map.of("SESSION_BACKEND", "file", "SESSION_DIR", directory.toString()))
                .sessionConfig();
    }

    @Override
    OptionalInt storedSessions() {
        try (Stream<Path> files = Files.list(directory)) {
            return OptionalInt.of(
                    (int) files.filter(file -> file.getFileName().toString().startsWith("session_"))
                            .count());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
