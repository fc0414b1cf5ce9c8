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
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * flood of anonymous sessions evicts the oldest anonymous ones, never a promoted one, and logins keep working.
 */
@ExtendWith(VertxExtension.class)
class FileQuotaTest {

    @TempDir
    Path dir;

    Vertx vertx;
    MutableClock clock;
    final List<TestServer> servers = new ArrayList<>();

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

    TestServer start(FileSessionOptions options) {
        SessionConfig config = new SessionConfig()
                .setClock(clock)
                .setExpiry(Duration.ofSeconds(600))
                .setAnonymousExpiry(Duration.ofSeconds(60))
                .setBackend(FileSessionInterface.factory(options.setDirectory(dir)));
        TestServer server = TestServer.start(vertx, config, FileQuotaTest::routes);
        server.middleware.ready().await();
        servers.add(server);
        return server;
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
    void anonymousFlood_evictsTheOldestAnonymousSessions_neverAPromotedOne() throws IOException {
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
    }

    @Test
    void directoryFullOfPromotedSessions_refusesNewSessionsWith503_andKeepsTheLogins() throws IOException {
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
    }

    @Test
    void byteLimit_evictsTheOldestAnonymousSessions_alsoForAGrowingSession() throws IOException {
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
    }

    @Test
    void filesFromBeforeAStart_countTowardsTheQuota_oldestFirst() throws IOException {
        TestServer first = start(new FileSessionOptions().setMaxSessions(3));
        String member = login(first, null);
        String older = visit(first);
        String newer = visit(first);
        first.close();
        servers.remove(first);
        // The member wrote first: by age alone it would go, but it is promoted.
        TestServer second = start(new FileSessionOptions().setMaxSessions(3));
        String latest = visit(second);
        assertEquals(Set.of(member, newer, latest), sessionFiles());
        assertEquals("anonymous 0", second.get("/whoami", older).bodyAsString());
        assertEquals("alice 0", second.get("/whoami", member).bodyAsString());
    }

    @Test
    void logoutAndExpiry_giveTheirRoomBack() throws Exception {
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
}
