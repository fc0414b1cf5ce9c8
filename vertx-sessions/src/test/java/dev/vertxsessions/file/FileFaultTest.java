package dev.vertxsessions.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.security.LogCapture;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file backend under storage faults injected while the server runs: a read-only session directory and a full
 * disk. A save that fits the free slot of an existing session file is written in place and succeeds; saves that
 * need a new file (a new session, a session outgrowing its file) fail, and when awaited ({@code commit()}) the
 * route answers 503; a later load still sees the earlier value; nothing is half-written (no temporary file, other
 * files byte-identical with the same mtime); no log line carries a session ID; and once the fault is gone the
 * same server recovers with no restart. A logout fails with 503 in a read-only directory (the session stays, as
 * the 503 says) and works on a full disk.
 */
@ExtendWith(VertxExtension.class)
class FileFaultTest {

    /**
     * The temp tree of a test. A field, not a test parameter: it is created before the test's Vert.x instance and
     * deleted only once that instance is closed.
     */
    @TempDir
    Path root;

    private Vertx vertx;

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
    }

    private static void routes(Router router) {
        router.get("/commit").handler(ctx -> {
            SessionMiddleware.session(ctx).put("v", ctx.queryParams().get("v"));
            SessionMiddleware.session(ctx)
                    .commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end(ar.succeeded() ? "saved" : "session store unavailable"));
        });
        router.get("/auto").handler(ctx -> {
            SessionMiddleware.session(ctx).put("v", ctx.queryParams().get("v"));
            ctx.response().end("saved when the headers go out");
        });
        router.get("/logout").handler(ctx -> {
            SessionMiddleware.session(ctx).invalidate();
            SessionMiddleware.session(ctx)
                    .commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end());
        });
        router.get("/read").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            ctx.response()
                    .end(new JsonObject()
                            .put("isNew", session.isNew())
                            .put("v", session.get("v"))
                            .encode());
        });
    }

    private TestServer start(Path directory) {
        return TestServer.start(
                vertx,
                new SessionConfig().setBackend(FileSessionInterface.factory(directory, "session_")),
                FileFaultTest::routes);
    }

    private static HttpResponse<Buffer> get(TestServer server, String path, String cookie) {
        var request = server.client.get(path);
        if (cookie != null) {
            request.putHeader("cookie", "session_id=" + cookie);
        }
        return request.send().await();
    }

    /** Commits {@code v} to a new session and returns its cookie. */
    private static String create(TestServer server, String value) {
        HttpResponse<Buffer> response = get(server, "/commit?v=" + value, null);
        assertEquals(200, response.statusCode());
        return TestServer.cookieValue(TestServer.setCookie(response, "session_id"));
    }

    private static String read(TestServer server, String cookie) {
        HttpResponse<Buffer> response = get(server, "/read", cookie);
        assertEquals(200, response.statusCode(), "loads keep working during the fault");
        JsonObject body = new JsonObject(response.bodyAsString());
        return body.getBoolean("isNew") ? "(fresh)" : body.getString("v");
    }

    /** The same requests against a directory with the fault on, then off again. */
    private static void exerciseFault(
            TestServer server, Path directory, FileFaults.Fault fault, boolean deletesFail, String alice, String bob)
            throws Exception {
        Map<String, String> before = FilePathSafetyTest.snapshot(directory);
        String aliceFile = "session_" + alice;
        long aliceSize = Files.size(directory.resolve(aliceFile));
        String big = "x".repeat(4000); // outgrows the 512-byte slot of a new session file: needs a new, larger file
        try (LogCapture logs = new LogCapture(false)) {
            System.out.println("FileFaultTest: fault injected with " + fault.mechanism());
            // A version that fits the session file's free slot is written in place: no new file, no new space.
            assertEquals(200, get(server, "/commit?v=a2", alice).statusCode(), "an in-place save needs nothing new");
            assertEquals("a2", read(server, alice));
            assertEquals(503, get(server, "/commit?v=" + big, alice).statusCode(), "an awaited save fails with 503");
            assertEquals("a2", read(server, alice), "a later load sees the earlier value");

            HttpResponse<Buffer> fresh = get(server, "/commit?v=n1", null);
            assertEquals(503, fresh.statusCode(), "a new session cannot be saved either");
            String orphan = TestServer.setCookie(fresh, "session_id");
            if (orphan != null) {
                assertEquals("(fresh)", read(server, TestServer.cookieValue(orphan)), "nothing was stored for it");
            }

            // Without commit() the save runs as the headers go out: the client gets 200 when the store fails after
            // that (the failure is logged), or 503 when it failed at once; either way the data was not stored.
            int automatic = get(server, "/auto?v=" + big, alice).statusCode();
            assertTrue(automatic == 200 || automatic == 503, "automatic save answered " + automatic);
            assertEquals("a2", read(server, alice));

            Map<String, String> after = FilePathSafetyTest.snapshot(directory);
            if (!deletesFail) {
                // On a full disk a temporary file is created, fails to fill, and is removed: the directory's own mtime
                // moves.
                before.remove("");
                after.remove("");
            }
            // Alice's file was written in place: same size, new mtime.
            before.remove(aliceFile);
            assertEquals(aliceSize, Files.size(directory.resolve(aliceFile)));
            assertTrue(after.remove(aliceFile) != null);
            assertEquals(before, after, "nothing half-written, other files intact");

            if (deletesFail) {
                assertEquals(503, get(server, "/logout", bob).statusCode(), "an awaited logout fails with 503");
                assertEquals("b1", read(server, bob), "and the session is still there, as the 503 said");
            } else {
                assertEquals(200, get(server, "/logout", bob).statusCode(), "deleting needs no space: logout works");
                assertEquals("(fresh)", read(server, bob));
            }
            List<String> warnings = logs.warnings();
            assertFalse(warnings.isEmpty(), "the failed save is logged");
            for (String line : logs.lines()) {
                for (String cookie : List.of(alice, bob)) {
                    assertFalse(line.contains(cookie), "a session ID (a bearer credential) was logged: " + line);
                }
            }
        } finally {
            fault.close();
        }
        // The fault is gone: the same server recovers by itself.
        assertEquals(200, get(server, "/commit?v=a4", alice).statusCode());
        assertEquals("a4", read(server, alice));
        assertEquals("n2", read(server, create(server, "n2")));
        assertEquals(200, get(server, "/logout", bob).statusCode());
        assertEquals("(fresh)", read(server, bob));
        assertEquals(200, get(server, "/logout", alice).statusCode());
        assertEquals("(fresh)", read(server, alice));
        try (var files = Files.list(directory)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".tmp-")), "no temporary file left");
        }
    }

    @Test
    void unreadableSessionEntry_givesA503OnLoad_logsNoSessionId_andDoesNotStopTheSweeper(VertxTestContext test) {
        test.verify(() -> {
            Path directory = root.resolve("sessions");
            MutableClock clock = new MutableClock(java.time.Instant.now());
            SessionConfig config = new SessionConfig()
                    .setBackend(FileSessionInterface.factory(new dev.vertxsessions.file.FileSessionOptions()
                            .setDirectory(directory)
                            .setSweepInterval(java.time.Duration.ofSeconds(1))))
                    .setExpiry(java.time.Duration.ofHours(1))
                    .setClock(clock);
            try (TestServer server = TestServer.start(vertx, config, FileFaultTest::routes);
                    LogCapture logs = new LogCapture(false)) {
                String alice = create(server, "a1");
                String bob = create(server, "b1");
                // Bob's entry can no longer be read as a file (a directory of the same name stops root too,
                // unlike chmod).
                Path bobFile = directory.resolve("session_" + bob);
                Files.delete(bobFile);
                Files.createDirectory(bobFile);

                assertEquals(503, get(server, "/read", bob).statusCode(), "the store cannot answer for this session");
                assertEquals("a1", read(server, alice), "other sessions are unaffected");

                // Alice expires; the sweeper must delete her file although it meets Bob's unreadable entry on the way.
                clock.advance(java.time.Duration.ofHours(2));
                Path aliceFile = directory.resolve("session_" + alice);
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                while (Files.exists(aliceFile) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertFalse(Files.exists(aliceFile), "one unreadable entry must not stop the sweeper");
                assertTrue(Files.isDirectory(bobFile), "the sweeper leaves what it cannot read");
                for (String line : logs.lines()) {
                    assertFalse(line.contains(bob) || line.contains(alice), "a session ID was logged: " + line);
                }
            }
        });
        test.completeNow();
    }

    @Test
    void readOnlyDirectory_failsAwaitedSavesWith503_keepsEarlierSessions_andRecoversByItself(VertxTestContext test) {
        test.verify(() -> {
            Path directory = root.resolve("sessions");
            try (TestServer server = start(directory)) {
                String alice = create(server, "a1");
                String bob = create(server, "b1");
                exerciseFault(server, directory, FileFaults.readOnly(directory), true, alice, bob);
            }
        });
        test.completeNow();
    }

    @Test
    void fullDisk_failsAwaitedSavesWith503_keepsEarlierSessions_andRecoversByItself(VertxTestContext test) {
        test.verify(() -> {
            Path directory = Files.createDirectories(root.resolve("sessions"));
            try (FileFaults.Fault tmpfs = FileFaults.tinyTmpfs(directory, "64k")) {
                try (TestServer server = start(directory)) {
                    String alice = create(server, "a1");
                    String bob = create(server, "b1");
                    Path filler = FileFaults.fill(directory);
                    FileFaults.Fault full = new FileFaults.Fault() {
                        @Override
                        public String mechanism() {
                            return tmpfs.mechanism() + ", filled up";
                        }

                        @Override
                        public void close() throws java.io.IOException {
                            Files.delete(filler);
                        }
                    };
                    exerciseFault(server, directory, full, false, alice, bob);
                }
            }
        });
        test.completeNow();
    }
}
