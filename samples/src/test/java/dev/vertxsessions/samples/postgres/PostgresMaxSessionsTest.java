package dev.vertxsessions.samples.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BackendRecorder;
import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestChanges;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.testkit.CountingRecorder;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The PostgreSQL backend's bound ({@code postgres.max_sessions}) over real HTTP and a real table: a flood of
 * anonymous sessions evicts the oldest anonymous ones, never a logged-in one; a table full of logged-in sessions
 * refuses new ones with 503; several instances sharing a table are brought back to the bound by the sweeper; a table
 * created by the previous version gets the new column and keeps its sessions.
 */
@ExtendWith({VertxExtension.class, PostgresServer.Extension.class})
class PostgresMaxSessionsTest {

    private Vertx vertx;
    private PostgresServer postgres;
    private MutableClock clock;
    private String table;
    private final List<TestServer> servers = new ArrayList<>();
    private final List<PostgresSessionBackend> backends = new ArrayList<>();

    @BeforeEach
    void setUp(Vertx vertx, PostgresServer postgres) {
        this.vertx = vertx;
        this.postgres = postgres;
        clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        table = PostgresServer.uniqueTable("bounded");
    }

    @AfterEach
    void tearDown() {
        servers.forEach(TestServer::close);
        backends.forEach(backend -> backend.close().await());
    }

    /** Routes that answer once the session is stored (commit), so the test sees the table as it is. */
    static void routes(Router router) {
        router.get("/visit").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            int visits = session.get("visits", 0) + 1;
            session.put("visits", visits);
            TestServer.endAfterCommit(ctx, session, "visit " + visits);
        });
        router.get("/increment")
                .handler(ctx -> SessionMiddleware.session(ctx)
                        .increment("counter")
                        .onSuccess(counter -> ctx.end("counter " + counter))
                        .onFailure(e -> ctx.response().setStatusCode(503).end(e.getMessage())));
        router.post("/login").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            session.regenerate().put("user", "alice");
            TestServer.endAfterCommit(ctx, session, "welcome");
        });
        router.get("/whoami").handler(TestServer.text(s -> s.get("user", "anonymous") + " " + s.get("visits", 0)));
    }

    private JsonObject postgresOptions(long maxSessions) {
        return new JsonObject().put("url", postgres.url()).put("table", table).put("max_sessions", maxSessions);
    }

    private TestServer start(long maxSessions) {
        SessionConfig config = new SessionConfig(new JsonObject()
                        .put("manager", "postgres")
                        .put("expiry", 600)
                        .put("anonymous_expiry", 60)
                        .put("postgres", postgresOptions(maxSessions)))
                .setClock(clock);
        TestServer server = TestServer.start(vertx, config, PostgresMaxSessionsTest::routes);
        server.middleware.ready().await();
        servers.add(server);
        return server;
    }

    /** Starts a session without a cookie, one second after the previous one, and returns its ID. */
    private String visit(TestServer server) {
        clock.advance(Duration.ofSeconds(1));
        HttpResponse<Buffer> response = server.get("/visit");
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals("visit 1", response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    /** Logs in, with the session {@code cookie} (or none), and returns the new session ID. */
    private static String login(TestServer server, String cookie) {
        HttpResponse<Buffer> response =
                server.send(HttpMethod.POST, "/login", cookie == null ? null : "session_id=" + cookie);
        assertEquals(200, response.statusCode(), response.bodyAsString());
        assertEquals("welcome", response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    private Set<String> storedIds() throws Exception {
        String ids = postgres.psql("SELECT id FROM " + table);
        return ids.isEmpty() ? Set.of() : new TreeSet<>(List.of(ids.split("\n")));
    }

    @Test
    void anonymousFlood_evictsTheOldestAnonymousSessions_neverALoggedInOne(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(5);
            String alice = login(server, null);
            String bob = login(server, visit(server));
            List<String> anonymous = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                anonymous.add(visit(server));
            }
            assertEquals(Set.of(alice, bob, anonymous.get(17), anonymous.get(18), anonymous.get(19)), storedIds());
            assertEquals(17, server.middleware.metrics().evictions());
            assertEquals("alice 0", server.get("/whoami", alice).bodyAsString());
            assertEquals("alice 1", server.get("/whoami", bob).bodyAsString());
            assertEquals("anonymous 1", server.get("/whoami", anonymous.get(19)).bodyAsString());
            assertEquals("anonymous 0", server.get("/whoami", anonymous.get(0)).bodyAsString()); // evicted: fresh

            // A login at the bound moves a row: it succeeds and evicts nothing.
            String carol = login(server, anonymous.get(19));
            assertNotEquals(anonymous.get(19), carol);
            assertEquals(Set.of(alice, bob, anonymous.get(17), anonymous.get(18), carol), storedIds());
            assertEquals("alice 1", server.get("/whoami", carol).bodyAsString());
            assertEquals(17, server.middleware.metrics().evictions());

            // The flood goes on: only the two anonymous sessions left take turns, and the column says who is who.
            for (int i = 0; i < 10; i++) {
                visit(server);
            }
            Set<String> ids = storedIds();
            assertEquals(5, ids.size());
            assertTrue(ids.containsAll(Set.of(alice, bob, carol)), ids.toString());
            assertEquals(
                    "f|3\nt|2", postgres.psql("SELECT anonymous, count(*) FROM " + table + " GROUP BY 1 ORDER BY 1"));
        });
        test.completeNow();
    }

    @Test
    void tableFullOfLoggedInSessions_refusesNewSessionsWith503_andKeepsTheLogins(VertxTestContext test) {
        test.verify(() -> {
            TestServer server = start(2);
            String alice = login(server, null);
            String bob = login(server, null);
            String full = "session table " + table + " is full: postgres.max_sessions (2) is reached and no anonymous"
                    + " session is left to evict; raise the limit";

            HttpResponse<Buffer> anonymous = server.get("/visit");
            assertEquals(503, anonymous.statusCode());
            assertEquals(full, anonymous.bodyAsString());
            assertNull(TestServer.setCookie(anonymous, "session_id"), "no cookie for a session that was not stored");
            HttpResponse<Buffer> increment = server.get("/increment");
            assertEquals(503, increment.statusCode(), "an atomic update that would create a row is refused too");
            assertEquals(full, increment.bodyAsString());
            HttpResponse<Buffer> newLogin = server.send(HttpMethod.POST, "/login", null);
            assertEquals(503, newLogin.statusCode(), "a login without a session needs a new row: none is evicted");

            assertEquals(Set.of(alice, bob), storedIds());
            assertEquals("alice 0", server.get("/whoami", alice).bodyAsString());
            assertEquals("alice 0", server.get("/whoami", bob).bodyAsString());
            assertEquals(0, server.middleware.metrics().evictions());
        });
        test.completeNow();
    }

    /** Starts a backend of its own on the table, as another application instance would. */
    private PostgresSessionBackend instance(BackendRecorder metrics) {
        PostgresSessionBackend backend =
                PostgresSessionBackend.create(vertx, clock, PostgresSessionOptions.fromJson(postgresOptions(5)));
        backends.add(backend);
        backend.start(metrics).await();
        return backend;
    }

    /** Stores a new session {@code id}, one second after the previous one; logged in when {@code promoted}. */
    private void store(PostgresSessionBackend backend, String id, boolean promoted) {
        clock.advance(Duration.ofSeconds(1));
        Map<String, Object> data = promoted ? Map.of(BaseSessionInterface.PROMOTED_KEY, true) : Map.of("visits", 1);
        long lifetime = promoted ? 600_000 : 60_000;
        assertTrue(backend.save(TestChanges.of(
                        id,
                        null,
                        true,
                        false,
                        data,
                        Set.of(),
                        data,
                        clock.millis(),
                        clock.millis() + lifetime,
                        clock.millis(),
                        null))
                .await());
    }

    private static String id(char c) {
        return String.valueOf(c).repeat(43);
    }

    @Test
    void severalInstances_overTheBoundTogether_areTrimmedBackByTheSweeper_oldestAnonymousFirst(VertxTestContext test) {
        test.verify(() -> {
            CountingRecorder firstMetrics = new CountingRecorder();
            PostgresSessionBackend first = instance(firstMetrics);
            PostgresSessionBackend second = instance(BackendRecorder.NONE);
            // Each instance counts what it adds: together they go over the bound of 5 until a sweep counts the table.
            store(first, id('a'), true);
            store(second, id('b'), false);
            store(second, id('c'), false);
            store(first, id('d'), true);
            store(second, id('e'), false);
            store(first, id('f'), false);
            store(second, id('g'), false);
            store(first, id('h'), false);
            assertEquals(8, storedIds().size());

            assertEquals(0, first.sweep().await(), "no expired row");
            assertEquals(Set.of(id('a'), id('d'), id('f'), id('g'), id('h')), storedIds());
            assertEquals(3, firstMetrics.evictions());

            // The second instance learns the count at its next sweep; from then on each new session evicts one.
            second.sweep().await();
            store(second, id('i'), false);
            assertEquals(Set.of(id('a'), id('d'), id('g'), id('h'), id('i')), storedIds());
        });
        test.completeNow();
    }

    @Test
    void tableOfThePreviousVersion_getsTheAnonymousColumn_andItsRowsCountAsLoggedIn(VertxTestContext test) {
        test.verify(() -> {
            // The schema the previous version created, with one of its sessions (an ID the middleware accepts).
            String old = "a".repeat(42) + "A";
            postgres.psql("CREATE TABLE " + table + " (id text PRIMARY KEY, data jsonb NOT NULL DEFAULT '{}',"
                    + " key_order text[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL,"
                    + " expires_at timestamptz NOT NULL, per_session_expiry_s integer CHECK (per_session_expiry_s > 0));"
                    + " CREATE INDEX " + table + "_expires_at_idx ON " + table + " (expires_at);"
                    + " INSERT INTO " + table + " (id, data, key_order, created_at, expires_at) VALUES ('" + old
                    + "', '{\"visits\": 3}', '{visits}', now(), now() + interval '1 day')");
            TestServer server = start(1);

            assertEquals(
                    "anonymous|boolean|NO|false",
                    postgres.psql("SELECT column_name, data_type, is_nullable, column_default FROM"
                            + " information_schema.columns WHERE table_name = '" + table
                            + "' AND column_name = 'anonymous'"));
            assertEquals("anonymous 3", server.get("/whoami", old).bodyAsString());
            // Whether the old row is anonymous is unknown until it is saved again: it is never evicted, so with the
            // bound
            // of 1 reached a new session is refused.
            HttpResponse<Buffer> refused = server.get("/visit");
            assertEquals(503, refused.statusCode());
            assertEquals(
                    "session table " + table + " is full: postgres.max_sessions (1) is reached and no anonymous session"
                            + " is left to evict; raise the limit",
                    refused.bodyAsString());
            assertEquals(Set.of(old), storedIds());
        });
        test.completeNow();
    }
}
