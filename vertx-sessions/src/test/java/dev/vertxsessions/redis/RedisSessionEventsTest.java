package dev.vertxsessions.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionEvent;
import dev.vertxsessions.SessionEvent.Cause;
import dev.vertxsessions.SessionEvent.Kind;
import dev.vertxsessions.SessionEventsTest;
import dev.vertxsessions.TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Session events on Redis over HTTP: created, regenerated, destroyed by logout and by the admin API, and expired when
 * a request loads a session whose expiry passed, or (with redis_expiry_events) when Redis expires its key, and destroyed by the
 * limit (the SAVE script returns the IDs it ended).
 */
@ExtendWith(VertxExtension.class)
class RedisSessionEventsTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @RegisterExtension
    static RedisServerExtension redis = new RedisServerExtension();

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

    private void start(UnaryOperator<SessionConfig> change) {
        SessionConfig config = new SessionConfig()
                .setClock(clock)
                .setManager("redis")
                .setBackendOption("redis_url", redis.url())
                .setBackendOption("redis_timeout_ms", 2 * 1000);
        server = TestServer.start(vertx, change.apply(config), SessionEventsTest::routes);
        server.middleware.onEvent(events::add);
    }

    private SessionEvent next() throws InterruptedException {
        SessionEvent event = events.poll(10, TimeUnit.SECONDS);
        if (event == null) {
            throw new AssertionError("no session event within 10 s");
        }
        return event;
    }

    private void assertNoEvent() throws InterruptedException {
        assertNull(events.poll(300, TimeUnit.MILLISECONDS), "no event expected");
    }

    private static SessionEvent event(Kind kind, String id, String previousId, Cause cause, String who) {
        return new SessionEvent(kind, id, previousId, cause, who, "redis", T0.toEpochMilli());
    }

    private String login(String user, String cookie) {
        HttpResponse<Buffer> response = server.post("/login/" + user, cookie);
        assertEquals(200, response.statusCode(), response.bodyAsString());
        return TestServer.sessionCookie(response);
    }

    @Test
    void created_regenerated_destroyedByLogout(VertxTestContext test) {
        test.verify(() -> {
            start(c -> c);
            assertEquals("0", server.get("/peek").bodyAsString());
            assertNoEvent();
            String anonymous = TestServer.sessionCookie(server.get("/"));
            assertEquals(event(Kind.CREATED, anonymous, null, null, null), next());
            String alice = login("alice", anonymous);
            assertEquals(event(Kind.REGENERATED, alice, anonymous, null, "alice"), next());
            assertEquals(200, server.post("/logout", alice).statusCode());
            assertEquals(event(Kind.DESTROYED, alice, null, Cause.LOGOUT, "alice"), next());
            assertNoEvent();
        });
        test.completeNow();
    }

    @Test
    void destroyedByAdmin(VertxTestContext test) {
        test.verify(() -> {
            start(c -> c);
            String first = login("alice", null);
            String second = login("alice", null);
            assertEquals(event(Kind.CREATED, first, null, null, "alice"), next());
            assertEquals(event(Kind.CREATED, second, null, null, "alice"), next());
            server.middleware.sessions().delete(first).await();
            assertEquals(event(Kind.DESTROYED, first, null, Cause.ADMIN, null), next());
            assertEquals(
                    List.of(second),
                    server.middleware.sessions().deleteAllOf("alice").await());
            assertEquals(event(Kind.DESTROYED, second, null, Cause.ADMIN, "alice"), next());
            assertNoEvent();
        });
        test.completeNow();
    }

    @Test
    void expired_whenARequestLoadsASessionPastItsExpiry(VertxTestContext test) {
        test.verify(() -> {
            start(c -> c);
            String alice = login("alice", null);
            assertEquals(event(Kind.CREATED, alice, null, null, "alice"), next());
            clock.advance(Duration.ofSeconds(86401)); // the key's TTL runs on Redis's clock: it is still there
            assertEquals("0", server.get("/peek", alice).bodyAsString());
            assertEquals(
                    new SessionEvent(
                            Kind.EXPIRED,
                            alice,
                            null,
                            null,
                            "alice",
                            "redis",
                            T0.plusSeconds(86401).toEpochMilli()),
                    next());
        });
        test.completeNow();
    }

    @Test
    void expired_whenRedisExpiresTheKey_withRedisExpiryEvents_alsoAfterTheSubscriptionIsKilled(VertxTestContext test) {
        test.verify(() -> {
            Redis raw = Redis.createClient(vertx, redis.url());
            try {
                raw.send(Request.cmd(Command.CONFIG)
                                .arg("SET")
                                .arg("notify-keyspace-events")
                                .arg(""))
                        .await();
                start(c -> c.setExpiry(Duration.ofSeconds(1)).setBackendOption("redis_expiry_events", true));
                awaitSubscribers(raw, 1);
                String flags = valueOf(
                                raw.send(Request.cmd(Command.CONFIG).arg("GET").arg("notify-keyspace-events"))
                                        .await(),
                                "notify-keyspace-events")
                        .toString();
                assertTrue(flags.contains("E") && flags.contains("x"), "notify-keyspace-events turned on: " + flags);

                String first = TestServer.sessionCookie(server.get("/"));
                assertEquals(event(Kind.CREATED, first, null, null, null), next());
                assertEquals(event(Kind.EXPIRED, first, null, null, null), next()); // Redis's TTL of 1 s ran out

                raw.send(Request.cmd(Command.CLIENT).arg("KILL").arg("TYPE").arg("pubsub"))
                        .await();
                awaitSubscribers(raw, 1); // subscribed again
                String second = TestServer.sessionCookie(server.get("/"));
                assertEquals(event(Kind.CREATED, second, null, null, null), next());
                assertEquals(event(Kind.EXPIRED, second, null, null, null), next());
                assertNoEvent();
            } finally {
                raw.close();
            }
        });
        test.completeNow();
    }

    /** Returns the value of {@code name} in a reply of name/value pairs: a map (RESP3) or a list (RESP2). */
    private static Response valueOf(Response pairs, String name) {
        return pairs.type() == ResponseType.MULTI && pairs.containsKey(name) ? pairs.get(name) : pairs.get(1);
    }

    /** Waits until {@code count} connections listen to expired-key notifications of database 0. */
    private static void awaitSubscribers(Redis raw, int count) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            Response numsub = raw.send(Request.cmd(Command.PUBSUB).arg("NUMSUB").arg("__keyevent@0__:expired"))
                    .await();
            if (valueOf(numsub, "__keyevent@0__:expired").toInteger() == count) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the backend did not subscribe to Redis's expired-key notifications within 10 s");
    }

    @Test
    void theLimit_endsTheOldestSession_andReportsIt(VertxTestContext test) {
        test.verify(() -> {
            start(c -> c.setMaxSessionsPerUser(1));
            String first = login("alice", null);
            assertEquals(event(Kind.CREATED, first, null, null, "alice"), next());
            clock.advance(Duration.ofSeconds(1));
            String second = login("alice", null);
            Set<SessionEvent> heard = new HashSet<>();
            heard.add(next());
            heard.add(next());
            long at = T0.plusSeconds(1).toEpochMilli();
            assertEquals(
                    Set.of(
                            new SessionEvent(Kind.CREATED, second, null, null, "alice", "redis", at),
                            new SessionEvent(Kind.DESTROYED, first, null, Cause.LIMIT, "alice", "redis", at)),
                    heard);
            assertEquals(1, server.middleware.sessions().countOf("alice").await());
            assertNoEvent();
        });
        test.completeNow();
    }
}
