package dev.vertxsessions.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The demo on the file backend, configured as {@code SESSION_BACKEND=file SESSION_DIR=...
 * SESSION_FILE_MAX_SESSIONS=100} would: a small quota, so that a flood of logins would show if it could fill it.
 */
class DemoAppFileTest extends UserIndexDemoAppContractTest {

    private Path directory;

    @Override
    SessionConfig sessionConfig(Path tempDir) {
        directory = tempDir.resolve("sessions");
        return DemoSettings.fromEnv(Map.of(
                        "SESSION_BACKEND",
                        "file",
                        "SESSION_DIR",
                        directory.toString(),
                        "SESSION_FILE_MAX_SESSIONS",
                        "100"))
                .sessionConfig();
    }

    @Test
    void oneAccountLoggingIn300Times_keepsTenSessions_andNeverBlocksAnotherUsersLogin(VertxTestContext test) {
        test.verify(() -> {
            logInRepeatedly("alice", "wonderland", 300);
            assertEquals(List.of(10), indexSizes());
            assertEquals(OptionalInt.of(10), storedSessions());
            Browser bob = browser();
            assertEquals("/dashboard", logIn(bob, "bob", "builder").getHeader("location"));
            assertTrue(bob.get("/dashboard").bodyAsString().contains("Welcome, bob!"));
            assertEquals(OptionalInt.of(11), storedSessions());
            assertEquals(List.of(1, 10), indexSizes());
        });
        test.completeNow();
    }

    /** Returns how many IDs each user index file lists, smallest first. */
    private List<Integer> indexSizes() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            List<Integer> sizes = new ArrayList<>();
            for (Path file : files.filter(file -> file.getFileName().toString().startsWith(".vertx-sessions.user-"))
                    .toList()) {
                sizes.add(new JsonObject(Buffer.buffer(Files.readAllBytes(file))).size());
            }
            sizes.sort(null);
            return sizes;
        }
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
