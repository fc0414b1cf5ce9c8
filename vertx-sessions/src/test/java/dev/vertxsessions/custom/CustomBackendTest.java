package dev.vertxsessions.custom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.BaseSessionInterface;
import dev.vertxsessions.MutableClock;
import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionManagerFactory;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A custom backend written only against the public API, the seed's way (this package sees nothing package-private). */
@ExtendWith(VertxExtension.class)
public class CustomBackendTest {

    // README: custom backend, the seed's way
    /** The seed's "custom backend" example in Java, with expiry: a map stands in for a key-value store. */
    public static class MemorySession extends BaseSessionInterface {
        static final Map<String, String> STORE = new ConcurrentHashMap<>();

        @Override
        protected Future<Void> load() {
            String json = STORE.get("session:" + getSessionKey());
            if (json != null) {
                JsonObject entry = new JsonObject(json);
                Long expiry = entry.getLong("expiry");
                // restore() leaves the session empty when the entry has expired
                restore(
                        getSessionKey(),
                        entry.getJsonObject("data").getMap(),
                        entry.getLong("created"),
                        entry.getLong("expires"),
                        expiry == null ? null : Duration.ofSeconds(expiry));
            }
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> save() {
            String json = new JsonObject()
                    .put("data", new JsonObject(new LinkedHashMap<>(data())))
                    .put("created", getCreatedAt())
                    .put("expires", expiresAtMillis())
                    .put(
                            "expiry",
                            perSessionExpiry() == null
                                    ? null
                                    : perSessionExpiry().toSeconds())
                    .encode();
            String key = "session:" + getSessionKey();
            if (isNew()) {
                STORE.put(key, json);
            } else {
                STORE.computeIfPresent(key, (k, old) -> json); // deleted meanwhile (a logout): do not bring it back
            }
            return Future.succeededFuture();
        }

        @Override
        protected Future<Void> delete(String sessionKey) {
            STORE.remove("session:" + sessionKey);
            return Future.succeededFuture();
        }
    }
    // README: end

    MutableClock clock;
    TestServer server;

    @BeforeEach
    void start(Vertx vertx) {
        MemorySession.STORE.clear();
        clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        SessionConfig config = new SessionConfig()
                .setManager(SessionManagerFactory.of(MemorySession::new))
                .setClock(clock)
                .setExpiry(Duration.ofHours(1));
        server = TestServer.start(vertx, config, router -> {
            TestServer.counter(router);
            router.post("/login").handler(ctx -> {
                SessionMiddleware.session(ctx).regenerate().put("user_id", 42);
                ctx.end("ok");
            });
            router.post("/logout").handler(ctx -> {
                SessionMiddleware.session(ctx).clear();
                ctx.end("bye");
            });
            router.post("/todo")
                    .handler(ctx -> SessionMiddleware.session(ctx)
                            .update(
                                    "todos",
                                    list -> list == null ? java.util.List.of("milk") : java.util.List.of(list, "eggs"))
                            .onComplete(ar -> ctx.end(String.valueOf(ar.succeeded()))));
            router.get("/todos").handler(TestServer.text(session -> session.get("todos")));
        });
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static JsonObject entry(String key) {
        return new JsonObject(MemorySession.STORE.get("session:" + key));
    }

    @Test
    void customBackend_countsStoresRegeneratesAndDeletes(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> first = server.get("/");
            assertEquals("You've visited this page 1 times", first.bodyAsString());
            String key = TestServer.sessionCookie(first);
            assertEquals(new JsonObject().put("counter", 1), entry(key).getJsonObject("data"));
            assertEquals(
                    Instant.parse("2026-01-01T01:00:00Z").toEpochMilli(),
                    entry(key).getLong("expires"));
            assertEquals(
                    "You've visited this page 2 times", server.get("/", key).bodyAsString());

            String newKey = TestServer.sessionCookie(server.post("/login", key));
            assertFalse(newKey.equals(key));
            assertNull(MemorySession.STORE.get("session:" + key));
            assertEquals(
                    new JsonObject()
                            .put("counter", 2)
                            .put(BaseSessionInterface.PROMOTED_KEY, true)
                            .put("user_id", 42),
                    entry(newKey).getJsonObject("data"));

            HttpResponse<Buffer> logout = server.post("/logout", newKey);
            assertTrue(TestServer.setCookie(logout, "session_id").startsWith("session_id=; Max-Age=0;"));
            assertTrue(MemorySession.STORE.isEmpty());
        });
        test.completeNow();
    }

    @Test
    void secondLogin_ofAStoredSession_keepsItsData(VertxTestContext test) {
        test.verify(() -> {
            String key = TestServer.sessionCookie(server.get("/"));
            String first = TestServer.sessionCookie(server.post("/login", key));
            String second = TestServer.sessionCookie(server.post("/login", first));
            assertNotEquals(first, second);
            assertEquals(
                    "You've visited this page 2 times", server.get("/", second).bodyAsString());
            assertEquals(1, MemorySession.STORE.size(), "only the session under its newest key");
        });
        test.completeNow();
    }

    @Test
    void update_reachesAWholeSessionBackend(VertxTestContext test) {
        test.verify(() -> {
            String key = TestServer.sessionCookie(server.get("/"));
            assertEquals("true", server.post("/todo", key).bodyAsString());
            assertEquals("[milk]", server.get("/todos", key).bodyAsString());
            assertEquals("true", server.post("/todo", key).bodyAsString());
            assertEquals("[[milk], eggs]", server.get("/todos", key).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void expiredEntry_startsAFreshSession(VertxTestContext test) {
        test.verify(() -> {
            String key = TestServer.sessionCookie(server.get("/"));
            clock.advance(Duration.ofMinutes(59));
            assertEquals(
                    "You've visited this page 2 times", server.get("/", key).bodyAsString());
            clock.advance(Duration.ofMinutes(61));
            HttpResponse<Buffer> expired = server.get("/", key);
            assertEquals("You've visited this page 1 times", expired.bodyAsString());
            assertNotEquals(key, TestServer.sessionCookie(expired));
        });
        test.completeNow();
    }

    @Test
    void unknownKey_startsFreshWithServerChosenKey(VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> response = server.get("/", "client-chosen-id");
            assertEquals("You've visited this page 1 times", response.bodyAsString());
            String key = TestServer.sessionCookie(response);
            assertFalse(key.equals("client-chosen-id"));
            assertEquals(43, key.length());
            assertNull(MemorySession.STORE.get("session:client-chosen-id"));
        });
        test.completeNow();
    }
}
