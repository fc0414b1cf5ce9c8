package dev.vertxsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionEvent.Cause;
import dev.vertxsessions.SessionEvent.Kind;
import dev.vertxsessions.security.LogCapture;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Session events over real HTTP, on the memory and the file backend (Redis: {@code RedisSessionEventsTest}). */
@ExtendWith(VertxExtension.class)
public class SessionEventsTest {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private Vertx vertx;
    private final MutableClock clock = new MutableClock(T0);
    private TestServer server;
    private final BlockingQueue<SessionEvent> events = new LinkedBlockingQueue<>();

    @BeforeEach
    void setUp(Vertx vertx) {
        this.vertx = vertx;
    }

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
    }

    /** The routes the event tests drive; every write is committed before the response, so its event comes first. */
    public static void routes(Router router) {
        TestServer.counter(router);
        router.get("/peek").handler(TestServer.text(session -> session.get("counter", 0)));
        router.get("/id").handler(TestServer.text(BaseSessionInterface::id));
        router.post("/login/:user").handler(ctx -> {
            BaseSessionInterface session = SessionMiddleware.session(ctx);
            String user = ctx.pathParam("user");
            session.regenerate().setPrincipal(user).put("user", user);
            TestServer.endAfterCommit(ctx, session, user);
        });
        router.post("/logout").handler(ctx -> {
            SessionMiddleware.session(ctx).destroy();
            ctx.end("bye");
        });
        router.get("/big").handler(ctx -> {
            SessionMiddleware.session(ctx).put("big", "x".repeat(8000));
            ctx.end("big");
        });
    }

    private SessionConfig config(String backend) {
        SessionConfig config = new SessionConfig().setClock(clock).setManager(backend);
        if (backend.equals("signed")) {
            config.setSecretKey(TestServer.SECRET);
        }
        if (backend.equals("file")) {
            config.setBackendOption("directory", dir.toString()).setBackendOption("file_max_session_bytes", 4096);
        }
        return config;
    }

    private TestServer start(String backend, UnaryOperator<SessionConfig> change) {
        server = TestServer.start(vertx, change.apply(config(backend)), SessionEventsTest::routes);
        server.middleware.onEvent(events::add);
        return server;
    }

    private SessionEvent next() throws InterruptedException {
        SessionEvent event = events.poll(10, TimeUnit.SECONDS);
        if (event == null) {
            throw new AssertionError("no session event within 10 s");
        }
        return event;
    }

    /** The next two events, in either order (a backend may report one before the middleware reports the other). */
    private Set<SessionEvent> nextTwo() throws InterruptedException {
        Set<SessionEvent> two = new HashSet<>();
        two.add(next());
        two.add(next());
        return two;
    }

    private void assertNoEvent() throws InterruptedException {
        assertNull(events.poll(300, TimeUnit.MILLISECONDS), "no event expected");
    }

    private static SessionEvent event(
            Kind kind, String id, String previousId, Cause cause, String who, String backend) {
        return new SessionEvent(kind, id, previousId, cause, who, backend, T0.toEpochMilli());
    }

    /** Returns the ID of the session {@code cookie} names: the cookie itself, except with signed cookies. */
    private String idOf(String cookie) {
        return server.get("/id", cookie).bodyAsString();
    }

    private String login(String user, String cookie) {
        HttpResponse<Buffer> response = server.post("/login/" + user, cookie);
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    // ------------------------------------------------------------------ created, regenerated, destroyed

    @ParameterizedTest
    @ValueSource(strings = {"memory", "file", "signed"})
    void created_onTheFirstSaveOnly_notForALazySessionThatNeverSaved(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend, c -> c);
            assertEquals("0", server.get("/peek").bodyAsString()); // lazy: nothing stored, no cookie
            assertNoEvent();
            String cookie = TestServer.sessionCookie(server.get("/"));
            assertEquals(event(Kind.CREATED, idOf(cookie), null, null, null, backend), next());
            assertEquals(
                    "You've visited this page 2 times", server.get("/", cookie).bodyAsString());
            assertNoEvent(); // a later save of the same session is no creation
        });
        test.completeNow();
    }

    @Test
    void noEvent_forASaveThatFailed(VertxTestContext test) {
        test.verify(() -> {
            start("file", c -> c);
            HttpResponse<Buffer> refused = server.get("/big"); // over file_max_session_bytes: the save fails
            assertEquals(500, refused.statusCode());
            assertNull(TestServer.setCookie(refused, "session_id"));
            assertNoEvent();
            assertEquals(1, server.middleware.metrics().saveFailures());
        });
        test.completeNow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "file", "signed"})
    void regenerated_atLogin_withTheOldAndNewIds_thenDestroyedByLogout(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend, c -> c);
            String anonymous = TestServer.sessionCookie(server.get("/"));
            String anonymousId = idOf(anonymous);
            assertEquals(event(Kind.CREATED, anonymousId, null, null, null, backend), next());
            String alice = login("alice", anonymous);
            String aliceId = idOf(alice);
            assertNotEquals(anonymousId, aliceId);
            assertEquals(event(Kind.REGENERATED, aliceId, anonymousId, null, "alice", backend), next());
            HttpResponse<Buffer> logout = server.post("/logout", alice);
            assertEquals(200, logout.statusCode());
            assertEquals(event(Kind.DESTROYED, aliceId, null, Cause.LOGOUT, "alice", backend), next());
            assertNoEvent();
        });
        test.completeNow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "file"})
    void destroyedByAdmin_deleteAndDeleteAllOf(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend, c -> c);
            String first = login("alice", null);
            String second = login("alice", null);
            String third = login("alice", null);
            assertEquals(event(Kind.CREATED, first, null, null, "alice", backend), next());
            assertEquals(event(Kind.CREATED, second, null, null, "alice", backend), next());
            assertEquals(event(Kind.CREATED, third, null, null, "alice", backend), next());
            server.middleware.sessions().delete(first).await();
            assertEquals(event(Kind.DESTROYED, first, null, Cause.ADMIN, null, backend), next());
            List<String> ended =
                    server.middleware.sessions().deleteAllOf("alice").await();
            assertEquals(Set.of(second, third), new HashSet<>(ended));
            Set<SessionEvent> heard = nextTwo();
            assertEquals(
                    Set.of(
                            event(Kind.DESTROYED, second, null, Cause.ADMIN, "alice", backend),
                            event(Kind.DESTROYED, third, null, Cause.ADMIN, "alice", backend)),
                    heard);
            assertNoEvent();
        });
        test.completeNow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "file"})
    void destroyedByTheLimit_whenALoginEndsTheOldestSession(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend, c -> c.setMaxSessionsPerUser(2));
            String first = login("alice", null);
            assertEquals(event(Kind.CREATED, first, null, null, "alice", backend), next());
            clock.advance(Duration.ofSeconds(1)); // the first expires first
            String second = login("alice", null);
            SessionEvent secondCreated = next();
            assertEquals(Kind.CREATED, secondCreated.kind());
            assertEquals(second, secondCreated.id());
            clock.advance(Duration.ofSeconds(1));
            String third = login("alice", null);
            long now = T0.plusSeconds(2).toEpochMilli();
            assertEquals(
                    Set.of(
                            new SessionEvent(Kind.DESTROYED, first, null, Cause.LIMIT, "alice", backend, now),
                            new SessionEvent(Kind.CREATED, third, null, null, "alice", backend, now)),
                    nextTwo());
            assertEquals(2, server.middleware.sessions().countOf("alice").await());
            assertNoEvent();
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ expired

    @ParameterizedTest
    @ValueSource(strings = {"memory", "file", "signed"})
    void expired_whenARequestLoadsAnExpiredSession(String backend, VertxTestContext test) {
        test.verify(() -> {
            start(backend, c -> c);
            String alice = login("alice", null);
            String aliceId = idOf(alice);
            assertEquals(event(Kind.CREATED, aliceId, null, null, "alice", backend), next());
            clock.advance(Duration.ofSeconds(86401));
            assertEquals("0", server.get("/peek", alice).bodyAsString());
            assertEquals(
                    new SessionEvent(
                            Kind.EXPIRED,
                            aliceId,
                            null,
                            null,
                            "alice",
                            backend,
                            T0.plusSeconds(86401).toEpochMilli()),
                    next());
            assertNoEvent();
        });
        test.completeNow();
    }

    @Test
    void expired_whenTheFileSweeperDeletesAnExpiredSession(VertxTestContext test) {
        test.verify(() -> {
            start("file", c -> c.setBackendOption("sweep_interval", 1));
            String alice = login("alice", null);
            String anonymous = TestServer.sessionCookie(server.get("/"));
            assertEquals(event(Kind.CREATED, alice, null, null, "alice", "file"), next());
            assertEquals(event(Kind.CREATED, anonymous, null, null, null, "file"), next());
            clock.advance(Duration.ofSeconds(86401));
            long then = T0.plusSeconds(86401).toEpochMilli();
            assertEquals(
                    Set.of(
                            new SessionEvent(Kind.EXPIRED, alice, null, null, "alice", "file", then),
                            new SessionEvent(Kind.EXPIRED, anonymous, null, null, null, "file", then)),
                    nextTwo());
            // Each session is reported as it is deleted; the sweep counts its deletions once it has been through all.
            Wait.until(() -> server.middleware.metrics().sweeperDeletions() == 2);
            assertNoEvent(); // one event per session, however many sweeps run
        });
        test.completeNow();
    }

    // ------------------------------------------------------------------ delivery

    @Test
    void aListenerThatThrows_isLogged_andNeitherTheRequestNorOtherListenersNotice(VertxTestContext test) {
        test.verify(() -> {
            server = TestServer.start(vertx, config("memory"), SessionEventsTest::routes);
            server.middleware.onEvent(event -> {
                throw new IllegalStateException("listener bug");
            });
            server.middleware.onEvent(events::add);
            try (LogCapture log = new LogCapture(false)) {
                HttpResponse<Buffer> response = server.get("/");
                assertEquals(200, response.statusCode());
                assertEquals("You've visited this page 1 times", response.bodyAsString());
                String id = TestServer.sessionCookie(response);
                assertEquals(event(Kind.CREATED, id, null, null, null, "memory"), next());
                Wait.until(() -> log.warnings().stream()
                        .anyMatch(line -> line.startsWith("dev.vertxsessions.SessionMiddleware WARNING session event "
                                        + "listener failed on SessionEvent[CREATED, backend memory]")
                                && line.contains("listener bug")
                                && !line.contains(id)));
            }
        });
        test.completeNow();
    }

    @Test
    void listeners_runOnTheContextTheyWereAddedOn_andStopWhenRemoved(VertxTestContext test) {
        test.verify(() -> {
            server = TestServer.start(vertx, config("memory"), SessionEventsTest::routes);
            Context context = vertx.getOrCreateContext();
            CompletableFuture<Context> heardOn = new CompletableFuture<>();
            CompletableFuture<SessionEvent.Registration> added = new CompletableFuture<>();
            context.runOnContext(
                    v -> added.complete(server.middleware.onEvent(event -> heardOn.complete(Vertx.currentContext()))));
            SessionEvent.Registration registration = added.get(10, TimeUnit.SECONDS);
            SessionEvent.Registration collecting = server.middleware.onEvent(events::add);
            server.get("/");
            assertSame(context, heardOn.get(10, TimeUnit.SECONDS));
            assertEquals(Kind.CREATED, next().kind());
            registration.remove();
            collecting.remove();
            server.get("/");
            assertNoEvent();
        });
        test.completeNow();
    }

    @Test
    void eventsAddress_publishesEachEventAsJson(VertxTestContext test) {
        test.verify(() -> {
            BlockingQueue<JsonObject> published = new LinkedBlockingQueue<>();
            vertx.eventBus()
                    .<JsonObject>consumer("sessions.events", message -> published.add(message.body()))
                    .completion()
                    .await();
            server = TestServer.start(
                    vertx,
                    new SessionConfig(new JsonObject().put("manager", "memory").put("eventsAddress", "sessions.events"))
                            .setClock(clock),
                    SessionEventsTest::routes);
            assertEquals("sessions.events", server.middleware.config().getEventsAddress());
            String anonymous = TestServer.sessionCookie(server.get("/"));
            String alice = login("alice", anonymous);
            server.post("/logout", alice);
            long at = T0.toEpochMilli();
            assertEquals(
                    new JsonObject()
                            .put("kind", "created")
                            .put("id", anonymous)
                            .put("backend", "memory")
                            .put("at", at),
                    published.poll(10, TimeUnit.SECONDS));
            assertEquals(
                    new JsonObject()
                            .put("kind", "regenerated")
                            .put("id", alice)
                            .put("previous_id", anonymous)
                            .put("principal", "alice")
                            .put("backend", "memory")
                            .put("at", at),
                    published.poll(10, TimeUnit.SECONDS));
            JsonObject logout = published.poll(10, TimeUnit.SECONDS);
            assertEquals(
                    new JsonObject()
                            .put("kind", "destroyed")
                            .put("id", alice)
                            .put("cause", "logout")
                            .put("principal", "alice")
                            .put("backend", "memory")
                            .put("at", at),
                    logout);
            assertEquals(
                    event(Kind.DESTROYED, alice, null, Cause.LOGOUT, "alice", "memory"), SessionEvent.fromJson(logout));
        });
        test.completeNow();
    }

    @Test
    void eventsAddress_inEveryFormOfTheKey() {
        for (String key : List.of("events_address", "eventsAddress", "EVENTS_ADDRESS")) {
            assertEquals("a.b", new SessionConfig(new JsonObject().put(key, "a.b")).getEventsAddress(), key);
        }
        assertEquals("a.b", new SessionConfig().setEventsAddress("a.b").toJson().getString("events_address"));
        IllegalArgumentException blank = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> new SessionConfig().setEventsAddress(" "));
        assertTrue(blank.getMessage().startsWith("events_address must be an event-bus address"), blank.getMessage());
    }

    /** Polls a condition for up to 10 s. */
    static final class Wait {
        static void until(java.util.function.BooleanSupplier condition) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("condition not met within 10 s");
                }
                Thread.sleep(20);
            }
        }
    }
}
