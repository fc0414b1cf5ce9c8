package dev.vertxsessions.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The session store in a Vert.x health report, served by Vert.x-Web's HealthCheckHandler over real HTTP. */
@ExtendWith(VertxExtension.class)
public class SessionHealthChecksTest {

    private final List<TestServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(TestServer::close);
    }

    /** Starts a server whose {@code GET /health} reports the middleware's procedure. */
    public static TestServer serverWithHealth(Vertx vertx, SessionConfig config) {
        TestServer[] server = new TestServer[1];
        HealthChecks checks = HealthChecks.create(vertx);
        server[0] = TestServer.start(
                vertx,
                config,
                router -> router.get("/health").handler(HealthCheckHandler.createWithHealthChecks(checks)));
        SessionHealthChecks.register(checks, server[0].middleware);
        return server[0];
    }

    /** Asserts the status code and the one procedure's status, and returns the procedure's data. */
    public static JsonObject assertHealth(TestServer server, int status, String procedureStatus) {
        HttpResponse<Buffer> response = server.get("/health");
        JsonObject body = response.bodyAsJsonObject();
        assertEquals(status, response.statusCode(), body.encode());
        assertEquals(procedureStatus, body.getString("outcome"), body.encode());
        JsonObject check = body.getJsonArray("checks").getJsonObject(0);
        assertEquals(SessionHealthChecks.NAME, check.getString("id"));
        assertEquals(procedureStatus, check.getString("status"));
        return check.getJsonObject("data");
    }

    @Test
    void signedCookies_areAlwaysUp(Vertx vertx, VertxTestContext test) {
        test.verify(() -> {
            TestServer server = serverWithHealth(vertx, new SessionConfig().setSecretKey(TestServer.SECRET));
            servers.add(server);
            assertEquals(new JsonObject().put("backend", "signed"), assertHealth(server, 200, "UP"));
        });
        test.completeNow();
    }

    @Test
    void fileBackend_isDownWhileItsDirectoryIsGoneOrAFile_andUpAgainAfter(
            Vertx vertx, @TempDir Path tmp, VertxTestContext test) {
        test.verify(() -> {
            Path directory = tmp.resolve("sessions");
            TestServer server = serverWithHealth(
                    vertx, new SessionConfig().setManager("file").setBackendOption("directory", directory.toString()));
            servers.add(server);
            assertEquals(new JsonObject().put("backend", "file"), assertHealth(server, 200, "UP"));
            try (var files = Files.list(directory)) {
                assertEquals(
                        List.of(),
                        files.filter(f -> f.getFileName().toString().startsWith(".vertx-sessions.health"))
                                .toList(),
                        "the probe file is deleted");
            }

            Files.move(directory, tmp.resolve("moved"));
            JsonObject gone = assertHealth(server, 503, "DOWN");
            assertEquals("file", gone.getString("backend"));
            assertTrue(
                    gone.getString("reason").startsWith("session directory " + directory + " cannot be read"),
                    gone.encode());

            Files.writeString(directory, "not a directory");
            assertEquals(
                    "session directory " + directory + " is not a directory",
                    assertHealth(server, 503, "DOWN").getString("reason"));

            Files.delete(directory);
            Files.move(tmp.resolve("moved"), directory);
            assertHealth(server, 200, "UP");
        });
        test.completeNow();
    }

    /** Runs a command; returns its exit status and output. */
    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        return process.waitFor() + " " + output.trim();
    }

    @Test
    void fileBackend_isDownWhenItsFileSystemIsOutOfInodesOrSpace_andUpAgainAfter(
            Vertx vertx, @TempDir Path tmp, VertxTestContext test) throws Exception {
        Path mount = tmp.resolve("mnt");
        Files.createDirectories(mount);
        String mounted = run("mount", "-t", "tmpfs", "-o", "size=64m,nr_inodes=200", "tmpfs", mount.toString());
        org.junit.jupiter.api.Assumptions.assumeTrue(
                mounted.startsWith("0"),
                "skipped: mounting a tmpfs (to fill a file system) needs root with mount rights: " + mounted);
        try {
            test.verify(() -> {
                Path directory = mount.resolve("sessions");
                TestServer server = serverWithHealth(
                        vertx,
                        new SessionConfig().setManager("file").setBackendOption("directory", directory.toString()));
                servers.add(server);
                assertHealth(server, 200, "UP");

                Path fillers = Files.createDirectories(mount.resolve("fillers"));
                int created = 0;
                try {
                    while (created < 1000) {
                        Files.createFile(fillers.resolve("f" + created));
                        created++;
                    }
                } catch (java.io.IOException outOfInodes) {
                    // the file system has no inode left
                }
                assertTrue(created < 1000, "the tmpfs ran out of inodes");
                String noInodes = assertHealth(server, 503, "DOWN").getString("reason");
                assertTrue(
                        noInodes.startsWith("session directory " + directory + " does not take a new file"), noInodes);
                Files.delete(fillers.resolve("f0"));
                Files.delete(fillers.resolve("f1"));
                assertHealth(server, 200, "UP");

                // Leave less than 16 MiB free: the directory is reported full before it is.
                Files.write(fillers.resolve("f1"), new byte[56 * 1024 * 1024]);
                String full = assertHealth(server, 503, "DOWN").getString("reason");
                assertTrue(
                        full.matches("session directory " + java.util.regex.Pattern.quote(directory.toString())
                                + " has \\d+ bytes free, less than 16777216"),
                        full);
                Files.delete(fillers.resolve("f1"));
                assertHealth(server, 200, "UP");
            });
        } finally {
            servers.forEach(TestServer::close);
            servers.clear();
            run("umount", "-l", mount.toString());
        }
        test.completeNow();
    }
}
