package dev.vertxsessions.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.internal.SessionIds;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file backend's quota ({@code file_max_sessions}, {@code file_max_bytes}) over real HTTP and real files: a
 * flood of anonymous sessions evicts the oldest anonymous ones, never a promoted one, and logins keep working; a
 * large directory does not delay the start-up, and the limit holds for the directory, whichever processes share it.
 */
@ExtendWith(VertxExtension.class)
class FileQuotaTest {

    @TempDir
    Path dir;

    Vertx vertx;
    MutableClock clock;
    final List<TestServer> servers = new ArrayList<>();
    final List<FileSessionInterface> backends = new ArrayList<>();

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
        this.clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    }

    @AfterEach
    void tearDown() {
        servers.forEach(TestServer::close);
    }

    /** Routes that answer once the session is stored (commit), so the test sees the directory as it is. */
    static void routes(Router router) {
        router.get("/visit").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int visits = session.get("visits", 0) + 1;
            session.put("visits", visits);
            TestServer.endAfterCommit(ctx, session, "visit " + visits);
        });
        router.get("/grow").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.put("blob", "x".repeat(800)); // needs a 2048-byte file
            TestServer.endAfterCommit(ctx, session, "grown");
        });
        router.post("/login").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.regenerate().put("user", "alice");
            TestServer.endAfterCommit(ctx, session, "welcome");
        });
        router.post("/logout").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.clear();
            TestServer.endAfterCommit(ctx, session, "bye");
        });
        router.get("/whoami").handler(TestServer.text(s -> s.get("user", "anonymous") + " " + s.get("visits", 0)));
    }

    /** Starts a server once its quota knows the directory (its start-up scan has ended). */
    TestServer start(FileSessionOptions options) {
        TestServer server = startWithoutWaiting(options, new SessionConfig().getBackendTimeout());
        backends.get(backends.size() - 1).startupScan().await();
        return server;
    }

    /** Starts a server without waiting for its quota's start-up scan. */
    TestServer startWithoutWaiting(FileSessionOptions options, Duration backendTimeout) {
        SessionConfig config = new SessionConfig()
                .setClock(clock)
                .setExpiry(Duration.ofSeconds(600))
                .setAnonymousExpiry(Duration.ofSeconds(60))
                .setBackendTimeout(backendTimeout)
                .setBackend((vertx, sessionConfig) -> {
                    FileSessionInterface backend =
                            (FileSessionInterface) FileSessionInterface.factory(options.setDirectory(dir))
                                    .create(vertx, sessionConfig);
                    backends.add(backend);
                    return backend;
                });
        TestServer server = TestServer.start(vertx, config, FileQuotaTest::routes);
        server.middleware.ready().await();
        servers.add(server);
        return server;
    }

    /** Starts a session without a cookie on the server listening on {@code port} and returns its ID. */
    String visitAt(int port) {
        HttpResponse<Buffer> response = servers.get(0)
                .client
                .request(HttpMethod.GET, port, "127.0.0.1", "/visit")
                .send()
                .await();
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals("visit 1", response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    /**
     * Writes {@code count} session files as an earlier run would have left them, last written an hour ago: anonymous
     * ones with 7 visits, or promoted ones of alice. Returns their IDs.
     */
    List<String> plant(int count, boolean promoted) throws IOException {
        Files.createDirectories(dir);
        long now = clock.millis();
        JsonObject data = promoted
                ? new JsonObject().put("user", "alice").put(BaseSessionInterface.PROMOTED_KEY, true)
                : new JsonObject().put("visits", 7);
        byte[] content = SessionFiles.of(new JsonObject()
                .put("version", 1)
                .put("created", now)
                .put("expires", now + (promoted ? 600_000 : 60_000))
                .putNull("expiry")
                .put("data", data)
                .encode());
        FileTime anHourAgo = FileTime.from(Instant.now().minus(Duration.ofHours(1)));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = SessionIds.generate();
            Path file = dir.resolve("session_" + id);
            Files.write(file, content);
            Files.setLastModifiedTime(file, anHourAgo);
            ids.add(id);
        }
        return ids;
    }

    /** Waits until the directory holds {@code expected} session files, for at most a minute. */
    void awaitSessionFiles(int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        int found;
        while ((found = sessionFiles().size()) != expected) {
            assertTrue(System.nanoTime() < deadline, "still " + found + " session files, not " + expected);
            Thread.sleep(50);
        }
    }

    /** Starts a session without a cookie and returns its ID. */
    static String visit(TestServer server) {
        HttpResponse<Buffer> response = server.get("/visit");
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals("visit 1", response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    /** Logs in, with the session {@code cookie} (or none), and returns the new session ID. */
    static String login(TestServer server, String cookie) {
        HttpResponse<Buffer> response =
                server.send(HttpMethod.POST, "/login", cookie == null ? null : "session_id=" + cookie);
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals("welcome", response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    Set<String> sessionFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(name -> name.startsWith("session_"))
                    .map(name -> name.substring("session_".length()))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    long totalLength() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("session_"))
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    @Test
    void anonymousFlood_evictsTheOldestAnonymousSessions_neverAPromotedOne(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(new FileSessionOptions().setMaxSessions(5));
            String alice = login(server, null);
            String bob = login(server, visit(server));
            List<String> anonymous = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                anonymous.add(visit(server));
            }
            assertEquals(Set.of(alice, bob, anonymous.get(17), anonymous.get(18), anonymous.get(19)), sessionFiles());
            assertEquals(17, server.middleware.metrics().evictions());
            assertEquals("alice 0", server.get("/whoami", alice).bodyAsString());
            assertEquals("alice 1", server.get("/whoami", bob).bodyAsString());
            assertEquals("anonymous 1", server.get("/whoami", anonymous.get(19)).bodyAsString());
            assertEquals("anonymous 0", server.get("/whoami", anonymous.get(0)).bodyAsString()); // evicted: fresh

            // A login while the directory is full moves a file: it succeeds and evicts nothing.
            String carol = login(server, anonymous.get(19));
            assertNotEquals(anonymous.get(19), carol);
            assertEquals(Set.of(alice, bob, anonymous.get(17), anonymous.get(18), carol), sessionFiles());
            assertEquals("alice 1", server.get("/whoami", carol).bodyAsString());
            assertEquals(17, server.middleware.metrics().evictions());

            // The flood goes on: only the two anonymous sessions left take turns.
            for (int i = 0; i < 10; i++) {
                visit(server);
            }
            Set<String> files = sessionFiles();
            assertEquals(5, files.size());
            assertTrue(files.containsAll(Set.of(alice, bob, carol)), files.toString());
        });
        test.completeNow();
    }

    @Test
    void directoryFullOfPromotedSessions_refusesNewSessionsWith503_andKeepsTheLogins(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(new FileSessionOptions().setMaxSessions(2));
            String alice = login(server, null);
            String bob = login(server, null);

            HttpResponse<Buffer> anonymous = server.get("/visit");
            assertEquals(503, anonymous.statusCode());
            assertEquals(
                    "session directory is full: file_max_sessions is reached and no anonymous session is left to evict; "
                            + "raise the limit",
                    anonymous.bodyAsString());
            assertNull(TestServer.setCookie(anonymous, "session_id"), "no cookie for a session that was not stored");
            HttpResponse<Buffer> newLogin = server.send(HttpMethod.POST, "/login", null);
            assertEquals(503, newLogin.statusCode(), "a login without a session needs a new file: none is evicted");

            assertEquals(Set.of(alice, bob), sessionFiles());
            assertEquals("alice 0", server.get("/whoami", alice).bodyAsString());
            assertEquals("alice 0", server.get("/whoami", bob).bodyAsString());
            assertEquals(0, server.middleware.metrics().evictions());
        });
        test.completeNow();
    }

    @Test
    void byteLimit_evictsTheOldestAnonymousSessions_alsoForAGrowingSession(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(new FileSessionOptions().setMaxBytes(6 * 1024));
            List<String> anonymous = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                anonymous.add(visit(server)); // 1024 bytes each
            }
            assertEquals(Set.copyOf(anonymous.subList(1, 7)), sessionFiles());
            assertEquals(6 * 1024, totalLength());

            // Outgrowing its 512-byte slot, the session moves to a 4096-byte file: three older ones make room.
            HttpResponse<Buffer> grown = server.get("/grow", anonymous.get(6));
            assertEquals(200, grown.statusCode());
            assertEquals(Set.copyOf(anonymous.subList(4, 7)), sessionFiles());
            assertEquals(1024 + 1024 + 4096, totalLength());
            assertEquals(4, server.middleware.metrics().evictions());
        });
        test.completeNow();
    }

    @Test
    void filesFromBeforeAStart_countTowardsTheQuota_oldestFirst(VertxTestContext test) {
        test.verify(() -> {
            TestServer first = start(new FileSessionOptions().setMaxSessions(3));
            String member = login(first, null);
            String older = visit(first);
            String newer = visit(first);
            first.close();
            servers.remove(first);
            // Written a second apart, the member first: by age alone it would go, but it is promoted.
            Instant now = Instant.now();
            Files.setLastModifiedTime(dir.resolve("session_" + member), FileTime.from(now.minusSeconds(3)));
            Files.setLastModifiedTime(dir.resolve("session_" + older), FileTime.from(now.minusSeconds(2)));
            Files.setLastModifiedTime(dir.resolve("session_" + newer), FileTime.from(now.minusSeconds(1)));
            TestServer second = start(new FileSessionOptions().setMaxSessions(3));
            String latest = visit(second);
            assertEquals(Set.of(member, newer, latest), sessionFiles());
            assertEquals("anonymous 0", second.get("/whoami", older).bodyAsString());
            assertEquals("alice 0", second.get("/whoami", member).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void logoutAndExpiry_giveTheirRoomBack(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(new FileSessionOptions().setMaxSessions(2).setSweepInterval(Duration.ZERO));
            String alice = login(server, null);
            String bob = login(server, null);
            assertEquals(503, server.get("/visit").statusCode());

            HttpResponse<Buffer> logout = server.send(HttpMethod.POST, "/logout", "session_id=" + alice);
            assertEquals("bye", logout.bodyAsString());
            String anonymous = visit(server);
            assertEquals(Set.of(bob, anonymous), sessionFiles());

            clock.advance(Duration.ofSeconds(601));
            assertEquals("anonymous 0", server.get("/whoami", bob).bodyAsString()); // expired: deleted once read
            for (int i = 0; i < 100 && sessionFiles().contains(bob); i++) {
                Thread.sleep(20); // the deletion of an expired file completes after the response
            }
            String fresh = visit(server);
            assertEquals(Set.of(anonymous, fresh), sessionFiles());
        });
        test.completeNow();
    }

    @Test
    void largeDirectoryOverTheCap_answersBeforeItsScan_andEvictsTheSurplusInTheBackground(VertxTestContext test) {
        test.verify(() -> {
            List<String> planted = plant(30_000, false);
            String member = plant(1, true).get(0);
            // Reading 30,001 files before the first answer would take longer than this.
            TestServer server =
                    startWithoutWaiting(new FileSessionOptions().setMaxSessions(20_000), Duration.ofMillis(500));

            assertEquals("alice 0", server.get("/whoami", member).bodyAsString());
            String fresh = visit(server);
            awaitSessionFiles(20_000);
            Set<String> files = sessionFiles();
            assertTrue(files.contains(member), "a promoted session is never evicted");
            assertTrue(files.contains(fresh), "the planted sessions, an hour old, go first");
            assertEquals(30_002 - 20_000, server.middleware.metrics().evictions());
            assertEquals(
                    30_000 - (30_002 - 20_000),
                    planted.stream().filter(files::contains).count());
            assertEquals("anonymous 1", server.get("/whoami", fresh).bodyAsString());
            for (int i = 0; i < 5; i++) {
                visit(server); // each one evicts one planted session
            }
            assertEquals(20_000, sessionFiles().size());
        });
        test.completeNow();
    }

    @Test
    void twoServersInOneProcess_onOneDirectory_keepTheCapForTheDirectory(VertxTestContext test) {
        test.verify(() -> {
            TestServer first = start(new FileSessionOptions().setMaxSessions(10));
            TestServer second = start(new FileSessionOptions().setMaxSessions(10));
            String member = login(first, null);
            for (int i = 0; i < 10; i++) {
                visit(first);
                visit(second);
            }
            Set<String> files = sessionFiles();
            assertEquals(10, files.size(), files.toString());
            assertTrue(files.contains(member));
            assertEquals(
                    11,
                    first.middleware.metrics().evictions()
                            + second.middleware.metrics().evictions());
        });
        test.completeNow();
    }

    @Test
    void twoProcesses_onOneDirectory_keepTheCapForTheDirectory(VertxTestContext test) {
        test.verify(() -> {
            clock.set(Instant.now()); // the other process runs on the real clock
            Files.createDirectories(dir);
            FileServerMain.Child child = FileServerMain.startChild(dir, "20");
            Process other = child.process();
            try {
                int otherPort = child.port();
                assertTrue(otherPort > 0, "the second process started");
                TestServer server = start(new FileSessionOptions().setMaxSessions(20));
                HttpResponse<Buffer> otherLogin = server.client
                        .request(HttpMethod.POST, otherPort, "127.0.0.1", "/login")
                        .send()
                        .await();
                assertEquals("welcome", otherLogin.bodyAsString());
                String member = TestServer.sessionCookie(otherLogin);
                String local = login(server, null);
                for (int i = 0; i < 15; i++) {
                    visit(server);
                    visitAt(otherPort);
                }
                Set<String> files = sessionFiles();
                assertEquals(20, files.size(), "at most file_max_sessions in the directory, whoever wrote them");
                assertTrue(files.containsAll(Set.of(member, local)), "no promoted session is evicted");
                assertEquals("alice 0", server.get("/whoami", member).bodyAsString());
            } finally {
                other.destroyForcibly().waitFor();
            }
        });
        test.completeNow();
    }

    @Test
    void quotaKeys_areReadFromJson_andBadValuesNameTheKey() {
        SessionConfig config = new SessionConfig(new JsonObject()
                .put("manager", "file")
                .put("directory", dir.toString())
                .put("file_max_sessions", 10_000)
                .put("file_max_bytes", 50_000_000));
        assertEquals(10_000L, config.toJson().getLong("file_max_sessions"));
        FileSessionOptions options = new FileSessionOptions(config.getBackendOptions());
        assertEquals(10_000L, options.getMaxSessions());
        assertEquals(50_000_000L, options.getMaxBytes());
        assertEquals(Long.MAX_VALUE, new FileSessionOptions().getMaxSessions());

        IllegalArgumentException zero = assertThrows(
                IllegalArgumentException.class,
                () -> new FileSessionOptions(new JsonObject().put("file_max_sessions", 0)));
        assertEquals("file_max_sessions must be at least 1, or null for no limit, got 0", zero.getMessage());
        IllegalArgumentException small = assertThrows(
                IllegalArgumentException.class,
                () -> new FileSessionOptions(new JsonObject().put("file_max_bytes", 100)));
        assertEquals(
                "file_max_bytes must be at least 1024 (one session file), or null for no limit, got 100",
                small.getMessage());
    }

    @Test
    void maxSessionBytes_isReadFromJson_andBadValuesNameTheKey() {
        assertEquals(1 << 20, new FileSessionOptions().getMaxSessionBytes());
        SessionConfig config = new SessionConfig(new JsonObject()
                .put("manager", "file")
                .put("directory", dir.toString())
                .put("file_max_session_bytes", 65_536));
        FileSessionOptions options = new FileSessionOptions(config.getBackendOptions());
        assertEquals(65_536, options.getMaxSessionBytes());
        assertEquals(65_536, options.toJson().getInteger("file_max_session_bytes"));
        assertEquals(65_536, new FileSessionOptions(options).getMaxSessionBytes());

        IllegalArgumentException small = assertThrows(
                IllegalArgumentException.class,
                () -> new FileSessionOptions(new JsonObject().put("file_max_session_bytes", 1000)));
        assertEquals(
                "file_max_session_bytes must be from 4096 to 134217728 (bytes of the largest session file), got 1000",
                small.getMessage());
        IllegalArgumentException large = assertThrows(
                IllegalArgumentException.class, () -> new FileSessionOptions().setMaxSessionBytes(Integer.MAX_VALUE));
        assertEquals(
                "file_max_session_bytes must be from 4096 to 134217728 (bytes of the largest session file), got "
                        + Integer.MAX_VALUE,
                large.getMessage());
    }
}
