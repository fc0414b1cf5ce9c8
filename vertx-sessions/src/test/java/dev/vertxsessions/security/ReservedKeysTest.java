package dev.vertxsessions.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vertxsessions.SessionConfig;
import dev.vertxsessions.SessionMiddleware;
import dev.vertxsessions.TestServer;
import dev.vertxsessions.memory.MemorySessionBackend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An application route that stores client-chosen JSON keys (a preferences form, say) must not let a client set the
 * middleware's own state: the promotion mark (a non-evictable, full-lifetime session), the remember-me choice, or
 * Vert.x-Web's user, nor plant a value that reads back as an object of a class the client names.
 */
@ExtendWith(VertxExtension.class)
class ReservedKeysTest {

    private TestServer server;

    @BeforeEach
    void start(Vertx vertx) {
        SessionConfig config = new SessionConfig()
                .setBackend(MemorySessionBackend.factory(100))
                .setExpiry(Duration.ofSeconds(3600))
                .setAnonymousExpiry(Duration.ofSeconds(60));
        server = TestServer.start(vertx, config, router -> {
            router.post("/prefs").handler(BodyHandler.create()).handler(ReservedKeysTest::storeEveryKey);
            router.get("/anonymous")
                    .handler(TestServer.text(s -> s.isAnonymous() + " " + s.getExpiryAge() + " " + s.keys()));
            router.get("/user").handler(ctx -> ctx.end(String.valueOf(ctx.user())));
        });
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** The route under attack: every key of the JSON body goes into the session; a refused key answers 400. */
    private static void storeEveryKey(RoutingContext ctx) {
        JsonObject body = ctx.body().asJsonObject();
        try {
            for (Map.Entry<String, Object> entry : body) {
                SessionMiddleware.session(ctx).put(entry.getKey(), entry.getValue());
            }
            ctx.end("stored");
        } catch (IllegalArgumentException e) {
            ctx.response().setStatusCode(400).end(e.getMessage());
        }
    }

    private Future<HttpResponse<Buffer>> send(JsonObject body) {
        return server.client.post("/prefs").sendJsonObject(body);
    }

    private HttpResponse<Buffer> post(JsonObject body) {
        return send(body).await();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"__vertx-sessions.promoted", "__vertx-sessions.rememberMe", "__vertx-sessions.anything"})
    void reservedKeysFromTheClient_areRefused_andTheSessionStaysAnonymous(String key, VertxTestContext test) {
        test.verify(() -> {
            HttpResponse<Buffer> attack =
                    post(new JsonObject().put("theme", "dark").put(key, true));
            assertEquals(400, attack.statusCode());
            assertEquals(
                    "session key '" + key + "' is reserved: keys starting with __vertx-sessions. hold the middleware's "
                            + "own state (use regenerate() and setRememberMe()); choose another key",
                    attack.bodyAsString());
            // The key before it was stored (4xx saves): a session, still anonymous, living the anonymous lifetime.
            String cookie = TestServer.sessionCookie(attack);
            assertTrue(TestServer.setCookie(attack, "session_id").contains("; Max-Age=60;"));
            assertEquals("true 60 [theme]", server.get("/anonymous", cookie).bodyAsString());
        });
        test.completeNow();
    }

    @Test
    void vertxWebsUserKeyFromTheClient_isRefused(VertxTestContext test) {
        JsonObject forged = new JsonObject()
                .put("$vertx.cs", "io.vertx.ext.web.handler.impl.UserHolder")
                .put("$data", "AAAA");
        send(new JsonObject().put("__vertx.userHolder", forged))
                .onComplete(test.succeeding(attack -> test.verify(() -> {
                    assertEquals(400, attack.statusCode());
                    assertTrue(attack.bodyAsString().startsWith("session key '__vertx.userHolder' holds the user"));
                    test.completeNow();
                })));
    }

    @Test
    void aValueShapedLikeASerializedObject_isRefusedUnderAnyKey(VertxTestContext test) {
        JsonObject forged = new JsonObject()
                .put("$vertx.cs", "io.vertx.ext.web.handler.impl.UserHolder")
                .put("$data", "AAAA");
        send(new JsonObject().put("avatar", forged))
                .compose(attack -> {
                    test.verify(() -> {
                        assertEquals(400, attack.statusCode());
                        assertTrue(
                                attack.bodyAsString()
                                        .startsWith(
                                                "session value for key 'avatar' has the shape of a serialized object"),
                                attack.bodyAsString());
                    });
                    return send(new JsonObject().put("avatar", new JsonObject().put("inner", forged)));
                })
                .onComplete(test.succeeding(wrapped -> test.verify(() -> {
                    assertEquals(200, wrapped.statusCode(), "nested, it is plain data");
                    test.completeNow();
                })));
    }
}
