package dev.vertxsessions.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.internal.SessionIds;
import dev.vertxsessions.security.LogCapture;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file backend in a session directory where someone else can create entries: files are private (directory 0700,
 * files 0600), and an entry named like a session that is not a regular session file (a FIFO, a link to
 * {@code /dev/zero} or to a session file elsewhere, an oversize file, a directory) never hangs a request or the
 * sweeper, never fills the heap, is never served, and a lock file that is a link fails start-up without creating
 * anything at its target. POSIX only: the cases need permissions, FIFOs and symbolic links.
 */
@ExtendWith(VertxExtension.class)
class HostileDirectoryTest {

    private static final String PREFIX = "session_";

    @TempDir
    Path root;

    private Path directory;
    private Vertx vertx;
    private TestServer server;
    private final List<Path> fifos = new ArrayList<>();

    @BeforeEach
    void setUp(Vertx vertx) {
        assumeTrue(
                FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "needs a POSIX file system");
        this.vertx = vertx;
        this.directory = root.resolve("sessions");
    }

    @AfterEach
    void tearDown() throws IOException {
        // Were a FIFO opened for reading, its open(2) would wait for a writer: be one, so that a failed test ends.
        for (Path fifo : fifos) {
            if (Files.exists(fifo, LinkOption.NOFOLLOW_LINKS)) {
                FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE)
                        .close();
            }
        }
        if (server != null) {
            server.close();
        }
    }

    private static void routes(Router router) {
        router.get("/login").handler(ctx -> {
            SessionMiddleware.session(ctx).put("user", "alice");
            SessionMiddleware.session(ctx)
                    .commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end());
        });
        router.get("/grow").handler(ctx -> {
            // Outgrows the 512-byte slot of a new session file: the session is rewritten as a new, larger file.
            SessionMiddleware.session(ctx).put("blob", "x".repeat(4000));
            SessionMiddleware.session(ctx)
                    .commit()
                    .onComplete(ar -> ctx.response()
                            .setStatusCode(ar.succeeded() ? 200 : 503)
                            .end());
        });
        router.get("/huge").handler(ctx -> {
            SessionMiddleware.session(ctx).put("blob", "x".repeat(600_000));
            ctx.end("stored");
        });
        router.get("/probe").handler(ctx -> {
            // What the request found, then a change, so that a fresh session is saved and gets a cookie.
            JsonObject found = new JsonObject()
                    .put("isNew", SessionMiddleware.session(ctx).isNew())
                    .put("user", SessionMiddleware.session(ctx).get("user"));
            SessionMiddleware.session(ctx).put("seen", true);
            ctx.response().end(found.encode());
        });
    }

    private TestServer start(SessionConfig config) {
        server = TestServer.start(vertx, config, HostileDirectoryTest::routes);
        return server;
    }

    private TestServer start() {
        return start(new SessionConfig().setManager("file").setBackendOption("directory", directory.toString()));
    }

    private Future<HttpResponse<Buffer>> get(String path, String cookie) {
        var request = server.client.get(path);
        if (cookie != null) {
            request.putHeader("cookie", "session_id=" + cookie);
        }
        return request.send();
    }

    /** Logs in, waits for the session file, and returns the session ID. */
    private String login() {
        return loginLater().await();
    }

    /** Logs in and returns the session ID once its file is written. */
    private Future<String> loginLater() {
        return get("/login", null).map(response -> {
            assertEquals(200, response.statusCode());
            return TestServer.sessionCookie(response);
        });
    }

    /** Asserts that a /probe response is a fresh session with a new cookie, not the one {@code sentId} named. */
    private static void assertFresh(HttpResponse<Buffer> response, String sentId) {
        assertEquals(200, response.statusCode());
        JsonObject body = new JsonObject(response.bodyAsString());
        assertEquals(true, body.getBoolean("isNew"), "a fresh session: " + body);
        assertNull(body.getString("user"), "nothing served from the entry: " + body);
        String cookie = TestServer.sessionCookie(response);
        assertNotEquals(sentId, cookie, "a new session ID");
        assertTrue(SessionIds.isWellFormed(cookie));
    }

    private Path file(String id) {
        return directory.resolve(PREFIX + id);
    }

    private Path mkfifo(Path path) throws Exception {
        Process mkfifo;
        try {
            mkfifo = new ProcessBuilder("mkfifo", path.toString())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            assumeTrue(false, "needs mkfifo: " + e);
            throw e;
        }
        assertEquals(0, mkfifo.waitFor(), new String(mkfifo.getInputStream().readAllBytes(), UTF_8));
        fifos.add(path);
        assertTrue(attributes(path).isOther(), "a FIFO");
        return path;
    }

    /** Sets a FIFO's modification time with touch(1): the JDK opens the file to set it, which blocks on a FIFO. */
    private static void backdate(Path fifo, FileTime time) throws Exception {
        Process touch = new ProcessBuilder(
                        "touch", "-m", "-d", "@" + time.toInstant().getEpochSecond(), fifo.toString())
                .redirectErrorStream(true)
                .start();
        assertEquals(0, touch.waitFor(), new String(touch.getInputStream().readAllBytes(), UTF_8));
        assertEquals(
                time.toInstant().getEpochSecond(),
                attributes(fifo).lastModifiedTime().toInstant().getEpochSecond());
    }

    private static BasicFileAttributes attributes(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    /** A valid session file of {@code user}, expiring an hour from {@code now}. */
    private static byte[] sessionFile(String user, Instant now) {
        return SessionFiles.of(sessionJson(user, now));
    }

    /** The JSON of a session of {@code user}, expiring an hour from {@code now}. */
    private static String sessionJson(String user, Instant now) {
        long millis = now.toEpochMilli();
        return new JsonObject()
                .put("version", 1)
                .put("created", millis)
                .put("expires", millis + 3_600_000)
                .putNull("expiry")
                .put("data", new JsonObject().put("user", user))
                .encode();
    }

    /** Creates a sparse regular file one byte larger than a session file may be. */
    private static Path oversize(Path path) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.write(sessionFile("mallory", Instant.now()));
            file.setLength(SessionFiles.MAX_FILE_BYTES + 1L);
        }
        return path;
    }

    /** Completes once {@code condition} holds, polling every 50 ms; the test's timeout bounds the wait. */
    private Future<Void> eventually(BooleanSupplier condition) {
        Promise<Void> promise = Promise.promise();
        vertx.setPeriodic(0, 50, timer -> {
            if (condition.getAsBoolean()) {
                vertx.cancelTimer(timer);
                promise.tryComplete();
            }
        });
        return promise.future();
    }

    @Test
    void sessionDirectoryAndFiles_arePrivate(VertxTestContext test) {
        test.verify(() -> {
            start();
            assertEquals("rwx------", mode(directory), "the directory is created 0700");
            assertEquals("rw-------", mode(directory.resolve(".vertx-sessions.lock")));
            String id = login();
            assertEquals("rw-------", mode(file(id)), "a new session file");
            Object inode = attributes(file(id)).fileKey();
            assertEquals(200, get("/grow", id).await().statusCode());
            assertNotEquals(inode, attributes(file(id)).fileKey(), "the session was rewritten as a new file");
            assertEquals("rw-------", mode(file(id)), "a session file renamed into place");
            try (var files = Files.list(directory)) {
                for (Path file : files.toList()) {
                    assertEquals("rw-------", mode(file), "every file in the directory");
                }
            }
        });
        test.completeNow();
    }

    @Test
    void existingDirectory_keepsItsMode_andGetsPrivateFiles(VertxTestContext test) {
        test.verify(() -> {
            Files.createDirectory(directory);
            Files.setPosixFilePermissions(
                    directory, PosixFilePermissions.fromString("rwxr-x---")); // whatever the umask
            start();
            String id = login();
            assertEquals("rwxr-x---", mode(directory), "the operator's mode is kept");
            assertEquals("rw-------", mode(file(id)));
            assertEquals("rw-------", mode(directory.resolve(".vertx-sessions.lock")));
        });
        test.completeNow();
    }

    @Test
    @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
    void fifoNamedLikeASession_givesAFreshSession_andBlocksNoThread(VertxTestContext test) throws Exception {
        start();
        String id = SessionIds.generate();
        mkfifo(file(id));
        // More requests at once than any worker pool has threads: were one open(2) to block, later ones would queue.
        List<Future<HttpResponse<Buffer>>> probes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            probes.add(get("/probe", id));
        }
        Future.all(probes)
                .compose(all -> {
                    test.verify(() -> probes.forEach(probe -> assertFresh(probe.result(), id)));
                    return get("/login", null);
                })
                .compose(login -> get("/probe", TestServer.sessionCookie(login)))
                .onComplete(test.succeeding(probe -> test.verify(() -> {
                    assertEquals(
                            "alice", new JsonObject(probe.bodyAsString()).getString("user"), "other sessions work");
                    assertTrue(attributes(file(id)).isOther(), "the FIFO is left alone");
                    test.completeNow();
                })));
    }

    @Test
    @Timeout(value = 5, timeUnit = TimeUnit.SECONDS)
    void linkToDevZero_answersAtOnceWithAFreshSession(VertxTestContext test) throws Exception {
        Path zero = Path.of("/dev/zero");
        assumeTrue(Files.exists(zero), "needs /dev/zero");
        start();
        String id = SessionIds.generate();
        Files.createSymbolicLink(file(id), zero);
        Future.all(get("/probe", id), get("/probe", id), get("/probe", id))
                .onComplete(test.succeeding(all -> test.verify(() -> {
                    for (int i = 0; i < 3; i++) {
                        assertFresh(all.resultAt(i), id);
                    }
                    assertTrue(attributes(file(id)).isSymbolicLink(), "a read changes nothing");
                    test.completeNow();
                })));
    }

    @Test
    @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
    void linkToASessionFileOutside_isNotServed(VertxTestContext test) throws Exception {
        start();
        String id = login();
        // The genuine file of this session now lives outside the directory; in its place, a link to it.
        Path outside = Files.createDirectories(root.resolve("outside")).resolve(PREFIX + id);
        Files.move(file(id), outside);
        Files.createSymbolicLink(file(id), outside);
        byte[] before = Files.readAllBytes(outside);
        FileTime modified = Files.getLastModifiedTime(outside);
        assertTrue(SessionFiles.json(outside).contains("alice"));

        get("/probe", id)
                .compose(probe -> {
                    test.verify(() -> assertFresh(probe, id));
                    return get(
                            "/login",
                            id); // a write with that cookie starts a new session and leaves the link's target alone
                })
                .onComplete(test.succeeding(login -> test.verify(() -> {
                    assertEquals(200, login.statusCode());
                    assertNotEquals(id, TestServer.sessionCookie(login));
                    assertArrayEquals(before, Files.readAllBytes(outside), "the file outside is unchanged");
                    assertEquals(modified, Files.getLastModifiedTime(outside));
                    test.completeNow();
                })));
    }

    @Test
    @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
    void oversizeFile_readsAsAbsent_withoutBeingAllocated(VertxTestContext test) throws Exception {
        start();
        String id = SessionIds.generate();
        oversize(file(id));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(
                threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "needs per-thread allocation counters");
        long allocatedBefore = allocatedByAllThreads(threads);
        get("/probe", id)
                .compose(first -> {
                    test.verify(() -> assertFresh(first, id));
                    return get("/probe", id);
                })
                .compose(second -> {
                    test.verify(() -> assertFresh(second, id));
                    return get("/probe", id);
                })
                .onComplete(test.succeeding(third -> test.verify(() -> {
                    assertFresh(third, id);
                    long allocated = allocatedByAllThreads(threads) - allocatedBefore;
                    // Three reads of a 128 MiB file would allocate at least 384 MiB; the requests themselves need far
                    // less.
                    assertTrue(allocated < 64L << 20, "allocated " + (allocated >> 20) + " MiB for three requests");
                    assertEquals(SessionFiles.MAX_FILE_BYTES + 1L, Files.size(file(id)), "left as it was");
                    test.completeNow();
                })));
    }

    @Test
    void validSessionFileOverTheSizeLimit_readsAsAbsent_andIsLeftAsItWas(VertxTestContext test) {
        test.verify(() -> {
            start();
            String id = SessionIds.generate();
            byte[] planted = SessionFiles.of(sessionJson("mallory", Instant.now()), 2 << 20);
            Files.write(file(id), planted);

            assertFresh(get("/probe", id).await(), id);
            assertArrayEquals(planted, Files.readAllBytes(file(id)), "left as it was");
        });
        test.completeNow();
    }

    @Test
    void fileMaxSessionBytes_boundsWhatIsRead(VertxTestContext test) {
        test.verify(() -> {
            start(new SessionConfig()
                    .setManager("file")
                    .setBackendOption("directory", directory.toString())
                    .setBackendOption("file_max_session_bytes", 8192));
            String small = SessionIds.generate();
            Files.write(file(small), SessionFiles.of(sessionJson("alice", Instant.now()), 8192));
            String large = SessionIds.generate();
            byte[] planted = SessionFiles.of(sessionJson("mallory", Instant.now()), 16384);
            Files.write(file(large), planted);

            HttpResponse<Buffer> served = get("/probe", small).await();
            assertEquals("{\"isNew\":false,\"user\":\"alice\"}", served.bodyAsString());
            assertFresh(get("/probe", large).await(), large);
            assertArrayEquals(planted, Files.readAllBytes(file(large)), "left as it was");
        });
        test.completeNow();
    }

    @Test
    void sessionOverTheSizeLimit_isRefusedWith500_andNothingIsStored(VertxTestContext test) {
        test.verify(() -> {
            start();
            HttpResponse<Buffer> response = get("/huge", null).await();
            assertEquals(500, response.statusCode());
            assertNull(TestServer.setCookie(response, "session_id"), "no cookie for a session that was not stored");
            assertEquals(1, server.middleware.metrics().oversizeRejections());
            assertEquals(0, server.middleware.metrics().saves());
            try (var files = Files.list(directory)) {
                assertEquals(
                        List.of(".vertx-sessions.lock"),
                        files.map(f -> f.getFileName().toString())
                                .filter(name -> !name.startsWith(".vertx-sessions.quota"))
                                .toList());
            }
        });
        test.completeNow();
    }

    /** Bytes allocated so far by the live threads (a thread that ended meanwhile only lowers the figure). */
    private static long allocatedByAllThreads(com.sun.management.ThreadMXBean threads) {
        return Arrays.stream(threads.getThreadAllocatedBytes(threads.getAllThreadIds()))
                .filter(b -> b > 0)
                .sum();
    }

    @Test
    void lockFileLinkedOutside_failsStartUp_andCreatesNothingAtItsTarget(VertxTestContext test) {
        test.verify(() -> {
            Files.createDirectory(directory);
            Path target = root.resolve("elsewhere").resolve("planted");
            Files.createDirectories(target.getParent());
            Files.createSymbolicLink(directory.resolve(".vertx-sessions.lock"), target);
            SessionConfig config =
                    new SessionConfig().setManager("file").setBackendOption("directory", directory.toString());

            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> SessionMiddleware.create(vertx, config));
            assertEquals(
                    "directory " + directory.toRealPath() + ": .vertx-sessions.lock is not a regular file; remove it",
                    e.getMessage());
            assertFalse(Files.exists(target, LinkOption.NOFOLLOW_LINKS), "nothing created at the link's target");
            assertTrue(
                    attributes(directory.resolve(".vertx-sessions.lock")).isSymbolicLink(),
                    "the link is left as it was");

            // Once removed, as the message says, start-up works.
            Files.delete(directory.resolve(".vertx-sessions.lock"));
            start();
            assertEquals("rw-------", mode(file(login())));
        });
        test.completeNow();
    }

    @Test
    @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
    void sweeper_skipsFifosLinksDirectoriesAndOversizeFiles_andKeepsSweeping(VertxTestContext test) throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        start(new SessionConfig()
                .setBackend(FileSessionInterface.factory(
                        new FileSessionOptions().setDirectory(directory).setSweepInterval(Duration.ofMillis(100))))
                .setExpiry(Duration.ofHours(1))
                .setClock(clock));
        Path outside = Files.createDirectories(root.resolve("outside")).resolve("expired-session");
        Files.write(outside, sessionFile("mallory", clock.instant().minus(Duration.ofHours(5)))); // expired long ago
        FileTime anHourAgo = FileTime.from(Instant.now().minus(Duration.ofHours(1)));
        Files.setLastModifiedTime(outside, anHourAgo);
        List<Path> hostile = List.of(
                mkfifo(file(SessionIds.generate())),
                Files.createSymbolicLink(file(SessionIds.generate()), Path.of("/dev/zero")),
                Files.createSymbolicLink(file(SessionIds.generate()), outside),
                Files.createDirectory(file(SessionIds.generate())),
                oversize(file(SessionIds.generate())),
                mkfifo(directory.resolve(".tmp-" + PREFIX + SessionIds.generate())),
                Files.createSymbolicLink(directory.resolve(".tmp-" + PREFIX + SessionIds.generate()), outside));
        backdate(hostile.get(5), anHourAgo); // a stale temporary file, were it a regular file
        List<String> kinds = new ArrayList<>();
        for (Path entry : hostile) {
            kinds.add(kind(entry));
        }
        String first = login();
        List<String> ids = new ArrayList<>(List.of(first));
        for (Path entry : hostile) {
            String name = entry.getFileName().toString();
            ids.add(name.substring(name.indexOf(PREFIX) + PREFIX.length()));
        }
        LogCapture logs = new LogCapture(false);

        clock.advance(Duration.ofHours(2));
        eventually(() -> !Files.exists(file(first))
                        && server.middleware.metrics().sweeperDeletions() == 1)
                .compose(v -> loginLater())
                .compose(second -> {
                    // The sweeper is not stuck on any entry: a later sweep deletes the next expired session.
                    ids.add(second);
                    clock.advance(Duration.ofHours(2));
                    return eventually(() -> !Files.exists(file(second))
                            && server.middleware.metrics().sweeperDeletions() == 2);
                })
                .compose(v -> get("/login", null))
                .onComplete(test.succeeding(login -> test.verify(() -> {
                    logs.close();
                    assertEquals(200, login.statusCode(), "requests still work");
                    for (int i = 0; i < hostile.size(); i++) {
                        assertEquals(kinds.get(i), kind(hostile.get(i)), "left alone: entry " + i);
                    }
                    assertTrue(Files.exists(outside), "the file a link names is never deleted");
                    assertEquals(anHourAgo, Files.getLastModifiedTime(outside));
                    assertEquals(SessionFiles.MAX_FILE_BYTES + 1L, Files.size(hostile.get(4)));
                    for (String line : logs.lines()) {
                        for (String id : ids) {
                            assertFalse(line.contains(id), "a session ID was logged: " + line);
                        }
                    }
                    test.completeNow();
                })));
    }

    private static String kind(Path entry) throws IOException {
        BasicFileAttributes attributes = attributes(entry);
        return attributes.isSymbolicLink()
                ? "link"
                : attributes.isDirectory() ? "directory" : attributes.isOther() ? "other" : "file " + attributes.size();
    }
}
